"""The ``gradcam`` assignment: small random classifiers, and the usual mistakes.

The tests compare the student's ``gradcam_heatmap`` and ``overlay`` with
:mod:`convviz_ref.gradcam` on the models and inputs made here, and pass the
outputs of the mistake functions to ``check_array`` so that a wrong answer is
named ("hint: your answer is what you get if you left out the ReLU ...").

Every model is a tiny Functional classifier on 16x16x3 images in 0..255 with
a named last conv layer (``LAST_CONV``) and seeded weights, drawn from a
NumPy generator (not Keras' global seed), so ``random_classifier(3)`` is the
same model in every process:

>>> model = random_classifier(3, head="sigmoid")
>>> model.output_shape, model.get_layer(LAST_CONV).output.shape
((None, 1), (None, 7, 7, 16))
>>> bool(np.array_equal(random_images(1, n=2), random_images(1, n=2)))
True

A note on one mistake the course lists and this module does not: summing
instead of averaging (the channel weights over batch, height and width, or
the weighted maps over channels) multiplies the map by a positive constant,
which the final division by the maximum removes. It gives the same heatmap,
so no test can tell it apart, and none pretends to.
"""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import tensorflow as tf
from keras import layers

from convviz_ref import gradcam as reference

LAST_CONV = "last_conv_act"
"""Name of the last conv layer (its ReLU) in :func:`random_classifier`."""

IMAGE_SIZE = 16


