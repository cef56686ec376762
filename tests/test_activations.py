"""convviz_ref.activations: the channel grid formula and layout, and activation models.

Every formula is checked against a plain float64 numpy re-implementation
written here, on random inputs and seeded tiny models, and on cases worked
out by hand. Activation models are checked for Functional models and for a
Sequential model built the three ways (via an Input, via ``build``, never
built but given ``input_shape``).
"""

import re

import keras
import numpy as np
import pytest
import tiny_models as tm
from keras import layers

from convviz_ref import activations
from convviz_ref.models import build_small_convnet


def reference_grid(activation, images_per_row):
    """The documented channel grid, float64, one tile at a time."""
    activation = np.asarray(activation, np.float64)
    if activation.ndim == 4:
        activation = activation[0]
    h, w, c = activation.shape
    rows = int(np.ceil(c / images_per_row))
    grid = np.zeros((rows * (h + 1) - 1, images_per_row * (w + 1) - 1), np.uint8)
    for k in range(c):
        a = activation[:, :, k]
        if a.max() == a.min():  # constant: blank tile
            continue
        tile = np.clip((a - a.mean()) / a.std() * 64 + 128, 0, 255).astype(np.uint8)
        r, col = divmod(k, images_per_row)
        grid[r * (h + 1) : r * (h + 1) + h, col * (w + 1) : col * (w + 1) + w] = tile
    return grid


# ----------------------------------------------------------- channel_grid: worked cases


def test_channel_grid_worked_example_2x2x2():
    # Channel 0 = [[0, 1], [2, 3]]: mean 1.5, std sqrt(1.25) = 1.1180;
    #   z = [-1.342, -0.447, 0.447, 1.342] -> 64 z + 128 = [42.1, 99.4, 156.6, 213.9] ->
    #   uint8 42, 99, 156, 213.
    # Channel 1 = [[10, -10], [10, -10]]: mean 0, std 10; z = +-1 -> 192 and 64.
    activation = np.zeros((1, 2, 2, 2), np.float32)
    activation[0, :, :, 0] = [[0, 1], [2, 3]]
    activation[0, :, :, 1] = [[10, -10], [10, -10]]

    # Two tiles in one row, one blank column between them.
    np.testing.assert_array_equal(
        activations.channel_grid(activation, images_per_row=2),
        [[42, 99, 0, 192, 64], [156, 213, 0, 192, 64]],
    )
    # One tile per row: a blank row between them.
    np.testing.assert_array_equal(
        activations.channel_grid(activation, images_per_row=1),
        [[42, 99], [156, 213], [0, 0], [192, 64], [192, 64]],
    )
    # Three per row: the row is padded with a blank third tile.
    np.testing.assert_array_equal(
        activations.channel_grid(activation, images_per_row=3),
        [[42, 99, 0, 192, 64, 0, 0, 0], [156, 213, 0, 192, 64, 0, 0, 0]],
    )


def test_channel_grid_clips_an_outlier_to_255():
    # 4x4 channel, fifteen 0s and one 1: mean 1/16, std sqrt(15)/16 = 0.2421.
    # The 1 gives z = (15/16) / 0.2421 = 3.873 -> 375.9 -> clipped to 255;
    # each 0 gives z = -0.2582 -> 111.5 -> 111.
    channel = np.zeros((4, 4, 1), np.float32)
    channel[0, 0, 0] = 1.0
    expected = np.full((4, 4), 111, np.uint8)
    expected[0, 0] = 255
    np.testing.assert_array_equal(
        activations.channel_grid(channel, images_per_row=1), expected
    )
    # And the symmetric low outlier clips to 0: -1 among zeros gives 256 - 375.9 < 0.
    np.testing.assert_array_equal(
        activations.channel_grid(-channel, images_per_row=1)[0, 0], 0
    )


# -------------------------------------------------- channel_grid: against the reference


