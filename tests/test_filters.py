"""convviz_ref.filters: the loss, the ascent step, the patterns, and their pictures.

Gradients are checked in closed form (a linear conv, an identity
"extractor") and by central finite differences on a float64 copy of a smooth
(tanh) extractor; the batched ascent is checked against the one-at-a-time
ascent from the same starting images; the picture formulas against float64
numpy written here.
"""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf
import tiny_models as tm
from keras import layers

from convviz_ref import filters
from convviz_ref.models import build_small_convnet


def identity_extractor(image_size=8, channels=3):
    """A "feature extractor" whose activation is the image: loss, gradient by hand."""
    inputs = keras.Input(shape=(image_size, image_size, channels), name="image")
    return keras.Model(
        inputs, layers.Activation("linear", name="identity")(inputs), name="identity"
    )


def reference_loss(activation, filter_index):
    return np.asarray(activation, np.float64)[:, 2:-2, 2:-2, filter_index].mean()


def linear_loss_gradient(kernel, image_shape, filter_index):
    """d loss / d image in closed form, for a valid 3x3 conv's channel.

    The loss is the mean over the batch and the interior.
    """
    n, h, w, _ = image_shape
    kh, kw = kernel.shape[:2]
    out_h, out_w = h - kh + 1, w - kw + 1
    interior = [(i, j) for i in range(2, out_h - 2) for j in range(2, out_w - 2)]
    gradient = np.zeros(image_shape[1:], np.float64)
    for i, j in interior:
        gradient[i : i + kh, j : j + kw, :] += kernel[:, :, :, filter_index]
    gradient /= n * len(interior)
    return np.broadcast_to(gradient, image_shape)


def reference_deprocess(image, crop):
    x = np.asarray(image, np.float64)
    x = x - x.mean()
    if x.std() > 0:
        x = x / x.std()
    x = np.clip(x * 64 + 128, 0, 255).astype(np.uint8)
    return x[crop : x.shape[0] - crop, crop : x.shape[1] - crop]


# ---------------------------------------------------------------- compute_loss


def test_compute_loss_worked_example():
    # The activation is the image; filter 1's interior (2:-2) of a 6x6 image is its
    # central 2x2.
    image = (
        np.random.default_rng(0).normal(100, 50, size=(1, 6, 6, 2)).astype(np.float32)
    )
    image[0, 2:4, 2:4, 1] = [[1, 2], [3, 4]]
    assert float(
        filters.compute_loss(identity_extractor(6, 2), tf.constant(image), 1)
    ) == pytest.approx(2.5)


@pytest.mark.parametrize("batch", [1, 2])
def test_compute_loss_is_the_mean_interior_activation(batch):
    extractor = tm.tanh_extractor(seed=1)
    image = (
        np.random.default_rng(batch).normal(size=(batch, 10, 10, 3)).astype(np.float32)
    )
    weights1, weights2 = (
        extractor.get_layer("conv1").get_weights(),
        extractor.get_layer("conv2").get_weights(),
    )
    activation = np.stack(
        [
            np.tanh(tm.np_conv2d(np.tanh(tm.np_conv2d(x, *weights1)), *weights2))
            for x in image
        ]
    )
    assert activation.shape == (batch, 6, 6, 4)
    for filter_index in range(4):
        loss = filters.compute_loss(extractor, tf.constant(image), filter_index)
        assert loss.dtype == tf.float32 and loss.shape == ()
        assert float(loss) == pytest.approx(
            reference_loss(activation, filter_index), rel=1e-5, abs=1e-6
        )


# ---------------------------------------------------------------- gradient_ascent_step


