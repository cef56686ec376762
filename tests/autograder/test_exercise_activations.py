"""The ``activations`` exercise: its grading helpers, and its notebook run with other
answers.

The fast tests check ``convviz_grade.assignments.activations`` in-process:
the random models and activations are deterministic, and every usual mistake
really gives another grid than ``convviz_ref``. The two slow tests run the
solution notebook, once with an independently written correct
``channel_grid`` (full marks), once with a usual mistake (it fails, and says
which mistake).
"""

from __future__ import annotations

import numpy as np
import pytest
from convviz_grade.assignments import activations as assignment
from exercise_tools import AnswersInTheNotebook

from convviz_ref import activations as reference

# ----------------------------------------------------------------- helpers


def test_random_model_is_deterministic_by_seed():
    images = assignment.random_images(0)
    first, again, other = (assignment.random_model(seed)(images) for seed in (1, 1, 2))
    assert [tuple(output.shape) for output in first] == [
        (1, 14, 14, 16),
        (1, 7, 7, 16),
        (1, 5, 5, 20),
    ]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.allclose(np.asarray(first[0]), np.asarray(other[0]))


def test_random_activation_is_deterministic_and_has_constant_channels():
    activation = assignment.random_activation(1)
    np.testing.assert_array_equal(activation, assignment.random_activation(1))
    assert not np.array_equal(activation, assignment.random_activation(2))
    channel_1, channel_3 = activation[0, :, :, 1], activation[0, :, :, 3]
    assert channel_1.max() == channel_1.min() == 0
    assert channel_3.max() == channel_3.min() != 0
    assert channel_3.std() > 0  # the float32 round-off the tests rely on


@pytest.mark.parametrize("seed, images_per_row", [(1, 4), (2, 3), (3, 5)])
def test_every_grid_mistake_differs_from_the_reference(seed, images_per_row):
    activation = assignment.random_activation(seed)
    expected = reference.channel_grid(activation, images_per_row).astype(np.float64)
    mistakes = assignment.grid_mistakes(activation, images_per_row)
    assert len(mistakes) == 9
    for hint, wrong in mistakes.items():
        assert wrong.dtype == np.uint8, hint
        differs = wrong.shape != expected.shape or not np.allclose(
            wrong, expected, rtol=0, atol=1
        )
        assert differs, hint


def test_grid_mistakes_on_a_real_layer_include_the_main_ones():
    activation = np.asarray(assignment.random_model(1)(assignment.random_images(1))[0])
    mistakes = assignment.grid_mistakes(activation, 6)
    for hint in (
        "divided by the maximum instead of the standard deviation",
        "cast to uint8 before clipping",
        "left out the 1-pixel separator between tiles",
    ):
        assert hint in mistakes


def test_grid_mistakes_leave_the_input_as_it_was():
    activation = assignment.random_activation(4)
    before = activation.copy()
    assignment.grid_mistakes(activation, 4)
    np.testing.assert_array_equal(activation, before)


# ---------------------------------------------------------- notebook runs

CORRECT_GRID = """
def channel_grid(activation, images_per_row=16):
    maps = np.array(
        activation, dtype=np.float64
    )  # float64, and a copy of the input
    maps = maps.reshape(maps.shape[-3:])  # (1, h, w, c) or (h, w, c) -> (h, w, c)
    height, width, count = maps.shape
    tiles = []
    for index in range(count):
        values = maps[..., index]
        if np.ptp(values) == 0:
            tiles.append(np.zeros((height, width)))
        else:
            tiles.append(
                np.clip(
                    128.0 + 64.0 * (values - values.mean()) / values.std(),
                    0.0,
                    255.0,
                )
            )
    num_rows = int(np.ceil(count / images_per_row))
    tiles += [np.zeros((height, width))] * (num_rows * images_per_row - count)
    gap_right = np.zeros((height, 1))
    lines = []
    for row in range(num_rows):
        parts = []
        for tile in tiles[row * images_per_row : (row + 1) * images_per_row]:
            parts += [tile, gap_right]
        lines += [
            np.hstack(parts[:-1]),
            np.zeros((1, images_per_row * (width + 1) - 1)),
        ]
    return np.vstack(lines[:-1]).astype(np.uint8)
"""

# Another correct answer, in float32 into a preallocated grid. The mistakes here and in
# test_secure_grading_activations.py are this answer with a line or two changed.
FLOAT32_GRID = """
def channel_grid(activation, images_per_row=16):
    activation = np.array(activation, dtype=np.float32)
    height, width, channels = activation.shape[-3:]  # with or without the batch axis
    activation = activation.reshape(height, width, channels)
    rows = -(-channels // images_per_row)
    size = (rows * (height + 1) - 1, images_per_row * (width + 1) - 1)
    grid = np.zeros(size, np.uint8)
    for index in range(channels):
        channel = activation[:, :, index]
        if channel.max() == channel.min():
            continue
        scaled = (channel - channel.mean()) / channel.std() * 64 + 128
        top, left = divmod(index, images_per_row)
        top, left = top * (height + 1), left * (width + 1)
        grid[top : top + height, left : left + width] = np.clip(scaled, 0, 255)
    return grid
"""


def variant(source, old, new):
    """``source`` with ``old``, which it holds once, replaced by ``new``."""
    assert source.count(old) == 1, old
    return source.replace(old, new)


GRID_BY_MAXIMUM = variant(
    FLOAT32_GRID,
    "        scaled = (channel - channel.mean()) / channel.std() * 64 + 128\n",
    "        centered = channel - channel.mean()\n"
    "        scaled = centered / centered.max() * 64 + 128\n",
)


ASSIGNMENT = "activations"
CORRECT = {"channel_grid": CORRECT_GRID}
MISTAKEN = {"channel_grid": GRID_BY_MAXIMUM}


class TestAnswersInTheNotebook(AnswersInTheNotebook):
    functions = list(CORRECT)
    hints = {"channel_grid": "divided by the maximum instead of the standard deviation"}
    named_by = "any"
