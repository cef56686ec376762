"""The planted orientation circuit: what it answers to, on synthetic patterns.

One tiny ``xception_like`` (48x48 images, blocks of 12 and 16 channels) with
the circuit planted, on dark-on-light stripes, dot lattices and a flat fill
drawn here; responses are averaged over the middle of the map, away from
the frame.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from convviz_ref import dissection, models
from convviz_ref import planted as planted_module

SIZE = 48
STRIPE_ANGLES = range(0, 180, 15)
DOT_ANGLES = range(0, 90, 15)


def pattern(kind, angle=0.0, width=8.0):
    """A grey image ``(SIZE, SIZE, 3)``: ink 40 on 200, cells ``width`` wide."""
    rows, cols = np.mgrid[0:SIZE, 0:SIZE].astype(float)
    theta = np.radians(angle)
    u = (cols * np.cos(theta) + rows * np.sin(theta)) / width
    v = (-cols * np.sin(theta) + rows * np.cos(theta)) / width
    if kind == "stripes":
        ink = np.floor(u) % 2 == 0
    elif kind == "dots":
        ink = np.hypot(u - np.round(u), v - np.round(v)) < 0.3
    else:
        ink = np.zeros(u.shape, bool)
    return np.repeat(np.where(ink, 40.0, 200.0)[..., None], 3, axis=-1)


@pytest.fixture(scope="module")
def responses():
    """Mean response of each planted unit in the middle of the map, per image."""
    keras.utils.set_random_seed(0)
    model = models.build_xception_like(image_size=SIZE, widths=(12, 16))
    circuit = planted_module.plant_circuit(model)
    images = (
        [pattern("stripes", angle) for angle in STRIPE_ANGLES]
        + [pattern("dots", angle) for angle in DOT_ANGLES]
        + [pattern("flat")]
    )
    maps = dissection.unit_activations(
        circuit, planted_module.CIRCUIT_LAYER, np.stack(images).astype(np.float32)
    )
    middle = maps[:, 6:18, 6:18, : len(planted_module.CIRCUIT_UNITS)].mean(axis=(1, 2))
    count = len(STRIPE_ANGLES)
    return {
        "stripes": middle[:count],
        "dots": middle[count : count + len(DOT_ANGLES)],
        "flat": middle[-1],
    }


def test_the_stripe_unit_beats_every_dot_lattice_at_every_stripe_angle(responses):
    any_angle = 0
    assert responses["stripes"][:, any_angle].min() > (
        responses["dots"][:, any_angle].max()
    )
    assert np.abs(responses["flat"]).max() < 1e-6  # a flat fill gives nothing


def test_each_pair_unit_is_blind_to_stripes_along_the_other_pair(responses):
    angles = list(STRIPE_ANGLES)
    axis, diagonal = 1, 2  # "0/90 degrees", "45/135 degrees"
    for angle in (45, 135):
        assert abs(responses["stripes"][angles.index(angle), axis]) < 1e-6
        assert responses["stripes"][angles.index(angle), diagonal] > 0.05
    for angle in (0, 90):
        assert abs(responses["stripes"][angles.index(angle), diagonal]) < 1e-6
        assert responses["stripes"][angles.index(angle), axis] > 0.05


@pytest.mark.parametrize("angle", planted_module.ORIENTATIONS)
def test_oriented_bars_are_zero_mean_and_turn_into_their_opponents(angle):
    bar = planted_module.oriented_bar(angle)
    assert bar.shape == (5, 5) and abs(bar.sum()) < 1e-5
    assert np.linalg.norm(bar) == pytest.approx(1)
    opponent = planted_module.oriented_bar((angle + 90) % 180)
    np.testing.assert_allclose(np.rot90(bar), opponent, atol=1e-6)
    if angle in (0, 90):
        assert planted_module.frame_response(bar) <= 1e-6


def test_plant_circuit_checks_the_model_and_the_signals():
    keras.utils.set_random_seed(0)
    narrow = models.build_xception_like(image_size=SIZE, widths=(12, 12))
    with pytest.raises(ValueError, match="channel 13 in 'block2_sepconv1'"):
        planted_module.plant_circuit(narrow)
    wide = models.build_xception_like(image_size=SIZE, widths=(12, 16))
    unit = planted_module.CircuitUnit("striped", "bad", {"D30": 1.0})
    with pytest.raises(ValueError, match="unknown circuit signal 'D30'"):
        planted_module.plant_circuit(wide, [unit])
