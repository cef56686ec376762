"""All of the course's matplotlib code.

Each ``plot_*`` function takes arrays, returns a ``matplotlib.figure.Figure``
and never shows or saves it: the caller decides (``fig.savefig(path)`` in a
script, the notebook displays it by itself). :func:`save_picture` writes a
picture array itself, pixel for pixel, with no figure around it.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from convviz_ref.data import TRIMAP_NAMES

TRIMAP_COLORS = np.array([[250, 200, 40], [35, 35, 60], [240, 80, 80]], np.uint8)
"""Display colours of the trimap classes: object, background, contour."""


def colorize_mask(mask):
    """Map an int trimap ``(height, width)`` to a uint8 RGB ``(height, width, 3)``."""
    return TRIMAP_COLORS[np.asarray(mask)]


def add_trimap_legend(fig):
    """A legend of the trimap colours (object, background, contour) under the panels."""
    handles = [
        Patch(facecolor=color / 255, edgecolor="0.5", label=name)
        for color, name in zip(TRIMAP_COLORS, TRIMAP_NAMES)
    ]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=len(handles),
        frameon=False,
        fontsize=8,
    )


def _grid(num_items, num_cols, cell_size=1.6):
    num_cols = max(1, min(num_cols, num_items))
    num_rows = -(-num_items // num_cols)
    fig = Figure(
        figsize=(cell_size * num_cols, cell_size * num_rows), layout="constrained"
    )
    axes = fig.subplots(num_rows, num_cols, squeeze=False).ravel()
    for ax in axes:
        ax.axis("off")
    return fig, axes


def plot_samples(images, labels, class_names, *, masks=None, num_cols=8):
    """Show images with their class names, and their trimaps below them if given.

    Args:
        images: float32 array ``(n, height, width, 3)`` in 0..255.
        labels: int array ``(n,)`` (or ``(n, k)`` for k objects per image).
        class_names: sequence of str, indexed by label.
        masks: optional int array ``(n, height, width)`` of trimaps.
        num_cols: int, images per row.

    Returns:
        A matplotlib Figure.
    """
    images = np.asarray(images)
    num_cols = max(1, min(num_cols, len(images)))
    rows_per_image = 1 if masks is None else 2
    num_rows = -(-len(images) // num_cols) * rows_per_image
    fig, axes = _grid(num_rows * num_cols, num_cols)
    axes = axes.reshape(num_rows, num_cols)
    for index, (image, label) in enumerate(zip(images, labels)):
        row, col = divmod(index, num_cols)
        ax = axes[row * rows_per_image, col]
        ax.imshow(image.astype(np.uint8))
        ax.set_title(
            " + ".join(class_names[k] for k in np.atleast_1d(label)), fontsize=8
        )
        if masks is not None:
            axes[row * rows_per_image + 1, col].imshow(colorize_mask(masks[index]))
    if masks is not None:
        add_trimap_legend(fig)
    return fig


def plot_segmentation(images, masks_true, masks_pred, *, num_images=4):
    """One row per image: the image, its true trimap (if given), the predicted trimap.

    Args:
        images: float32 array ``(n, height, width, 3)`` in 0..255.
        masks_true: int array ``(n, height, width)``, or None when there is
            no ground truth (a photograph).
        masks_pred: int array ``(n, height, width)``.
        num_images: int, rows to show.

    Returns:
        A matplotlib Figure.
    """
    num_images = min(num_images, len(images))
    panels = (
        ["image", "true trimap", "predicted"]
        if masks_true is not None
        else ["image", "predicted"]
    )
    fig, axes = _grid(len(panels) * num_images, len(panels), cell_size=2.0)
    axes = axes.reshape(num_images, len(panels))
    for row in range(num_images):
        pictures = [np.asarray(images[row]).astype(np.uint8)]
        if masks_true is not None:
            pictures.append(colorize_mask(masks_true[row]))
        pictures.append(colorize_mask(masks_pred[row]))
        for ax, picture, title in zip(axes[row], pictures, panels):
            ax.imshow(picture)
            if row == 0:
                ax.set_title(title)
    add_trimap_legend(fig)
    return fig


def plot_history(history, metric="accuracy"):
    """Training curves: ``metric`` and ``val_<metric>`` per epoch of a Keras history."""
    fig = Figure(figsize=(5, 3.2), layout="constrained")
    ax = fig.subplots()
    epochs = np.arange(1, len(history[metric]) + 1)
    ax.plot(epochs, history[metric], "o-", label=f"training {metric}")
    if f"val_{metric}" in history:
        ax.plot(epochs, history[f"val_{metric}"], "s--", label=f"validation {metric}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs only
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.legend()
    return fig


def plot_channel_grid(grid, layer_name, *, pixels_per_inch=48):
    """One layer's channel grid (``activations.channel_grid``), titled with its name.

    Args:
        grid: uint8 array ``(height, width)``.
        layer_name: str.
        pixels_per_inch: float, how many grid pixels per inch of figure.

    Returns:
        A matplotlib Figure (viridis colours, as in the book).
    """
    height, width = grid.shape
    fig = Figure(
        figsize=(
            max(2.0, width / pixels_per_inch),
            max(1.0, height / pixels_per_inch) + 0.4,
        ),
        layout="constrained",
    )
    ax = fig.subplots()
    ax.imshow(grid, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_title(layer_name)
    ax.axis("off")
    return fig


def plot_filter_grid(grid, title):
    """A stitched grid of filter patterns (from ``filters.stitch``), with a title.

    The figure has the grid's aspect ratio (plus a strip for the title), so a
    grid of 4 rows gets no empty band around it.
    """
    height, width = grid.shape[:2]
    fig_width = max(3.0, width / 100)
    fig = Figure(
        figsize=(fig_width, fig_width * height / width + 0.4), layout="constrained"
    )
    ax = fig.subplots()
    ax.imshow(grid)
    ax.set_title(title)
    ax.axis("off")
    return fig


def save_picture(path, picture):
    """Write a uint8 picture ``(height, width, 3)`` to ``path`` as it is (PNG).

    Each array element is one pixel: no figure, no scaling.
    """
    import keras

    keras.utils.save_img(path, picture, scale=False)


def plot_gradcam(image, heatmap, superimposed, *, title=None):
    """Three panels: the image, the raw heatmap (its own grid), and the overlay.

    Args:
        image: array ``(height, width, 3)`` in 0..255.
        heatmap: float array ``(h, w)`` in [0, 1].
        superimposed: uint8 array ``(height, width, 3)`` from ``gradcam.overlay``.
        title: str or None, a title over the three panels.

    Returns:
        A matplotlib Figure.
    """
    fig = Figure(figsize=(7.5, 2.8), layout="constrained")
    axes = fig.subplots(1, 3)
    axes[0].imshow(np.asarray(image).astype(np.uint8))
    axes[0].set_title("image")
    axes[1].imshow(heatmap, cmap="jet", vmin=0, vmax=1)
    axes[1].set_title(f"heatmap {heatmap.shape[0]}x{heatmap.shape[1]}")
    axes[2].imshow(superimposed)
    axes[2].set_title("overlay")
    for ax in axes:
        ax.axis("off")
    if title:
        fig.suptitle(title)
    return fig


def plot_method_maps(images, maps_by_method, titles=None, *, cmap="jet"):
    """Every method's map of the same images: a row per image, the image then the maps.

    Each map is drawn at its own resolution, stretched over the image's
    extent and half transparent over it, so a 6x6 CAM map shows its cells.

    Args:
        images: array ``(n, height, width, 3)`` in 0..255.
        maps_by_method: dict, method name to float maps ``(n, h, w)`` in [0, 1].
        titles: dict, method name to its column title (default: the name).
        cmap: str, a name in ``matplotlib.colormaps``.

    Returns:
        A matplotlib Figure.
    """
    images = np.asarray(images)
    titles = titles or {}
    num_cols = len(maps_by_method) + 1
    fig = Figure(
        figsize=(1.3 * num_cols, 1.3 * len(images) + 0.3), layout="constrained"
    )
    axes = fig.subplots(len(images), num_cols, squeeze=False)
    extent = (0, images.shape[2], images.shape[1], 0)
    for row, image in enumerate(images):
        axes[row, 0].imshow(image.astype(np.uint8))
        for col, (method, maps) in enumerate(maps_by_method.items(), start=1):
            axes[row, col].imshow(image.astype(np.uint8), alpha=0.5)
            axes[row, col].imshow(
                maps[row], cmap=cmap, vmin=0, vmax=1, alpha=0.6, extent=extent
            )
            if row == 0:
                axes[row, col].set_title(titles.get(method, method), fontsize=7)
    axes[0, 0].set_title("image", fontsize=7)
    for ax in axes.ravel():
        ax.axis("off")
    return fig


def plot_randomization(blocks, correlations, titles=None):
    """Cascading randomization: rank correlation with the trained maps, per block.

    The blocks are re-initialized from the top down.

    Args:
        blocks: the block re-initialized at each step, output first.
        correlations: dict, method name to one correlation per step.
        titles: dict, method name to its label (default: the name).

    Returns:
        A matplotlib Figure.
    """
    titles = titles or {}
    fig = Figure(figsize=(6.5, 3.6), layout="constrained")
    ax = fig.subplots()
    steps = np.arange(len(blocks))
    for method, values in correlations.items():
        ax.plot(steps, values, marker="o", label=titles.get(method, method))
    ax.axhline(0.0, color="0.6", linewidth=0.8)
    ax.set_xticks(steps, [f"+{block}" for block in blocks], rotation=30, fontsize=8)
    ax.set_xlabel("re-initialized, from the output down")
    ax.set_ylabel("Spearman correlation with trained maps")
    ax.set_ylim(-0.3, 1.05)
    fig.legend(fontsize=7, loc="outside right upper")
    return fig


def plot_deletion_insertion(deletion, insertion, titles=None):
    """Deletion and insertion curves of one image, one line per method.

    Args:
        deletion: dict, method name to the class probability as pixels are
            removed, ``steps + 1`` values (see
            :func:`convviz_ref.faithfulness.deletion_insertion`).
        insertion: dict of the same kind, as pixels are put back.
        titles: dict, method name to its label (default: the name).

    Returns:
        A matplotlib Figure with two panels; the legend gives each curve's area.
    """
    titles = titles or {}
    fig = Figure(figsize=(8.5, 3.4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, curves, name in (
        (axes[0], deletion, "deletion (lower is better)"),
        (axes[1], insertion, "insertion (higher is better)"),
    ):
        for method, curve in curves.items():
            curve = np.asarray(curve, dtype=np.float64)
            fractions = np.linspace(0, 1, len(curve))
            area = (curve[1:] + curve[:-1]).sum() / (2 * (len(curve) - 1))
            ax.plot(
                fractions,
                curve,
                marker=".",
                label=f"{titles.get(method, method)} ({area:.2f})",
            )
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("fraction of pixels, in the map's order")
        ax.legend(fontsize=6)
    axes[0].set_ylabel("probability of the class")
    axes[0].set_ylim(-0.02, 1.02)
    return fig


def plot_tcav(result, *, alpha=0.05):
    """A bar chart: each class's mean TCAV score per concept, beside random CAVs.

    Bars show the mean over the concept's CAVs with their standard deviation;
    the grey bar is the random CAVs'; ``*`` marks a significant pair
    (:meth:`convviz_ref.tcav.TCAVResult.significant` at ``alpha``).

    Args:
        result: a :class:`convviz_ref.tcav.TCAVResult`.
    """
    names = (*result.concept_names, "random")
    means = np.vstack([result.scores.mean(axis=1), result.random_scores.mean(0)])
    spreads = np.vstack([result.scores.std(axis=1), result.random_scores.std(0)])
    significant = result.significant(alpha)
    classes = len(result.class_names)
    width = 0.8 / len(names)
    fig = Figure(figsize=(1.8 + 1.6 * classes, 3.2), layout="constrained")
    ax = fig.subplots()
    for index, name in enumerate(names):
        positions = np.arange(classes) + (index - (len(names) - 1) / 2) * width
        ax.bar(
            positions,
            means[index],
            width,
            yerr=spreads[index],
            label=name,
            color="0.6" if name == "random" else None,
            capsize=2,
        )
        if name != "random":
            for k in np.flatnonzero(significant[index]):
                ax.text(positions[k], 1.02, "*", ha="center", fontsize=9)
    ax.set_xticks(np.arange(classes), result.class_names)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("TCAV score")
    ax.set_title(
        f"TCAV at {result.where} (* p < {alpha} / {significant.size})", fontsize=9
    )
    ax.legend(
        fontsize=7, ncols=len(names), loc="upper center", bbox_to_anchor=(0.5, -0.1)
    )
    return fig


def plot_dissection(layer_name, results, *, cutoff=0.04):
    """Each unit's best IoU, coloured by its best concept, one panel per variant.

    Bars sorted by IoU; the dashed line is Bau's cut-off (``cutoff``), the
    black ticks each unit's null threshold (the 99th percentile of its
    shuffled best IoUs); a hatched bar is a detector by both rules.

    Args:
        layer_name: str, for the titles.
        results: dict variant -> :class:`convviz_ref.dissection.Dissection`
            (:func:`convviz_ref.dissection_report.dissect_layer`).
    """
    import matplotlib

    first = next(iter(results.values()))
    names = first.concept_names
    colours = matplotlib.colormaps["tab20"](np.arange(len(names)) % 20)
    fig = Figure(figsize=(8, 2.2 * len(results) + 0.6), layout="constrained")
    axes = fig.subplots(len(results), 1, squeeze=False)[:, 0]
    top = max(0.05, *(result.best_iou.max() for result in results.values())) * 1.1
    for ax, (variant, result) in zip(axes, results.items()):
        order = np.argsort(-result.best_iou, kind="stable")
        positions = np.arange(len(order))
        bars = ax.bar(
            positions,
            result.best_iou[order],
            color=colours[result.best_concept[order]],
            width=0.9,
        )
        detectors = result.detectors("both")[order]
        for bar, detector in zip(bars, detectors):
            if detector:
                bar.set_hatch("//")
        ax.scatter(
            positions,
            np.minimum(result.null_threshold[order], top),
            marker="_",
            color="k",
            s=30,
        )
        ax.axhline(cutoff, color="k", linestyle="--", linewidth=0.8)
        unique = len(set(result.best_concept[result.detectors("both")].tolist()))
        ax.set_title(f"{layer_name}, {variant}: {unique} unique detectors", fontsize=9)
        ax.set_ylim(0, top)
        ax.set_xticks([])
        ax.set_ylabel("best IoU", fontsize=8)
    handles = [
        Patch(color=colours[index], label=name) for index, name in enumerate(names)
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=6, fontsize=7)
    return fig


def plot_pictures_and_examples(pictures, examples, units, *, title=None):
    """Each unit's feature picture beside its top-activating dataset crops, a row each.

    Column 0 is the unit's picture, about one figure pixel per picture pixel
    at 100 dpi (resampled with matplotlib's antialiasing, so a fine texture
    shows no moire); the next ``count`` columns are its crops, strongest
    first (titled ``top 1``, ``top 2``...), each labelled with the unit's
    activation there and magnified to 0.8 inch with nearest-neighbour
    interpolation (visible pixel blocks, no smoothing that would invent
    texture). The row is labelled with the unit's index.

    Args:
        pictures: array ``(units, height, width, 3)`` in 0..255.
        examples: a :class:`convviz_ref.dataset_examples.Examples` with
            ``crops`` ``(units, count, size, size, 3)`` in 0..255 (any dtype)
            and ``values`` ``(units, count)``.
        units: sequence of int, the unit index of each row.
        title: str or None, a title over the rows.

    Returns:
        A matplotlib Figure.

    Raises:
        ValueError: if ``pictures``, ``examples.crops`` and ``units`` do not
            have the same number of units (at least one).
    """
    pictures = np.clip(pictures, 0, 255).astype(np.uint8)
    crops = np.clip(examples.crops, 0, 255).astype(np.uint8)
    values = np.asarray(examples.values)
    if not len(pictures) == len(crops) == len(units) > 0:
        raise ValueError(
            f"need as many pictures ({len(pictures)}) as rows of crops "
            f"({len(crops)}) and units ({len(units)}), at least one"
        )
    count = crops.shape[1]
    fig = Figure(
        figsize=(0.8 * count + 1.6, 1.15 * len(units) + (0.5 if title else 0.3)),
        layout="constrained",
    )
    axes = fig.subplots(
        len(units), count + 1, squeeze=False, width_ratios=[1.35] + [1] * count
    )
    for row, unit in enumerate(units):
        axes[row, 0].imshow(pictures[row], interpolation="antialiased")
        axes[row, 0].set_ylabel(f"unit {unit}", fontsize=8)
        for col in range(count):
            ax = axes[row, col + 1]
            ax.imshow(crops[row, col], interpolation="nearest")
            ax.set_xlabel(f"{values[row, col]:.3g}", fontsize=6, labelpad=1)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0, 0].set_title("picture", fontsize=8)
    for col in range(count):
        axes[0, col + 1].set_title(f"top {col + 1}", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
