"""Dataset examples: the image patches that excite a unit most.

A feature picture says what a unit *could* respond to; its dataset examples
say what it *does* respond to in the data. Distill's feature-visualization
articles show both side by side (Olah, Mordvintsev and Schubert, "Feature
Visualization", Distill 2017, section "Dataset Examples"), and a person
predicts a unit's response better from natural examples than from synthetic
pictures (Borowski et al., ICLR 2021: 92 % against 82 %).

For a unit (a channel of a layer's output) and a set of images:

1. **where**: every position ``(i, j)`` of every image's activation map is a
   candidate; the ``count`` strongest are kept, at most one per image (so
   one image full of the texture does not fill the whole row);
2. **which pixels**: the position's *receptive field*
   (:func:`receptive_field`), the input pixels its value depends on, as a
   square of ``size`` pixels centred on the position's centre in the input,
   ``((i + 0.5) * H / h, (j + 0.5) * W / w)``; a crop that would leave the
   image is shifted back inside it (so every crop has the same size).

Example:

>>> from convviz_ref.models import load_pretrained
>>> from convviz_ref.data import load_shapes
>>> model, _ = load_pretrained("xception_like")
>>> test = load_shapes("test", 200)
>>> examples = top_activating_crops(model, "block2_sepconv1", [0, 5], test.images)
>>> examples.crops.shape  # (units, count, size, size, 3)
(2, 8, 15, 15, 3)
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np

from convviz_ref.activations import build_activation_model
from convviz_ref.dissection import unit_activations

COUNT = 8
"""Dataset examples per unit (Distill shows a row of them)."""


class Examples(NamedTuple):
    """What :func:`top_activating_crops` returns; unpacks like a tuple.

    Attributes:
        crops: array ``(units, count, size, size, channels)``, of the images'
            dtype, strongest first.
        values: float32 ``(units, count)``, the unit's activation at each
            crop's position.
        images: int ``(units, count)``, the index of each crop's image.
        positions: int ``(units, count, 2)``, its ``(row, col)`` in the map.
        boxes: int ``(units, count, 2)``, the crop's top-left ``(row, col)``
            in the image.
    """

    crops: np.ndarray
    values: np.ndarray
    images: np.ndarray
    positions: np.ndarray
    boxes: np.ndarray


def receptive_field(model, layer_name, *, probes=4, seed=0):
    """The side, in input pixels, of one position's receptive field in a layer.

    Measured, not derived from the layers' configurations: the gradient of
    the layer's centre position (summed over its units) with respect to
    ``probes`` random images in the model's input range; the field is the
    bounding box of the pixels where any of those gradients is non-zero, and
    the side is the larger of its height and width. Random inputs keep most
    ReLUs open, so the box is the architectural field (the pixels the value
    can depend on) for the convolutions, pooling and residual paths of our
    models.

    Args:
        model: a ``keras.Model`` on ``(batch, H, W, channels)`` images with a
            fixed ``H`` and ``W``.
        layer_name: str, a layer with a ``(batch, h, w, units)`` output.
        probes: int, random images the gradient is taken on.
        seed: int, seeds the random images.

    Returns:
        int, at least 1 and at most ``max(H, W)``.

    Raises:
        ValueError: for an unknown layer or one without a spatial output.
    """
    import tensorflow as tf

    from convviz_ref.filters import input_range

    sub_model = build_activation_model(model, [layer_name])
    height, width, channels = model.inputs[0].shape[1:]
    low, high = input_range(model)
    rng = np.random.default_rng(seed)
    images = tf.constant(
        rng.uniform(low, high, (probes, height, width, channels)), tf.float32
    )
    with tf.GradientTape() as tape:
        tape.watch(images)
        output = sub_model(images, training=False)
        if isinstance(output, list | tuple):
            output = output[0]
        rows, cols = output.shape[1] // 2, output.shape[2] // 2
        total = keras.ops.sum(output[:, rows, cols, :])
    gradient = np.abs(tape.gradient(total, images).numpy()).sum(axis=(0, 3))
    touched_rows = np.flatnonzero(gradient.any(axis=1))
    touched_cols = np.flatnonzero(gradient.any(axis=0))
    if touched_rows.size == 0:
        return 1
    return int(
        max(
            touched_rows[-1] - touched_rows[0] + 1,
            touched_cols[-1] - touched_cols[0] + 1,
        )
    )


def _crop_corners(positions, map_size, image_size, size):
    """Top-left corners of ``size``-pixel squares centred on map positions."""
    scale = np.asarray(image_size, float) / np.asarray(map_size, float)
    centres = (positions + 0.5) * scale
    corners = np.round(centres - size / 2).astype(int)
    return np.clip(corners, 0, np.asarray(image_size) - size)


def top_activating_crops(
    model, layer_name, units, images, *, count=COUNT, size=None, batch_size=32
):
    """Each unit's ``count`` strongest positions over ``images``, as image crops.

    At most one crop per image and unit: an image's strongest position for
    the unit stands for it, and the images are ranked by that value (ties
    broken by the lower image index).

    Args:
        model: a ``keras.Model`` on ``(batch, H, W, channels)`` images.
        layer_name: str, a layer with a ``(batch, h, w, units)`` output.
        units: sequence of int, channels of that output.
        images: array ``(n, H, W, channels)``, as the model takes them, with
            ``n >= count``.
        count: int, crops per unit.
        size: int, the crops' side in pixels; None for the layer's
            :func:`receptive_field` (at most ``min(H, W)``).
        batch_size: int, images per forward pass.

    Returns:
        an :class:`Examples`.

    Raises:
        ValueError: for an unknown layer or one without a spatial output, a
            unit out of range, ``count`` not between 1 and ``len(images)``,
            or ``size`` not between 1 and ``min(H, W)``.
    """
    images = np.asarray(images)
    units = np.asarray(units, dtype=int).reshape(-1)
    if not 1 <= count <= len(images):
        raise ValueError(
            f"count must be between 1 and the {len(images)} images, got {count}"
        )
    activations = unit_activations(model, layer_name, images, batch_size=batch_size)
    num_units = activations.shape[-1]
    if units.size == 0 or units.min() < 0 or units.max() >= num_units:
        raise ValueError(
            f"units must be channels 0..{num_units - 1} of layer {layer_name!r}, "
            f"got {units.tolist()}"
        )
    image_size = images.shape[1:3]
    size = (
        min(receptive_field(model, layer_name), *image_size) if size is None else size
    )
    if not 1 <= size <= min(image_size):
        raise ValueError(f"size must be between 1 and {min(image_size)}, got {size}")
    map_size = activations.shape[1:3]
    per_image = activations[..., units].reshape(len(images), -1, len(units))
    best_position = per_image.argmax(axis=1)  # (n, units)
    best_value = per_image.max(axis=1)
    order = np.argsort(-best_value, axis=0, kind="stable")[:count].T  # (units, count)
    unit_index = np.arange(len(units))[:, None]
    flat = best_position[order, unit_index]
    positions = np.stack(np.unravel_index(flat, map_size), axis=-1)
    boxes = _crop_corners(positions, map_size, image_size, size)
    crops = np.stack(
        [
            [images[i, r : r + size, c : c + size] for i, (r, c) in zip(row, corners)]
            for row, corners in zip(order, boxes)
        ]
    )
    return Examples(
        crops=crops,
        values=best_value[order, unit_index].astype(np.float32),
        images=order,
        positions=positions,
        boxes=boxes,
    )
