"""The gradcam exercise: its helpers, and its notebook's grading of right and wrong
answers.
"""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import tensorflow as tf
from convviz_grade.assignments import gradcam as assignment
from exercise_tools import AnswersInTheNotebook

from convviz_ref import gradcam as reference

# An independently written correct answer: float64 NumPy after the tape, the
# input watched instead of the variables, sums divided by counts, einsum.
CORRECT_HEATMAP = """
def gradcam_heatmap(model, image_batch, last_conv_layer_name, class_index=None):
    inner = model.get_layer(last_conv_layer_name)
    probe = keras.Model(inputs=model.input, outputs=(inner.output, model.output))
    batch = tf.convert_to_tensor(image_batch, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(batch)
        activations, outputs = probe(batch)
        chosen = (
            int(np.argmax(outputs.numpy()[0]))
            if class_index is None
            else int(class_index)
        )
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
CORRECT = {"gradcam_heatmap": CORRECT_HEATMAP, "overlay": CORRECT_OVERLAY}
MISTAKEN = {"gradcam_heatmap": HEATMAP_WITHOUT_RELU, "overlay": OVERLAY_COLOURS_0_1}
HINTS = {
    "gradcam_heatmap": "left out the ReLU",
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


class TestAnswersInTheNotebook(AnswersInTheNotebook):
    functions = list(CORRECT)
    hints = HINTS
