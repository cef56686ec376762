"""Do the pictures tell the truth? Grad-CAM and filter ascent, measured against ground truth.

Usage::

    python -m convviz_ref.faithfulness          # or: convviz faithfulness

prints, on held-out test images of the shapes dataset:

* the **pointing game** (Zhang et al., "Top-down Neural Attention by
  Excitation Backprop", ECCV 2016): how often the heatmap's maximum,
  upsampled to the image (bicubic, as in the overlay), falls on the object (object or contour pixels of
  its trimap), with the book's ``score="output"`` and the paper's
  ``score="logit"``, beside two baselines that look at no model: a random
  pixel (hits with probability the object's area fraction) and the image
  centre;
* on two-object images, how often each class's heatmap peaks on that
  class's own object;
* a **sanity check** in the spirit of Adebayo et al. ("Sanity Checks for
  Saliency Maps", NeurIPS 2018): the same architecture with re-initialized
  weights should point much worse, and its heatmaps should not rank pixels
  like the trained model's (Spearman rank correlation);
* whether **filter ascent** works: the 30-step pattern of each of the first
  64 filters of a middle layer excites its filter more than the most
  exciting of 200 test images.
"""

from __future__ import annotations

import argparse
import sys

import keras
import numpy as np
from scipy import stats

from convviz_ref import data, filters, gradcam
from convviz_ref.models import BUILDERS, LAST_CONV_LAYERS, load_manifest, load_pretrained


def upsample_heatmaps(heatmaps, size):
    """Bicubic upsampling of heatmaps ``(n, h, w)`` to ``(n, size[0], size[1])``.

    Bicubic, like the overlay the reader sees (:func:`convviz_ref.gradcam.overlay`):
    between cell centres the peak can move towards the hotter neighbours,
    where bilinear upsampling keeps it at a cell centre (or on a flat
    plateau that runs to the border, for a cell on the edge).
    """
    heatmaps = np.asarray(heatmaps, dtype=np.float32)[..., None]
    return np.asarray(keras.ops.image.resize(heatmaps, size, interpolation="bicubic"))[..., 0]


def peak_locations(heatmaps, image_size):
    """Row and column of each upsampled heatmap's maximum: int arrays ``(n,)`` and ``(n,)``."""
    upsampled = upsample_heatmaps(heatmaps, (image_size, image_size))
    flat = upsampled.reshape(len(upsampled), -1).argmax(axis=1)
    return np.unravel_index(flat, (image_size, image_size))


def pointing_game(heatmaps, masks):
    """Fraction of heatmaps whose maximum falls on the object.

    Formula: ``mean_n [mask_n(argmax upsample(heatmap_n)) != background]``.

    Args:
        heatmaps: float array ``(n, h, w)``.
        masks: int trimaps ``(n, height, width)``; object and contour pixels count as hits.

    Returns:
        float in [0, 1].
    """
    masks = np.asarray(masks)
    rows, cols = peak_locations(heatmaps, masks.shape[1])
    return float((masks[np.arange(len(masks)), rows, cols] != data.BACKGROUND).mean())


def baselines(masks):
    """What a model-free guess scores: ``{"random pixel": ..., "image centre": ...}``."""
    masks = np.asarray(masks)
    on_object = masks != data.BACKGROUND
    center = masks.shape[1] // 2
    return {"random pixel": float(on_object.mean()), "image centre": float(on_object[:, center, center].mean())}


def rank_correlation(heatmaps_a, heatmaps_b):
    """Mean Spearman rank correlation between paired heatmaps ``(n, h, w)`` (NaN pairs skipped)."""
    values = []
    for a, b in zip(heatmaps_a, heatmaps_b):
        if np.ptp(a) > 0 and np.ptp(b) > 0:
            values.append(stats.spearmanr(a.ravel(), b.ravel()).statistic)
    return float(np.mean(values)) if values else float("nan")


def batched_heatmaps(model, images, layer_name, class_index=None, *, score, batch_size=50):
    """:func:`convviz_ref.gradcam.gradcam_heatmaps` over batches; returns ``(heatmaps, classes)``."""
    results = [
        gradcam.gradcam_heatmaps(model, images[start : start + batch_size], layer_name,
                                 None if class_index is None else class_index[start : start + batch_size],
                                 score=score)
        for start in range(0, len(images), batch_size)
    ]
    return np.concatenate([r[0] for r in results]), np.concatenate([r[1] for r in results])


def two_object_pointing(model, pairs, layer_name, *, score):
    """Fraction of (image, class) pairs where that class's heatmap peaks on its own object."""
    hits = []
    for which in (0, 1):
        heatmaps, _ = batched_heatmaps(model, pairs.images, layer_name, pairs.labels[:, which], score=score)
        hits.append(pointing_game(heatmaps, pairs.masks[:, which]))
    return float(np.mean(hits))


