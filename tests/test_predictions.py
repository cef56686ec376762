"""convviz_ref.predictions: the top-k reading of a classifier's output.

Checked against a case worked out by hand, against a plain re-implementation
on random scores, for ties and for every documented error.
"""

import numpy as np
import pytest

from convviz_ref.predictions import top_predictions

NAMES = ("disc", "square", "triangle", "star")


def test_by_hand_two_images():
    probabilities = np.array([[0.1, 0.2, 0.3, 0.4], [0.7, 0.1, 0.15, 0.05]])
    top = top_predictions(probabilities, NAMES, k=2)
    assert top == [
        [("star", 0.4), ("triangle", 0.3)],
        [("disc", 0.7), ("triangle", 0.15)],
    ]


def test_matches_a_sort_on_random_scores():
    rng = np.random.default_rng(0)
    probabilities = rng.random((5, 4)).astype("float32")
    for k in (1, 3, 4):
        top = top_predictions(probabilities, NAMES, k=k)
        assert len(top) == 5
        for row, result in zip(probabilities, top):
            expected = sorted(zip(NAMES, row.tolist()), key=lambda p: -p[1])[:k]
            assert [name for name, _ in result] == [name for name, _ in expected]
            np.testing.assert_allclose([p for _, p in result], [p for _, p in expected])
            assert all(type(p) is float for _, p in result)


def test_ties_keep_the_order_of_the_class_names():
    top = top_predictions(np.full((1, 4), 0.25), NAMES, k=4)
    assert [name for name, _ in top[0]] == list(NAMES)


def test_k_changes_the_length():
    probabilities = np.eye(4)[:1]
    assert [len(top_predictions(probabilities, NAMES, k=k)[0]) for k in (1, 2, 4)] == [
        1,
        2,
        4,
    ]


@pytest.mark.parametrize(
    ("probabilities", "k", "message"),
    [
        (np.zeros(4), 1, r"shape \(batch, num_classes\)"),
        (np.zeros((1, 3)), 1, "3 classes but 4 class names"),
        (np.zeros((1, 4)), 0, r"k must be in 1\.\.4"),
        (np.zeros((1, 4)), 5, r"k must be in 1\.\.4"),
    ],
)
def test_errors(probabilities, k, message):
    with pytest.raises(ValueError, match=message):
        top_predictions(probabilities, NAMES, k=k)
