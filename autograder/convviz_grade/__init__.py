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

* :mod:`~convviz_grade.autograde`, :mod:`~convviz_grade.grading`,
  :mod:`~convviz_grade.sandbox`, :mod:`~convviz_grade.worker`: grading a
  class with student code sandboxed away from the verdict;
  :mod:`~convviz_grade.locations` finds what the sandbox hides.

This package lives in ``autograder/convviz_grade/``, beside the course's
nbgrader configuration ``autograder/nbgrader_config.py``.
"""

__version__ = "0.1.0"
