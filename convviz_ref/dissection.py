"""Network Dissection on exact concept masks: which units detect which concept.

Network Dissection (Bau et al. 2017, "Network Dissection: Quantifying
Interpretability of Deep Visual Representations", CVPR; its code
NetDissect-Lite) scores every unit ``k`` of a layer against every concept
``c`` of a probe set whose concepts are drawn as pixel masks:

1. ``A_k``: the unit's activation maps on the ``n`` probe images
   (:func:`unit_activations`), shape ``(n, h, w)``.
2. ``S_k``: the maps upsampled to the masks' size ``(H, W)``, bilinearly
   (:func:`upsample`).
3. ``T_k``: the unit's top-quantile level over the whole probe set, so that
   ``QUANTILE`` (0.005: the top 0.5 %) of its ``n * H * W`` upsampled values
   lie above it; ``M_k = S_k > T_k``, the unit's binary masks.
4. ``IoU_{k,c} = sum_i |M_k(i) & L_c(i)| / sum_i |M_k(i) | L_c(i)|``, summed
   over the images ``i`` of the probe set (dataset-wide, not a mean of
   per-image IoUs), for the concept masks ``L_c``.
5. The unit's best concept is ``argmax_c IoU_{k,c}``; Bau et al. report the
   unit as a detector of it when ``IoU > IOU_CUTOFF`` (0.04).

Steps 2 to 4 are Bau et al.'s section 2.2 and NetDissect-Lite's
``feature_operation.py`` (``tally_job``: the map resized bilinearly to the
label size, ``mask > threshold``), with one difference: they take ``T_k``
from the maps before upsampling (``quantile_threshold``: ``np.percentile``
of the raw feature maps). Interpolation lowers a map's isolated peaks, so
their ``M_k`` can cover far less than 0.5 % of the pixels (58 of the 819
expected, for a hand-set stripe unit behind a 2x2 max-pooling in our tests);
taking ``T_k`` on ``S_k`` makes ``M_k`` the top 0.5 % of the pixels the masks
are scored on. The constants are NetDissect-Lite's ``settings.py``
(``QUANTILE = 0.005``, ``SCORE_THRESHOLD = 0.04``).

Since ``|M_k|`` is 0.5 % of the probe set's pixels, ``IoU_{k,c}`` is at most
``QUANTILE / f_c`` for a concept covering a share ``f_c`` of them: a concept
over 12.5 % of the pixels (a background) can never clear 0.04.

What this module adds is a null for the lax 0.04 cut-off: the same unit's
best IoU when the concept masks are shuffled across images (image ``i``'s
unit masks against image ``pi(i)``'s concept masks, for many seeded
permutations ``pi``). The shuffle keeps where concepts usually are and how
large they are, and breaks only which image they belong to; a unit beats the
null when its best IoU exceeds the ``NULL_PERCENTILE`` (99th) percentile of
the shuffled best IoUs. :func:`dissect` returns both verdicts in a
:class:`Dissection`.

Controls (Bau et al. section 3.2 rotates the unit basis of a layer at
random, which cut unique detectors by about 80 % in their AlexNet conv5):
:func:`rotate_units` mixes the units by a seeded random orthogonal matrix,
:func:`reinitialize` clones a model with fresh seeded weights. A sanity
check with a known answer: :func:`plant_units` writes hand-made kernels
(:func:`texture_kernel`) into chosen units of a convolution.

Example (a unit that fires exactly on concept "a", another on nothing):

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> masks = {"a": np.zeros((40, 8, 8), bool)}
>>> masks["a"][::4, 2:4, 2:4] = True
>>> activations = rng.random((40, 8, 8, 2)).astype("float32") * 0.1
>>> activations[..., 0] += 5 * masks["a"]
>>> result = dissect(activations, masks, num_permutations=20)
>>> result.best_concept_names
['a', 'a']
>>> result.detectors().tolist()
[True, False]
>>> unique_detectors(result)
1
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import keras
import numpy as np
from scipy import stats

from convviz_ref.activations import build_activation_model, check_spatial_layers

QUANTILE = 0.005
"""A unit's threshold ``T_k`` leaves this share of its activations above it."""
IOU_CUTOFF = 0.04
"""Bau et al.'s cut-off: a unit whose best IoU exceeds it is reported a detector."""
NULL_PERCENTILE = 99.0
"""A detector's best IoU must exceed this percentile of its shuffled best IoUs."""
NUM_PERMUTATIONS = 200
"""Shuffles of the concept masks across images in the null, by default."""
CHUNK_BYTES = 64 * 2**20
"""Upsampled activations are made this many bytes at a time, at most (about)."""
RULES = ("cutoff", "null", "both")
"""What makes a unit a detector: Bau's cut-off, the null, or both."""


