"""convviz_grade: the course's exercises workflow, built on nbgrader.

* :mod:`~convviz_grade.checks`: the assertions the exercise notebooks' tests
  use; a failure says what was expected, what came back and, when the answer
  matches a usual mistake, which one.
* :mod:`~convviz_grade.assignments`: per assignment, the small random models
  and inputs of the tests, and the usual mistakes behind the hints.
* :mod:`~convviz_grade.notebook_cells`: the rules for reading an exercise
  notebook (answer cells, test cells, their grade ids and points).
* :mod:`~convviz_grade.cases`: the notebooks' hidden tests, run in the
  student's kernel on the grader's own cases.
* :mod:`~convviz_grade.preprocessors`: steps added to nbgrader's pipelines.
* :mod:`~convviz_grade.validate` and :mod:`~convviz_grade.release`: what
  ``convviz-grade validate`` and ``convviz-grade release`` do.
* :mod:`~convviz_grade.cli`: the ``convviz-grade`` command.

* :mod:`~convviz_grade.grading`: grading one submission (and
  :func:`~convviz_grade.grading.grade_task`, the unit of a class's grading);
  :mod:`~convviz_grade.sandbox` and :mod:`~convviz_grade.worker`: where and
  how student code runs, away from the verdict;
  :mod:`~convviz_grade.locations` finds what the sandbox hides.
* :mod:`~convviz_grade.autograde`: a whole class into nbgrader's gradebook,
  on this machine or on a Dask cluster (:mod:`~convviz_grade.cluster`);
  :mod:`~convviz_grade.report`: ``export`` and ``feedback`` from what it wrote;
  :mod:`~convviz_grade.benchmark`: its throughput against nbgrader's own.

This package lives in ``autograder/convviz_grade/``, beside the course's
nbgrader configuration ``autograder/nbgrader_config.py``.
"""

__version__ = "0.1.0"
