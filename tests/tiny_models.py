"""Tiny models with named layers and seeded weights, and plain-numpy references.

Shared by test_activations.py, test_filters.py and test_gradcam.py. Every
model is small (8x8 to 16x16 inputs, a few filters) so the tests stay fast,
and every weight is drawn from a seeded numpy generator (not Keras' global
seed), so a model is the same whichever test builds it first.

The numpy helpers are deliberately naive (loops, float64): they are the
independent implementations the library is checked against.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers


def set_random_weights(model, seed, scale=0.5):
    """Give every weight of ``model`` seeded normal values (biases included)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights(
                [
                    rng.normal(0.0, scale, size=w.shape).astype(np.float32)
                    for w in weights
                ]
            )
    return model


# ---------------------------------------------------------------- models


def functional_convnet(seed=0, image_size=12, rescale=True):
    """Input -> [Rescaling(1/255)] -> conv1 (4, relu) -> pool1 -> conv2 (3, relu) -> GAP
    -> softmax(3).

    12x12 input: conv1 10x10x4, pool1 5x5x4, conv2 3x3x3.
    """
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = layers.Rescaling(1.0 / 255, name="rescaling")(inputs) if rescale else inputs
    x = layers.Conv2D(4, 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(3, 3, activation="relu", name="conv2")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(3, activation="softmax", name="predictions")(x)
    return set_random_weights(
        keras.Model(inputs, outputs, name="tiny_functional"), seed
    )


def sequential_layers():
    """Fresh layers for a Sequential model: conv1 (4) -> pool1 -> conv2 (3) -> flatten
    -> dense.
    """
    return [
        layers.Conv2D(4, 3, activation="relu", name="conv1"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Conv2D(3, 3, activation="relu", name="conv2"),
        layers.Flatten(name="flatten"),
        layers.Dense(2, activation="softmax", name="predictions"),
    ]


def sequential_convnet(how, seed=0, image_size=12):
    """The same Sequential model made three ways: ``"input"``, ``"build"`` or
    ``"unbuilt"``.

    ``"unbuilt"`` has no weights yet (they appear once it is called on an input).
    """
    if how == "input":
        model = keras.Sequential(
            [keras.Input(shape=(image_size, image_size, 3))] + sequential_layers(),
            name="seq_input",
        )
    elif how == "build":
        model = keras.Sequential(sequential_layers(), name="seq_build")
        model.build((None, image_size, image_size, 3))
    elif how == "unbuilt":
        return keras.Sequential(sequential_layers(), name="seq_unbuilt")
    else:
        raise ValueError(how)
    return set_random_weights(model, seed)


def gap_dense_model(
    seed=0,
    image_size=8,
    channels=5,
    num_classes=4,
    activation="softmax",
    conv_activation="relu",
):
    """Input -> conv (3x3, same padding, named "conv") -> GAP -> Dense(num_classes,
    activation).

    The class score's gradient with respect to the conv output is known in
    closed form: with ``p = mean_ij A`` and ``z = p W + b``,
    ``d z_c / d A[i, j, k] = W[k, c] / (h * w)``.
    """
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = layers.Conv2D(
        channels, 3, padding="same", activation=conv_activation, name="conv"
    )(inputs)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(num_classes, activation=activation, name="predictions")(x)
    return set_random_weights(
        keras.Model(inputs, outputs, name=f"gap_dense_{activation}"), seed
    )


def nonlinear_head_model(seed=0, image_size=10, dtype="float32"):
    """Input -> conv (4, tanh) -> head_conv (3, tanh) -> flatten -> softmax(3): a curved
    head for finite differences.

    10x10 input: conv 8x8x4, head_conv 6x6x3. ``dtype="float64"`` gives the
    same weights in float64, for accurate finite differences.
    """
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image", dtype=dtype)
    x = layers.Conv2D(4, 3, activation="tanh", name="conv", dtype=dtype)(inputs)
    x = layers.Conv2D(3, 3, activation="tanh", name="head_conv", dtype=dtype)(x)
    x = layers.Flatten(name="flatten", dtype=dtype)(x)
    outputs = layers.Dense(3, activation="softmax", name="predictions", dtype=dtype)(x)
    return set_random_weights(
        keras.Model(inputs, outputs, name="nonlinear_head"), seed, scale=0.4
    )


def linear_extractor(seed=0, image_size=9, in_channels=2, filters=3):
    """A feature extractor that is one linear conv ("lin", 3x3, valid, with bias):
    gradients in closed form.
    """
    inputs = keras.Input(shape=(image_size, image_size, in_channels), name="image")
    outputs = layers.Conv2D(filters, 3, activation=None, name="lin")(inputs)
    return set_random_weights(
        keras.Model(inputs, outputs, name="linear_extractor"), seed
    )


def tanh_extractor(seed=0, image_size=10, rescale=False, dtype="float32"):
    """Input -> [Rescaling(1/255)] -> conv1 (3, tanh) -> conv2 (4, tanh): 6x6x4, smooth
    for finite differences.

    ``dtype="float64"`` gives the same weights in float64.
    """
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image", dtype=dtype)
    x = (
        layers.Rescaling(1.0 / 255, name="rescaling", dtype=dtype)(inputs)
        if rescale
        else inputs
    )
    x = layers.Conv2D(3, 3, activation="tanh", name="conv1", dtype=dtype)(x)
    outputs = layers.Conv2D(4, 3, activation="tanh", name="conv2", dtype=dtype)(x)
    return set_random_weights(
        keras.Model(inputs, outputs, name="tanh_extractor"), seed, scale=0.4
    )


# ---------------------------------------------------------------- numpy references


def np_conv2d(x, kernel, bias=None, padding="valid"):
    """Cross-correlation of one image ``(h, w, cin)`` with ``kernel (kh, kw, cin,
    cout)``, float64, by loops.
    """
    x = np.asarray(x, np.float64)
    kernel = np.asarray(kernel, np.float64)
    kh, kw, _, cout = kernel.shape
    if padding == "same":
        x = np.pad(
            x, (((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2), (0, 0))
        )  # TensorFlow's split
    out_h, out_w = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    out = np.zeros((out_h, out_w, cout))
    for i in range(out_h):
        for j in range(out_w):
            patch = x[i : i + kh, j : j + kw, :]
            out[i, j] = np.tensordot(patch, kernel, axes=([0, 1, 2], [0, 1, 2]))
    if bias is not None:
        out += np.asarray(bias, np.float64)
    return out


def np_maxpool2(x):
    """2x2 max pooling with stride 2, valid (odd borders dropped), float64."""
    h, w = x.shape[0] // 2 * 2, x.shape[1] // 2 * 2
    x = np.asarray(x, np.float64)[:h, :w]
    return x.reshape(h // 2, 2, w // 2, 2, -1).max(axis=(1, 3))


def relu(x):
    return np.maximum(x, 0.0)


def softmax(z):
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max())
    return e / e.sum()


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.asarray(z, np.float64)))


def linear_classifier(seed=0, image_size=6, channels=3, num_classes=3):
    """Input -> Rescaling(1/255) -> flatten -> softmax(num_classes): every attribution
    in closed form.

    The logit is ``z = flatten(x / 255) W + b``, so ``d z_c / d x = W[:, c] / 255``
    (reshaped to the image) at every input.
    """
    inputs = keras.Input(shape=(image_size, image_size, channels), name="image")
    x = layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    x = layers.Flatten(name="flatten")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return set_random_weights(
        keras.Model(inputs, outputs, name="linear_classifier"), seed
    )


def relu_mlp(seed=0, image_size=4, hidden=6, num_classes=3):
    """Input -> flatten -> hidden (relu) -> softmax(num_classes): guided gradients in
    closed form.

    With ``u = flatten(x) W1 + b1``: ``d z_c / d x = W1 ([u > 0] * W2[:, c])``;
    Guided Backpropagation also zeroes the entries where ``W2[:, c] < 0``.
    """
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = layers.Flatten(name="flatten")(inputs)
    x = layers.Dense(hidden, activation="relu", name="hidden")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return set_random_weights(keras.Model(inputs, outputs, name="relu_mlp"), seed)
