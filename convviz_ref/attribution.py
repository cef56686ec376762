"""Attribution methods: every explanation of the course behind one call.

An attribution method answers "which parts of this image made the model
score class ``c``?". The course's methods come in three families:

* **CAM methods** weigh the channels ``A_k`` of a convolutional layer and
  give a map at that layer's grid: Grad-CAM (:func:`convviz_ref.gradcam.gradcam`),
  Grad-CAM++, Score-CAM, Layer-CAM;
* **pixel methods** differentiate the score with respect to the input
  pixels and give a map at the image's size: gradient saliency, SmoothGrad,
  Integrated Gradients, Guided Backpropagation;
* **perturbation**: occlusion changes the image and watches the score.

Each method is a public function that returns its raw attributions
(signed, where the method has a sign). :func:`explain` calls any of them by
name and turns the result into a map in [0, 1]. The registry
:data:`convviz_ref.methods.METHODS` is the one list of the methods: the
CLI, the leaderboard, the shortcut check and the benchmark read it.

Every method explains the ``score`` of class ``c``: ``"logit"`` (the
pre-softmax score, as in the Grad-CAM paper; the default here) or
``"output"`` (the softmax output, as in the book). Neither changes the
caller's model (see :func:`convviz_ref.scoring.score_model`).

Example:

>>> import numpy as np
>>> from convviz_ref.models import build_xception_like
>>> model = build_xception_like(image_size=64)
>>> images = np.zeros((2, 64, 64, 3), "float32")
>>> maps, classes = explain(model, images, "gradcam", layer_name="last_conv_act")
>>> maps.shape, classes.shape  # the layer's 4x4 grid
((2, 4, 4), (2,))
>>> explain(model, images, "saliency")[0].shape  # the image's size
(2, 64, 64)
"""

from __future__ import annotations

import inspect
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from convviz_ref import filters
from convviz_ref import maps as map_utilities
from convviz_ref.methods import METHODS, get_method, method_function
from convviz_ref.scoring import (
    BATCH_SIZE,
    all_class_scores,
    cached_score_model,
    check_images,
    check_spatial_layer,
    class_indices,
    class_scores,
    compiled,
    derived,
    feature_maps_and_gradients,
    find_last_conv_layer,
    input_gradients,
    spatial_layers,
    top_classes,
)

# ----------------------------------------------------------------------------------
# Shared steps of the perturbation methods


def first_occurrences(images):
    """Where each distinct image first appears: ``(firsts, first_of)``.

    ``firsts`` lists the index of each distinct image's first occurrence, in
    order; ``first_of[n]`` is the index of image ``n``'s first occurrence.
    The perturbation methods use it to mask or occlude an image given twice
    (explained for two of its classes) only once.
    """
    seen, first_of = {}, []
    for n, image in enumerate(images):
        first_of.append(seen.setdefault(np.ascontiguousarray(image).tobytes(), n))
    return sorted(set(first_of)), first_of


def layer_channels(model, layer_name):
    """The number of channels of a layer's output (its last axis)."""
    return int(model.get_layer(layer_name).output.shape[-1])


# ----------------------------------------------------------------------------------
# The CAM family: channel weights for the feature maps A of one layer


def gradcam_plus_plus(model, images, class_index=None, *, layer_name, score="logit"):
    """Grad-CAM++ (Chattopadhyay et al., WACV 2018), raw.

    Positive gradients, each weighted by its own position's coefficient.

    With the exponential score ``S = exp(y_c)``, every higher derivative is a
    power of the first one, ``g = d y_c / d A``, which gives the closed form:
    ``a_kij = g_kij^2 / (2 g_kij^2 + sum_ab(A_kab) g_kij^3)`` (0 where the
    denominator is 0); ``w_k = sum_ij(a_kij relu(g_kij))``;
    ``L = sum_k(w_k A_k)``. The factor ``exp(y_c)`` of ``dS / dA`` is the
    same for every channel of an image, so it is left out: it only rescales
    the map, and :func:`explain` divides by the maximum anyway.

    Cost: one forward and one backward pass per image. Arguments and shapes
    as in :func:`convviz_ref.gradcam.gradcam`.
    """
    feature_maps, gradients, _ = feature_maps_and_gradients(
        model, images, layer_name, class_index, score=score
    )
    squared = gradients**2
    denominator = (
        2 * squared + feature_maps.sum(axis=(1, 2), keepdims=True) * gradients**3
    )
    alphas = np.divide(
        squared, denominator, out=np.zeros_like(squared), where=denominator != 0
    )
    weights = (alphas * np.maximum(gradients, 0)).sum(
        axis=(1, 2), keepdims=True
    )  # (batch, 1, 1, k)
    return (feature_maps * weights).sum(axis=-1)


