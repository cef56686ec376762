"""The attribution exercise: its cases and mistakes, and its notebook's grading of right
and wrong answers.
"""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pytest
import tensorflow as tf
from convviz_grade.assignments import attribution as assignment
from convviz_grade.cases import run_hidden_cases
from exercise_tools import AnswersInTheNotebook

from convviz_ref import attribution as reference

# Independently written correct answers: every path point in one batch and the
# weights spelled out (IG), float64 and a loop over the images (Grad-CAM++),
# tf.image.resize instead of keras.ops (the pointing games).
ASSIGNMENT = "attribution"
CORRECT = {
    "integrated_gradients": """
def integrated_gradients(
    model, image_batch, class_index=None, baseline=None, steps=32
):
    x = np.array(image_batch, dtype=np.float64)
    base = (
        np.zeros_like(x)
        if baseline is None
        else np.ones_like(x) * np.asarray(baseline, np.float64)
    )
    n = x.shape[0]
    if class_index is None:
        chosen = np.asarray(model.predict(x.astype(np.float32), verbose=0)).argmax(
            axis=1
        )
    else:
        chosen = np.asarray(class_index) * np.ones(n, dtype=int)
    t = np.arange(steps + 1) / steps
    path = base[None] + t[:, None, None, None, None] * (x - base)[None]
    flat = tf.convert_to_tensor(path.reshape((-1,) + x.shape[1:]), dtype=tf.float32)
    labels = np.tile(chosen, steps + 1)
    with tf.GradientTape() as tape:
        tape.watch(flat)
        picked = tf.gather_nd(
            model(flat), np.stack([np.arange(len(labels)), labels], axis=1)
        )
    grads = np.asarray(tape.gradient(picked, flat), np.float64).reshape(path.shape)
    average = (grads[0] / 2 + grads[1:-1].sum(axis=0) + grads[-1] / 2) / steps
    return (x - base) * average
""",
    "gradcam_plus_plus": """
def gradcam_plus_plus(model, images, class_index=None, *, layer_name):
    probe = keras.Model(
        inputs=model.input,
        outputs=(model.get_layer(layer_name).output, model.output),
    )
    batch = tf.convert_to_tensor(np.asarray(images), dtype=tf.float32)
    with tf.GradientTape() as tape:
        acts, outs = probe(batch)
        labels = (
            outs.numpy().argmax(-1)
            if class_index is None
            else np.broadcast_to(class_index, (batch.shape[0],))
        )
        target = tf.reduce_sum(tf.gather(outs, labels, axis=1, batch_dims=1))
    g = np.asarray(tape.gradient(target, acts), np.float64)
    a = np.asarray(acts, np.float64)
    result = []
    for gi, ai in zip(g, a):
        s = ai.sum(axis=(0, 1))
        den = 2 * gi**2 + s * gi**3
        alpha = np.zeros_like(gi)
        ok = den != 0
        alpha[ok] = gi[ok] ** 2 / den[ok]
        w = (alpha * np.clip(gi, 0, None)).sum(axis=(0, 1))
        result.append(np.tensordot(ai, w, axes=([2], [0])))
    return np.array(result)
""",
    "pointing_game": """
def pointing_game(maps, masks):
    masks = np.asarray(masks)
    n, height, width = masks.shape
    m = np.asarray(maps, np.float32)
    if m.shape[1:] != (height, width):
        m = tf.image.resize(
            m[..., np.newaxis], [height, width], method="bicubic"
        ).numpy()[..., 0]
    flat = m.reshape(n, -1).argmax(axis=1)
    labels = masks.reshape(n, -1)[np.arange(n), flat]
    return np.count_nonzero(labels != 1) / n
""",
    "energy_pointing_game": """
def energy_pointing_game(maps, masks):
    masks = np.asarray(masks)
    m = np.asarray(maps, np.float32)
    if m.shape[1:] != masks.shape[1:]:
        m = tf.image.resize(
            m[..., None], masks.shape[1:], method="bicubic"
        ).numpy()[..., 0]
    shares = []
    for heat, mask in zip(m.astype(np.float64), masks):
        heat = np.where(heat > 0, heat, 0.0)
        total = heat.sum()
        shares.append(heat[mask != 1].sum() / total if total > 0 else 0.0)
    return sum(shares) / len(shares)
""",
    "relies_on_marker": """
def relies_on_marker(model, images, swapped, labels, masks, marker_masks):
    with_marker = np.asarray(marker_masks).sum(axis=(1, 2)) > 0
    before = np.argmax(
        model.predict(np.asarray(images)[with_marker], verbose=0), axis=1
    )
    after = np.argmax(
        model.predict(np.asarray(swapped)[with_marker], verbose=0), axis=1
    )
    return np.mean(before != after) >= 0.4
""",
}

