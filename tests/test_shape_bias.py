"""Shape bias (convviz_ref.shape_bias): counts, Wilson interval, models, the report."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest

from convviz_ref import crossed, shape_bias


def test_counts_and_share_worked_by_hand():
    # Shapes 0..3, textures shifted by one: decisions follow the shape 3 times,
    # the texture twice, neither once.
    result = shape_bias.shape_bias(
        [0, 1, 3, 0, 2, 1], [0, 1, 2, 3, 2, 3], [1, 2, 3, 0, 3, 0]
    )
    assert (
        result.shape_decisions,
        result.texture_decisions,
        result.other_decisions,
    ) == (3, 2, 1)
    assert result.shape_bias == pytest.approx(3 / 5)
    assert result.num_images == 6 and result.cue_share == pytest.approx(5 / 6)


def test_interval_is_wilsons_score_interval():
    shape, followed, z = 14, 20, 1.959963984540054
    decisions = np.r_[np.zeros(shape), np.ones(followed - shape), np.full(5, 2)]
    shapes = np.zeros(len(decisions), int)
    textures = np.ones(len(decisions), int)
    result = shape_bias.shape_bias(decisions, shapes, textures)
    # Wilson (1927): (p + z^2/2n +- z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n).
    p, n = shape / followed, followed
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert result.interval == pytest.approx((centre - half, centre + half), abs=1e-9)
    assert result.other_decisions == 5
    wider = shape_bias.shape_bias(decisions, shapes, textures, confidence=0.99)
    assert wider.interval[0] < result.interval[0] < result.interval[1]
    assert result.interval[1] < wider.interval[1]


def test_no_decision_on_either_cue_gives_nan_and_the_whole_range():
    result = shape_bias.shape_bias([2, 3], [0, 0], [1, 1])
    assert math.isnan(result.shape_bias) and result.interval == (0.0, 1.0)
    assert result.other_decisions == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([0, 1], [0, 1], [1, 1]), "1 of 2 images have no cue conflict"),
        (([0, 1], [0, 1, 2], [1, 2, 3]), "1-D of one length"),
        (([], [], []), "no image"),
    ],
)
def test_bad_inputs_raise_clear_errors(args, message):
    with pytest.raises(ValueError, match=message):
        shape_bias.shape_bias(*args)


def constant_classifier(image_size, favourite):
    """A Keras classifier that always decides ``favourite``, whatever the image."""
    inputs = keras.Input((image_size, image_size, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    dense = keras.layers.Dense(4, activation="softmax", kernel_initializer="zeros")
    outputs = dense(pooled)
    dense.bias.assign(np.eye(4, dtype="float32")[favourite])
    return keras.Model(inputs, outputs)


def test_a_model_on_the_conflict_set_is_counted_image_by_image():
    conflict = crossed.load_crossed("test", n=24, textures="conflict", image_size=32)
    model = constant_classifier(32, favourite=2)
    result = shape_bias.model_shape_bias(model, conflict, batch_size=5)
    # Class 2 is the shape of 6 images and the texture of 6 others.
    assert (
        result.shape_decisions,
        result.texture_decisions,
        result.other_decisions,
    ) == (6, 6, 12)
    assert result.shape_bias == 0.5
    decisions = shape_bias.decide(model, conflict.images, batch_size=7)
    assert decisions.dtype == np.int32 and (decisions == 2).all()


def test_a_set_with_own_textures_is_refused_before_the_model_runs():
    probe = crossed.load_crossed("test", n=8, image_size=32)
    with pytest.raises(ValueError, match='textures="conflict"'):
        shape_bias.model_shape_bias(None, probe)


def test_the_report_prints_a_line_per_shipped_classifier(capsys):
    assert shape_bias.shipped_classifiers() == (
        "shape_trained",
        "shortcut",
        "small_convnet",
        "xception_like",
    )
    assert shape_bias.main(["--models", "small_convnet", "--num-images", "8"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Shape bias on 8 cue-conflict images")
    assert len(lines) == 3 and lines[2].split()[0] == "small_convnet"
    shape, texture, other = (int(word) for word in lines[2].split()[1:4])
    assert shape + texture + other == 8
