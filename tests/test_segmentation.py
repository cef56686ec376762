"""Predicted masks and IoU."""

import keras
import numpy as np
import pytest

from convviz_ref import segmentation


def test_iou_worked_by_hand():
    truth = np.array([[[0, 0, 1], [1, 2, 2]]])
    predicted = np.array([[[0, 1, 1], [1, 2, 0]]])
    # class 0: TP 1, FP 1 (last pixel), FN 1 -> 1/3; class 1: TP 2, FP 1, FN 0 -> 2/3;
    # class 2: TP 1, FN 1 -> 1/2.
    ious = segmentation.per_class_iou(truth, predicted, num_classes=3)
    np.testing.assert_allclose(ious, [1 / 3, 2 / 3, 1 / 2])
    assert segmentation.mean_iou(truth, predicted) == pytest.approx(
        (1 / 3 + 2 / 3 + 1 / 2) / 3
    )


def test_perfect_prediction_scores_one():
    masks = np.random.default_rng(0).integers(0, 3, size=(4, 8, 8))
    assert segmentation.mean_iou(masks, masks) == 1.0


def test_class_absent_from_both_masks_is_left_out_of_the_mean():
    truth = np.array([[[0, 1], [1, 1]]])
    ious = segmentation.per_class_iou(truth, truth, num_classes=3)
    assert np.isnan(ious[2]) and ious[0] == ious[1] == 1.0
    assert segmentation.mean_iou(truth, truth, num_classes=3) == 1.0


def test_shapes_must_match():
    with pytest.raises(
        ValueError, match=r"mask shapes differ: true \(1, 2, 2\), predicted \(1, 2, 3\)"
    ):
        segmentation.per_class_iou(np.zeros((1, 2, 2)), np.zeros((1, 2, 3)))


def test_predict_masks_takes_the_argmax_per_pixel():
    inputs = keras.Input(shape=(4, 4, 3))
    model = keras.Model(
        inputs, keras.layers.Softmax()(inputs)
    )  # class = brightest channel
    images = np.zeros((2, 4, 4, 3), np.float32)
    images[0, :, :, 2] = 10.0
    images[1, :2, :, 0] = 10.0
    images[1, 2:, :, 1] = 10.0
    masks = segmentation.predict_masks(model, images)
    assert masks.dtype == np.int32 and masks.shape == (2, 4, 4)
    assert (
        (masks[0] == 2).all()
        and (masks[1, :2] == 0).all()
        and (masks[1, 2:] == 1).all()
    )


def test_predict_masks_wants_a_batch_axis():
    with pytest.raises(
        ValueError,
        match=r"expected images of shape \(batch, height, width, 3\), got \(4, 4, 3\)",
    ):
        segmentation.predict_masks(None, np.zeros((4, 4, 3)))


def pixel_classifier(num_classes):
    inputs = keras.Input(shape=(4, 4, 3))
    outputs = keras.layers.Conv2D(num_classes, 1, activation="softmax")(inputs)
    return keras.Model(inputs, outputs, name="pixels")


def test_segment_image_gives_the_class_shares_and_the_ious_against_a_true_mask():
    model = pixel_classifier(3)
    image = np.random.default_rng(0).uniform(0, 255, (1, 4, 4, 3)).astype(np.float32)
    predicted = segmentation.predict_masks(model, image)
    alone = segmentation.segment_image(model, image)
    np.testing.assert_array_equal(alone.predicted, predicted)
    expected = np.bincount(predicted.ravel(), minlength=3) / 16
    np.testing.assert_allclose(alone.fractions, expected)
    assert alone.ious is None and alone.mean_iou is None
    truth = np.zeros((4, 4), np.int32)
    scored = segmentation.segment_image(model, image, truth)
    np.testing.assert_allclose(
        scored.ious, segmentation.per_class_iou(truth[None], predicted)
    )
    assert scored.mean_iou == segmentation.mean_iou(truth[None], predicted)


def test_segment_image_wants_a_trimap_model():
    with pytest.raises(ValueError, match="model 'pixels' predicts 2 classes per pixel"):
        segmentation.segment_image(pixel_classifier(2), np.zeros((1, 4, 4, 3)))
