"""Intermediate activations: what each conv and pooling layer makes of one image.

Example:

>>> from convviz_ref.models import build_small_convnet
>>> import numpy as np
>>> model = build_small_convnet(image_size=96)
>>> activation_model = build_activation_model(model)
>>> activation_model.output_names[:3]
['conv1', 'pool1', 'conv2']
>>> first = activation_model(np.zeros((1, 96, 96, 3), "float32"))[0]
>>> tuple(first.shape)
(1, 94, 94, 32)
>>> # 4 rows of 8 tiles with 1-pixel gaps:
>>> channel_grid(np.asarray(first), images_per_row=8).shape
(379, 759)
"""

from __future__ import annotations

import keras
import numpy as np

from convviz_ref.scoring import check_spatial_layer

CONV_TYPES = (
    keras.layers.Conv2D,
    keras.layers.SeparableConv2D,
    keras.layers.DepthwiseConv2D,
    keras.layers.Conv2DTranspose,
)
POOL_TYPES = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)


def conv_and_pool_layers(model):
    """The model's 2-D convolution and pooling layers, in order (what gets visualized).

    ``Conv2DTranspose`` (the segmenter's decoder) counts as a convolution.
    A conv layer's output includes its own activation (ReLU for most of
    ours), as in the book.
    """
    return [
        layer for layer in model.layers if isinstance(layer, CONV_TYPES + POOL_TYPES)
    ]


def conv_and_pool_names(model):
    """The names of :func:`conv_and_pool_layers`, in order."""
    return [layer.name for layer in conv_and_pool_layers(model)]


def check_spatial_layers(model, layer_names):
    """Raise a ValueError for a named layer whose output is not ``(batch, h, w, c)``.

    The message lists the conv and pooling layers
    (:func:`convviz_ref.scoring.check_spatial_layer`). An unknown name is left
    to :func:`build_activation_model`, whose message lists them too.
    """
    candidates = conv_and_pool_names(model)
    for name in layer_names:
        check_spatial_layer(model, name, candidates, "conv and pooling layers")


def _symbolic_graph(model, input_shape=None):
    """``(inputs, {layer name: output tensor})`` of a Functional or Sequential model.

    A Sequential model built without an ``Input`` has no ``.input``; we call
    its layers one after the other on a fresh ``keras.Input``, which reuses
    their weights.
    """
    if not isinstance(model, keras.Sequential):
        return model.inputs[0], {layer.name: layer.output for layer in model.layers}
    shape = input_shape
    if shape is None and model.layers and getattr(model.layers[0], "batch_shape", None):
        shape = model.layers[0].batch_shape[1:]  # the InputLayer Sequential keeps
    if shape is None and model.built and model._build_shapes_dict:  # noqa: SLF001
        shape = tuple(next(iter(model._build_shapes_dict.values())))[1:]  # noqa: SLF001
    if shape is None:
        raise ValueError(
            "this Sequential model has no input shape yet; "
            "pass input_shape=(height, width, channels)"
        )
    inputs = keras.Input(shape=tuple(shape))
    outputs, x = {}, inputs
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        x = layer(x)
        outputs[layer.name] = x
    return inputs, outputs


def build_activation_model(model, layer_names=None, *, input_shape=None):
    """A model that returns the outputs of the chosen layers for an input image.

    Args:
        model: a Functional or Sequential ``keras.Model`` (a Sequential model
            need not be built if ``input_shape`` is given).
        layer_names: list of str, the layers to return; ``None`` for every
            conv and pooling layer (:func:`conv_and_pool_layers`).
        input_shape: tuple ``(height, width, channels)``, only for an
            unbuilt Sequential model.

    Returns:
        A ``keras.Model`` mapping ``(batch, height, width, channels)`` to a
        list of 4-D activations, one per layer, named after the layers
        (``activation_model.output_names``).

    Raises:
        ValueError: if a layer name is unknown (the message lists the conv
            and pooling layers), or the model has none.
    """
    inputs, outputs = _symbolic_graph(model, input_shape)
    valid = [layer.name for layer in conv_and_pool_layers(model)]
    if layer_names is None:
        if not valid:
            raise ValueError(
                f"model {model.name!r} has no conv or pooling layer to visualize"
            )
        layer_names = valid
    for name in layer_names:
        if name not in outputs:
            raise ValueError(
                f"no layer named {name!r} in model {model.name!r}; "
                f"conv and pooling layers: {', '.join(valid)}"
            )
    return keras.Model(
        inputs,
        [outputs[name] for name in layer_names],
        name=f"{model.name}_activations",
    )


