"""The ``activations`` assignment graded where student code cannot reach the verdict.

Each submission is graded by :func:`convviz_grade.grading.grade_submission`:
its solution cell runs in the sandboxed worker (bubblewrap, the repository
hidden) on the cases of ``convviz_grade.assignments.activations.grading_cases()``,
and the grids are compared here with ``convviz_ref``. The submissions are
copies of the solution notebook with another ``channel_grid``: the solution,
the independent correct answer of ``test_exercise_activations``, usual
mistakes (one only the hidden cases catch), and the released student copy.
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from convviz_grade import notebook_cells
from convviz_grade.assignments import activations as assignment_module
from exercise_tools import grade_with, released_notebook, solution_notebook, submission
from test_exercise_activations import (
    ASSIGNMENT,
    CORRECT_GRID,
    FLOAT32_GRID,
    GRID_BY_MAXIMUM,
    variant,
)

from convviz_ref import activations as reference

# A constant channel whose float32 std is a round-off (channel 3 of random_activation)
# gets a tile: only the hidden cases have such a channel.
STD_TEST = variant(
    FLOAT32_GRID, "if channel.max() == channel.min():", "if channel.std() == 0:"
)

# Uses Keras (the prelude's lazily imported module) for the statistics: still correct.
WITH_KERAS = variant(
    FLOAT32_GRID,
    "np.array(activation, dtype=np.float32)",
    'keras.ops.convert_to_numpy(keras.ops.convert_to_tensor(activation, "float32"))',
)


def grade(graded_assignment, server, path):
    """The grade of ``channel_grid``, the one function, out of 3 points."""
    [function] = grade_with(server, graded_assignment, path)[0].functions
    assert function.function == "channel_grid" and function.max_score == 3.0
    return function


def make_submission(folder, source):
    """A copy of the solution notebook whose ``channel_grid`` cell holds ``source``."""
    notebook = nbformat.read(solution_notebook(ASSIGNMENT), as_version=4)
    assert notebook_cells.answer_cell_ids(notebook) == ["channel_grid"]
    return submission(folder, ASSIGNMENT, {"channel_grid": source})


def test_every_case_passes_on_the_reference(graded_assignment):
    """The checks accept convviz_ref's own grids; visible cases first; arrays only, no
    models.
    """
    assert graded_assignment.functions == ["channel_grid"]
    visible = [case.visible for case in graded_assignment.cases]
    assert visible == sorted(visible, reverse=True)
    assert visible.count(True) == 7 and visible.count(False) >= 10
    for case in graded_assignment.cases:
        assert all(isinstance(value, np.ndarray) for value in case.args)
        case.check(
            {"value": reference.channel_grid(*case.args, **case.kwargs), "params": None}
        )


def test_the_prelude_imports_keras_only_when_used():
    namespace = {}
    exec(assignment_module.PRELUDE, namespace)
    assert namespace["np"] is np
    assert namespace["keras"].__name__ == "keras"
    assert "convviz" not in assignment_module.PRELUDE


def test_the_solution_earns_full_points(graded_assignment, server):
    function = grade(graded_assignment, server, solution_notebook(ASSIGNMENT))
    assert (function.status, function.score, function.message) == ("passed", 3.0, "")


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(CORRECT_GRID, id="independent"),
        pytest.param(WITH_KERAS, id="with-keras", marks=pytest.mark.slow),
    ],  # the worker imports Keras: ~6 s
)
@pytest.mark.slow
def test_independent_correct_answers_earn_full_points(
    graded_assignment, server, tmp_path, source
):
    function = grade(graded_assignment, server, make_submission(tmp_path, source))
    assert (function.status, function.score) == ("passed", 3.0), function


@pytest.mark.parametrize(
    "source, hint, where",
    [
        (
            GRID_BY_MAXIMUM,
            "divided by the maximum instead of the standard deviation",
            "visible",
        ),
        (
            STD_TEST,
            "missed a constant channel whose float32 std is a tiny round-off instead "
            "of 0",
            "hidden",
        ),
    ],
    ids=["by-max", "std-test"],
)
def test_usual_mistakes_score_zero_and_are_named(
    graded_assignment, server, tmp_path, source, hint, where
):
    function = grade(graded_assignment, server, make_submission(tmp_path, source))
    assert (function.status, function.score) == ("failed", 0.0), function
    assert function.message.startswith(f"({where} test)"), function.message
    assert f"hint: your answer is what you get if you {hint}" in function.message, (
        function.message
    )


def test_changing_the_input_in_place_scores_zero_even_with_the_right_grid(
    graded_assignment, server, tmp_path
):
    # The notebook's tests check that the activation is left as it was; so does the
    # grader, which compares the array the worker sends back with its own copy (student
    # code cannot fake that).
    assert "    return np.vstack(" in CORRECT_GRID
    source = CORRECT_GRID.replace(
        "    return np.vstack(",
        "    activation[...] = 0  # the caller's array\n    return np.vstack(",
    )
    function = grade(graded_assignment, server, make_submission(tmp_path, source))
    assert (function.status, function.score) == ("failed", 0.0), function
    assert function.message.startswith(
        "(visible test) channel_grid: the input array was modified in place"
    ), function.message


def test_the_released_copy_scores_zero(graded_assignment, server):
    function = grade(
        graded_assignment,
        server,
        released_notebook(ASSIGNMENT),
    )
    assert (function.status, function.score) == ("failed", 0.0), function
    assert "NotImplementedError" in function.message, function.message
