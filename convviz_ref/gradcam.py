"""Grad-CAM: which parts of the image made the model choose a class.

Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via
Gradient-based Localization" (ICCV 2017). Weigh each channel of the last
convolutional feature map by how much the class score rises with it, and
keep the positive part of the weighted mean.

Formula, for feature maps ``A_k`` (channel ``k``) and class score ``y_c``:
``alpha_k = mean_{n,i,j}(d y_c / d A_k[n, i, j])``,
``L = relu(mean_k(alpha_k * A_k[0]))``, ``heatmap = L / max(L)``.

Example:

>>> from convviz_ref.models import build_xception_like
>>> import numpy as np
>>> model = build_xception_like(image_size=64)
>>> find_last_conv_layer(model)
'last_conv_act'
>>> heatmap = gradcam_heatmap(model, np.zeros((1, 64, 64, 3), "float32"), "last_conv_act")
>>> heatmap.shape, heatmap.dtype  # the layer's 4x4 grid
((4, 4), dtype('float32'))
"""

from __future__ import annotations

import collections
import threading

import keras
import matplotlib
import numpy as np
import tensorflow as tf

SCORES = ("output", "logit")


def find_last_conv_layer(model):
    """Name of the last layer with a spatial (4-D) output: where Grad-CAM looks.

    That is the last convolution or the activation right after it, before
    global pooling or flattening (``last_conv_act`` in our Xception-like
    model, ``block14_sepconv2_act`` in Keras' Xception).

    Raises:
        ValueError: if the model has no layer with a 4-D output.
    """
    if not model.built:
        raise ValueError(
            f"model {model.name!r} is not built yet; call it on an input or build it first"
        )
    names = spatial_layers(model)
    if not names:
        raise ValueError(
            f"model {model.name!r} has no conv layer (no layer with a 4-D output)"
        )
    return names[-1]


def spatial_layers(model):
    """Names of the layers Grad-CAM can look at: a 4-D output, past the input and its ``Rescaling``."""
    skip = (keras.layers.InputLayer, keras.layers.Rescaling)
    return [
        layer.name
        for layer in model.layers
        if not isinstance(layer, skip) and len(getattr(layer.output, "shape", ())) == 4
    ]


def check_spatial_layer(model, layer_name, candidates, kind):
    """Raise a ValueError if ``layer_name`` exists but its output is not ``(batch, h, w, channels)``.

    ``candidates`` (described as ``kind``, for example "layers with a
    spatial output") are listed in the message. An unknown name is left to
    the library function that follows, whose message lists the valid layers.
    """
    layers = {layer.name: layer for layer in model.layers}
    if layer_name in layers and len(layers[layer_name].output.shape) != 4:
        raise ValueError(
            f"layer {layer_name!r} of model {model.name!r} has no spatial output "
            f"(shape {tuple(layers[layer_name].output.shape)}); {kind}: {', '.join(candidates)}"
        )


def _class_scores(model, score):
    """The symbolic class scores of ``model``: its output, or the last layer's pre-activation."""
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}")
    if len(model.outputs[0].shape) != 2:
        raise ValueError(
            f"expected a classifier with a (batch, classes) output; model {model.name!r} "
            f"outputs shape {model.outputs[0].shape}"
        )
    if score == "output":
        return model.outputs[0]
    last = model.layers[-1]
    if isinstance(last, (keras.layers.Activation, keras.layers.Softmax)):
        return last.input  # a separate activation layer: its input is the logit
    if not hasattr(last, "activation"):
        raise ValueError(
            f"score='logit' needs a last layer with an activation; {last.name!r} has none"
        )
    # A copy of the last layer with a linear activation and the same weights: the caller's model is
    # never changed, so two threads can explain one model with different scores at once.
    head = type(last).from_config(
        {**last.get_config(), "activation": "linear", "name": f"{last.name}_logit"}
    )
    head.build(last.input.shape)
    head.set_weights(last.get_weights())
    return head(last.input)


def score_model(model, layer_name=None, *, score="output"):
    """A new model, built from ``model``'s layers, that returns the class scores to explain.

    Args:
        model: a built Functional ``keras.Model`` with one input and a
            ``(batch, classes)`` output.
        layer_name: str or None. When given, the new model also returns that
            layer's output (see :func:`spatial_layers`).
        score: ``"output"`` (the model's output, after softmax) or
            ``"logit"`` (the last layer's pre-activation score, computed by a
            linear copy of that layer with the same weights; ``model`` itself
            is never changed).

    Returns:
        ``keras.Model``: images ``(batch, height, width, channels)`` to
        ``[feature_maps (batch, h, w, k), scores (batch, classes)]``, or to
        ``scores`` alone when ``layer_name`` is None.

    Raises:
        ValueError: for an unknown or non-spatial layer (the message lists
            the candidates), a bad ``score``, or a model that is no classifier.
    """
    if not model.built:
        raise ValueError(
            f"model {model.name!r} is not built yet; call it on an input or build it first"
        )
    scores = _class_scores(model, score)
    if layer_name is None:
        return keras.Model(model.inputs[0], scores)
    try:
        layer = model.get_layer(layer_name)
    except ValueError:
        raise ValueError(
            f"no layer named {layer_name!r} in model {model.name!r}; "
            f"layers with a spatial output: {', '.join(spatial_layers(model))}"
        ) from None
    if len(layer.output.shape) != 4:
        raise ValueError(
            f"layer {layer_name!r} has no spatial output (shape {layer.output.shape}); "
            f"choose one of: {', '.join(spatial_layers(model))}"
        )
    return keras.Model(model.inputs[0], [layer.output, scores])


