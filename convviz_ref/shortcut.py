"""A planted shortcut ("Clever Hans"): does the model cheat, and do the maps show it?

Usage::

    convviz shortcut                                  # every method, 100 test images
    convviz shortcut --methods gradcam,saliency --num-images 200

Lapuschkin et al. ("Unmasking Clever Hans predictors", Nature
Communications 2019) found a classifier that recognized horses by a
copyright tag. The shipped ``shortcut`` model was trained on shapes whose
training images mostly carry a small square in their class's colour
(:func:`convviz_ref.data.load_shapes` with ``markers="marked"``). This
module prints:

* its accuracy on the three versions of the test split: markers as in
  training, no markers, markers of another class (a model that learned the
  shortcut scores high on the first and collapses on the last), beside the
  clean ``xception_like`` model's;
* for each attribution method, on the marked test images that carry a
  marker, how often the map's peak is on the marker and how often on the
  object, and the share of the map's positive mass on the marker.

It also holds the attribution exercise's reference decision, whether a
model relies on the marker (:func:`relies_on_marker`), and the two measures
the grader checks each of its hidden models with: what swapping the markers
does to the accuracy (:func:`swap_accuracy_drop`, an intervention on the
data) and where the gradient's mass lies (:func:`marker_saliency_ratio`, an
attribution), on a test set of which a share carries a marker
(:func:`marker_test_set`).
"""

from __future__ import annotations

import sys
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from convviz_ref import attribution, data, faithfulness, scoring
from convviz_ref.maps import upsample_maps
from convviz_ref.methods import METHODS, get_method
from convviz_ref.models import LAST_CONV_LAYERS, load_pretrained


def accuracy(model, images, labels, *, batch_size=scoring.BATCH_SIZE):
    """Fraction of images whose top class is the label."""
    return float(
        (scoring.top_classes(model, images, batch_size=batch_size) == labels).mean()
    )


def accuracy_by_version(model, num_images=1000):
    """The model's accuracy on each version of the marked test split.

    Returns:
        dict, ``{version: accuracy}`` for each of
        :data:`convviz_ref.data.MARKER_VERSIONS`.
    """
    return {
        version: accuracy(
            model, *data.load_shapes("test", n=num_images, markers=version)[:2]
        )
        for version in data.MARKER_VERSIONS
    }


def marker_hits(maps, marker_masks, masks):
    """Where the map of each image with a marker points, per image.

    Returns ``{"marker": ..., "object": ..., "marker_energy": ...}``, float
    arrays with one value per image that carries a marker (images without
    one are left out): ``marker`` and ``object`` are 1 where the map's peak
    (upsampled, as in :func:`~convviz_ref.faithfulness.pointing_game`) falls
    on the marker, on the object (trimap object or contour), else 0;
    ``marker_energy`` is the share of the map's positive mass on the marker.
    """
    marker_masks, masks = np.asarray(marker_masks), np.asarray(masks)
    carries = marker_masks.reshape(len(marker_masks), -1).any(axis=1)
    maps, marker_masks, masks = (
        np.asarray(maps)[carries],
        marker_masks[carries],
        masks[carries],
    )
    rows, cols = faithfulness.peak_locations(maps, masks.shape[1:])
    index = np.arange(len(masks))
    upsampled = np.maximum(upsample_maps(maps, masks.shape[1:]), 0).astype(np.float64)
    total = upsampled.sum(axis=(1, 2))
    on_marker = (upsampled * marker_masks).sum(axis=(1, 2))
    return {
        "marker": (marker_masks[index, rows, cols] == 1).astype(np.float64),
        "object": (masks[index, rows, cols] != data.BACKGROUND).astype(np.float64),
        "marker_energy": np.divide(
            on_marker, total, out=np.zeros_like(total), where=total > 0
        ),
    }


def marker_pointing(maps, marker_masks, masks):
    """Where the maps of images with a marker point.

    Returns ``{"marker": ..., "object": ..., "marker_energy": ...}``, the
    means over the images of :func:`marker_hits`: the fractions of maps whose
    peak falls on the marker and on the object, and the mean share of
    positive map mass on the marker. Images without a marker are left out.
    """
    hits = marker_hits(maps, marker_masks, masks)
    return {name: float(np.mean(values)) for name, values in hits.items()}