@dataclass(frozen=True, eq=False)  # arrays: compare the fields, not the objects
class Dissection:
    """Every unit of one layer scored against every concept.

    Attributes:
        concept_names: tuple of the ``C`` concept names, in the order of the
            ``concepts`` axis.
        thresholds: float32 array ``(units,)``, each unit's ``T_k`` on its
            upsampled maps.
        iou: float32 array ``(units, C)``, the dataset-wide ``IoU_{k,c}``.
        null_iou: float32 array ``(permutations, units, C)``, the same IoU
            with the concept masks shuffled across images, one row per
            permutation.
    """

    concept_names: tuple
    thresholds: np.ndarray
    iou: np.ndarray
    null_iou: np.ndarray

    @property
    def best_concept(self):
        """int array ``(units,)``: ``argmax_c IoU_{k,c}`` (the first on ties)."""
        return np.argmax(self.iou, axis=1)

    @property
    def best_concept_names(self):
        """list of str: the name of each unit's best concept."""
        return [self.concept_names[index] for index in self.best_concept]

    @property
    def best_iou(self):
        """float32 array ``(units,)``: ``max_c IoU_{k,c}``."""
        return self.iou.max(axis=1)

    @property
    def null_threshold(self):
        """float array ``(units,)``: the ``NULL_PERCENTILE`` percentile of
        ``max_c`` of the shuffled IoUs.

        The maximum over concepts is taken inside each permutation, so the
        null accounts for picking the best of ``C`` concepts. Infinite when
        there was no permutation (then no unit beats the null).
        """
        if len(self.null_iou) == 0:
            return np.full(self.iou.shape[0], np.inf)
        return np.percentile(self.null_iou.max(axis=2), NULL_PERCENTILE, axis=0)

    def detectors(self, rule="both"):
        """bool array ``(units,)``: whether each unit detects its best concept.

        Args:
            rule: ``"cutoff"`` (Bau et al.: ``best_iou > IOU_CUTOFF``),
                ``"null"`` (``best_iou > null_threshold``) or ``"both"``.

        Raises:
            ValueError: for another rule.
        """
        if rule not in RULES:
            raise ValueError(f"unknown rule {rule!r}; choose one of {list(RULES)}")
        above_cutoff = self.best_iou > IOU_CUTOFF
        beats_null = self.best_iou > self.null_threshold
        return {
            "cutoff": above_cutoff,
            "null": beats_null,
            "both": above_cutoff & beats_null,
        }[rule]


def unique_detectors(dissection, rule="both"):
    """The number of unique detectors of a layer (Bau et al. section 3.2).

    Formula: ``|{best_concept(k) : unit k is a detector}|``, the number of
    distinct concepts that at least one unit detects. Ten units that all
    detect "stripes" count once.

    Args:
        dissection: a :class:`Dissection`.
        rule: see :meth:`Dissection.detectors`; ``"cutoff"`` is Bau's count.

    Returns:
        int.
    """
    detectors = dissection.detectors(rule)
    return len(set(dissection.best_concept[detectors].tolist()))


# ----------------------------------------------------------------------------------
# Activations


