"""The units exercise: its cases and mistakes, and its notebook's grading of right and
wrong answers.
"""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pytest
import tensorflow as tf
from convviz_grade.assignments import units as assignment
from convviz_grade.cases import outputs_of, run_hidden_cases
from exercise_tools import AnswersInTheNotebook

# Independently written correct answers: the threshold by np.quantile (a pixel or
# two from the reference's, inside the tolerance) in float64 (dissection_iou);
# counts by np.count_nonzero (shape_bias); a sub-model's predict, keras.ops's
# bilinear resize and a loop that keeps the best (unit_concept).
ASSIGNMENT = "units"
CORRECT = {
    "dissection_iou": """
def dissection_iou(unit_maps, concept_mask, quantile=0.005):
    values = np.asarray(unit_maps, dtype=np.float64)
    mask = np.asarray(concept_mask, dtype=bool)
    unit_mask = values > np.quantile(values, 1 - quantile)
    union = np.logical_or(unit_mask, mask).sum()
    if union == 0:
        return 0.0
    return float(np.logical_and(unit_mask, mask).sum() / union)
""",
    "shape_bias": """
def shape_bias(decisions, shape_labels, texture_labels):
    d = np.asarray(decisions)
    shape = np.count_nonzero(d == np.asarray(shape_labels))
    texture = np.count_nonzero(d == np.asarray(texture_labels))
    if shape + texture == 0:
        return float("nan")
    return shape / (shape + texture)
""",
    "unit_concept": """
def unit_concept(model, layer_name, unit, images, concept_masks):
    sub = keras.Model(model.input, model.get_layer(layer_name).output)
    acts = np.asarray(sub.predict(np.asarray(images, "float32"), verbose=0))
    height, width = next(iter(concept_masks.values())).shape[1:]
    maps = np.asarray(
        keras.ops.image.resize(
            acts[..., unit : unit + 1], (height, width), interpolation="bilinear"
        )
    )[..., 0]
    ordered = np.sort(maps, axis=None)
    top = max(1, int(0.005 * ordered.size))
    fires = maps > ordered[-top - 1]
    best, best_iou = None, -1.0
    for name, mask in concept_masks.items():
        union = np.sum(fires | mask)
        iou = np.sum(fires & mask) / union if union else 0.0
        if iou > best_iou:
            best, best_iou = name, iou
    return best
""",
}

_UNIT_HEADER = """
def unit_concept(model, layer_name, unit, images, concept_masks):
    sub = keras.Model(model.input, model.get_layer(layer_name).output)
    acts = np.asarray(sub(np.asarray(images, "float32")))[..., unit]
    size = next(iter(concept_masks.values())).shape[1:]
    maps = np.asarray(keras.ops.image.resize(acts[..., None], size))[..., 0]
"""

# The usual mistakes that the visible tests catch, one per function, with their hints.
MISTAKEN = {
    "dissection_iou": """
def dissection_iou(unit_maps, concept_mask, quantile=0.005):
    maps = np.asarray(unit_maps)
    unit_mask = np.zeros(maps.shape, bool)
    for i, image in enumerate(maps):
        ordered = np.sort(image, axis=None)
        top = max(1, int(quantile * ordered.size))
        unit_mask[i] = image > ordered[-top - 1]
    union = np.sum(unit_mask | concept_mask)
    return np.sum(unit_mask & concept_mask) / union if union else 0.0
""",
    "shape_bias": """
def shape_bias(decisions, shape_labels, texture_labels):
    return float(np.mean(np.asarray(decisions) == np.asarray(shape_labels)))
""",
    "unit_concept": _UNIT_HEADER
    + """
    scores = {}
    for name, mask in concept_masks.items():
        fires = np.zeros(maps.shape, bool)
        for i, image in enumerate(maps):
            ordered = np.sort(image, axis=None)
            fires[i] = image > ordered[-max(1, int(0.005 * ordered.size)) - 1]
        scores[name] = np.sum(fires & mask) / max(1, np.sum(fires | mask))
    return max(scores, key=scores.get)
""",
}
HINTS = {
    "dissection_iou": "thresholded each image at its own top quantile",
    "shape_bias": "divided the shape decisions by all decisions",
    "unit_concept": "thresholded each image at its own top quantile",
}