def layer_cam(model, images, class_index=None, *, layer_name, score="logit"):
    """Layer-CAM (Jiang et al., IEEE TIP 2021), raw.

    Each position weighted by its own positive gradient.

    Formula: ``L = sum_k(relu(d y_c / d A_k) * A_k)``, element-wise, so the
    weights vary over the grid instead of one weight per channel (Jiang et
    al., section III). The paper's point is to use shallower layers too, and
    to fuse their maps (scaled by ``tanh``); here it runs on one layer, the
    layer given. Behind ``GlobalAveragePooling2D`` and ``Dense`` the gradient
    is the same at every cell, ``w_kc / (h w)``, so there it is CAM with the
    channels of negative weight dropped.

    Cost: one forward and one backward pass per image. Arguments and shapes
    as in :func:`convviz_ref.gradcam.gradcam`.
    """
    feature_maps, gradients, _ = feature_maps_and_gradients(
        model, images, layer_name, class_index, score=score
    )
    return (np.maximum(gradients, 0) * feature_maps).sum(axis=-1)


def score_cam(
    model, images, class_index=None, *, layer_name, score="logit", batch_size=BATCH_SIZE
):
    """Score-CAM (Wang et al., CVPR Workshops 2020), raw.

    Channels weighted by the score of what they let through.

    Formula: each channel ``A_k``, upsampled to the image (bilinear) and
    min-max normalized to [0, 1], masks the input: ``x_k = x * M_k``;
    ``w = softmax_k(y_c(x_k))``; ``L = sum_k(w_k A_k)``. No gradient at all.
    As in the paper's Algorithm 1, with the logit score; the paper subtracts
    the baseline's score from each ``y_c(x_k)``, which a softmax over the
    channels does not see, and its final ReLU is :func:`explain`'s
    ``positive_part``.

    Cost: one forward pass per image, then one per channel of the layer
    (all of an image's masked inputs in passes of ``batch_size``), except
    that channels constant over the image (dead after a ReLU) all mask to
    the same black image, which is scored once (the paper's min-max scaling
    is undefined for them, and the authors' code skips them; a channel that
    is 0 everywhere adds nothing to the map whatever its weight). The masked
    inputs do not depend on the class, so an image given more than once (to
    explain several of its classes) is masked and scored once, for every
    class.
    Arguments and shapes as in :func:`convviz_ref.gradcam.gradcam`.
    """
    images = check_images(images)
    classes = top_classes(model, images, class_index)
    feature_model = cached_score_model(model, layer_name, score=score)
    firsts, first_of = first_occurrences(images)
    forward = compiled(
        cached_score_model(model, score=score),
        len(firsts) * layer_channels(model, layer_name),
    )
    all_maps = np.concatenate(
        [
            np.asarray(
                feature_model(images[start : start + batch_size], training=False)[0]
            )
            for start in range(0, len(images), batch_size)
        ]
    )  # (batch, h, w, k)
    # The first occurrence of an image -> which channels vary, and every class's
    # masked scores.
    cams, scored = [], {}
    for image, label, feature_maps, key in zip(images, classes, all_maps, first_of):
        # An image asked again for another class is not masked again.
        if key not in scored:
            masks = np.asarray(
                keras.ops.image.resize(
                    feature_maps, image.shape[:2], interpolation="bilinear"
                )
            )
            low, high = masks.min(axis=(0, 1)), masks.max(axis=(0, 1))
            # A constant channel masks everything: the black image, scored once below.
            varies = high > low
            # (H, W, k'), each in [0, 1]
            masks = (masks[..., varies] - low[varies]) / (high - low)[varies]
            masked = np.concatenate(
                [
                    image[None] * np.moveaxis(masks, -1, 0)[..., None],
                    np.zeros((1,) + image.shape, np.float32),
                ]
            )  # (k' + 1, H, W, channels)
            scored[key] = (
                varies,
                all_class_scores(forward, masked, batch_size=batch_size),
            )  # (k' + 1, classes)
        varies, masked_scores = scored[key]
        scores = np.full(feature_maps.shape[-1], masked_scores[-1, label], np.float32)
        scores[varies] = masked_scores[:-1, label]
        weights = np.exp(scores - scores.max())
        cams.append((feature_maps * (weights / weights.sum())).sum(axis=-1))
    return np.stack(cams).astype(np.float32)