def test_gradient_ascent_step_worked_example():
    # loss = mean of the central 2x2 of channel 0 of a 6x6 image: gradient 1/4 on those
    # 4 pixels, l2 norm sqrt(4 / 16) = 1/2, so the normalized gradient is 1/2 there: a
    # step of 2 adds 1.
    image = np.random.default_rng(1).normal(size=(1, 6, 6, 2)).astype(np.float32)
    expected = image.copy()
    expected[0, 2:4, 2:4, 0] += 1.0
    stepped = filters.gradient_ascent_step(identity_extractor(6, 2), image, 0, 2.0)
    np.testing.assert_allclose(stepped.numpy(), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("batch", "filter_index", "learning_rate"),
    [(1, 0, 0.7), (1, 2, 1275.0), (2, 1, 10.0)],
)
def test_gradient_ascent_step_matches_the_closed_form_for_a_linear_conv(
    batch, filter_index, learning_rate
):
    extractor = tm.linear_extractor(seed=2)
    kernel, _ = extractor.get_layer("lin").get_weights()
    image = np.random.default_rng(3).normal(size=(batch, 9, 9, 2)).astype(np.float32)
    gradient = linear_loss_gradient(
        kernel.astype(np.float64), image.shape, filter_index
    )
    # l2 normalization over the whole tensor (the batch included, when there is one).
    expected = image + learning_rate * gradient / np.sqrt((gradient**2).sum())
    stepped = filters.gradient_ascent_step(
        extractor, image, filter_index, learning_rate
    )
    assert stepped.dtype == tf.float32 and stepped.shape == image.shape
    np.testing.assert_allclose(
        stepped.numpy(), expected, rtol=1e-5, atol=1e-6 * max(1.0, learning_rate)
    )
    # A linear loss rises by exactly learning_rate * ||g|| along the normalized
    # gradient.
    rise = float(
        filters.compute_loss(extractor, stepped, filter_index)
        - filters.compute_loss(extractor, tf.constant(image), filter_index)
    )
    assert rise == pytest.approx(learning_rate * np.sqrt((gradient**2).sum()), rel=1e-3)


def test_gradient_ascent_step_matches_finite_differences_on_a_curved_extractor():
    extractor = tm.tanh_extractor(seed=4)
    extractor64 = tm.tanh_extractor(
        seed=4, dtype="float64"
    )  # the same weights, in float64
    image = np.random.default_rng(5).uniform(-1, 1, size=(1, 10, 10, 3))
    filter_index, eps, learning_rate = 3, 1e-5, 0.5
    # Central differences, all 2 * 300 perturbed images in one batch.
    perturbations = np.eye(image.size).reshape(-1, 10, 10, 3) * eps
    batch = np.concatenate([image + perturbations, image - perturbations])
    losses = np.asarray(extractor64(batch))[:, 2:-2, 2:-2, filter_index].mean(
        axis=(1, 2)
    )
    gradient = (losses[: image.size] - losses[image.size :]) / (2 * eps)
    unit = (gradient / np.linalg.norm(gradient)).reshape(image.shape)
    stepped = filters.gradient_ascent_step(
        extractor, image.astype(np.float32), filter_index, learning_rate
    )
    direction = (stepped.numpy() - image.astype(np.float32)) / learning_rate
    np.testing.assert_allclose(direction, unit, rtol=0, atol=2e-6)  # entries up to ~0.3
    assert np.linalg.norm(direction) == pytest.approx(1.0, rel=1e-4)


def test_gradient_ascent_step_leaves_its_input_alone():
    image = np.random.default_rng(6).normal(size=(1, 9, 9, 2)).astype(np.float32)
    before = image.copy()
    stepped = filters.gradient_ascent_step(tm.linear_extractor(), image, 0, 10.0)
    np.testing.assert_array_equal(image, before)
    assert not np.allclose(stepped.numpy(), image)


# ---------------------------------------------- input range, learning rate, start image


def model_starting_with(*first_layers):
    inputs = keras.Input(shape=(8, 8, 3))
    x = inputs
    for layer in first_layers:
        x = layer(x)
    return keras.Model(inputs, layers.Conv2D(2, 3, name="conv")(x))


@pytest.mark.parametrize(
    ("first_layers", "expected_range", "expected_rate"),
    [
        ([layers.Rescaling(1 / 255)], (0.0, 255.0), 1275.0),
        ([], (-1.0, 1.0), 10.0),
        # Rescaling(2, offset=-1) maps 0..1 to -1..1: the model takes 0..1.
        ([layers.Rescaling(2.0, offset=-1.0)], (0.0, 1.0), 5.0),
        # A Rescaling that is not the first layer does not count.
        ([layers.Conv2D(3, 1), layers.Rescaling(1 / 255)], (-1.0, 1.0), 10.0),
    ],
    ids=[
        "rescaling_1_255",
        "no_rescaling",
        "rescaling_0_1_to_-1_1",
        "rescaling_not_first",
    ],
)
def test_input_range_and_default_learning_rate(
    first_layers, expected_range, expected_rate
):
    model = model_starting_with(*first_layers)
    assert filters.input_range(model) == pytest.approx(expected_range)
    # 10 * (high - low) / 2
    assert filters.default_learning_rate(model) == pytest.approx(expected_rate)


