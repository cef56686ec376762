"""Dataset examples (convviz_ref.dataset_examples) on models whose answer is known."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers
from tiny_models import functional_convnet

from convviz_ref import dataset_examples


def pooled_identity(image_size=16):
    """Input -> conv1 (3x3 kernel, 2 units) -> 2x2 max-pooling: a 4-pixel field.

    Unit 0 copies the centre pixel's first channel, unit 1 its second.
    """
    inputs = keras.Input((image_size, image_size, 2))
    x = layers.Conv2D(2, 3, padding="same", use_bias=False, name="conv1")(inputs)
    outputs = layers.MaxPooling2D(2, name="pool1")(x)
    model = keras.Model(inputs, outputs)
    kernel = np.zeros((3, 3, 2, 2), np.float32)
    kernel[1, 1, 0, 0] = kernel[1, 1, 1, 1] = 1.0
    model.get_layer("conv1").set_weights([kernel])
    return model


def test_receptive_field_grows_as_the_layers_do():
    model = pooled_identity()
    assert dataset_examples.receptive_field(model, "conv1") == 1  # a 1-pixel kernel
    assert dataset_examples.receptive_field(model, "pool1") == 2
    convnet = functional_convnet(image_size=12)
    # conv1 3x3 -> 3 pixels; pool 2x2 then conv2 3x3 -> 3 + 1 + 2 * 2 = 8.
    assert dataset_examples.receptive_field(convnet, "conv1") == 3
    assert dataset_examples.receptive_field(convnet, "conv2") == 8


def test_crops_are_the_strongest_images_each_cut_around_its_peak():
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (6, 16, 16, 2)).astype(np.float32)
    peaks = {0: (3, 12, 5.0), 4: (9, 2, 4.0), 2: (15, 15, 3.0)}  # image: row, col
    for image, (row, col, value) in peaks.items():
        images[image, row, col, 0] = value
    examples = dataset_examples.top_activating_crops(
        pooled_identity(), "pool1", [0], images, count=3, size=4
    )
    assert examples.images.tolist() == [[0, 4, 2]]
    np.testing.assert_allclose(examples.values, [[5.0, 4.0, 3.0]])
    # Map positions of the peaks (pool 2x2), crops centred on them and kept inside.
    assert examples.positions.tolist() == [[[1, 6], [4, 1], [7, 7]]]
    assert examples.boxes.tolist() == [[[1, 11], [7, 1], [12, 12]]]
    assert examples.crops.shape == (1, 3, 4, 4, 2)
    for crop, (_, _, value) in zip(examples.crops[0], peaks.values()):
        assert crop[..., 0].max() == value
    np.testing.assert_array_equal(examples.crops[0, 2], images[2, 12:16, 12:16])


def test_one_crop_per_image_and_the_default_size_is_the_field():
    images = np.zeros((3, 16, 16, 2), np.float32)
    images[1, 2, 2, 1] = images[1, 12, 12, 1] = 9.0  # two peaks, one image
    images[0, 8, 8, 1] = 1.0
    examples = dataset_examples.top_activating_crops(
        pooled_identity(), "pool1", [1, 0], images, count=2
    )
    assert examples.images[0].tolist() == [1, 0]
    assert examples.crops.shape == (2, 2, 2, 2, 2)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"units": [2]}, "units must be channels 0..1 of layer 'pool1'"),
        ({"count": 7}, "count must be between 1 and the 6 images"),
        ({"size": 17}, "size must be between 1 and 16"),
    ],
)
def test_mistakes_are_one_clear_error(arguments, message):
    call = {"units": [0], "count": 2, "size": None, **arguments}
    with pytest.raises(ValueError, match=message):
        dataset_examples.top_activating_crops(
            pooled_identity(), "pool1", images=np.zeros((6, 16, 16, 2)), **call
        )
