"""What the command line and the book accept as a model or an image, loaded.

A model is a shipped name (``xception_like``) or the path of a ``.keras``
file; an image is a file, a sample photograph that ships with scikit-image
(``chelsea``), or ``shapes:SPLIT:INDEX``, one image of the synthetic shapes
dataset with its trimap and label. Every mistake (an unknown name, a
missing or corrupt file) is a one-line ``ValueError`` or ``FileNotFoundError``.

Example:

>>> picture = load_image("shapes:test:1", (96, 96))
>>> picture.batch.shape, picture.label
((1, 96, 96, 3), 1)
"""

from __future__ import annotations

import os
import pathlib
import re
from typing import NamedTuple

DEFAULT_IMAGE_SIZE = 96
"""The image size for models whose input size is not fixed."""


class Loaded(NamedTuple):
    """A model and the names of its output classes."""

    model: object
    class_names: tuple[str, ...]


class Picture(NamedTuple):
    """One image to run through a model.

    Attributes:
        batch: float32 array ``(1, height, width, 3)`` in 0..255.
        mask: int32 trimap ``(height, width)`` for a ``shapes:`` image, else None.
        label: the true class index of a ``shapes:`` image, else None.
    """

    batch: object
    mask: object = None
    label: object = None


def _looks_like_path(text):
    return bool(pathlib.PurePath(text).suffix) or "/" in text or os.sep in text


def load_model(spec):
    """A bundled model name, or a path to a saved model, as a :class:`Loaded`.

    A saved model's classes are named after the bundled model of the same
    file name (``xception_like.keras``), if any, else by their indices.

    Raises:
        ValueError: for an unknown name, a file that is no Keras model, or a
            model with several inputs or outputs or without RGB input.
        FileNotFoundError: for a missing file.
    """
    import zipfile

    import keras

    from convviz_ref import models, pretrained

    if spec in pretrained.MODEL_NAMES:
        model, class_names = models.load_pretrained(spec)
    else:
        path = pathlib.Path(spec)
        if not path.exists():
            if _looks_like_path(spec):
                raise FileNotFoundError(f"model file {spec} not found")
            raise ValueError(
                f"unknown model {spec!r}; choose one of "
                f"{', '.join(pretrained.MODEL_NAMES)} or give the path of a .keras file"
            )
        if path.suffix == ".keras" and not zipfile.is_zipfile(path):
            raise ValueError(
                f"cannot load model file {spec}: not a .keras file "
                "(a .keras file is a zip archive)"
            )
        try:
            model = keras.saving.load_model(path, compile=False)
        except (ValueError, TypeError, KeyError, OSError, zipfile.BadZipFile) as error:
            raise ValueError(f"cannot load model file {spec}: {error}") from None
        class_names = None
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(
            f"model {model.name!r} has {len(model.inputs)} inputs and "
            f"{len(model.outputs)} outputs; convviz needs one of each"
        )
    input_shape = tuple(model.inputs[0].shape)
    if len(input_shape) != 4 or input_shape[-1] not in (None, 3):
        raise ValueError(
            f"model {model.name!r} takes inputs of shape {input_shape}; "
            "convviz feeds it RGB images (batch, height, width, 3)"
        )
    if class_names is None:
        num_outputs = model.outputs[0].shape[-1]
        names = (
            pretrained.load_manifest()
            .get(pathlib.Path(spec).stem, {})
            .get("class_names")
        )
        class_names = (
            names
            if names and len(names) == num_outputs
            else [str(i) for i in range(num_outputs or 0)]
        )
    return Loaded(model, tuple(class_names))


def input_size(model):
    """The model's fixed ``(height, width)``, or None if either is free."""
    height, width = tuple(model.inputs[0].shape)[1:3]
    return (height, width) if height is not None and width is not None else None


def load_image(spec, target_size=None):
    """An image file, sample photograph or ``shapes:SPLIT:INDEX`` as a :class:`Picture`.

    Args:
        spec: str, see :mod:`convviz_ref.inputs`.
        target_size: ``(height, width)`` to resize to, or None.

    Raises:
        ValueError: for an unknown sample name, a bad ``shapes:`` spec, or a
            file that is not an image.
        FileNotFoundError: for a missing file.
    """
    import keras
    from PIL import UnidentifiedImageError

    from convviz_ref import data

    if spec.startswith("shapes:"):
        return _load_shapes_image(spec, target_size)
    path = pathlib.Path(spec)
    if path.exists():  # a file wins over a sample photograph of the same name
        # PIL reads the pixels only when they are needed: a truncated file fails in
        # img_to_array.
        try:
            image = keras.utils.load_img(
                path, color_mode="rgb", target_size=target_size
            )
            return Picture(keras.utils.img_to_array(image, dtype="float32")[None])
        except UnidentifiedImageError:
            raise ValueError(
                f"cannot read image file {spec}: not an image format PIL knows"
            ) from None
        except OSError as error:
            raise ValueError(
                f"cannot read image file {spec}: {error.strerror or error}"
            ) from None
    if _looks_like_path(spec):
        raise FileNotFoundError(f"image file {spec} not found")
    return Picture(data.sample_image(spec, target_size))


def _load_shapes_image(spec, target_size):
    import keras
    import numpy as np

    from convviz_ref import data

    match = re.fullmatch(r"shapes:(\w+):(\d+)", spec)
    if match is None:
        raise ValueError(
            f"cannot read {spec!r}: a synthetic image is shapes:SPLIT:INDEX, "
            "e.g. shapes:test:17"
        )
    split, index = match[1], int(match[2])
    if split not in data.SPLIT_SIZES:
        raise ValueError(
            f"unknown split {split!r} in {spec!r}; "
            f"choose one of {', '.join(data.SPLIT_SIZES)}"
        )
    if index >= data.SPLIT_SIZES[split]:
        raise ValueError(
            f"image index {index} is out of range for the shapes split {split!r} "
            f"(0..{data.SPLIT_SIZES[split] - 1})"
        )
    square = (
        target_size is not None
        and target_size[0] == target_size[1]
        and target_size[0] >= 32
    )
    size = target_size[0] if square else DEFAULT_IMAGE_SIZE
    shapes = data.load_shapes(split, n=index + 1, image_size=size)
    batch, mask = shapes.images[index : index + 1], shapes.masks[index]
    if target_size is not None and tuple(target_size) != (
        size,
        size,
    ):  # a model for small or oblong images
        batch = np.asarray(
            keras.ops.image.resize(batch, target_size, interpolation="bilinear")
        )
        mask = np.asarray(
            keras.ops.image.resize(
                mask[None, :, :, None].astype(np.float32),
                target_size,
                interpolation="nearest",
            )
        )[0, :, :, 0].astype(np.int32)
    return Picture(batch, mask, int(shapes.labels[index]))


def require_output_rank(model, rank, command):
    """A one-line ValueError unless ``model``'s output has ``rank`` axes.

    ``rank`` is 2 for a classifier, 4 for a segmentation model; ``command``
    names what needs it in the message.
    """
    if len(model.outputs[0].shape) == rank:
        return
    kind = (
        "a classifier, whose output is (batch, classes)"
        if rank == 2
        else "a segmentation model, whose output is (batch, height, width, classes)"
    )
    raise ValueError(
        f"{command} needs {kind}; "
        f"model {model.name!r} outputs {tuple(model.outputs[0].shape)}"
    )