# ----------------------------------------------------------------------------------
# The pixel family: gradients with respect to the input image


def saliency(model, images, class_index=None, *, score="logit", batch_size=BATCH_SIZE):
    """Gradient saliency (Simonyan et al., ICLR Workshops 2014), raw: input gradients.

    Formula: ``d y_c / d x``, signed. :func:`explain` takes
    ``max over channels of |d y_c / d x|``, the paper's map.

    Cost: one forward and one backward pass per image.

    Returns:
        float32 ``(batch, height, width, channels)``.
    """
    images = check_images(images)
    classes = top_classes(model, images, class_index)
    return input_gradients(
        cached_score_model(model, score=score), images, classes, batch_size=batch_size
    )


def smoothgrad(
    model,
    images,
    class_index=None,
    *,
    score="logit",
    samples=25,
    noise=0.15,
    seed=0,
    batch_size=BATCH_SIZE,
):
    """SmoothGrad (Smilkov et al., 2017), raw: input gradients of noisy copies, mean.

    Formula: ``mean over n = 1..samples of d y_c / d x (x + e_n)``, with
    ``e_n ~ Normal(0, sigma^2)`` per pixel and ``sigma = noise * (high - low)``,
    ``(low, high)`` the model's input range (:func:`convviz_ref.filters.input_range`);
    the paper found 10-20 % best. :func:`explain` maps it as :func:`saliency`.
    The paper's maps improve little beyond ``n = 50`` samples; the default
    here is 25, half the cost.

    Cost: ``samples`` forward and backward passes per image, batched.

    Args:
        samples: int, the number of noisy copies ``n``.
        noise: float, the noise level ``sigma / (high - low)``.
        seed: int, the seed of the noise.
        (the others as in :func:`saliency`)

    Returns:
        float32 ``(batch, height, width, channels)``.
    """
    images = check_images(images)
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    classes = top_classes(model, images, class_index)
    low, high = filters.input_range(model)
    rng = np.random.default_rng(seed)
    scorer = cached_score_model(model, score=score)
    noisy = images[:, None] + rng.normal(
        0.0, noise * (high - low), (len(images), samples) + images.shape[1:]
    )
    gradients = input_gradients(
        scorer,
        noisy.reshape((-1,) + images.shape[1:]).astype(np.float32),
        np.repeat(classes, samples),
        batch_size=batch_size,
    )
    return gradients.reshape((len(images), samples) + images.shape[1:]).mean(axis=1)


def _baseline_like(images, baseline):
    if baseline is None:
        return np.zeros_like(images)  # black, in 0..255 as in every model of the course
    baseline = np.asarray(baseline, dtype=np.float32)
    try:
        return np.broadcast_to(baseline, images.shape).astype(np.float32)
    except ValueError:
        raise ValueError(
            f"baseline of shape {baseline.shape} does not broadcast to the images' "
            f"{images.shape}"
        ) from None


PATH_IMAGES = 1024
"""At most this many points of Integrated Gradients' paths are held in memory at
once (110 MB at 96x96x3)."""


