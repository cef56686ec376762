"""Speed of the visualizations, measured side by side in one run.

Usage::

    python -m convviz_ref.benchmark            # or: convviz benchmark

1. The 64-filter grid of a middle layer: the book's loop (one filter at a
   time, one traced step at a time) against :func:`~convviz_ref.filters.
   generate_filter_patterns` (all filters in one tensor, all steps in one
   traced function), same model, same number of steps.
2. Grad-CAM of one image against one forward and backward pass of the same
   model (the least any gradient-based explanation can cost).

Each timing is the median of several repeats after a warm-up run (which
pays for tracing); the machine is noisy, so compare the ratios, not the
absolute seconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import tensorflow as tf

from convviz_ref import data, filters, gradcam
from convviz_ref.models import LAST_CONV_LAYERS, load_pretrained


def median_time(function, repeats):
    """Median wall time of ``function()`` over ``repeats`` calls, after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def benchmark_filters(model, layer_name, *, num_filters=64, iterations=30, repeats=3):
    """Seconds for the grid, one filter at a time vs batched; returns a dict with the ratio."""
    extractor = filters.build_feature_extractor(model, layer_name)

    def one_at_a_time():
        return [filters.generate_filter_pattern(extractor, index, iterations=iterations, seed=index)
                for index in range(num_filters)]

    def batched():
        return filters.generate_filter_patterns(extractor, range(num_filters), iterations=iterations,
                                                seed=0, progress=False)

    loop_seconds = median_time(one_at_a_time, repeats)
    batched_seconds = median_time(batched, repeats)
    return {"loop": loop_seconds, "batched": batched_seconds, "speedup": loop_seconds / batched_seconds}


def benchmark_gradcam(model, layer_name, image, *, repeats=20):
    """Seconds for one Grad-CAM heatmap vs one forward + backward pass of the model."""
    image = tf.constant(image)

    def forward_backward():
        with tf.GradientTape() as tape:
            tape.watch(image)
            output = model(image, training=False)
        return tape.gradient(output, image)

    def heatmap():
        return gradcam.gradcam_heatmap(model, image, layer_name)

    pass_seconds = median_time(forward_backward, repeats)
    gradcam_seconds = median_time(heatmap, repeats)
    return {"forward_backward": pass_seconds, "gradcam": gradcam_seconds,
            "ratio": gradcam_seconds / pass_seconds}


def run_benchmarks(name="xception_like", layer_name="block2_sepconv2", *, repeats=3, stream=None):
    """Print and return both benchmarks for a shipped classifier."""
    stream = stream or sys.stdout
    model, _ = load_pretrained(name)
    image = data.load_shapes("test", n=1).images
    grid = benchmark_filters(model, layer_name, repeats=repeats)
    print(f"Filter grid, 64 filters x 30 steps at {name}/{layer_name} (median of {repeats}):", file=stream)
    print(f"  one filter at a time (the book's loop)  {grid['loop']:7.2f} s", file=stream)
    print(f"  batched, one traced function           {grid['batched']:7.2f} s", file=stream)
    print(f"  speed-up                                {grid['speedup']:7.2f}x", file=stream)
    cam = benchmark_gradcam(model, LAST_CONV_LAYERS[name], image, repeats=max(5, 5 * repeats))
    print(f"Grad-CAM of one image at {name}/{LAST_CONV_LAYERS[name]} (median of {max(5, 5 * repeats)}):",
          file=stream)
    print(f"  one forward + backward pass             {1000 * cam['forward_backward']:7.1f} ms", file=stream)
    print(f"  gradcam_heatmap                         {1000 * cam['gradcam']:7.1f} ms", file=stream)
    print(f"  ratio                                   {cam['ratio']:7.2f}x", file=stream)
    return {"filters": grid, "gradcam": cam}


def main(argv=None):
    """Command line: ``python -m convviz_ref.benchmark [--repeats N]``."""
    parser = argparse.ArgumentParser(prog="convviz benchmark", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per measurement (median)")
    args = parser.parse_args(argv)
    np.random.seed(0)
    run_benchmarks(repeats=args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
