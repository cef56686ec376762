"""The benchmark command measures what it says (tiny settings; the figures come from the command)."""

from convviz_ref import benchmark, data
from convviz_ref.models import load_pretrained


def test_median_time_calls_the_function_once_more_to_warm_up():
    calls = []
    seconds = benchmark.median_time(lambda: calls.append(1), repeats=3)
    assert len(calls) == 4 and seconds >= 0


def test_filter_and_gradcam_benchmarks_report_consistent_ratios():
    model, _ = load_pretrained("small_convnet")
    grid = benchmark.benchmark_filters(model, "conv3", num_filters=3, iterations=2, repeats=1)
    assert grid["loop"] > 0 and grid["batched"] > 0
    assert grid["speedup"] == grid["loop"] / grid["batched"]
    cam = benchmark.benchmark_gradcam(model, "last_conv", data.load_shapes("test", n=1).images, repeats=2)
    assert cam["ratio"] == cam["gradcam"] / cam["forward_backward"]
