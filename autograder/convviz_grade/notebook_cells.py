"""The course's rules for reading an exercise notebook, in one place.

Every graded function ``f`` of an assignment has three nbgrader cells:

* an answer cell (``solution: true``), the student's code;
* its visible tests, grade id ``test_f`` (1 point);
* its hidden tests, grade id ``hidden_f`` (2 points), whose tests lie between
  ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``. That block is always
  the one call :func:`hidden_tests_block` gives: it runs the hidden cases of
  ``convviz_grade.assignments.<assignment>.grading_cases()``, the cases
  ``convviz-grade autograde`` runs too (see :mod:`convviz_grade.cases`).

A written question is one cell more, graded by hand in formgrader: a markdown
cell that nbgrader marks both ``grade`` and ``solution`` (its manually graded
answers), grade id ``written_<topic>`` (:func:`is_written_answer`). The
grader runs none of it; ``convviz-grade autograde`` leaves it "needing manual
grading" in the gradebook.

The grader (:mod:`convviz_grade.grading`, :mod:`convviz_grade.autograde`),
``convviz-grade validate`` and the tests read notebooks only through these
functions.

>>> split_grade_id("test_compute_loss"), split_grade_id("hidden_compute_loss")
(('compute_loss', 'visible'), ('compute_loss', 'hidden'))
>>> print(split_grade_id("setup"))
None
>>> print(hidden_tests_block("segmentation", "mean_iou"))
### BEGIN HIDDEN TESTS
from convviz_grade.cases import run_hidden_cases
<BLANKLINE>
run_hidden_cases("segmentation", "mean_iou", mean_iou)
### END HIDDEN TESTS
"""

from __future__ import annotations

TEST_PREFIXES = {"test_": "visible", "hidden_": "hidden"}
"""Grade-id prefix of a function's test cells, and the kind of tests they hold."""

BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def nbgrader_meta(cell):
    """The cell's nbgrader metadata ({} for a cell nbgrader does not know)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def split_grade_id(grade_id):
    """``"test_compute_loss"`` -> ``("compute_loss", "visible")``.

    ``"hidden_f"`` gives ``("f", "hidden")``; any other grade id gives None.
    """
    for prefix, kind in TEST_PREFIXES.items():
        if grade_id.startswith(prefix):
            return grade_id[len(prefix) :], kind
    return None


def function_tested_by(cell):
    """``(function, kind)`` of a graded code cell named by the rule, else None."""
    meta = nbgrader_meta(cell)
    if cell.get("cell_type") != "code" or not meta.get("grade"):
        return None
    return split_grade_id(meta.get("grade_id", ""))


def is_answer_cell(cell):
    """True for an answer code cell (nbgrader's ``solution: true``)."""
    return cell.get("cell_type") == "code" and bool(nbgrader_meta(cell).get("solution"))


def answer_cell_ids(notebook):
    """The grade ids of the answer cells, in notebook order."""
    return [
        nbgrader_meta(cell)["grade_id"]
        for cell in notebook.cells
        if is_answer_cell(cell)
    ]


def answer_cells(notebook, grade_ids):
    """The sources of the answer cells whose grade id is in ``grade_ids``, in order.

    ``notebook`` comes from a student: a cell may lack metadata, and only the
    instructor's ``grade_ids`` say which cells are answers.
    """
    return [
        cell.get("source", "")
        for cell in notebook.cells
        if is_answer_cell(cell) and nbgrader_meta(cell).get("grade_id") in grade_ids
    ]


def replace_answers(notebook, answers):
    """Put other answers in the notebook's answer cells, in place.

    ``answers`` is ``{grade_id: source}``.

    Raises:
        KeyError: if a grade id of ``answers`` is no answer cell's.
    """
    unknown = set(answers) - set(answer_cell_ids(notebook))
    if unknown:
        raise KeyError(f"no answer cells {sorted(unknown)}")
    for cell in notebook.cells:
        if is_answer_cell(cell) and nbgrader_meta(cell)["grade_id"] in answers:
            cell.source = answers[nbgrader_meta(cell)["grade_id"]]
    return notebook


def points(notebook):
    """The points of the test cells ``test_f`` and ``hidden_f``.

    Returns:
        dict ``{function: {grade_id: points}}``.
    """
    found = {}
    for cell in notebook.cells:
        parsed = function_tested_by(cell)
        if parsed is not None:
            meta = nbgrader_meta(cell)
            found.setdefault(parsed[0], {})[meta["grade_id"]] = float(
                meta.get("points", 0)
            )
    return found


def is_written_answer(cell):
    """True for an answer graded by hand: nbgrader's ``grade`` and ``solution`` both.

    nbgrader scores no such cell itself (``nbgrader.utils.determine_grade``
    gives it no automatic score unless it is left as released); the course's
    are markdown cells, grade id ``written_<topic>``.
    """
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade")) and bool(meta.get("solution"))


def written_points(notebook):
    """The points of the written answer cells (:func:`is_written_answer`).

    Returns:
        dict ``{grade_id: points}``, in notebook order.
    """
    return {
        nbgrader_meta(cell)["grade_id"]: float(nbgrader_meta(cell).get("points", 0))
        for cell in notebook.cells
        if is_written_answer(cell)
    }


def written_answer(notebook, grade_id):
    """The text of the cell whose grade id is ``grade_id``, or None if there is none.

    ``notebook`` comes from a student: the cell is found by its grade id alone
    (the first one), whatever else its metadata says.
    """
    for cell in notebook.cells:
        if nbgrader_meta(cell).get("grade_id") == grade_id:
            return cell.get("source", "")
    return None


def has_hidden_tests(cell):
    """True when the cell still holds its hidden tests.

    So it does in the instructor's copy, or the graded one.
    """
    return "BEGIN HIDDEN TESTS" in cell.get("source", "")


def hidden_tests_block(assignment, function):
    """The hidden tests of ``function``, as its ``hidden_<function>`` cell has them."""
    return (
        f"{BEGIN_HIDDEN}\n"
        "from convviz_grade.cases import run_hidden_cases\n\n"
        f'run_hidden_cases("{assignment}", "{function}", {function})\n'
        f"{END_HIDDEN}"
    )


def hidden_block_of(cell):
    """The part of a hidden test cell from its begin to its end marker, or None.

    The markers are ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``,
    included.
    """
    source = cell.get("source", "")
    start, end = source.find(BEGIN_HIDDEN), source.find(END_HIDDEN)
    if start < 0 or end < start:
        return None
    return source[start : end + len(END_HIDDEN)]
