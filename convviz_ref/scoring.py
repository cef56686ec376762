"""What every attribution method shares: class scores, batches, and models made once.

An attribution method explains the score ``y_c`` of class ``c`` for each
image. This module holds the steps the methods have in common:

* which layers a CAM method can look at (:func:`spatial_layers`,
  :func:`find_last_conv_layer`, :func:`check_spatial_layer`);
* the model that returns the scores to explain, and the layer's feature maps
  (:func:`score_model`; ``score`` is ``"output"``, after softmax, or
  ``"logit"``, before it), kept once per model (:func:`derived`,
  :func:`cached_score_model`);
* the classes to explain (:func:`class_indices`, :func:`top_classes`);
* the passes themselves, in batches of :data:`BATCH_SIZE` and traced as a
  ``tf.function`` from :data:`TRACE_FROM` images on: scores without gradient
  (:func:`compiled`, :func:`all_class_scores`, :func:`class_scores`), input
  gradients (:func:`input_gradients`) and a layer's feature maps with their
  gradients (:func:`feature_maps_and_gradients`);
* a count of the images those passes see (:func:`counting_passes`), which the
  benchmark compares a method's time with.
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import threading

import keras
import numpy as np
import tensorflow as tf

from convviz_ref.methods import SCORES

BATCH_SIZE = 16
"""Images per pass when a call explains many images (or a method needs many passes)."""

TRACE_FROM = 48
"""Images (passes) from which a call traces its step as a ``tf.function``.