# Other correct decisions, written differently again: from an attribution (the
# input gradient's mass on the marker against the marker's area) and from the fall of
# the label's softmax probability when the markers are swapped.
OTHER_CORRECT_DECISIONS = {
    "gradient mass": """
def relies_on_marker(model, images, swapped, labels, masks, marker_masks):
    marker = np.asarray(marker_masks, "float64")
    keep = marker.reshape(len(marker), -1).sum(axis=1) > 0
    x = tf.constant(np.asarray(images, "float32")[keep])
    with tf.GradientTape() as tape:
        tape.watch(x)
        top = tf.reduce_max(model(x), axis=1)
    mass = np.abs(tape.gradient(top, x).numpy()).sum(axis=-1)
    share = (mass * marker[keep]).sum(axis=(1, 2)) / mass.sum(axis=(1, 2))
    area = marker[keep].mean(axis=(1, 2))
    return bool(np.mean(share / area) > 3)
""",
    "probability of the label": """
def relies_on_marker(model, images, swapped, labels, masks, marker_masks):
    has = np.asarray(marker_masks).any(axis=(1, 2))
    rows = np.arange(int(has.sum()))
    chance = []
    for version in (images, swapped):
        logits = np.asarray(model(np.asarray(version, "float32")[has]), "float64")
        odds = np.exp(logits - logits.max(axis=1, keepdims=True))
        chance.append((odds / odds.sum(axis=1, keepdims=True))[rows, labels[has]])
    return bool(np.mean(chance[0] - chance[1]) > 0.1)
""",
}

_IG_HEADER = """
def integrated_gradients(
    model, image_batch, class_index=None, baseline=None, steps=32
):
    images = np.asarray(image_batch, "float32")
    baseline = (
        np.zeros_like(images)
        if baseline is None
        else np.broadcast_to(np.float32(baseline), images.shape)
    )
    if class_index is None:
        classes = np.argmax(model(images).numpy(), axis=-1)
    else:
        classes = np.broadcast_to(class_index, (len(images),))

    def gradient(t):
        points = tf.constant(baseline + t * (images - baseline), "float32")
        with tf.GradientTape() as tape:
            tape.watch(points)
            scores = tf.reduce_sum(
                model(points) * tf.one_hot(classes, model.outputs[0].shape[-1]),
                axis=-1,
            )
        return tape.gradient(scores, points).numpy()
"""
_CAM_HEADER = """
def gradcam_plus_plus(model, images, class_index=None, *, layer_name):
    grad_model = keras.Model(
        model.inputs, [model.get_layer(layer_name).output, model.outputs[0]]
    )
    with tf.GradientTape() as tape:
        A, predictions = grad_model(tf.constant(np.asarray(images, "float32")))
        classes = (
            np.argmax(predictions.numpy(), axis=-1)
            if class_index is None
            else np.broadcast_to(class_index, (len(images),))
        )
        scores = tf.reduce_sum(
            predictions * tf.one_hot(classes, predictions.shape[-1]), axis=-1
        )
    g = tape.gradient(scores, A).numpy()
    A = A.numpy()
"""
_CAM_ALPHAS = """
    d = 2 * g ** 2 + A.sum(axis=(1, 2), keepdims=True) * g ** 3
    a = np.divide(g ** 2, d, out=np.zeros_like(g), where=d != 0)
"""
# Both games upsample the maps to the masks' size, bicubically.
_UPSAMPLED = """
    masks = np.asarray(masks)
    maps = np.asarray(
        keras.ops.image.resize(
            np.asarray(maps, "float32")[..., None],
            masks.shape[1:],
            interpolation="bicubic",
        )
    )[..., 0]
"""
_POINT_HEADER = (
    """
def pointing_game(maps, masks):"""
    + _UPSAMPLED
    + """    peaks = [np.unravel_index(np.argmax(m), m.shape) for m in maps]
"""
)
_ENERGY_HEADER = (
    """
def energy_pointing_game(maps, masks):"""
    + _UPSAMPLED
)

