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
"""

from __future__ import annotations

import sys

import numpy as np

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
