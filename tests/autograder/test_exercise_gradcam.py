"""The gradcam exercise: its helpers, and its notebook's grading of right and wrong
answers.
"""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import pytest
import tensorflow as tf
from convviz_grade.assignments import gradcam as assignment
from exercise_tools import HINT, AnswersInTheNotebook, run_answer_sets

from convviz_ref import gradcam as reference

# An independently written correct answer: float64 NumPy after the tape, the
# input watched instead of the variables, sums divided by counts, einsum.
CORRECT_HEATMAP = """
def gradcam_heatmap(
    model, image_batch, last_conv_layer_name, class_index=None, *, score="output"
):
    inner = model.get_layer(last_conv_layer_name)
    head = model.layers[-1]
    probe = keras.Model(
        inputs=model.input, outputs=(inner.output, head.input, model.output)
    )
    batch = tf.convert_to_tensor(image_batch, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(batch)
        activations, features, outputs = probe(batch)
        chosen = (
            int(np.argmax(outputs.numpy()[0]))
            if class_index is None
            else int(class_index)
        )
        if score == "logit":
            kernel, bias = head.get_weights()
            logit = features @ kernel[:, chosen : chosen + 1] + bias[chosen]
            target = tf.reduce_sum(logit)
        else:
            target = tf.reduce_sum(outputs[:, chosen])
    grads = np.asarray(tape.gradient(target, activations), dtype=np.float64)
    acts = np.asarray(activations, dtype=np.float64)[0]
    weights = grads.sum(axis=(0, 1, 2)) / (
        grads.shape[0] * grads.shape[1] * grads.shape[2]
    )
    cam = np.einsum("ijk,k->ij", acts, weights) / acts.shape[-1]
    cam[cam < 0] = 0
    top = cam.max()
    return cam / top if top > 0 else np.zeros_like(cam)
"""

# The softmax's Jacobian row, diag(p) - p p^T, then einsum: another way to the
# coefficients.
CORRECT_OUTPUT_MAP = """
def output_heatmap_from_logit_maps(logit_maps, probabilities, class_index):
    p = np.array(probabilities, dtype=np.float64)
    jacobian = np.diag(p) - np.outer(p, p)
    raw = np.einsum("j,jhw->hw", jacobian[class_index], np.asarray(logit_maps, float))
    raw = np.clip(raw, 0, None)
    return raw / raw.max() if raw.max() > 0 else raw
"""

CORRECT_OVERLAY = """
def overlay(image, heatmap, alpha=0.4, cmap="jet"):
    from PIL import Image

    picture = np.array(image, dtype=np.float64)
    picture = picture.reshape(picture.shape[-3:])
    table = matplotlib.colormaps[cmap](range(256))[:, :3]
    index = (255 * np.clip(np.asarray(heatmap, np.float64), 0, 1)).astype(np.uint8)
    rgb = (table[index] * 255).astype(np.uint8)
    big = Image.fromarray(rgb, mode="RGB").resize(
        (picture.shape[1], picture.shape[0]), Image.BICUBIC
    )
    mixed = np.asarray(big, dtype=np.float64) * alpha + picture
    low, high = mixed.min(), mixed.max()
    scaled = (mixed - low) * (255.0 / (high - low)) if high > low else mixed - low
    return scaled.astype(np.uint8)
"""

# The usual mistakes, one per function.
HEATMAP_WITHOUT_RELU = """
def gradcam_heatmap(model, image_batch, last_conv_layer_name, class_index=None):
    grad_model = keras.Model(
        model.inputs,
        [model.get_layer(last_conv_layer_name).output, model.outputs[0]],
    )
    with tf.GradientTape() as tape:
        maps, predictions = grad_model(np.asarray(image_batch, "float32"))
        if class_index is None:
            class_index = int(tf.argmax(predictions[0]))
        score = predictions[:, class_index]
    weights = tf.reduce_mean(tape.gradient(score, maps), axis=(0, 1, 2))
    heatmap = tf.reduce_mean(maps[0] * weights, axis=-1).numpy()
    return heatmap / heatmap.max()
"""