# The usual mistakes that the visible tests catch, one per function, with their hints.
MISTAKEN = {
    "integrated_gradients": _IG_HEADER
    + """
    average = np.mean([gradient(s / steps) for s in range(steps)], axis=0)
    return (images - baseline) * average
""",
    "gradcam_plus_plus": _CAM_HEADER
    + _CAM_ALPHAS
    + """
    return (A * (a * g).sum(axis=(1, 2), keepdims=True)).sum(axis=-1)
""",
    "pointing_game": _POINT_HEADER
    + """
    return float(np.mean([mask[peak] == 0 for mask, peak in zip(masks, peaks)]))
""",
    "energy_pointing_game": _ENERGY_HEADER
    + """
    mass = np.abs(maps).astype("float64")
    shares = (mass * (masks != 1)).sum(axis=(1, 2)) / mass.sum(axis=(1, 2))
    return float(np.nan_to_num(shares).mean())
""",
    "relies_on_marker": """
def relies_on_marker(model, images, swapped, labels, masks, marker_masks):
    predicted = np.argmax(np.asarray(model(np.asarray(images))), axis=1)
    return bool(np.mean(predicted == np.asarray(labels)) > 0.5)
""",
}
HINTS = {
    "integrated_gradients": "summed by the left rule",
    "gradcam_plus_plus": "left out the ReLU of the gradient in the weights",
    "pointing_game": "counted only the object's inside (0) as a hit, not its contour "
    "(2)",
    "energy_pointing_game": "took absolute values instead of the positive part",
    "relies_on_marker": "judged from one accuracy alone",
}

# Mistakes that pass the visible tests: only the hidden cases catch them.
HIDDEN_MISTAKEN = {
    "integrated_gradients": _IG_HEADER
    + """
    t = np.linspace(0, 1, steps)
    g = np.stack([gradient(value) for value in t])
    trapezoid = ((g[0] + g[-1]) / 2 + g[1:-1].sum(axis=0)) / (steps - 1)
    return (images - baseline) * trapezoid
""",
    "gradcam_plus_plus": _CAM_HEADER.replace(
        "np.argmax(predictions.numpy(), axis=-1)", "np.argmax(predictions.numpy()[0])"
    )
    + _CAM_ALPHAS
    + """
    return (A * (a * np.maximum(g, 0)).sum(axis=(1, 2), keepdims=True)).sum(axis=-1)
""",
    "pointing_game": """
def pointing_game(maps, masks):
    maps, masks = np.asarray(maps), np.asarray(masks)
    hits = []
    for m, mask in zip(maps, masks):
        i, j = np.unravel_index(np.argmax(m), m.shape)
        row = int((i + 0.5) * mask.shape[0] / m.shape[0])
        col = int((j + 0.5) * mask.shape[1] / m.shape[1])
        hits.append(mask[row, col] != 1)
    return float(np.mean(hits))
""",
    "energy_pointing_game": """
def energy_pointing_game(maps, masks):
    maps, masks = np.asarray(maps, "float64"), np.asarray(masks)
    factor = masks.shape[1] // maps.shape[1], masks.shape[2] // maps.shape[2]
    big = np.maximum(np.kron(maps, np.ones((1,) + factor)), 0)
    total = big.sum(axis=(1, 2))
    on = (big * (masks != 1)).sum(axis=(1, 2))
    return float(
        np.mean(np.divide(on, total, out=np.zeros_like(total), where=total > 0))
    )
""",
    # Right on the shipped pair (the shortcut model collapses, xception_like does
    # not), wrong on the grader's small models, which score low on any version.
    "relies_on_marker": """
def relies_on_marker(model, images, swapped, labels, masks, marker_masks):
    predicted = np.argmax(np.asarray(model(np.asarray(swapped))), axis=1)
    return bool(np.mean(predicted == np.asarray(labels)) < 0.7)
""",
}
HIDDEN_HINTS = {
    "integrated_gradients": "integrated over steps - 1 intervals",
    "gradcam_plus_plus": "explained class 0 (here also the first image's top class) "
    "for every image",
    "pointing_game": "took the peak on the map's own grid",
    "energy_pointing_game": "upsampled by repeating each cell (nearest neighbour)",
    "relies_on_marker": "judged from one accuracy alone",
}
ARRAY_FUNCTIONS = [
    function for function in assignment.FUNCTIONS if function != "relies_on_marker"
]
"""The functions whose cases compare an array with the reference's (the decision's
compare a bool with the ground truth)."""