def unit_activations(model, layer_name, images, *, batch_size=32):
    """The activation maps of every unit of one layer on a set of images.

    Args:
        model: a ``keras.Model`` taking ``(batch, height, width, channels)``.
        layer_name: str, a layer with a ``(batch, h, w, units)`` output.
        images: array ``(n, height, width, channels)``, as the model expects
            them (0..255 for the shipped classifiers).
        batch_size: int, images per forward pass.

    Returns:
        float32 array ``(n, h, w, units)``. It is held in memory whole:
        1000 images at 48x48 with 64 units take 590 MB.

    Raises:
        ValueError: if the layer is unknown or has no spatial output (the
            message lists the conv and pooling layers).
    """
    check_spatial_layers(model, [layer_name])
    sub_model = build_activation_model(model, [layer_name])
    images = np.asarray(images)
    batches = []
    for start in range(0, len(images), batch_size):
        output = sub_model(images[start : start + batch_size], training=False)
        if isinstance(output, list | tuple):  # a one-output model may give a list
            output = output[0]
        batches.append(np.asarray(output, np.float32))
    return np.concatenate(batches)


def _bilinear_matrix(source, target):
    """``(target, source)`` float32 weights of 1-D bilinear resizing.

    Half-pixel centres: target pixel ``i`` samples the source at
    ``p = (i + 0.5) * source / target - 0.5``, clamped to ``[0, source - 1]``,
    as ``(1 - f) * x[floor(p)] + f * x[floor(p) + 1]`` with ``f = p - floor(p)``.
    """
    position = np.clip((np.arange(target) + 0.5) * source / target - 0.5, 0, None)
    position = np.minimum(position, source - 1)
    low = np.floor(position).astype(int)
    high = np.minimum(low + 1, source - 1)
    matrix = np.zeros((target, source))
    np.add.at(matrix, (np.arange(target), low), 1 - (position - low))
    np.add.at(matrix, (np.arange(target), high), position - low)
    return matrix.astype(np.float32)


def _resize_maps(maps, size):
    """Bilinear resizing of a stack of maps ``(b, h, w)`` to ``(b, H, W)``.

    ``out[j] = R @ maps[j] @ C.T`` with the matrices of
    :func:`_bilinear_matrix`: the rows first (one small product per map),
    then the columns (one product for the whole stack).
    """
    count, height, width = maps.shape
    tall = np.matmul(_bilinear_matrix(height, size[0]), maps)  # (b, H, w)
    columns = _bilinear_matrix(width, size[1]).T  # (w, W)
    return (tall.reshape(-1, width) @ columns).reshape(count, size[0], size[1])


def upsample(activations, size):
    """Resize activation maps to the masks' size, by bilinear interpolation.

    Bau et al. (section 2.2) scale each unit's map up to the annotation's
    resolution "using bilinear interpolation, anchoring interpolants at the
    center of each unit's receptive field"; NetDissect-Lite resizes with
    ``imresize(..., mode='F')``, bilinear. Here pixel centres are aligned
    (half-pixel centres, edges clamped: what ``tf.image.resize`` and
    ``keras.ops.image.resize`` do with ``"bilinear"``), computed as two
    matrix products per map (:func:`_resize_maps`).

    Args:
        activations: array ``(n, h, w, units)``.
        size: ``(H, W)``, the masks' height and width.

    Returns:
        float32 array ``(n, H, W, units)``.
    """
    activations = np.asarray(activations, np.float32)
    n, height, width, units = activations.shape
    maps = np.moveaxis(activations, -1, 1).reshape(n * units, height, width)
    resized = _resize_maps(maps, size).reshape(n, units, size[0], size[1])
    return np.moveaxis(resized, 1, -1)


# ----------------------------------------------------------------------------------
# Scoring


