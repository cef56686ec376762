"""Maps of attributions: from a method's raw values to a map in [0, 1], at any size.

Every attribution method and every measure of them uses these: a method's
raw attributions become a map ``>= 0`` by one of :func:`positive_part`,
:func:`max_abs_over_channels` or :func:`abs_sum_over_channels` (the
registry, :data:`convviz_ref.methods.METHODS`, says which), then
:func:`normalize_maps` divides each map by its maximum; :func:`upsample_maps`
brings maps at a layer's grid to the image's size.
"""

from __future__ import annotations

import keras
import numpy as np


def normalize_maps(maps):
    """Each map's positive part divided by its own maximum: float32 in [0, 1].

    Formula: ``relu(M_n) / max(relu(M_n))`` for each map ``M_n`` of
    ``maps``, an array ``(n, ...)``; a map with no positive value stays all
    zeros (never NaN).
    """
    maps = np.maximum(np.asarray(maps, dtype=np.float32), 0)
    peaks = maps.reshape(len(maps), -1).max(axis=1)
    peaks = peaks.reshape((-1,) + (1,) * (maps.ndim - 1))
    return np.where(peaks > 0, maps / np.where(peaks > 0, peaks, 1), 0).astype(
        np.float32
    )


def upsample_maps(maps, size):
    """Maps ``(n, h, w)`` resized to ``(n, size[0], size[1])``, bicubic.

    Bicubic, like the overlay the reader sees (:func:`convviz_ref.gradcam.overlay`,
    which resizes with Pillow; here it is ``keras.ops.image.resize``): between
    cell centres the peak can move towards the hotter neighbours, where
    bilinear upsampling keeps it at a cell centre (or on a flat plateau that
    runs to the border, for a cell on the edge). Maps already at ``size`` are
    returned unchanged; elsewhere bicubic overshoots the range of the values
    it interpolates a little.
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.shape[1:3] == tuple(size):
        return maps
    resized = keras.ops.image.resize(maps[..., None], size, interpolation="bicubic")
    resized = np.asarray(resized)[..., 0]
    return resized


def positive_part(raw):
    """CAM methods and occlusion: ``relu(raw)``, evidence *for* the class only."""
    return np.maximum(raw, 0)


def max_abs_over_channels(raw):
    """Gradient maps: ``max over channels of |raw|``, Simonyan et al.'s saliency map."""
    return np.abs(raw).max(axis=-1)


def abs_sum_over_channels(raw):
    """Integrated Gradients: ``|sum over channels of raw|``, either sign counts."""
    return np.abs(raw.sum(axis=-1))
