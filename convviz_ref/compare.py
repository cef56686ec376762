"""Explanations on trial: every attribution method against the pixel ground truth.

What ``convviz faithfulness --methods`` runs, for example::

    convviz faithfulness --methods all                 # every method, 200 images
    convviz faithfulness --methods gradcam,occlusion --num-images 50

For each method of :data:`convviz_ref.methods.METHODS`, on the same
held-out test images of the shapes dataset, and for two model-free
baselines (a map of random noise, and a bump at the image centre), one row
of a leaderboard:

* **pointing**: the map's maximum is on the object
  (:func:`~convviz_ref.faithfulness.pointing_game`);
* **energy**: the share of the positive map on the object
  (:func:`~convviz_ref.faithfulness.energy_pointing_game`);
* **deletion** / **insertion**: areas under the probability curves as pixels
  are removed / put back in the map's order
  (:func:`~convviz_ref.faithfulness.deletion_insertion`; lower / higher is
  better);
* **own object**: on two-object images, each class's map peaks on that
  class's object;
* **seconds / image**: the method's time, measured in the same run.

Then the cascading randomization sanity check
(:func:`~convviz_ref.faithfulness.cascading_randomization`) on a few of the
images, and two figures: every method's map on the same six images, and the
sanity-check curves.
"""

from __future__ import annotations

import csv
import pathlib
import sys
import time
from typing import NamedTuple

import numpy as np

from convviz_ref import attribution, data, faithfulness, plotting, scoring, stats
from convviz_ref.methods import METHODS, get_method
from convviz_ref.models import LAST_CONV_LAYERS, load_pretrained

BASELINES = ("random", "centre")
"""The model-free rows of the leaderboard."""

COLUMNS = (
    "method",
    "family",
    "resolution",
    "pointing",
    "energy",
    "deletion",
    "insertion",
    "own_object",
    "seconds_per_image",
)
"""The leaderboard's columns, in the order of the CSV file and the printed table."""


class Leaderboard(NamedTuple):
    """What :func:`compare_methods` returns.

    Attributes:
        rows: list of dicts with the keys of :data:`COLUMNS`, methods then baselines.
        blocks: the blocks re-initialized at each step of the sanity check.
        correlations: method name to its rank correlation with the trained
            maps, one per step.
        examples: method name to its maps of the first six images (for the figure).
        completeness: Integrated Gradients' completeness gaps (``median``,
            ``p90``, ``max`` over the images), or None without that method.
        sanity_images: int, the images of the sanity check asked for.
        per_image: each row's method name to its measures per image
            (:func:`image_measures`, plus ``own_object``: one hit or miss per
            two-object image and class), from which a row's means come; the
            sample an interval or a paired test needs.
        sanity_per_image: method name to its sanity-check correlations per
            image, float ``(steps, images)``.
    """

    rows: list
    blocks: list
    correlations: dict
    examples: dict
    completeness: dict | None
    sanity_images: int
    per_image: dict | None = None
    sanity_per_image: dict | None = None


def baseline_maps(kind, num_images, image_size, seed=0):
    """Maps that look at no model.

    ``kind`` is ``"random"`` (uniform noise) or ``"centre"`` (a Gaussian bump).

    Returns:
        float32 ``(num_images, image_size, image_size)`` in [0, 1].
    """
    if kind == "random":
        return (
            np.random.default_rng(seed)
            .random((num_images, image_size, image_size))
            .astype(np.float32)
        )
    if kind == "centre":
        coordinates = (np.arange(image_size) - (image_size - 1) / 2) / image_size
        bump = np.exp(
            -(coordinates[:, None] ** 2 + coordinates[None, :] ** 2) / (2 * 0.25**2)
        )
        return np.broadcast_to(
            bump.astype(np.float32), (num_images, image_size, image_size)
        ).copy()
    raise ValueError(f"unknown baseline {kind!r}; choose one of {BASELINES}")


def parse_methods(text):
    """The methods named by ``text``: ``"all"`` or names separated by commas.

    Returns:
        list of names of :data:`~convviz_ref.methods.METHODS`.

    Raises:
        ValueError: for an unknown name or no name at all.
    """
    if text in (None, "all"):
        return list(METHODS)
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        get_method(name)  # a one-line error listing the valid names
    if not names:
        raise ValueError("no method given; use 'all' or names separated by commas")
    return names


