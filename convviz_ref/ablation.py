"""An ablation of residual connections and batch normalization on a deep plain stack.

Four variants of one convnet, identical but for two switches: the blocks add
their input to their output (``residual``), and each convolution is followed by
``BatchNormalization`` (``batch_norm``). All four have the same convolutions
at the same width, so the same number of weights (batch normalization adds
its two learned vectors per channel, and two non-trained moving statistics).
:func:`train_variant` trains one of them and records, besides Keras' history,
the norm of the loss gradient that reaches each convolution: how much signal
the first layers get to learn from.

Example:

>>> model = build_stack(residual=True, batch_norm=False, image_size=32,
...                     width=8, blocks=(1, 1))
>>> model.output_shape
(None, 4)
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf
from keras import layers

VARIANTS = {
    "plain": {"residual": False, "batch_norm": False},
    "plain + BN": {"residual": False, "batch_norm": True},
    "residual": {"residual": True, "batch_norm": False},
    "residual + BN": {"residual": True, "batch_norm": True},
}
"""The four variants of the ablation, by name: the switches of :func:`build_stack`."""


BN_MOMENTUM = 0.9
"""Momentum of the moving statistics (Keras' default, 0.99, lags a short run)."""


def build_stack(
    *,
    residual,
    batch_norm,
    image_size=32,
    num_classes=4,
    width=16,
    blocks=(1, 3, 3),
    augment=False,
    kernel_initializer="glorot_uniform",
    seed=0,
):
    """A deep stack of 3x3 convolutions, with or without shortcuts and normalization.

    Layout: an entry ``Conv2D`` at full resolution, then one stage per entry
    of ``blocks``, each starting with ``MaxPooling2D(2)`` and holding that
    many blocks, then ``GlobalAveragePooling2D`` and a softmax ``Dense``.
    Every convolution has ``width`` filters and ``padding="same"``, so no
    block changes its input's shape and no shortcut needs a projection. A
    block is the original ResNet's (He et al. 2016, section 3.2, figure 2):
    ``body = Conv2D -> [BatchNormalization] -> ReLU -> Conv2D ->
    [BatchNormalization]``, and the block returns ``relu(x + body(x))`` with
    ``residual``, else ``relu(body(x))``.
    The convolutions have a bias only without batch normalization (which
    would cancel it).

    Formula: block(x) = relu(body(x) + x) (residual) or relu(body(x)) (plain).

    Args:
        residual: bool, add each block's input to its output.
        batch_norm: bool, normalize after each convolution.
        image_size: int, input height and width (divisible by
            ``2 ** len(blocks)``).
        num_classes: int, number of classes.
        width: int, filters of every convolution.
        blocks: tuple of int, the number of blocks in each stage (one
            stage per resolution).
        augment: bool, start with *Deep Learning with Python*'s data
            augmentation (section 9.3.5): ``RandomFlip("horizontal")``,
            ``RandomRotation(0.1)``, ``RandomZoom(0.2)``, active in training
            only.
        kernel_initializer: str or ``keras.initializers.Initializer``, of
            every convolution (Keras' default, ``"glorot_uniform"``;
            ``"he_normal"`` is scaled for ReLUs).
        seed: int, seeds the augmentation's random layers.

    Returns:
        A ``keras.Model`` mapping ``(batch, image_size, image_size, 3)``
        images in 0..255 to ``(batch, num_classes)`` probabilities. Its
        convolutions are named ``entry_conv`` and
        ``stage{s}_block{b}_conv{u}``, in order of depth; the model has
        ``1 + 2 * sum(blocks)`` of them.

    Raises:
        ValueError: if ``image_size`` is not divisible by ``2 ** len(blocks)``.
    """
    if image_size % 2 ** len(blocks):
        raise ValueError(
            f"image_size {image_size} is not divisible by 2 ** {len(blocks)}"
        )
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = inputs
    if augment:
        x = layers.RandomFlip("horizontal", seed=seed, name="random_flip")(x)
        x = layers.RandomRotation(0.1, seed=seed + 1, name="random_rotation")(x)
        x = layers.RandomZoom(0.2, seed=seed + 2, name="random_zoom")(x)
    x = layers.Rescaling(1.0 / 255, name="rescaling")(x)
    unit = {"width": width, "batch_norm": batch_norm, "initializer": kernel_initializer}
    x = _unit(x, name="entry", **unit)
    for stage, num_blocks in enumerate(blocks, start=1):
        x = layers.MaxPooling2D(2, name=f"stage{stage}_pool")(x)
        for block in range(1, num_blocks + 1):
            name = f"stage{stage}_block{block}"
            body = _unit(x, name=f"{name}_conv1", **unit)
            body = _unit(body, name=f"{name}_conv2", relu=False, **unit)
            if residual:
                body = layers.add([x, body], name=f"{name}_add")
            x = layers.Activation("relu", name=f"{name}_relu")(body)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    kind = ("residual" if residual else "plain") + ("_bn" if batch_norm else "")
    return keras.Model(inputs, outputs, name=kind)


def _unit(x, *, width, batch_norm, initializer, name, relu=True):
    """``Conv2D`` -> [``BatchNormalization``] [-> ReLU]; the conv is named ``name``."""
    conv_name = name if name.endswith(tuple("0123456789")) else f"{name}_conv"
    x = layers.Conv2D(
        width,
        3,
        padding="same",
        use_bias=not batch_norm,
        kernel_initializer=initializer,
        name=conv_name,
    )(x)
    if batch_norm:
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{conv_name}_bn")(x)
    if not relu:
        return x
    return layers.Activation("relu", name=f"{conv_name}_relu")(x)


def conv_layer_names(model):
    """Names of the model's ``Conv2D`` layers, input side first."""
    return [layer.name for layer in model.layers if isinstance(layer, layers.Conv2D)]


def gradient_norms(model, images, labels):
    """The L2 norm of the loss gradient with respect to each convolution's kernel.

    Formula: ``||dL / dW_l||_2`` for each ``Conv2D`` kernel ``W_l``, where
    ``L`` is the mean sparse categorical cross-entropy on the batch. The
    gradient is the one a training step sees: the model runs in training
    mode (batch normalization with the batch's statistics). The moving
    statistics that this call updates are put back afterwards, so measuring
    changes nothing.

    Args:
        model: a model from :func:`build_stack`.
        images: float32 ``(batch, height, width, 3)`` in 0..255.
        labels: int ``(batch,)`` class indices.

    Returns:
        float64 array ``(num_convs,)``, input side first (the order of
        :func:`conv_layer_names`).
    """
    kernels = [
        layer.kernel for layer in model.layers if isinstance(layer, layers.Conv2D)
    ]
    saved = [variable.numpy() for variable in model.non_trainable_variables]
    loss_function = keras.losses.SparseCategoricalCrossentropy()
    with tf.GradientTape() as tape:
        probabilities = model(images, training=True)
        loss = loss_function(labels, probabilities)
    gradients = tape.gradient(loss, kernels)
    for variable, value in zip(model.non_trainable_variables, saved):
        variable.assign(value)
    return np.array([float(tf.norm(gradient)) for gradient in gradients])


class AblationRun(NamedTuple):
    """What :func:`train_variant` returns; unpacks like a tuple.

    Attributes:
        model: the trained ``keras.Model``.
        history: dict of per-epoch lists (``loss``, ``accuracy``, ``val_loss``,
            ``val_accuracy``), as ``fit`` records them.
        gradient_norms: float64 ``(epochs + 1, num_convs)``: row 0 at
            initialization, row ``e`` after epoch ``e``; columns input side
            first.
        layer_names: the convolutions' names, in the columns' order.
    """

    model: keras.Model
    history: dict
    gradient_norms: np.ndarray
    layer_names: list


def train_variant(
    train,
    val,
    *,
    residual,
    batch_norm,
    epochs=5,
    batch_size=50,
    learning_rate=2e-3,
    probe_size=64,
    seed=0,
    **builder_options,
):
    """Build one variant fresh (seeded) and train it; record gradient norms.

    The model is built after ``keras.utils.set_random_seed(seed)``, and fit
    with Adam and sparse categorical cross-entropy on ``train``, shuffled by
    the same seed, with ``val`` as validation data. The learning rate
    decays from ``learning_rate`` to 0 along a cosine over the run, as in
    :mod:`convviz_ref.train`. Before training and
    after each epoch, :func:`gradient_norms` is measured on the first
    ``probe_size`` images of ``train``.

    Args:
        train, val: :class:`convviz_ref.data.Shapes` (one object per image).
        residual, batch_norm: the switches of :func:`build_stack`.
        epochs: int, passes over ``train``.
        batch_size: int, images per step.
        learning_rate: float, Adam's initial learning rate.
        probe_size: int, images on which the gradient norms are measured.
        seed: int, seeds the weights and the shuffling.
        **builder_options: passed on to :func:`build_stack`.

    Returns:
        An :class:`AblationRun`.
    """
    keras.utils.set_random_seed(seed)
    image_size = train.images.shape[1]
    model = build_stack(
        residual=residual,
        batch_norm=batch_norm,
        image_size=image_size,
        num_classes=len(train.class_names),
        seed=seed,
        **builder_options,
    )
    steps = epochs * -(-len(train.images) // batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, max(steps, 1))
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,  # XLA's compilation costs more than it saves in short runs
    )
    probe_images = train.images[:probe_size]
    probe_labels = train.labels[:probe_size]
    norms = [gradient_norms(model, probe_images, probe_labels)]

    def record(epoch, logs):
        norms.append(gradient_norms(model, probe_images, probe_labels))

    fitted = model.fit(
        train.images,
        train.labels,
        validation_data=(val.images, val.labels),
        epochs=epochs,
        batch_size=batch_size,
        verbose=0,
        callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=record)],
    )
    return AblationRun(model, fitted.history, np.array(norms), conv_layer_names(model))
