"""The dissection reports: planted units' verdicts, detectors by kind, costs.

Tiny arrays for the report logic; one tiny ``xception_like`` (blocks of 10
and 14 channels, 96x96 images) dissected on 16 crossed images for the planting.
"""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest

from convviz_ref import concept_benchmark, crossed, dissection_report, models
from convviz_ref import planted as planted_module
from convviz_ref.dissection import Dissection

NAMES = crossed.CONCEPT_NAMES


def made_dissection(best, best_iou, null_threshold):
    """A Dissection over :data:`NAMES` whose units have the given best concepts.

    Unit ``k``'s IoU is ``best_iou[k]`` at concept ``best[k]`` and a tenth of
    it elsewhere; every permutation of the null gives ``null_threshold[k]``
    at concept 0, so the null's 99th percentile is exactly that.
    """
    units = len(best)
    iou = np.repeat(np.asarray(best_iou, np.float32)[:, None] / 10, len(NAMES), 1)
    iou[np.arange(units), [NAMES.index(name) for name in best]] = best_iou
    null = np.zeros((5, units, len(NAMES)), np.float32)
    null[:, :, 0] = null_threshold
    return Dissection(NAMES, np.zeros(units, np.float32), iou, null)


def kernels(*concepts):
    return [
        planted_module.PlantedKernel(concept, f"k{index}", np.zeros, ((5, 5),))
        for index, concept in enumerate(concepts)
    ]


def test_planted_rows_right_needs_the_intended_concept_and_both_rules():
    result = made_dissection(
        best=["dotted", "dotted", "checked", "striped"],
        best_iou=[0.08, 0.08, 0.03, 0.09],  # unit 2 under the 0.04 cut-off
        null_threshold=[0.01, 0.01, 0.01, 0.10],  # unit 3 under its null
    )
    rows = planted_module.planted_rows(
        result, kernels("dotted", "checked", "checked", "striped")
    )
    assert [row.found for row in rows] == ["dotted", "dotted", "checked", "striped"]
    assert [row.detector for row in rows] == [True, True, False, False]
    assert [row.right for row in rows] == [True, False, False, False]
    assert rows[3].null_threshold == pytest.approx(0.10)
    assert {row.layer for row in rows} == {"entry_conv"}
    text = planted_module.format_planted(rows, kernels(*"abcd"))
    assert text.splitlines()[-1] == "planted units found with the right concept: 1/4"
    assert text.splitlines()[2].split()[:2] == ["entry_conv", "0"]


def test_planted_rows_checks_units_and_concepts():
    result = made_dissection(["dotted"] * 3, [0.1] * 3, [0.0] * 3)
    with pytest.raises(ValueError, match="'wavy' is not among"):
        planted_module.planted_rows(result, kernels("dotted", "wavy"))
    with pytest.raises(ValueError, match="one unit in 0..2 per kernel"):
        planted_module.planted_rows(result, kernels("dotted"), units=[3])


@pytest.mark.parametrize("kernel", planted_module.PLANTED_KERNELS)
def test_planted_kernels_are_zero_mean_unit_norm_and_blind_to_the_frame(kernel):
    values = kernel.kernel()
    assert values.shape == (5, 5) and values.dtype == np.float32
    assert abs(values.sum()) < 1e-5 and np.linalg.norm(values) == pytest.approx(1)
    assert planted_module.frame_response(values) <= 1e-6
    assert planted_module.frame_response(-values) > 0.1  # the frame is a real risk


def test_planted_kernels_are_all_different():
    values = [kernel.kernel() for kernel in planted_module.PLANTED_KERNELS]
    for first in range(len(values)):
        for second in range(first):
            assert np.abs(values[first] - values[second]).max() > 0.01


def test_frame_response_is_the_largest_correlation_with_a_padded_white_image():
    kernel = np.zeros((3, 3))
    kernel[0, 0] = -1.0  # reads the pixel up and left: 0 only on the top row / column
    kernel[1, 1] = 1.0
    assert planted_module.frame_response(kernel, size=6) == 1.0
    assert planted_module.frame_response(-kernel, size=6) == 0.0


def test_detectors_by_kind_and_the_report_columns():
    result = made_dissection(
        best=["disc", "dotted", "striped", "contour", "dotted"],
        best_iou=[0.05, 0.06, 0.07, 0.05, 0.02],  # the last is no detector
        null_threshold=[0.01] * 5,
    )
    assert dissection_report.detectors_by_kind(result) == {
        "shape": 1,
        "texture": 2,
        "region": 1,
    }
    text = dissection_report.format_dissection("conv", {"trained": result})
    mean = float(result.best_iou.mean())
    row = rf"^  trained +4 +4 +4 +4 +1/2/1 +{mean:.4f}$"  # 4 concepts, 4 units
    assert re.search(row, text, re.M), text


def test_plant_and_dissect_plants_the_kernels_and_the_circuit_and_reports_both():
    keras.utils.set_random_seed(0)
    model = models.build_xception_like(widths=(10, 14), entry_filters=10)
    before = model.get_layer("entry_conv").get_weights()[0].copy()
    results, rows = planted_module.plant_and_dissect(
        model, num_images=16, num_permutations=5
    )
    planted = planted_module.PLANTED_KERNELS + planted_module.CIRCUIT_UNITS
    assert list(results) == ["entry_conv", "block2_sepconv2"]
    assert results["entry_conv"].iou.shape == (10, len(NAMES))
    assert results["block2_sepconv2"].iou.shape == (14, len(NAMES))
    kernel_count = len(planted_module.PLANTED_KERNELS)
    assert [(row.layer, row.unit) for row in rows] == [
        ("entry_conv", unit) for unit in range(kernel_count)
    ] + [("block2_sepconv2", unit) for unit in range(len(rows) - kernel_count)]
    assert [row.intended for row in rows] == [item.concept for item in planted]
    found = results["block2_sepconv2"].best_concept_names
    assert [row.found for row in rows[kernel_count:]] == found[
        : len(rows) - kernel_count
    ]
    assert np.array_equal(model.get_layer("entry_conv").get_weights()[0], before)
    text = planted_module.format_planted(rows, planted)
    assert len(text.splitlines()) == len(rows) + 3


def test_plant_and_dissect_needs_the_circuit_layers():
    inputs = keras.Input((96, 96, 3))
    outputs = keras.layers.Conv2D(10, 5, padding="same", name="entry_conv")(inputs)
    with pytest.raises(ValueError, match="'block1_bn1'"):
        planted_module.plant_and_dissect(keras.Model(inputs, outputs))


def test_benchmark_concepts_gives_medians_and_ratios_to_the_grid(monkeypatch):
    times = {"regularized": [1.0, 4.0, 2.0], "dissect": [2.0, 1.0, 3.0]}
    monkeypatch.setattr(
        concept_benchmark, "interleaved_times", lambda functions, repeats: times
    )
    costs = concept_benchmark.benchmark_concepts(dict.fromkeys(times), repeats=3)
    assert costs["regularized"] == {"seconds": 2.0, "ratio": 1.0}
    # ratios per repeat 2, 0.25, 1.5: their median, not the ratio of medians (1)
    assert costs["dissect"] == {"seconds": 2.0, "ratio": 1.5}
    with pytest.raises(ValueError, match="'regularized'"):
        concept_benchmark.benchmark_concepts({"dissect": None})
