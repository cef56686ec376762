"""The ``filters`` exercise: its grading helpers, and its notebook run with other
answers.

The fast tests check ``convviz_grade.assignments.filters`` in-process: the
random models are deterministic, and every usual mistake really gives
another result than ``convviz_ref``. The two slow tests run the solution
notebook, once with independently written correct answers (full marks), once
with a usual mistake in every function (each fails, and says which mistake).
"""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from convviz_grade.assignments import filters as assignment
from exercise_tools import AnswersInTheNotebook

from convviz_ref import filters as reference

# ----------------------------------------------------------------- helpers


def test_random_feature_extractor_is_deterministic_by_seed():
    first, again, other = (
        assignment.random_feature_extractor(seed) for seed in (1, 1, 2)
    )
    images = assignment.random_images(0)
    np.testing.assert_array_equal(np.asarray(first(images)), np.asarray(again(images)))
    assert not np.allclose(np.asarray(first(images)), np.asarray(other(images)))
    assert [layer.name for layer in first.layers] == [
        "image",
        "rescaling",
        "conv1",
        "conv2",
    ]


def test_random_inputs_are_deterministic_by_seed():
    np.testing.assert_array_equal(
        assignment.random_images(3, 2), assignment.random_images(3, 2)
    )
    assert not np.array_equal(assignment.random_images(3), assignment.random_images(4))
    np.testing.assert_array_equal(
        assignment.random_pattern(5), assignment.random_pattern(5)
    )
    pattern = assignment.random_pattern(5)
    assert (
        pattern.min() < 0 or pattern.max() > 255
    )  # like an ascent result, outside 0..255


def _differs(wrong, expected, *, rtol, atol):
    wrong, expected = np.asarray(wrong, np.float64), np.asarray(expected, np.float64)
    return wrong.shape != expected.shape or not np.allclose(
        wrong, expected, rtol=rtol, atol=atol, equal_nan=True
    )


@pytest.mark.parametrize("seed, filter_index", [(1, 0), (2, 5), (3, 15)])
def test_every_loss_mistake_differs_from_the_reference(seed, filter_index):
    extractor = assignment.random_feature_extractor(seed)
    images = assignment.random_images(seed, num_images=2)
    expected = float(reference.compute_loss(extractor, images, filter_index))
    mistakes = assignment.loss_mistakes(extractor, images, filter_index)
    assert (
        len(mistakes) == 6
    )  # five slicing or reduction mistakes, and the first image only
    for hint, wrong in mistakes.items():
        assert _differs(wrong, expected, rtol=1e-4, atol=1e-6), hint


@pytest.mark.parametrize(
    "seed, filter_index, learning_rate", [(1, 0, 10.0), (2, 5, 1275.0)]
)
def test_every_step_mistake_differs_from_the_reference(
    seed, filter_index, learning_rate
):
    extractor = assignment.random_feature_extractor(seed)
    image = tf.constant(assignment.random_images(seed))
    expected = reference.gradient_ascent_step(
        extractor, image, filter_index, learning_rate
    )
    mistakes = assignment.step_mistakes(extractor, image, filter_index, learning_rate)
    assert len(mistakes) == 7
    for hint, wrong in mistakes.items():
        assert _differs(wrong, expected, rtol=1e-4, atol=1e-3), hint