def _concept_codes(concept_masks, n):
    """Check the masks and code every pixel by the set of concepts it belongs to.

    Returns:
        ``(names, codes, members, sizes, (H, W))``: the names; int32 array
        ``(n, H*W)`` of each pixel's code id; 0/1 int64 array ``(codes, C)``
        of the concepts in each code; int64 array ``(C,)`` of
        ``sum_i |L_c(i)|``; the masks' size.
    """
    if not concept_masks:
        raise ValueError("concept_masks is empty; give at least one concept")
    names = tuple(concept_masks)
    if len(names) > 63:
        raise ValueError(f"at most 63 concepts, got {len(names)}")
    shape = None
    bits = None
    sizes = []
    for index, name in enumerate(names):
        mask = np.asarray(concept_masks[name])
        if mask.ndim != 3 or mask.dtype != bool:
            raise ValueError(
                f"concept {name!r}: masks must be a bool array (n, H, W), "
                f"got {mask.dtype} of shape {mask.shape}"
            )
        if shape is None:
            shape = mask.shape
            bits = np.zeros(shape[0] * shape[1] * shape[2], np.uint64)
        if mask.shape != shape:
            raise ValueError(
                f"concept {name!r}: masks of shape {mask.shape}, "
                f"but {names[0]!r} has {shape}"
            )
        bits |= mask.reshape(-1).astype(np.uint64) << np.uint64(index)
        sizes.append(int(mask.sum()))
    if shape[0] != n:
        raise ValueError(f"{n} images of activations but {shape[0]} of concept masks")
    codes, inverse = np.unique(bits, return_inverse=True)
    members = (codes[:, None] >> np.arange(len(names), dtype=np.uint64)) & np.uint64(1)
    return (
        names,
        inverse.reshape(n, -1).astype(np.int32),
        members.astype(np.int64),
        np.array(sizes, np.int64),
        shape[1:],
    )