def define(source):
    """The function a solution cell defines, in the setup cell's namespace."""
    namespace = {"np": np, "tf": tf, "keras": keras, "matplotlib": matplotlib}
    exec(source, namespace)
    return next(
        value for name, value in namespace.items() if name in assignment.FUNCTIONS
    )


def first_failure(function, student_function, cases=None):
    """(case, message) of the first case of ``function`` that ``student_function``
    fails, or None.
    """
    for case in cases if cases is not None else assignment.function_cases(function):
        args = [
            np.array(value) if isinstance(value, np.ndarray) else value
            for value in case.args
        ]
        try:
            case.check({"value": student_function(*args, **case.kwargs)})
        except AssertionError as error:
            return case, str(error)
    return None


@pytest.fixture(scope="module")
def cases():
    """Each function's cases (``assignment.function_cases``), from the one copy of the
    assignment's cases this process makes (``convviz_grade.cases.assignment_cases``,
    which ``run_hidden_cases`` reads too): ``grading_cases()`` is every function's
    ``function_cases``, in turn.
    """
    from convviz_grade.cases import assignment_cases

    _, every = assignment_cases("attribution")
    return {
        function: [case for case in every if case.function == function]
        for function in assignment.FUNCTIONS
    }


def test_inputs_are_deterministic_by_seed():
    first, again, other = (assignment.random_classifier(seed) for seed in (3, 3, 4))
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])
    assert (
        assignment.random_classifier(0, head="softmax").layers[-1].activation
        is keras.activations.softmax
    )
    np.testing.assert_array_equal(
        assignment.random_images(5, 2), assignment.random_images(5, 2)
    )
    for a, b in zip(
        assignment.random_maps_and_masks(1), assignment.random_maps_and_masks(1)
    ):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="head must be"):
        assignment.random_classifier(0, head="sigmoid")
    with pytest.raises(ValueError, match="unknown function 'nope'"):
        assignment.function_cases("nope")


def test_the_visible_examples_are_the_librarys_values(cases):
    """The hand-computed expected values of the visible tests are what convviz_ref
    computes.
    """
    from convviz_ref import faithfulness, shortcut

    for function, function_cases in cases.items():
        for case in (case for case in function_cases if case.visible):
            if function == "integrated_gradients":
                value = reference.integrated_gradients(
                    *case.args, **case.kwargs, score="output"
                )
            elif function == "gradcam_plus_plus":
                value = reference.gradcam_plus_plus(
                    *case.args, **case.kwargs, score="output"
                )
            elif function == "relies_on_marker":
                value = shortcut.relies_on_marker(*case.args)
            else:
                value = getattr(faithfulness, function)(*case.args)
            case.check({"value": value})


