"""The segmentation exercise: its helpers, and its notebook's grading of right and wrong
answers.
"""

from __future__ import annotations

import numpy as np
import pytest
from convviz_grade.assignments import segmentation as assignment
from exercise_tools import AnswersInTheNotebook

from convviz_ref import segmentation as reference

# An independently written correct answer: a confusion matrix from bincount.
CORRECT_MEAN_IOU = """
def mean_iou(masks_true, masks_pred, num_classes=3):
    t = np.asarray(masks_true).astype(np.int64).ravel()
    p = np.asarray(masks_pred).astype(np.int64).ravel()
    confusion = np.bincount(t * num_classes + p, minlength=num_classes ** 2)
    confusion = confusion.reshape(num_classes, num_classes).astype(np.float64)
    hits = np.diag(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - hits
    seen = union > 0
    return float((hits[seen] / union[seen]).mean())
"""

# The usual mistake: a class absent from both masks counted as IoU 0.
ABSENT_AS_ZERO = """
def mean_iou(masks_true, masks_pred, num_classes=3):
    scores = []
    for c in range(num_classes):
        inter = np.sum((masks_true == c) & (masks_pred == c))
        union = np.sum((masks_true == c) | (masks_pred == c))
        scores.append(inter / union if union else 0.0)
    return float(np.mean(scores))
"""

ASSIGNMENT = "segmentation"
CORRECT = {"mean_iou": CORRECT_MEAN_IOU}
MISTAKEN = {"mean_iou": ABSENT_AS_ZERO}
HINTS = {"mean_iou": "counted a class absent from both masks as IoU 0"}

HIDDEN_TRIALS = [
    (0, 3, ()),
    (1, 2, ()),
    (2, 3, (1,)),
    (3, 3, (2,)),
    (4, 2, ()),
    (5, 3, (0,)),
]


def _define(source):
    namespace = {"np": np}
    exec(source, namespace)
    return namespace["mean_iou"]


def test_random_masks_are_deterministic_and_leave_out_absent_classes():
    first, again = (
        assignment.random_masks(2, absent=(1,)),
        assignment.random_masks(2, absent=(1,)),
    )
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.isin(1, first[0]) and not np.isin(1, first[1])
    assert set(np.unique(first[0])) == {0, 2}
    truth, predicted = assignment.random_masks(0)
    assert 0.5 < np.mean(truth == predicted) < 0.95  # neither perfect nor random


def test_each_mistake_differs_from_the_reference_on_some_hidden_trial():
    caught = set()
    for seed, num_classes, absent in HIDDEN_TRIALS:
        truth, predicted = assignment.random_masks(
            seed, num_classes=num_classes, absent=absent
        )
        right = reference.mean_iou(truth, predicted, num_classes)
        for hint, wrong in assignment.iou_mistakes(
            truth, predicted, num_classes
        ).items():
            assert not np.isclose(wrong, right, rtol=1e-9), hint
            caught.add(hint)
    assert len(caught) == 5, caught


def test_the_correct_answer_matches_the_reference_in_process():
    mean_iou = _define(CORRECT_MEAN_IOU)
    for seed, num_classes, absent in HIDDEN_TRIALS:
        truth, predicted = assignment.random_masks(
            seed, num_classes=num_classes, absent=absent
        )
        assert mean_iou(truth, predicted, num_classes) == pytest.approx(
            reference.mean_iou(truth, predicted, num_classes), rel=1e-12
        )


class TestAnswersInTheNotebook(AnswersInTheNotebook):
    functions = list(CORRECT)
    hints = HINTS
    named_by = "each"  # the visible and the hidden tests both name it