@pytest.mark.parametrize(
    ("height", "width", "channels", "images_per_row"),
    [(5, 5, 7, 3), (6, 4, 16, 16), (3, 8, 5, 8), (7, 7, 33, 16), (1, 9, 4, 2)],
)
def test_channel_grid_matches_a_float64_reference(
    height, width, channels, images_per_row
):
    rng = np.random.default_rng(height * 100 + channels)
    # Varied scales and offsets per channel, heavy tails so some pixels clip.
    activation = (
        rng.standard_t(3, size=(1, height, width, channels))
        * rng.uniform(0.01, 50, channels)
        + rng.uniform(-20, 20, channels)
    ).astype(np.float32)
    grid = activations.channel_grid(activation, images_per_row=images_per_row)
    expected = reference_grid(activation, images_per_row)
    assert grid.dtype == np.uint8
    assert grid.shape == expected.shape
    # float32 vs float64 round-off can move a value across an integer boundary: at most
    # 1 grey level.
    difference = np.abs(grid.astype(int) - expected.astype(int))
    assert difference.max() <= 1
    assert (difference == 0).mean() > 0.97
    assert (
        (grid == 255).any() or (grid == 0).any() or height * width < 10
    )  # the clipping was exercised


def test_channel_grid_layout_tiles_separators_and_padding():
    # Each channel is a shuffled, scaled and shifted copy of 0, 1, ..., 11: its |z| is
    # at most 5.5 / std(0..11) = 1.593, so every tile pixel is >= 128 - 64 * 1.593 = 26:
    # the non-zero pixels are exactly the tiles, and the separators and padding are
    # exactly the zeros.
    height, width, channels, per_row = 4, 3, 7, 3
    rng = np.random.default_rng(1)
    activation = np.stack(
        [
            rng.permutation(12).reshape(height, width) * rng.uniform(0.1, 9)
            + rng.normal()
            for _ in range(channels)
        ],
        axis=-1,
    ).astype(np.float32)
    grid = activations.channel_grid(activation, images_per_row=per_row)
    assert grid.shape == (3 * (height + 1) - 1, per_row * (width + 1) - 1)
    tile_mask = np.zeros(grid.shape, bool)
    for k in range(channels):
        r, c = divmod(k, per_row)
        tile = grid[
            r * (height + 1) : r * (height + 1) + height,
            c * (width + 1) : c * (width + 1) + width,
        ]
        tile_mask[
            r * (height + 1) : r * (height + 1) + height,
            c * (width + 1) : c * (width + 1) + width,
        ] = True
        # Tile k is channel k, in reading order.
        np.testing.assert_array_equal(
            tile, reference_grid(activation[:, :, k : k + 1], 1)
        )
    np.testing.assert_array_equal(grid > 0, tile_mask)
    # The last row holds one tile and two blank (padding) tiles.
    assert not grid[2 * (height + 1) :, width + 1 :].any()


def test_channel_grid_takes_a_batch_of_one_or_a_single_activation():
    activation = np.random.default_rng(2).normal(size=(1, 5, 6, 4)).astype(np.float32)
    np.testing.assert_array_equal(
        activations.channel_grid(activation, 2),
        activations.channel_grid(activation[0], 2),
    )


def test_channel_grid_leaves_an_all_zero_channel_blank_without_warning():
    activation = np.random.default_rng(3).normal(size=(6, 6, 3)).astype(np.float32)
    activation[:, :, 1] = 0.0  # a ReLU that never fired
    grid = activations.channel_grid(
        activation, images_per_row=3
    )  # a RuntimeWarning here would be an error
    assert not grid[:, 7:13].any()
    np.testing.assert_array_equal(grid[:, :6], reference_grid(activation[:, :, :1], 1))
    np.testing.assert_array_equal(grid[:, 14:], reference_grid(activation[:, :, 2:], 1))


@pytest.mark.parametrize("value", [0.3, 1.7, -2.5, 127.3])
def test_channel_grid_leaves_a_constant_nonzero_channel_blank(value):
    # "a constant channel (all zeros, say ...) has std = 0: its tile is left blank (0)".
    # A constant that float32 cannot represent exactly gives a mean a few ulps off,
    # hence a tiny non-zero std, and z = +-1 everywhere (a uniform 64 or 192 tile).
    activation = np.random.default_rng(4).normal(size=(8, 8, 2)).astype(np.float32)
    activation[:, :, 0] = value
    grid = activations.channel_grid(activation, images_per_row=2)
    assert not grid[:, :8].any(), (
        f"constant channel {value} drew grey levels {np.unique(grid[:, :8])}"
    )


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((2, 4, 4, 3), "activation of one image"),
        ((4, 4), "expected shape"),
        ((1, 1, 4, 4, 3), "expected shape"),
    ],
)
def test_channel_grid_rejects_batches_and_wrong_ranks(shape, message):
    with pytest.raises(ValueError, match=message):
        activations.channel_grid(np.ones(shape, np.float32))


