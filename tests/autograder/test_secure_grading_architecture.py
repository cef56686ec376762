"""The architecture assignment's grading cases, and its submissions graded in the
sandbox.

The sandboxed worker runs the solution cells; :class:`exercise_tools.GradedSubmissions`
says how.
"""

from __future__ import annotations

import numpy as np
import pytest
from convviz_grade.assignments import architecture as assignment
from exercise_tools import (
    GradedSubmissions,
    case_counts,
    grade_with,
    submission,
)
from test_exercise_architecture import (
    ASSIGNMENT,
    CORRECT,
    CORRECT_COUNT,
    HIDDEN_TRIALS,
    HINTS,
    MISTAKEN,
)

from convviz_ref import models as reference

FUNCTIONS = ["residual_block", "count_conv_params"]

pytestmark = pytest.mark.slow  # each test builds Keras models, most run the worker


# The trials the notebook's hidden cells ran before they ran the grader's cases: still
# among them (input shape, filters, pooling; the input and the weights seeded with the
# trial's number).
FORMER_BLOCKS = HIDDEN_TRIALS
FORMER_COUNTS = [(1, 16, 32), (3, 3, 32), (3, 128, 64), (5, 24, 48), (7, 10, 6)]


def test_cases_cover_the_former_hidden_tests_of_both_graders_and_every_mistake(
    graded_assignment,
):
    cases = graded_assignment.cases
    # function: (visible cases, hidden cases)
    assert case_counts(graded_assignment) == {
        "residual_block": (3, 12),
        "count_conv_params": (4, 40),
    }
    blocks = [case for case in cases if case.function == "residual_block"]
    assert {case.kind for case in blocks} == {"block"}
    hidden = [
        (case.args[0].shape[1:], case.args[1], case.kwargs["pooling"])
        for case in blocks
        if not case.visible
    ]
    for seed, (shape, filters, pooling) in enumerate(FORMER_BLOCKS):
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
        for trial in FORMER_COUNTS
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
    """What the worker computes for the reference block passes; each mistaken block
    fails, named when it builds.
    """
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


class TestGradedSubmissions(GradedSubmissions):
    functions = FUNCTIONS
    correct, mistaken, hints = CORRECT, MISTAKEN, HINTS


def test_a_float_count_and_the_library_block_score_zero(
    graded_assignment, server, tmp_path
):
    """A count that is not an integer fails as in the notebook; the reference block is
    out of reach.
    """
    path = submission(
        tmp_path,
        ASSIGNMENT,
        {
            "residual_block": (
                "def residual_block(x, filters, *, pooling=False, separable=False, "
                "bn_momentum=0.9,"
                " name='block'):\n"
                "    return library_residual_block(x, filters, pooling=pooling, "
                "name=name)\n"
            ),
            "count_conv_params": CORRECT_COUNT.replace(
                "return total", "return 1.0 * total"
            ),
        },
    )
    _, grades = grade_with(server, graded_assignment, path)
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