# The logit's own map: no chain rule through the softmax.
OUTPUT_MAP_LOGIT_ONLY = """
def output_heatmap_from_logit_maps(logit_maps, probabilities, class_index):
    raw = np.maximum(np.asarray(logit_maps, np.float64)[class_index], 0)
    return raw / raw.max() if raw.max() > 0 else raw
"""

# The other usual mistakes of output_heatmap_from_logit_maps, each with its hint.
OUTPUT_MAP_MISTAKES = {
    "scaled the class's own logit map and left out": """
def output_heatmap_from_logit_maps(logit_maps, probabilities, class_index):
    p = float(probabilities[class_index])
    raw = np.maximum(p * (1 - p) * np.asarray(logit_maps, float)[class_index], 0)
    return raw / raw.max() if raw.max() > 0 else raw
""",
    "computed what exact arithmetic gives": """
def output_heatmap_from_logit_maps(logit_maps, probabilities, class_index):
    p = np.asarray(probabilities, float)
    c = class_index
    coefficients = -p[c] * p
    coefficients[c] = p[c] * (p.sum() - p[c])
    raw = np.maximum(np.tensordot(coefficients, np.asarray(logit_maps, float), 1), 0)
    return raw / raw.max() if raw.max() > 0 else raw
""",
    "added the other classes' maps with the sign": """
def output_heatmap_from_logit_maps(logit_maps, probabilities, class_index):
    p = np.asarray(probabilities, float)
    c = class_index
    coefficients = p[c] * p
    coefficients[c] = p[c] * (1 - p[c])
    raw = np.maximum(np.tensordot(coefficients, np.asarray(logit_maps, float), 1), 0)
    return raw / raw.max() if raw.max() > 0 else raw
""",
}

# gradcam_heatmap that ignores score: the output's map for score="logit" too.
HEATMAP_OUTPUT_ANYWAY = CORRECT_HEATMAP.replace('if score == "logit":', "if False:")

# ... and the log of the probability, which gives the output's map again.
HEATMAP_LOG_PROBABILITY = CORRECT_HEATMAP.replace(
    "target = tf.reduce_sum(logit)",
    "target = tf.reduce_sum(tf.math.log(outputs[:, chosen]))",
)

# The Keras example's way to the logit: switch the last activation off, in place.
HEATMAP_SWITCHES_ACTIVATION_OFF = """
def gradcam_heatmap(
    model, image_batch, last_conv_layer_name, class_index=None, *, score="output"
):
    if score == "logit":
        model.layers[-1].activation = None
    grad_model = keras.Model(
        model.input, [model.get_layer(last_conv_layer_name).output, model.output]
    )
    with tf.GradientTape() as tape:
        maps, predictions = grad_model(np.asarray(image_batch, "float32"))
        if class_index is None:
            class_index = int(tf.argmax(predictions[0]))
        class_score = predictions[:, class_index]
    weights = tf.reduce_mean(tape.gradient(class_score, maps), axis=(0, 1, 2))
    heatmap = np.maximum(tf.reduce_mean(maps[0] * weights, axis=-1).numpy(), 0)
    return heatmap / heatmap.max() if heatmap.max() > 0 else heatmap
"""

OVERLAY_COLOURS_0_1 = """
def overlay(image, heatmap, alpha=0.4, cmap="jet"):
    image = np.asarray(image, dtype="float32")
    if image.ndim == 4:
        image = image[0]
    colors = matplotlib.colormaps[cmap](np.arange(256))[:, :3]
    colored = keras.utils.array_to_img(colors[np.uint8(255 * heatmap)], scale=False)
    colored = colored.resize((image.shape[1], image.shape[0]), resample=3)
    x = alpha * keras.utils.img_to_array(colored) + image
    x = x - x.min()
    if x.max() > 0:
        x = x / x.max() * 255.0
    return x.astype("uint8")
"""