def parse_steps(text):
    """The numbers of steps named by ``text``, numbers separated by commas.

    Returns:
        list of int, ascending (see :func:`~convviz_ref.attribution.nested_steps`).

    Raises:
        ValueError: for anything but whole numbers, a number below 1, or a
            number that does not divide the largest; the message quotes
            ``--steps``, the option that takes the list.
    """
    try:
        numbers = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(
            f"--steps takes whole numbers separated by commas, got {text!r}"
        ) from None
    try:
        return attribution.nested_steps(numbers)
    except ValueError as error:
        raise ValueError(f"--steps {text}: {error}") from None


def image_measures(model, images, masks, classes, maps, *, deletion_steps):
    """The ground-truth measures of some maps, per image.

    Returns:
        dict of float ``(n,)`` arrays: ``pointing`` (1 for a hit, 0 for a
        miss), ``energy``, ``deletion`` and ``insertion`` (the areas under
        the curves), each image's value of the measure :func:`score_maps`
        averages.
    """
    deletion, insertion = faithfulness.deletion_insertion(
        model, images, maps, classes, steps=deletion_steps
    )
    return {
        "pointing": faithfulness.pointing_hits(maps, masks),
        "energy": faithfulness.energy_shares(maps, masks),
        "deletion": faithfulness.area_under_curve(deletion),
        "insertion": faithfulness.area_under_curve(insertion),
    }


def score_maps(model, images, masks, classes, maps, *, deletion_steps):
    """The ground-truth measures of some maps: pointing, energy, deletion, insertion.

    The means over the images of :func:`image_measures`.
    """
    measures = image_measures(
        model, images, masks, classes, maps, deletion_steps=deletion_steps
    )
    return {name: float(values.mean()) for name, values in measures.items()}


def own_object_hits(maps, pairs):
    """Whether each class's map peaks on that class's own object: float ``(2n,)``.

    ``maps`` holds the ``n`` two-object images of ``pairs`` explained for their
    first class, then for their second; 1 for a hit, 0 for a miss.
    """
    masks = np.concatenate([pairs.masks[:, 0], pairs.masks[:, 1]])
    return faithfulness.pointing_hits(maps, masks)


def own_object_maps(model, pairs, method, *, layer_name, score):
    """Two-object images explained for each of their classes: ``(2n, h, w)``.

    One call explains every image for both of its classes (the first class of
    every image, then the second), so the perturbation methods mask each image
    once for the two.
    """
    maps, _ = attribution.explain(
        model,
        np.concatenate([pairs.images, pairs.images]),
        method,
        np.concatenate([pairs.labels[:, 0], pairs.labels[:, 1]]),
        layer_name=layer_name,
        score=score,
    )
    return maps


def own_object_pointing(model, pairs, method, *, layer_name, score):
    """Two-object images: how often each class's map peaks on that class's own object.

    The mean of :func:`own_object_hits` for :func:`own_object_maps`.
    """
    maps = own_object_maps(model, pairs, method, layer_name=layer_name, score=score)
    return float(own_object_hits(maps, pairs).mean())