def test_input_range_of_a_model_rescaling_0_255_to_minus_1_1():
    # Rescaling(1/127.5, offset=-1) maps 0..255 to -1..1, so the model takes 0..255
    # (what the code's comment says it solves for, and the step that matches the book's
    # 10 on [-1, 1] is 1275), as input_range's docstring says.
    model = model_starting_with(layers.Rescaling(1 / 127.5, offset=-1.0))
    assert filters.input_range(model) == pytest.approx((0.0, 255.0))
    assert filters.default_learning_rate(model) == pytest.approx(1275.0)


def test_the_shipped_convnets_take_0_255_and_step_1275():
    extractor = filters.build_feature_extractor(
        build_small_convnet(image_size=32, widths=(4, 8)), "conv1"
    )
    assert filters.input_range(extractor) == (0.0, 255.0)
    assert filters.default_learning_rate(extractor) == 1275.0


@pytest.mark.parametrize(
    ("value_range", "num_images"),
    [((0.0, 255.0), 1), ((-1.0, 1.0), 3), ((2.0, 4.0), 2)],
)
def test_initial_image_is_noise_in_the_middle_fifth_of_the_range(
    value_range, num_images
):
    low, high = value_range
    image = filters.initial_image(6, value_range, num_images=num_images, seed=11)
    assert image.shape == (num_images, 6, 6, 3) and image.dtype == np.float32
    expected = low + (high - low) * np.random.default_rng(11).uniform(
        0.4, 0.6, size=(num_images, 6, 6, 3)
    )
    np.testing.assert_allclose(image, expected, rtol=1e-6)
    assert image.min() >= low + 0.4 * (high - low) and image.max() <= low + 0.6 * (
        high - low
    )
    assert image.std() > 0.04 * (
        high - low
    )  # noise (U(0.4, 0.6) has std 0.0577), not a constant


# ----------------------------------------------------------- generate_filter_pattern(s)


def test_generate_filter_pattern_worked_example():
    # Identity extractor, no Rescaling: range (-1, 1), default step 10. The 8x8 image's
    # interior is its central 4x4: gradient 1/16 on 16 pixels, normalized 1/4, so each
    # step adds 10 / 4.
    extractor = identity_extractor(8)
    start = filters.initial_image(8, (-1.0, 1.0), seed=3)[0]
    pattern = filters.generate_filter_pattern(
        extractor, 2, iterations=3, image_size=8, seed=3
    )
    expected = start.copy()
    expected[2:6, 2:6, 2] += 3 * 10 / 4
    np.testing.assert_allclose(pattern, expected, rtol=0, atol=1e-5)
    assert pattern.dtype == np.float32 and pattern.shape == (8, 8, 3)


@pytest.mark.parametrize(("rescale", "expected_step"), [(True, 1275.0), (False, 10.0)])
def test_each_default_step_has_the_default_length(rescale, expected_step):
    extractor = tm.tanh_extractor(seed=7, rescale=rescale)
    low, high = filters.input_range(extractor)
    start = filters.initial_image(10, (low, high), seed=8)[0]
    one = filters.generate_filter_pattern(
        extractor, 1, iterations=1, image_size=10, seed=8
    )
    assert np.linalg.norm(one.astype(np.float64) - start) == pytest.approx(
        expected_step, rel=1e-4
    )
    zero = filters.generate_filter_pattern(
        extractor, 1, iterations=0, image_size=10, seed=8
    )
    np.testing.assert_array_equal(zero, start)


def test_generate_filter_pattern_is_repeated_ascent_steps_from_the_initial_image():
    extractor = tm.tanh_extractor(seed=9)
    image = tf.constant(
        filters.initial_image(10, filters.input_range(extractor), seed=21)
    )
    for _ in range(4):
        image = filters.gradient_ascent_step(extractor, image, 2, 0.3)
    pattern = filters.generate_filter_pattern(
        extractor, 2, iterations=4, learning_rate=0.3, image_size=10, seed=21
    )
    np.testing.assert_allclose(pattern, image[0].numpy(), rtol=1e-6, atol=1e-6)
    # The ascent did climb.
    start = filters.initial_image(10, filters.input_range(extractor), seed=21)
    assert float(filters.compute_loss(extractor, pattern[None], 2)) > float(
        filters.compute_loss(extractor, start, 2)
    )


