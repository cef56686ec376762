"""The ``segmentation`` assignment: random masks, and the usual IoU mistakes.

The tests compare the student's ``mean_iou`` with
:func:`convviz_ref.segmentation.mean_iou` on the masks made here, and pass
the values of the mistake functions to ``check_array`` so that a wrong
answer is named.

>>> truth, predicted = random_masks(0, num_classes=3)
>>> truth.shape, predicted.shape, truth.dtype
((3, 8, 8), (3, 8, 8), dtype('int32'))
>>> sorted(iou_mistakes(truth, predicted, 3))[0]
'computed pixel accuracy (the share of pixels predicted right) instead of IoU'
"""

from __future__ import annotations

import numpy as np

from convviz_ref import segmentation as reference


def random_masks(seed, *, num_classes=3, shape=(3, 8, 8), absent=()):
    """Seeded (true, predicted) int32 masks: blocky regions, ~70% of pixels right.

    Args:
        seed: int.
        num_classes: int, labels are drawn from ``0 .. num_classes - 1``.
        shape: ``(batch, height, width)``.
        absent: classes that appear in neither mask.
    """
    rng = np.random.default_rng([seed, 5])
    present = np.array([c for c in range(num_classes) if c not in absent])
    batch, height, width = shape
    coarse = rng.choice(present, size=(batch, (height + 3) // 4, (width + 3) // 4))
    truth = np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2)[:, :height, :width]
    wrong = rng.random(shape) < 0.3
    predicted = np.where(wrong, rng.choice(present, size=shape), truth)
    return truth.astype(np.int32), predicted.astype(np.int32)


def _class_counts(truth, predicted, num_classes):
    truth, predicted = np.asarray(truth).ravel(), np.asarray(predicted).ravel()
    classes = np.arange(num_classes)[:, None]
    is_true, is_pred = truth == classes, predicted == classes
    return (is_true & is_pred).sum(1), (is_true | is_pred).sum(1), is_true.sum(1)


def iou_mistakes(masks_true, masks_pred, num_classes=3):
    """What the usual mistakes give for ``mean_iou`` here: ``{hint: value}``.

    Mistakes that give the right value on these masks are left out.
    """
    right = reference.mean_iou(masks_true, masks_pred, num_classes)
    intersection, union, true_count = _class_counts(masks_true, masks_pred, num_classes)
    present = union > 0
    ious = np.where(present, intersection / np.maximum(union, 1), 0.0)
    candidates = {
        "computed pixel accuracy (the share of pixels predicted right) instead of "
        "IoU": float(np.mean(np.asarray(masks_true) == np.asarray(masks_pred))),
        "counted a class absent from both masks as IoU 0 instead of leaving it "
        "out": float(ious.mean()),
        "counted a class absent from both masks as IoU 1 instead of leaving it "
        "out": float(np.where(present, ious, 1.0).mean()),
        "divided the intersection by the true pixel count (recall) instead of by the "
        "union": float(
            np.mean((intersection / np.maximum(true_count, 1))[true_count > 0])
        ),
        "computed the IoU of each image and averaged over the images (IoU counts all "
        "pixels together)": float(
            np.mean(
                [
                    reference.mean_iou(t[None], p[None], num_classes)
                    for t, p in zip(np.asarray(masks_true), np.asarray(masks_pred))
                ]
            )
        ),
    }
    return {
        hint: value
        for hint, value in candidates.items()
        if not np.isclose(value, right, rtol=1e-9, atol=1e-12)
    }


HIDDEN_TRIALS = [
    # (seed, num_classes, absent classes, mask shape (batch, height, width))
    (0, 3, (), (3, 8, 8)),
    (1, 2, (), (3, 8, 8)),
    (2, 3, (1,), (3, 8, 8)),
    (3, 3, (2,), (3, 8, 8)),
    (4, 2, (), (3, 8, 8)),
    (5, 3, (0,), (3, 8, 8)),
    (100, 3, (), (4, 12, 10)),
    (101, 2, (), (4, 12, 10)),
    (102, 3, (1,), (4, 12, 10)),
    (103, 3, (2,), (4, 12, 10)),
    (104, 3, (0,), (4, 12, 10)),
]
"""The hidden trials of ``mean_iou``: 2 and 3 classes, some classes absent from both
masks.

``num_classes`` is passed by position on the (3, 8, 8) masks and by keyword
on the (4, 12, 10) ones.
"""


def grading_cases():
    """The cases of ``mean_iou``: the notebook's hidden tests and ``convviz-grade
    autograde``'s.

    The notebook's visible 4x4 example and perfect prediction, then
    :data:`HIDDEN_TRIALS` on random masks the notebook never shows.
    """
    from functools import partial

    from convviz_grade.checks import check_array
    from convviz_grade.grading import Case

    def check(expected, mistakes, label, outputs):
        check_array(
            label, outputs["value"], expected, rtol=1e-9, atol=1e-12, mistakes=mistakes
        )

    truth = np.array(
        [[[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 1, 1]]], np.int32
    )
    predicted = np.array(
        [[[0, 0, 0, 1], [0, 0, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]], np.int32
    )
    cases = [
        Case(
            "mean_iou",
            (truth, predicted),
            partial(
                check,
                37 / 56,
                iou_mistakes(truth, predicted, 3),
                "mean_iou(4x4 example)",
            ),
            kwargs={"num_classes": 3},
            visible=True,
        ),
        Case(
            "mean_iou",
            (truth, truth.copy()),
            partial(check, 1.0, {}, "mean_iou(perfect prediction)"),
            kwargs={"num_classes": 3},
            visible=True,
        ),
    ]
    for seed, num_classes, absent, shape in HIDDEN_TRIALS:
        truth, predicted = random_masks(
            seed, num_classes=num_classes, absent=absent, shape=shape
        )
        label = (
            f"mean_iou(random masks {truth.shape}, num_classes={num_classes}, "
            f"absent classes {list(absent)})"
        )
        expected = reference.mean_iou(truth, predicted, num_classes)
        by_position = shape == (3, 8, 8)
        cases.append(
            Case(
                "mean_iou",
                (truth, predicted, num_classes) if by_position else (truth, predicted),
                partial(
                    check, expected, iou_mistakes(truth, predicted, num_classes), label
                ),
                kwargs={} if by_position else {"num_classes": num_classes},
            )
        )
    return cases


# NumPy, and Keras and TensorFlow loaded only if a solution uses them (as in
# the setup cell), so that grading a NumPy answer does not pay for TensorFlow.