def evaluate_shortcut(methods=None, *, num_images=100, score="logit", stream=None):
    """Print and return the shortcut model's accuracies and where the maps point.

    Args:
        methods: names of :data:`~convviz_ref.methods.METHODS`; None for all.
        num_images: int, marked test images the methods explain (the
            accuracies use the whole test split).
        score: ``"logit"`` or ``"output"``.
        stream: where to print (default ``sys.stdout``).

    Returns:
        dict with ``accuracy`` (model name to ``{version: accuracy}``) and
        ``pointing`` (method name to :func:`marker_pointing`'s dict).
    """
    stream = stream or sys.stdout
    methods = list(METHODS) if methods is None else list(methods)
    shortcut, _ = load_pretrained("shortcut")
    clean, _ = load_pretrained("xception_like")
    results = {"accuracy": {}, "pointing": {}}
    print(
        f"Accuracy on the {data.SPLIT_SIZES['test']} test images, "
        "by version of the markers:",
        file=stream,
    )
    print(
        f"  {'model':<15}"
        + "".join(f"{version:>10}" for version in data.MARKER_VERSIONS),
        file=stream,
    )
    for name, model in (("shortcut", shortcut), ("xception_like", clean)):
        results["accuracy"][name] = accuracy_by_version(model)
        print(
            f"  {name:<15}"
            + "".join(
                f"{results['accuracy'][name][version]:>10.1%}"
                for version in data.MARKER_VERSIONS
            ),
            file=stream,
        )
    marked = data.load_shapes("test", n=num_images, markers="marked")
    carrying = int(marked.marker_masks.reshape(num_images, -1).any(axis=1).sum())
    print(
        f"Where the shortcut model's maps point, on the {carrying} of {num_images} "
        "marked test images "
        f"that carry a marker ({score} score):",
        file=stream,
    )
    print(
        f"  {'method':<22}{'peak on marker':>16}{'peak on object':>16}"
        f"{'mass on marker':>16}",
        file=stream,
    )
    for method in methods:
        layer = LAST_CONV_LAYERS["shortcut"] if get_method(method).needs_layer else None
        maps, _ = attribution.explain(
            shortcut, marked.images, method, layer_name=layer, score=score
        )
        where = results["pointing"][method] = marker_pointing(
            maps, marked.marker_masks, marked.masks
        )
        print(
            f"  {method:<22}{where['marker']:>16.1%}{where['object']:>16.1%}"
            f"{where['marker_energy']:>16.1%}",
            file=stream,
            flush=True,
        )
    marker_area = float(marked.marker_masks.mean() * num_images / max(carrying, 1))
    print(
        f"  (the marker covers {marker_area:.1%} of an image that carries it: "
        "a map that ignores it puts about "
        "that much mass there by chance)",
        file=stream,
    )
    return results


# ------------------------------------------------------------------ the decision

SWAP_DROP_THRESHOLD = 0.3
"""The reference's bar: a model relies on the marker when swapping the markers takes
more than this off its accuracy on the images that carry one (a fraction, 0.3 is 30
percentage points)."""


class MarkerEvidence(NamedTuple):
    """What a decision on the marker is made from: :func:`marker_test_set`'s result.

    Attributes:
        images: float32 ``(n, size, size, 3)`` in 0..255, each marker (where the
            image carries one) in its class's colour.
        swapped: the same images, each marker in another class's colour.
        labels: int32 ``(n,)``, each image's class.
        masks: int32 trimaps ``(n, size, size)``: 0 object, 1 background, 2 contour.
        marker_masks: int32 ``(n, size, size)``, 1 on the marker's pixels (all 0 on
            an image without a marker).
    """

    images: np.ndarray
    swapped: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    marker_masks: np.ndarray


def marker_test_set(n, *, image_size=96, seed=0, split="test", carrying=0.5):
    """``n`` images of the shapes data, a ``carrying`` share of them with a marker.

    The images are the first ``n`` of the split that the marked data draws
    with a marker; ``round(carrying * n)`` of them, chosen by a generator
    seeded with ``seed``, keep it (in the class's colour in ``images``, in
    another's in ``swapped``), the others are the same scenes without one. So
    the images without a marker give the accuracy a model has without its
    cue, and a model that ignores the marker scores about the same on both
    kinds.

    Returns:
        :class:`MarkerEvidence`.
    """
    pool = min(data.SPLIT_SIZES[split], 2 * n + 8)
    versions = {
        version: data.load_shapes(
            split, pool, image_size=image_size, seed=seed, markers=version
        )
        for version in data.MARKER_VERSIONS
    }
    chosen = np.flatnonzero(versions["marked"].marker_labels >= 0)[:n]
    if len(chosen) < n:
        raise ValueError(f"the {split} split has fewer than {n} images with a marker")
    rng = np.random.default_rng([seed, 41])
    keeps = rng.permutation(n) < round(carrying * n)

    def with_markers(version):
        return np.where(
            keeps[:, None, None, None],
            versions[version].images[chosen],
            versions["none"].images[chosen],
        )

    marked = versions["marked"]
    return MarkerEvidence(
        with_markers("marked"),
        with_markers("swapped"),
        marked.labels[chosen],
        marked.masks[chosen],
        marked.marker_masks[chosen] * keeps[:, None, None].astype(np.int32),
    )


