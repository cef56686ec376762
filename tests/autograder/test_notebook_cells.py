"""The notebook rules, and one source for every assignment's hidden tests (the drift
test).
"""

from __future__ import annotations

import nbformat
import pytest
from convviz_grade import cases, grading, notebook_cells
from convviz_grade.release import list_assignments
from course import REPOSITORY
from notebooks import ADD_HIDDEN, ADD_SOLUTION, ADD_VISIBLE, code, notebook

# Assignments whose hidden cells do not yet run their grading cases; each fails the
# drift test until it is converted (see the README's "Adding an assignment"). None left.
NOT_YET_ONE_SOURCE = set()


def source_of(assignment):
    return REPOSITORY / "solutions" / assignment / f"{assignment}.ipynb"


def released_of(assignment):
    return REPOSITORY / "exercises" / assignment / f"{assignment}.ipynb"


def test_the_grade_id_rule_and_the_answer_cells():
    nb = notebook(code("import numpy as np"), ADD_SOLUTION, ADD_VISIBLE, ADD_HIDDEN)
    assert [notebook_cells.function_tested_by(cell) for cell in nb.cells] == [
        None,
        None,
        ("add", "visible"),
        ("add", "hidden"),
    ]
    assert notebook_cells.answer_cell_ids(nb) == ["add"]
    assert notebook_cells.answer_cells(nb, ["add"]) == [ADD_SOLUTION.source]
    assert notebook_cells.answer_cells(nb, []) == []
    assert notebook_cells.points(nb) == {"add": {"test_add": 1.0, "hidden_add": 2.0}}
    assert notebook_cells.hidden_block_of(ADD_HIDDEN) == (
        "### BEGIN HIDDEN TESTS\nassert add(-1, 1) == 0\n### END HIDDEN TESTS"
    )
    assert notebook_cells.has_hidden_tests(
        ADD_HIDDEN
    ) and not notebook_cells.has_hidden_tests(ADD_VISIBLE)


@pytest.mark.parametrize(
    "assignment",
    [
        pytest.param(
            name, marks=pytest.mark.xfail(strict=True, reason="not converted yet")
        )
        if name in NOT_YET_ONE_SOURCE
        else name
        for name in list_assignments(REPOSITORY)
    ],
)
def test_hidden_cells_run_the_grading_cases_and_the_points_agree(
    assignment, monkeypatch
):
    assert cases.drift(assignment, source_of(assignment), released_of(assignment)) == []
    # The grader's Assignment gets the cases drift just made (cases.assignment_cases
    # keeps them) instead of making them all again: the same list, half the seconds.
    module, made = cases.assignment_cases(assignment)
    monkeypatch.setattr(module, "grading_cases", lambda: iter(made))
    graded = grading.Assignment(assignment, source_of(assignment))
    released = notebook_cells.points(
        nbformat.read(released_of(assignment), as_version=4)
    )
    for function in graded.functions:
        assert graded.max_score(function) == sum(released[function].values()) == 3.0, (
            function
        )


def test_drift_names_a_hidden_cell_with_tests_of_its_own_and_a_function_without_cases(
    tmp_path,
):
    nb = nbformat.read(source_of("segmentation"), as_version=4)
    for cell in nb.cells:
        if notebook_cells.function_tested_by(cell) == ("mean_iou", "hidden"):
            cell.source = cell.source.replace(
                'run_hidden_cases("segmentation", "mean_iou", mean_iou)',
                "assert mean_iou(_true, _pred) == 0.5",
            )
    extra = nbformat.v4.new_code_cell("# BEGIN HIDDEN TESTS\n", metadata={})
    nb.cells.append(extra)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "pass",
            metadata={
                "nbgrader": {
                    "grade": True,
                    "grade_id": "test_pixel_accuracy",
                    "points": 1,
                    "solution": False,
                    "locked": True,
                }
            },
        )
    )
    path = tmp_path / "segmentation.ipynb"
    nbformat.write(nb, path)
    problems = cases.drift("segmentation", path, source_of("segmentation"))
    assert any(
        problem.startswith("hidden_mean_iou: its hidden tests must be exactly")
        for problem in problems
    )
    assert any("holds hidden tests" in problem for problem in problems)
    assert any("not those with cases" in problem for problem in problems)
    assert any(
        "pixel_accuracy: no hidden_pixel_accuracy cell" in problem
        for problem in problems
    )
    assert any("points" in problem for problem in problems)