# Mistakes that pass the visible tests: only the hidden cases catch them.
HIDDEN_MISTAKEN = {
    "dissection_iou": """
def dissection_iou(unit_maps, concept_mask, quantile=0.005):
    maps = np.asarray(unit_maps)
    ordered = np.sort(maps, axis=None)
    unit_mask = maps > ordered[-max(1, int(quantile * ordered.size)) - 1]
    with np.errstate(invalid="ignore"):
        return np.sum(unit_mask & concept_mask) / np.sum(unit_mask | concept_mask)
""",
    "shape_bias": """
def shape_bias(decisions, shape_labels, texture_labels):
    d = np.asarray(decisions)
    shape = np.sum(d == np.asarray(shape_labels))
    texture = np.sum(d == np.asarray(texture_labels))
    return shape / (shape + texture) if shape + texture else 0.0
""",
    "unit_concept": _UNIT_HEADER
    + """
    ordered = np.sort(maps, axis=None)
    fires = maps > ordered[-max(1, int(0.005 * ordered.size)) - 1]
    scores = {}
    for name, mask in concept_masks.items():
        per_image = [
            np.sum(f & m) / np.sum(f | m) if np.any(f | m) else 0.0
            for f, m in zip(fires, mask)
        ]
        scores[name] = np.mean(per_image)
    return max(scores, key=scores.get)
""",
}
HIDDEN_HINTS = {
    "dissection_iou": "divided 0 by 0 where both masks are empty",
    "shape_bias": "returned 0 where no decision follows a cue",
    "unit_concept": "averaged the per-image IoUs",
}
ARRAY_FUNCTIONS = ["dissection_iou", "shape_bias"]
"""The functions whose cases compare a number with the reference's (the decision's
compare a name with the planted concept)."""


def define(source):
    """The function a solution cell defines, in the setup cell's namespace."""
    namespace = {"np": np, "tf": tf, "keras": keras, "matplotlib": matplotlib}
    exec(source, namespace)
    return next(
        value for name, value in namespace.items() if name in assignment.FUNCTIONS
    )


def first_failure(student_function, cases):
    """(case, message) of the first of ``cases`` that ``student_function`` fails (as
    the notebook's tests run it), or None."""
    from convviz_grade.grading import check_outputs

    for case in cases:
        try:
            check_outputs(case, outputs_of(case, student_function))
        except AssertionError as error:
            return case, str(error)
    return None


@pytest.fixture(scope="module")
def cases():
    """Each function's cases, from the one copy this process makes."""
    from convviz_grade.cases import assignment_cases

    _, every = assignment_cases(ASSIGNMENT)
    return {
        function: [case for case in every if case.function == function]
        for function in assignment.FUNCTIONS
    }


def test_inputs_are_deterministic_by_seed():
    for a, b in zip(
        assignment.random_maps_and_mask(3, 4, (6, 8)),
        assignment.random_maps_and_mask(3, 4, (6, 8)),
    ):
        np.testing.assert_array_equal(a, b)
    decisions, shapes, textures = assignment.random_decisions(4, 50)
    assert np.all(shapes != textures)
    first, again = (
        assignment.planted_model(np.ones((5, 5)) / 5, 1, seed=3) for _ in range(2)
    )
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="unknown function 'nope'"):
        assignment.function_cases("nope")


def test_every_mistake_differs_from_the_right_value_where_offered_and_is_offered(
    cases,
):
    for function in ARRAY_FUNCTIONS:
        hints = set()
        for case in cases[function]:
            label, expected, mistakes, rtol, atol = case.check.args
            for hint, wrong in mistakes.items():
                assert not np.allclose(
                    wrong, expected, rtol=rtol, atol=atol, equal_nan=True
                ), (label, hint)
            hints |= set(mistakes)
        offered = set(
            {
                "dissection_iou": assignment.iou_mistakes,
                "shape_bias": assignment.shape_bias_mistakes,
            }[function](*cases[function][0].args)
        )
        assert offered <= hints, (function, offered - hints)