ASSIGNMENT = "gradcam"
CORRECT = {
    "gradcam_heatmap": CORRECT_HEATMAP,
    "output_heatmap_from_logit_maps": CORRECT_OUTPUT_MAP,
    "overlay": CORRECT_OVERLAY,
}
MISTAKEN = {
    "gradcam_heatmap": HEATMAP_WITHOUT_RELU,
    "output_heatmap_from_logit_maps": OUTPUT_MAP_LOGIT_ONLY,
    "overlay": OVERLAY_COLOURS_0_1,
}
HINTS = {
    "gradcam_heatmap": "left out the ReLU",
    "output_heatmap_from_logit_maps": "returned the class's own logit map",
    "overlay": "kept the colormap's colours in 0..1",
}


def _define(*sources):
    namespace = {"np": np, "tf": tf, "keras": keras, "matplotlib": matplotlib}
    for source in sources:
        exec(source, namespace)
    return namespace


HIDDEN_TRIALS = [
    (2, "softmax", None),
    (1, "softmax", None),
    (3, "softmax", 1),
    (4, "softmax", 1),
    (1, "softmax", 2),
    (2, "sigmoid", None),
    (3, "sigmoid", None),
    (7, "sigmoid", None),
]


def test_random_classifier_is_deterministic_by_seed():
    first, again, other = (assignment.random_classifier(seed) for seed in (3, 3, 4))
    for a, b in zip(first.get_weights(), again.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])
    np.testing.assert_array_equal(
        assignment.random_images(5), assignment.random_images(5)
    )
    assert assignment.random_classifier(0, head="sigmoid").output_shape == (None, 1)


def test_hidden_trials_cover_zero_and_nonzero_heatmaps_and_every_mistake():
    hints, zero_maps = set(), 0
    for seed, head, class_index in HIDDEN_TRIALS:
        model = assignment.random_classifier(seed, head=head)
        images = assignment.random_images(seed)
        expected = assignment.reference_heatmap(
            model, images, assignment.LAST_CONV, class_index
        )
        zero_maps += int(expected.max() == 0)
        for hint, wrong in assignment.gradcam_mistakes(
            model, images, assignment.LAST_CONV, class_index
        ).items():
            assert not np.allclose(wrong, expected, rtol=1e-4, atol=1e-5), hint
            hints.add(hint)
    assert zero_maps >= 1  # the all-zero case (no NaN) is among the trials
    assert len(hints) == 6, hints


def test_correct_answers_match_the_reference_in_process():
    namespace = _define(CORRECT_HEATMAP, CORRECT_OVERLAY)
    for seed, head, class_index in HIDDEN_TRIALS:
        model = assignment.random_classifier(seed, head=head)
        images = assignment.random_images(seed)
        np.testing.assert_allclose(
            namespace["gradcam_heatmap"](
                model, images, assignment.LAST_CONV, class_index
            ),
            reference.gradcam_heatmap(model, images, assignment.LAST_CONV, class_index),
            rtol=1e-4,
            atol=1e-5,
        )
    rng = np.random.default_rng(1)
    image, heatmap = (
        rng.uniform(0, 255, (24, 40, 3)).astype("float32"),
        rng.uniform(0, 1, (3, 5)).astype("float32"),
    )
    got = namespace["overlay"](image, heatmap)
    assert got.dtype == np.uint8
    assert (
        np.abs(got.astype(int) - reference.overlay(image, heatmap).astype(int)).max()
        <= 1
    )


def test_overlay_mistakes_differ_from_the_reference():
    rng = np.random.default_rng(3)
    image, heatmap = rng.uniform(0, 255, (20, 30, 3)), rng.uniform(0, 1, (4, 5))
    expected = reference.overlay(image, heatmap).astype(int)
    mistakes = assignment.overlay_mistakes(image, heatmap)
    assert len(mistakes) == 4
    for hint, wrong in mistakes.items():
        assert wrong.shape == expected.shape and wrong.dtype == np.uint8, hint
        assert np.abs(wrong.astype(int) - expected).max() > 1, hint


