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
    REPOSITORY,
    GradedSubmissions,
    case_counts,
    grade_with,
    submission,
)
from test_exercise_architecture import (
    ASSIGNMENT,
    CORRECT,
    CORRECT_COUNT,
    FUNCTIONS,
    HIDDEN_TRIALS,
    HINTS,
    MISTAKEN,
    SEPARABLE_WITH_CONV2D,
)

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


CHEATS = {
    "imports_and_reads_the_reference": {
        "separable_block": (
            "def separable_block(x, filters, *, pooling=False, bn_momentum=0.9, "
            "name='block'):\n"
            "    from convviz_ref.models import residual_block\n"
            "    return residual_block(x, filters, pooling=pooling, separable=True,\n"
            "                          bn_momentum=bn_momentum, name=name)\n"
        ),
        "build_xception_like": (
            "def build_xception_like(*args, **kwargs):\n"
            "    namespace = {}\n"
            f"    exec(open({str(REPOSITORY / 'convviz_ref' / 'models.py')!r}).read(),"
            " namespace)\n"
            "    return namespace['build_xception_like'](*args, **kwargs)\n"
        ),
    },
    "patches_the_probe_and_keras": {
        # Wrong blocks, and code that tries to make the probe or Keras report the
        # right numbers: the probe's functions are loaded before student code, and
        # the checks run in the grader with the reference's numbers.
        "separable_block": (
            "import sys\n"
            "for _name, _module in list(sys.modules.items()):\n"
            "    if _name.startswith('_convviz_probe_'):\n"
            "        _module.set_weights_by_role = lambda model, seed: model\n"
            "        _module.block = lambda *a, **k: {'value': np.zeros((2, 8, 8, 16)),"
            " 'params': np.array(928)}\n"
            "keras.Model.count_params = lambda self: 928\n" + SEPARABLE_WITH_CONV2D
        ),
        "build_xception_like": (
            "def build_xception_like(image_size=96, num_classes=4, *args, **kwargs):\n"
            "    inputs = keras.Input((image_size, image_size, 3))\n"
            "    x = layers.GlobalAveragePooling2D()(inputs)\n"
            "    return keras.Model(inputs, layers.Dense(num_classes, "
            "activation='softmax')(x))\n"
        ),
    },
}


@pytest.mark.parametrize("kind", list(CHEATS))
def test_cheats_on_the_new_functions_score_what_blank_scores(
    graded_assignment, server, tmp_path, blank, kind
):
    path = submission(tmp_path, ASSIGNMENT, CHEATS[kind], name=kind)
    _, grades = grade_with(server, graded_assignment, path)
    for function in CHEATS[kind]:
        assert (
            (grades[function].status, grades[function].score)
            == (
                blank[1][function].status,
                blank[1][function].score,
            )
            == ("failed", 0.0)
        ), grades[function].message
    if kind not in PATCHES_SHARED_LIBRARIES:
        for function in set(FUNCTIONS) - set(CHEATS[kind]):
            assert grades[function].score == 3.0, grades[function].message


PATCHES_SHARED_LIBRARIES = {"patches_the_probe_and_keras"}
"""Cheats that patch Keras itself: the other functions' cases measure through the
patched ``count_params`` too, and lose their points with it."""


FAULT_TIMEOUT = 40.0
"""Seconds a worker run may take in the test of faults (one hangs until it).

The solution's whole run takes about 10 s on a loaded machine here; the
functions with faults fail whatever the limit, which only decides when the
hang is cut."""


def test_faults_in_the_new_functions_stay_inside_them(
    graded_assignment, server, tmp_path
):
    """A hang in separable_block and an exit in build_xception_like cost those two
    functions their points, and no other."""
    faults = {
        "separable_block": (
            "def separable_block(x, filters, *, pooling=False, bn_momentum=0.9, "
            "name='block'):\n    while True:\n        pass\n"
        ),
        "build_xception_like": (
            "def build_xception_like(*args, **kwargs):\n"
            "    import os\n    os._exit(0)\n"
        ),
    }
    path = submission(tmp_path, ASSIGNMENT, faults, name="faults")
    _, grades = grade_with(server, graded_assignment, path, timeout=FAULT_TIMEOUT)
    for function in faults:
        assert (grades[function].status, grades[function].score) == (
            "failed",
            0.0,
        ), grades[function].message
    assert "timed out" in grades["separable_block"].message
    for function in ("residual_block", "count_conv_params"):
        assert grades[function].score == 3.0, grades[function].message
