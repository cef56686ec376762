"""Cost of the concept tools against today's regularized grid, side by side.

``convviz benchmark --concepts`` times, on one model and layer, in the style
of :mod:`convviz_ref.benchmark` (a warm-up call each, then the calls in
turn, repeat after repeat; medians; ratios are medians of per-repeat
ratios):

- ``regularized``: today's 64-filter regularized grid
  (:func:`convviz_ref.filters.generate_regularized_patterns`), the reference;
- ``dissect``: dissecting the layer on the crossed probe set as
  ``convviz dissect`` does
  (:func:`convviz_ref.dissection_report.dissect_layer`, 400 images, 200
  shuffles);
- ``pictures``: a 64-unit grid of the new feature pictures
  (:func:`convviz_ref.feature_pictures.generate_feature_pictures`);
- the book-sized calls: ``dissect_book`` (200 images) and
  ``pictures_book`` (8 units).

What it checks: ``dissect`` and ``pictures`` no slower than
``regularized`` (ratio <= 1).
"""

from __future__ import annotations

import statistics
import sys

from convviz_ref.benchmark import interleaved_times, median_ratio

BOOK_IMAGES, BOOK_UNITS = 200, 8
"""The book-sized calls: probe images dissected, units pictured."""


def concept_calls(model, layer_name, *, num_units=64, num_images=400):
    """The calls :func:`benchmark_concepts` times: dict name -> function.

    Names: ``regularized``, ``dissect``, ``pictures``, ``dissect_book``,
    ``pictures_book`` (see the module's docstring); each function takes no
    argument and returns what its library function returns.
    """
    from convviz_ref import dissection_report, feature_pictures, filters

    extractor = filters.build_feature_extractor(model, layer_name)

    def regularized():
        return filters.generate_regularized_patterns(
            extractor, range(num_units), seed=0, progress=False
        )

    def pictures(units):
        return lambda: feature_pictures.generate_feature_pictures(
            extractor, range(units), seed=0, progress=False
        )

    def dissect(images):
        return lambda: dissection_report.dissect_layer(
            model, layer_name, num_images=images
        )

    return {
        "regularized": regularized,
        "dissect": dissect(num_images),
        "pictures": pictures(num_units),
        "dissect_book": dissect(BOOK_IMAGES),
        "pictures_book": pictures(BOOK_UNITS),
    }


def benchmark_concepts(functions, repeats=3):
    """Median seconds of each call and its ratio to ``regularized``.

    Args:
        functions: dict name -> function of no argument, with a
            ``"regularized"`` entry (:func:`concept_calls`).
        repeats: int, timed calls of each.

    Returns:
        dict name -> ``{"seconds": median, "ratio": median of per-repeat
        seconds / regularized's}``.

    Raises:
        ValueError: no ``"regularized"`` entry.
    """
    if "regularized" not in functions:
        raise ValueError("the calls must include 'regularized', the reference")
    times = interleaved_times(functions, repeats)
    return {
        name: {
            "seconds": statistics.median(seconds),
            "ratio": median_ratio(seconds, times["regularized"]),
        }
        for name, seconds in times.items()
    }


LABELS = {
    "regularized": "64-filter regularized grid (reference)",
    "dissect": "dissect the layer, 400 probe images",
    "pictures": "64 new feature pictures",
    "dissect_book": f"dissect the layer, {BOOK_IMAGES} probe images",
    "pictures_book": f"{BOOK_UNITS} new feature pictures",
}
"""What :func:`run_concept_benchmark` prints for each call."""


def run_concept_benchmark(
    name="xception_like", layer_name=None, *, repeats=3, stream=None
):
    """Print and return :func:`benchmark_concepts` for a shipped classifier."""
    from convviz_ref import filters
    from convviz_ref.models import load_pretrained

    stream = stream or sys.stdout
    model, _ = load_pretrained(name)
    layer_name = layer_name or filters.middle_layer(model)
    costs = benchmark_concepts(concept_calls(model, layer_name), repeats=repeats)
    print(
        f"Concept tools against the regularized grid at {name}/{layer_name} "
        f"(median of {repeats}, ratio to the grid):",
        file=stream,
    )
    for key, cost in costs.items():
        print(
            f"  {LABELS.get(key, key):<42}{cost['seconds']:7.2f} s"
            f"{cost['ratio']:7.2f}x",
            file=stream,
        )
    return costs