def test_sum_instead_of_mean_is_indistinguishable_as_documented():
    """Summing multiplies the map by a positive constant; the division by the maximum
    removes it.
    """
    model = assignment.random_classifier(2)
    images = assignment.random_images(2)
    source = CORRECT_HEATMAP
    for division in (
        " / (\n        grads.shape[0] * grads.shape[1] * grads.shape[2]\n    )",
        " / acts.shape[-1]",
    ):
        assert division in source
        source = source.replace(division, "")
    summed = _define(source)
    np.testing.assert_allclose(
        summed["gradcam_heatmap"](model, images, assignment.LAST_CONV),
        reference.gradcam_heatmap(model, images, assignment.LAST_CONV),
        rtol=1e-4,
        atol=1e-5,
    )


# ------------------------------------------------------- the cases, in process


def _cases(function):
    """The grader's cases of ``function``, the visible ones first."""
    from convviz_grade.cases import assignment_cases

    _, cases = assignment_cases(ASSIGNMENT)
    chosen = [case for case in cases if case.function == function]
    return sorted(chosen, key=lambda case: not case.visible)


def _failures(function, name):
    """The messages of the cases ``function`` fails, visible ones first."""
    from convviz_grade.cases import outputs_of
    from convviz_grade.grading import check_outputs

    messages = []
    for case in _cases(name):
        try:
            check_outputs(case, outputs_of(case, function))
        except AssertionError as error:
            messages.append(f"({'visible' if case.visible else 'hidden'}) {error}")
    return messages


def _first_failure(function, name):
    """The message of the first case ``function`` fails, or None if it passes all."""
    return next(iter(_failures(function, name)), None)


@pytest.mark.parametrize("hint", list(OUTPUT_MAP_MISTAKES))
def test_each_output_map_mistake_fails_with_its_hint(hint):
    function = _define(OUTPUT_MAP_MISTAKES[hint])["output_heatmap_from_logit_maps"]
    messages = _failures(function, "output_heatmap_from_logit_maps")
    # Scaling the own map by p_c (1 - p_c) > 0 is the logit's map: the saturated
    # visible case is where its own hint shows.
    assert any(HINT.format(hint) in message for message in messages), messages


@pytest.mark.parametrize("source", [HEATMAP_OUTPUT_ANYWAY, HEATMAP_LOG_PROBABILITY])
def test_the_output_score_or_its_log_for_the_logit_fails_with_its_hint(source):
    function = _define(source)["gradcam_heatmap"]
    message = _first_failure(function, "gradcam_heatmap")
    assert message.startswith("(visible)"), message
    assert HINT.format(assignment.OUTPUT_INSTEAD_OF_LOGIT) in message, message


def test_switching_the_last_activation_off_in_place_fails_with_its_hint():
    """Its heatmaps are right; the model it was given is not left as it was."""
    function = _define(HEATMAP_SWITCHES_ACTIVATION_OFF)["gradcam_heatmap"]
    message = _first_failure(function, "gradcam_heatmap")
    assert message.startswith("(hidden)"), message
    assert assignment.MODEL_CHANGED in message and "values differ" not in message


def test_the_log_probability_gives_the_output_score_s_map_as_documented():
    log_probability = _define(HEATMAP_LOG_PROBABILITY)["gradcam_heatmap"]
    for head, head_scale, seed, class_index in assignment.LOGIT_TRIALS:
        model = assignment.trial_model(head, head_scale, seed)
        images = assignment.random_images(seed)
        np.testing.assert_allclose(
            log_probability(
                model, images, assignment.LAST_CONV, class_index, score="logit"
            ),
            assignment.reference_heatmap(
                model, images, assignment.LAST_CONV, class_index
            ),
            rtol=1e-4,
            atol=1e-5,
        )