DERIVED_CACHE_SIZE = 32
"""How many models (score models, guided copies, traced steps) :func:`derived` keeps."""

_derived = (
    collections.OrderedDict()
)  # (id(owner), *key) -> (owner, value), least recently used first
_derived_lock = threading.RLock()


def derived(owner, key, build):
    """``build()``, made once for ``owner`` (a model) and ``key`` (a tuple) and kept for the next call.

    The attribution methods derive the same things from a model again and
    again: a score model, a guided copy, a traced ``tf.function``. Each
    costs 0.1-1 s to build and trace on the course's CPUs, more than the
    work itself on a few images, and a leaderboard asks for them hundreds of
    times. The :data:`DERIVED_CACHE_SIZE` most recently used are kept. An
    entry holds its owner, so it is found again only for that very object
    (by identity, never by name), and a traced step reads the variables
    when it runs, so it stays right when the weights change; the copies that
    hold weights of their own are brought up to date by their callers
    (:func:`cached_score_model`, :func:`convviz_ref.attribution.cached_guided_model`).
    Thread-safe: two threads asking at once get one value.
    """
    slot = (id(owner), *key)
    with _derived_lock:
        entry = _derived.get(slot)
        if entry is not None and entry[0] is owner:
            _derived.move_to_end(slot)
            return entry[1]
        value = build()
        _derived[slot] = (owner, value)
        while len(_derived) > DERIVED_CACHE_SIZE:
            _derived.popitem(last=False)
        return value


def cached_score_model(model, layer_name=None, *, score="output"):
    """:func:`score_model`, built once per model, layer and score (see :func:`derived`).

    The logit head is a copy of the last layer, so its weights are copied
    again from ``model`` on every call: a model whose weights changed (the
    cascading randomization) is explained with its new weights.
    """
    scorer = derived(
        model,
        ("score_model", layer_name, score),
        lambda: score_model(model, layer_name, score=score),
    )
    if score == "logit":
        last = model.layers[-1]
        head = {layer.name: layer for layer in scorer.layers}.get(f"{last.name}_logit")
        if head is not None:
            for copy, original in zip(head.weights, last.weights):
                copy.assign(original.value)
    return scorer


def class_indices(predictions, class_index):
    """The class to explain for each image: int32 ``(batch,)``.

    ``class_index`` None takes each row's top class; an int or an array of
    ``batch`` ints is checked against the number of classes.
    """
    num_classes = predictions.shape[-1]
    if class_index is None:
        return np.asarray(tf.argmax(predictions, axis=-1, output_type=tf.int32))
    wanted = np.asarray(class_index)
    if not np.issubdtype(wanted.dtype, np.integer) or np.any(
        (wanted < 0) | (wanted >= num_classes)
    ):
        raise ValueError(
            f"class_index {class_index} is out of range: the model has "
            f"{num_classes} output(s) (0..{num_classes - 1})"
        )
    try:
        return np.broadcast_to(wanted, (len(predictions),)).astype(np.int32)
    except ValueError:
        raise ValueError(
            f"class_index must be one int or one per image ({len(predictions)}), "
            f"got shape {wanted.shape}"
        ) from None


def check_images(images):
    """``images`` as float32 ``(batch, height, width, channels)``, or a one-line ValueError."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(
            f"expected images of shape (batch, height, width, channels), got {images.shape}"
        )
    return images


BATCH_SIZE = 16
"""Images per pass when a call explains many images (or a method needs many passes).

On the course's 2-core CPUs a traced pass of 16 images costs less per image
than one of 64 (measured on the Xception-like model: 6-7 ms against 11 ms
forward, 19 ms against 25 ms forward and backward)."""

TRACE_FROM = 48
"""Images (passes) from which a many-image call traces its step as a ``tf.function``.

