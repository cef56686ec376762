"""Secure grading of the architecture assignment: the grader's cases, run in the sandboxed worker.

Each submission's solution cells run in :mod:`convviz_grade.worker` under
bubblewrap with the repository hidden; the verdicts are decided here, with
:mod:`convviz_ref`, by the cases of
:func:`convviz_grade.assignments.architecture.grading_cases`.
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from convviz_grade import grading, notebook_cells, sandbox
from convviz_grade.assignments import architecture as assignment
from exercise_tools import REPOSITORY, grade_with, grading_server, solution_notebook
from test_exercise_architecture import (
    BLOCK_RELU_AFTER_ADD,
    CORRECT_BLOCK,
    CORRECT_COUNT,
    COUNT_SEPARABLE_AS_REGULAR,
)

from convviz_ref import models as reference

NAME = "architecture"
RELEASED = REPOSITORY / "exercises" / NAME / f"{NAME}.ipynb"
FUNCTIONS = ["residual_block", "count_conv_params"]

pytestmark = pytest.mark.slow  # each test builds Keras models, most run the worker


@pytest.fixture(scope="module")
def graded_assignment():
    assert sandbox.bwrap_available(), (
        "these tests grade in bubblewrap, as convviz-grade does"
    )
    return grading.Assignment(NAME, solution_notebook(NAME))


@pytest.fixture(scope="module")
def server(graded_assignment, tmp_path_factory):
    """One sandboxed fork server for the module's submissions (see exercise_tools.grading_server)."""
    with grading_server(
        graded_assignment, tmp_path_factory.mktemp("slot") / "slot"
    ) as server:
        yield server


def submission(tmp_path, answers, *, name="submission"):
    """A copy of the solution notebook with some solution cells replaced: {grade_id: source}."""
    notebook = notebook_cells.replace_answers(
        nbformat.read(solution_notebook(NAME), as_version=4), answers
    )
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def grade(graded_assignment, server, path):
    result = grade_with(server, graded_assignment, path)
    print(f"{path.name}: {result.seconds:.1f} s, {result.runs} worker run(s)")
    return {function.function: function for function in result.functions}


# The trials the notebook's hidden cells ran before they ran the grader's cases: still among them
# (input shape, filters, pooling; the input and the weights seeded with the trial's number).
FORMER_NOTEBOOK_BLOCKS = [
    ((8, 8, 16), 16, False),
    ((8, 8, 16), 32, False),
    ((8, 8, 32), 32, True),
    ((9, 9, 16), 32, True),
    ((6, 10, 32), 16, True),
    ((5, 7, 32), 16, False),
]
FORMER_NOTEBOOK_COUNTS = [
    (1, 16, 32),
    (3, 3, 32),
    (3, 128, 64),
    (5, 24, 48),
    (7, 10, 6),
]


def test_cases_cover_the_former_hidden_tests_of_both_graders_and_every_mistake(
    graded_assignment,
):
    cases = graded_assignment.cases
    counts = {
        (f, v): sum(c.function == f and c.visible == v for c in cases)
        for f in FUNCTIONS
        for v in (True, False)
    }
    assert counts == {
        ("residual_block", True): 3,
        ("residual_block", False): 12,
        ("count_conv_params", True): 4,
        ("count_conv_params", False): 40,
    }
    blocks = [case for case in cases if case.function == "residual_block"]
    assert {case.kind for case in blocks} == {"block"}
    hidden = [
        (case.args[0].shape[1:], case.args[1], case.kwargs["pooling"])
        for case in blocks
        if not case.visible
    ]
    for seed, (shape, filters, pooling) in enumerate(FORMER_NOTEBOOK_BLOCKS):
        [case] = [
            case
            for case in blocks
            if not case.visible
            and case.seed == seed
            and (case.args[0].shape[1:], case.args[1], case.kwargs["pooling"])
            == (shape, filters, pooling)
        ]
        np.testing.assert_array_equal(case.args[0], assignment.block_input(shape, seed))
    assert {pooling for *_, pooling in hidden} == {True, False}
    assert {shape[-1] == filters for shape, filters, _ in hidden} == {
        True,
        False,
    }  # channel change or not
    hints = set().union(*(case.check.args[3] for case in blocks if not case.visible))
    assert hints == set(assignment.MISTAKEN_BLOCKS)
    counted = {
        (case.args, case.kwargs["separable"], case.kwargs["use_bias"])
        for case in cases
        if case.function == "count_conv_params" and not case.visible
    }
    assert {
        (trial, separable, use_bias)
        for trial in FORMER_NOTEBOOK_COUNTS
        for separable in (False, True)
        for use_bias in (False, True)
    } <= counted
    for case in cases:
        if case.function == "count_conv_params":
            assert case.check.args[1] == assignment.keras_param_count(
                *case.args, **case.kwargs
            )


