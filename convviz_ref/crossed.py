"""Crossed shapes data: every shape with every texture, and exact concept masks.

In the shapes dataset (:mod:`convviz_ref.data`) each class has one texture
(a dotted disc, a checked square, a striped triangle, a solid star), so shape
and texture are confounded: no measurement can tell a "disc" unit from a
"dots" unit, nor whether a classifier decides by shape or by texture. The
sets here break the link, drawn by the same generator:

- ``"crossed"``: image ``i`` has the shape of class ``i % 4`` and texture
  ``(i // 4) % 4`` of :data:`TEXTURE_NAMES`, so every 16 images hold every
  (shape, texture) pair once: the probe set for Network Dissection
  (:func:`convviz_ref.dissection.dissect` takes :func:`concept_masks`);
- ``"conflict"``: Geirhos et al.'s (2019) cue-conflict images, the shape of
  one class with the texture of another: texture ``(i % 4 + 1 + (i // 4) % 3)
  % 4``, never the class's own, every 12 images each ordered pair once;
- ``"independent"``: a texture drawn uniformly at random, independently of
  the label (its own seeded generator), so that a model trained on it must
  use the shape: its ``"train"`` split is the training set for such a model.

Image ``i`` of a set is the scene of image ``i`` of ``load_shapes(split)``
(same position, size, angle, colours, texture period, background and
distractors), with only the fill's texture changed: where the texture is the
class's own, the image is bit for bit the one of :func:`load_shapes`.

Concepts (:data:`CONCEPT_NAMES`), each a bool mask per image:

- the four shapes (``"disc"`` ... ``"star"``): the pixels the object paints,
  in the images of that shape;
- the four textures' ink (``"dotted"``, ``"checked"``, ``"striped"``,
  ``"solid"``): the object's pixels of the fill's first colour (the dots,
  the squares of one colour, the stripes of one colour; the whole object for
  a solid fill), in the images of that texture;
- ``"contour"``: the trimap's contour band (one pixel either side of the
  object's edge);
- ``"distractor"``: the pixels of the trimap's background that a distractor
  stroke or ring paints with weight at least 0.5
  (:func:`convviz_ref.data.distractor_mask`);
- ``"background"``: the rest of the trimap's background.

Contour, background and distractor never overlap, and with the trimap's
object (inside the band) they cover every pixel; the shape and texture
concepts overlap each other and the contour band.

Example:

>>> probe = load_crossed("test", n=16, image_size=32)
>>> probe.images.shape, probe.labels[:5].tolist(), probe.texture_labels[:5].tolist()
((16, 32, 32, 3), [0, 1, 2, 3, 0], [0, 0, 0, 0, 1])
>>> masks = concept_masks(probe)
>>> list(masks)[:5], masks["dotted"].shape
(['disc', 'square', 'triangle', 'star', 'dotted'], (16, 32, 32))
"""

from __future__ import annotations

import sys
from typing import NamedTuple

import numpy as np

from convviz_ref import cache, data

TEXTURE_NAMES = tuple(data.TEXTURES[name] for name in data.CLASS_NAMES)
"""The four textures, in the order of the classes they go with in the shapes
dataset: texture label ``t`` is class ``t``'s own fill."""

VERSIONS = ("crossed", "conflict", "independent")
"""How each image's texture is chosen: :func:`load_crossed`'s ``textures``."""

REGION_NAMES = ("contour", "background", "distractor")
"""The concepts that are neither a shape nor a texture."""

CONCEPT_NAMES = data.CLASS_NAMES + TEXTURE_NAMES + REGION_NAMES
"""Every concept of :func:`concept_masks`, in its order."""

_TEXTURE_STREAM = 2
"""The last entry of the seed of the generator that draws ``"independent"``
textures (the markers of :func:`convviz_ref.data.load_shapes` use 1)."""


class Crossed(NamedTuple):
    """What :func:`load_crossed` returns; unpacks like a tuple.

    Attributes:
        images: float32 ``(n, size, size, 3)``, values in 0..255.
        labels: int32 ``(n,)``, the class of each image's shape.
        masks: int32 trimaps ``(n, size, size)``: 0 object, 1 background,
            2 contour band, as in :class:`convviz_ref.data.Shapes`.
        class_names: the names of the classes (shapes), indexed by label.
        texture_labels: int32 ``(n,)``, each image's texture, an index of
            :data:`TEXTURE_NAMES` (equal to the label where the texture is the
            class's own).
        object_masks: bool ``(n, size, size)``, the pixels the object paints.
        ink_masks: bool ``(n, size, size)``, the object's pixels of its fill's
            first colour (all of the object for a solid fill).
        distractor_masks: bool ``(n, size, size)``, the pixels a distractor
            paints with weight at least 0.5, not under the object
            (:func:`convviz_ref.data.distractor_mask`; the ``"distractor"``
            concept is their part outside the contour band).
    """

    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    class_names: tuple[str, ...]
    texture_labels: np.ndarray
    object_masks: np.ndarray
    ink_masks: np.ndarray
    distractor_masks: np.ndarray