Traced, a pass runs 2-2.5x faster on the course's CPUs than eagerly, but
tracing costs 0.4 s (forward) to 1 s (forward and backward) on the
Xception-like model: it pays from about 40 images. At 48, a traced function
serves at least three batches of :data:`BATCH_SIZE`, so that TensorFlow never sees it traced
in half of its recent calls (which it would report on stderr as "retracing").
A step is traced once per model (:func:`derived`): later large calls on the
same model reuse it. Calls below the threshold stay eager, whatever came
before, so a call's numbers never depend on the calls made before it.
"""


def batch_signature(model):
    """The ``tf.TensorSpec`` of a batch of ``model``'s images, any batch size: a step traced with it traces once."""
    return tf.TensorSpec((None,) + tuple(model.inputs[0].shape[1:]), tf.float32)


def feature_maps_and_gradients(
    model,
    images,
    layer_name,
    class_index=None,
    *,
    score="output",
    batch_size=BATCH_SIZE,
):
    """The step every CAM method shares: a layer's feature maps and the class score's gradient.

    Formula: ``A = layer(x)``, ``y_c = score(x)[c]``, ``G = d y_c / d A``,
    for each image and its own class ``c``, in one forward and one backward
    pass over the batch (from :data:`TRACE_FROM` images: the same step,
    traced, ``batch_size`` images at a time).

    Args:
        model, layer_name, score: as in :func:`score_model`.
        images: float32 array ``(batch, height, width, channels)``.
        class_index: int, array of ``batch`` ints, or None (each image's top class).

    Returns:
        ``(A, G, classes)``: float32 ``(batch, h, w, k)`` twice and int32 ``(batch,)``.
    """
    images = check_images(images)
    grad_model = cached_score_model(model, layer_name, score=score)
    num_classes = grad_model.outputs[1].shape[-1]
    wanted = (
        np.full(len(images), -1, np.int32)
        if class_index is None
        else class_indices(
            np.zeros((len(images), num_classes), np.float32), class_index
        )
    )  # -1: the image's top class

    def step(inputs, labels):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(
                inputs
            )  # records the forward pass; only the head is differentiated
            feature_maps, predictions = grad_model(inputs, training=False)
            labels = tf.where(
                labels < 0,
                tf.argmax(predictions, axis=-1, output_type=tf.int32),
                labels,
            )
            class_scores = tf.gather(predictions, labels, axis=1, batch_dims=1)
        return feature_maps, tape.gradient(class_scores, feature_maps), labels

    if len(images) < TRACE_FROM:
        feature_maps, gradients, labels = step(tf.constant(images), tf.constant(wanted))
        return feature_maps.numpy(), gradients.numpy(), labels.numpy()
    step = derived(
        grad_model,
        ("feature_maps_and_gradients",),
        lambda: tf.function(
            step,
            input_signature=[
                batch_signature(grad_model),
                tf.TensorSpec((None,), tf.int32),
            ],
        ),
    )
    parts = [
        step(
            tf.constant(images[start : start + batch_size]),
            tf.constant(wanted[start : start + batch_size]),
        )
        for start in range(0, len(images), batch_size)
    ]
    return tuple(
        np.concatenate([np.asarray(part[n]) for part in parts]) for n in range(3)
    )


def _normalize(cam):
    """ReLU, then divide by the maximum; an all-zero map stays zero (never NaN)."""
    cam = np.maximum(cam, 0)
    peak = cam.max()
    return (cam / peak if peak > 0 else cam).astype(np.float32)


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
        last_conv_layer_name: str, see :func:`find_last_conv_layer`.
        class_index: int, the class to explain; ``None`` for the top class.
        score: ``"output"`` (the book: the model's output for the class,
            after softmax) or ``"logit"`` (the pre-activation score, as in
            the Grad-CAM paper; saturated softmax outputs give tiny, noisy
            gradients).

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
    return _normalize(cam)


def gradcam_heatmaps(
    model, images, last_conv_layer_name, class_index=None, *, score="output"
):
    """Grad-CAM of many images at once, each image on its own.

    Same formula as :func:`gradcam_heatmap`, with the channel weights
    averaged over each image's height and width only, so that
    ``gradcam_heatmaps(model, images, ...)[n]`` equals
    ``gradcam_heatmap(model, images[n:n + 1], ...)``.

    Args:
        images: float32 array ``(batch, height, width, channels)``.
        class_index: int, array of ``batch`` ints, or None (each image's top class).
        (the other arguments as in :func:`gradcam_heatmap`)

    Returns:
        float32 array ``(batch, h, w)`` in [0, 1], and the explained class
        indices, int32 ``(batch,)``.
    """
    feature_maps, gradients, indices = feature_maps_and_gradients(
        model, images, last_conv_layer_name, class_index, score=score
    )
    channel_weights = gradients.mean(
        axis=(1, 2), keepdims=True
    )  # (batch, 1, 1, channels)
    cams = (feature_maps * channel_weights).mean(axis=-1)  # (batch, h, w)
    return np.stack([_normalize(cam) for cam in cams]), indices


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
