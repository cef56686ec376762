"""Measure the embedded default: the data, and every shipped model on test images.

``convviz evaluate --out out/`` (:func:`evaluate_all`) prints the data summary
(class balance, how often the image centre falls on an object), then for each
shipped model its size and its quality on the ``test`` split, which training
never saw; and writes example figures.
"""

from __future__ import annotations

import pathlib
import sys

import numpy as np

from convviz_ref import (
    attribution,
    crossed,
    data,
    plotting,
    segmentation,
    shape_bias,
    shortcut,
)
from convviz_ref.models import PRETRAINED_DIR, load_manifest, load_pretrained
from convviz_ref.pretrained import CLASSIFIERS


def summarize_data(image_size=96, seed=0, stream=None, *, num_images=None):
    """Print and return :func:`convviz_ref.data.summarize_shapes` for every split.

    Each split's first ``num_images`` (all of it for None), with one object
    and with two.
    """
    stream = stream or sys.stdout
    summaries = {}
    print(
        f"Data: the shapes dataset (seed {seed}, {image_size}x{image_size})",
        file=stream,
    )
    print(
        f"  {'split':<14}{'images':>7}  {'per class':<22}{'object area':>12}"
        f"{'cut by border':>15}{'centre on object':>18}",
        file=stream,
    )
    for num_objects in (1, 2):
        for split in data.SPLIT_SIZES:
            n = None if num_images is None else min(num_images, data.SPLIT_SIZES[split])
            shapes = data.load_shapes(
                split, n, image_size=image_size, num_objects=num_objects, seed=seed
            )
            summary = data.summarize_shapes(shapes)
            summaries[(split, num_objects)] = summary
            name = f"{split} ({num_objects} obj)"
            print(
                f"  {name:<14}{summary['num_images']:>7}  "
                f"{str(summary['class_counts']):<22}"
                f"{summary['object_area']:>12.1%}{summary['cut_by_border']:>15.1%}"
                f"{summary['center_on_object']:>18.1%}",
                file=stream,
            )
    return summaries


def evaluate_classifier(name, test, stream=None):
    """Accuracy (overall and per class) of a shipped classifier on a test split."""
    stream = stream or sys.stdout
    model, class_names = load_pretrained(name)
    probabilities = model.predict(
        test.images, batch_size=attribution.BATCH_SIZE, verbose=0
    )
    predictions = probabilities.argmax(axis=-1)
    accuracy = float((predictions == test.labels).mean())
    per_class = [
        float((predictions[test.labels == k] == k).mean())
        for k in range(len(class_names))
    ]
    size_mb = _file_mb(name)
    shares = ", ".join(f"{c} {a:.1%}" for c, a in zip(class_names, per_class))
    print(
        f"  {name:<15} params {model.count_params():>9,}  file {size_mb:5.2f} MB  "
        f"test accuracy {accuracy:.2%}  per class {shares}",
        file=stream,
    )
    return {
        "accuracy": accuracy,
        "per_class": per_class,
        "params": model.count_params(),
        "size_mb": size_mb,
    }


def evaluate_texture_independence(name, test, stream=None):
    """A classifier's accuracy with its classes' own textures and with independent ones.

    ``test`` is a split of the plain shapes data; the second figure is on the
    same scenes drawn with a texture independent of the class
    (:func:`convviz_ref.crossed.load_crossed` with
    ``textures="independent"``), where only the shape names the class.
    """
    stream = stream or sys.stdout
    model, _ = load_pretrained(name)
    independent = crossed.load_crossed("test", len(test.images), textures="independent")
    accuracies = {
        version: float(
            np.mean(shape_bias.decide(model, images.images) == images.labels)
        )
        for version, images in (("own", test), ("independent", independent))
    }
    print(
        f"  {name:<15} file {_file_mb(name):5.2f} MB  "
        f"test accuracy, own textures {accuracies['own']:.2%}, "
        f"independent textures {accuracies['independent']:.2%}  "
        "(convviz shape-bias: which cue each model follows)",
        file=stream,
    )
    return accuracies


def _file_mb(name):
    """The size of the shipped ``NAME.keras``, in MB."""
    return (PRETRAINED_DIR / f"{name}.keras").stat().st_size / 1e6