A traced step runs faster than an eager one but costs a trace, so smaller
calls stay eager. At 48 a traced step serves at least three batches of
:data:`BATCH_SIZE`. A step is traced once per model (:func:`derived`) and
reused by later large calls; calls below the threshold stay eager whatever
came before, so a call's numbers never depend on the calls made before it.
"""

DERIVED_CACHE_SIZE = 32
"""How many models (score models, guided copies, traced steps) :func:`derived` keeps."""


# ----------------------------------------------------------------------------------
# Layers


def spatial_layers(model):
    """Names of the layers Grad-CAM can look at.

    Those with a 4-D output, past the input and its ``Rescaling``.
    """
    skip = (keras.layers.InputLayer, keras.layers.Rescaling)
    return [
        layer.name
        for layer in model.layers
        if not isinstance(layer, skip) and len(getattr(layer.output, "shape", ())) == 4
    ]


def find_last_conv_layer(model):
    """Name of the last layer with a spatial (4-D) output: where Grad-CAM looks.

    That is the last convolution or the activation right after it, before
    global pooling or flattening (``last_conv_act`` in our Xception-like
    model, ``block14_sepconv2_act`` in Keras' Xception).

    Raises:
        ValueError: if the model is not built or has no layer with a 4-D output.
    """
    _check_built(model)
    names = spatial_layers(model)
    if not names:
        raise ValueError(
            f"model {model.name!r} has no conv layer (no layer with a 4-D output)"
        )
    return names[-1]


def check_spatial_layer(model, layer_name, candidates, kind):
    """A ValueError if ``layer_name`` exists but has no ``(batch, h, w, k)`` output.

    ``candidates`` (described as ``kind``, for example "layers with a
    spatial output") are listed in the message. An unknown name is left to
    the library function that follows, whose message lists the valid layers.
    """
    layers = {layer.name: layer for layer in model.layers}
    if layer_name in layers and len(layers[layer_name].output.shape) != 4:
        shape = tuple(layers[layer_name].output.shape)
        raise ValueError(
            f"layer {layer_name!r} of model {model.name!r} has no spatial output "
            f"(shape {shape}); {kind}: {', '.join(candidates)}"
        )


def _check_built(model):
    if not model.built:
        raise ValueError(
            f"model {model.name!r} is not built yet; "
            "call it on an input or build it first"
        )


# ----------------------------------------------------------------------------------
# The scores to explain


def _class_scores(model, score):
    """The symbolic class scores of ``model``: its output, or the last layer's logit."""
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}")
    if len(model.outputs[0].shape) != 2:
        raise ValueError(
            "expected a classifier with a (batch, classes) output; "
            f"model {model.name!r} outputs shape {model.outputs[0].shape}"
        )
    if score == "output":
        return model.outputs[0]
    last = model.layers[-1]
    if isinstance(last, (keras.layers.Activation, keras.layers.Softmax)):
        return last.input  # a separate activation layer: its input is the logit
    if not hasattr(last, "activation"):
        raise ValueError(
            "score='logit' needs a last layer with an activation; "
            f"{last.name!r} has none"
        )
    # A copy of the last layer with a linear activation and the same weights: the
    # caller's model is never changed, so two threads can explain one model with
    # different scores at once.
    head = type(last).from_config(
        {**last.get_config(), "activation": "linear", "name": f"{last.name}_logit"}
    )
    head.build(last.input.shape)
    head.set_weights(last.get_weights())
    return head(last.input)


def score_model(model, layer_name=None, *, score="output"):
    """A new model, built from ``model``'s layers, that returns the class scores.

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
    _check_built(model)
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
            f"layer {layer_name!r} has no spatial output "
            f"(shape {layer.output.shape}); "
            f"choose one of: {', '.join(spatial_layers(model))}"
        )
    return keras.Model(model.inputs[0], [layer.output, scores])


# (id(owner), *key) -> (owner, value), least recently used first
_derived = collections.OrderedDict()
_derived_lock = threading.RLock()


def derived(owner, key, build):
    """``build()``, made once for ``owner`` (a model) and ``key`` (a tuple), then kept.

    The attribution methods derive the same things from a model again and
    again: a score model, a guided copy, a traced ``tf.function``. The
    :data:`DERIVED_CACHE_SIZE` most recently used are kept. An entry holds
    its owner, so it is found again only for that very object (by identity,
    never by name), and a traced step reads the variables when it runs, so it
    stays right when the weights change; the copies that hold weights of
    their own are brought up to date by their callers
    (:func:`cached_score_model`,
    :func:`convviz_ref.attribution.cached_guided_model`). Thread-safe: two
    threads asking at once get one value.
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


def batch_signature(model):
    """The ``tf.TensorSpec`` of a batch of ``model``'s images, any batch size.

    A step traced with it traces once, whatever the batch sizes.
    """
    return tf.TensorSpec((None,) + tuple(model.inputs[0].shape[1:]), tf.float32)


def traced_step(model, name, step):
    """``step(images, labels)`` as a ``tf.function``, traced once per model and name.

    ``images`` is a batch of ``model``'s images (any batch size, see
    :func:`batch_signature`) and ``labels`` int32 ``(batch,)``; the traced
    function is kept by :func:`derived`.
    """
    return derived(
        model,
        (name,),
        lambda: tf.function(
            step,
            input_signature=[batch_signature(model), tf.TensorSpec((None,), tf.int32)],
        ),
    )


# ----------------------------------------------------------------------------------
# Images and classes


def check_images(images):
    """``images`` as float32 ``(batch, height, width, channels)``, or a ValueError."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(
            "expected images of shape (batch, height, width, channels), "
            f"got {images.shape}"
        )
    return images


def class_indices(predictions, class_index):
    """The class to explain for each image: int32 ``(batch,)``.

    ``predictions`` is ``(batch, classes)``. ``class_index`` None takes each
    row's top class; an int or an array of ``batch`` ints is checked against
    the number of classes.

    Raises:
        ValueError: for a class out of range or an array of the wrong length.
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


def top_classes(model, images, class_index=None, *, batch_size=BATCH_SIZE):
    """The class each image is explained for: int32 ``(batch,)``.

    ``class_index`` None takes each image's top class (one forward pass); an
    int or ``batch`` ints are checked against the number of classes.
    """
    images = check_images(images)
    if class_index is not None:
        num_classes = model.outputs[0].shape[-1]
        return class_indices(
            np.zeros((len(images), num_classes), np.float32), class_index
        )
    forward = compiled(model, len(images))
    predictions = np.concatenate(
        [
            np.asarray(forward(tf.constant(images[start : start + batch_size])))
            for start in range(0, len(images), batch_size)
        ]
    )
    return class_indices(predictions, None)


# ----------------------------------------------------------------------------------
# The passes


class PassCount:
    """What :func:`counting_passes` counts.

    Attributes:
        images: int, the images passed through a model by
            :func:`all_class_scores` and :func:`input_gradients`.
        backward: bool, whether any of them was also differentiated.
    """

    def __init__(self):
        self.images = 0
        self.backward = False


_pass_count = contextvars.ContextVar("pass_count", default=None)


@contextlib.contextmanager
def counting_passes():
    """Count the images the passes of this module see inside the block.

    Yields a :class:`PassCount` (in this thread or task only).
    """
    count = PassCount()
    token = _pass_count.set(count)
    try:
        yield count
    finally:
        _pass_count.reset(token)


def _counted(num_images, *, backward):
    count = _pass_count.get()
    if count is not None:
        count.images += num_images
        count.backward = count.backward or backward


def compiled(scorer, num_images=None):
    """``scorer`` on a batch (``training=False``), traced for large workloads.

    It is traced as a ``tf.function`` when ``num_images`` (the number of
    images the caller will pass through it) is None or at least
    :data:`TRACE_FROM`, once per ``scorer`` whatever the batch sizes (see
    :func:`derived`); smaller workloads run eagerly.
    """
    if num_images is not None and num_images < TRACE_FROM:
        return lambda batch: scorer(batch, training=False)
    return derived(
        scorer,
        ("compiled",),
        lambda: tf.function(
            lambda batch: scorer(batch, training=False),
            input_signature=[batch_signature(scorer)],
        ),
    )


def all_class_scores(forward, images, *, batch_size=BATCH_SIZE):
    """Every class's score for each image: float32 ``(batch, classes)``, no gradient.

    ``forward`` maps a batch of images to ``(batch, classes)`` scores: a
    :func:`score_model`, or :func:`compiled` of one; it gets ``batch_size``
    images at a time.
    """
    images = np.asarray(images, dtype=np.float32)
    _counted(len(images), backward=False)
    return np.concatenate(
        [
            np.asarray(forward(tf.constant(images[start : start + batch_size])))
            for start in range(0, len(images), batch_size)
        ]
    ).astype(np.float32)


def class_scores(forward, images, classes, *, batch_size=BATCH_SIZE):
    """The score of class ``classes[n]`` for image ``n``: float32 ``(batch,)``.

    ``forward`` and ``batch_size`` as in :func:`all_class_scores`.
    """
    scores = all_class_scores(forward, images, batch_size=batch_size)
    return scores[np.arange(len(scores)), np.asarray(classes, np.int64)]


def input_gradients(scorer, images, classes, *, batch_size=BATCH_SIZE):
    """``d y_c / d x`` for each image ``x`` and its class ``c``.

    ``scorer`` is a :func:`score_model` without a layer; one forward and one
    backward pass per image, ``batch_size`` images at a time (from
    :data:`TRACE_FROM` images, by one ``tf.function`` traced once per
    ``scorer``).

    Returns:
        float32 ``(batch, height, width, channels)``.
    """

    def step(inputs, labels):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(inputs)
            scores = tf.gather(
                scorer(inputs, training=False), labels, axis=1, batch_dims=1
            )
        return tape.gradient(scores, inputs)

    if len(images) >= TRACE_FROM:  # see compiled(): tracing pays for large workloads
        step = traced_step(scorer, "input_gradients", step)
    _counted(len(images), backward=True)
    classes = np.asarray(classes, np.int32)
    return np.concatenate(
        [
            np.asarray(
                step(
                    tf.constant(images[start : start + batch_size]),
                    tf.constant(classes[start : start + batch_size]),
                )
            )
            for start in range(0, len(images), batch_size)
        ]
    )


def feature_maps_and_gradients(
    model,
    images,
    layer_name,
    class_index=None,
    *,
    score="output",
    batch_size=BATCH_SIZE,
):
    """A layer's feature maps and the class score's gradient: every CAM method's step.

    Formula: ``A = layer(x)``, ``y_c = score(x)[c]``, ``G = d y_c / d A``,
    for each image and its own class ``c``: one forward and one backward
    pass (from :data:`TRACE_FROM` images on, ``batch_size`` images at a
    time).

    Args:
        model, layer_name, score: as in :func:`score_model`.
        images: float32 array ``(batch, height, width, channels)``.
        class_index: int, array of ``batch`` ints, or None (each image's top
            class).

    Returns:
        ``(A, G, classes)``: float32 ``(batch, h, w, k)`` twice and int32
        ``(batch,)``.
    """
    images = check_images(images)
    grad_model = cached_score_model(model, layer_name, score=score)
    num_classes = grad_model.outputs[1].shape[-1]
    wanted = (
        np.full(len(images), -1, np.int32)  # -1: the image's top class
        if class_index is None
        else class_indices(
            np.zeros((len(images), num_classes), np.float32), class_index
        )
    )

    def step(inputs, labels):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            # Records the forward pass; only the head is differentiated.
            tape.watch(inputs)
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
    step = traced_step(grad_model, "feature_maps_and_gradients", step)
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
