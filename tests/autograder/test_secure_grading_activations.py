"""The ``activations`` assignment graded where student code cannot reach the verdict.

Each submission is graded by :func:`convviz_grade.grading.grade_submission`:
its solution cell runs in the sandboxed worker (bubblewrap, the repository
hidden) on the cases of ``convviz_grade.assignments.activations.grading_cases()``,
and the grids are compared here with ``convviz_ref``. The submissions are
copies of the solution notebook with another ``channel_grid``: the solution,
the independent correct answer of ``test_exercise_activations``, usual
mistakes (one only the hidden cases catch), and the released student copy.
The same for ``build_activation_model``, whose cases run the model it returns
through the grader's probe: the usual mistakes, cheats that score no more than
a blank, and a hang that costs only its own function.
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from convviz_grade import notebook_cells
from convviz_grade.assignments import activations as assignment_module
from exercise_tools import grade_with, released_notebook, solution_notebook, submission
from test_exercise_activations import (
    ACTIVATION_MODEL,
    ASSIGNMENT,
    COPIED_WEIGHTS,
    CORRECT_GRID,
    FLOAT32_GRID,
    FUNCTIONAL_ONLY,
    GRID_BY_MAXIMUM,
    HINT_OF,
    MODEL_ORDER,
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


FUNCTIONS = ["channel_grid", "build_activation_model"]


def grade(graded_assignment, server, path, function="channel_grid"):
    """The grade of ``function`` (``channel_grid`` by default), out of 3 points."""
    functions = grade_with(server, graded_assignment, path)[1]
    assert list(functions) == FUNCTIONS
    graded = functions[function]
    assert graded.max_score == 3.0
    return graded


def make_submission(folder, source, function="channel_grid"):
    """A copy of the solution notebook whose ``function`` cell holds ``source``."""
    notebook = nbformat.read(solution_notebook(ASSIGNMENT), as_version=4)
    assert notebook_cells.answer_cell_ids(notebook) == FUNCTIONS
    return submission(folder, ASSIGNMENT, {function: source})


def test_every_case_passes_on_the_reference(graded_assignment):
    """The checks accept convviz_ref's own grids; visible cases first; arrays only, no
    models.
    """
    assert graded_assignment.functions == FUNCTIONS
    grid_cases = [
        case for case in graded_assignment.cases if case.function == "channel_grid"
    ]
    visible = [case.visible for case in grid_cases]
    assert visible == sorted(visible, reverse=True)
    assert visible.count(True) == 7 and visible.count(False) >= 10
    for case in grid_cases:
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
    graded, functions = grade_with(
        server, graded_assignment, solution_notebook(ASSIGNMENT)
    )
    for function in functions.values():
        assert (function.status, function.score, function.message) == (
            "passed",
            3.0,
            "",
        )
    assert graded.score == graded.max_score == 6.0


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
    graded, functions = grade_with(
        server, graded_assignment, released_notebook(ASSIGNMENT)
    )
    assert list(functions) == FUNCTIONS and graded.score == 0.0
    for function in functions.values():
        assert (function.status, function.score) == ("failed", 0.0), function
        assert "NotImplementedError" in function.message, function.message


# ------------------------------------------------- build_activation_model


@pytest.mark.slow
def test_an_independent_activation_model_earns_full_points(
    graded_assignment, server, tmp_path
):
    path = make_submission(tmp_path, ACTIVATION_MODEL, "build_activation_model")
    function = grade(graded_assignment, server, path, "build_activation_model")
    assert (function.status, function.score) == ("passed", 3.0), function


@pytest.mark.slow
@pytest.mark.parametrize(
    "source, hint",
    [
        (
            MODEL_ORDER,
            f"hint: your answer is what you get if you {HINT_OF[MODEL_ORDER]}",
        ),
        (
            COPIED_WEIGHTS,
            f"hint: your answer is what you get if you {HINT_OF[COPIED_WEIGHTS]}",
        ),
        (FUNCTIONAL_ONLY, "hint: in Keras 3 a Sequential model has no `.input`"),
    ],
    ids=["order", "copied-weights", "model-input"],
)
def test_activation_model_mistakes_score_zero_with_their_hint(
    graded_assignment, server, tmp_path, source, hint
):
    path = make_submission(tmp_path, source, "build_activation_model")
    function = grade(graded_assignment, server, path, "build_activation_model")
    assert (function.status, function.score) == ("failed", 0.0), function
    assert function.message.startswith("build_activation_model (visible test)") or (
        function.message.startswith("(visible test)")
    ), function.message
    assert hint in function.message, function.message


# The probe is loaded before student code; a submission that finds it and makes it
# send back what it likes can only send arrays, which the grader compares with its own.
PATCHES_THE_PROBE = (
    "import sys as _sys\n"
    "for _name, _module in list(_sys.modules.items()):\n"
    "    if _name.startswith('_convviz_probe_'):\n"
    "        _module.run_activation_model = lambda *a, **k: {'value': np.array(2)}\n"
    + MODEL_ORDER
)
IMPORTS_THE_REFERENCE = (
    "from convviz_ref.activations import build_activation_model  # refused\n"
)
HANGS = (
    "def build_activation_model(model, layer_names=None, *, input_shape=None):\n"
    "    while True:\n"
    "        pass\n"
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "source",
    [PATCHES_THE_PROBE, IMPORTS_THE_REFERENCE, HANGS],
    ids=["patches-the-probe", "imports-the-reference", "hangs"],
)
def test_cheats_and_faults_score_no_more_than_blank_and_stay_in_their_function(
    graded_assignment, server, tmp_path, source
):
    path = make_submission(tmp_path, source, "build_activation_model")
    graded, functions = grade_with(server, graded_assignment, path, timeout=60)
    assert (functions["build_activation_model"].score, graded.score) == (0.0, 3.0), (
        functions["build_activation_model"].message
    )
    assert functions["channel_grid"].status == "passed"