def test_the_reference_blocks_pass_their_own_checks_and_the_mistakes_fail(
    graded_assignment,
):
    """What the worker computes for the reference block passes; each mistaken block fails, named when it builds."""
    for case in (c for c in graded_assignment.cases if c.function == "residual_block"):
        array, filters = case.args
        output, params = assignment.run_block_like_the_worker(
            reference.residual_block,
            array,
            filters,
            weights_seed=case.seed,
            **case.kwargs,
        )
        case.check({"value": output, "params": np.array(params)})
        for hint in case.check.args[3]:
            output, params = assignment.run_block_like_the_worker(
                assignment.MISTAKEN_BLOCKS[hint],
                array,
                filters,
                weights_seed=case.seed,
                **case.kwargs,
            )
            with pytest.raises(AssertionError):
                case.check({"value": output, "params": np.array(params)})


def test_the_solution_earns_full_points(graded_assignment, server):
    grades = grade(graded_assignment, server, solution_notebook(NAME))
    assert list(grades) == FUNCTIONS
    for function in grades.values():
        assert (function.status, function.score, function.max_score) == (
            "passed",
            3.0,
            3.0,
        ), function.message


def test_the_independent_correct_answers_earn_full_points(
    graded_assignment, server, tmp_path
):
    path = submission(
        tmp_path, {"residual_block": CORRECT_BLOCK, "count_conv_params": CORRECT_COUNT}
    )
    for function in grade(graded_assignment, server, path).values():
        assert (function.status, function.score) == ("passed", 3.0), function.message


def test_the_usual_mistakes_score_zero_with_their_hint(
    graded_assignment, server, tmp_path
):
    path = submission(
        tmp_path,
        {
            "residual_block": BLOCK_RELU_AFTER_ADD,
            "count_conv_params": COUNT_SEPARABLE_AS_REGULAR,
        },
    )
    grades = grade(graded_assignment, server, path)
    hints = {
        "residual_block": "applied the second ReLU after the addition",
        "count_conv_params": "counted k * k * in_channels * out_channels for the separable convolution too",
    }
    for function, hint in hints.items():
        result = grades[function]
        assert (result.status, result.score) == ("failed", 0.0)
        assert result.message.startswith("(visible test)"), result.message
        assert f"hint: your answer is what you get if you {hint}" in result.message, (
            result.message
        )


def test_the_released_copy_scores_zero_as_not_written_yet(graded_assignment, server):
    for function in grade(graded_assignment, server, RELEASED).values():
        assert (function.status, function.score) == ("failed", 0.0)
        assert "NotImplementedError" in function.message, function.message


def test_a_float_count_and_the_library_block_score_zero(
    graded_assignment, server, tmp_path
):
    """A count that is not an integer fails as in the notebook; the reference block is out of reach."""
    path = submission(
        tmp_path,
        {
            "residual_block": (
                "def residual_block(x, filters, *, pooling=False, separable=False, bn_momentum=0.9,"
                " name='block'):\n"
                "    return library_residual_block(x, filters, pooling=pooling, name=name)\n"
            ),
            "count_conv_params": CORRECT_COUNT.replace(
                "return total", "return 1.0 * total"
            ),
        },
    )
    grades = grade(graded_assignment, server, path)
    assert (grades["residual_block"].status, grades["residual_block"].score) == (
        "failed",
        0.0,
    )
    assert "NameError" in grades["residual_block"].message
    assert (grades["count_conv_params"].status, grades["count_conv_params"].score) == (
        "failed",
        0.0,
    )
    assert "expected an int" in grades["count_conv_params"].message
