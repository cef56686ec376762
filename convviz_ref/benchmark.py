"""Speed of the visualizations, measured side by side in one run: ``convviz benchmark``.

1. The 64-filter grid of a middle layer: the book's loop (one filter at a
   time, one traced step at a time) against
   :func:`~convviz_ref.filters.generate_filter_patterns` (all filters in one
   tensor, all steps in one traced function), same model, same number of
   steps; and the batched version with its batch in one group, to show what
   the independent groups add. One traced ascent step per image, at batch 1
   and at the batch size, shows what batching itself saves
   (:func:`benchmark_step`).
2. Grad-CAM of one image against one forward and backward pass of the same
   model (the least any gradient-based explanation can cost).
3. The attribution methods the registry marks ``many_passes`` (see
   :func:`many_pass_methods`) against one batched pass over as many images
   as each passes through the model (:func:`benchmark_attribution`).

Each timing is the median of several repeats after a warm-up run (which
pays for tracing). The functions compared are called in turn, repeat after
repeat, so a change in the machine's load hits all of them; each speed-up is
the median of the per-repeat ratios. Compare the ratios, not the absolute
seconds.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np
import tensorflow as tf

from convviz_ref import data, filters, gradcam, scoring
from convviz_ref.methods import METHODS, method_function
from convviz_ref.models import LAST_CONV_LAYERS, load_pretrained

BATCH_SIZE, GROUP_SIZE = 16, 4
"""The batched grid's filters per traced call and images per independent group."""


def interleaved_times(functions, repeats, *, warmed=()):
    """Wall times of each function, called in turn ``repeats`` times after a warm-up.

    Each function is called once before the timed calls, unless the caller
    has already called it (its name is in ``warmed``).

    Args:
        functions: dict of name -> function of no arguments.
        repeats: int, timed calls of each function.
        warmed: names of the functions already called once.

    Returns:
        dict of name -> list of ``repeats`` seconds, in call order.
    """
    for name, function in functions.items():
        if name not in warmed:
            function()
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return times


def median_ratio(numerators, denominators):
    """The median over repeats of ``numerators[i] / denominators[i]``."""
    return statistics.median(n / d for n, d in zip(numerators, denominators))


def benchmark_filters(model, layer_name, *, num_filters=64, iterations=30, repeats=3):
    """Seconds for the grid: the book's loop, batched, and batched in one group a call.

    Returns:
        dict with the median seconds ``loop``, ``batched`` and ``one_group``,
        and the speed-ups ``speedup`` (loop / batched) and
        ``one_group_speedup`` (loop / one group), medians of per-repeat ratios.
    """
    extractor = filters.build_feature_extractor(model, layer_name)

    def one_at_a_time():
        return [
            filters.generate_filter_pattern(
                extractor, index, iterations=iterations, seed=index
            )
            for index in range(num_filters)
        ]

    def batched(**options):
        return lambda: filters.generate_filter_patterns(
            extractor,
            range(num_filters),
            iterations=iterations,
            seed=0,
            progress=False,
            **options,
        )

    times = interleaved_times(
        {
            "loop": one_at_a_time,
            "batched": batched(batch_size=BATCH_SIZE, group_size=GROUP_SIZE),
            "one_group": batched(batch_size=BATCH_SIZE, group_size=BATCH_SIZE),
        },
        repeats,
    )
    result = {name: statistics.median(seconds) for name, seconds in times.items()}
    result["speedup"] = median_ratio(times["loop"], times["batched"])
    result["one_group_speedup"] = median_ratio(times["loop"], times["one_group"])
    return result


def benchmark_step(
    extractor, *, batch_sizes=(1, BATCH_SIZE), steps=10, repeats=3, seed=0
):
    """Seconds per image of one traced ascent step, at each batch size.

    The step is the gradient of the layer's mean activation with respect to
    ``(batch, height, width, 3)`` images, traced once per batch size; each
    timing is ``steps`` steps, divided by ``steps * batch``.

    Returns:
        dict of batch size -> median seconds per image and step.
    """
    low, high = filters.input_range(extractor)

    @tf.function
    def step(images):
        with tf.GradientTape() as tape:
            tape.watch(images)
            loss = tf.reduce_mean(extractor(images)[:, 2:-2, 2:-2, :])
        return images + tape.gradient(loss, images)

    def run(images):
        for _ in range(steps):
            images = step(images)
        return images

    rng = np.random.default_rng(seed)
    start = {
        batch: tf.constant(
            rng.uniform(
                low + 0.4 * (high - low),
                low + 0.6 * (high - low),
                (batch, *extractor.input_shape[1:]),
            ).astype("float32")
        )
        for batch in batch_sizes
    }
    times = interleaved_times(
        {batch: (lambda images=images: run(images)) for batch, images in start.items()},
        repeats,
    )
    return {
        batch: statistics.median(seconds) / (steps * batch)
        for batch, seconds in times.items()
    }


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

    times = interleaved_times(
        {"forward_backward": forward_backward, "gradcam": heatmap}, repeats
    )
    result = {name: statistics.median(seconds) for name, seconds in times.items()}
    result["ratio"] = median_ratio(times["gradcam"], times["forward_backward"])
    return result


def many_pass_methods():
    """The methods :func:`benchmark_attribution` times: those marked ``many_passes``."""
    return [name for name, entry in METHODS.items() if entry.many_passes]