@pytest.mark.parametrize(
    ("batch_size", "group_size"), [(64, 4), (3, 4), (64, 3), (4, 1), (3, 2)]
)
def test_batched_patterns_equal_one_at_a_time_ascent_from_the_same_start(
    batch_size, group_size
):
    extractor = tm.tanh_extractor(seed=10, rescale=True)
    indices, iterations, seed = [2, 0, 3, 2], 4, 12
    sizes = {"image_size": 10, "batch_size": batch_size, "group_size": group_size}
    patterns = filters.generate_filter_patterns(
        extractor, indices, iterations, seed=seed, progress=False, **sizes
    )
    assert patterns.shape == (4, 10, 10, 3) and patterns.dtype == np.float32
    starts = filters.initial_image(10, (0.0, 255.0), num_images=len(indices), seed=seed)
    for n, filter_index in enumerate(indices):
        image = tf.constant(starts[n : n + 1])
        for _ in range(iterations):
            image = filters.gradient_ascent_step(extractor, image, filter_index, 1275.0)
        # Values reach ~10^3 (steps of 1275): float32 round-off is ~1e-4 per operation.
        np.testing.assert_allclose(patterns[n], image[0].numpy(), rtol=1e-6, atol=1e-3)
    # Pattern 0 starts where generate_filter_pattern with the same seed starts.
    single = filters.generate_filter_pattern(
        extractor, indices[0], iterations=iterations, image_size=10, seed=seed
    )
    np.testing.assert_allclose(patterns[0], single, rtol=1e-6, atol=1e-3)
    # The two patterns of filter 2 start from different noise, so they differ.
    assert not np.allclose(patterns[0], patterns[3])


def test_summed_filter_loss_is_the_sum_of_each_images_own_loss_and_gradient():
    # The batched loss picks channel filter_indices[n] of image n by a one-hot product:
    # its value and its gradient must be those of the book's per-image loss.
    rng = np.random.default_rng(14)
    activation = tf.constant(rng.normal(size=(3, 9, 8, 5)).astype(np.float32))
    indices = tf.constant([4, 0, 4])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(activation)
        batched = filters._summed_filter_loss(activation, indices)
        book = sum(
            tf.reduce_mean(activation[n, 2:-2, 2:-2, int(f)])
            for n, f in enumerate(indices)
        )
    expected = sum(
        reference_loss(activation[n : n + 1], int(f)) for n, f in enumerate(indices)
    )
    np.testing.assert_allclose(float(batched), expected, rtol=1e-6)
    np.testing.assert_allclose(
        tape.gradient(batched, activation), tape.gradient(book, activation), rtol=1e-6
    )


def test_groups_cover_a_batch_in_order():
    assert filters._groups(16, 26, 4) == [slice(16, 20), slice(20, 24), slice(24, 26)]
    assert filters._groups(0, 3, 8) == [slice(0, 3)]


@pytest.mark.parametrize(
    ("option", "value"),
    [("batch_size", 0), ("group_size", -2), ("group_size", 2.5), ("batch_size", "16")],
)
def test_batch_and_group_sizes_must_be_positive_integers(option, value):
    with pytest.raises(
        ValueError,
        match=f"^{option} must be a positive integer, got {re.escape(repr(value))}$",
    ):
        filters.generate_filter_patterns(
            tm.tanh_extractor(),
            [0, 1],
            iterations=1,
            image_size=10,
            progress=False,
            **{option: value},
        )


@pytest.mark.parametrize("bad_index", [4, -1, 100])
def test_filter_index_out_of_range_is_an_error(bad_index):
    extractor = tm.tanh_extractor()
    message = re.escape(
        f"filter index {bad_index} is out of range: the layer has 4 filters (0..3)"
    )
    with pytest.raises(ValueError, match=message):
        filters.generate_filter_pattern(
            extractor, bad_index, iterations=1, image_size=10
        )
    with pytest.raises(ValueError, match="is out of range: the layer has 4 filters"):
        filters.generate_filter_patterns(
            extractor, [0, bad_index], iterations=1, image_size=10, progress=False
        )