def _carrying(marker_masks):
    """Which images carry a marker: bool ``(n,)``; ValueError if none does."""
    carries = np.asarray(marker_masks).reshape(len(marker_masks), -1).any(axis=1)
    if not carries.any():
        raise ValueError("no image carries a marker (marker_masks is all 0)")
    return carries


def _eager_accuracy(model, images, labels, batch_size=64):
    """Fraction of ``images`` whose top class is the label: eager calls, no tracing
    (cheaper than :func:`accuracy` for a few small batches of many models)."""
    predicted = np.concatenate(
        [
            np.argmax(np.asarray(model(images[start : start + batch_size])), axis=-1)
            for start in range(0, len(images), batch_size)
        ]
    )
    return float((predicted == labels).mean())


def swap_accuracies(model, images, swapped, labels, marker_masks):
    """The accuracy on the images that carry a marker, with it as given and swapped.

    Returns:
        ``(marked, swapped)``, two floats in [0, 1], over the images whose marker
        mask is not empty.
    """
    carries = _carrying(marker_masks)
    labels = np.asarray(labels)[carries]
    return tuple(
        _eager_accuracy(model, np.asarray(version, np.float32)[carries], labels)
        for version in (images, swapped)
    )


def swap_accuracy_drop(model, images, swapped, labels, marker_masks):
    """What swapping the markers takes off the accuracy, on the images that carry one.

    ``accuracy(images) - accuracy(swapped)`` over the images whose marker mask
    is not empty (:func:`swap_accuracies`): near 0 for a model that ignores the
    marker, large for one whose prediction follows it (at most the accuracy on
    ``images``).

    Returns:
        float in [-1, 1].
    """
    marked, swapped = swap_accuracies(model, images, swapped, labels, marker_masks)
    return marked - swapped


def marker_saliency_ratio(model, images, marker_masks):
    """How much more gradient mass the marker gets than its size, on images with one.

    For each image that carries a marker: the share of the saliency mass,
    ``|d y_c / d x|`` summed over the colour channels (``y_c`` the model's
    output for the image's top class), that falls on the marker's pixels,
    divided by the marker's share of the pixels. 1 is what a map that ignores
    the marker gives on average; the mean over the images is returned.

    Returns:
        float >= 0.
    """
    carries = _carrying(marker_masks)
    images = np.asarray(images, np.float32)[carries]
    marker_masks = np.asarray(marker_masks)[carries].astype(np.float64)
    ratios = []
    for start in range(0, len(images), scoring.BATCH_SIZE):
        batch = tf.constant(images[start : start + scoring.BATCH_SIZE])
        with tf.GradientTape() as tape:
            tape.watch(batch)
            outputs = model(batch, training=False)
            scores = tf.reduce_max(outputs, axis=-1)  # the top class's output
        saliency = np.abs(tape.gradient(scores, batch).numpy()).sum(axis=-1)
        marker = marker_masks[start : start + scoring.BATCH_SIZE]
        total = saliency.sum(axis=(1, 2))
        share = np.divide(
            (saliency * marker).sum(axis=(1, 2)),
            total,
            out=np.zeros_like(total, dtype=np.float64),
            where=total > 0,
        )
        ratios.append(share / marker.mean(axis=(1, 2)))
    return float(np.mean(np.concatenate(ratios)))


def relies_on_marker(model, images, swapped, labels, masks, marker_masks):
    """Whether the model relies on the marker rather than the object: the reference.

    True when swapping the markers takes more than
    :data:`SWAP_DROP_THRESHOLD` off the model's accuracy on the images that
    carry one (:func:`swap_accuracy_drop`). ``masks`` (the objects' trimaps)
    is not needed by this measure; it is in the signature because the
    exercise's contract gives it, for a decision from attributions.

    Returns:
        bool.
    """
    del masks
    drop = swap_accuracy_drop(model, images, swapped, labels, marker_masks)
    return bool(drop > SWAP_DROP_THRESHOLD)