def benchmark_attribution(model, layer_name, image, *, repeats=3):
    """The many-pass methods against the batched passes they are made of, on one image.

    Each method of :func:`many_pass_methods`, with its function's defaults
    and class 0, is run once while :func:`~convviz_ref.scoring.counting_passes`
    counts the images it passes through the model (Score-CAM: a masked image
    per channel that varies, plus the black image; occlusion: the image and
    its occluded copies; SmoothGrad: its samples; Integrated Gradients: the
    points of its path); that run is also its warm-up. Then it is timed
    against one batched pass over as many random images: forward and
    backward if the method took gradients, forward only otherwise.

    Returns:
        dict, method name to ``{"method": s, "passes": s, "ratio": x,
        "images": n, "backward": bool}``.
    """
    image = np.asarray(image, dtype=np.float32)
    scorer = scoring.score_model(model, score="logit")
    forward = scoring.compiled(scorer, 1)  # as the methods do for one image
    rng = np.random.default_rng(0)
    results = {}
    for name in many_pass_methods():
        layer = {"layer_name": layer_name} if METHODS[name].needs_layer else {}

        function = method_function(name)

        def method(function=function, layer=layer):
            return function(model, image, 0, **layer)

        with scoring.counting_passes() as count:
            method()
        inputs = rng.uniform(0, 255, (count.images,) + image.shape[1:])
        inputs = inputs.astype(np.float32)
        labels = np.zeros(count.images, np.int32)
        if count.backward:

            def passes(inputs=inputs, labels=labels):
                return scoring.input_gradients(scorer, inputs, labels)
        else:

            def passes(inputs=inputs, labels=labels):
                return scoring.class_scores(forward, inputs, labels)

        # The counting run above was the method's warm-up.
        functions = {"method": method, "passes": passes}
        times = interleaved_times(functions, repeats, warmed=("method",))
        results[name] = {
            "method": statistics.median(times["method"]),
            "passes": statistics.median(times["passes"]),
            "ratio": median_ratio(times["method"], times["passes"]),
            "images": count.images,
            "backward": count.backward,
        }
    return results


def run_benchmarks(
    name="xception_like",
    layer_name=None,
    *,
    num_filters=64,
    iterations=30,
    repeats=3,
    stream=None,
):
    """Print and return both benchmarks for a shipped classifier."""
    stream = stream or sys.stdout
    model, _ = load_pretrained(name)
    layer_name = layer_name or filters.middle_layer(model)
    image = data.load_shapes("test", n=1).images
    grid = benchmark_filters(
        model,
        layer_name,
        num_filters=num_filters,
        iterations=iterations,
        repeats=repeats,
    )
    print(
        f"Filter grid, {num_filters} filters x {iterations} steps at "
        f"{name}/{layer_name} (median of {repeats}):",
        file=stream,
    )
    rows = [
        ("one filter at a time (the book's loop)", grid["loop"], ""),
        (
            f"batched, {BATCH_SIZE} a call in groups of {GROUP_SIZE}",
            grid["batched"],
            f"   speed-up {grid['speedup']:5.2f}x",
        ),
        (
            f"batched, {BATCH_SIZE} a call in one group",
            grid["one_group"],
            f"   speed-up {grid['one_group_speedup']:5.2f}x",
        ),
    ]
    for label, seconds, speedup in rows:
        print(f"  {label:<40}{seconds:7.2f} s{speedup}", file=stream)
    per_image = benchmark_step(
        filters.build_feature_extractor(model, layer_name), repeats=repeats
    )
    grid["step_per_image"] = per_image
    alone, batched = per_image[1], per_image[BATCH_SIZE]
    print(
        f"  one traced step, per image: {1000 * alone:.2f} ms alone, "
        f"{1000 * batched:.2f} ms in a batch of {BATCH_SIZE} "
        f"({alone / batched:.2f}x from batching itself; "
        "the rest of the speed-up is the groups "
        f"running side by side on {os.cpu_count()} cores)",
        file=stream,
    )
    cam = benchmark_gradcam(
        model, LAST_CONV_LAYERS[name], image, repeats=max(5, 5 * repeats)
    )
    print(
        f"Grad-CAM of one image at {name}/{LAST_CONV_LAYERS[name]} "
        f"(median of {max(5, 5 * repeats)}):",
        file=stream,
    )
    print(
        f"  one forward + backward pass             "
        f"{1000 * cam['forward_backward']:7.1f} ms",
        file=stream,
    )
    print(
        f"  gradcam_heatmap                         {1000 * cam['gradcam']:7.1f} ms",
        file=stream,
    )
    print(
        f"  ratio                                   {cam['ratio']:7.2f}x", file=stream
    )
    costs = benchmark_attribution(model, LAST_CONV_LAYERS[name], image, repeats=repeats)
    print(
        "Attribution methods of one image against the batched passes "
        f"they are made of (median of {repeats}):",
        file=stream,
    )
    for method, cost in costs.items():
        kind = "forward + backward" if cost["backward"] else "forward"
        print(
            f"  {method:<21} {cost['method']:6.2f} s against one batched {kind} "
            f"pass over {cost['images']:3d} "
            f"images {cost['passes']:6.2f} s: {cost['ratio']:4.2f}x",
            file=stream,
        )
    return {"filters": grid, "gradcam": cam, "attribution": costs}