def load_crossed(split="test", n=None, *, textures="crossed", image_size=96, seed=0):
    """Load (draw) a crossed set: the scenes of a split with other textures.

    Image ``i`` depends only on ``(seed, split, textures, i)``; ``n`` takes a
    prefix; the arrays are cached like :func:`convviz_ref.data.load_shapes`'s.

    Args:
        split: ``"train"``, ``"val"`` or ``"test"``: whose scenes (and how
            many, :data:`convviz_ref.data.SPLIT_SIZES`).
        n: number of images, at most the split's size; None for all.
        textures: one of :data:`VERSIONS` (see the module's docstring).
        image_size: int, height and width in pixels (at least 32).
        seed: int, the dataset's seed (the shipped models': 0).

    Returns:
        a :class:`Crossed`.

    Raises:
        ValueError: for an unknown ``textures`` version or split, ``n`` out
            of range, or an image size under 32.
    """
    if textures not in VERSIONS:
        raise ValueError(f"textures must be one of {VERSIONS}, got {textures!r}")
    if split not in data.SPLIT_SIZES:
        raise ValueError(
            f"split must be one of {sorted(data.SPLIT_SIZES)}, got {split!r}"
        )
    size = data.SPLIT_SIZES[split]
    n = size if n is None else n
    if not 0 <= n <= size:
        raise ValueError(f"n must be between 0 and {size} for split {split!r}, got {n}")
    if image_size < 32:
        raise ValueError(f"image_size must be at least 32 pixels, got {image_size}")
    name = (
        f"crossed-{textures}-{split}-{image_size}px-seed{seed}-"
        f"{cache.fingerprint(data.__file__, __file__)}"
    )
    arrays = cache.cached_prefix(
        name,
        n,
        lambda start, stop: draw_crossed(
            split, range(start, stop), textures, image_size, seed
        ),
    )
    return Crossed(
        images=arrays["images"].astype(np.float32),
        labels=arrays["labels"].astype(np.int32),
        masks=arrays["masks"].astype(np.int32),
        class_names=data.CLASS_NAMES,
        texture_labels=arrays["texture_labels"].astype(np.int32),
        object_masks=arrays["object_masks"].astype(bool),
        ink_masks=arrays["ink_masks"].astype(bool),
        distractor_masks=arrays["distractor_masks"].astype(bool),
    )


