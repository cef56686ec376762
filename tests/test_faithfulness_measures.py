"""The leaderboard's measures on hand-made maps and masks.

Energy pointing, deletion / insertion, randomization.
"""

import keras
import numpy as np
import pytest
import tiny_models as tm

from convviz_ref import data, faithfulness


def quadrant_masks():
    """Two 8x8 trimaps: object in the top-left quadrant, contour along its edge.

    Background elsewhere.
    """
    masks = np.full((2, 8, 8), data.BACKGROUND)
    masks[:, :4, :4] = data.OBJECT_INSIDE
    masks[:, 4, :4] = data.CONTOUR
    return masks


def test_energy_pointing_game_of_perfect_inverted_constant_and_empty_maps():
    masks = quadrant_masks()
    on_object = (masks != data.BACKGROUND).astype(np.float32)
    assert faithfulness.energy_pointing_game(on_object, masks) == pytest.approx(1.0)
    assert faithfulness.energy_pointing_game(1 - on_object, masks) == pytest.approx(0.0)
    constant = faithfulness.energy_pointing_game(np.full((2, 8, 8), 0.3), masks)
    assert constant == pytest.approx(
        on_object.mean()
    )  # a constant map scores the object's area
    assert (
        faithfulness.energy_pointing_game(np.zeros((2, 8, 8)), masks) == 0.0
    )  # no NaN
    negative = -np.ones((2, 8, 8))
    negative[:, 7, 7] = 1.0  # only positive mass counts: all of it is on the background
    assert faithfulness.energy_pointing_game(negative, masks) == 0.0


def test_energy_pointing_game_counts_contour_pixels():
    masks = quadrant_masks()
    maps = np.zeros((2, 8, 8))
    maps[:, 4, :4] = 1.0  # only on the contour band
    assert faithfulness.energy_pointing_game(maps, masks) == pytest.approx(1.0)


def test_energy_pointing_game_upsamples_a_coarse_map():
    masks = np.full((1, 8, 8), data.BACKGROUND)
    masks[0, :, :4] = data.OBJECT_INSIDE  # the left half
    coarse = np.array([[[1.0, 0.0], [1.0, 0.0]]])  # hot on the left
    share = faithfulness.energy_pointing_game(coarse, masks)
    assert (
        0.85 < share < 1.0
    )  # bicubic upsampling spreads a little of the mass across the edge


def test_area_under_curve_by_the_trapezoid_rule():
    np.testing.assert_allclose(
        faithfulness.area_under_curve([[1, 1, 1], [0, 0.5, 1], [1, 0, 0]]),
        [1.0, 0.5, 0.25],
    )


def test_deletion_and_insertion_follow_the_map_order():
    """A model that scores the mean brightness of the left half.

    A map on the left deletes fastest.
    """
    inputs = keras.Input(shape=(8, 8, 3))
    left = keras.layers.Cropping2D(((0, 0), (0, 4)))(inputs)
    x = keras.layers.GlobalAveragePooling2D()(left)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.layers[-1].set_weights(
        [np.full((3, 1), 0.005, np.float32), np.array([-1.5], np.float32)]
    )
    images = np.full((1, 8, 8, 3), 200.0, np.float32)
    images[:, :, 4:] = (
        0.0  # bright left half, dark right half: blurring darkens the left
    )
    left_map = np.zeros((1, 8, 8))
    left_map[:, :, :4] = (
        1.0 + np.arange(32).reshape(8, 4) / 100
    )  # distinct values: a strict order
    right_map = left_map[:, :, ::-1]
    deletion_left, insertion_left = faithfulness.deletion_insertion(
        model, images, left_map, [0], steps=4, sigma=2
    )
    deletion_right, insertion_right = faithfulness.deletion_insertion(
        model, images, right_map, [0], steps=4, sigma=2
    )
    assert deletion_left.shape == (1, 5) and insertion_left.shape == (1, 5)
    full = float(np.asarray(model(images))[0, 0])
    assert deletion_left[0, 0] == pytest.approx(full) and insertion_left[
        0, -1
    ] == pytest.approx(full)
    np.testing.assert_allclose(
        deletion_left[0, -1], insertion_left[0, 0]
    )  # all deleted = nothing inserted
    auc = faithfulness.area_under_curve
    assert auc(deletion_left) < auc(deletion_right) and auc(insertion_left) > auc(
        insertion_right
    )


def test_blurred_images_keep_shape_and_mean():
    images = np.random.default_rng(0).uniform(0, 255, (2, 16, 16, 3)).astype(np.float32)
    blurred = faithfulness.blurred_images(images)
    assert blurred.shape == images.shape and blurred.dtype == np.float32
    assert blurred.std() < images.std() / 2 and abs(blurred.mean() - images.mean()) < 5


def test_randomization_blocks_go_from_the_output_down():
    model = tm.functional_convnet(seed=0)
    assert faithfulness.randomization_blocks(model) == [
        ("predictions", ["predictions"]),
        ("conv2", ["conv2"]),
        ("conv1", ["conv1"]),
    ]
    from convviz_ref.models import build_xception_like

    blocks = [
        block
        for block, _ in faithfulness.randomization_blocks(
            build_xception_like(image_size=32)
        )
    ]
    assert blocks == [
        "predictions",
        "last",
        "block4",
        "block3",
        "block2",
        "block1",
        "entry",
    ]