# ---------------------------------------------------------------- conv_and_pool_layers


def test_conv_and_pool_layers_lists_every_conv_and_pooling_type_in_order():
    inputs = keras.Input(shape=(16, 16, 3))
    x = layers.Rescaling(1 / 255, name="rescale")(inputs)
    x = layers.Conv2D(4, 3, padding="same", name="plain")(x)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.Activation("relu", name="act")(x)
    x = layers.SeparableConv2D(4, 3, padding="same", name="separable")(x)
    x = layers.MaxPooling2D(2, name="max")(x)
    x = layers.DepthwiseConv2D(3, padding="same", name="depthwise")(x)
    x = layers.Conv2DTranspose(4, 3, strides=2, padding="same", name="transposed")(x)
    x = layers.AveragePooling2D(2, name="average")(x)
    x = layers.GlobalAveragePooling2D(name="global")(x)
    outputs = layers.Dense(2, name="dense")(x)
    model = keras.Model(inputs, outputs)
    names = [layer.name for layer in activations.conv_and_pool_layers(model)]
    assert names == ["plain", "separable", "max", "depthwise", "transposed", "average"]


# --------------------------------------------------------------- build_activation_model


def reference_activations(model, image):
    """conv1 (relu) -> pool1 -> conv2 (relu) of tm's two convnets, in float64.

    tm.functional_convnet and tm.sequential_convnet have the same layers.
    """
    x = np.asarray(image, np.float64)[0]
    if any(layer.name == "rescaling" for layer in model.layers):
        x = x / 255.0
    conv1 = tm.relu(tm.np_conv2d(x, *model.get_layer("conv1").get_weights()))
    pool1 = tm.np_maxpool2(conv1)
    conv2 = tm.relu(tm.np_conv2d(pool1, *model.get_layer("conv2").get_weights()))
    return {"conv1": conv1, "pool1": pool1, "conv2": conv2}


def test_activation_model_of_a_functional_model_matches_numpy():
    model = tm.functional_convnet(seed=5)
    activation_model = activations.build_activation_model(model)
    assert activation_model.output_names == ["conv1", "pool1", "conv2"]
    image = (
        np.random.default_rng(5).uniform(0, 255, size=(1, 12, 12, 3)).astype(np.float32)
    )
    result = activations.compute_activations(activation_model, image)
    expected = reference_activations(model, image)
    assert list(result) == ["conv1", "pool1", "conv2"]
    for name, value in result.items():
        assert isinstance(value, np.ndarray) and value.dtype == np.float32
        assert value.shape == (1,) + expected[name].shape
        np.testing.assert_allclose(value[0], expected[name], rtol=1e-5, atol=1e-5)
    assert (
        result["conv1"].max() > 0 and (result["conv1"] == 0).any()
    )  # the ReLU mattered


@pytest.mark.parametrize("how", ["input", "build", "unbuilt"])
def test_activation_model_of_a_sequential_model_built_each_way(how):
    model = tm.sequential_convnet(how, seed=6)
    input_shape = (12, 12, 3) if how == "unbuilt" else None
    activation_model = activations.build_activation_model(
        model, input_shape=input_shape
    )
    assert activation_model.output_names == ["conv1", "pool1", "conv2"]
    assert [tuple(output.shape) for output in activation_model.outputs] == [
        (None, 10, 10, 4),
        (None, 5, 5, 4),
        (None, 3, 3, 3),
    ]
    if how == "unbuilt":  # its weights were created by building the activation model
        tm.set_random_weights(model, seed=6)
    image = np.random.default_rng(6).normal(size=(1, 12, 12, 3)).astype(np.float32)
    result = activations.compute_activations(activation_model, image)
    expected = reference_activations(model, image)
    for name in expected:
        np.testing.assert_allclose(
            result[name][0], expected[name], rtol=1e-5, atol=1e-5
        )
    # The activation model shares the model's weights: finishing the computation by hand
    # from conv2 reproduces the model's own prediction.
    kernel, bias = model.get_layer("predictions").get_weights()
    probabilities = tm.softmax(expected["conv2"].reshape(-1) @ kernel + bias)
    np.testing.assert_allclose(
        np.asarray(model(image))[0], probabilities, rtol=1e-4, atol=1e-6
    )