def compare_methods(
    name="xception_like",
    methods=None,
    *,
    num_images=200,
    num_pairs=50,
    num_sanity=12,
    sanity_methods=None,
    score="logit",
    deletion_steps=10,
    stream=None,
    model=None,
):
    """Compute the leaderboard and the sanity check for one shipped classifier.

    Args:
        name: ``"xception_like"`` or ``"small_convnet"``.
        methods: names of :data:`~convviz_ref.methods.METHODS`; None for all.
        num_images: int, one-object test images for the four measures.
        num_pairs: int, two-object test images for the own-object pointing.
        num_sanity: int, test images for the cascading randomization (it
            explains them once per block, so it costs several leaderboards'
            worth per image).
        sanity_methods: the methods of the sanity check; None for ``methods``.
        score: ``"logit"`` or ``"output"``, for every method.
        deletion_steps: int, the number of intervals of the deletion and
            insertion curves.
        stream: where progress lines go (default ``sys.stdout``).
        model: the shipped classifier ``name``, already loaded (its traced
            steps are reused); None loads it.

    Returns:
        A :class:`Leaderboard`.
    """
    stream = stream or sys.stdout
    methods = list(METHODS) if methods is None else list(methods)
    if model is None:
        model, _ = load_pretrained(name)
    layer_name = LAST_CONV_LAYERS[name]
    singles = data.load_shapes("test", n=num_images)
    pairs = data.load_shapes("test", n=num_pairs, num_objects=2)
    image_size = singles.images.shape[1]
    classes = scoring.top_classes(
        model, singles.images
    )  # every method explains the model's top class
    rows, examples, completeness, per_image = [], {}, None, {}

    def row(method, family, resolution, maps, own_hits, seconds):
        measures = image_measures(
            model,
            singles.images,
            singles.masks,
            classes,
            maps,
            deletion_steps=deletion_steps,
        )
        per_image[method] = {**measures, "own_object": own_hits}
        return {
            "method": method,
            "family": family,
            "resolution": resolution,
            **{name: float(values.mean()) for name, values in measures.items()},
            "own_object": float(own_hits.mean()),
            "seconds_per_image": seconds,
        }

    for method in methods:
        entry = get_method(method)
        layer = layer_name if entry.needs_layer else None
        start = time.perf_counter()
        raw = attribution.attribute(
            model, singles.images, method, classes, layer_name=layer, score=score
        )
        # What attribution.explain returns, with the raw values kept.
        maps = attribution.to_maps(method, raw)
        seconds = (time.perf_counter() - start) / num_images
        if method == "integrated_gradients":
            gaps = attribution.completeness_gap(
                model, singles.images, raw, classes, score=score
            )
            completeness = {
                "median": float(np.median(gaps)),
                "p90": float(np.percentile(gaps, 90)),
                "max": float(gaps.max()),
            }
            print(
                "  Integrated Gradients' completeness gap "
                "|sum - (y(x) - y(black))| / |y(x) - y(black)|: "
                f"median {completeness['median']:.2%}, "
                f"90th percentile {completeness['p90']:.2%}, "
                f"max {completeness['max']:.2%}",
                file=stream,
            )
        own = own_object_hits(
            own_object_maps(model, pairs, method, layer_name=layer, score=score),
            pairs,
        )
        rows.append(row(method, entry.family, entry.resolution, maps, own, seconds))
        examples[method] = maps[:6]
        print(
            f"  {entry.title:<22} pointing {rows[-1]['pointing']:.1%}, "
            f"{seconds * 1000:.0f} ms per image",
            file=stream,
            flush=True,
        )
    for kind in BASELINES:
        pair_maps = baseline_maps(kind, num_pairs, image_size, seed=1)
        own = own_object_hits(np.concatenate([pair_maps, pair_maps]), pairs)
        maps = baseline_maps(kind, num_images, image_size)
        rows.append(row(f"baseline: {kind}", "baseline", "image", maps, own, 0.0))

    fresh = faithfulness.randomized_model(name)
    blocks, sanity_per_image = faithfulness.cascading_randomization(
        model,
        fresh,
        singles.images[:num_sanity],
        classes[:num_sanity],
        methods if sanity_methods is None else list(sanity_methods),
        layer_name=layer_name,
        score=score,
        per_image=True,
    )
    sanity_per_image = {
        method: np.array(steps) for method, steps in sanity_per_image.items()
    }
    correlations = {
        method: [float(step.mean()) for step in steps]
        for method, steps in sanity_per_image.items()
    }
    return Leaderboard(
        rows,
        blocks,
        correlations,
        examples,
        completeness,
        num_sanity,
        per_image,
        sanity_per_image,
    )


def format_table(rows):
    """The leaderboard as a Markdown table.

    Percentages, the areas under the curves to three decimals, milliseconds.
    """
    header = (
        "| method | family | resolution | pointing | energy | "
        "deletion (lower is better) | insertion | own object | ms / image |"
    )
    lines = [header, "|" + " --- |" * 9]
    for row in rows:
        lines.append(
            f"| {row['method']} | {row['family']} | {row['resolution']} | "
            f"{row['pointing']:.1%} | {row['energy']:.1%} | "
            f"{row['deletion']:.3f} | {row['insertion']:.3f} | "
            f"{row['own_object']:.1%} | {row['seconds_per_image'] * 1000:.0f} |"
        )
    return "\n".join(lines)


HIT_MEASURES = ("pointing", "own_object")
"""The measures that are a hit or a miss per image (the others are a number)."""


def measure_interval(values, measure):
    """``(low, high)``: the 95 % interval of a leaderboard measure's mean.

    The Wilson interval (:func:`~convviz_ref.stats.proportion_interval`) for
    the hit rates of :data:`HIT_MEASURES`, the bootstrap interval of the mean
    (:func:`~convviz_ref.stats.mean_interval`) for the others.
    """
    values = np.asarray(values, dtype=np.float64)
    if measure in HIT_MEASURES:
        return stats.proportion_interval(int(values.sum()), len(values))
    return stats.mean_interval(values)


