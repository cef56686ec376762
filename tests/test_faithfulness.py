"""Faithfulness: pointing game, baselines, rank correlation, filter-ascent check."""

import io

import numpy as np
import pytest

from convviz_ref import data, faithfulness


def test_peak_of_a_heatmap_lands_in_its_hottest_cell():
    heatmaps = np.zeros((2, 4, 4), np.float32)
    heatmaps[0, 1, 2] = (
        1.0  # cell (1, 2) of a 4x4 grid covers rows 24..47, columns 48..71 of 96
    )
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
    assert np.isnan(
        faithfulness.rank_correlation(np.zeros((1, 2, 2)), heatmaps[:1, :2, :2])
    )


@pytest.mark.slow
def test_evaluate_faithfulness_end_to_end_on_the_small_convnet(capsys):
    # Every section runs; the ascent check on 8 filters (the command checks 64) takes a
    # second, not ten.
    results = faithfulness.evaluate_faithfulness(
        "small_convnet", num_images=24, num_ascent_filters=8
    )
    out = capsys.readouterr().out
    for key in (
        "pointing_output",
        "pointing_logit",
        "pairs_output",
        "pairs_logit",
        "random_pointing_logit",
        "random_rank_correlation_logit",
    ):
        assert key in results
    for key in (
        "pointing_output",
        "pointing_logit",
        "pairs_logit",
        "random_pointing_logit",
    ):
        assert 0.0 <= results[key] <= 1.0
    assert (
        0.0 <= results["filter_ascent"]["fraction"] <= 1.0
        and results["filter_ascent"]["num_filters"] == 8
    )
    assert "of the first 8 filters" in out
    assert "baseline: image centre" in out and "rank correlation" in out


def test_filter_ascent_check_finds_patterns_that_beat_real_images():
    from convviz_ref.models import load_pretrained

    model, _ = load_pretrained("xception_like")
    images = data.load_shapes("test", n=20).images
    check = faithfulness.filter_ascent_check(
        model, "block2_sepconv2", images, num_filters=4, iterations=10
    )
    assert check["num_filters"] == 4
    assert check["fraction"] == 1.0, (
        "ten steps already beat every one of 20 real images"
    )