def test_saturation_trials_cover_saturation_zero_maps_and_every_mistake():
    hidden = [
        case for case in _cases("output_heatmap_from_logit_maps") if not case.visible
    ]
    assert len(hidden) == len(assignment.SATURATION_TRIALS)
    saturated = [case for case in hidden if np.max(case.args[1]) == 1.0]
    zero_maps = [case for case in hidden if np.max(case.check.args[1]) == 0]
    assert len(saturated) >= 5 and len(zero_maps) >= 3
    hints = set().union(*(case.check.args[2] for case in hidden))
    assert len(hints) == 5, hints
    # A constant answer cannot pass: all-zero maps and distinct non-zero maps.
    others = [case.check.args[1] for case in hidden if np.max(case.check.args[1]) > 0]
    assert len({np.asarray(m, np.float32).tobytes() for m in others}) == len(others)
    assert len(others) >= 5
    for case in hidden:
        assert case.args[0].dtype == case.args[1].dtype == np.float32


def _overlay_with(resize, lookup="indices"):
    """A correct overlay with another colormap lookup and another bicubic resize."""

    def overlay(image, heatmap, alpha=0.4, cmap="jet"):
        image = np.asarray(image, np.float64).reshape(np.shape(image)[-3:])
        values = np.clip(np.asarray(heatmap, np.float64), 0, 1)
        table = matplotlib.colormaps[cmap]
        if lookup == "indices":
            colored = table(np.arange(256))[:, :3][(255 * values).astype(np.uint8)]
        else:  # the float heatmap itself: index floor(256 x)
            colored = table(values)[..., :3]
        resized = resize(255.0 * colored, image.shape[0], image.shape[1])
        mixed = alpha * np.asarray(resized, np.float64) + image
        mixed -= mixed.min()
        if mixed.max() > 0:
            mixed *= 255.0 / mixed.max()
        return mixed.astype(np.uint8)

    return overlay


def _tf_bicubic(colored, height, width):
    return tf.image.resize(colored[None], (height, width), method="bicubic")[0]


def _skimage_bicubic(colored, height, width):
    from skimage.transform import resize

    return resize(colored, (height, width), order=3, preserve_range=True)


def _pil(resample):
    def resize(colored, height, width):
        from PIL import Image

        picture = Image.fromarray(colored.astype(np.uint8), "RGB")
        return np.asarray(picture.resize((width, height), resample), np.float64)

    return resize


@pytest.mark.parametrize("lookup", ["indices", "floats"])
@pytest.mark.parametrize(
    "resize", [_pil(3), _tf_bicubic, _skimage_bicubic], ids=["PIL", "tf", "skimage"]
)
def test_any_colormap_lookup_and_any_bicubic_resize_passes(resize, lookup):
    assert _first_failure(_overlay_with(resize, lookup), "overlay") is None


def test_nearest_and_bilinear_resizes_fail():
    nearest = _first_failure(_overlay_with(_pil(0)), "overlay")
    assert HINT.format("resized the coloured heatmap with nearest-neighbour") in nearest
    assert _first_failure(_overlay_with(_pil(2)), "overlay") is not None  # bilinear


def test_overlay_tolerance_is_the_measured_spread_of_correct_answers():
    """The figures of OVERLAY_TOLERANCE's docstring, on the hidden trials."""
    spread, nearest, tf_gap = 0, [], 0
    for case in _cases("overlay")[2:]:
        image, heatmap = case.args
        accepted = case.check.args[1]
        pictures = [np.asarray(p, int) for p in accepted.values()]
        reference = pictures[0]
        tf_gap = max(tf_gap, np.abs(pictures[1] - reference).max())
        for resize in (_pil(3), _tf_bicubic, _skimage_bicubic):
            got = _overlay_with(resize, "floats")(image, heatmap, **case.kwargs)
            spread = max(
                spread, min(np.abs(got.astype(int) - p).max() for p in pictures)
            )
        got = _overlay_with(_pil(0))(image, heatmap, **case.kwargs).astype(int)
        nearest.append(min(np.abs(got - p).max() for p in pictures))
    assert spread <= assignment.OVERLAY_TOLERANCE
    assert tf_gap > 3 * assignment.OVERLAY_TOLERANCE  # one picture would not do
    # Nearest-neighbour is out of tolerance on 8 of the 12 hidden trials: the others
    # need no resize (three 16x16 into 16x16) or have an all-zero heatmap; on the 8
    # others it is 40 to 110 away from every accepted picture.
    assert sum(gap > assignment.OVERLAY_TOLERANCE for gap in nearest) >= 8