@pytest.mark.parametrize("size", [4, 1])
def test_a_feature_map_without_an_interior_is_an_error_not_nan(size):
    # compute_loss leaves out a 2-pixel border: a map 4 pixels wide or less has nothing
    # left.
    inputs = keras.Input(shape=(10, 10, 3))
    outputs = layers.Conv2D(2, 10 - size + 1, name="small_map")(inputs)
    extractor = keras.Model(inputs, outputs)
    message = (
        f"^the layer's feature map is {size}x{size}: "
        "the loss leaves out a 2-pixel border"
    )
    with pytest.raises(ValueError, match=message):
        filters.generate_filter_pattern(extractor, 0, iterations=1, image_size=10)
    with pytest.raises(ValueError, match=message):
        filters.generate_filter_patterns(
            extractor, [0, 1], iterations=1, image_size=10, progress=False
        )
    with pytest.raises(ValueError, match=message):
        filters.generate_regularized_patterns(
            extractor, [0], image_size=10, progress=False
        )
    # A 5-pixel map keeps its centre pixel.
    inputs = keras.Input(shape=(10, 10, 3))
    five = keras.Model(inputs, layers.Conv2D(2, 6)(inputs))
    assert np.isfinite(
        filters.generate_filter_pattern(five, 0, iterations=1, image_size=10)
    ).all()


def test_unknown_layer_for_the_feature_extractor_lists_the_conv_layers():
    model = build_small_convnet(image_size=32, widths=(4, 8))
    with pytest.raises(
        ValueError, match="no layer named 'conv7'.*conv1, pool1, last_conv"
    ):
        filters.build_feature_extractor(model, "conv7")


# ---------------------------------------------------------------- determinism


def test_patterns_are_determined_by_the_seed():
    extractor = tm.tanh_extractor(seed=13, rescale=True)

    def single(seed):
        return filters.generate_filter_pattern(
            extractor, 1, iterations=3, image_size=10, seed=seed
        )

    def batched(seed):
        return filters.generate_filter_patterns(
            extractor, [1, 3], iterations=3, image_size=10, seed=seed, progress=False
        )

    np.testing.assert_array_equal(single(5), single(5))
    np.testing.assert_array_equal(batched(5), batched(5))
    assert not np.allclose(single(5), single(6))
    assert not np.allclose(batched(5), batched(6))
    np.testing.assert_array_equal(
        filters.initial_image(10, seed=5), filters.initial_image(10, seed=5)
    )
    assert not np.array_equal(
        filters.initial_image(10, seed=None), filters.initial_image(10, seed=None)
    )


# ---------------------------------------------------------------- deprocess_image


def test_deprocess_image_worked_example():
    # Pixels 0 and 1 (all channels): mean 1/2, std 1/2, z = -1 and +1 -> 64 and 192.
    image = np.array([[[0, 0, 0], [1, 1, 1]]], np.float32)
    np.testing.assert_array_equal(
        filters.deprocess_image(image, crop=0), [[[64, 64, 64], [192, 192, 192]]]
    )
    # A 1x5 row 0, 0, 0, 0, 10 (one channel repeated): mean 2, std 4;
    # z = -0.5 -> 96, z = 2 -> 256 -> 255.
    row = np.repeat(np.array([0, 0, 0, 0, 10], np.float32)[None, :, None], 3, axis=2)
    np.testing.assert_array_equal(
        filters.deprocess_image(row, crop=0)[0, :, 0], [96, 96, 96, 96, 255]
    )


@pytest.mark.parametrize(
    ("shape", "crop"), [((60, 60, 3), 25), ((20, 16, 3), 3), ((7, 9, 3), 0)]
)
def test_deprocess_image_matches_a_float64_reference(shape, crop):
    image = (np.random.default_rng(14).standard_t(4, size=shape) * 300 + 1275).astype(
        np.float32
    )
    picture = filters.deprocess_image(image, crop=crop)
    expected = reference_deprocess(image, crop)
    assert picture.dtype == np.uint8
    assert (
        picture.shape == (shape[0] - 2 * crop, shape[1] - 2 * crop, 3) == expected.shape
    )
    difference = np.abs(picture.astype(int) - expected.astype(int))
    assert difference.max() <= 1 and (difference == 0).mean() > 0.97