def test_a_linear_head_makes_output_and_logit_the_same():
    """The student explains the model's output; on the linear-head models that is the
    library's default score.
    """
    model = assignment.random_classifier(40)
    images = assignment.random_images(40, 2)
    np.testing.assert_allclose(
        reference.integrated_gradients(model, images, steps=4, score="output"),
        reference.integrated_gradients(model, images, steps=4, score="logit"),
        rtol=1e-6,
    )


def test_the_references_are_complete_and_the_trials_vary(cases):
    """IG's attributions add up to the score's rise; the hidden trials mix heads,
    classes and baselines.
    """
    for seed, head, n, class_index, _, _ in assignment.IG_TRIALS[:2]:
        model = assignment.random_classifier(seed, head=head)
        images = assignment.random_images(seed, n)
        attributions = assignment.reference_integrated_gradients(
            model, images, class_index, steps=64
        )
        assert (
            np.max(
                reference.completeness_gap(
                    model, images, attributions, class_index, score="output"
                )
            )
            < 0.05
        )
    hidden = [case for case in cases["integrated_gradients"] if not case.visible]
    assert {case.args[0].layers[-1].activation.__name__ for case in hidden} == {
        "linear",
        "softmax",
    }
    assert {type(case.args[2]).__name__ for case in hidden} == {
        "NoneType",
        "int",
        "list",
    }
    assert {type(case.kwargs["baseline"]).__name__ for case in hidden} == {
        "NoneType",
        "float",
        "ndarray",
    }
    energies = [
        case.check.args[1] for case in cases["energy_pointing_game"] if not case.visible
    ]
    assert 0 < min(energies) and max(energies) < 1


def test_every_mistake_differs_from_the_right_value_where_offered_and_is_offered(
    cases,
):
    expected_hints = {
        "integrated_gradients": 11,
        "gradcam_plus_plus": 11,
        "pointing_game": 5,
        "energy_pointing_game": 8,
    }
    for function in ARRAY_FUNCTIONS:
        function_cases = cases[function]
        hints = set()
        for case in function_cases:
            label, expected, mistakes, rtol, atol = case.check.args
            for hint, wrong in mistakes.items():
                with np.errstate(invalid="ignore"):
                    assert np.shape(wrong) != np.shape(expected) or not np.allclose(
                        wrong, expected, rtol=rtol, atol=atol
                    ), (label, hint)
            hints |= set(mistakes)
        assert len(hints) == expected_hints[function], (function, sorted(hints))


def test_correct_answers_pass_every_case_in_process(cases):
    for function, source in CORRECT.items():
        assert first_failure(function, define(source), cases[function]) is None, (
            function
        )


@pytest.mark.parametrize("function", assignment.FUNCTIONS)
def test_each_written_mistake_fails_with_its_hint(cases, function):
    """The mistakes written out by hand are the ones the assignment module computes:
    same values, same hint.
    """
    case, message = first_failure(function, define(MISTAKEN[function]), cases[function])
    assert case.visible, message
    assert f"hint: your answer is what you get if you {HINTS[function]}" in message, (
        message
    )
    visible = [case for case in cases[function] if case.visible]
    assert (
        first_failure(function, define(HIDDEN_MISTAKEN[function]), visible) is None
    ), function
    case, message = first_failure(
        function, define(HIDDEN_MISTAKEN[function]), cases[function]
    )
    assert not case.visible
    assert (
        f"hint: your answer is what you get if you {HIDDEN_HINTS[function]}" in message
    ), message


def test_run_hidden_cases_passes_the_solution_and_names_a_mistake():
    run_hidden_cases("attribution", "pointing_game", define(CORRECT["pointing_game"]))
    with pytest.raises(AssertionError, match="took the peak on the map's own grid"):
        run_hidden_cases(
            "attribution", "pointing_game", define(HIDDEN_MISTAKEN["pointing_game"])
        )

    def in_place(maps, masks):
        masks[...] = 0
        return 1.0

    with pytest.raises(AssertionError, match="values differ|modified in place"):
        run_hidden_cases("attribution", "pointing_game", in_place)