def format_intervals(board, measures=("pointing", "energy", "own_object")):
    """Some columns of the leaderboard as a Markdown table, each with its interval.

    Each cell is the mean over the images and, in brackets, its 95 %
    interval (:func:`measure_interval`), from :attr:`Leaderboard.per_image`.
    """
    lines = [
        "| method | " + " | ".join(measures) + " |",
        "|" + " --- |" * (len(measures) + 1),
    ]
    percent = {"pointing", "energy", "own_object"}
    for method, values in board.per_image.items():
        cells = []
        for measure in measures:
            low, high = measure_interval(values[measure], measure)
            mean = float(np.mean(values[measure]))
            spec = ".0%" if measure in percent else ".3f"
            cells.append(f"{mean:{spec}} [{low:{spec}}, {high:{spec}}]")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_sanity(blocks, correlations):
    """The sanity check as a Markdown table.

    One row per method, one column per step of the randomization.
    """
    lines = [
        "| method | " + " | ".join(f"+{block}" for block in blocks) + " |",
        "|" + " --- |" * (len(blocks) + 1),
    ]
    for method, values in correlations.items():
        lines.append(
            f"| {method} | " + " | ".join(f"{value:+.2f}" for value in values) + " |"
        )
    return "\n".join(lines)


def format_completeness(gaps_by_steps, threshold=0.01):
    """Completeness gaps as a Markdown table, a row per number of steps.

    ``gaps_by_steps`` is what
    :func:`~convviz_ref.attribution.completeness_by_steps` returns.

    Columns: the median, 90th percentile and maximum gap over the images, and
    how many images are over ``threshold`` (1 % by default, Sundararajan et al.
    suggest 5 %).
    """
    lines = [
        f"| steps | median | 90th percentile | max | images over {threshold:.0%} |",
        "|" + " --- |" * 5,
    ]
    for steps, gaps in gaps_by_steps.items():
        lines.append(
            f"| {steps} | {np.median(gaps):.2%} | {np.percentile(gaps, 90):.2%} | "
            f"{np.max(gaps):.2%} | {int((gaps > threshold).sum())} of {len(gaps)} |"
        )
    return "\n".join(lines)


def format_report(board):
    """What ``convviz faithfulness --methods`` prints after the progress lines.

    A blank line, the leaderboard (:func:`format_table`), and the cascading
    randomization (:func:`format_sanity`) under its heading.
    """
    return (
        f"\n{format_table(board.rows)}\n\n"
        f"Cascading randomization on {board.sanity_images} images: Spearman "
        "correlation with the trained maps as the blocks are re-initialized, "
        f"from the output down\n{format_sanity(board.blocks, board.correlations)}"
    )


def completeness_report(name, steps, *, num_images=200):
    """Integrated Gradients' completeness gaps, as ``convviz completeness`` prints them.

    Explains the first ``num_images`` test images of the shapes dataset with
    shipped classifier ``name`` (logit score, black baseline) at each number
    of ``steps`` (:func:`~convviz_ref.attribution.completeness_by_steps`).

    Returns:
        str: a heading line (with the seconds taken) and the table of
        :func:`format_completeness`.
    """
    model, _ = load_pretrained(name)
    images = data.load_shapes("test", n=num_images).images
    start = time.perf_counter()
    gaps = attribution.completeness_by_steps(model, images, steps=steps)
    seconds = time.perf_counter() - start
    return (
        f"Integrated Gradients on {name}, {num_images} held-out test images, logit "
        "score, black baseline: completeness gap |sum(IG) - (y(x) - y(black))| / "
        f"|y(x) - y(black)| by number of steps (one path of {max(gaps)} steps per "
        f"image, {seconds:.0f} s)\n{format_completeness(gaps)}"
    )


def write_results(board, out):
    """Write ``leaderboard.csv``, ``leaderboard.md`` and the two figures to ``out``.

    Returns:
        list of the four paths written.
    """
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [
        out / "leaderboard.csv",
        out / "leaderboard.md",
        out / "methods_side_by_side.png",
        out / "sanity_check.png",
    ]
    with paths[0].open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(board.rows)
    paths[1].write_text(
        format_table(board.rows)
        + "\n\nCascading randomization (Spearman correlation with the "
        "trained maps, top blocks re-initialized first):\n\n"
        + format_sanity(board.blocks, board.correlations)
        + "\n"
    )
    images = data.load_shapes(
        "test", n=len(next(iter(board.examples.values())))
    ).images  # six, or fewer
    titles = {method: get_method(method).title for method in board.examples}
    plotting.plot_method_maps(images, board.examples, titles).savefig(paths[2], dpi=100)
    plotting.plot_randomization(board.blocks, board.correlations, titles).savefig(
        paths[3], dpi=100
    )
    return paths