def test_unbuilt_sequential_model_without_input_shape_is_a_clear_error():
    model = tm.sequential_convnet("unbuilt")
    with pytest.raises(
        ValueError,
        match=re.escape(
            "no input shape yet; pass input_shape=(height, width, channels)"
        ),
    ):
        activations.build_activation_model(model)


def test_chosen_layers_come_back_in_the_order_asked():
    model = tm.functional_convnet(seed=7)
    activation_model = activations.build_activation_model(model, ["conv2", "conv1"])
    assert activation_model.output_names == ["conv2", "conv1"]
    image = np.full((1, 12, 12, 3), 100.0, np.float32)
    result = activations.compute_activations(activation_model, image)
    assert list(result) == ["conv2", "conv1"]
    assert result["conv2"].shape == (1, 3, 3, 3) and result["conv1"].shape == (
        1,
        10,
        10,
        4,
    )


def test_a_single_chosen_layer_still_gives_a_dict():
    model = tm.functional_convnet(seed=7)
    result = activations.compute_activations(
        activations.build_activation_model(model, ["pool1"]),
        np.zeros((1, 12, 12, 3), np.float32),
    )
    assert list(result) == ["pool1"] and result["pool1"].shape == (1, 5, 5, 4)


def test_unknown_layer_name_lists_the_conv_and_pooling_layers():
    model = tm.functional_convnet()
    with pytest.raises(ValueError) as error:
        activations.build_activation_model(model, ["conv1", "conv9"])
    message = str(error.value)
    assert "no layer named 'conv9'" in message
    assert message.endswith("conv and pooling layers: conv1, pool1, conv2")


def test_model_without_conv_or_pooling_layer_is_an_error():
    inputs = keras.Input(shape=(8, 8, 3))
    model = keras.Model(
        inputs, layers.Dense(2, name="dense")(layers.Flatten()(inputs)), name="mlp"
    )
    with pytest.raises(ValueError, match="model 'mlp' has no conv or pooling layer"):
        activations.build_activation_model(model)


def test_shipped_small_convnet_gives_every_conv_and_pool_layer():
    model = build_small_convnet(image_size=32, widths=(4, 8, 8))
    activation_model = activations.build_activation_model(model)
    assert activation_model.output_names == [
        "conv1",
        "pool1",
        "conv2",
        "pool2",
        "last_conv",
    ]
    result = activations.compute_activations(
        activation_model, np.zeros((1, 32, 32, 3), np.float32)
    )
    # 32 -> 30 -> 15 -> 13 -> 6 -> 4
    assert [value.shape[1:] for value in result.values()] == [
        (30, 30, 4),
        (15, 15, 4),
        (13, 13, 8),
        (6, 6, 8),
        (4, 4, 8),
    ]


@pytest.mark.parametrize("shape", [(12, 12, 3), (2, 12, 12, 3)])
def test_compute_activations_wants_exactly_one_image(shape):
    activation_model = activations.build_activation_model(tm.functional_convnet())
    with pytest.raises(ValueError, match=re.escape(f"got {shape}")):
        activations.compute_activations(activation_model, np.zeros(shape, np.float32))


def test_transposed_convolutions_of_the_segmenter_are_visualized():
    # conv_and_pool_layers: "Conv2DTranspose counts as a convolution".
    from convviz_ref.models import build_segmentation_model

    model = build_segmentation_model(image_size=16, widths=(4,))
    activation_model = activations.build_activation_model(model)
    assert activation_model.output_names == [
        "down1_conv1",
        "down1_conv2",
        "up1_conv1",
        "up1_conv2",
        "mask",
    ]


def test_layer_grids_gives_each_layer_s_channel_grid_and_refuses_a_flat_layer():
    model = tm.functional_convnet(seed=1)
    image = np.random.default_rng(0).uniform(0, 255, (1, 12, 12, 3)).astype("float32")
    grids = activations.layer_grids(model, image, ["conv1", "conv2"])
    assert list(grids) == ["conv1", "conv2"]
    outputs = activations.compute_activations(
        activations.build_activation_model(model, ["conv1", "conv2"]), image
    )
    for name, grid in grids.items():
        np.testing.assert_array_equal(grid, activations.channel_grid(outputs[name]))
    with pytest.raises(ValueError, match="layer 'gap' of model .* no spatial output"):
        activations.layer_grids(model, image, ["gap"])
