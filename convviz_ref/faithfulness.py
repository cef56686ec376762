"""Do the pictures tell the truth? Attribution maps measured against ground truth.

The measures compare maps with the trimaps of the shapes dataset (maps are
upsampled to the image, bicubic, by :func:`convviz_ref.maps.upsample_maps`):

* the **pointing game** (Zhang et al., "Top-down Neural Attention by
  Excitation Backprop", IJCV 2018): how often a map's maximum falls on the
  object (object or contour pixels of its trimap), beside two baselines that
  look at no model: a random pixel and the image centre
  (:func:`pointing_game`, :func:`baselines`); on two-object images, how
  often each class's map peaks on that class's own object
  (:func:`two_object_pointing`);
* the **energy pointing game** and the **deletion / insertion** curves
  (:func:`energy_pointing_game`, :func:`deletion_insertion`);
* **sanity checks** in the spirit of Adebayo et al. ("Sanity Checks for
  Saliency Maps", NeurIPS 2018): a model with re-initialized weights should
  point much worse, and its maps should not rank pixels like the trained
  model's (:func:`randomized_model`, :func:`rank_correlation`,
  :func:`cascading_randomization`);
* whether **filter ascent** works: the pattern of each of the first filters
  of a middle layer excites its filter more than the most exciting test
  image (:func:`filter_ascent_check`), and the same comparison held to the
  pixel range real images live in (:func:`filter_ascent_losses`).

:func:`evaluate_faithfulness` prints Grad-CAM's figures for a shipped
classifier: what ``convviz faithfulness`` runs.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

import keras
import numpy as np
from scipy import ndimage, stats

from convviz_ref import attribution, data, filters, gradcam, scoring
from convviz_ref.maps import upsample_maps
from convviz_ref.methods import get_method
from convviz_ref.models import (
    BUILDERS,
    LAST_CONV_LAYERS,
    load_manifest,
    load_pretrained,
)


def peak_locations(heatmaps, image_size):
    """Row and column of each upsampled heatmap's maximum: two int arrays ``(n,)``.

    ``image_size`` is an int (a square image) or ``(height, width)``.
    """
    size = (
        (image_size, image_size)
        if np.ndim(image_size) == 0
        else tuple(int(side) for side in image_size)
    )
    upsampled = upsample_maps(heatmaps, size)
    flat = upsampled.reshape(len(upsampled), -1).argmax(axis=1)
    return np.unravel_index(flat, size)


def pointing_game(heatmaps, masks):
    """Fraction of heatmaps whose maximum falls on the object.

    Formula: ``mean_n [mask_n(argmax upsample(heatmap_n)) != background]``.

    A variant of Zhang et al.'s game: no tolerance of 15 pixels around the
    object (the trimap's contour band, one pixel either side of the edge,
    counts instead), and the share of hits over all maps, where they average
    each category's accuracy over the categories.

    Args:
        heatmaps: float array ``(n, h, w)``.
        masks: int trimaps ``(n, height, width)``; object and contour pixels
            count as hits.

    Returns:
        float in [0, 1].
    """
    return float(pointing_hits(heatmaps, masks).mean())


def pointing_hits(heatmaps, masks):
    """Each heatmap's pointing-game outcome: float ``(n,)``, 1 for a hit, 0 for a miss.

    :func:`pointing_game` is their mean; same arguments.
    """
    masks = np.asarray(masks)
    rows, cols = peak_locations(heatmaps, masks.shape[1:])
    hits = masks[np.arange(len(masks)), rows, cols] != data.BACKGROUND
    return hits.astype(np.float64)


def baselines(masks):
    """What a model-free guess scores.

    Returns:
        ``{"random pixel": ..., "image centre": ...}``: the fraction of
        object pixels, and how often the image centre is on the object.
    """
    masks = np.asarray(masks)
    on_object = masks != data.BACKGROUND
    center = masks.shape[1] // 2
    return {
        "random pixel": float(on_object.mean()),
        "image centre": float(on_object[:, center, center].mean()),
    }


def energy_pointing_game(maps, masks):
    """Share of each map's positive mass that falls on the object, averaged over images.

    Wang et al. (Score-CAM, 2020): unlike the pointing game, it looks at the
    whole map, so a map that peaks on the object but spreads over the
    background scores less.

    Formula: ``mean_n sum(relu(M_n) [mask_n != background]) / sum(relu(M_n))``,
    with ``M_n`` the map upsampled to the mask (bicubic); a map with no
    positive value scores 0.

    Args:
        maps: float array ``(n, h, w)``.
        masks: int trimaps ``(n, height, width)``; object and contour pixels count.

    Returns:
        float in [0, 1].
    """
    return float(energy_shares(maps, masks).mean())


def energy_shares(maps, masks):
    """Each map's share of positive mass on the object: float ``(n,)`` in [0, 1].

    :func:`energy_pointing_game` is their mean; same arguments. A map with no
    positive mass scores 0.
    """
    masks = np.asarray(masks)
    upsampled = np.maximum(upsample_maps(maps, masks.shape[1:]), 0).astype(np.float64)
    total = upsampled.sum(axis=(1, 2))
    on_object = (upsampled * (masks != data.BACKGROUND)).sum(axis=(1, 2))
    return np.divide(on_object, total, out=np.zeros_like(total), where=total > 0)


def blurred_images(images, sigma=None):
    """Each image blurred by a Gaussian, per channel.

    What deletion puts in, and what insertion starts from.

    ``sigma`` None is a tenth of the image's side (about 10 pixels at 96).
    """
    images = np.asarray(images, dtype=np.float32)
    sigma = images.shape[1] / 10 if sigma is None else sigma
    return ndimage.gaussian_filter(
        images, sigma=(0, sigma, sigma, 0), mode="nearest"
    ).astype(np.float32)


def deletion_insertion(
    model,
    images,
    maps,
    classes,
    *,
    steps=10,
    sigma=None,
    batch_size=scoring.BATCH_SIZE,
):
    """Deletion and insertion curves (Petsiuk et al., "RISE", BMVC 2018), batched.

    Pixels are taken in the order of their map value, highest first (maps
    are upsampled to the image, bicubic). **Deletion** replaces the first
    ``k`` of them by the blurred image; **insertion** starts from the blurred
    image and puts the first ``k`` original pixels back; ``k`` runs over
    ``steps + 1`` evenly spaced fractions 0..1 of the pixels. The curves are
    the model's output (probability) for the class: a faithful map makes the
    deletion curve fall fast (low area) and the insertion curve rise fast
    (high area). Petsiuk et al.'s reference code deletes to a constant (zero
    of the ImageNet-normalized image, its mean colour) and changes 224 pixels
    per step; a constant patch draws a new shape on our images, so deletion
    here blurs, and the curves have ``steps + 1`` points.

    Args:
        model: a classifier; its output for ``classes`` is the curve.
        images: float32 ``(n, height, width, channels)``.
        maps: float ``(n, h, w)``, any resolution.
        classes: int ``(n,)``.
        steps: int, the number of intervals of the curves.
        sigma: float, the blur (see :func:`blurred_images`).

    Returns:
        ``(deletion, insertion)``: float32 ``(n, steps + 1)`` each.
    """
    images = np.asarray(images, dtype=np.float32)
    height, width = images.shape[1:3]
    order = np.argsort(
        -upsample_maps(maps, (height, width)).reshape(len(images), -1),
        axis=1,
        kind="stable",
    )
    counts = np.round(np.linspace(0, height * width, steps + 1)).astype(int)
    blurred = blurred_images(images, sigma)
    forward = scoring.compiled(model, 2 * (steps + 1) * len(images))
    ranks = np.empty_like(order)
    np.put_along_axis(
        ranks, order, np.arange(height * width)[None], axis=1
    )  # each pixel's place in the order
    curves = []
    for start in range(
        0, len(images), batch_size
    ):  # the variants of batch_size images at a time, in full batches
        group = slice(start, start + batch_size)
        taken = (ranks[group, None] < counts[None, :, None]).reshape(
            -1, steps + 1, height, width, 1
        )
        image, blur = images[group, None], blurred[group, None]
        variants = np.concatenate(
            [np.where(taken, blur, image), np.where(taken, image, blur)], axis=1
        )
        variants = variants.reshape(
            (-1,) + images.shape[1:]
        )  # (group * 2 (steps + 1), h, w, channels)
        probabilities = scoring.all_class_scores(
            forward, variants, batch_size=batch_size
        )
        labels = np.repeat(np.asarray(classes)[group], 2 * (steps + 1))
        curves.append(
            probabilities[np.arange(len(labels)), labels].reshape(-1, 2, steps + 1)
        )
    curves = np.concatenate(curves)
    return curves[:, 0].astype(np.float32), curves[:, 1].astype(np.float32)


def area_under_curve(curves):
    """Area under curves sampled evenly over [0, 1], trapezoid rule: float ``(n,)``."""
    curves = np.asarray(curves, dtype=np.float64)
    return (curves[:, 1:] + curves[:, :-1]).sum(axis=1) / (2 * (curves.shape[1] - 1))


def rank_correlation(heatmaps_a, heatmaps_b):
    """Mean Spearman rank correlation of paired heatmaps ``(n, h, w)``.

    Pairs with a constant heatmap (no correlation defined) are skipped; NaN
    when none is left.
    """
    values = []
    for a, b in zip(heatmaps_a, heatmaps_b):
        if np.ptp(a) > 0 and np.ptp(b) > 0:
            values.append(stats.spearmanr(a.ravel(), b.ravel()).statistic)
    return float(np.mean(values)) if values else float("nan")


def two_object_pointing(model, pairs, layer_name, *, score):
    """Fraction of (image, class) pairs whose class heatmap peaks on its own object.

    Grad-CAM (:func:`convviz_ref.gradcam.gradcam_heatmaps`) at ``layer_name``
    with ``score``, for each of the two classes of each image of ``pairs``.
    """
    hits = []
    for which in (0, 1):
        heatmaps, _ = gradcam.gradcam_heatmaps(
            model, pairs.images, layer_name, pairs.labels[:, which], score=score
        )
        hits.append(pointing_game(heatmaps, pairs.masks[:, which]))
    return float(np.mean(hits))


def randomized_model(name, seed=None):
    """The shipped architecture with freshly initialized (untrained) weights.

    Args:
        name: a shipped classifier.
        seed: int, the seed of the new weights; None takes the training's
            seed plus one (the training's own seed would rebuild the very
            weights training started from, which a layer that moved little in
            training is still close to).
    """
    entry = load_manifest()[name]
    keras.utils.set_random_seed(entry["seed"] + 1 if seed is None else seed)
    return BUILDERS[name](image_size=entry["image_size"], **entry["builder_args"])


def randomization_blocks(model):
    """The layers with weights, grouped by block, from the output down.

    A block is the name up to the first ``_``.

    Returns:
        list of ``(block, layer_names)``, in the order the cascading
        randomization re-initializes them: ``predictions``, then ``last``
        (``last_conv_bn``), ``block4`` ... ``entry`` for the Xception-like model.
    """
    blocks = []
    for layer in reversed(model.layers):
        if not layer.weights:
            continue
        block = layer.name.split("_")[0]
        if blocks and blocks[-1][0] == block:
            blocks[-1][1].append(layer.name)
        else:
            blocks.append((block, [layer.name]))
    return blocks


def paired_rank_correlations(maps_a, maps_b):
    """Spearman rank correlation of each pair of maps ``(n, h, w)``: float ``(n,)``.

    A map that became constant keeps none of the trained map's ranking, so
    it counts as no correlation, 0 (:func:`rank_correlation` skips such pairs
    instead).
    """
    return np.array(
        [
            stats.spearmanr(a.ravel(), b.ravel()).statistic
            if np.ptp(a) > 0 and np.ptp(b) > 0
            else 0.0
            for a, b in zip(maps_a, maps_b)
        ],
        dtype=np.float64,
    )


def paired_rank_correlation(maps_a, maps_b):
    """Mean Spearman rank correlation of paired maps ``(n, h, w)``; constant: 0.

    The mean of :func:`paired_rank_correlations`.
    """
    return float(np.mean(paired_rank_correlations(maps_a, maps_b)))


def cascading_randomization(
    model,
    fresh_model,
    images,
    classes,
    methods,
    *,
    layer_name,
    score="logit",
    options=None,
    per_image=False,
):
    """Adebayo et al.'s cascading randomization: do maps change with the weights?

    Re-initializes the blocks of :func:`randomization_blocks` one at a
    time, from the output down (their weights taken from ``fresh_model``, the
    same architecture freshly initialized), and after each step compares
    every method's maps with the trained model's, for the classes the
    trained model chose, so that only the weights differ. A method that
    explains the model should lose its correlation as soon as the top is
    gone.

    Args:
        model: the trained classifier (left unchanged: the work is done on a copy).
        fresh_model: the same architecture with untrained weights.
        images: float32 ``(n, height, width, channels)``.
        classes: int ``(n,)``, the classes to explain.
        methods: names of :data:`convviz_ref.methods.METHODS`.
        layer_name: the layer of the CAM methods.
        options: dict, method name to its keyword arguments.
        per_image: bool, whether each step's correlation is kept per image
            (an array ``(n,)``, :func:`paired_rank_correlations`) instead of
            its mean.

    Returns:
        ``(blocks, correlations)``: the block names re-initialized at each
        step, and for each method a list of mean Spearman correlations
        (:func:`paired_rank_correlation`), one per step.
    """
    options = options or {}

    def maps_of(current, method):
        layer = layer_name if get_method(method).needs_layer else None
        return attribution.explain(
            current,
            images,
            method,
            classes,
            layer_name=layer,
            score=score,
            **options.get(method, {}),
        )[0]

    compare = paired_rank_correlations if per_image else paired_rank_correlation
    trained = {method: maps_of(model, method) for method in methods}
    work = keras.models.clone_model(model)
    work.set_weights(model.get_weights())
    blocks, correlations = [], {method: [] for method in methods}
    for block, layer_names in randomization_blocks(model):
        for name in layer_names:
            work.get_layer(name).set_weights(fresh_model.get_layer(name).get_weights())
        blocks.append(block)
        for method in methods:
            correlations[method].append(compare(trained[method], maps_of(work, method)))
    return blocks, correlations


def filter_ascent_check(
    model, layer_name, images, *, num_filters=64, iterations=30, seed=0
):
    """Does the ascent pattern excite each filter more than the best real image does?

    Returns:
        dict with ``fraction`` (filters whose pattern's loss beats the
        maximum loss over ``images``), the medians over filters of the
        pattern's loss and of the best image's loss, and ``num_filters``.
    """
    extractor = filters.build_feature_extractor(model, layer_name)
    num_filters = min(num_filters, extractor.output_shape[-1])
    indices = np.arange(num_filters)
    patterns = filters.generate_filter_patterns(
        extractor, indices, iterations=iterations, seed=seed, progress=False
    )
    pattern_loss = np.array(
        [
            filters.compute_loss(extractor, patterns[k : k + 1], k).numpy()
            for k in indices
        ]
    )
    activations = np.concatenate(
        [
            np.asarray(extractor(images[start : start + 50]))[
                :, 2:-2, 2:-2, :num_filters
            ].mean(axis=(1, 2))
            for start in range(0, len(images), 50)
        ]
    )  # (num_images, num_filters): compute_loss for every image and filter
    best_image_loss = activations.max(axis=0)
    return {
        "fraction": float((pattern_loss > best_image_loss).mean()),
        "median_pattern_loss": float(np.median(pattern_loss)),
        "median_best_image_loss": float(np.median(best_image_loss)),
        "num_filters": int(num_filters),
    }


class FilterAscentLosses(NamedTuple):
    """What :func:`filter_ascent_losses` returns; each loss array is ``(num_filters,)``.

    Attributes:
        unbounded: float32, the loss of the plain ascent's pattern (no limit
            on the pixel values).
        clipped: float32, the loss of the projected ascent's pattern (the
            same steps, clipped to the model's input range after each).
        best_image: float32, the largest loss over the real images.
        unbounded_range: ``(min, max)`` of the plain patterns' pixel values.
        input_range: ``(low, high)``, the model's input range.
        unbounded_patterns, clipped_patterns: float32
            ``(num_filters, size, size, 3)``, the patterns themselves.
    """

    unbounded: np.ndarray
    clipped: np.ndarray
    best_image: np.ndarray
    unbounded_range: tuple
    input_range: tuple
    unbounded_patterns: np.ndarray
    clipped_patterns: np.ndarray


def filter_ascent_losses(
    model, layer_name, images, *, num_filters=64, iterations=30, seed=0
):
    """Each filter's loss at its ascent patterns, unbounded and clipped, and at images.

    A fair form of :func:`filter_ascent_check`. The plain ascent
    (:func:`convviz_ref.filters.generate_filter_patterns`) is not held to
    the pixel range, and the loss grows without limit as its pattern's
    contrast grows, so "beats every real image" says little. The clipped
    ascent (:func:`convviz_ref.filters.generate_clipped_patterns`) takes
    the same steps from the same start inside the input range, where the
    real images live too.

    Formula: ``loss_k(x) = mean(A[2:-2, 2:-2, k])``
    (:func:`convviz_ref.filters.compute_loss`); ``best_image[k] =
    max_n loss_k(images[n])``.

    Args:
        model: a classifier; ``layer_name`` one of its conv layers.
        images: float32 ``(n, size, size, 3)`` in the model's input range;
            the patterns have their size.
        num_filters: int, the first filters of the layer to check.
        iterations: int, ascent steps for both patterns.
        seed: int, the starting noise of both ascents.

    Returns:
        :class:`FilterAscentLosses`.
    """
    extractor = filters.build_feature_extractor(model, layer_name)
    num_filters = min(num_filters, extractor.output_shape[-1])
    indices = np.arange(num_filters)
    options = dict(
        iterations=iterations,
        image_size=images.shape[1],
        seed=seed,
        progress=False,
    )
    unbounded = filters.generate_filter_patterns(extractor, indices, **options)
    clipped = filters.generate_clipped_patterns(extractor, indices, **options)

    def losses(patterns):  # pattern k's loss for filter k
        activations = np.asarray(extractor(patterns))[:, 2:-2, 2:-2, :]
        return activations[indices, :, :, indices].mean(axis=(1, 2))

    best_image = np.concatenate(
        [
            np.asarray(extractor(images[start : start + 50]))[
                :, 2:-2, 2:-2, :num_filters
            ].mean(axis=(1, 2))
            for start in range(0, len(images), 50)
        ]
    ).max(axis=0)
    return FilterAscentLosses(
        unbounded=losses(unbounded).astype(np.float32),
        clipped=losses(clipped).astype(np.float32),
        best_image=best_image.astype(np.float32),
        unbounded_range=(float(unbounded.min()), float(unbounded.max())),
        input_range=tuple(float(v) for v in filters.input_range(extractor)),
        unbounded_patterns=unbounded,
        clipped_patterns=clipped,
    )


def evaluate_faithfulness(
    name="xception_like",
    *,
    num_images=200,
    middle_layer=None,
    num_ascent_filters=64,
    stream=None,
):
    """Print and return every faithfulness figure for one shipped classifier.

    ``num_ascent_filters``: the first filters of ``middle_layer`` (default
    :func:`~convviz_ref.filters.middle_layer`) whose ascent patterns the
    last check compares with the test images (see :func:`filter_ascent_check`).
    """
    stream = stream or sys.stdout
    model, _ = load_pretrained(name)
    layer_name = LAST_CONV_LAYERS[name]
    singles = data.load_shapes("test", n=num_images)
    pairs = data.load_shapes("test", n=num_images, num_objects=2)
    results = {"baselines": baselines(singles.masks)}
    print(
        f"Faithfulness of {name} (Grad-CAM at {layer_name!r}) "
        f"on {num_images} held-out test images",
        file=stream,
    )
    print("  pointing game, one object per image:", file=stream)
    trained = {}
    for score in scoring.SCORES:
        heatmaps, classes = gradcam.gradcam_heatmaps(
            model, singles.images, layer_name, score=score
        )
        trained[score] = heatmaps, classes
        results[f"pointing_{score}"] = pointing_game(heatmaps, singles.masks)
        print(
            f"    Grad-CAM, score={score!r:<9} {results[f'pointing_{score}']:.1%}",
            file=stream,
        )
    for baseline, value in results["baselines"].items():
        print(f"    baseline: {baseline:<17} {value:.1%}", file=stream)

    print(
        "  two objects per image, each class's heatmap on its own object:", file=stream
    )
    for score in scoring.SCORES:
        results[f"pairs_{score}"] = two_object_pointing(
            model, pairs, layer_name, score=score
        )
        print(
            f"    Grad-CAM, score={score!r:<9} {results[f'pairs_{score}']:.1%}",
            file=stream,
        )

    print("  sanity check, same architecture with re-initialized weights:", file=stream)
    random_model = randomized_model(name)
    for score in scoring.SCORES:
        # Explain the class the trained model chose, so that only the weights differ.
        trained_maps, classes = trained[score]
        random_maps, _ = gradcam.gradcam_heatmaps(
            random_model, singles.images, layer_name, classes, score=score
        )
        results[f"random_pointing_{score}"] = pointing_game(random_maps, singles.masks)
        results[f"random_rank_correlation_{score}"] = rank_correlation(
            trained_maps, random_maps
        )
        print(
            f"    score={score!r:<9} pointing game "
            f"{results[f'random_pointing_{score}']:.1%}, rank correlation with the "
            f"trained heatmaps {results[f'random_rank_correlation_{score}']:+.2f}",
            file=stream,
        )

    middle_layer = middle_layer or filters.middle_layer(model)
    check = filter_ascent_check(
        model, middle_layer, singles.images, num_filters=num_ascent_filters
    )
    results["filter_ascent"] = check
    print(
        f"  filter ascent at {middle_layer!r}: the 30-step pattern beats the most "
        f"exciting of {num_images} test images for {check['fraction']:.1%} of the "
        f"first {check['num_filters']} filters (median loss: pattern "
        f"{check['median_pattern_loss']:.3f}, best image "
        f"{check['median_best_image_loss']:.3f})",
        file=stream,
    )
    return results
