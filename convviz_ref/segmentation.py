"""Segmentation: predicted masks and intersection over union.

Example, a 2x2 case to check by hand (class 0 is predicted on one pixel out
of the two where it is true, and nowhere else):

>>> import numpy as np
>>> truth = np.array([[[0, 0], [1, 1]]])
>>> predicted = np.array([[[0, 1], [1, 1]]])
>>> per_class_iou(truth, predicted, num_classes=2)
array([0.5       , 0.66666667])
>>> round(mean_iou(truth, predicted, num_classes=2), 4)
0.5833
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


def predict_masks(model, images, *, batch_size=32):
    """Predict one class per pixel with a segmentation model.

    Formula: ``mask[n, i, j] = argmax_c model(images)[n, i, j, c]``.

    Args:
        model: a Keras model whose output is ``(batch, height, width, num_classes)``.
        images: float32 array of shape ``(batch, height, width, 3)``, values in 0..255.
        batch_size: int, images per forward pass.

    Returns:
        int32 array of shape ``(batch, height, width)``.

    Raises:
        ValueError: if ``images`` is not 4-D.
    """
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 4:
        raise ValueError(
            f"expected images of shape (batch, height, width, 3), got {images.shape}"
        )
    probabilities = model.predict(images, batch_size=batch_size, verbose=0)
    return np.argmax(probabilities, axis=-1).astype(np.int32)


def per_class_iou(masks_true, masks_pred, num_classes=3):
    """Intersection over union of each class, over all pixels of all images.

    Formula: ``IoU_c = TP_c / (TP_c + FP_c + FN_c)``, where ``TP_c`` counts
    pixels that are class ``c`` in both masks, ``FP_c`` pixels predicted
    ``c`` but not truly ``c``, and ``FN_c`` pixels truly ``c`` but predicted
    otherwise. A class absent from both masks has a zero denominator: its IoU
    is NaN (undefined), not 0 or 1.

    Args:
        masks_true: int array of shape ``(batch, height, width)``.
        masks_pred: int array of the same shape.
        num_classes: int, number of classes (3 for trimaps).

    Returns:
        float64 array of shape ``(num_classes,)``, values in [0, 1] or NaN.

    Raises:
        ValueError: if the shapes differ.
    """
    masks_true, masks_pred = np.asarray(masks_true), np.asarray(masks_pred)
    if masks_true.shape != masks_pred.shape:
        raise ValueError(
            f"mask shapes differ: true {masks_true.shape}, predicted {masks_pred.shape}"
        )
    classes = np.arange(num_classes)[:, None]
    is_true = masks_true.reshape(1, -1) == classes
    is_pred = masks_pred.reshape(1, -1) == classes
    intersection = (is_true & is_pred).sum(axis=1)
    union = (is_true | is_pred).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, intersection / np.maximum(union, 1), np.nan)


def mean_iou(masks_true, masks_pred, num_classes=3):
    """Mean of :func:`per_class_iou` over the classes present in either mask.

    Returns:
        float in [0, 1] (NaN only if both masks are empty).
    """
    ious = per_class_iou(masks_true, masks_pred, num_classes)
    return float(np.nanmean(ious)) if not np.isnan(ious).all() else float("nan")


class Segmented(NamedTuple):
    """What :func:`segment_image` returns.

    Attributes:
        predicted: int32 array ``(1, height, width)``, the predicted classes.
        fractions: float64 array ``(num_classes,)``, the share of pixels
            predicted as each class (sums to 1).
        ious: float64 array ``(num_classes,)`` of :func:`per_class_iou`
            against the true mask, or None without one.
        mean_iou: float, :func:`mean_iou` against the true mask, or None.
    """

    predicted: np.ndarray
    fractions: np.ndarray
    ious: np.ndarray | None
    mean_iou: float | None


def segment_image(model, image_batch, true_mask=None, *, num_classes=3):
    """What ``convviz segment`` shows: one image's predicted trimap, scored if possible.

    Formula: ``fractions[c] = count(predicted == c) / (height * width)``;
    the IoUs are :func:`per_class_iou` and :func:`mean_iou` of ``true_mask``
    and the prediction.

    Args:
        model: a segmentation model, output ``(batch, height, width, classes)``.
        image_batch: float32 array ``(1, height, width, 3)`` in 0..255.
        true_mask: int array ``(height, width)``, or None.
        num_classes: int, the classes the model must predict per pixel (3:
            object, background, contour).

    Returns:
        :class:`Segmented` ``(predicted, fractions, ious, mean_iou)``.

    Raises:
        ValueError: if the model predicts another number of classes.
    """
    predicted_classes = model.outputs[0].shape[-1]
    if predicted_classes != num_classes:
        raise ValueError(
            f"segment shows trimaps (object, background, contour); model "
            f"{model.name!r} predicts {predicted_classes} classes per pixel"
        )
    predicted = predict_masks(model, image_batch)
    fractions = np.bincount(predicted.ravel(), minlength=num_classes) / predicted.size
    if true_mask is None:
        return Segmented(predicted, fractions, None, None)
    truth = np.asarray(true_mask)[None]
    return Segmented(
        predicted,
        fractions,
        per_class_iou(truth, predicted, num_classes=num_classes),
        mean_iou(truth, predicted, num_classes=num_classes),
    )
