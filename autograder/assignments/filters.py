"""The ``filters`` assignment: random small models and inputs, and the usual mistakes.

The hidden tests of ``solutions/filters/filters.ipynb`` compare a student's
``compute_loss``, ``gradient_ascent_step`` and ``deprocess_image`` with
:mod:`convviz_ref.filters` on the seeded models and inputs made here. Each
``*_mistakes`` function returns ``{hint: wrong_output}`` for the same input,
written to complete the sentence "your answer is what you get if you
{hint}." (see :func:`convviz_grade.checks.check_array`).

>>> extractor = random_feature_extractor(seed=0)
>>> tuple(extractor.output_shape)  # 16x16 input, two unpadded 3x3 convs
(None, 12, 12, 16)
>>> random_images(seed=0).shape
(1, 16, 16, 3)
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from convviz_ref import filters as reference

IMAGE_SIZE = 16
"""Height and width of the random models' inputs."""

CHANNELS = 16
"""Filters of each conv layer of the random models."""


def random_model(seed, *, image_size=IMAGE_SIZE, channels=CHANNELS):
    """A tiny seeded convnet: ``rescaling``, then ``conv1`` and ``conv2`` (3x3, ReLU, no padding).

    Like the course's models it takes images in 0..255 and rescales inside.
    The biases are small and positive, so that most filters fire on a random
    image and have a gradient to climb.

    Returns:
        A ``keras.Model`` from ``(batch, image_size, image_size, 3)`` to
        ``(batch, image_size - 4, image_size - 4, channels)``.
    """
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = keras.layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    for number in (1, 2):
        x = keras.layers.Conv2D(
            channels, 3, activation="relu", name=f"conv{number}",
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 10 + number),
            bias_initializer=keras.initializers.RandomUniform(0.0, 0.2, seed=seed * 10 + 5 + number),
        )(x)
    return keras.Model(inputs, x, name=f"random_convnet_{seed}")


def random_feature_extractor(seed, layer_name="conv2", **kwargs):
    """:func:`random_model` cut at ``layer_name`` with :func:`convviz_ref.filters.build_feature_extractor`."""
    return reference.build_feature_extractor(random_model(seed, **kwargs), layer_name)


