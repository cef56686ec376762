"""Network Dissection (convviz_ref.dissection) on data whose answer is known.

The probe set is drawn here with NumPy: 32x32 grey images, each with one 12x12
patch of one texture (horizontal stripes, vertical stripes, checks or dots) at
a random place and phase, on a flat noisy background; a concept's mask is its
patch, exactly. The planted model's first convolution has nine units set by
hand to stripe and check templates (three each), then a 2x2 max-pooling, so
the dissected maps are 16x16 and are upsampled to the 32x32 masks. Dots have no
planted unit: they are the concept nothing should detect.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from convviz_ref import dissection

SIZE, PATCH, PERIOD = 32, 12, 6
CONCEPTS = ("horizontal_stripes", "vertical_stripes", "checks", "dots")
PLANTED = {  # unit -> the concept its kernel was made for
    **dict.fromkeys((0, 1, 2), "horizontal_stripes"),
    **dict.fromkeys((3, 4, 5), "vertical_stripes"),
    **dict.fromkeys((6, 7, 8), "checks"),
}
NUM_UNITS = 12  # units 9 to 11 keep seeded random kernels


def draw_probe_set(n, seed=0):
    """``(images, masks)``: float32 ``(n, 32, 32, 3)`` in 0..255, and a dict
    concept -> bool ``(n, 32, 32)``. Image ``i`` shows concept ``i % 4``.
    """
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:SIZE, 0:SIZE].astype(float)
    grey = 128 + rng.normal(0, 3, (n, SIZE, SIZE))
    masks = {name: np.zeros((n, SIZE, SIZE), bool) for name in CONCEPTS}
    half = PERIOD / 2
    for index in range(n):
        name = CONCEPTS[index % len(CONCEPTS)]
        y, x = rows + rng.uniform(0, 2 * PERIOD), cols + rng.uniform(0, 2 * PERIOD)
        ink = {
            "horizontal_stripes": np.floor(y / half) % 2 == 0,
            "vertical_stripes": np.floor(x / half) % 2 == 0,
            "checks": (np.floor(x / half) + np.floor(y / half)) % 2 == 0,
            "dots": np.hypot(
                x / PERIOD - np.round(x / PERIOD), y / PERIOD - np.round(y / PERIOD)
            )
            < 0.3,
        }[name]
        top, left = rng.integers(0, SIZE - PATCH + 1, size=2)
        patch = np.zeros((SIZE, SIZE), bool)
        patch[top : top + PATCH, left : left + PATCH] = True
        grey[index][patch] = np.where(ink, 200.0, 60.0)[patch]
        masks[name][index] = patch
    images = np.repeat(np.clip(grey, 0, 255)[..., None], 3, axis=-1)
    return images.astype(np.float32), masks


def tiny_model(seed=1):
    """Input 32x32x3 -> Rescaling(1/255) -> conv (12 units, 7x7, same, ReLU) -> pool."""
    inputs = keras.Input(shape=(SIZE, SIZE, 3), name="image")
    x = keras.layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    x = keras.layers.Conv2D(
        NUM_UNITS, 7, padding="same", activation="relu", name="conv"
    )(x)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    outputs = keras.layers.Dense(2, name="logits")(
        keras.layers.GlobalAveragePooling2D(name="gap")(x)
    )
    model = keras.Model(inputs, outputs, name="tiny_dissect")
    rng = np.random.default_rng(seed)
    model.set_weights(
        [rng.normal(0, 0.1, w.shape).astype(np.float32) for w in model.get_weights()]
    )
    return model


def planted_model():
    kernels = [dissection.texture_kernel("stripes", phase=p) for p in (0, 2, 4)]
    kernels += [
        dissection.texture_kernel("stripes", angle=np.pi / 2, phase=p)
        for p in (0, 2, 4)
    ]
    kernels += [dissection.texture_kernel("checks", phase=p) for p in (0, 1, 2)]
    return dissection.plant_units(tiny_model(), "conv", kernels)


@pytest.fixture(scope="module")
def probe():
    return draw_probe_set(160)


@pytest.fixture(scope="module")
def planted_activations(probe):
    images, _ = probe
    return dissection.unit_activations(planted_model(), "pool", images)


def noise_units(n, units, seed=2):
    """Activations that ignore the image: uniform noise, ``(n, 16, 16, units)``."""
    rng = np.random.default_rng(seed)
    return rng.random((n, SIZE // 2, SIZE // 2, units)).astype(np.float32)


# ----------------------------------------------------------------------------------
# The method finds what was planted, and nothing in noise


def test_every_planted_unit_is_found_with_its_concept(probe, planted_activations):
    _, masks = probe
    activations = np.concatenate(
        [planted_activations, noise_units(len(planted_activations), 32)], axis=-1
    )
    result = dissection.dissect(activations, masks, num_permutations=200)
    planted = sorted(PLANTED)
    assert len(planted) >= 8 and len(set(PLANTED.values())) >= 3
    names = result.best_concept_names
    assert [names[unit] for unit in planted] == [PLANTED[unit] for unit in planted]
    for rule in dissection.RULES:
        assert result.detectors(rule)[planted].all(), rule
    # Uniform noise detects nothing. Its best IoU is a draw from its own null, so each
    # noise unit passes the 99th percentile with probability 1 %: 0.32 of 32 units
    # on average, 3 or more with probability 0.004 (binomial). None clears 0.04.
    noise = slice(NUM_UNITS, None)
    assert result.detectors("null")[noise].sum() <= 2
    assert not result.detectors("cutoff")[noise].any()
    assert not result.detectors("both")[noise].any()
    assert dissection.unique_detectors(result, "both") == 3
    assert result.concept_names == CONCEPTS


def test_the_masks_are_the_top_half_percent_of_upsampled_pixels(
    probe, planted_activations
):
    _, masks = probe
    result = dissection.dissect(planted_activations, masks, num_permutations=0)
    upsampled = dissection.upsample(planted_activations, (SIZE, SIZE))
    above = (upsampled > result.thresholds).reshape(-1, NUM_UNITS).mean(axis=0)
    # m = floor(0.005 * 160 * 32 * 32) = 819 of 163840 pixels, or fewer on ties.
    assert np.all(above <= 819 / upsampled[..., 0].size)
    assert np.all(above > 0.9 * dissection.QUANTILE)
    assert result.null_iou.shape == (0, NUM_UNITS, len(CONCEPTS))
    assert not result.detectors("null").any()


def test_iou_and_null_match_a_plain_loop():
    rng = np.random.default_rng(3)
    n, units = 12, 3
    activations = rng.gamma(1.0, size=(n, 4, 5, units)).astype(np.float32)
    masks = {
        "a": rng.random((n, 8, 10)) < 0.2,
        "b": rng.random((n, 8, 10)) < 0.05,
    }
    result = dissection.dissect(activations, masks, quantile=0.05, num_permutations=4)
    upsampled = dissection.upsample(activations, (8, 10))
    shuffle = np.random.default_rng(0)  # the contract: dissect's seed=0
    order = [shuffle.permutation(n) for _ in range(4)]
    for unit in range(units):
        values = np.sort(upsampled[..., unit].ravel())[::-1]
        m = int(np.floor(0.05 * values.size))
        assert result.thresholds[unit] == values[m]  # the (m + 1)-th largest
        unit_masks = upsampled[..., unit] > result.thresholds[unit]
        for column, name in enumerate(("a", "b")):
            for row, images in [(None, np.arange(n)), *enumerate(order)]:
                inter = union = 0
                for i in range(n):
                    concept = masks[name][images[i]]
                    inter += np.sum(unit_masks[i] & concept)
                    union += np.sum(unit_masks[i] | concept)
                got = (
                    result.iou[unit, column]
                    if row is None
                    else result.null_iou[row, unit, column]
                )
                assert got == pytest.approx(inter / union, rel=1e-6)


@pytest.mark.parametrize("quantile", [dissection.QUANTILE, 0.01])
def test_a_tiny_chunk_gives_the_same_result(
    probe, planted_activations, monkeypatch, quantile
):
    # One image is 1024 pixels: more than the 820 each unit keeps at 0.5 %, fewer
    # than the 1639 it keeps at 1 %.
    _, masks = probe
    whole = dissection.dissect(
        planted_activations, masks, quantile=quantile, num_permutations=5
    )
    monkeypatch.setattr(dissection, "CHUNK_BYTES", 1)  # one image at a time
    chunked = dissection.dissect(
        planted_activations, masks, quantile=quantile, num_permutations=5
    )
    np.testing.assert_array_equal(whole.thresholds, chunked.thresholds)
    np.testing.assert_array_equal(whole.iou, chunked.iou)
    np.testing.assert_array_equal(whole.null_iou, chunked.null_iou)


def test_unique_detectors_counts_concepts_not_units():
    iou = np.array([[0.2, 0.0], [0.3, 0.0], [0.0, 0.05], [0.03, 0.0]], np.float32)
    result = dissection.Dissection(
        concept_names=("x", "y"),
        thresholds=np.zeros(4, np.float32),
        iou=iou,
        null_iou=np.full((10, 4, 2), 0.1, np.float32),
    )
    assert result.best_concept_names == ["x", "x", "y", "x"]
    assert result.detectors("cutoff").tolist() == [True, True, True, False]
    assert result.detectors("null").tolist() == [True, True, False, False]
    assert dissection.unique_detectors(result, "cutoff") == 2
    assert dissection.unique_detectors(result, "both") == 1
    with pytest.raises(ValueError, match="unknown rule"):
        result.detectors("lax")


# ----------------------------------------------------------------------------------
# Controls


def test_dissection_iou_is_dissects_iou_for_each_unit_and_concept(
    probe, planted_activations
):
    images, masks = probe
    activations = planted_activations[:40, ..., [0, 6, 9]]
    masks = {name: mask[:40] for name, mask in masks.items()}
    result = dissection.dissect(activations, masks, num_permutations=0)
    maps = dissection.upsample(activations, (SIZE, SIZE))
    for unit in range(3):
        for index, name in enumerate(masks):
            assert dissection.dissection_iou(maps[..., unit], masks[name]) == (
                pytest.approx(float(result.iou[unit, index]), rel=1e-6, abs=1e-9)
            )
    assert result.iou[0, 0] > dissection.IOU_CUTOFF  # a planted stripe unit
    # A unit that never fires against a concept absent from every image: 0, not NaN.
    empty = np.zeros((2, 4, 4), bool)
    assert dissection.dissection_iou(np.zeros((2, 4, 4)), empty) == 0.0
    with pytest.raises(ValueError, match="must both be"):
        dissection.dissection_iou(maps[..., 0], masks["dots"][:, :8])
    with pytest.raises(ValueError, match="must be bool"):
        dissection.dissection_iou(maps[..., 0], masks["dots"].astype(int))


def test_unit_concept_names_each_planted_units_concept(probe):
    images, masks = probe
    model = planted_model()
    for unit in (0, 4, 7):
        assert (
            dissection.unit_concept(
                model, "pool", unit, images[:80], {k: v[:80] for k, v in masks.items()}
            )
            == PLANTED[unit]
        )
    with pytest.raises(ValueError, match="out of range"):
        dissection.unit_concept(model, "pool", NUM_UNITS, images[:4], masks)
    with pytest.raises(ValueError, match="empty"):
        dissection.unit_concept(model, "pool", 0, images[:4], {})


def test_a_random_rotation_is_orthogonal_seeded_and_loses_detectors(
    probe, planted_activations
):
    _, masks = probe
    rotated = dissection.rotate_units(planted_activations, seed=0)
    np.testing.assert_allclose(
        np.linalg.norm(rotated, axis=-1),
        np.linalg.norm(planted_activations, axis=-1),
        rtol=1e-4,
        atol=1e-5,
    )
    np.testing.assert_array_equal(
        rotated, dissection.rotate_units(planted_activations, seed=0)
    )
    assert not np.allclose(
        rotated, dissection.rotate_units(planted_activations, seed=1)
    )
    before = dissection.dissect(planted_activations, masks, num_permutations=100)
    after = dissection.dissect(rotated, masks, num_permutations=100)
    assert after.best_iou.mean() < before.best_iou.mean()
    assert dissection.unique_detectors(after) <= dissection.unique_detectors(before)
    with pytest.raises(ValueError, match="at least 2 units"):
        dissection.rotate_units(planted_activations[..., :1])


def test_reinitialize_draws_fresh_seeded_weights_and_loses_the_planted_units(
    probe,
):
    images, masks = probe
    model = planted_model()
    first = dissection.reinitialize(model, seed=0)
    again = dissection.reinitialize(model, seed=0)
    other = dissection.reinitialize(model, seed=1)
    assert [layer.name for layer in first.layers] == [
        layer.name for layer in model.layers
    ]
    kernel = model.get_layer("conv").get_weights()[0]
    fresh = first.get_layer("conv").get_weights()[0]
    np.testing.assert_array_equal(fresh, again.get_layer("conv").get_weights()[0])
    assert not np.allclose(fresh, other.get_layer("conv").get_weights()[0])
    assert not np.allclose(fresh, kernel)
    np.testing.assert_array_equal(model.get_layer("conv").get_weights()[0], kernel)
    activations = dissection.unit_activations(first, "pool", images)
    result = dissection.dissect(activations, masks, num_permutations=100)
    planted = sorted(PLANTED)
    found = [
        result.detectors()[unit] and result.best_concept_names[unit] == PLANTED[unit]
        for unit in planted
    ]
    assert sum(found) < len(planted)


# ----------------------------------------------------------------------------------
# Activations, upsampling, planting


def test_unit_activations_are_the_layer_output_in_batches(probe):
    images, _ = probe
    model = planted_model()
    reference = keras.Model(model.inputs[0], model.get_layer("pool").output)
    expected = np.asarray(reference(images[:10]))
    got = dissection.unit_activations(model, "pool", images[:10], batch_size=3)
    assert got.shape == (10, 16, 16, NUM_UNITS) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="no spatial output"):
        dissection.unit_activations(model, "logits", images[:2])
    with pytest.raises(ValueError, match="no layer named"):
        dissection.unit_activations(model, "nope", images[:2])


def test_upsample_is_keras_bilinear_resize():
    rng = np.random.default_rng(4)
    maps = rng.normal(size=(2, 3, 4, 5)).astype(np.float32)
    got = dissection.upsample(maps, (9, 12))
    expected = np.asarray(
        keras.ops.image.resize(maps, (9, 12), interpolation="bilinear", antialias=False)
    )
    assert got.shape == (2, 9, 12, 5)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_plant_units_writes_kernels_and_leaves_the_rest(probe):
    model = tiny_model()
    kernel = dissection.texture_kernel("checks")
    planted = dissection.plant_units(model, "conv", [kernel], units=[4], bias=0.5)
    before, after = (
        model.get_layer("conv").get_weights(),
        planted.get_layer("conv").get_weights(),
    )
    np.testing.assert_allclose(after[0][..., 4], np.repeat(kernel[..., None] / 3, 3, 2))
    assert after[1][4] == 0.5
    keep = [unit for unit in range(NUM_UNITS) if unit != 4]
    np.testing.assert_array_equal(after[0][..., keep], before[0][..., keep])
    np.testing.assert_array_equal(
        planted.get_layer("logits").get_weights()[0],
        model.get_layer("logits").get_weights()[0],
    )
    with pytest.raises(ValueError, match="not a Conv2D"):
        dissection.plant_units(model, "pool", [kernel])
    with pytest.raises(ValueError, match="kernel of shape"):
        dissection.plant_units(model, "conv", [np.zeros((5, 5))])
    with pytest.raises(ValueError, match="one unit in 0..11 per kernel"):
        dissection.plant_units(model, "conv", [kernel], units=[12])


def test_texture_kernels_are_zero_mean_unit_norm_and_checked():
    for pattern in ("stripes", "dots", "checks"):
        kernel = dissection.texture_kernel(pattern, size=9, period=6)
        assert kernel.shape == (9, 9)
        assert abs(kernel.mean()) < 1e-6
        assert np.linalg.norm(kernel) == pytest.approx(1.0, abs=1e-5)
    horizontal = dissection.texture_kernel("stripes")
    assert np.allclose(horizontal, horizontal[:, :1])  # constant along each row
    with pytest.raises(ValueError, match="unknown pattern"):
        dissection.texture_kernel("waves")


def test_bad_inputs_get_one_line_errors(planted_activations):
    masks = {"a": np.zeros((160, SIZE, SIZE), bool)}
    with pytest.raises(ValueError, match=r"\(n, h, w, units\)"):
        dissection.dissect(planted_activations[0], masks)
    with pytest.raises(ValueError, match="empty"):
        dissection.dissect(planted_activations, {})
    with pytest.raises(ValueError, match="bool array"):
        dissection.dissect(planted_activations, {"a": np.zeros((160, SIZE, SIZE))})
    with pytest.raises(ValueError, match="but 'a' has"):
        dissection.dissect(
            planted_activations, {**masks, "b": np.zeros((160, 8, 8), bool)}
        )
    with pytest.raises(ValueError, match="160 images of activations but 5"):
        dissection.dissect(planted_activations, {"a": np.zeros((5, 8, 8), bool)})
    with pytest.raises(ValueError, match="quantile"):
        dissection.dissect(planted_activations, masks, quantile=1.5)
