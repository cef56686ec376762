"""The benchmark command measures what it says.

Tiny settings here; the figures come from the command.
"""

import re

from convviz_ref import benchmark, data, filters
from convviz_ref.models import load_pretrained


def test_interleaved_times_warm_up_each_function_then_alternate():
    calls = []
    times = benchmark.interleaved_times(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, repeats=3
    )
    assert calls == ["a", "b"] * 4
    assert set(times) == {"a", "b"} and all(
        len(seconds) == 3 and min(seconds) >= 0 for seconds in times.values()
    )


def test_median_ratio_pairs_the_repeats():
    # Ratios 2, 3 and 10 (median 3), not median(numerators) / median(denominators) = 4 /
    # 1.
    assert benchmark.median_ratio([2.0, 6.0, 4.0], [1.0, 2.0, 0.4]) == 3.0


def test_benchmark_defaults_are_the_library_defaults():
    import inspect

    parameters = inspect.signature(filters.generate_filter_patterns).parameters
    assert (parameters["batch_size"].default, parameters["group_size"].default) == (
        benchmark.BATCH_SIZE,
        benchmark.GROUP_SIZE,
    )


def test_filter_and_gradcam_benchmarks_report_consistent_ratios():
    model, _ = load_pretrained("small_convnet")
    grid = benchmark.benchmark_filters(
        model, "conv3", num_filters=3, iterations=2, repeats=1
    )
    assert min(grid["loop"], grid["batched"], grid["one_group"]) > 0
    # One repeat: the median ratio is the ratio of the medians.
    assert abs(grid["speedup"] - grid["loop"] / grid["batched"]) < 1e-12
    assert abs(grid["one_group_speedup"] - grid["loop"] / grid["one_group"]) < 1e-12
    cam = benchmark.benchmark_gradcam(
        model, "last_conv", data.load_shapes("test", n=1).images, repeats=1
    )
    assert min(cam["forward_backward"], cam["gradcam"]) > 0
    assert abs(cam["ratio"] - cam["gradcam"] / cam["forward_backward"]) < 1e-12


def test_step_benchmark_times_each_batch_size_per_image():
    model, _ = load_pretrained("small_convnet")
    extractor = filters.build_feature_extractor(model, "conv3")
    per_image = benchmark.benchmark_step(
        extractor, batch_sizes=(1, 4), steps=2, repeats=1
    )
    assert sorted(per_image) == [1, 4] and min(per_image.values()) > 0


def test_run_benchmarks_prints_the_figures_it_returns():
    import io

    stream = io.StringIO()
    figures = benchmark.run_benchmarks(
        "small_convnet", "conv3", num_filters=3, iterations=2, repeats=1, stream=stream
    )
    text = stream.getvalue()
    assert (
        "Filter grid, 3 filters x 2 steps at small_convnet/conv3 (median of 1):" in text
    )
    grid, cam = figures["filters"], figures["gradcam"]

    def printed(label, figure):
        return re.search(re.escape(label) + r" +" + re.escape(figure), text)

    assert printed("one filter at a time (the book's loop)", f"{grid['loop']:.2f} s\n")
    assert printed(
        "batched, 16 a call in groups of 4",
        f"{grid['batched']:.2f} s   speed-up {grid['speedup']:5.2f}x",
    )
    assert printed(
        "batched, 16 a call in one group",
        f"{grid['one_group']:.2f} s   speed-up {grid['one_group_speedup']:5.2f}x",
    )
    alone, batched = grid["step_per_image"][1], grid["step_per_image"][16]
    assert min(alone, batched) > 0
    assert (
        f"one traced step, per image: {1000 * alone:.2f} ms alone, "
        f"{1000 * batched:.2f} ms in a batch of 16 "
        f"({alone / batched:.2f}x from batching itself"
    ) in text
    assert printed("gradcam_heatmap", f"{1000 * cam['gradcam']:.1f} ms")
    assert printed("ratio", f"{cam['ratio']:.2f}x")
