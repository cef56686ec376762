"""Model builders of the course, and the trained models that ship with it.

Each builder is a plain function with explicit arguments that returns an
uncompiled Functional ``keras.Model``. Every model takes float32 images in
0..255 and rescales them itself (its first layer is ``Rescaling(1 / 255)``).
The layers the book talks about have stable names (``block2_sepconv1``,
``last_conv`` ...).

Example:

>>> model = build_xception_like(image_size=96, num_classes=4)
>>> model.output_shape
(None, 4)
"""

from __future__ import annotations

from typing import NamedTuple

import keras
from keras import layers

from convviz_ref import pretrained
from convviz_ref.pretrained import load_manifest

PRETRAINED_DIR = pretrained.DIRECTORY
"""Folder of the shipped ``.keras`` files and their ``manifest.json``."""


def build_segmentation_model(image_size=96, num_classes=3, widths=(32, 64)):
    """The book's segmentation model: strided ``Conv2D`` down, ``Conv2DTranspose`` up.

    Downsampling uses ``strides=2`` instead of max pooling: a pooled window
    forgets *where* its maximum was, and a per-pixel mask needs that. Each
    width ``w`` adds a strided conv and a plain conv to the encoder, and a
    plain and a strided transposed conv to the decoder, so the output has the
    input's height and width. The book's three levels take 200x200 images
    down to 25x25; two levels take our 96x96 images to a similar 24x24.

    Args:
        image_size: int, input height and width; divisible by
            ``2 ** len(widths)``.
        num_classes: int, classes per pixel (3 for trimaps).
        widths: tuple of int, filters at each scale, shallow to deep.

    Returns:
        A ``keras.Model`` mapping ``(batch, image_size, image_size, 3)``
        images in 0..255 to ``(batch, image_size, image_size, num_classes)``
        softmax probabilities.

    Raises:
        ValueError: if ``image_size`` is not divisible by ``2 ** len(widths)``.
    """
    if image_size % 2 ** len(widths):
        raise ValueError(
            f"image_size {image_size} is not divisible by 2 ** {len(widths)}"
        )
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    same = {"activation": "relu", "padding": "same"}  # every conv but the last
    for level, width in enumerate(widths, start=1):
        x = layers.Conv2D(width, 3, strides=2, name=f"down{level}_conv1", **same)(x)
        x = layers.Conv2D(width, 3, name=f"down{level}_conv2", **same)(x)
    for level, width in reversed(list(enumerate(widths, start=1))):
        x = layers.Conv2DTranspose(width, 3, name=f"up{level}_conv1", **same)(x)
        x = layers.Conv2DTranspose(
            width, 3, strides=2, name=f"up{level}_conv2", **same
        )(x)
    outputs = layers.Conv2D(
        num_classes, 3, activation="softmax", padding="same", name="mask"
    )(x)
    return keras.Model(inputs, outputs, name="segmenter")