def test_paired_rank_correlation_counts_a_constant_map_as_zero():
    maps = np.random.default_rng(1).random((2, 4, 4))
    assert faithfulness.paired_rank_correlation(maps, maps) == pytest.approx(1.0)
    assert faithfulness.paired_rank_correlation(
        maps, np.stack([-maps[0], np.zeros((4, 4))])
    ) == pytest.approx(-0.5)


def test_paired_rank_correlations_are_per_pair_and_average_to_the_mean():
    maps = np.random.default_rng(1).random((2, 4, 4))
    other = np.stack([-maps[0], np.zeros((4, 4))])
    np.testing.assert_allclose(
        faithfulness.paired_rank_correlations(maps, other), [-1.0, 0.0]
    )


def test_cascading_randomization_per_image_averages_to_its_means():
    model = tm.functional_convnet(seed=3)
    fresh = tm.functional_convnet(seed=99)
    images = np.random.default_rng(2).uniform(0, 255, (3, 12, 12, 3)).astype(np.float32)
    arguments = (model, fresh, images, [0, 1, 2], ["saliency"])
    _, means = faithfulness.cascading_randomization(*arguments, layer_name="conv2")
    _, each = faithfulness.cascading_randomization(
        *arguments, layer_name="conv2", per_image=True
    )
    assert [step.shape for step in each["saliency"]] == [(3,)] * 3
    np.testing.assert_allclose(
        [step.mean() for step in each["saliency"]], means["saliency"]
    )


def test_cascading_randomization_destroys_gradients_but_not_the_model():
    model = tm.functional_convnet(seed=3)
    fresh = tm.functional_convnet(seed=99)
    images = np.random.default_rng(2).uniform(0, 255, (3, 12, 12, 3)).astype(np.float32)
    weights = [w.copy() for w in model.get_weights()]
    blocks, correlations = faithfulness.cascading_randomization(
        model, fresh, images, [0, 1, 2], ["saliency", "gradcam"], layer_name="conv2"
    )
    assert blocks == ["predictions", "conv2", "conv1"]
    assert set(correlations) == {"saliency", "gradcam"} and all(
        len(v) == 3 for v in correlations.values()
    )
    assert (
        correlations["saliency"][-1] < 0.9
    )  # every weight replaced: the gradient is another one
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)
    _, same = faithfulness.cascading_randomization(
        model, model, images, [0, 1, 2], ["saliency"], layer_name="conv2"
    )
    np.testing.assert_allclose(
        same["saliency"], 1.0
    )  # "re-initialized" with its own weights: nothing changes


def test_deletion_and_insertion_of_many_images_equal_one_image_and_fraction_at_a_time():
    """The variants of several images share batches.

    Each curve must still be its own image's, for its class.
    """
    model = tm.functional_convnet(seed=3)
    rng = np.random.default_rng(4)
    images = rng.uniform(0, 255, (5, 12, 12, 3)).astype(np.float32)
    maps = rng.random(
        (5, 12, 12)
    )  # at the image's size: no upsampling, distinct values, a strict order
    classes = np.array([0, 2, 1, 1, 0])
    steps = 3
    deletion, insertion = faithfulness.deletion_insertion(
        model, images, maps, classes, steps=steps, sigma=2, batch_size=2
    )  # groups of 2, the last one short
    blurred = faithfulness.blurred_images(images, sigma=2)
    for n in range(len(images)):
        order = np.argsort(-maps[n].ravel(), kind="stable")
        for s, count in enumerate(np.round(np.linspace(0, 144, steps + 1)).astype(int)):
            taken = np.zeros(144, bool)
            taken[order[:count]] = True
            taken = taken.reshape(12, 12, 1)
            deleted = np.where(taken, blurred[n], images[n])[None]
            inserted = np.where(taken, images[n], blurred[n])[None]
            assert deletion[n, s] == pytest.approx(
                float(np.asarray(model(deleted))[0, classes[n]]), rel=1e-5
            )
            assert insertion[n, s] == pytest.approx(
                float(np.asarray(model(inserted))[0, classes[n]]), rel=1e-5
            )


def test_per_image_outcomes_are_what_the_games_average():
    rng = np.random.default_rng(0)
    maps = rng.uniform(size=(5, 3, 3))
    masks = np.full((5, 9, 9), data.BACKGROUND)
    masks[:, :4, :4] = 1  # the object fills the top-left corner
    hits = faithfulness.pointing_hits(maps, masks)
    shares = faithfulness.energy_shares(maps, masks)
    assert hits.shape == shares.shape == (5,)
    assert set(np.unique(hits)) <= {0.0, 1.0}
    for n in range(5):
        one = slice(n, n + 1)
        assert hits[n] == faithfulness.pointing_game(maps[one], masks[one])
        assert shares[n] == pytest.approx(
            faithfulness.energy_pointing_game(maps[one], masks[one])
        )
    assert faithfulness.pointing_game(maps, masks) == hits.mean()
