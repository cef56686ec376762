"""Faithfulness measures: pointing game, baselines, rank correlation, filter-ascent check."""

import numpy as np
import pytest

from convviz_ref import data, faithfulness


def test_peak_of_a_heatmap_lands_in_its_hottest_cell():
    heatmaps = np.zeros((2, 4, 4), np.float32)
    heatmaps[0, 1, 2] = 1.0  # cell (1, 2) of a 4x4 grid covers rows 24..47, columns 48..71 of 96
    heatmaps[1, 3, 0] = 1.0
    rows, cols = faithfulness.peak_locations(heatmaps, 96)
    assert 24 <= rows[0] < 48 and 48 <= cols[0] < 72
    assert 72 <= rows[1] < 96 and 0 <= cols[1] < 24


def test_pointing_game_counts_object_and_contour_as_hits():
    masks = np.full((3, 8, 8), data.BACKGROUND)
    masks[0, :4, :4] = data.OBJECT_INSIDE  # object in the top-left quadrant
    masks[1, :4, :4] = data.CONTOUR
    masks[2, 4:, 4:] = data.OBJECT_INSIDE  # object in the bottom-right quadrant
    heatmaps = np.zeros((3, 2, 2), np.float32)
    heatmaps[:, 0, 0] = 1.0  # every heatmap points at the top-left quadrant
    assert faithfulness.pointing_game(heatmaps, masks) == pytest.approx(2 / 3)


def test_baselines_are_the_object_fraction_and_the_centre():
    masks = np.full((2, 4, 4), data.BACKGROUND)
    masks[0, 2, 2] = data.OBJECT_INSIDE  # the centre pixel (4 // 2 = 2)
    masks[1, 0, :] = data.CONTOUR
    result = faithfulness.baselines(masks)
    assert result == {"random pixel": pytest.approx(5 / 32), "image centre": 0.5}


def test_rank_correlation_of_identical_and_reversed_heatmaps():
    heatmaps = np.random.default_rng(0).random((3, 5, 5))
    assert faithfulness.rank_correlation(heatmaps, heatmaps) == pytest.approx(1.0)
    assert faithfulness.rank_correlation(heatmaps, -heatmaps) == pytest.approx(-1.0)
    assert np.isnan(faithfulness.rank_correlation(np.zeros((1, 2, 2)), heatmaps[:1, :2, :2]))


@pytest.mark.slow
def test_evaluate_faithfulness_end_to_end_on_the_small_convnet(capsys):
    results = faithfulness.evaluate_faithfulness("small_convnet", num_images=24)
    out = capsys.readouterr().out
    for key in ("pointing_output", "pointing_logit", "pairs_output", "pairs_logit",
                "random_pointing_logit", "random_rank_correlation_logit"):
        assert key in results
    for key in ("pointing_output", "pointing_logit", "pairs_logit", "random_pointing_logit"):
        assert 0.0 <= results[key] <= 1.0
    assert 0.0 <= results["filter_ascent"]["fraction"] <= 1.0
    assert "baseline: image centre" in out and "rank correlation" in out


def test_filter_ascent_check_finds_patterns_that_beat_real_images():
    from convviz_ref.models import load_pretrained

    model, _ = load_pretrained("xception_like")
    images = data.load_shapes("test", n=20).images
    check = faithfulness.filter_ascent_check(model, "block2_sepconv2", images, num_filters=4, iterations=10)
    assert check["num_filters"] == 4
    assert check["fraction"] == 1.0, "ten steps already beat every one of 20 real images"
