"""The architecture assignment's grading cases, and its fabricated class graded once.

Every student of ``fabricated/architecture.py`` (honest, a usual mistake of each
function, blank, cheats, faults) is graded by one ``convviz-grade autograde`` run
(the module's ``graded_class``) and gets exactly its verdict on each function.
"""

from __future__ import annotations

import numpy as np
import pytest
from convviz_grade.assignments import architecture as assignment
from exercise_tools import case_counts
from fabricated import graded_class_fixtures
from fabricated.architecture import ASSIGNMENT, CLASS, TIMEOUT
from test_exercise_architecture import HIDDEN_TRIALS

from convviz_ref import models as reference

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
        "separable_block": (2, 6),
        "build_xception_like": (1, 3),
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


def test_the_new_cases_are_probes_over_every_kind_of_trial(graded_assignment):
    """The separable block: with and without pooling and a channel change, odd sizes,
    other momenta; the model: an odd side on the way down and one width."""
    blocks = [c for c in graded_assignment.cases if c.function == "separable_block"]
    models = [c for c in graded_assignment.cases if c.function == "build_xception_like"]
    assert {(c.kind, c.probe) for c in blocks} == {("probe", "architecture:block")}
    assert {(c.kind, c.probe) for c in models} == {("probe", "architecture:model")}
    hidden = [c for c in blocks if not c.visible]
    assert {c.kwargs["pooling"] for c in hidden} == {True, False}
    assert {c.args[0].shape[-1] == c.args[1] for c in hidden} == {True, False}
    assert any(c.args[0].shape[1] % 2 for c in hidden)
    assert {c.kwargs.get("bn_momentum", 0.9) for c in hidden} > {0.9}

    def rounds_up(size, blocks):  # an odd side that a block halves, rounding up
        for _ in range(blocks):
            if size % 2:
                return True
            size //= 2
        return False

    assert any(
        rounds_up(c.kwargs["image_size"], len(c.kwargs["widths"]))
        for c in models
        if not c.visible
    )  # 36 -> 18 -> 9 -> 5
    # The visible cases are the notebook's visible tests.
    assert [c.args[1] for c in blocks if c.visible] == [16, 32]
    assert [c.kwargs for c in models if c.visible] == [{}]


graded_class, graded_assignment = graded_class_fixtures(
    ASSIGNMENT, CLASS, timeout=TIMEOUT
)


@pytest.mark.parametrize("student", list(CLASS))
def test_each_student_gets_exactly_the_expected_verdicts(graded_class, student):
    graded_class.assert_student(student)


def test_cheats_score_no_more_than_blank(graded_class):
    graded_class.assert_cheats_score_no_more_than_blank()
