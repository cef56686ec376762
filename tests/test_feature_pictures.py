"""convviz_ref.spectrum and convviz_ref.feature_pictures: the measure, the pictures.

The spectrum measure is checked on images whose period and orientation are
known by construction (sine and two-level gratings, red/green gratings of
equal brightness, dot lattices). The parameterization is checked against
float64 numpy written here (the inverse FFT, the colour root), the step rules
against Keras' Adam and a closed form, and the pictures on tiny models whose
preferred input is known: a red-channel "unit" and a stripe detector behind a
strided layer, whose plain ascent is the textbook failure (aliases).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from convviz_ref import feature_pictures as fp
from convviz_ref import filters, spectrum

# ---------------------------------------------------------------- images by hand


def grating(size, period, angle, kind="sine"):
    """A grating ``(size, size)`` across ``angle`` degrees (x: columns, y: rows, down).

    ``u = (x cos a + y sin a) / period`` cycles; a sine, or two levels (0, 1)
    with one cycle per ``period`` pixels.
    """
    rows, cols = np.mgrid[0:size, 0:size].astype(float)
    theta = np.radians(angle)
    u = (cols * np.cos(theta) + rows * np.sin(theta)) / period
    if kind == "sine":
        return np.cos(2 * np.pi * u)
    return (np.floor(2 * u) % 2).astype(float)


def dot_lattice(size, period, angle, radius=0.3):
    """Dots of radius ``radius * period`` on a square lattice turned by ``angle``."""
    rows, cols = np.mgrid[0:size, 0:size].astype(float)
    theta = np.radians(angle)
    u = (cols * np.cos(theta) + rows * np.sin(theta)) / period
    v = (-cols * np.sin(theta) + rows * np.cos(theta)) / period
    return (np.hypot(u - np.round(u), v - np.round(v)) < radius).astype(float)


# ---------------------------------------------------------------- spectrum


@pytest.mark.parametrize("kind", ["sine", "square"])
@pytest.mark.parametrize("period", [4.0, 6.5, 9.5, 13.0, 19.0, 24.0])
@pytest.mark.parametrize("angle", [0.0, 17.0, 45.0, 90.0, 133.0, 171.0])
def test_a_gratings_period_within_5_percent_and_orientation(kind, period, angle):
    peak = spectrum.dominant_period_and_orientation(grating(96, period, angle, kind))
    assert spectrum.relative_period_error(peak.period, period) < 0.05
    assert spectrum.orientation_difference(peak.orientation, angle) < 2.5
    assert 0.0 <= peak.orientation < 180.0


def test_orientation_convention_vertical_stripes_0_horizontal_90():
    columns_vary = np.tile(np.cos(2 * np.pi * np.arange(64) / 8.0), (64, 1))
    assert spectrum.dominant_period_and_orientation(columns_vary) == pytest.approx(
        (8.0, 0.0)
    )
    assert spectrum.dominant_period_and_orientation(columns_vary.T) == pytest.approx(
        (8.0, 90.0)
    )


@pytest.mark.parametrize("period", [6.0, 9.0, 14.0])
@pytest.mark.parametrize("angle", [0.0, 20.0, 60.0])
def test_a_dot_lattices_period_and_orientation_modulo_90(period, angle):
    peak = spectrum.spectral_peak(dot_lattice(96, period, angle))
    assert spectrum.relative_period_error(peak.period, period) < 0.05
    assert spectrum.orientation_difference(peak.orientation, angle, modulo=90) < 2.5


def test_a_red_green_grating_of_equal_channel_mean_is_measured():
    # Red where the grating is 1, green where it is 0: the mean of the channels is
    # 85 everywhere, so a channel-mean grey has no contrast; the colour axis does.
    stripes = grating(64, 7.0, 30.0, kind="square")[..., None]
    image = stripes * [255.0, 0, 0] + (1 - stripes) * [0, 255.0, 0]
    assert np.ptp(image.mean(axis=-1)) == 0
    peak = spectrum.dominant_period_and_orientation(image)
    assert spectrum.relative_period_error(peak.period, 7.0) < 0.05
    assert spectrum.orientation_difference(peak.orientation, 30.0) < 2.5


def test_the_peaks_share_is_high_for_a_grating_and_low_for_noise():
    assert spectrum.spectral_peak(grating(96, 9.0, 40.0)).share > 0.9
    noise = np.random.default_rng(0).normal(size=(96, 96, 3))
    assert spectrum.spectral_peak(noise).share < 0.05


def test_orientation_difference_wraps():
    assert spectrum.orientation_difference(5.0, 175.0) == pytest.approx(10.0)
    assert spectrum.orientation_difference(10.0, 100.0) == pytest.approx(90.0)
    assert spectrum.orientation_difference(10.0, 100.0, modulo=90) == pytest.approx(0)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.ones((32, 32, 3)), "no contrast"),
        (np.random.default_rng(0).normal(size=(6, 32)), "at least 8x8"),
        (np.zeros((2, 16, 16, 3)), r"\(H, W\) or \(H, W, C\)"),
    ],
)
def test_spectrum_errors(image, message):
    with pytest.raises(ValueError, match=message):
        spectrum.spectral_peak(image)


# ---------------------------------------------------------------- parameterization


def test_spectrum_scale_formula():
    scale = fp.spectrum_scale(6, 5, decay_power=0.5)
    assert scale.shape == (6, 3) and scale.dtype == np.float32
    # |f| of entry (1, 2): fftfreq(6)[1] = 1/6, rfftfreq(5)[2] = 2/5.
    assert scale[1, 2] == pytest.approx(np.hypot(1 / 6, 2 / 5) ** -0.5)
    assert scale[0, 0] == pytest.approx(6**0.5)  # DC: the lowest frequency's, 1/6
    assert scale[1, 0] == pytest.approx(6**0.5)
    assert np.all(fp.spectrum_scale(6, 5, decay_power=0.0) == 1.0)


def test_a_band_keeps_only_its_periods_and_drops_the_mean():
    scale = fp.spectrum_scale(48, 48, decay_power=0.5, band=(6.0, 12.0))
    free = fp.spectrum_scale(48, 48, decay_power=0.5)
    frequency = np.hypot(np.fft.fftfreq(48)[:, None], np.fft.rfftfreq(48)[None, :])
    inside = (frequency >= 1 / 12.0) & (frequency <= 1 / 6.0)
    assert inside.sum() > 20 and not inside[0, 0]
    np.testing.assert_array_equal(scale[inside], free[inside])
    assert not scale[~inside].any()


def reference_pictures(real, imaginary, scale, colour_sqrt, width):
    """``sigmoid((irfft2(c * scale) * sqrt(H W) / 4) @ M^T)`` in float64 numpy."""
    spectrum_ = (np.float64(real) + 1j * np.float64(imaginary)) * scale
    height = real.shape[2]
    channels = np.fft.irfft2(spectrum_, s=(height, width)) * np.sqrt(height * width) / 4
    mixed = np.transpose(channels, (0, 2, 3, 1)) @ np.float64(colour_sqrt).T
    return 1 / (1 + np.exp(-mixed))


@pytest.mark.parametrize("width", [8, 9])
def test_pictures_from_spectrum_match_numpy(width):
    rng = np.random.default_rng(3)
    shape = (2, 3, 7, width // 2 + 1)
    real, imaginary = rng.normal(0, 0.05, size=(2, *shape)).astype(np.float32)
    scale = fp.spectrum_scale(7, width, 1.0)
    colour = rng.normal(size=(3, 3)).astype(np.float32)
    pictures = fp.pictures_from_spectrum(real, imaginary, scale, colour, width)
    assert pictures.shape == (2, 7, width, 3)
    np.testing.assert_allclose(
        pictures.numpy(),
        reference_pictures(real, imaginary, scale, colour, width),
        atol=2e-6,
    )


def test_a_zero_spectrum_is_mid_grey():
    zeros = np.zeros((1, 3, 8, 5), np.float32)
    pictures = fp.pictures_from_spectrum(
        zeros, zeros, fp.spectrum_scale(8, 8), np.eye(3, dtype=np.float32), 8
    )
    np.testing.assert_array_equal(pictures.numpy(), 0.5)


def test_colour_root_squares_to_the_covariance_up_to_its_normalization():
    rng = np.random.default_rng(0)
    mixing = np.array([[1.0, 0.8, 0.2], [0.0, 0.6, 0.5], [0.0, 0.0, 0.3]])
    images = (rng.uniform(0, 255, size=(4, 10, 10, 3)) @ mixing.T).astype(np.float32)
    root = fp.colour_correlation_sqrt(images).astype(np.float64)
    covariance = np.cov(images.reshape(-1, 3).astype(np.float64).T / 255.0)
    np.testing.assert_allclose(root, root.T, atol=1e-6)
    assert np.max(np.linalg.norm(root, axis=0)) == pytest.approx(1.0, abs=1e-6)
    factor = np.trace(root @ root) / np.trace(covariance)
    np.testing.assert_allclose(root @ root, factor * covariance, atol=1e-5)


def test_our_training_colours_are_nearly_uncorrelated():
    # The reason for our own matrix: ImageNet's couples the channels strongly
    # (its first column is about (0.26, 0.27, 0.27), brightness).
    root = fp.training_colour_sqrt()
    off_diagonal = root[~np.eye(3, dtype=bool)]
    assert np.max(np.abs(off_diagonal)) < 0.05
    assert np.min(np.diag(root)) > 0.95


@pytest.mark.parametrize(
    ("images", "message"),
    [(np.zeros((2, 4, 4, 1)), "3 colour channels"), (np.zeros((2, 4, 4, 3)), "no")],
)
def test_colour_root_errors(images, message):
    with pytest.raises(ValueError, match=message):
        fp.colour_correlation_sqrt(images)


# ---------------------------------------------------------------- warps and steps


def test_warps_without_ranges_are_the_identity():
    rows = fp.random_transforms(
        np.random.default_rng(0), 3, 2, 16, jitter=0, scale_range=0, max_angle=0
    )
    np.testing.assert_allclose(rows, np.tile([1, 0, 0, 0, 1, 0, 0, 0], (3, 2, 1)))


def test_a_warp_keeps_the_centre_up_to_its_shift_and_is_seeded():
    rows = fp.random_transforms(np.random.default_rng(1), 50, 4, 33, jitter=3)
    centre = 16.0
    x = rows[..., 0] * centre + rows[..., 1] * centre + rows[..., 2] - centre
    y = rows[..., 3] * centre + rows[..., 4] * centre + rows[..., 5] - centre
    shifts = np.stack([x, y], axis=-1)
    np.testing.assert_allclose(shifts, np.round(shifts), atol=1e-4)
    assert set(np.round(shifts).astype(int).ravel()) == set(range(-3, 4))
    scales = 1 / np.hypot(rows[..., 0], rows[..., 1])
    assert 0.9 <= scales.min() and scales.max() <= 1.1
    again = fp.random_transforms(np.random.default_rng(1), 50, 4, 33, jitter=3)
    np.testing.assert_array_equal(rows, again)


def test_adam_step_is_keras_adam_uphill():
    rng = np.random.default_rng(0)
    gradients = rng.normal(size=(4, 2, 3)).astype(np.float32)
    variable = keras.Variable(np.zeros((2, 3), np.float32))
    optimizer = keras.optimizers.Adam(learning_rate=0.1)
    parameter = first = second = tf.zeros((2, 3))
    for step, gradient in enumerate(gradients, start=1):
        optimizer.apply_gradients([(tf.constant(-gradient), variable)])
        parameter, first, second = fp.adam_step(
            parameter, tf.constant(gradient), first, second, step, 0.1
        )
    np.testing.assert_allclose(parameter.numpy(), variable.numpy(), atol=1e-6)


def test_normalized_step_has_the_rms_rate_per_picture_whatever_the_scale():
    rng = np.random.default_rng(0)
    real, imaginary = tf.zeros((2, 3, 4, 3)), tf.zeros((2, 3, 4, 3))
    gradient = rng.normal(size=(2, 2, 3, 4, 3)).astype(np.float32)
    gradient[1] *= 1e-6  # picture 1's gradient is a million times smaller
    new_real, new_imaginary = fp.normalized_step(
        real, imaginary, gradient[:, 0], gradient[:, 1], 0.2
    )
    moved = np.concatenate(
        [new_real.numpy().reshape(2, -1), new_imaginary.numpy().reshape(2, -1)], 1
    )
    np.testing.assert_allclose(np.sqrt((moved**2).mean(axis=1)), [0.2, 0.2], rtol=1e-5)
    direction = np.concatenate([gradient[1, 0].ravel(), gradient[1, 1].ravel()])
    np.testing.assert_allclose(
        moved[1] / np.linalg.norm(moved[1]),
        direction / np.linalg.norm(direction),
        atol=1e-6,
    )


# ---------------------------------------------------------------- tiny models


def stripe_kernel(size, period, angle):
    rows, cols = np.mgrid[0:size, 0:size] - (size - 1) / 2
    theta = np.radians(angle)
    kernel = np.cos(2 * np.pi * (cols * np.cos(theta) + rows * np.sin(theta)) / period)
    return kernel - kernel.mean()


def strided_stripe_model(period, angle, image_size=48, stride=3, kernel_size=7):
    """0..255 input -> every ``stride``-th pixel -> a 7x7 stripe detector, ReLU.

    The detector's grating has ``period / stride`` pixels on the subsampled
    map, so the unit prefers ``period`` input pixels at ``angle``, as a unit
    behind a strided layer does. Any of the ``stride ** 2`` aliases of that
    grating (its frequency plus multiples of ``1 / stride``) looks the same
    after the subsampling.
    """
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = layers.Rescaling(1 / 255, name="rescaling")(inputs)
    subsample = layers.Conv2D(3, 1, strides=stride, use_bias=False, name="subsample")
    stripes = layers.Conv2D(2, kernel_size, activation="relu", name="stripes")
    model = keras.Model(inputs, stripes(subsample(x)), name="strided_stripes")
    subsample.set_weights([np.eye(3, dtype=np.float32)[None, None]])
    kernel = np.zeros((kernel_size, kernel_size, 3, 2), np.float32)
    kernel[..., 0] = stripe_kernel(kernel_size, period / stride, angle)[..., None] / 3
    kernel[..., 1] = -kernel[..., 0]
    stripes.set_weights([kernel, np.zeros(2, np.float32)])
    return model


def red_model(image_size=16, rescale=True):
    """An "extractor" whose channel 0 is the red input (rescaled to 0..1 or not)."""
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = layers.Rescaling(1 / 255, name="rescaling")(inputs) if rescale else inputs
    return keras.Model(inputs, layers.Activation("linear", name="colours")(x))


def pictures(extractor, indices, **options):
    options = {"image_size": 48, "seed": 0, "colour_sqrt": np.eye(3), **options}
    return fp.generate_feature_pictures(extractor, indices, progress=False, **options)


STRIPE_CASES = [(9.0, 30.0), (10.5, 120.0), (12.0, 75.0), (9.0, 160.0), (11.0, 5.0)]


def test_the_picture_of_a_stripe_unit_shows_its_period_unlike_plain_ascent():
    # The tolerances: period within 15 %, orientation within 15 degrees.
    def recovered(image, period, angle):
        peak = spectrum.spectral_peak(image)
        hit = (
            spectrum.relative_period_error(peak.period, period) < 0.15
            and spectrum.orientation_difference(peak.orientation, angle) < 15
        )
        return hit, peak.share

    fourier, plain = [], []
    for period, angle in STRIPE_CASES:
        model = strided_stripe_model(period, angle)
        fourier.append(recovered(pictures(model, [0])[0], period, angle))
        pattern = filters.generate_filter_patterns(
            model, [0], image_size=48, seed=0, progress=False
        )[0]
        plain.append(recovered(pattern, period, angle))
    fourier_hits, fourier_shares = zip(*fourier)
    plain_hits, plain_shares = zip(*plain)
    assert all(fourier_hits)
    assert sum(plain_hits) < len(STRIPE_CASES) - 1
    # Plain ascent spreads its power evenly over the 9 aliases; the picture does not.
    assert min(fourier_shares) > 3 * max(plain_shares)


def test_a_banded_picture_shows_the_units_period_inside_the_band_only():
    model = strided_stripe_model(9.0, 30.0)  # the unit wants 9 px stripes
    inside = spectrum.spectral_peak(pictures(model, [0], band=(6.0, 12.0))[0])
    assert spectrum.relative_period_error(inside.period, 9.0) < 0.15
    assert spectrum.orientation_difference(inside.orientation, 30.0) < 15
    # A band that leaves the unit's period out: the picture does not show it
    # (the sigmoid's distortion can put a little power just outside the band).
    coarse = spectrum.spectral_peak(pictures(model, [0], band=(13.0, 24.0))[0])
    assert 11.0 <= coarse.period <= 24.0 * 1.05


def test_pictures_are_uint8_deterministic_and_batching_does_not_change_them():
    model = strided_stripe_model(9.0, 30.0)
    first = pictures(model, [0, 1, 1], steps=6)
    assert first.shape == (3, 48, 48, 3) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, pictures(model, [0, 1, 1], steps=6))
    assert not np.array_equal(first, pictures(model, [0, 1, 1], steps=6, seed=1))
    one_by_one = pictures(model, [0, 1, 1], steps=6, batch_size=1, group_size=1)
    assert np.abs(first.astype(int) - one_by_one).max() <= 1


def test_the_red_unit_turns_its_picture_red_in_either_input_range():
    for rescale in (True, False):  # a 0..255 model, and a [-1, 1] model
        extractor = red_model(rescale=rescale)
        assert filters.input_range(extractor) == ((0.0, 255.0) if rescale else (-1, 1))
        red = pictures(extractor, [0], image_size=16, jitter=0, max_angle=0)[0]
        assert red[2:-2, 2:-2, 0].min() > 250
        assert abs(red[..., 1:].astype(float).mean() - 128) < 30


def test_a_neuron_picture_is_drawn_in_the_centre_units_receptive_field():
    model = strided_stripe_model(9.0, 30.0)
    picture = pictures(model, [0], objective="neuron", jitter=0, max_angle=0)[0]
    contrast = np.abs(picture.astype(float) - 128).mean(axis=-1)
    # The centre unit sees input pixels 12..32 (7 taps, 3 pixels apart).
    inside, outside = np.zeros((48, 48), bool), np.ones((48, 48), bool)
    inside[14:30, 14:30] = True
    outside[8:38, 8:38] = False
    assert contrast[inside].mean() > 4 * contrast[outside].mean()


@pytest.mark.parametrize(
    ("indices", "options", "message"),
    [
        ([2], {}, "filter index 2 is out of range: the layer has 2 filters"),
        ([-1], {}, "filter index -1 is out of range"),
        ([], {}, "no filter index given"),
        ([0], {"steps": 0}, "steps must be a positive integer"),
        ([0], {"objective": "pixel"}, "objective must be one of"),
        ([0], {"step_rule": "sgd"}, "step_rule must be one of"),
        ([0], {"colour_sqrt": np.eye(2)}, "colour_sqrt must be 3x3"),
        ([0], {"band": (1.0, 8.0)}, "band must have 2 <= shortest < longest"),
        ([0], {"band": (8.0, 8.0)}, "band must have 2 <= shortest < longest"),
        ([0], {"band": (8.0,)}, "band must be two periods in pixels"),
    ],
)
def test_bad_arguments_raise_a_clear_value_error(indices, options, message):
    with pytest.raises(ValueError, match=message):
        pictures(strided_stripe_model(9.0, 30.0), indices, **options)