def test_deprocess_crop_cuts_the_same_number_of_pixels_from_each_border():
    image = np.random.default_rng(15).normal(size=(12, 10, 3)).astype(np.float32)
    whole = filters.deprocess_image(image, crop=0)
    assert whole.shape == (12, 10, 3)
    np.testing.assert_array_equal(
        filters.deprocess_image(image, crop=2), whole[2:-2, 2:-2]
    )
    # The default crop is 25.
    big = np.random.default_rng(15).normal(size=(60, 52, 3)).astype(np.float32)
    np.testing.assert_array_equal(
        filters.deprocess_image(big),
        filters.deprocess_image(big, crop=0)[25:-25, 25:-25],
    )
    assert filters.deprocess_image(big).shape == (10, 2, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_deprocess_image_never_modifies_its_input(dtype):
    image = np.random.default_rng(16).normal(500, 100, size=(8, 8, 3)).astype(dtype)
    before = image.copy()
    picture = filters.deprocess_image(image, crop=0)
    np.testing.assert_array_equal(image, before)
    assert image.dtype == dtype and not np.shares_memory(picture, image)


@pytest.mark.parametrize("value", [0.0, 1.7, 127.3, 1275.5])
def test_deprocess_constant_image_is_mid_grey(value):
    # "A constant image (std = 0) gives mid-grey (128), never NaN."
    picture = filters.deprocess_image(np.full((8, 8, 3), value, np.float32), crop=0)
    assert np.unique(picture).tolist() == [128], (
        f"constant {value} gave grey levels {np.unique(picture)}"
    )


# ---------------------------------------------------------------- stitch


def test_stitch_worked_example():
    a, b, c = (np.full((1, 1, 3), v, np.uint8) for v in (10, 20, 30))
    grid = filters.stitch([a, b, c], n_cols=2, margin=1)
    np.testing.assert_array_equal(grid[:, :, 0], [[10, 0, 20], [0, 0, 0], [30, 0, 0]])
    assert grid.dtype == np.uint8 and grid.shape == (3, 3, 3)


@pytest.mark.parametrize(
    ("count", "n_cols", "margin"), [(5, 2, 3), (8, 8, 5), (3, 4, 0), (1, 8, 5)]
)
def test_stitch_matches_a_reference(count, n_cols, margin):
    rng = np.random.default_rng(count)
    images = [
        rng.integers(1, 256, size=(4, 3, 3)).astype(np.uint8) for _ in range(count)
    ]
    rows = -(-count // n_cols)
    expected = np.zeros(
        (rows * 4 + (rows - 1) * margin, n_cols * 3 + (n_cols - 1) * margin, 3),
        np.uint8,
    )
    for k, image in enumerate(images):
        top, left = (k // n_cols) * (4 + margin), (k % n_cols) * (3 + margin)
        expected[top : top + 4, left : left + 3] = image
    np.testing.assert_array_equal(
        filters.stitch(images, n_cols=n_cols, margin=margin), expected
    )


def test_stitch_needs_an_image():
    with pytest.raises(ValueError, match="at least one image"):
        filters.stitch([])


# ------------------------------------------------------ regularized variant


@pytest.fixture(scope="module")
def shipped_extractor():
    from convviz_ref.models import load_pretrained

    model, _ = load_pretrained("xception_like")
    return filters.build_feature_extractor(model, "block2_sepconv2")


@pytest.mark.slow
def test_regularized_patterns_stay_in_the_input_range_and_excite_their_filters(
    shipped_extractor,
):
    from convviz_ref import data

    indices = np.arange(16)
    patterns = filters.generate_regularized_patterns(
        shipped_extractor, indices, seed=0, progress=False
    )
    assert patterns.shape == (16, 96, 96, 3) and patterns.dtype == np.float32
    assert patterns.min() >= 0.0 and patterns.max() <= 255.0, (
        "clipped to the model's 0..255 input"
    )
    start = filters.initial_image(96, num_images=16, seed=0)

    def losses(images):  # compute_loss of filter k for image k
        return np.array(
            [
                filters.compute_loss(shipped_extractor, images[k : k + 1], k).numpy()
                for k in indices
            ]
        )

    real = np.asarray(shipped_extractor(data.load_shapes("test", n=20).images))[
        :, 2:-2, 2:-2, :16
    ]
    best_real = real.mean(axis=(1, 2)).max(axis=0)
    pattern_loss = losses(patterns)
    assert (pattern_loss > losses(start)).all(), (
        "every filter responds more to its pattern than to the start"
    )
    # Measured: 14 of these 16 filters respond more to their pattern than to any of the
    # real images.
    assert (pattern_loss > best_real).sum() >= 12


def test_regularized_patterns_are_determined_by_the_seed(shipped_extractor):
    kwargs = dict(octaves=(12,), iterations_per_octave=3, progress=False)
    first = filters.generate_regularized_patterns(
        shipped_extractor, [1, 2], seed=4, **kwargs
    )
    again = filters.generate_regularized_patterns(
        shipped_extractor, [1, 2], seed=4, **kwargs
    )
    other = filters.generate_regularized_patterns(
        shipped_extractor, [1, 2], seed=5, **kwargs
    )
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_regularized_patterns_are_smoother_than_plain_ascent(shipped_extractor):
    # The point of the variant: less pixel-to-pixel noise than plain ascent.
    plain = filters.generate_filter_patterns(
        shipped_extractor, range(4), seed=0, progress=False
    )
    smooth = filters.generate_regularized_patterns(
        shipped_extractor, range(4), seed=0, progress=False
    )

    def roughness(patterns):
        pictures = np.stack(
            [filters.deprocess_image(p, crop=0) for p in patterns]
        ).astype(float)
        return np.abs(np.diff(pictures, axis=2)).mean()

    assert roughness(smooth) < 0.8 * roughness(plain)


def test_regularized_filter_index_out_of_range(shipped_extractor):
    with pytest.raises(
        ValueError, match="filter index 64 is out of range: the layer has 64 filters"
    ):
        filters.generate_regularized_patterns(shipped_extractor, [64], progress=False)


def test_regularized_patterns_do_not_depend_on_the_batching():
    # Each image's ascent is its own: batches and groups only decide what runs side by
    # side.
    extractor = tm.tanh_extractor(seed=15, rescale=True)
    kwargs = dict(
        octaves=(4, 10), iterations_per_octave=3, image_size=10, seed=6, progress=False
    )
    together = filters.generate_regularized_patterns(
        extractor, [3, 1, 0], batch_size=3, group_size=3, **kwargs
    )
    apart = filters.generate_regularized_patterns(
        extractor, [3, 1, 0], batch_size=2, group_size=1, **kwargs
    )
    # Values reach ~10^2..10^3 in 0..255 units: float32 round-off.
    np.testing.assert_allclose(together, apart, rtol=1e-6, atol=1e-3)
    with pytest.raises(
        ValueError, match="^group_size must be a positive integer, got 0$"
    ):
        filters.generate_regularized_patterns(extractor, [0], group_size=0, **kwargs)


def _book_loop(extractor):
    return filters.generate_filter_pattern(
        extractor, 0, iterations=2, image_size=16, seed=0
    )


def _batched(extractor):
    return filters.generate_filter_patterns(
        extractor, [0, 1], iterations=2, image_size=16, seed=0, progress=False
    )


def _regularized(extractor):
    return filters.generate_regularized_patterns(
        extractor,
        [0, 1],
        octaves=(4, 16),
        iterations_per_octave=2,
        image_size=16,
        seed=0,
        progress=False,
    )


@pytest.mark.parametrize("generate", [_book_loop, _batched, _regularized])
def test_extractor_after_extractor_traces_without_tensorflow_s_retracing_warning(
    generate, caplog
):
    # Chapter 5 of the book visits several layers; one tf.function shared by every
    # extractor traced anew for each, and from the fifth TensorFlow printed "...
    # triggered tf.function retracing" into the page (and, through the book's loop of
    # gradient_ascent_step, into a reader's notebook). Each extractor now has a traced
    # function of its own.
    model = build_small_convnet(image_size=16, widths=(4, 4))
    with caplog.at_level("WARNING", logger="tensorflow"):
        for _ in range(7):
            extractor = filters.build_feature_extractor(
                model, "conv1"
            )  # a new object each time
            generate(extractor)
    assert not [
        record for record in caplog.records if "retracing" in record.getMessage()
    ]


# ---------------------------------------------------------------- filter_grid


def conv_model(height, width, filters=3):
    inputs = keras.Input(shape=(height, width, 3))
    outputs = layers.Conv2D(filters, 3, padding="same", name="conv")(inputs)
    return keras.Model(inputs, outputs, name="tiny")


def test_filter_grid_stitches_the_cropped_patterns_of_the_first_filters():
    made = filters.filter_grid(conv_model(32, 32), "conv", iterations=1, seed=0)
    # Three 32-pixel patterns, 8 cropped from each side (min(25, 32 * 25 // 96)).
    assert made.layer_name == "conv" and made.indices == [0, 1, 2]
    assert made.grid.shape == (16, 3 * 16 + 2 * 5, 3) and made.grid.dtype == np.uint8
    alone = filters.filter_grid(conv_model(32, 32), "conv", filter_index=1)
    assert alone.indices == [1] and alone.grid.shape == (16, 16, 3)


@pytest.mark.parametrize(
    ("size", "options", "message"),
    [
        ((24, 40), {}, "model 'tiny' takes 24x40 images; filter patterns are square"),
        ((32, 32), {"filters": 4}, "filters=4 is out of range: layer 'conv' has 3"),
        ((32, 32), {"filters": 2, "filter_index": 1}, "filters or filter_index, not"),
    ],
)
def test_filter_grid_refuses_what_it_cannot_show(size, options, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        filters.filter_grid(conv_model(*size), "conv", **options)


# ------------------------------------------------------ projected (clipped) ascent


def test_clipped_patterns_are_plain_steps_clipped_to_the_input_range():
    keras.utils.set_random_seed(0)  # weights under which both filters have a gradient
    extractor = filters.build_feature_extractor(
        build_small_convnet(image_size=32, widths=(4, 4)), "conv1"
    )
    indices = np.array([0, 3])
    learning_rate = 20000.0  # about 360 per pixel: the clipping bites
    got = filters.generate_clipped_patterns(
        extractor, indices, iterations=2, learning_rate=learning_rate,
        image_size=32, seed=1, progress=False,
    )  # fmt: skip
    images = filters.initial_image(32, num_images=2, seed=1)
    for _ in range(2):  # the steps by hand: plain step, then clip to 0..255
        for n, k in enumerate(indices):
            stepped = filters.gradient_ascent_step(
                extractor, images[n : n + 1], int(k), learning_rate
            )
            images[n] = np.clip(np.asarray(stepped)[0], 0.0, 255.0)
    assert got.min() >= 0.0 and got.max() <= 255.0
    assert (got == 0.0).any() or (got == 255.0).any(), "the clipping was exercised"
    np.testing.assert_allclose(got, images, rtol=1e-4, atol=1e-2)


# ------------------------------------------------------------- visualize_filter


def test_visualize_filter_worked_example_reaches_the_box_maximum():
    # The identity "extractor" takes [-1, 1] (no Rescaling): the loss of channel 1 is
    # the mean of its inner 4x4 pixels, whose gradient is 1/16 on each; normalized,
    # 1/4 each, so one step of the default 10 adds 2.5 to them, clipped to 1: the
    # maximum of the loss in the box. Every other pixel keeps its starting value.
    extractor = identity_extractor()
    image = filters.visualize_filter(extractor, 1, image_size=8, steps=1)
    start = filters.initial_image(8, (-1.0, 1.0), seed=0)[0]
    assert image.shape == (8, 8, 3) and image.dtype == np.float32
    np.testing.assert_allclose(image[2:-2, 2:-2, 1], 1.0)
    outside = np.ones(image.shape, bool)
    outside[2:-2, 2:-2, 1] = False
    np.testing.assert_allclose(image[outside], start[outside], rtol=1e-6)
    assert reference_loss(image[None], 1) == pytest.approx(1.0)


def test_visualize_filter_stays_in_the_input_range_and_climbs():
    keras.utils.set_random_seed(0)
    extractor = filters.build_feature_extractor(
        build_small_convnet(image_size=96), "conv1"
    )
    start = filters.initial_image(96, seed=0)
    # The filter that responds most to the start: it has a gradient to climb.
    index = int(np.argmax(np.asarray(extractor(start))[0].mean(axis=(0, 1))))
    losses = {}
    for steps in (0, 10):
        image = filters.visualize_filter(extractor, index, image_size=96, steps=steps)
        assert image.min() >= 0.0 and image.max() <= 255.0
        losses[steps] = float(filters.compute_loss(extractor, image[None], index))
    np.testing.assert_allclose(
        losses[0], float(filters.compute_loss(extractor, start, index)), rtol=1e-6
    )
    assert losses[10] > losses[0]