def _top_pixels(activations, size, quantile):
    """Each unit's threshold and the pixels above it, over the upsampled maps.

    With ``N = n * H * W`` and ``m = max(1, floor(quantile * N))``, ``T_k``
    is the ``(m + 1)``-th largest of the unit's ``N`` upsampled values, and
    its pixels are those strictly above ``T_k``: the top ``m``, or fewer
    where values tie at ``T_k``. The maps are upsampled ``CHUNK_BYTES`` at a
    time; per unit, only the ``m + 1`` largest values seen so far (and
    candidates that beat the smallest of them) are kept, and a map whose
    maximum cannot beat them is not upsampled.

    Returns:
        ``(thresholds, image, pixel, unit)``: float32 ``(units,)``, then int
        arrays of every pixel of every ``M_k`` (``pixel = row * W + col``).
    """
    n, units = activations.shape[0], activations.shape[-1]
    per_image = size[0] * size[1]
    keep = max(1, math.floor(quantile * n * per_image)) + 1
    step = max(1, CHUNK_BYTES // (per_image * units * 4))
    values = [np.empty(0, np.float32) for _ in range(units)]
    where = [np.empty(0, np.int64) for _ in range(units)]
    floors = np.full(units, -np.inf, np.float32)  # not above this: cannot change T_k

    def prune(unit):
        if len(values[unit]) > keep:
            top = np.argpartition(values[unit], len(values[unit]) - keep)[-keep:]
            values[unit], where[unit] = values[unit][top], where[unit][top]
            floors[unit] = values[unit].min()

    for start in range(0, n, step):
        maps = activations[start : start + step].transpose(3, 0, 1, 2)  # k, i, h, w
        first = start == 0 and maps.shape[1] * per_image >= keep
        # An upsampled value is an average of its map's values, so a map whose
        # maximum is not above the unit's floor has no pixel above it: skip it.
        live = (
            np.ones(maps.shape[:2], bool)
            if first
            else maps.max((2, 3)) > floors[:, None]
        )
        unit_of, image_of = np.nonzero(live)  # sorted by unit
        resized = _resize_maps(maps[unit_of, image_of], size).reshape(len(unit_of), -1)
        if first:  # the top ``keep`` of the first chunk bound each T_k from below
            floors = np.partition(resized.reshape(units, -1), -keep, axis=1)[:, -keep]
            row, place = np.nonzero(resized >= floors[unit_of][:, None])
        else:
            row, place = np.nonzero(resized > floors[unit_of][:, None])
        found, position = (
            resized[row, place],
            (start + image_of[row]) * per_image + place,
        )
        bounds = np.searchsorted(unit_of[row], np.arange(units + 1))
        for unit in np.flatnonzero(np.diff(bounds)):
            part = slice(bounds[unit], bounds[unit + 1])
            values[unit] = np.concatenate([values[unit], found[part]])
            where[unit] = np.concatenate([where[unit], position[part]])
            if len(values[unit]) > 2 * keep:
                prune(unit)
    thresholds = np.empty(units, np.float32)
    image, pixel, unit_of = [], [], []
    for unit in range(units):
        prune(unit)
        thresholds[unit] = values[unit].min()
        above = where[unit][values[unit] > thresholds[unit]]
        image.append((above // per_image).astype(np.int32))
        pixel.append((above % per_image).astype(np.int32))
        unit_of.append(np.full(len(above), unit, np.int32))
    return (
        thresholds,
        np.concatenate(image),
        np.concatenate(pixel),
        np.concatenate(unit_of),
    )


def dissect(
    activations,
    concept_masks,
    *,
    quantile=QUANTILE,
    num_permutations=NUM_PERMUTATIONS,
    seed=0,
):
    """Score every unit against every concept, with a shuffled-mask null.

    Formulas (``i`` runs over the ``n`` probe images):

    - ``S = upsample(activations, (H, W))``;
    - ``T_k``: the ``(m + 1)``-th largest of the ``N = n * H * W`` values of
      ``S[..., k]``, ``m = max(1, floor(quantile * N))``;
    - ``M_k(i) = S[i, :, :, k] > T_k``: the top ``m`` pixels, fewer if
      values tie at ``T_k`` (strictly above: a ReLU unit that fires on fewer
      than ``m`` pixels has ``T_k = 0``, and ``>=`` would mark every pixel;
      NetDissect-Lite also uses ``>``);
    - ``IoU_{k,c} = sum_i |M_k(i) & L_c(i)| / sum_i |M_k(i) | L_c(i)|``,
      0 where both are empty;
    - the null: ``IoU^pi_{k,c}`` is the same with ``L_c(pi(i))`` in place of
      ``L_c(i)``, where permutation ``p`` is the ``p``-th
      ``rng.permutation(n)`` of ``rng = np.random.default_rng(seed)``.

    Memory: the upsampled maps are made ``CHUNK_BYTES`` at a time and only
    the pixels of the ``M_k`` are kept (``m`` per unit), so the cost of one
    permutation is one pass over those pixels.

    Args:
        activations: array ``(n, h, w, units)`` (:func:`unit_activations`).
        concept_masks: dict name -> bool array ``(n, H, W)``, the pixels of
            each concept in each image (at most 63 concepts).
        quantile: float, the share of each unit's activations above ``T_k``.
        num_permutations: int, the shuffles in the null (0 for none; then
            no unit beats the null).
        seed: int, seeds the permutations.

    Returns:
        a :class:`Dissection`.

    Raises:
        ValueError: activations not 4-D, masks not bool ``(n, H, W)`` of one
            shape, image counts that differ, no concept, or a quantile outside
            (0, 1).
    """
    activations = np.asarray(activations, np.float32)
    if activations.ndim != 4:
        raise ValueError(
            f"activations must be (n, h, w, units), got shape {activations.shape}"
        )
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    n, units = activations.shape[0], activations.shape[-1]
    names, codes, members, sizes, size = _concept_codes(concept_masks, n)
    thresholds, image, pixel, unit = _top_pixels(activations, size, quantile)
    unit_sizes = np.bincount(unit, minlength=units)
    # In image and pixel order, the look-ups below read each concept image in order.
    order = np.lexsort((pixel, image))
    image, pixel = image[order].astype(np.int64), pixel[order].astype(np.int64)
    key = unit[order].astype(np.int64) * len(members)
    codes_per_image = codes.shape[1]
    codes = codes.reshape(-1)

    def iou_for(permutation):
        # The code of the concept pixel each unit pixel lands on, counted per
        # (unit, code); a code's count goes to every concept in it.
        landed = codes[permutation[image] * codes_per_image + pixel]
        counts = np.bincount(key + landed, minlength=units * len(members))
        intersection = counts.reshape(units, len(members)) @ members
        union = unit_sizes[:, None] + sizes[None, :] - intersection
        return np.where(union > 0, intersection / np.maximum(union, 1), 0.0)

    rng = np.random.default_rng(seed)
    null_iou = np.zeros((num_permutations, units, len(names)), np.float32)
    for index in range(num_permutations):
        null_iou[index] = iou_for(rng.permutation(n))
    return Dissection(
        concept_names=names,
        thresholds=thresholds,
        iou=iou_for(np.arange(n)).astype(np.float32),
        null_iou=null_iou,
    )


def dissection_iou(unit_maps, concept_mask, quantile=QUANTILE):
    """One unit's dataset-wide IoU with one concept, at its top-quantile threshold.

    Formula, with ``N = n * H * W`` and ``m = max(1, floor(quantile * N))``:
    ``T`` is the ``(m + 1)``-th largest of the ``N`` values of ``unit_maps``
    (over the whole set, not per image), ``M = unit_maps > T``, and
    ``IoU = sum |M & L| / sum |M | L|`` over all images and pixels (0.0 when
    both are empty). For ``unit_maps = upsample(activations, (H, W))[..., k]``
    it is :func:`dissect`'s ``iou[k, c]`` for ``L = concept_masks[c]``.

    Args:
        unit_maps: float array ``(n, H, W)``, one unit's maps at the masks' size.
        concept_mask: bool array ``(n, H, W)``, the concept's pixels.
        quantile: float in (0, 1), the share of values above ``T``.

    Returns:
        float in [0, 1].

    Raises:
        ValueError: maps and mask of different shapes or not 3-D, a mask that
            is not bool, or a quantile outside (0, 1).
    """
    maps = np.asarray(unit_maps, np.float32)
    mask = np.asarray(concept_mask)
    if maps.ndim != 3 or maps.shape != mask.shape:
        raise ValueError(
            f"unit_maps and concept_mask must both be (n, H, W), got shapes "
            f"{maps.shape} and {mask.shape}"
        )
    if mask.dtype != bool:
        raise ValueError(f"concept_mask must be bool, got {mask.dtype}")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be in (0, 1), got {quantile}")
    unit_mask = top_mask(maps, quantile)
    union = np.count_nonzero(unit_mask | mask)
    return float(np.count_nonzero(unit_mask & mask) / union) if union else 0.0


def top_mask(values, quantile=QUANTILE):
    """The unit's mask ``M = values > T`` over the whole array.

    With ``N = values.size`` and ``m = max(1, floor(quantile * N))``, ``T`` is
    the ``(m + 1)``-th largest value, so ``M`` holds the top ``m`` values
    (fewer where values tie at ``T``).

    Args:
        values: float array of any shape, e.g. one unit's maps ``(n, H, W)``.
        quantile: float in (0, 1), the share of values above ``T``.

    Returns:
        bool array of ``values``' shape.
    """
    values = np.asarray(values)
    flat = values.reshape(-1)
    top = max(1, math.floor(quantile * flat.size))
    return values > np.partition(flat, flat.size - top - 1)[flat.size - top - 1]


def unit_concept(model, layer_name, unit, images, concept_masks, quantile=QUANTILE):
    """The concept a unit detects best: ``argmax_c IoU`` of Network Dissection.

    The unit's activations on ``images`` (:func:`unit_activations`) are
    upsampled bilinearly to the masks' size (:func:`upsample`) and scored
    against each concept by :func:`dissection_iou`.

    Args:
        model: a ``keras.Model``.
        layer_name: str, a layer with a ``(batch, h, w, units)`` output.
        unit: int, the unit (channel) of that layer.
        images: array ``(n, height, width, channels)``, as the model expects.
        concept_masks: dict ``{name: bool array (n, H, W)}``
            (:func:`convviz_ref.crossed.concept_masks`).
        quantile: float, as in :func:`dissection_iou`.

    Returns:
        str, the name with the highest IoU (the first in the dict's order on
        a tie).

    Raises:
        ValueError: an unknown or non-spatial layer, a unit out of range, no
            concept, or masks that do not fit the images.
    """
    if not concept_masks:
        raise ValueError("concept_masks is empty; give at least one concept")
    size = np.shape(next(iter(concept_masks.values())))[1:]
    maps = unit_maps(model, layer_name, unit, images, size)
    scores = {
        name: dissection_iou(maps, mask, quantile)
        for name, mask in concept_masks.items()
    }
    return max(scores, key=scores.get)


def unit_maps(model, layer_name, unit, images, size):
    """One unit's activation maps upsampled to ``size``: float32 ``(n, H, W)``.

    Raises:
        ValueError: an unknown or non-spatial layer, or a unit out of range.
    """
    activations = unit_activations(model, layer_name, images)
    if not 0 <= unit < activations.shape[-1]:
        raise ValueError(
            f"unit {unit} is out of range: {layer_name!r} has "
            f"{activations.shape[-1]} units"
        )
    return upsample(activations[..., unit : unit + 1], size)[..., 0]


# ----------------------------------------------------------------------------------
# Controls


def rotate_units(activations, *, seed=0):
    """Mix the units by a random rotation: the control of Bau et al. section 3.2.

    Formula: ``A' = A @ Q`` over the unit axis, ``Q`` a ``(units, units)``
    orthogonal matrix drawn uniformly (Haar) by ``scipy.stats.ortho_group``.
    The layer's information is unchanged; only its basis is.

    Args:
        activations: array ``(n, h, w, units)``, at least 2 units.
        seed: int, seeds ``Q``.

    Returns:
        float32 array ``(n, h, w, units)``.
    """
    activations = np.asarray(activations, np.float32)
    units = activations.shape[-1]
    if units < 2:
        raise ValueError(f"a rotation needs at least 2 units, got {units}")
    rotation = stats.ortho_group.rvs(units, random_state=seed).astype(np.float32)
    return activations @ rotation


def _seeded_config(config, seeds):
    """A layer config whose random initializers take their seeds from ``seeds``."""
    config = dict(config)
    for key in sorted(config):
        value = config[key]
        if (
            key.endswith("initializer")
            and isinstance(value, dict)
            and "seed" in value.get("config", {})
        ):
            seed = next(seeds)
            config[key] = {**value, "config": {**value["config"], "seed": seed}}
    return config


def reinitialize(model, *, seed=0):
    """A copy of ``model`` with fresh weights, as before training (seeded).

    Every layer is rebuilt from its config, each random initializer given its
    own seed (``seed`` plus a count), the constant ones (biases, batch
    normalization statistics) left as they are; ``model`` is not changed.

    Args:
        model: a Functional or Sequential ``keras.Model``.
        seed: int; the same seed gives the same weights.

    Returns:
        a new ``keras.Model`` with the same architecture and layer names.
    """
    seeds = itertools.count(seed * 10**6)  # a distinct seed per initializer

    def fresh(layer):
        return layer.__class__.from_config(_seeded_config(layer.get_config(), seeds))

    return keras.models.clone_model(model, clone_function=fresh)


# ----------------------------------------------------------------------------------
# Planted units


def texture_kernel(pattern, size=7, period=6.0, *, angle=0.0, phase=0.0):
    """A matched filter for a periodic texture: zero mean, unit norm.

    ``u = x cos(angle) + y sin(angle)`` and ``v = -x sin(angle) + y cos(angle)``
    (pixels from the kernel's centre, shifted by ``phase`` pixels along
    both), then the template is 1 on the ink and 0 elsewhere:

    - ``"stripes"``: ``floor(v / (period / 2)) % 2 == 0``, bands of
      ``period / 2`` pixels along ``u`` (``angle=0``: horizontal stripes);
    - ``"dots"``: ``hypot(u/p - round(u/p), v/p - round(v/p)) < 0.3`` with
      ``p = period``, round dots on a square lattice;
    - ``"checks"``: ``(floor(u / s) + floor(v / s)) % 2 == 0`` with
      ``s = period / 2``.

    Returns:
        float32 array ``(size, size)``: the template minus its mean, divided
        by its norm, so a flat patch gives 0.

    Raises:
        ValueError: unknown pattern, or a template that is constant.
    """
    offsets = np.arange(size) - (size - 1) / 2 + phase
    y, x = np.meshgrid(offsets, offsets, indexing="ij")
    u = x * np.cos(angle) + y * np.sin(angle)
    v = -x * np.sin(angle) + y * np.cos(angle)
    half = period / 2
    if pattern == "stripes":
        ink = np.floor(v / half) % 2 == 0
    elif pattern == "dots":
        ink = np.hypot(
            u / period - np.round(u / period), v / period - np.round(v / period)
        )
        ink = ink < 0.3
    elif pattern == "checks":
        ink = (np.floor(u / half) + np.floor(v / half)) % 2 == 0
    else:
        raise ValueError(
            f"unknown pattern {pattern!r}; choose 'stripes', 'dots' or 'checks'"
        )
    template = ink.astype(np.float64) - ink.mean()
    norm = np.linalg.norm(template)
    if norm == 0:
        raise ValueError(f"a {size}x{size} {pattern} kernel of period {period} is flat")
    return (template / norm).astype(np.float32)


def plant_units(model, layer_name, kernels, *, units=None, bias=0.0):
    """A copy of ``model`` whose chosen units of a ``Conv2D`` have hand-set kernels.

    Each kernel is written to one unit (output channel): a ``(kh, kw)``
    kernel is copied to every input channel, divided by their number (so a
    grey image gives the same response as one channel); a
    ``(kh, kw, in_channels)`` kernel is written as it is. The unit's bias is
    set to ``bias``. Other units and layers keep their weights.

    Args:
        model: a ``keras.Model`` (not changed).
        layer_name: str, a ``keras.layers.Conv2D`` of ``model``.
        kernels: list of arrays ``(kh, kw)`` or ``(kh, kw, in_channels)``.
        units: list of int, the units to overwrite (default: 0, 1, ...).
        bias: float, the planted units' bias (if the layer has biases).

    Returns:
        a new ``keras.Model``.

    Raises:
        ValueError: not a Conv2D, a kernel of the wrong shape, or units
            out of range or not one per kernel.
    """
    planted = keras.models.clone_model(model)
    planted.set_weights(model.get_weights())
    layer = planted.get_layer(layer_name)
    if type(layer) is not keras.layers.Conv2D:
        raise ValueError(
            f"layer {layer_name!r} is a {type(layer).__name__}, not a Conv2D"
        )
    weights = layer.get_weights()
    kernel = weights[0]
    units = list(range(len(kernels))) if units is None else list(units)
    if len(units) != len(kernels) or not all(
        0 <= unit < kernel.shape[-1] for unit in units
    ):
        raise ValueError(
            f"need one unit in 0..{kernel.shape[-1] - 1} per kernel, "
            f"got units {units} for {len(kernels)} kernels"
        )
    for unit, new in zip(units, kernels, strict=True):
        new = np.asarray(new, np.float32)
        if new.ndim == 2:
            new = np.repeat(new[..., None], kernel.shape[2], axis=2) / kernel.shape[2]
        if new.shape != kernel.shape[:3]:
            raise ValueError(
                f"kernel of shape {new.shape} for layer {layer_name!r}, whose "
                f"kernels are {kernel.shape[:3]} (or {kernel.shape[:2]})"
            )
        kernel[..., unit] = new
        if len(weights) > 1:
            weights[1][unit] = bias
    layer.set_weights(weights)
    return planted