def channel_grid(activation, images_per_row=16):
    """Tile every channel of one layer's activation into one grey picture.

    Formula, per channel ``a`` (an ``(height, width)`` map):
    ``tile = clip((a - mean(a)) / std(a) * 64 + 128, 0, 255)`` as uint8. A
    constant channel (all zeros, say, a ReLU that never fired) has
    ``std = 0``: its tile is left blank (0) instead of dividing by zero.
    Tiles go row by row, ``images_per_row`` to a row, with a 1-pixel blank
    separator between them; the last row is padded with blank tiles.

    Args:
        activation: array of shape ``(1, height, width, channels)`` or
            ``(height, width, channels)``.
        images_per_row: int, tiles per row.

    Returns:
        uint8 array of shape ``(rows * (height + 1) - 1,
        images_per_row * (width + 1) - 1)`` where
        ``rows = ceil(channels / images_per_row)``.

    Raises:
        ValueError: for a batch of more than one image, or a rank other than 3 or 4.
    """
    activation = np.asarray(activation, dtype=np.float32)
    if activation.ndim == 4:
        if activation.shape[0] != 1:
            raise ValueError(
                "expected the activation of one image, "
                f"got a batch of shape {activation.shape}"
            )
        activation = activation[0]
    if activation.ndim != 3:
        raise ValueError(
            f"expected shape (1, height, width, channels), got {activation.shape}"
        )
    height, width, channels = activation.shape
    rows = -(-channels // images_per_row)
    grid = np.zeros(
        (rows * (height + 1) - 1, images_per_row * (width + 1) - 1), np.uint8
    )
    for index in range(channels):
        channel = activation[:, :, index]
        if channel.max() == channel.min():  # constant: std is 0, or float32 round-off
            continue
        tile = np.clip(
            (channel - channel.mean()) / channel.std() * 64 + 128, 0, 255
        ).astype(np.uint8)
        row, col = divmod(index, images_per_row)
        grid[
            row * (height + 1) : row * (height + 1) + height,
            col * (width + 1) : col * (width + 1) + width,
        ] = tile
    return grid


def compute_activations(activation_model, image):
    """Run one image through an activation model.

    Args:
        activation_model: from :func:`build_activation_model`.
        image: float32 array ``(1, height, width, channels)``, in the model's input
            range.

    Returns:
        dict ``{layer name: float32 array (1, h, w, c)}``, in layer order.

    Raises:
        ValueError: if ``image`` is not a batch of one image.
    """
    image = np.asarray(image, dtype=np.float32)
    if image.ndim != 4 or image.shape[0] != 1:
        raise ValueError(
            "expected one image of shape (1, height, width, channels), "
            f"got {image.shape}"
        )
    outputs = activation_model(image)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return {
        name: np.asarray(output)
        for name, output in zip(activation_model.output_names, outputs)
    }


def layer_grids(model, image, layer_names=None):
    """Each layer's :func:`channel_grid` of one image, as ``convviz activations`` shows.

    Args:
        model: a Functional or Sequential ``keras.Model``.
        image: float32 array ``(1, height, width, channels)``, in the
            model's input range.
        layer_names: list of str, conv or pooling layers; None for all of
            them (:func:`conv_and_pool_layers`).

    Returns:
        dict ``{layer name: uint8 array}`` in layer order, each grid as
        :func:`channel_grid` makes it (16 tiles to a row).

    Raises:
        ValueError: for an unknown layer or one without a spatial output, a
            model with no conv or pooling layer, or not one image.
    """
    activation_model = build_activation_model(model, layer_names)
    check_spatial_layers(model, activation_model.output_names)
    outputs = compute_activations(activation_model, image)
    return {name: channel_grid(activation) for name, activation in outputs.items()}