def texture_label(split, index, label, textures, seed=0):
    """The texture (an index of :data:`TEXTURE_NAMES`) of image ``index`` of a set.

    Args:
        split, seed: as in :func:`load_crossed` (``"independent"`` only).
        index: int, the image's index in the split.
        label: int, its class (``index % 4``).
        textures: one of :data:`VERSIONS`.
    """
    count = len(TEXTURE_NAMES)
    if textures == "crossed":
        return (index // count) % count
    if textures == "conflict":
        return (label + 1 + (index // count) % (count - 1)) % count
    rng = np.random.default_rng(
        [*data.scene_seed(split, index, 1, seed), _TEXTURE_STREAM]
    )
    return int(rng.integers(count))


def draw_crossed(split, indices, textures="crossed", image_size=96, seed=0):
    """Draw images ``indices`` of a crossed set: :func:`load_crossed`, uncached.

    Returns:
        dict with ``images`` uint8 ``(n, size, size, 3)``, ``labels`` and
        ``texture_labels`` int32 ``(n,)``, ``masks`` uint8 trimaps and
        ``object_masks``, ``ink_masks``, ``distractor_masks`` uint8 0/1
        ``(n, size, size)``.
    """
    n, size = len(indices), image_size
    arrays = {
        "images": np.empty((n, size, size, 3), np.uint8),
        "labels": np.empty(n, np.int32),
        "texture_labels": np.empty(n, np.int32),
        **{
            key: np.empty((n, size, size), np.uint8)
            for key in ("masks", "object_masks", "ink_masks", "distractor_masks")
        },
    }
    for row, index in enumerate(indices):
        # The scene of load_shapes(split)[index], drawn by the same generator.
        scene = data.scene_of(split, index, seed=seed)
        label = scene["objects"][0]["label"]
        texture = texture_label(split, index, label, textures, seed)
        obj = scene["objects"][0]
        obj["texture"] = TEXTURE_NAMES[texture]
        image, object_masks = data.render_scene(scene, size)
        arrays["images"][row] = image
        arrays["labels"][row] = label
        arrays["texture_labels"][row] = texture
        arrays["masks"][row] = data.trimap_from_mask(object_masks[0])
        arrays["object_masks"][row] = object_masks[0]
        arrays["ink_masks"][row] = object_masks[0] & data.texture_ink(obj, size)
        arrays["distractor_masks"][row] = data.distractor_mask(scene, size)
    return arrays


def concept_masks(crossed):
    """Every concept's pixels in every image: the masks Network Dissection scores.

    Args:
        crossed: a :class:`Crossed` (from :func:`load_crossed`).

    Returns:
        dict ``{name: bool array (n, size, size)}`` over :data:`CONCEPT_NAMES`,
        in that order (see the module's docstring for each concept); the
        ``concept_masks`` argument of :func:`convviz_ref.dissection.dissect`.
    """
    shapes = crossed.labels[:, None, None]
    textures = crossed.texture_labels[:, None, None]
    masks = {
        name: crossed.object_masks & (shapes == label)
        for label, name in enumerate(crossed.class_names)
    }
    masks.update(
        {
            name: crossed.ink_masks & (textures == label)
            for label, name in enumerate(TEXTURE_NAMES)
        }
    )
    masks["contour"] = crossed.masks == data.CONTOUR
    background = crossed.masks == data.BACKGROUND
    masks["distractor"] = background & crossed.distractor_masks
    masks["background"] = background & ~crossed.distractor_masks
    return {name: masks[name] for name in CONCEPT_NAMES}


def summarize_crossed(crossed):
    """Figures that describe a crossed set (what ``convviz data`` prints).

    Returns:
        dict with ``num_images``, ``pairs`` (int ``(4, 4)`` counts of images
        per shape (rows) and texture (columns)), ``conflict`` (the share of
        images whose texture is not their class's own) and ``concept_area``
        (``{name: mean share of the pixels}`` over :data:`CONCEPT_NAMES`).
    """
    count = len(TEXTURE_NAMES)
    pairs = np.zeros((len(crossed.class_names), count), int)
    np.add.at(pairs, (crossed.labels, crossed.texture_labels), 1)
    return {
        "num_images": len(crossed.labels),
        "pairs": pairs,
        "conflict": float(np.mean(crossed.labels != crossed.texture_labels)),
        "concept_area": {
            name: float(mask.mean()) for name, mask in concept_masks(crossed).items()
        },
    }


def pair_counts(split, textures, n=None, *, seed=0):
    """Images per (shape, texture) pair in a set's first ``n``, without drawing.

    Returns:
        int array ``(4, 4)``: rows the shape's class, columns the texture (an
        index of :data:`TEXTURE_NAMES`).
    """
    n = data.SPLIT_SIZES[split] if n is None else n
    count = len(TEXTURE_NAMES)
    pairs = np.zeros((len(data.CLASS_NAMES), count), int)
    for index in range(n):
        label = data.labels_for_index(index, 1)[0]
        pairs[label, texture_label(split, index, label, textures, seed)] += 1
    return pairs


DESCRIBED = (
    ("crossed", "test"),
    ("conflict", "test"),
    ("independent", "train"),
    ("independent", "val"),
    ("independent", "test"),
)
"""The crossed sets ``convviz data`` describes: the probe sets and the splits
where the texture is independent of the class."""


def describe(seed=0, stream=None):
    """Print what each of :data:`DESCRIBED` holds (no image is drawn); return it.

    One line per set: its images, the fewest and most images of a (shape,
    texture) pair that occurs, how many pairs occur, and the share of images
    whose texture is their class's own.

    Returns:
        ``{(textures, split): pair counts}`` (:func:`pair_counts`).
    """
    stream = stream or sys.stdout
    print(
        "\nCrossed sets (convviz_ref.crossed): the scenes above with other textures, "
        f"masks of {len(CONCEPT_NAMES)} concepts",
        file=stream,
    )
    print(
        f"  {'set':<20}{'images':>7}{'pairs':>7}{'images per pair':>17}"
        f"{'own texture':>13}",
        file=stream,
    )
    described = {}
    for textures, split in DESCRIBED:
        pairs = pair_counts(split, textures, seed=seed)
        present = pairs[pairs > 0]
        print(
            f"  {f'{textures} ({split})':<20}{pairs.sum():>7}{len(present):>7}"
            f"{f'{present.min()}-{present.max()}':>17}"
            f"{np.trace(pairs) / pairs.sum():>13.1%}",
            file=stream,
        )
        described[(textures, split)] = pairs
    return described