def randomized_model(name, seed=0):
    """The shipped architecture with freshly initialized (untrained) weights."""
    keras.utils.set_random_seed(seed)
    builder_args = load_manifest()[name]["builder_args"]
    return BUILDERS[name](image_size=load_manifest()[name]["image_size"], **builder_args)


def filter_ascent_check(model, layer_name, images, *, num_filters=64, iterations=30, seed=0):
    """Does the ascent pattern excite each filter more than the best real image does?

    Returns:
        dict with ``fraction`` (filters whose pattern's loss beats the
        maximum loss over ``images``), the medians over filters of the
        pattern's loss and of the best image's loss, and ``num_filters``.
    """
    extractor = filters.build_feature_extractor(model, layer_name)
    num_filters = min(num_filters, extractor.output_shape[-1])
    indices = np.arange(num_filters)
    patterns = filters.generate_filter_patterns(extractor, indices, iterations=iterations, seed=seed,
                                                progress=False)
    pattern_loss = np.array([filters.compute_loss(extractor, patterns[k : k + 1], k).numpy() for k in indices])
    activations = np.concatenate([
        np.asarray(extractor(images[start : start + 50]))[:, 2:-2, 2:-2, :num_filters].mean(axis=(1, 2))
        for start in range(0, len(images), 50)
    ])  # (num_images, num_filters): compute_loss for every image and filter
    best_image_loss = activations.max(axis=0)
    return {"fraction": float((pattern_loss > best_image_loss).mean()),
            "median_pattern_loss": float(np.median(pattern_loss)),
            "median_best_image_loss": float(np.median(best_image_loss)), "num_filters": int(num_filters)}


def evaluate_faithfulness(name="xception_like", *, num_images=200, middle_layer=None, stream=None):
    """Print and return every faithfulness figure for one shipped classifier."""
    stream = stream or sys.stdout
    model, _ = load_pretrained(name)
    layer_name = LAST_CONV_LAYERS[name]
    singles = data.load_shapes("test", n=num_images)
    pairs = data.load_shapes("test", n=num_images, num_objects=2)
    results = {"baselines": baselines(singles.masks)}
    print(f"Faithfulness of {name} (Grad-CAM at {layer_name!r}) on {num_images} held-out test images",
          file=stream)
    print("  pointing game, one object per image:", file=stream)
    trained = {}
    for score in gradcam.SCORES:
        heatmaps, classes = batched_heatmaps(model, singles.images, layer_name, score=score)
        trained[score] = heatmaps, classes
        results[f"pointing_{score}"] = pointing_game(heatmaps, singles.masks)
        print(f"    Grad-CAM, score={score!r:<9} {results[f'pointing_{score}']:.1%}", file=stream)
    for baseline, value in results["baselines"].items():
        print(f"    baseline: {baseline:<17} {value:.1%}", file=stream)

    print("  two objects per image, each class's heatmap on its own object:", file=stream)
    for score in gradcam.SCORES:
        results[f"pairs_{score}"] = two_object_pointing(model, pairs, layer_name, score=score)
        print(f"    Grad-CAM, score={score!r:<9} {results[f'pairs_{score}']:.1%}", file=stream)

    print("  sanity check, same architecture with re-initialized weights:", file=stream)
    random_model = randomized_model(name)
    for score in gradcam.SCORES:
        # Explain the class the trained model chose, so that only the weights differ.
        trained_maps, classes = trained[score]
        random_maps, _ = batched_heatmaps(random_model, singles.images, layer_name, classes, score=score)
        results[f"random_pointing_{score}"] = pointing_game(random_maps, singles.masks)
        results[f"random_rank_correlation_{score}"] = rank_correlation(trained_maps, random_maps)
        print(f"    score={score!r:<9} pointing game {results[f'random_pointing_{score}']:.1%}, rank "
              f"correlation with the trained heatmaps {results[f'random_rank_correlation_{score}']:+.2f}",
              file=stream)

    middle_layer = middle_layer or {"xception_like": "block2_sepconv2", "small_convnet": "conv3"}[name]
    check = filter_ascent_check(model, middle_layer, singles.images)
    results["filter_ascent"] = check
    print(f"  filter ascent at {middle_layer!r}: the 30-step pattern beats the most exciting of "
          f"{num_images} test images for {check['fraction']:.1%} of the first {check['num_filters']} "
          f"filters (median loss: pattern {check['median_pattern_loss']:.3f}, best image "
          f"{check['median_best_image_loss']:.3f})", file=stream)
    return results


def main(argv=None):
    """Command line: ``python -m convviz_ref.faithfulness [--model NAME] [--num-images N]``."""
    parser = argparse.ArgumentParser(prog="convviz faithfulness", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="xception_like", choices=sorted(LAST_CONV_LAYERS))
    parser.add_argument("--num-images", type=int, default=200)
    args = parser.parse_args(argv)
    evaluate_faithfulness(args.model, num_images=args.num_images)
    return 0


if __name__ == "__main__":
    sys.exit(main())