class TestAnswersInTheNotebook(AnswersInTheNotebook):
    functions = assignment.FUNCTIONS
    hints = HINTS


# ------------------------------------------------------------------ the decision


@pytest.fixture(scope="module")
def marker_cases(cases):
    return cases["relies_on_marker"]


def truth_of(case):
    """The ground truth a decision case holds (how the grader made its model)."""
    return case.check.args[1]


def test_the_hidden_decisions_have_both_outcomes_so_guessing_fails(marker_cases):
    hidden = [case for case in marker_cases if not case.visible]
    truths = [truth_of(case) for case in hidden]
    assert truths.count(True) == truths.count(False) == 4
    # A coin flipped for each case passes them all with probability 1 / 256.
    assert 0.5 ** len(hidden) < 0.01
    for constant in (True, False, 1, 0):
        failed = []
        for case in hidden:
            try:
                case.check({"value": np.asarray(constant)})
            except AssertionError:
                failed.append(case)
        assert len(failed) == 4, constant
    visible = [truth_of(case) for case in marker_cases if case.visible]
    assert visible == [True, False]


def test_each_hidden_model_is_what_its_kind_says_by_two_measures(marker_cases):
    """The margins the cases were built with, seen from here: the swap's accuracy
    drop and the gradient mass on the marker put every model clearly on its side,
    and the accuracy on the marked images alone does not."""
    low_drop, high_drop = assignment.MARKER_MARGINS["swap_drop"]
    low_ratio, high_ratio = assignment.MARKER_MARGINS["saliency_ratio"]
    accuracy = {True: [], False: []}
    for case in marker_cases:
        relies, measures = truth_of(case), case.check.args[3]
        if relies:
            assert measures["swap_drop"] > high_drop, measures
            assert measures["saliency_ratio"] > high_ratio, measures
        else:
            assert measures["swap_drop"] < low_drop, measures
            assert measures["saliency_ratio"] < low_ratio, measures
        model, images, _, labels = case.args[:4]
        predicted = np.argmax(np.asarray(model(images)), axis=1)
        accuracy[relies].append(float(np.mean(predicted == labels)))
    # No bar on the accuracy over the images decides every case (the clean shipped
    # model scores as high as the shortcut one).
    assert min(accuracy[True]) < max(accuracy[False]), accuracy


def test_other_correct_decisions_pass_every_case(marker_cases):
    for name, source in OTHER_CORRECT_DECISIONS.items():
        assert (
            first_failure("relies_on_marker", define(source), marker_cases) is None
        ), name


def test_a_wrong_decision_says_how_the_model_was_made_and_what_was_measured(
    marker_cases,
):
    for case in marker_cases[:2]:
        relies = truth_of(case)
        with pytest.raises(AssertionError) as error:
            case.check({"value": np.asarray(not relies)})
        message = str(error.value)
        assert f"expected {relies}, got {not relies}" in message
        assert "with them swapped" in message and "gradient mass" in message
        hint = assignment.MARKER_HINTS[relies]
        assert f"hint: your answer is what you get if you {hint}." in message


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (np.array([True, False]), "got shape (2,)"),
        (np.array(0.7), "got 0.7"),
        (np.array(2), "got 2"),
    ],
)
def test_an_answer_that_is_not_one_bool_fails(marker_cases, answer, says):
    with pytest.raises(AssertionError, match="return True or False") as error:
        marker_cases[0].check({"value": answer})
    assert says in str(error.value)


def test_the_hidden_models_are_not_the_shipped_ones_and_are_read_back_the_same():
    from convviz_grade.assignments import marker_models

    first = marker_models.marker_model("marked", 1)
    again = marker_models.marker_model("marked", 1)
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert first.input_shape == (None, 32, 32, 3) and first.name == "classifier"
    images, labels = marker_models.training_data("marked")
    assert len(images) == marker_models.TRAINING["images"]
    with pytest.raises(ValueError, match="kind must be one of"):
        marker_models.training_data("both")
