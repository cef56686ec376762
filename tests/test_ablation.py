"""The ablation's four variants: layers, equal weights, gradient norms, training."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from convviz_ref import ablation, data

TINY = {"image_size": 32, "width": 4, "blocks": (1, 2)}


def layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


@pytest.fixture(scope="module")
def tiny_data():
    train = data.load_shapes("train", n=16, image_size=32)
    val = data.load_shapes("val", n=8, image_size=32)
    return train, val


@pytest.mark.parametrize("name", list(ablation.VARIANTS))
def test_each_variant_has_the_switched_layers_and_the_same_convolutions(name):
    switches = ablation.VARIANTS[name]
    model = ablation.build_stack(**switches, **TINY)
    types = layer_types(model)
    assert model.output_shape == (None, 4)
    assert ablation.conv_layer_names(model) == [
        "entry_conv",
        "stage1_block1_conv1",
        "stage1_block1_conv2",
        "stage2_block1_conv1",
        "stage2_block1_conv2",
        "stage2_block2_conv1",
        "stage2_block2_conv2",
    ]
    assert types.count("Add") == (3 if switches["residual"] else 0)
    assert types.count("BatchNormalization") == (7 if switches["batch_norm"] else 0)
    assert types.count("MaxPooling2D") == 2
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            assert layer.use_bias is not switches["batch_norm"]


def test_residual_adds_no_weights_and_batch_norm_adds_four_per_channel():
    counts = {
        name: ablation.build_stack(**switches, **TINY).count_params()
        for name, switches in ablation.VARIANTS.items()
    }
    assert counts["plain"] == counts["residual"]
    assert counts["plain + BN"] == counts["residual + BN"]
    # 7 convs of 4 channels: BN adds gamma, beta, moving mean and variance (4 x 4)
    # per conv and the conv loses its 4 biases.
    assert counts["plain + BN"] - counts["plain"] == 7 * (4 * 4 - 4)
    entry = 3 * 3 * 3 * 4 + 4
    inner = 6 * (3 * 3 * 4 * 4 + 4)
    dense = 4 * 4 + 4
    assert counts["plain"] == entry + inner + dense


def test_augmentation_layers_are_added_in_front():
    model = ablation.build_stack(residual=True, batch_norm=True, augment=True, **TINY)
    assert layer_types(model)[1:5] == [
        "RandomFlip",
        "RandomRotation",
        "RandomZoom",
        "Rescaling",
    ]


def test_image_size_must_survive_the_pooling():
    with pytest.raises(ValueError, match="not divisible"):
        ablation.build_stack(
            residual=True, batch_norm=False, image_size=36, blocks=(1, 1, 1)
        )


def test_gradient_norms_match_a_direct_computation_and_leave_the_state_alone(tiny_data):
    train, _ = tiny_data
    keras.utils.set_random_seed(0)
    model = ablation.build_stack(residual=False, batch_norm=True, **TINY)
    state = [variable.numpy().copy() for variable in model.variables]
    norms = ablation.gradient_norms(model, train.images, train.labels)
    assert norms.shape == (7,)
    assert np.all(norms > 0)
    for variable, before in zip(model.variables, state):
        np.testing.assert_array_equal(variable.numpy(), before)
    # The entry kernel's gradient, by finite differences along one direction.
    kernel = model.get_layer("entry_conv").kernel
    direction = np.random.default_rng(0).normal(size=kernel.shape)
    direction = (direction / np.linalg.norm(direction)).astype("float32")
    loss_function = keras.losses.SparseCategoricalCrossentropy()

    def loss_at(step):
        kernel.assign(state[0] + step * direction)
        value = loss_function(train.labels, model(train.images, training=True))
        return float(value)

    with tf.GradientTape() as tape:
        kernel.assign(state[0])
        loss = loss_function(train.labels, model(train.images, training=True))
    gradient = tape.gradient(loss, kernel).numpy()
    slope = (loss_at(1e-3) - loss_at(-1e-3)) / 2e-3
    np.testing.assert_allclose(slope, np.sum(gradient * direction), rtol=0.05)
    np.testing.assert_allclose(norms[0], np.linalg.norm(gradient), rtol=1e-5)


def test_the_plain_stack_gets_a_smaller_first_layer_gradient_than_the_residual_one(
    tiny_data,
):
    train, _ = tiny_data
    deep = {"image_size": 32, "width": 4, "blocks": (4, 4)}
    norms = {}
    for residual in (False, True):
        keras.utils.set_random_seed(0)
        model = ablation.build_stack(residual=residual, batch_norm=False, **deep)
        norms[residual] = ablation.gradient_norms(model, train.images, train.labels)
    assert norms[False][0] < norms[True][0] / 10


def test_train_variant_records_history_and_norms_and_repeats_by_seed(tiny_data):
    train, val = tiny_data
    options = {"residual": True, "batch_norm": True, "epochs": 2, "batch_size": 8}
    first = ablation.train_variant(train, val, **options, width=4, blocks=(1, 1))
    again = ablation.train_variant(train, val, **options, width=4, blocks=(1, 1))
    assert set(first.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(first.history["loss"]) == 2
    assert first.gradient_norms.shape == (3, len(first.layer_names))
    assert first.layer_names[0] == "entry_conv"
    # Training changed the gradient (the weights moved).
    assert not np.allclose(first.gradient_norms[0], first.gradient_norms[-1])
    np.testing.assert_allclose(first.history["loss"], again.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(first.gradient_norms, again.gradient_norms, rtol=1e-4)


def test_the_initializer_reaches_every_convolution():
    keras.utils.set_random_seed(0)
    model = ablation.build_stack(
        residual=False, batch_norm=False, kernel_initializer="zeros", **TINY
    )
    for name in ablation.conv_layer_names(model):
        assert not model.get_layer(name).kernel.numpy().any()
