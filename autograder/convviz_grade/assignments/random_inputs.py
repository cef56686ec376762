"""Seeded random images and tiny classifiers for the assignments' grading cases.

Every draw is seeded by the arguments: images come from a NumPy generator,
weights from Keras initializers given a seed (never from Keras' or NumPy's
global seed), so the same arguments give the same arrays and weights in the
grader, in the tests and in a notebook's hidden cells. Each
assignment module keeps its own ``random_images`` / ``random_classifier`` with
its own sizes and seeds, and calls these.

>>> bool(np.array_equal(uniform_images(3, 2, 8), uniform_images(3, 2, 8)))
True
>>> blob_images(1, 2, 8, stream=11, width=0.15, noise=60).shape
(2, 8, 8, 3)

This module is not an assignment (the assignments are the folders of
``solutions/``): it has no ``grading_cases``.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

CLASSIFIER_HEADS = ("linear", "softmax", "sigmoid")


def uniform_images(seed, num_images, image_size):
    """Uniform noise in 0..255, float32 ``(num_images, image_size, image_size, 3)``.

    Drawn from ``np.random.default_rng(seed)``.
    """
    rng = np.random.default_rng(seed)
    shape = (num_images, image_size, image_size, 3)
    return rng.uniform(0.0, 255.0, size=shape).astype(np.float32)


def blob_images(seed, num_images, image_size, *, stream, width, noise):
    """A smooth coloured blob plus noise, float32 ``(num_images, size, size, 3)``.

    Per image, from ``np.random.default_rng([seed, stream])``: a centre in
    ``[-0.6, 0.6]^2`` of the ``[-1, 1]^2`` grid, a colour in ``[0, 255]^3``, and
    uniform noise in ``[0, noise]`` per pixel and channel. The image is
    ``clip(exp(-|p - centre|^2 / width) * colour + noise, 0, 255)``.
    """
    rng = np.random.default_rng([seed, stream])
    grid = np.linspace(-1, 1, image_size)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    images = np.empty((num_images, image_size, image_size, 3), np.float32)
    for index in range(num_images):
        centre = rng.uniform(-0.6, 0.6, size=2)
        blob = np.exp(-((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) / width)
        colour = rng.uniform(0, 255, size=3)
        pixels = rng.uniform(0, noise, size=(image_size, image_size, 3))
        images[index] = np.clip(blob[..., None] * colour + pixels, 0, 255)
    return images


def seeded_conv(filters, name, *, kernel_seed, bias_seed, bias_range):
    """A 3x3 ReLU ``Conv2D`` without padding, its initial weights seeded.

    The kernel is Glorot-uniform with ``kernel_seed``, the biases uniform in
    ``bias_range`` (low, high) with ``bias_seed``.
    """
    return layers.Conv2D(
        filters,
        3,
        activation="relu",
        name=name,
        kernel_initializer=keras.initializers.GlorotUniform(seed=kernel_seed),
        bias_initializer=keras.initializers.RandomUniform(*bias_range, seed=bias_seed),
    )


def tiny_classifier(
    seed,
    head,
    num_classes,
    image_size,
    *,
    heads=CLASSIFIER_HEADS,
    filters,
    stream,
    head_scale,
    last_conv,
):
    """A tiny classifier whose weights are drawn from ``default_rng([seed, stream])``.

    Rescaling(1/255), Conv2D(``filters[0]``, 3) + ReLU (``conv1``), MaxPooling
    (``pool1``), Conv2D(``filters[1]``, 3, same) (``last_conv``) then a separate
    ReLU named ``last_conv``'s argument, Flatten (so the gradient differs from
    pixel to pixel, unlike after global average pooling), then a Dense head
    ``predictions``: ``num_classes`` linear units (``head="linear"``, the
    logits), ``num_classes`` softmax units, or one sigmoid unit.

    Each layer's kernel is normal with standard deviation ``1.5 / sqrt(fan_in)``
    (``head_scale / sqrt(fan_in)`` for the head), each bias normal with 0.1.

    Returns:
        An uncompiled Functional ``keras.Model`` named ``tiny_{head}_{seed}``.

    Raises:
        ValueError: for a head that is not one of ``heads`` (the assignment's
            choice among :data:`CLASSIFIER_HEADS`).
    """
    if head not in heads:
        raise ValueError(f"head must be {' or '.join(map(repr, heads))}, got {head!r}")
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = layers.Rescaling(1 / 255, name="rescaling")(inputs)
    x = layers.Conv2D(filters[0], 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(filters[1], 3, padding="same", name="last_conv")(x)
    x = layers.Activation("relu", name=last_conv)(x)
    x = layers.Flatten(name="flatten")(x)
    units, activation = {
        "linear": (num_classes, None),
        "softmax": (num_classes, "softmax"),
        "sigmoid": (1, "sigmoid"),
    }[head]
    outputs = layers.Dense(units, activation=activation, name="predictions")(x)
    model = keras.Model(inputs, outputs, name=f"tiny_{head}_{seed}")
    rng = np.random.default_rng([seed, stream])
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            kernel, bias = weights
            fan_in = int(np.prod(kernel.shape[:-1]))
            scale = (head_scale if layer.name == "predictions" else 1.5) / np.sqrt(
                fan_in
            )
            layer.set_weights(
                [
                    rng.normal(0.0, scale, size=kernel.shape).astype(np.float32),
                    rng.normal(0.0, 0.1, size=bias.shape).astype(np.float32),
                ]
            )
    return model