def path_gradients(
    scorer, baseline, difference, classes, times, *, batch_size=BATCH_SIZE
):
    """``d y_c / d x`` at the points ``x' + t (x - x')`` of each image's path.

    Returns float32 ``(batch, len(times), height, width, channels)``:
    ``len(times)`` forward and backward passes per image, a few images'
    paths at a time (at most :data:`PATH_IMAGES` points in memory).
    """
    times = np.asarray(times, dtype=np.float32)
    group = max(1, PATH_IMAGES // len(times))
    gradients = []
    for start in range(0, len(baseline), group):
        chunk = slice(start, start + group)
        path = (
            baseline[chunk, None]
            + times[None, :, None, None, None] * difference[chunk, None]
        )
        gradients.append(
            input_gradients(
                scorer,
                path.reshape((-1,) + baseline.shape[1:]),
                np.repeat(classes[chunk], len(times)),
                batch_size=batch_size,
            )
        )
    return np.concatenate(gradients).reshape(
        (len(baseline), len(times)) + baseline.shape[1:]
    )


def integrated_gradients(
    model,
    image_batch,
    class_index=None,
    baseline=None,
    steps=32,
    *,
    score="logit",
    tolerance=None,
    max_steps=256,
    batch_size=BATCH_SIZE,
):
    """Integrated Gradients (Sundararajan et al., ICML 2017), raw: per pixel, signed.

    Formula: ``IG(x) = (x - x') * integral_0^1 d y_c / d x (x' + t (x - x')) dt``,
    the integral by the trapezoid rule over ``steps`` intervals:
    ``(x - x') * sum_{s=0..steps} w_s g(x' + (s / steps)(x - x'))``, with
    ``w_0 = w_steps = 1 / (2 steps)`` and ``w_s = 1 / steps`` otherwise.
    Completeness: ``sum(IG(x)) = y_c(x) - y_c(x')`` up to the integration
    error, which :func:`completeness_gap` reports. :func:`explain` takes the
    absolute value of the sum over channels.

    The paper (section 5, equation 3) sums the gradients at the right ends
    ``s / m``, ``s = 1..m``, of the intervals. The trapezoid rule costs one
    more pass (the gradient at the baseline) and is exact for a gradient that
    changes linearly along the path, where the right sum is off by half the
    change of ``g`` over one interval.

    With ``tolerance``, each image whose completeness gap is above it gets
    twice the intervals, again and again up to ``max_steps``: Sundararajan et
    al.'s advice (section 5) to add steps until the attributions add up.
    Step doubling: ``T_2m = (T_m + M_m) / 2``, where ``T_m`` is the trapezoid
    rule's mean gradient over ``m`` intervals and ``M_m`` the mean gradient at
    their ``m`` midpoints, so no gradient is computed twice. :func:`explain`
    does this with a tolerance of 1 %.

    Cost: ``steps + 1`` forward and backward passes per image, batched; with
    ``tolerance``, ``m + 1`` for an image that ends at ``m`` intervals, plus 2
    forward passes for ``y_c(x) - y_c(x')``.

    Args:
        model: a Functional classifier.
        image_batch: float32 ``(batch, height, width, channels)``.
        class_index: int, ``batch`` ints, or None (each image's top class).
        baseline: the reference image ``x'``, broadcast to the images; None is black.
        steps: int, the number of intervals of the trapezoid rule (the first,
            with ``tolerance``).
        score, batch_size: as in :func:`saliency`.
        tolerance: float or None, the largest completeness gap to accept;
            None keeps ``steps``.
        max_steps: int, the most intervals an image gets with ``tolerance``
            (an image still above it at ``max_steps`` keeps its gap, which
            :func:`completeness_gap` shows).

    Returns:
        float32 ``(batch, height, width, channels)``.
    """
    images = check_images(image_batch)
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if tolerance is not None and not tolerance > 0:
        raise ValueError(
            f"tolerance must be a gap above 0 (0.01 is 1 %), got {tolerance}"
        )
    baseline = _baseline_like(images, baseline)
    classes = top_classes(model, images, class_index)
    scorer = cached_score_model(model, score=score)
    difference = images - baseline
    weights = np.full(steps + 1, 1.0 / steps, np.float32)
    weights[[0, -1]] /= 2
    gradients = path_gradients(
        scorer,
        baseline,
        difference,
        classes,
        np.linspace(0.0, 1.0, steps + 1),
        batch_size=batch_size,
    )
    mean_gradient = np.einsum(
        "s,bs...->b...", weights, gradients
    )  # (batch, height, width, channels)
    if tolerance is not None:
        change = score_change(model, images, baseline, classes, score=score)
        coarse, intervals = np.arange(len(images)), steps
        while len(coarse) and 2 * intervals <= max_steps:
            attributions = difference[coarse] * mean_gradient[coarse]
            totals = attributions.reshape(len(coarse), -1).sum(axis=1, dtype=np.float64)
            coarse = coarse[relative_gap(totals, change[coarse]) > tolerance]
            if len(coarse):
                midpoints = (np.arange(intervals) + 0.5) / intervals
                at_midpoints = path_gradients(
                    scorer,
                    baseline[coarse],
                    difference[coarse],
                    classes[coarse],
                    midpoints,
                    batch_size=batch_size,
                )
                mean_gradient[coarse] = (
                    mean_gradient[coarse] + at_midpoints.mean(axis=1)
                ) / 2
                intervals *= 2
    return (difference * mean_gradient).astype(np.float32)


def completeness_gap(
    model, images, attributions, class_index=None, baseline=None, *, score="logit"
):
    """How far Integrated Gradients is from completeness, per image: float ``(batch,)``.

    Formula: ``|sum(IG(x)) - (y_c(x) - y_c(x'))| / |y_c(x) - y_c(x')|``
    (the absolute gap where the score does not change along the path).
    """
    images = check_images(images)
    baseline = _baseline_like(images, baseline)
    classes = top_classes(model, images, class_index)
    change = score_change(model, images, baseline, classes, score=score)
    return relative_gap(
        np.asarray(attributions, dtype=np.float64).reshape(len(images), -1).sum(axis=1),
        change,
    )


def score_change(model, images, baseline, classes, *, score="logit"):
    """``y_c(x) - y_c(x')`` for each image and its class: float ``(batch,)``.

    What Integrated Gradients' attributions must add up to.
    """
    scorer = cached_score_model(model, score=score)
    return class_scores(scorer, images, classes) - class_scores(
        scorer, baseline, classes
    )


def relative_gap(total, change):
    """``|total - change| / |change|`` per image: float ``(batch,)``.

    The absolute gap ``|total - change|`` where ``change`` is 0.
    """
    gap = np.abs(np.asarray(total, dtype=np.float64) - change)
    return np.where(
        np.abs(change) > 0, gap / np.where(np.abs(change) > 0, np.abs(change), 1), gap
    )


def nested_steps(steps):
    """Numbers of steps that one path can serve, ascending.

    Raises:
        ValueError: unless each number is at least 1 and divides the largest.
    """
    steps = sorted({int(m) for m in steps})
    if not steps or steps[0] < 1:
        raise ValueError(f"steps must be numbers of at least 1, got {steps}")
    uneven = [m for m in steps if steps[-1] % m]
    if uneven:
        raise ValueError(
            f"every number of steps must divide the largest, {steps[-1]}; "
            f"{uneven} do not"
        )
    return steps


def completeness_by_steps(
    model,
    images,
    class_index=None,
    steps=(32, 64, 128, 256),
    baseline=None,
    *,
    score="logit",
    rule="trapezoid",
    batch_size=BATCH_SIZE,
):
    """Integrated Gradients' completeness gap at several numbers of steps, one path.

    For each ``m`` in ``steps``, what :func:`completeness_gap` reports for
    :func:`integrated_gradients` with ``steps=m``. Every ``m`` must divide the
    largest, ``M``: then the nodes ``s / m`` of each trapezoid rule are among
    the nodes ``s / M`` of the finest, and the gradients along the path are
    computed once, ``M + 1`` forward and backward passes per image (not the
    sum over ``steps``). The sum of the attributions at ``m`` steps is
    ``sum_s w_s g(t_s)`` with ``g(t) = (x - x') . d y_c / d x (x' + t (x - x'))``.

    In a ReLU network ``g`` jumps wherever a unit switches on or off along the
    path. Each jump costs the rule up to half the jump times the step, so the
    gap is of the order of the step, not of its square as for a smooth
    integrand; where the jumps fall inside their intervals sets its size, so
    it need not halve exactly when the steps double.

    ``rule="right"`` reads the same path with Sundararajan et al.'s own rule
    (ICML 2017, section 5, equation 3), the right Riemann sum
    ``sum_{s=1..m} g(s / m) / m``, instead of the trapezoid rule of
    :func:`integrated_gradients`.

    Returns:
        dict, each ``m`` (ascending) to float ``(batch,)``, the gaps of
        :func:`completeness_gap`.
    """
    images = check_images(images)
    if rule not in ("trapezoid", "right"):
        raise ValueError(f"rule must be 'trapezoid' or 'right', got {rule!r}")
    steps = nested_steps(steps)
    finest = steps[-1]
    baseline = _baseline_like(images, baseline)
    classes = top_classes(model, images, class_index)
    scorer = cached_score_model(model, score=score)
    times = np.linspace(0.0, 1.0, finest + 1, dtype=np.float32)
    totals = {m: np.empty(len(images)) for m in steps}
    for n in range(len(images)):  # one image's path at a time: M + 1 images
        difference = images[n : n + 1] - baseline[n : n + 1]
        gradients = path_gradients(
            scorer,
            baseline[n : n + 1],
            difference,
            classes[n : n + 1],
            times,
            batch_size=batch_size,
        )[0]
        along = (
            (gradients * difference)
            .reshape(finest + 1, -1)
            .sum(axis=1, dtype=np.float64)
        )  # g(t_s)
        for m in steps:
            nodes = along[:: finest // m]
            if rule == "trapezoid":  # the mean of both ends of each interval
                totals[m][n] = (nodes[1:] + nodes[:-1]).sum() / (2 * m)
            else:  # the right end of each interval
                totals[m][n] = nodes[1:].sum() / m
    change = score_change(model, images, baseline, classes, score=score)
    return {m: relative_gap(totals[m], change) for m in steps}


@tf.custom_gradient
def guided_relu(x):
    """ReLU whose gradient passes only where its input and the gradient are positive."""

    def gradient(upstream):
        return (
            upstream
            * tf.cast(upstream > 0, upstream.dtype)
            * tf.cast(x > 0, upstream.dtype)
        )

    return tf.nn.relu(x), gradient


def guided_model(model):
    """A copy of ``model`` (same weights) whose ReLUs backpropagate as guided ReLUs.

    Each ReLU of the copy is :func:`guided_relu`; ``model`` itself is left
    unchanged.

    Raises:
        ValueError: if the model has no ReLU.
    """
    replaced = []

    def clone_layer(layer):
        config = layer.get_config()
        if isinstance(layer, keras.layers.ReLU):
            replaced.append(layer.name)
            return keras.layers.Activation(guided_relu, name=layer.name)
        clone = type(layer).from_config(config)
        if getattr(layer, "activation", None) is keras.activations.relu:
            replaced.append(layer.name)
            clone.activation = guided_relu
        return clone

    clone = keras.models.clone_model(model, clone_function=clone_layer)
    if not replaced:
        raise ValueError(
            "Guided Backpropagation needs ReLU activations; "
            f"model {model.name!r} has none"
        )
    clone.set_weights(model.get_weights())
    return clone


def cached_guided_model(model):
    """:func:`guided_model`, cloned once per model (see :func:`derived`).

    The copy's weights are copied again from ``model`` on every call, so a
    model whose weights changed is explained with its new weights.
    """
    clone = derived(model, ("guided_model",), lambda: guided_model(model))
    for copy, original in zip(clone.weights, model.weights):
        copy.assign(original.value)
    return clone


def guided_backprop(
    model, images, class_index=None, *, score="logit", batch_size=BATCH_SIZE
):
    """Guided Backpropagation (Springenberg et al., ICLR Workshops 2015), raw.

    A gated input gradient.

    Formula: ``d y_c / d x`` computed with every ReLU's backward pass
    replaced by ``g_in = g_out * [x > 0] * [g_out > 0]``: the forward sign,
    as in an ordinary gradient, and the backward sign, which is what makes
    the pictures so sharp. On a copy of the model (:func:`guided_model`).
    :func:`explain` maps it as :func:`saliency`.

    It is in the course to *fail* a test: Adebayo et al. ("Sanity Checks for
    Saliency Maps", NeurIPS 2018) found its maps barely change when the
    model's weights are re-initialized, because the backward gating mostly
    reconstructs the image's edges whatever the weights are.

    Cost: one forward and one backward pass per image (and cloning the model,
    once per model).

    Returns:
        float32 ``(batch, height, width, channels)``.
    """
    images = check_images(images)
    classes = top_classes(model, images, class_index)
    scorer = cached_score_model(cached_guided_model(model), score=score)
    return input_gradients(scorer, images, classes, batch_size=batch_size)


# ----------------------------------------------------------------------------------
# Perturbation


def occlusion_positions(size, patch, stride):
    """Start positions of a patch slid along ``size`` pixels.

    Every ``stride`` pixels, and the last flush with the edge.
    """
    positions = list(range(0, size - patch + 1, stride))
    if positions[-1] != size - patch:
        positions.append(size - patch)
    return positions


def occlusion(
    model,
    images,
    class_index=None,
    *,
    score="logit",
    patch=None,
    stride=None,
    batch_size=BATCH_SIZE,
):
    """Occlusion (Zeiler & Fergus, ECCV 2014), raw: the score a grey patch removes.

    How much a grey patch over each pixel lowers the score.

    Formula: for patch positions ``p``, ``d_p = y_c(x) - y_c(x with a grey
    patch at p)``; each pixel gets the mean ``d_p`` over the patches that
    cover it. Grey is the middle of the model's input range. Signed: a
    negative value means hiding the pixel raised the score. :func:`explain`
    keeps the positive part. Zeiler & Fergus (section 4.2, Figure 7) draw the
    class probability itself at each patch position, a map of positions;
    spreading the drop over the pixels each patch covers gives a map at the
    image's size, comparable with the other methods.

    Cost: one forward pass per patch position (``ceil((size - patch) /
    stride + 1)`` per side), all of an image's occluded copies in passes of
    ``batch_size``.

    Args:
        patch: int, the side of the square patch in pixels; None is a sixth
            of the image's side (16 pixels at 96).
        stride: int, the step between patch positions in pixels; None is
            half the patch.
        (the others as in :func:`saliency`)

    Returns:
        float32 ``(batch, height, width)``.
    """
    images = check_images(images)
    height, width = images.shape[1:3]
    patch = max(1, round(min(height, width) / 6)) if patch is None else patch
    stride = max(1, patch // 2) if stride is None else stride
    if not 1 <= patch <= min(height, width):
        raise ValueError(
            f"patch must be between 1 and {min(height, width)} pixels, got {patch}"
        )
    if stride < 1:
        raise ValueError(f"stride must be at least 1 pixel, got {stride}")
    classes = top_classes(model, images, class_index)
    grey = float(np.mean(filters.input_range(model)))
    windows = [
        (row, col)
        for row in occlusion_positions(height, patch, stride)
        for col in occlusion_positions(width, patch, stride)
    ]
    covered = np.zeros((height, width), np.float32)
    for row, col in windows:
        covered[row : row + patch, col : col + patch] += 1
    firsts, first_of = first_occurrences(images)
    forward = compiled(
        cached_score_model(model, score=score), len(firsts) * (len(windows) + 1)
    )
    full = class_scores(forward, images, classes, batch_size=batch_size)
    maps = np.zeros((len(images), height, width), np.float32)
    # The first occurrence of an image -> every class's score of its occluded copies.
    occluded_scores = {}
    for n, image in enumerate(images):
        # An image asked again for another class is not occluded again.
        if first_of[n] not in occluded_scores:
            occluded = np.repeat(image[None], len(windows), axis=0)
            for copy, (row, col) in zip(occluded, windows):
                copy[row : row + patch, col : col + patch] = grey
            occluded_scores[first_of[n]] = all_class_scores(
                forward, occluded, batch_size=batch_size
            )
        drops = full[n] - occluded_scores[first_of[n]][:, classes[n]]
        for drop, (row, col) in zip(drops, windows):
            maps[n, row : row + patch, col : col + patch] += drop
    return maps / covered


# ----------------------------------------------------------------------------------
# The registry and the one call


def explain(
    model,
    images,
    method,
    class_index=None,
    *,
    layer_name=None,
    score="logit",
    **options,
):
    """Explain each image's class with one attribution method: maps in [0, 1].

    Args:
        model: a Functional classifier with one input and a ``(batch, classes)``
            output.
        images: float32 ``(batch, height, width, channels)`` in the model's
            input range.
        method: str, a key of :data:`~convviz_ref.methods.METHODS`.
        class_index: int, ``batch`` ints, or None (each image's top class).
        layer_name: str, the layer of a CAM method; None takes the last
            layer with a spatial output
            (:func:`~convviz_ref.scoring.find_last_conv_layer`). Pixel and
            perturbation methods refuse it.
        score: ``"logit"`` or ``"output"``.
        **options: the method's own keyword arguments (``samples``,
            ``steps``, ``patch``, ``stride``, ``batch_size`` ...), over the
            registry's ``options`` (Integrated Gradients: ``tolerance`` of
            :data:`~convviz_ref.methods.COMPLETENESS_TOLERANCE`;
            ``tolerance=None`` keeps ``steps``).

    Returns:
        ``(maps, classes)``: float32 ``(batch, h, w)`` in [0, 1] (the layer's
        grid for CAM methods, the image's size otherwise; see
        :func:`~convviz_ref.maps.upsample_maps`), each map divided by its own
        maximum after the method's ``to_map`` (a map with nothing positive
        stays zero), and the explained classes, int32 ``(batch,)``.

    Raises:
        ValueError: for an unknown method, a layer given to a pixel method, a
            layer with no spatial output, a CAM method on a model with no
            spatial layer, an option the method does not take, a class out of
            range, and every error of the method itself (one line each).
    """
    entry = get_method(method)
    if layer_name is not None:
        if not entry.needs_layer:
            raise ValueError(
                f"method {method!r} works on the input pixels and takes no "
                f"layer_name (got {layer_name!r})"
            )
        check_spatial_layer(
            model, layer_name, spatial_layers(model), "layers with a spatial output"
        )
    elif entry.needs_layer:
        layer_name = find_last_conv_layer(model)
    images = check_images(images)
    classes = top_classes(model, images, class_index)
    raw = attribute(
        model, images, method, classes, layer_name=layer_name, score=score, **options
    )
    return to_maps(method, raw), classes


def attribute(
    model, images, method, classes, *, layer_name=None, score="logit", **options
):
    """The raw attributions of ``method`` for ``classes``.

    What :func:`explain` computes before :func:`to_maps`: the method's
    function with the registry's ``options`` unless ``options`` give them;
    ``layer_name`` only for CAM methods.

    Raises:
        ValueError: for an unknown method or an option its function does not
            take.
    """
    entry = get_method(method)
    function = method_function(method)
    parameters = inspect.signature(function).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        for name in options:
            if name not in parameters:
                raise ValueError(f"{name} does not apply to method {method!r}")
    if entry.needs_layer:
        options["layer_name"] = layer_name
    return function(model, images, classes, score=score, **{**entry.options, **options})


def to_maps(method, raw):
    """A method's raw attributions as :func:`explain` returns them.

    The registry's ``to_map``, then each map over its maximum
    (:func:`~convviz_ref.maps.normalize_maps`).
    """
    to_map = get_method(method).to_map
    if isinstance(to_map, str):
        to_map = getattr(map_utilities, to_map)
    return map_utilities.normalize_maps(to_map(np.asarray(raw, dtype=np.float32)))


class ImageExplanation(NamedTuple):
    """What :func:`explain_image` returns.

    Attributes:
        maps: dict, method name to its map of the image, float32 ``(1, h, w)``
            in [0, 1].
        class_index: int, the explained class.
        probability: float, the model's output for that class.
    """

    maps: dict
    class_index: int
    probability: float


def explain_image(
    model,
    image_batch,
    method,
    class_index=None,
    *,
    layer_name=None,
    score="logit",
    **options,
):
    """One image explained for one class by one method, or by every method.

    What ``convviz explain`` shows. ``method`` is a key of
    :data:`~convviz_ref.methods.METHODS`, or ``"all"``: every method, each
    with its own defaults (``options`` are for one method), ``layer_name``
    going to the CAM methods only. The other arguments are those of
    :func:`explain`; ``image_batch`` is one image ``(1, height, width,
    channels)``.

    Returns:
        An :class:`ImageExplanation`.

    Raises:
        ValueError: as :func:`explain`, before any method runs for an unknown
            method, a layer with no spatial output or a class out of range.
    """
    if method == "all":
        names = list(METHODS)
    else:
        get_method(method)  # an unknown name: a ValueError listing the valid ones
        names = [method]
    if layer_name is not None:
        check_spatial_layer(
            model, layer_name, spatial_layers(model), "layers with a spatial output"
        )
    images = check_images(image_batch)
    probabilities = np.asarray(model(images, training=False))
    explained = int(class_indices(probabilities, class_index)[0])
    found = {}
    for name in names:
        one = method != "all"
        found[name] = explain(
            model,
            images,
            name,
            explained,
            layer_name=layer_name if one or get_method(name).needs_layer else None,
            score=score,
            **(options if one else {}),
        )[0]
    return ImageExplanation(found, explained, float(probabilities[0, explained]))