class TestAnswersInTheNotebook(AnswersInTheNotebook):
    functions = list(CORRECT)
    hints = HINTS


# A copied reference: each answer calls the function of its name that the notebook's
# namespace reaches (a module bound to a name, or a course function imported under
# any name), as a student could copy the notebook's own call of the course's library.
COPIED_TEMPLATE = """
def {name}(*args, **kwargs):
    import types

    for value in list(globals().values()):
        found = getattr(value, "{name}", None)
        if isinstance(value, types.ModuleType) and callable(found):
            return found(*args, **kwargs)
        named = getattr(value, "__name__", "") == "{name}"
        if callable(value) and named and value is not {name}:
            return value(*args, **kwargs)
    raise NameError("no course function {name} in the notebook's namespace")
"""
COPIED = {name: COPIED_TEMPLATE.format(name=name) for name in CORRECT}


@pytest.fixture(scope="module")
def all_notebook_runs(tmp_path_factory):
    """The notebook run with CORRECT, MISTAKEN and COPIED answers, in one kernel."""
    return run_answer_sets(
        ASSIGNMENT, [CORRECT, MISTAKEN, COPIED], tmp_path_factory.mktemp("runs")
    )


@pytest.fixture(scope="module")
def notebook_runs(all_notebook_runs):
    """tests/conftest.py's fixture of the same name, from the shared kernel's runs."""
    return all_notebook_runs[:2]


@pytest.mark.slow
def test_a_copied_reference_fails_validate(all_notebook_runs):
    """No cell of the notebook leaves a course function in the student's namespace.

    In the kernel (``convviz-grade validate``, ``nbgrader autograde``) the answer cells
    see every name the other cells make; the notebook used to import
    ``convviz_ref.gradcam`` before ``overlay``, and a copy of its call passed.
    """
    results, _ = all_notebook_runs[2]
    for name in CORRECT:
        result = results[name]
        assert not result.passed and result.points == 0, name
        kind, message = result.failures[0]
        assert kind == "visible" and "no course function" in message, (name, message)


def test_the_saturation_evidence_is_what_the_statement_says():
    """The notebook's evidence: an unsaturated and a saturated test image of the
    shipped classifier, whose output map is the mixture of the logit maps that the
    written question's model answer reads off (own coefficient 0 once p_c is 1.0).
    """
    from convviz_ref.data import load_shapes
    from convviz_ref.models import load_pretrained
    from convviz_ref.scoring import find_last_conv_layer

    classifier, _ = load_pretrained("xception_like")
    images = load_shapes("test", 8)[0]
    evidence = assignment.saturation_evidence(
        classifier, images, find_last_conv_layer(classifier)
    )
    for item, saturated in zip(evidence, (False, True)):
        c, p = item["class_index"], item["probabilities"].astype(np.float64)
        assert (p[c] == 1.0) == saturated
        maps = item["logit_maps"].reshape(len(p), -1).T.astype(np.float64)
        fitted = np.linalg.lstsq(maps, item["output_map"].ravel(), rcond=None)[0]
        expected = -p[c] * p
        expected[c] = p[c] * (1 - p[c])
        scale = np.abs(expected).max()
        np.testing.assert_allclose(fitted, expected, rtol=0, atol=1e-3 * scale)
        if saturated:  # the own coefficient in exact arithmetic is not negligible
            logits = item["logits"].astype(np.float64)
            exact = np.exp(logits - logits.max())
            exact /= exact.sum()
            assert exact[c] * (1 - exact[c]) > 0.5 * scale
    assert (evidence[0]["index"], evidence[1]["index"]) == (2, 6)  # the model answer's
