"""convviz_grade: the course's exercises workflow, built on nbgrader.

* :mod:`~convviz_grade.checks`: the assertions the exercise notebooks' tests
  use; a failure says what was expected, what came back and, when the answer
  matches a usual mistake, which one.
* :mod:`~convviz_grade.assignments`: per assignment, the small random models
  and inputs of the tests, and the usual mistakes behind the hints.
* :mod:`~convviz_grade.preprocessors`: steps added to nbgrader's pipelines.
* :mod:`~convviz_grade.validate` and :mod:`~convviz_grade.release`: what
  ``convviz-grade validate`` and ``convviz-grade release`` do.
* :mod:`~convviz_grade.cli`: the ``convviz-grade`` command.

This package lives in the repository's ``autograder/`` folder beside
``nbgrader_config.py``, the course's nbgrader configuration.
"""

__version__ = "0.1.0"