def random_images(seed, num_images=1, image_size=IMAGE_SIZE):
    """Seeded uniform noise in 0..255, float32 ``(num_images, image_size, image_size, 3)``."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, 255.0, size=(num_images, image_size, image_size, 3)).astype(np.float32)


def random_pattern(seed, size=96):
    """A seeded stand-in for an ascent result: float32 ``(size, size, 3)``, not in 0..255.

    Smooth waves plus noise, with an offset and a spread that change with
    the seed, like the unclipped images gradient ascent returns.
    """
    rng = np.random.default_rng(seed)
    grid = np.linspace(0.0, 2.0 * np.pi, size)
    waves = np.sin(rng.uniform(1, 4) * grid)[:, None, None] * np.cos(rng.uniform(1, 4) * grid)[None, :, None]
    noise = rng.normal(size=(size, size, 3))
    scale, offset = rng.uniform(20.0, 400.0), rng.uniform(-100.0, 300.0)
    return (offset + scale * (waves + 0.5 * noise)).astype(np.float32)


def _loss(activation, rows, cols, filter_index, reduce=tf.reduce_mean):
    return reduce(activation[:, rows, cols, filter_index])


_BORDER = slice(2, -2)

_LOSS_MISTAKES = {
    "left out no border (use activation[:, 2:-2, 2:-2, filter_index])": (slice(None), slice(None), tf.reduce_mean),
    "cut a 1-pixel border instead of 2 pixels": (slice(1, -1), slice(1, -1), tf.reduce_mean),
    "cut a 3-pixel border instead of 2 pixels": (slice(3, -3), slice(3, -3), tf.reduce_mean),
    "cut the border at the start only (2: instead of 2:-2)": (slice(2, None), slice(2, None), tf.reduce_mean),
    "took the sum where the mean is expected": (_BORDER, _BORDER, tf.reduce_sum),
}


def loss_mistakes(feature_extractor, image, filter_index):
    """The usual wrong versions of ``compute_loss``: ``{hint: wrong loss}`` (float)."""
    activation = feature_extractor(tf.convert_to_tensor(image, tf.float32))
    mistakes = {
        hint: float(_loss(activation, rows, cols, filter_index, reduce))
        for hint, (rows, cols, reduce) in _LOSS_MISTAKES.items()
    }
    if activation.shape[0] > 1:
        mistakes["used only the first image of the batch (take the mean over the batch too)"] = float(
            tf.reduce_mean(activation[0, 2:-2, 2:-2, filter_index])
        )
    return mistakes


def _gradient(feature_extractor, image, filter_index, rows=_BORDER, cols=_BORDER, reduce=tf.reduce_mean):
    image = tf.convert_to_tensor(image, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(image)
        loss = _loss(feature_extractor(image), rows, cols, filter_index, reduce)
    return image, tape.gradient(loss, image)


def step_mistakes(feature_extractor, image, filter_index, learning_rate):
    """The usual wrong versions of ``gradient_ascent_step``: ``{hint: wrong image}`` (ndarray).

    Besides mistakes in the step itself, it lists the steps taken with a
    wrong ``compute_loss``, so that a failure caused by the loss says so.
    """
    image, gradient = _gradient(feature_extractor, image, filter_index)
    normalized = tf.math.l2_normalize(gradient)
    mistakes = {
        "did not normalize the gradient (divide it by its l2 norm)": image + learning_rate * gradient,
        "stepped down the gradient (image - ...) instead of up": image - learning_rate * normalized,
        "divided the gradient by its largest absolute value instead of its l2 norm": image
        + learning_rate * gradient / tf.reduce_max(tf.abs(gradient)),
    }
    for hint, (rows, cols, reduce) in _LOSS_MISTAKES.items():
        if reduce is tf.reduce_sum:
            continue  # the sum's gradient is the mean's times a constant: normalized, they are equal
        _, wrong = _gradient(feature_extractor, image, filter_index, rows, cols)
        mistakes[f"used a compute_loss that {hint} (fix compute_loss first)"] = image + learning_rate * (
            tf.math.l2_normalize(wrong)
        )
    return {hint: np.asarray(value) for hint, value in mistakes.items()}


def _crop(image, crop):
    return image[crop:-crop, crop:-crop] if crop else image


def deprocess_mistakes(image, crop=25):
    """The usual wrong versions of ``deprocess_image``: ``{hint: wrong picture}`` (ndarray)."""
    image = np.array(image, dtype=np.float32)
    centered = image - image.mean()
    std = image.std()
    mistakes = {}
    with np.errstate(all="ignore"):  # the mistakes divide by zero and cast NaN, as a student's code would
        standardized = centered / std
        if image.max() == image.min():  # first: on a constant image, other mistakes give the same
            hint = (
                "divided by a standard deviation of 0 (a constant image must give mid-grey 128)"
                if std == 0
                else "tested std > 0, which float32 round-off defeats on a constant image (test max == min)"
            )
            mistakes[hint] = _crop(np.clip(standardized * 64 + 128, 0, 255).astype(np.uint8), crop)
        if crop:
            mistakes[f"forgot the {crop}-pixel crop"] = reference.deprocess_image(image, crop=0)
            mistakes["cropped the top and left borders only"] = reference.deprocess_image(image, crop=0)[
                crop:, crop:
            ]
            mistakes["cropped before normalizing (take the mean and std over the whole image, then crop)"] = (
                reference.deprocess_image(_crop(image, crop), crop=0)
            )
        mistakes["cast to uint8 before clipping"] = _crop(
            np.clip((standardized * 64 + 128).astype(np.uint8), 0, 255), crop
        )
        mistakes["divided by the maximum instead of the standard deviation"] = _crop(
            np.clip(centered / centered.max() * 64 + 128, 0, 255).astype(np.uint8), crop
        )
        mistakes["divided by the largest absolute value instead of the standard deviation"] = _crop(
            np.clip(centered / np.abs(centered).max() * 64 + 128, 0, 255).astype(np.uint8), crop
        )
    expected = reference.deprocess_image(image, crop=crop).astype(np.int64)
    # A mistake that changes no grey level by more than the tests' tolerance of 1 is no mistake here
    # (e.g. cropping 5 pixels before normalizing barely moves the mean and std).
    return {
        hint: wrong for hint, wrong in mistakes.items()
        if wrong.shape != expected.shape or np.abs(wrong.astype(np.int64) - expected).max() > 1
    }