def evaluate_segmenter(test, stream=None, label="1 object"):
    """Per-class and mean IoU of the shipped segmenter on a test split."""
    stream = stream or sys.stdout
    model, class_names = load_pretrained("segmenter")
    predicted = segmentation.predict_masks(model, test.images)
    truth = test.masks if test.masks.ndim == 3 else data.combine_masks(test.masks)
    ious = segmentation.per_class_iou(truth, predicted, num_classes=len(class_names))
    mean = segmentation.mean_iou(truth, predicted, num_classes=len(class_names))
    per_class = ", ".join(f"{c} {iou:.3f}" for c, iou in zip(class_names, ious))
    print(
        f"  segmenter ({label}) params {model.count_params():,}  "
        f"file {_file_mb('segmenter'):.2f} MB  mean IoU {mean:.3f}  "
        f"per class {per_class}",
        file=stream,
    )
    return {
        "mean_iou": mean,
        "per_class_iou": ious.tolist(),
        "predicted": predicted,
        "truth": truth,
    }


def evaluate_all(output_dir=None, *, image_size=96, num_images=None, stream=None):
    """Print every figure of the embedded default; write examples to ``output_dir``.

    Args:
        output_dir: folder for the example figures, or None.
        image_size: int, the size the data is drawn at.
        num_images: int, the first images of each split to measure on;
            None (the default, and the figures the README quotes) for all.
        stream: where to print (default ``sys.stdout``).

    Returns:
        dict of the figures printed (for tests and scripts).
    """
    stream = stream or sys.stdout
    results = {"data": summarize_data(image_size, stream=stream, num_images=num_images)}
    test = data.load_shapes("test", num_images, image_size=image_size)
    test_pairs = data.load_shapes(
        "test", num_images, image_size=image_size, num_objects=2
    )
    print("\nClassifiers on the test split (never seen in training):", file=stream)
    for name in CLASSIFIERS:
        results[name] = evaluate_classifier(name, test, stream=stream)
    small, xception = results["small_convnet"], results["xception_like"]
    ratio, points = (
        xception["params"] / small["params"],
        100 * (xception["accuracy"] - small["accuracy"]),
    )
    print(
        f"  Xception-like vs small convnet: {ratio:.2f}x the parameters, "
        f"{points:+.1f} points of accuracy",
        file=stream,
    )
    print(
        "\nThe shortcut model, trained where 90% of the images carry a square in "
        "their class's colour, on the three versions of the test split:",
        file=stream,
    )
    results["shortcut"] = shortcut.accuracy_by_version(
        load_pretrained("shortcut").model, len(test.images)
    )
    print(
        "  "
        + ", ".join(
            f"markers {version}: {accuracy:.1%}"
            for version, accuracy in results["shortcut"].items()
        )
        + "  (convviz shortcut: where the maps point)",
        file=stream,
    )
    print(
        "\nThe shape-trained model, trained where each image's texture is drawn "
        "independently of its class, on the test split with each class's own texture "
        "and with independent textures:",
        file=stream,
    )
    results["shape_trained"] = evaluate_texture_independence(
        "shape_trained", test, stream=stream
    )
    print("\nSegmenter on the test split:", file=stream)
    results["segmenter"] = evaluate_segmenter(test, stream=stream)
    results["segmenter_pairs"] = evaluate_segmenter(
        test_pairs, stream=stream, label="2 objects"
    )
    total_mb = sum(path.stat().st_size for path in PRETRAINED_DIR.glob("*.keras")) / 1e6
    print(f"\nShipped models: {total_mb:.2f} MB in all", file=stream)
    manifest = load_manifest()
    for name, entry in manifest.items():
        print(
            f"  {name}: {entry['epochs']} epochs, seed {entry['seed']}, "
            f"{entry['num_train']} training images "
            f"(retrain: python -m convviz_ref.train {name})",
            file=stream,
        )

    if output_dir is not None:
        output_dir = pathlib.Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        figures = {
            "shapes_samples.png": plotting.plot_samples(
                test.images[:8], test.labels[:8], test.class_names, masks=test.masks[:8]
            ),
            "shapes_pairs.png": plotting.plot_samples(
                test_pairs.images[:8],
                test_pairs.labels[:8],
                test.class_names,
                masks=data.combine_masks(test_pairs.masks[:8]),
            ),
            "segmentation_test.png": plotting.plot_segmentation(
                test.images,
                results["segmenter"]["truth"],
                results["segmenter"]["predicted"],
            ),
            "segmentation_pairs.png": plotting.plot_segmentation(
                test_pairs.images,
                results["segmenter_pairs"]["truth"],
                results["segmenter_pairs"]["predicted"],
            ),
        }
        for filename, figure in figures.items():
            figure.savefig(output_dir / filename, dpi=100)
        print(
            f"\nFigures written to {output_dir}/: {', '.join(sorted(figures))}",
            file=stream,
        )
    return results
