"""Grad-CAM: which parts of the image made the model choose a class.

Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization" (ICCV 2017). Weigh each channel of the last
convolutional feature map by how much the class score rises with it, and
keep the positive part of the weighted mean.

Formula, for feature maps ``A_k`` (channel ``k``) and class score ``y_c``:
``alpha_k = mean_{n,i,j}(d y_c / d A_k[n, i, j])``,
``L = relu(mean_k(alpha_k * A_k[0]))``, ``heatmap = L / max(L)``.

The book's functions are :func:`gradcam_heatmap` (one image) and
:func:`overlay`; :func:`gradcam_heatmap_two_models` is the same map computed
the way *Deep Learning with Python* writes it (two sub-models);
:func:`gradcam_heatmaps` explains many images, each on its own, and
:func:`gradcam` is the same map, raw, as the registry's attribution method
(:mod:`convviz_ref.methods`); :func:`output_heatmap_from_logit_maps` gives the
output score's map from the logits' raw maps, by the softmax's chain rule.
The steps every attribution method shares (the score model, the feature maps
and their gradients, which layer to look at) live in :mod:`convviz_ref.scoring`.

Example:

>>> from convviz_ref.models import build_xception_like
>>> import numpy as np
>>> model = build_xception_like(image_size=64)
>>> image_batch = np.zeros((1, 64, 64, 3), "float32")
>>> heatmap = gradcam_heatmap(model, image_batch, "last_conv_act")
>>> heatmap.shape, heatmap.dtype  # the layer's 4x4 grid
((4, 4), dtype('float32'))
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import matplotlib
import numpy as np
import tensorflow as tf

from convviz_ref.maps import normalize_maps
from convviz_ref.scoring import (
    check_spatial_layer,
    feature_maps_and_gradients,
    find_last_conv_layer,
    spatial_layers,
)


def gradcam_heatmap(
    model, image_batch, last_conv_layer_name, class_index=None, *, score="output"
):
    """The Grad-CAM heatmap of one image, as in the book.

    Formula: with ``A`` the output of ``last_conv_layer_name`` and ``y_c``
    the score of class ``c``:
    ``alpha_k = mean over batch, height, width of d y_c / d A[..., k]``;
    ``heatmap = relu(mean_k(alpha_k * A[0, :, :, k]))``, divided by its
    maximum (a heatmap with no positive value stays all zeros).

    Args:
        model: a Functional ``keras.Model`` with one input and one output:
            softmax over classes, or a single sigmoid unit (``class_index`` 0).
        image_batch: float32 array ``(1, height, width, channels)`` in the
            model's input range.
        last_conv_layer_name: str, see
            :func:`~convviz_ref.scoring.find_last_conv_layer`.
        class_index: int, the class to explain; ``None`` for the top class.
        score: ``"output"`` (the book: the model's output for the class,
            after softmax) or ``"logit"`` (the pre-activation score, as in
            the Grad-CAM paper). The output's gradient shrinks with
            ``p_c (1 - p_c)``; once ``p_c`` rounds to 1 in float32 it keeps
            only ``-sum_{j != c} p_j d z_j / d A``, the evidence against the
            other classes.

    Returns:
        float32 array ``(h, w)``, the layer's spatial size, values in [0, 1].

    Raises:
        ValueError: for an unknown layer (the message lists the candidates),
            ``class_index`` out of range, a bad ``score`` or a wrong rank.
    """
    feature_maps, gradients, _ = feature_maps_and_gradients(
        model, image_batch, last_conv_layer_name, class_index, score=score
    )
    channel_weights = gradients.mean(axis=(0, 1, 2))  # (channels,)
    cam = (feature_maps[0] * channel_weights).mean(axis=-1)  # (h, w)
    return normalize_maps(cam[None])[0]


def gradcam_heatmap_two_models(
    model, image_batch, last_conv_layer_name, classifier_layer_names, class_index=None
):
    """Grad-CAM as *Deep Learning with Python* writes it: two sub-models.

    The same map as :func:`gradcam_heatmap` with ``score="output"``, computed
    the book's way: one model maps the image to the last conv layer's output
    ``A``; a second model, built on a new ``keras.Input`` of ``A``'s shape,
    applies ``classifier_layer_names`` in order (the layers are shared with
    ``model``, not copied). ``A`` is a tensor, not a variable; as the book
    does, the tape is told to watch it (``tape.watch``) before the
    classifier model runs on it. Computed inside the tape from the model's
    weights, ``A`` would be recorded anyway; the watch matters for an ``A``
    computed before the tape opens, whose gradient is otherwise ``None``.

    Formula: as :func:`gradcam_heatmap`,
    ``alpha_k = mean_{n,i,j}(d y_c / d A[n, i, j, k])``,
    ``heatmap = relu(mean_k(alpha_k * A[0, :, :, k]))`` divided by its maximum.

    Args:
        model: a Functional ``keras.Model`` whose layers after
            ``last_conv_layer_name`` form a chain (each takes the previous
            one's output), as in Xception and the course's classifiers.
        image_batch: float32 array ``(1, height, width, channels)``.
        last_conv_layer_name: str, the layer whose output ``A`` is explained.
        classifier_layer_names: sequence of str, the layers from ``A`` to
            the output, in order (``["avg_pool", "dropout", "predictions"]``
            for the course's ``xception_like``).
        class_index: int, the class to explain; ``None`` for the top class.

    Returns:
        float32 array ``(h, w)``, the layer's grid, values in [0, 1].

    Raises:
        ValueError: for an unknown layer name (Keras' own message).
    """
    last_conv_layer = model.get_layer(last_conv_layer_name)
    last_conv_layer_model = keras.Model(model.inputs[0], last_conv_layer.output)
    classifier_input = keras.Input(shape=last_conv_layer.output.shape[1:])
    x = classifier_input
    for layer_name in classifier_layer_names:
        x = model.get_layer(layer_name)(x)
    classifier_model = keras.Model(classifier_input, x)

    with tf.GradientTape() as tape:
        last_conv_layer_output = last_conv_layer_model(image_batch)  # A: (1, h, w, k)
        tape.watch(last_conv_layer_output)  # a tensor, not a variable: watch it
        predictions = classifier_model(last_conv_layer_output)  # (1, classes)
        if class_index is None:
            class_index = int(tf.argmax(predictions[0]))
        class_score = predictions[:, class_index]
    gradients = tape.gradient(class_score, last_conv_layer_output)  # (1, h, w, k)

    channel_weights = np.asarray(gradients).mean(axis=(0, 1, 2))  # (k,)
    cam = (np.asarray(last_conv_layer_output)[0] * channel_weights).mean(axis=-1)
    return normalize_maps(cam[None])[0]


def gradcam_heatmaps(
    model, images, last_conv_layer_name, class_index=None, *, score="output"
):
    """Grad-CAM of many images at once, each image on its own.

    Same formula as :func:`gradcam_heatmap`, with the channel weights
    averaged over each image's height and width only, so that
    ``gradcam_heatmaps(model, images, ...)[0][n]`` equals
    ``gradcam_heatmap(model, images[n:n + 1], ...)``.

    Args:
        images: float32 array ``(batch, height, width, channels)``.
        class_index: int, array of ``batch`` ints, or None (each image's top
            class).
        (the other arguments as in :func:`gradcam_heatmap`)

    Returns:
        float32 array ``(batch, h, w)`` in [0, 1], and the explained class
        indices, int32 ``(batch,)``.
    """
    cams, indices = _weighted_channel_means(
        model, images, last_conv_layer_name, class_index, score=score
    )
    return normalize_maps(cams), indices


def gradcam(model, images, class_index=None, *, layer_name, score="logit"):
    """Grad-CAM as an attribution method, raw: the signed weighted channel mean.

    Formula: ``alpha_k = mean_ij(d y_c / d A_kij)``; ``L = mean_k(alpha_k A_k)``.
    :func:`convviz_ref.attribution.explain` keeps the positive part and
    divides by the maximum, which gives exactly :func:`gradcam_heatmaps`.

    Cost: one forward and one backward pass per image.

    Args:
        model: a Functional classifier (see
            :func:`convviz_ref.scoring.score_model`).
        images: float32 ``(batch, height, width, channels)`` in the model's
            input range.
        class_index: int, ``batch`` ints, or None (each image's top class).
        layer_name: str, a layer with a spatial output.
        score: ``"logit"`` or ``"output"``.

    Returns:
        float32 ``(batch, h, w)``, the layer's grid.
    """
    return _weighted_channel_means(model, images, layer_name, class_index, score=score)[
        0
    ]


def _weighted_channel_means(model, images, layer_name, class_index, *, score):
    """``mean_k(alpha_k A_k)`` per image, signed, and the explained classes."""
    feature_maps, gradients, indices = feature_maps_and_gradients(
        model, images, layer_name, class_index, score=score
    )
    # (batch, 1, 1, channels)
    channel_weights = gradients.mean(axis=(1, 2), keepdims=True)
    cams = (feature_maps * channel_weights).mean(axis=-1)  # (batch, h, w)
    return cams, indices


def output_heatmap_from_logit_maps(logit_maps, probabilities, class_index):
    """The output score's Grad-CAM heatmap, from the logits' maps: no gradient taken.

    The softmax output's gradient is a mixture of the logits' gradients,
    ``d p_c / d A = sum_j (delta_jc - p_c) p_j d z_j / d A``, and Grad-CAM's
    signed map ``mean_k(alpha_k A_k)`` is linear in the gradient, so the
    output's signed map is the same mixture of the logits' signed maps.
    TensorFlow computes the coefficients from the float32 probabilities: once
    ``p_c`` rounds to one, the own term ``(1 - p_c) p_c`` is exactly zero and
    the map is ``-sum_{j != c} p_j L_j``, the evidence against the runners-up;
    once every other ``p_j`` rounds to zero too, the map is all zeros. A single
    sigmoid unit is the case of one class: the coefficient is ``(1 - p) p``.

    Formula: ``raw = sum_j (delta_jc - p_c) p_j L_j``;
    ``heatmap = relu(raw) / max(relu(raw))`` (all zeros when nothing is
    positive).

    Args:
        logit_maps: float array ``(num_classes, h, w)``, the signed Grad-CAM
            map ``L_j = mean_k(alpha_k A_k)`` of each class's logit (see
            :func:`gradcam`, ``score="logit"``).
        probabilities: float array ``(num_classes,)``, the model's output
            for the image, as the model computed it (float32).
        class_index: int, the class ``c`` whose output is explained.

    Returns:
        float32 array ``(h, w)`` in [0, 1]: what :func:`gradcam_heatmap` gives
        with ``score="output"`` (to float32 round-off).

    Raises:
        ValueError: for shapes that do not match or ``class_index`` out of range.
    """
    logit_maps = np.asarray(logit_maps, dtype=np.float64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if (
        logit_maps.ndim != 3
        or probabilities.shape != logit_maps.shape[:1]
        or not 0 <= class_index < len(probabilities)
    ):
        raise ValueError(
            "expected logit_maps (num_classes, h, w), probabilities (num_classes,) "
            f"and 0 <= class_index < num_classes, got {logit_maps.shape}, "
            f"{probabilities.shape} and {class_index}"
        )
    p_c = probabilities[class_index]
    # d p_c / d z_j from the probabilities as they are (rounded), as TensorFlow.
    coefficients = -p_c * probabilities
    coefficients[class_index] = (1.0 - p_c) * p_c
    positive = np.maximum(np.tensordot(coefficients, logit_maps, axes=1), 0)  # (h, w)
    peak = positive.max()
    return (positive / peak if peak > 0 else positive).astype(np.float32)


def overlay(image, heatmap, alpha=0.4, cmap="jet"):
    """Superimpose a coloured heatmap on an image, as in the book.

    Formula: ``colored = 255 * cmap(uint8(255 * heatmap))`` resized to the
    image (bicubic, Keras' image utilities); ``x = alpha * colored + image``;
    the result is rescaled to 0..255 by its minimum and maximum (what
    ``keras.utils.array_to_img`` does) and cast to uint8.

    Args:
        image: array ``(height, width, 3)`` (or ``(1, height, width, 3)``), 0..255.
        heatmap: float array ``(h, w)`` in [0, 1].
        alpha: float, the weight of the heatmap.
        cmap: str, a name in ``matplotlib.colormaps``.

    Returns:
        uint8 array ``(height, width, 3)``.

    Raises:
        ValueError: for an unknown colormap or bad shapes.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 4 and image.shape[0] == 1:
        image = image[0]
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if image.ndim != 3 or heatmap.ndim != 2:
        raise ValueError(
            f"expected image (height, width, 3) and heatmap (h, w), got {image.shape} "
            f"and {heatmap.shape}"
        )
    if cmap not in matplotlib.colormaps:
        raise ValueError(f"unknown colormap {cmap!r}; see matplotlib.colormaps")
    colors = matplotlib.colormaps[cmap](np.arange(256))[:, :3]  # (256, 3) in [0, 1]
    indices = np.uint8(255 * np.clip(heatmap, 0, 1))
    colored = keras.utils.array_to_img(colors[indices] * 255.0, scale=False)
    colored = colored.resize(
        (image.shape[1], image.shape[0]), resample=3
    )  # 3 = bicubic
    superimposed = alpha * keras.utils.img_to_array(colored) + image
    superimposed -= superimposed.min()
    peak = superimposed.max()
    if peak > 0:
        superimposed /= peak  # dividing first keeps the maximum at exactly 255
        superimposed *= 255.0
    return superimposed.astype(np.uint8)


class GradcamPrediction(NamedTuple):
    """What :func:`gradcam_prediction` returns.

    Attributes:
        heatmap: float32 array ``(h, w)`` in [0, 1], the Grad-CAM map.
        layer_name: str, the layer whose feature maps were weighed.
        probabilities: float32 array ``(num_classes,)``, the model's output.
        top: int, the predicted class (the largest probability).
        explained: int, the class the heatmap explains.
    """

    heatmap: np.ndarray
    layer_name: str
    probabilities: np.ndarray
    top: int
    explained: int


def gradcam_prediction(
    model, image_batch, layer_name=None, class_index=None, *, score="output"
):
    """Classify one image and explain one class with Grad-CAM.

    Args:
        model: a classifier, output ``(batch, num_classes)``.
        image_batch: float32 array ``(1, height, width, 3)`` in the model's
            input range.
        layer_name: str; None for the last layer with a spatial output
            (:func:`convviz_ref.scoring.find_last_conv_layer`).
        class_index: int, the class to explain; None for the predicted one.
        score: ``"output"`` or ``"logit"``, as in
            :func:`gradcam_heatmap`.

    Returns:
        :class:`GradcamPrediction`.

    Raises:
        ValueError: for an unknown layer or one without a spatial output, a
            model with no conv layer, or ``class_index`` out of range.
    """
    if layer_name is None:
        layer_name = find_last_conv_layer(model)
    check_spatial_layer(
        model,
        layer_name,
        spatial_layers(model),
        "layers with a spatial output",
    )
    heatmap = gradcam_heatmap(model, image_batch, layer_name, class_index, score=score)
    probabilities = np.asarray(model(image_batch, training=False))[0]
    top = int(np.argmax(probabilities))
    explained = top if class_index is None else class_index
    return GradcamPrediction(heatmap, layer_name, probabilities, top, explained)
