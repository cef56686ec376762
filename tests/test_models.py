"""The builders: layer types and order, shapes, parameter counts."""

import keras
import numpy as np
import pytest

from convviz_ref import models


def layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


def test_segmentation_model_is_strided_convs_then_transposed_convs():
    model = models.build_segmentation_model(image_size=32, widths=(8, 16))
    assert layer_types(model) == [
        "InputLayer",
        "Rescaling",
        "Conv2D",
        "Conv2D",
        "Conv2D",
        "Conv2D",
        "Conv2DTranspose",
        "Conv2DTranspose",
        "Conv2DTranspose",
        "Conv2DTranspose",
        "Conv2D",
    ]
    strides = [layer.strides for layer in model.layers[2:10]]
    assert strides == [(2, 2), (1, 1), (2, 2), (1, 1), (1, 1), (2, 2), (1, 1), (2, 2)]
    assert not any("Pooling" in name for name in layer_types(model)), (
        "no max pooling in the segmenter"
    )
    assert model.output_shape == (None, 32, 32, 3)
    assert model.layers[-1].activation.__name__ == "softmax"
    # Parameter count: every 3x3 (transposed) conv has 9 * in * out + out.
    widths = [
        (3, 8),
        (8, 8),
        (8, 16),
        (16, 16),
        (16, 16),
        (16, 16),
        (16, 8),
        (8, 8),
        (8, 3),
    ]
    assert model.count_params() == sum(9 * a * b + b for a, b in widths)


def test_segmentation_model_rejects_an_indivisible_size():
    with pytest.raises(ValueError, match="not divisible by 2 \\*\\* 2"):
        models.build_segmentation_model(image_size=98)
    with pytest.raises(ValueError, match="not divisible by 2 \\*\\* 3"):
        models.build_segmentation_model(image_size=100, widths=(8, 16, 32))


def test_small_convnet_is_conv_pool_flatten_dropout_dense():
    model = models.build_small_convnet(image_size=64, num_classes=4, widths=(8, 16, 32))
    assert layer_types(model) == [
        "InputLayer",
        "Rescaling",
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "MaxPooling2D",
        "Conv2D",
        "Flatten",
        "Dropout",
        "Dense",
    ]
    # 64 -> conv 62 -> pool 31 -> conv 29 -> pool 14 -> conv 12.
    assert model.get_layer("last_conv").output.shape == (None, 12, 12, 32)
    assert model.output_shape == (None, 4)


def test_residual_block_without_projection_adds_the_input_itself():
    inputs = keras.Input(shape=(8, 8, 16))
    outputs = models.residual_block(inputs, 16, name="same")
    model = keras.Model(inputs, outputs)
    assert "same_projection" not in [layer.name for layer in model.layers]
    assert model.output_shape == (None, 8, 8, 16)
    # With all conv weights zero, the body outputs zero and the block is the identity.
    model.set_weights([np.zeros_like(w) for w in model.get_weights()])
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 16)).astype("float32")
    np.testing.assert_allclose(model(x), x)


def test_residual_block_projects_when_channels_change():
    inputs = keras.Input(shape=(8, 8, 16))
    model = keras.Model(inputs, models.residual_block(inputs, 32, name="wider"))
    projection = model.get_layer("wider_projection")
    assert projection.kernel_size == (1, 1) and projection.strides == (1, 1)
    assert model.output_shape == (None, 8, 8, 32)


def test_residual_block_with_pooling_uses_a_strided_projection():
    inputs = keras.Input(shape=(9, 9, 16))
    model = keras.Model(
        inputs, models.residual_block(inputs, 16, pooling=True, name="down")
    )
    assert model.get_layer("down_projection").strides == (2, 2)
    assert isinstance(model.get_layer("down_pool"), keras.layers.MaxPooling2D)
    assert model.output_shape == (None, 5, 5, 16)


def test_separable_residual_block_is_bn_relu_sepconv_twice():
    inputs = keras.Input(shape=(8, 8, 16))
    model = keras.Model(
        inputs,
        models.residual_block(inputs, 32, pooling=True, separable=True, name="b"),
    )
    names = [layer.name for layer in model.layers[1:]]
    body = [
        name for name in names if name.startswith("b_") and "projection" not in name
    ]
    assert body == [
        "b_bn1",
        "b_relu1",
        "b_sepconv1",
        "b_bn2",
        "b_relu2",
        "b_sepconv2",
        "b_pool",
        "b_add",
    ]
    assert not model.get_layer("b_sepconv1").use_bias, (
        "no bias before batch normalization"
    )
    assert model.get_layer("b_bn1").momentum == pytest.approx(0.9)
    # Separable 3x3 conv, 16 -> 32 channels: 9 * 16 depthwise + 16 * 32 pointwise.
    assert model.get_layer("b_sepconv1").count_params() == 9 * 16 + 16 * 32


def test_xception_like_entry_is_a_regular_conv_then_separable_blocks():
    model = models.build_xception_like(image_size=32, num_classes=4, widths=(8, 16))
    assert isinstance(model.get_layer("entry_conv"), keras.layers.Conv2D)
    assert not isinstance(model.get_layer("entry_conv"), keras.layers.SeparableConv2D)
    types = layer_types(model)
    assert types.count("SeparableConv2D") == 4 and types.count("Add") == 2
    assert types[-4:] == ["Activation", "GlobalAveragePooling2D", "Dropout", "Dense"]
    assert model.get_layer("last_conv_act").output.shape == (None, 8, 8, 16)
    assert model.output_shape == (None, 4)


def test_xception_like_has_fewer_parameters_than_the_small_convnet():
    xception = models.build_xception_like(image_size=96)
    small = models.build_small_convnet(image_size=96)
    assert xception.count_params() < small.count_params() / 4


def test_every_shipped_builder_accepts_the_documented_arguments():
    from convviz_ref.train import RECIPES

    for name, builder in models.BUILDERS.items():
        model = builder(
            image_size=96, **RECIPES[name]["builder_args"]
        )  # how the shipped file was built
        assert model.name == name
        assert model.input_shape == (None, 96, 96, 3)


def test_small_convnet_rejects_a_too_small_image():
    with pytest.raises(
        ValueError, match="image_size 32 is too small for 5 conv layers"
    ):
        models.build_small_convnet(image_size=32)


@pytest.mark.parametrize("separable", [False, True])
@pytest.mark.parametrize("use_bias", [False, True])
@pytest.mark.parametrize(
    "kernel_size, in_channels, out_channels", [(3, 64, 64), (5, 3, 8), (1, 16, 4)]
)
def test_count_conv_params_matches_keras(
    kernel_size, in_channels, out_channels, separable, use_bias
):
    layer_class = keras.layers.SeparableConv2D if separable else keras.layers.Conv2D
    layer = layer_class(out_channels, kernel_size, use_bias=use_bias)
    layer.build((None, 12, 12, in_channels))
    counted = models.count_conv_params(
        kernel_size, in_channels, out_channels, separable=separable, use_bias=use_bias
    )
    assert counted == layer.count_params()