def random_classifier(seed, *, head="softmax", num_classes=3, image_size=IMAGE_SIZE):
    """A tiny classifier with seeded weights, for Grad-CAM tests.

    Rescaling(1/255), Conv2D(8, 3) + ReLU, Conv2D(16, 3) then a separate
    ReLU named ``last_conv_act``, Flatten (so the gradient differs from
    pixel to pixel, unlike after global average pooling), then a Dense head:
    softmax over ``num_classes`` classes, or one sigmoid unit
    (``head="sigmoid"``).

    Returns:
        An uncompiled Functional ``keras.Model``.
    """
    if head not in ("softmax", "sigmoid"):
        raise ValueError(f"head must be 'softmax' or 'sigmoid', got {head!r}")
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = layers.Rescaling(1 / 255, name="rescaling")(inputs)
    x = layers.Conv2D(8, 3, activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(16, 3, padding="same", name="last_conv")(x)
    x = layers.Activation("relu", name=LAST_CONV)(x)
    x = layers.Flatten(name="flatten")(x)
    units, activation = (num_classes, "softmax") if head == "softmax" else (1, "sigmoid")
    outputs = layers.Dense(units, activation=activation, name="predictions")(x)
    model = keras.Model(inputs, outputs, name=f"tiny_{head}_{seed}")
    rng = np.random.default_rng([seed, 7])
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            kernel, bias = weights
            fan_in = int(np.prod(kernel.shape[:-1]))
            scale = (10.0 if layer.name == "predictions" else 1.5) / np.sqrt(fan_in)
            layer.set_weights([
                rng.normal(0.0, scale, size=kernel.shape).astype(np.float32),
                rng.normal(0.0, 0.1, size=bias.shape).astype(np.float32),
            ])
    return model


def random_images(seed, n=1, image_size=IMAGE_SIZE):
    """Seeded float32 images ``(n, size, size, 3)`` in 0..255: smooth blobs plus noise."""
    rng = np.random.default_rng([seed, 11])
    grid = np.linspace(-1, 1, image_size)
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    images = np.empty((n, image_size, image_size, 3), np.float32)
    for index in range(n):
        centre = rng.uniform(-0.6, 0.6, size=2)
        blob = np.exp(-((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) / 0.15)
        colour = rng.uniform(0, 255, size=3)
        noise = rng.uniform(0, 60, size=(image_size, image_size, 3))
        images[index] = np.clip(blob[..., None] * colour + noise, 0, 255)
    return images


def _maps_and_gradient(model, image_batch, layer_name, class_index):
    """Feature maps of the layer and the gradient of output ``class_index``."""
    grad_model = keras.Model(model.inputs, [model.get_layer(layer_name).output, model.outputs[0]])
    inputs = tf.constant(np.asarray(image_batch, np.float32))
    with tf.GradientTape() as tape:
        maps, predictions = grad_model(inputs, training=False)
        score = predictions[:, class_index]
    return maps.numpy().astype(np.float64), tape.gradient(score, maps).numpy().astype(np.float64)


def _top_class(model, image_batch):
    return int(np.argmax(model(np.asarray(image_batch, np.float32), training=False).numpy()[0]))


def _by_max(cam):
    cam = np.maximum(cam, 0)
    return cam / cam.max() if cam.max() > 0 else cam


def gradcam_mistakes(model, image_batch, last_conv_layer_name, class_index=None):
    """What the usual mistakes give for ``gradcam_heatmap`` on these inputs.

    Returns:
        dict mapping a hint (it completes "your answer is what you get if
        you ...") to the heatmap that mistake gives. Mistakes that give the
        correct heatmap on these inputs (for example ignoring ``class_index``
        when it is the top class anyway) are left out.
    """
    top = _top_class(model, image_batch)
    chosen = top if class_index is None else int(class_index)
    maps, gradient = _maps_and_gradient(model, image_batch, last_conv_layer_name, chosen)
    weights = gradient.mean(axis=(0, 1, 2))
    cam = (maps[0] * weights).mean(axis=-1)
    mistakes = {}
    if cam.max() > 0:
        mistakes["left out the ReLU (kept the negative values and divided by the maximum)"] = cam / cam.max()
    positive = np.maximum(cam, 0)
    if positive.sum() > 0:
        mistakes["divided by the sum of the heatmap instead of its maximum"] = positive / positive.sum()
    mistakes["averaged the gradient over the channels instead of over batch, height and width"] = _by_max(
        (maps[0] * gradient[0].mean(axis=-1, keepdims=True)).mean(axis=-1))
    mistakes["multiplied the feature maps by the gradient pixel by pixel instead of by the channel weights"] = (
        _by_max((maps[0] * gradient[0]).mean(axis=-1)))
    if class_index is None and top != 0:
        _, gradient_0 = _maps_and_gradient(model, image_batch, last_conv_layer_name, 0)
        mistakes["explained class 0 instead of the top class (the argmax of the predictions)"] = _by_max(
            (maps[0] * gradient_0.mean(axis=(0, 1, 2))).mean(axis=-1))
    if class_index is not None and int(class_index) != top:
        _, gradient_top = _maps_and_gradient(model, image_batch, last_conv_layer_name, top)
        mistakes["ignored class_index (explained the top class instead of the one asked for)"] = _by_max(
            (maps[0] * gradient_top.mean(axis=(0, 1, 2))).mean(axis=-1))
    correct = _by_max(cam)
    return {hint: value.astype(np.float32) for hint, value in mistakes.items()
            if not np.allclose(value, correct, rtol=1e-4, atol=1e-4)}


def _colored(heatmap, size, cmap, *, scale=255.0, resample=3):
    colors = matplotlib.colormaps[cmap](np.arange(256))[:, :3]
    indices = np.uint8(255 * np.clip(heatmap, 0, 1))
    picture = keras.utils.array_to_img(colors[indices] * scale, scale=False)
    return keras.utils.img_to_array(picture.resize(size, resample=resample))


def _rescale(superimposed):
    superimposed = superimposed - superimposed.min()
    if superimposed.max() > 0:
        superimposed = superimposed / superimposed.max() * 255.0
    return superimposed.astype(np.uint8)


def overlay_mistakes(image, heatmap, alpha=0.4, cmap="jet"):
    """What the usual mistakes give for ``overlay`` on these inputs.

    Returns:
        dict mapping a hint to the uint8 picture that mistake gives.
    """
    image = np.asarray(image, np.float32)
    size = (image.shape[1], image.shape[0])
    correct = _colored(heatmap, size, cmap)
    return {
        "kept the colormap's colours in 0..1 (forgot to multiply them by 255)":
            _rescale(alpha * _colored(heatmap, size, cmap, scale=1.0) + image),
        "clipped the sum to 0..255 instead of rescaling it by its minimum and maximum":
            np.clip(alpha * correct + image, 0, 255).astype(np.uint8),
        "resized the coloured heatmap with nearest-neighbour instead of bicubic interpolation":
            _rescale(alpha * _colored(heatmap, size, cmap, resample=0) + image),
        "added the image and the heatmap without the weight alpha":
            _rescale(correct + image),
    }


def reference_heatmap(model, image_batch, last_conv_layer_name, class_index=None):
    """The reference heatmap (the book's score: the model's output)."""
    return reference.gradcam_heatmap(model, image_batch, last_conv_layer_name, class_index, score="output")