def test_correct_answers_pass_every_case(cases):
    for function, source in CORRECT.items():
        assert first_failure(define(source), cases[function]) is None, function


@pytest.mark.parametrize("function", assignment.FUNCTIONS)
def test_each_written_mistake_fails_with_its_hint(cases, function):
    case, message = first_failure(define(MISTAKEN[function]), cases[function])
    assert case.visible, message
    assert f"hint: your answer is what you get if you {HINTS[function]}" in message, (
        message
    )
    visible = [case for case in cases[function] if case.visible]
    assert first_failure(define(HIDDEN_MISTAKEN[function]), visible) is None, function
    case, message = first_failure(define(HIDDEN_MISTAKEN[function]), cases[function])
    assert not case.visible
    assert (
        f"hint: your answer is what you get if you {HIDDEN_HINTS[function]}" in message
    ), message


def test_run_hidden_cases_passes_the_solution_and_names_a_mistake():
    run_hidden_cases(ASSIGNMENT, "shape_bias", define(CORRECT["shape_bias"]))
    with pytest.raises(AssertionError, match="returned 0 where no decision"):
        run_hidden_cases(
            ASSIGNMENT, "shape_bias", define(HIDDEN_MISTAKEN["shape_bias"])
        )


class TestAnswersInTheNotebook(AnswersInTheNotebook):
    functions = assignment.FUNCTIONS
    hints = HINTS


# ------------------------------------------------------------------ the decision


def test_the_hidden_decisions_have_both_outcomes_so_guessing_fails(cases):
    hidden = [case for case in cases["unit_concept"] if not case.visible]
    truths = [case.check.args[2] for case in hidden]
    assert truths.count("dotted") == truths.count("checked") == 5
    names = hidden[0].check.args[1]
    # A guess between the two textures passes the ten with probability 1 / 1024.
    assert 0.5 ** len(hidden) < 0.01
    for constant in ("dotted", "checked"):
        failed = 0
        for case in hidden:
            try:
                case.check({"value": np.array(names.index(constant)), "probe": {}})
            except AssertionError:
                failed += 1
        assert failed == 5, constant


def test_each_case_was_built_with_its_margin(cases):
    for case in cases["unit_concept"]:
        label, _, intended, _, scores, _ = case.check.args
        ranked = sorted(scores, key=scores.get, reverse=True)
        assert ranked[0] == intended, label
        assert scores[ranked[0]] >= assignment.MARGIN * scores[ranked[1]], label
    with pytest.raises(ValueError, match="not clearly so"):
        assignment.check_unit_margin("x", "dotted", {"dotted": 0.1, "disc": 0.09})


@pytest.mark.parametrize(
    ("answer", "says"),
    [(lambda *args: 3, "got no str: '3'"), (lambda *args: "dots", "got a str: 'dots'")],
)
def test_an_answer_that_is_no_concept_name_fails(cases, answer, says):
    with pytest.raises(AssertionError, match="return the name of a concept") as error:
        first_failure_raises = outputs_of(cases["unit_concept"][0], answer)
        cases["unit_concept"][0].check(first_failure_raises)
    assert says in str(error.value)


def test_maps_left_at_the_layers_size_get_a_hint():
    forgot = define("""
def unit_concept(model, layer_name, unit, images, concept_masks):
    sub = keras.Model(model.input, model.get_layer(layer_name).output)
    maps = np.asarray(sub(np.asarray(images, "float32")))[..., unit]
    fires = maps > np.sort(maps, axis=None)[-2]
    scores = {name: np.sum(fires & mask) for name, mask in concept_masks.items()}
    return max(scores, key=scores.get)
""")
    with pytest.raises(AssertionError, match="upsample them bilinearly"):
        run_hidden_cases(ASSIGNMENT, "unit_concept", forgot)