def build_small_convnet(
    image_size=96, num_classes=4, widths=(32, 64, 128, 256, 256), dropout=0.5
):
    """The small convnet trained from scratch in the chapter before this course.

    ``Conv2D``-ReLU layers (3x3, no padding), each but the last followed by
    ``MaxPooling2D(2)``, then ``Flatten``, ``Dropout`` and a softmax ``Dense``.

    Args:
        image_size: int, input height and width.
        num_classes: int, number of classes.
        widths: tuple of int, filters of each conv layer.
        dropout: float, dropout rate before the classifier.

    Returns:
        A ``keras.Model`` mapping ``(batch, image_size, image_size, 3)``
        images in 0..255 to ``(batch, num_classes)`` probabilities.

    Raises:
        ValueError: if ``image_size`` is too small for that many layers
            (each conv removes 2 pixels, each pooling halves).
    """
    side = image_size
    for _ in widths[:-1]:
        side = (side - 2) // 2
    if side - 2 < 1:
        raise ValueError(
            f"image_size {image_size} is too small for {len(widths)} conv layers"
        )
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    for index, width in enumerate(widths, start=1):
        last = index == len(widths)
        x = layers.Conv2D(
            width, 3, activation="relu", name="last_conv" if last else f"conv{index}"
        )(x)
        if not last:
            x = layers.MaxPooling2D(2, name=f"pool{index}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="small_convnet")


def residual_block(
    x, filters, *, pooling=False, separable=False, bn_momentum=0.9, name="block"
):
    """Add a residual block on top of tensor ``x`` and return its output tensor.

    Formula: ``output = body(x) + residual(x)``. The residual is ``x`` itself
    when the shapes already match; otherwise a 1x1 ``Conv2D`` projects it:
    to ``filters`` channels, and with ``strides=2`` when the body ends with
    ``MaxPooling2D(3, strides=2, padding="same")`` (``pooling=True``).

    The body is two 3x3 convolutions:

    * ``separable=False``: ``Conv2D``-ReLU twice (the book's first example);
    * ``separable=True``: BatchNormalization-ReLU-``SeparableConv2D`` twice,
      the pre-activation order of *Deep Learning with Python*'s mini Xception
      and of ResNet v2 (Keras's own Xception orders ReLU-``SeparableConv2D``-
      BatchNormalization). The convolutions have no bias: the next batch
      normalization on their path (after the pooling and the addition, if
      any) removes a per-channel constant anyway.

    Args:
        x: a symbolic tensor of shape ``(batch, height, width, channels)``.
        filters: int, output channels.
        pooling: bool, halve height and width at the end of the block.
        separable: bool, use the Xception-like body above.
        bn_momentum: float, momentum of the moving statistics of batch
            normalization. The moving averages remember about the last
            ``1 / (1 - momentum)`` steps: about 100 with Keras' default, 0.99,
            too slow for weights that change fast in a short run; about 10
            with 0.9.
        name: str, prefix of the block's layer names.

    Returns:
        A tensor of shape ``(batch, height', width', filters)`` where
        ``height' = ceil(height / 2)`` with pooling, else ``height``.
    """
    residual = x
    for index in (1, 2):
        if separable:
            x = layers.BatchNormalization(
                momentum=bn_momentum, name=f"{name}_bn{index}"
            )(x)
            x = layers.Activation("relu", name=f"{name}_relu{index}")(x)
            x = layers.SeparableConv2D(
                filters,
                3,
                padding="same",
                use_bias=False,
                name=f"{name}_sepconv{index}",
            )(x)
        else:
            x = layers.Conv2D(
                filters,
                3,
                activation="relu",
                padding="same",
                name=f"{name}_conv{index}",
            )(x)
    if pooling:
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
        residual = layers.Conv2D(
            filters,
            1,
            strides=2,
            padding="same",
            use_bias=not separable,
            name=f"{name}_projection",
        )(residual)
    elif residual.shape[-1] != filters:
        residual = layers.Conv2D(
            filters, 1, use_bias=not separable, name=f"{name}_projection"
        )(residual)
    return layers.add([x, residual], name=f"{name}_add")


def separable_block(x, filters, *, pooling=False, bn_momentum=0.9, name="block"):
    """The Xception-like residual block: ``residual_block(..., separable=True)``.

    BatchNormalization-ReLU-``SeparableConv2D`` (3x3, no bias) twice, then
    ``MaxPooling2D(3, strides=2, padding="same")`` when ``pooling``; the
    residual is added, projected by a 1x1 ``Conv2D`` without bias when the
    shapes differ. Arguments and shapes as in :func:`residual_block`.
    """
    return residual_block(
        x, filters, pooling=pooling, separable=True, bn_momentum=bn_momentum, name=name
    )


def count_conv_params(
    kernel_size, in_channels, out_channels, *, separable=False, use_bias=False
):
    """Count the weights of a 2-D convolution, regular or depthwise separable.

    Formula:

    * regular: ``k * k * in_channels * out_channels``;
    * separable: ``k * k * in_channels`` (one ``k x k`` filter per input
      channel, the depthwise step) ``+ in_channels * out_channels`` (the 1x1
      pointwise step that mixes channels);

    plus ``out_channels`` biases when ``use_bias``. These are the numbers
    Keras' ``Conv2D`` and ``SeparableConv2D`` report with ``count_params()``.

    Args:
        kernel_size: int, the side ``k`` of the square kernel.
        in_channels: int, channels of the input.
        out_channels: int, channels of the output (filters).
        separable: bool, count a depthwise separable convolution.
        use_bias: bool, add one bias per output channel.

    Returns:
        int, the number of trainable weights.

    Example (3x3, 64 -> 64 channels, no bias):

    >>> count_conv_params(3, 64, 64)
    36864
    >>> count_conv_params(3, 64, 64, separable=True)
    4672
    """
    if separable:
        weights = kernel_size * kernel_size * in_channels + in_channels * out_channels
    else:
        weights = kernel_size * kernel_size * in_channels * out_channels
    return int(weights + (out_channels if use_bias else 0))


def build_xception_like(
    image_size=96,
    num_classes=4,
    widths=(32, 64, 128, 256),
    entry_filters=32,
    dropout=0.5,
    bn_momentum=0.9,
    name="xception_like",
):
    """The chapter's Xception-like classifier.

    An entry ``Conv2D`` (not separable: the R, G and B channels are strongly
    correlated, which is what separable convolutions assume away), then one
    separable residual block with pooling per width (see
    :func:`residual_block`), then a final BatchNormalization-ReLU named
    ``last_conv_act``, ``GlobalAveragePooling2D``, ``Dropout`` and a softmax
    ``Dense``.

    Args:
        image_size: int, input height and width.
        num_classes: int, number of classes.
        widths: tuple of int, filters of each residual block.
        entry_filters: int, filters of the entry convolution.
        dropout: float, dropout rate before the classifier.
        bn_momentum: float, batch-normalization momentum (see
            :func:`residual_block`).
        name: str, the model's name (``"shortcut"`` for the model trained
            on the shortcut data).

    Returns:
        A ``keras.Model`` mapping ``(batch, image_size, image_size, 3)``
        images in 0..255 to ``(batch, num_classes)`` probabilities. The last
        convolutional feature map, of spatial size
        ``image_size / 2 ** len(widths)``, is the output of ``last_conv_act``.
    """
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    x = layers.Conv2D(
        entry_filters, 5, padding="same", use_bias=False, name="entry_conv"
    )(x)
    for index, width in enumerate(widths, start=1):
        x = residual_block(
            x,
            width,
            pooling=True,
            separable=True,
            bn_momentum=bn_momentum,
            name=f"block{index}",
        )
    x = layers.BatchNormalization(momentum=bn_momentum, name="last_conv_bn")(x)
    x = layers.Activation("relu", name="last_conv_act")(x)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


BUILDERS = {
    "segmenter": build_segmentation_model,
    "shape_trained": build_xception_like,
    "shortcut": build_xception_like,
    "small_convnet": build_small_convnet,
    "xception_like": build_xception_like,
}
"""The builder of each shipped model (:data:`convviz_ref.pretrained.MODEL_NAMES`).

``shortcut`` is the Xception-like classifier trained on the shortcut
("Clever Hans") data, ``load_shapes("train", markers="marked")``;
``shape_trained`` the same architecture trained where texture is independent
of the class, ``load_crossed("train", textures="independent")``.
"""

LAST_CONV_LAYERS = {
    "shape_trained": "last_conv_act",
    "shortcut": "last_conv_act",
    "small_convnet": "last_conv",
    "xception_like": "last_conv_act",
}
"""The last convolutional layer of each shipped classifier (for Grad-CAM)."""


class Pretrained(NamedTuple):
    """What :func:`load_pretrained` returns; unpacks like a tuple."""

    model: keras.Model
    class_names: tuple[str, ...]


def load_pretrained(name):
    """Load a trained model that ships inside the package (no download, no training).

    Args:
        name: a shipped model, one of
            :data:`convviz_ref.pretrained.MODEL_NAMES`.

    Returns:
        ``Pretrained(model, class_names)``: the Keras model, loaded uncompiled, and
        the names of its output classes (the trimap classes for the
        segmenter).

    Raises:
        ValueError: for an unknown name.
        FileNotFoundError: if the file is missing (retrain it with
            ``python -m convviz_ref.train NAME``).
    """
    if name not in pretrained.MODEL_NAMES:
        raise ValueError(
            f"unknown model {name!r}; choose one of {list(pretrained.MODEL_NAMES)}"
        )
    path = PRETRAINED_DIR / f"{name}.keras"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing; rebuild it with: python -m convviz_ref.train {name}"
        )
    model = keras.saving.load_model(path, compile=False)
    return Pretrained(model, tuple(load_manifest()[name]["class_names"]))
