"""StderrIsNotFailure, end to end under nbgrader autograde."""

import nbformat
import pytest
from course import Course
from notebooks import ADD_SOLUTION, graded, nbgrader_meta, notebook

pytestmark = (
    pytest.mark.slow
)  # every test reads one nbgrader autograde run of a TensorFlow notebook

# A correct answer whose test cell starts TensorFlow (its C++ start-up lines
# reach stderr) and whose function calls warnings.warn: both are harmless.
TF_TEST = graded(
    "test_add",
    "import tensorflow as tf\n"
    "assert float(tf.reduce_sum(tf.constant([add(1.0, 2.0)]))) == 3.0\n"
    "print('ok')",
    points=2,
)
WARNING_TEST = graded(
    "test_warn",
    "import sys, warnings\n"
    "warnings.warn('a harmless warning')\n"
    "print('also harmless', file=sys.stderr)\n"
    "assert add(2, 2) == 4",
    points=1,
)
FAILING_TEST = graded("test_fail", "assert add(1, 1) == 3, 'expected 3'", points=1)


def stderr_notebook():
    setup = nbformat.v4.new_code_cell(
        "import numpy as np", metadata=nbgrader_meta("setup", locked=True)
    )
    return notebook(setup, ADD_SOLUTION, TF_TEST, WARNING_TEST, FAILING_TEST)


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp("course"))
    course.add_source("tiny", stderr_notebook())
    course.submit("tiny", "alice", course.root / "solutions" / "tiny" / "tiny.ipynb")
    course.submit("tiny", "bob", course.root / "solutions" / "tiny" / "tiny.ipynb")
    course.autograde("tiny", "alice")
    course.autograde("tiny", "bob", "--StderrIsNotFailure.enabled=False")
    return course


def test_harmless_stderr_keeps_full_marks(graded_course):
    scores = graded_course.scores("tiny", "alice")
    assert scores["test_add"] == (2.0, 2.0)  # TensorFlow's start-up lines
    assert scores["test_warn"] == (1.0, 1.0)  # warnings.warn and print to stderr


def test_a_failing_test_still_scores_zero(graded_course):
    assert graded_course.scores("tiny", "alice")["test_fail"] == (0.0, 1.0)


def test_without_the_step_nbgrader_scores_correct_answers_zero(graded_course):
    # The control: the same submission under nbgrader's own rule. (Whether
    # TensorFlow's start-up lines reach the cell's outputs depends on when the
    # kernel forwards its C++ stderr; the warning always does.)
    scores = graded_course.scores("tiny", "bob")
    assert scores["test_warn"] == (0.0, 1.0)
    assert scores["test_fail"] == (0.0, 1.0)