def test_a_step_with_a_wrong_loss_is_named():
    """A step taken with a no-border loss matches the hint that says to fix compute_loss
    first.
    """
    extractor = assignment.random_feature_extractor(1)
    image = tf.constant(assignment.random_images(1))
    with tf.GradientTape() as tape:
        tape.watch(image)
        loss = tf.reduce_mean(extractor(image)[..., 3])
    stepped = image + 10.0 * tf.math.l2_normalize(tape.gradient(loss, image))
    mistakes = assignment.step_mistakes(extractor, image, 3, 10.0)
    hint = (
        "used a compute_loss that left out no border (use activation[:, 2:-2, 2:-2, "
        "filter_index]) "
        "(fix compute_loss first)"
    )
    np.testing.assert_allclose(mistakes[hint], stepped, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize(
    "image, crop, count",
    [
        (assignment.random_pattern(11), 25, 6),
        (
            assignment.random_pattern(15, size=40),
            5,
            5,
        ),  # cropping first changes too little here
        (assignment.random_pattern(14), 0, 3),
        (np.full((96, 96, 3), 128.0, np.float32), 25, 6),
        (np.full((96, 96, 3), 0.3, np.float32), 25, 6),
    ],
)
def test_every_deprocess_mistake_differs_from_the_reference(image, crop, count):
    expected = reference.deprocess_image(image, crop=crop)
    mistakes = assignment.deprocess_mistakes(image, crop=crop)
    assert len(mistakes) == count, list(mistakes)
    for hint, wrong in mistakes.items():
        assert _differs(wrong, expected, rtol=0, atol=1), hint


def test_deprocess_mistakes_name_the_constant_image_cases():
    exact = assignment.deprocess_mistakes(np.full((96, 96, 3), 128.0, np.float32))
    rounded = assignment.deprocess_mistakes(np.full((96, 96, 3), 0.3, np.float32))
    # The constant-image hint comes first: it is the one named when several give the
    # same picture.
    assert next(iter(exact)).startswith("divided by a standard deviation of 0")
    assert next(iter(rounded)).startswith("tested std > 0")


def test_deprocess_mistakes_leave_the_input_as_it_was():
    image = assignment.random_pattern(12)
    before = image.copy()
    assignment.deprocess_mistakes(image)
    np.testing.assert_array_equal(image, before)


# ---------------------------------------------------------- notebook runs

ASSIGNMENT = "filters"
CORRECT = {
    "compute_loss": """
def compute_loss(feature_extractor, image, filter_index):
    maps = feature_extractor(tf.convert_to_tensor(image, tf.float32))
    height, width = maps.shape[1], maps.shape[2]
    inner = tf.gather(maps[:, 2 : height - 2, 2 : width - 2, :], [filter_index], axis=3)
    return tf.reduce_sum(inner) / tf.cast(tf.size(inner), inner.dtype)
""",
    "gradient_ascent_step": """
def gradient_ascent_step(feature_extractor, image, filter_index, learning_rate):
    pixels = tf.Variable(
        tf.cast(image, tf.float32)
    )  # a variable: the tape watches it by itself
    with tf.GradientTape() as tape:
        score = compute_loss(feature_extractor, pixels, filter_index)
    slope = tape.gradient(score, pixels).numpy().astype(np.float64)
    length = max(
        np.sqrt(np.sum(slope * slope)), 1e-6
    )  # the floor tf.math.l2_normalize uses
    moved = pixels.numpy().astype(np.float64) + learning_rate * (slope / length)
    return tf.constant(moved.astype(np.float32))
""",
    "deprocess_image": """
def deprocess_image(image, crop=25):
    values = np.asarray(
        image, dtype=np.float64
    )  # float64: a new array, the input is untouched
    if np.ptp(values) == 0:
        scaled = np.full(values.shape, 128.0)
    else:
        scaled = 128.0 + 64.0 * (values - values.mean()) / values.std()
    picture = np.clip(scaled, 0.0, 255.0).astype(np.uint8)
    height, width = picture.shape[:2]
    return picture[crop : height - crop, crop : width - crop]
""",
}

MISTAKEN = {
    # The 2-pixel border is not cut.
    "compute_loss": """
def compute_loss(feature_extractor, image, filter_index):
    return tf.reduce_mean(feature_extractor(image)[:, :, :, filter_index])
""",
    # The gradient is not normalized (the loss is written out here, correctly, so that
    # only the step itself is wrong).
    "gradient_ascent_step": """
def gradient_ascent_step(feature_extractor, image, filter_index, learning_rate):
    with tf.GradientTape() as tape:
        tape.watch(image)
        loss = tf.reduce_mean(feature_extractor(image)[:, 2:-2, 2:-2, filter_index])
    return image + learning_rate * tape.gradient(loss, image)
""",
    # No crop.
    "deprocess_image": """
def deprocess_image(image, crop=25):
    image = np.array(image, dtype=np.float32)
    std = image.std()
    image = (image - image.mean()) / (std if std > 0 else 1.0) * 64 + 128
    return np.clip(image, 0, 255).astype(np.uint8)
""",
}

HINTS = {
    "compute_loss": "left out no border",
    "gradient_ascent_step": "did not normalize the gradient",
    "deprocess_image": "forgot the 25-pixel crop",
}


class TestAnswersInTheNotebook(AnswersInTheNotebook):
    functions = list(CORRECT)
    hints = HINTS
    named_by = "any"