def test_the_leaderboard_command_prints_and_writes_every_method_and_baseline(
    tmp_path, capsys
):
    from convviz_ref import cli, compare

    assert (
        cli.main(
            [
                "faithfulness",
                "--methods",
                "gradcam,saliency",
                "--num-images",
                "4",
                "--num-pairs",
                "2",
                "--num-sanity",
                "2",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert (
        "Attribution methods on xception_like, 4 held-out test images, logit score:"
        in out
    )
    table = [
        line
        for line in out.splitlines()
        if line.startswith("| ") and not line.startswith("| ---")
    ]
    assert [line.split(" | ")[0] for line in table] == [
        "| method",
        "| gradcam",
        "| saliency",
        "| baseline: random",
        "| baseline: centre",  # the leaderboard
        "| method",
        "| gradcam",
        "| saliency",
    ]  # the cascading randomization, one column per block
    assert table[5].split(" | ")[1:] == [
        "+predictions",
        "+last",
        "+block4",
        "+block3",
        "+block2",
        "+block1",
        "+entry |",
    ]
    for name in (
        "leaderboard.csv",
        "leaderboard.md",
        "methods_side_by_side.png",
        "sanity_check.png",
    ):
        assert (
            tmp_path / name
        ).stat().st_size > 0 and f"wrote {tmp_path / name}" in out
    rows = (tmp_path / "leaderboard.csv").read_text().splitlines()
    assert rows[0] == ",".join(compare.COLUMNS) and len(rows) == 5
    assert "Cascading randomization" in (tmp_path / "leaderboard.md").read_text()


def test_compare_methods_can_check_fewer_methods_for_sanity_than_it_ranks():
    from convviz_ref import compare

    board = compare.compare_methods(
        "xception_like",
        ["gradcam", "saliency"],
        num_images=3,
        num_pairs=1,
        num_sanity=2,
        sanity_methods=["saliency"],
        stream=io.StringIO(),
    )
    assert [row["method"] for row in board.rows] == [
        "gradcam",
        "saliency",
        "baseline: random",
        "baseline: centre",
    ]
    assert list(board.correlations) == ["saliency"]
    assert len(board.correlations["saliency"]) == len(board.blocks) == 7
    # The rows are the means of the per-image measures kept beside them.
    for row in board.rows:
        for measure, values in board.per_image[row["method"]].items():
            assert len(values) == (2 if measure == "own_object" else 3)
            assert row[measure] == pytest.approx(values.mean())
    assert board.sanity_per_image["saliency"].shape == (7, 2)
    table = compare.format_intervals(board).splitlines()
    assert table[0] == "| method | pointing | energy | own_object |"
    assert [line.split(" | ")[0] for line in table[2:]] == [
        "| gradcam",
        "| saliency",
        "| baseline: random",
        "| baseline: centre",
    ]
    np.testing.assert_allclose(
        board.sanity_per_image["saliency"].mean(axis=1), board.correlations["saliency"]
    )


@pytest.mark.parametrize("method", ["gradcam", "score_cam", "occlusion"])
def test_own_object_pointing_explains_both_classes_in_one_call_as_two_calls_would(
    method,
):
    from convviz_ref import attribution, compare, methods, models

    model, _ = models.load_pretrained("xception_like")
    layer = (
        models.LAST_CONV_LAYERS["xception_like"]
        if methods.get_method(method).needs_layer
        else None
    )
    # Two images, each explained for both its classes, make the claim (one call gives
    # what a call per class gives, image by image) as four would: Score-CAM (a pass per
    # channel) and occlusion (a pass per patch) cost in proportion to the images.
    pairs = data.load_shapes("test", n=2, num_objects=2)
    per_class = []
    for which in (0, 1):  # one call per class, each image explained for that class
        maps, _ = attribution.explain(
            model, pairs.images, method, pairs.labels[:, which], layer_name=layer
        )
        per_class.append(faithfulness.pointing_game(maps, pairs.masks[:, which]))
    assert compare.own_object_pointing(
        model, pairs, method, layer_name=layer, score="logit"
    ) == np.mean(per_class)


def test_pointing_game_on_masks_that_are_not_square():
    masks = np.full((2, 4, 8), data.BACKGROUND)
    masks[0, 3, 7] = 0  # the object of image 0 is in the bottom-right corner
    masks[1, 0, 0] = 0  # image 1's in the top-left
    heatmaps = np.zeros((2, 4, 8), np.float32)
    heatmaps[0, 3, 7] = heatmaps[1, 3, 7] = 1.0  # both peak bottom right
    rows, cols = faithfulness.peak_locations(heatmaps, (4, 8))
    np.testing.assert_array_equal(rows, [3, 3])
    np.testing.assert_array_equal(cols, [7, 7])
    assert faithfulness.pointing_game(heatmaps, masks) == 0.5


def test_parse_methods_takes_all_or_a_list():
    from convviz_ref import compare, methods

    assert compare.parse_methods("all") == list(methods.METHODS)
    assert compare.parse_methods("occlusion, gradcam") == ["occlusion", "gradcam"]
    with pytest.raises(
        ValueError, match="unknown method 'grad'; choose one of: gradcam, "
    ):
        compare.parse_methods("grad")
    with pytest.raises(ValueError, match="no method given"):
        compare.parse_methods(" , ")


def test_baseline_maps_look_at_no_model():
    from convviz_ref import compare

    random = compare.baseline_maps("random", 3, 16)
    centre = compare.baseline_maps("centre", 3, 16)
    assert (
        random.shape == centre.shape == (3, 16, 16)
        and random.min() >= 0
        and random.max() <= 1
    )
    assert not np.allclose(random[0], random[1])
    rows, cols = faithfulness.peak_locations(centre, 16)
    assert set(rows) <= {7, 8} and set(cols) <= {7, 8}  # peaks at the centre
    with pytest.raises(ValueError, match="unknown baseline"):
        compare.baseline_maps("edges", 1, 8)


def test_the_randomized_model_is_not_the_training_s_initialization():
    """Re-initialized with the training's seed, the head would come back as it started.

    r = 0.91 to its trained weights.
    """
    from convviz_ref import models

    trained = (
        models.load_pretrained("xception_like")
        .model.get_layer("predictions")
        .get_weights()[0]
        .ravel()
    )
    fresh = (
        faithfulness.randomized_model("xception_like")
        .get_layer("predictions")
        .get_weights()[0]
        .ravel()
    )
    again = (
        faithfulness.randomized_model("xception_like", seed=0)
        .get_layer("predictions")
        .get_weights()[0]
        .ravel()
    )
    assert abs(np.corrcoef(trained, fresh)[0, 1]) < 0.2
    assert (
        np.corrcoef(trained, again)[0, 1] > 0.8
    )  # the training's seed: what the default avoids


def test_parse_steps_reads_a_list_and_names_the_option_in_its_errors():
    from convviz_ref import compare

    assert compare.parse_steps("64, 32,128") == [32, 64, 128]
    with pytest.raises(ValueError, match="--steps takes whole numbers"):
        compare.parse_steps("8,x")
    with pytest.raises(ValueError, match="--steps 24,32: every number of steps"):
        compare.parse_steps("24,32")


def test_filter_ascent_losses_are_each_pattern_s_loss_and_the_best_image_s():
    import keras

    from convviz_ref import filters
    from convviz_ref.models import build_small_convnet

    keras.utils.set_random_seed(0)
    model = build_small_convnet(image_size=32, widths=(4, 4))
    images = np.random.default_rng(0).uniform(0, 255, (6, 32, 32, 3))
    images = images.astype("float32")
    result = faithfulness.filter_ascent_losses(
        model, "conv1", images, num_filters=3, iterations=4
    )
    extractor = filters.build_feature_extractor(model, "conv1")
    options = dict(iterations=4, image_size=32, seed=0, progress=False)
    unbounded = filters.generate_filter_patterns(extractor, np.arange(3), **options)
    clipped = filters.generate_clipped_patterns(extractor, np.arange(3), **options)

    def loss(image, k):
        return float(filters.compute_loss(extractor, image[None], k))

    for k in range(3):
        assert result.unbounded[k] == pytest.approx(loss(unbounded[k], k), rel=1e-5)
        assert result.clipped[k] == pytest.approx(loss(clipped[k], k), rel=1e-5)
        best = max(loss(image, k) for image in images)
        assert result.best_image[k] == pytest.approx(best, rel=1e-5)
    assert result.unbounded_range == (float(unbounded.min()), float(unbounded.max()))
    assert result.input_range == (0.0, 255.0)
    np.testing.assert_array_equal(result.unbounded_patterns, unbounded)
    np.testing.assert_array_equal(result.clipped_patterns, clipped)


def test_measure_interval_is_wilson_for_hits_and_the_bootstrap_for_means():
    from convviz_ref import compare, stats

    hits = np.array([1.0, 1.0, 0.0, 1.0])
    assert compare.measure_interval(hits, "pointing") == stats.proportion_interval(3, 4)
    assert compare.measure_interval(hits, "own_object") == stats.proportion_interval(
        3, 4
    )
    shares = np.array([0.2, 0.4, 0.5, 0.9])
    assert compare.measure_interval(shares, "energy") == stats.mean_interval(shares)


def test_compare_methods_explains_the_model_it_is_given():
    from convviz_ref import attribution, compare

    fresh = faithfulness.randomized_model("xception_like")  # not the shipped weights
    board = compare.compare_methods(
        "xception_like",
        ["gradcam"],
        num_images=2,
        num_pairs=1,
        num_sanity=2,
        stream=io.StringIO(),
        model=fresh,
    )
    images = data.load_shapes("test", n=2).images
    np.testing.assert_array_equal(
        board.examples["gradcam"],
        attribution.explain(fresh, images, "gradcam", layer_name="last_conv_act")[0],
    )
