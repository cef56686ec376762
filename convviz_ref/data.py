"""Data for the course: the offline "shapes" dataset and a few real photographs.

The classic chapter downloads Oxford-IIIT Pets, cats-vs-dogs and ImageNet
weights. None of that can be fetched offline, so the course draws its own
images, with pixel-level ground truth, from a seeded random generator:

* four classes that differ by shape *and* texture (a dotted disc, a checked
  square, a striped triangle, a solid star), at any position, scale, angle and
  colour, often cut by the image border;
* on a cluttered background: smooth colour blobs, pixel noise, and thin
  strokes and rings that belong to no class;
* every image comes with a trimap mask in the Oxford-IIIT Pets convention
  after subtracting 1: ``0`` object, ``1`` background, ``2`` contour band.

Array contract (the same everywhere in ``convviz_ref``): images are float32
``(batch, height, width, 3)`` in 0..255, labels int32, masks int32
``(batch, height, width)``.

Example:

>>> data = load_shapes("val", n=8, image_size=64)
>>> data.images.shape, data.images.dtype, data.masks.shape
((8, 64, 64, 3), dtype('float32'), (8, 64, 64))
>>> [data.class_names[label] for label in data.labels[:4]]
['disc', 'square', 'triangle', 'star']

The same scenes with every shape in every texture (cue-conflict images, a
split where the texture is independent of the class, and exact masks of
each shape, texture, contour, background and distractor) are in
:mod:`convviz_ref.crossed`. The loaders for the real data sets, which need a
download or a folder the user provides, are in :mod:`convviz_ref.online`.
"""

from __future__ import annotations

import pathlib
from typing import NamedTuple

import numpy as np
from scipy import ndimage
from skimage import draw

from convviz_ref import cache

CLASS_NAMES = ("disc", "square", "triangle", "star")
"""The four classes, in label order."""

TEXTURES = {
    "disc": "dotted",
    "square": "checked",
    "triangle": "striped",
    "star": "solid",
}
"""The fill that goes with each class's shape."""

TEXTURE_PERIODS = (0.06, 0.1)
"""The range a fill's period is drawn from, uniformly, as a share of the image side."""

SPLIT_SIZES = {"train": 3000, "val": 500, "test": 1000}
"""Number of images in each split (for one- and two-object images alike)."""

OBJECT_INSIDE, BACKGROUND, CONTOUR = 0, 1, 2
"""Trimap values: Oxford-IIIT Pets' 1 / 2 / 3 minus one."""

TRIMAP_NAMES = ("object", "background", "contour")

_SPLIT_IDS = {"train": 0, "val": 1, "test": 2}

MARKER_VERSIONS = ("marked", "none", "swapped")
"""The versions of the shortcut ("Clever Hans") data: ``load_shapes(markers=...)``."""

MARKER_COLORS = np.array(
    [[255, 30, 30], [30, 255, 30], [30, 60, 255], [255, 255, 30]], np.float64
)
"""The marker's colour for each class, in label order: red, green, blue, yellow."""

MARKER_RATE = 0.9
"""The share of images that carry a marker, in every split and version but "none"."""

MARKER_SIDE = 0.1
"""The marker's side, in units of the image side (10 pixels at 96)."""


class Shapes(NamedTuple):
    """What :func:`load_shapes` returns; unpacks like a tuple.

    Attributes:
        images: float32 array of shape ``(n, size, size, 3)``, values in 0..255.
        labels: int32 array of shape ``(n,)``, or ``(n, 2)`` for two-object
            images (one class index per object, never the same twice).
        masks: int32 trimaps of shape ``(n, size, size)``, or
            ``(n, 2, size, size)`` for two-object images (one per object);
            ``0`` object, ``1`` background, ``2`` contour band.
        class_names: the names of the classes, indexed by label.
    """

    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    class_names: tuple[str, ...]


class MarkedShapes(NamedTuple):
    """:func:`load_shapes` with ``markers``: :class:`Shapes` plus where the marker is.

    Attributes:
        images, labels, masks, class_names: as in :class:`Shapes` (one object per
            image).
        marker_masks: int32 ``(n, size, size)``, 1 on the marker's pixels, 0
            elsewhere (all 0 where the image carries no marker).
        marker_labels: int32 ``(n,)``, the class whose colour the marker has,
            or -1 where there is no marker.
    """

    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray
    class_names: tuple[str, ...]
    marker_masks: np.ndarray
    marker_labels: np.ndarray


def load_shapes(split, n=None, *, image_size=96, num_objects=1, seed=0, markers=None):
    """Load (draw) a split of the synthetic shapes dataset.

    Image ``i`` of a split depends only on ``(seed, split, num_objects, i)``,
    so the same arguments give the same arrays on any machine, ``n`` takes a
    prefix of the full split, and train / val / test never share an image.
    Labels cycle through the classes (``i % 4`` for one object), so any prefix
    is balanced to within one image per class.

    Args:
        split: ``"train"``, ``"val"`` or ``"test"``.
        n: number of images, at most the split's size (``SPLIT_SIZES``);
            ``None`` for the whole split.
        image_size: int, height and width in pixels (at least 32). The scene
            is drawn in relative units, so a larger size gives the same
            scene with finer detail.
        num_objects: ``1`` or ``2``. Two-object images hold two different
            classes that do not overlap or touch.
        seed: int, the dataset's seed. The course's shipped models were
            trained on seed 0.
        markers: None, or a version of the shortcut ("Clever Hans") data,
            one object per image: the same scenes, where
            :data:`MARKER_RATE` of the images carry a small solid square of
            their class's colour (:data:`MARKER_COLORS`) away from the object
            (``"marked"``), the same squares in another class's colour
            (``"swapped"``), or no square (``"none"``). Position and presence
            depend only on the image, so the three versions differ only in
            the marker. The shipped ``shortcut`` model was trained on
            ``load_shapes("train", markers="marked")``.

    Returns:
        A :class:`Shapes` tuple ``(images, labels, masks, class_names)``, or
        with ``markers`` a :class:`MarkedShapes` (the same and the markers'
        masks and colours).

    Raises:
        ValueError: for an unknown split, ``n`` out of range, an image size
            under 32, a number of objects other than 1 or 2, or an unknown
            ``markers`` version (or markers on two-object images).
    """
    if split not in SPLIT_SIZES:
        raise ValueError(f"split must be one of {sorted(SPLIT_SIZES)}, got {split!r}")
    size = SPLIT_SIZES[split]
    n = size if n is None else n
    if not 0 <= n <= size:
        raise ValueError(f"n must be between 0 and {size} for split {split!r}, got {n}")
    if image_size < 32:
        raise ValueError(f"image_size must be at least 32 pixels, got {image_size}")
    if num_objects not in (1, 2):
        raise ValueError(f"num_objects must be 1 or 2, got {num_objects}")
    if markers is not None and markers not in MARKER_VERSIONS:
        raise ValueError(
            f"markers must be None or one of {MARKER_VERSIONS}, got {markers!r}"
        )
    if markers is not None and num_objects != 1:
        raise ValueError("markers are drawn on one-object images only (num_objects=1)")

    # Drawn once per machine: later calls read the images from the disk cache
    # (convviz_ref.cache).
    version = "" if markers is None else f"-markers-{markers}"
    name = (
        f"shapes-{split}-{image_size}px-{num_objects}obj-seed{seed}{version}-"
        f"{cache.fingerprint(__file__)}"
    )
    arrays = cache.cached_prefix(
        name,
        n,
        lambda start, stop: draw_shapes(
            split, range(start, stop), image_size, num_objects, seed, markers=markers
        ),
    )
    shapes = (
        arrays["images"].astype(np.float32),
        arrays["labels"].astype(np.int32),
        arrays["masks"].astype(np.int32),
        CLASS_NAMES,
    )
    if markers is None:
        return Shapes(*shapes)
    return MarkedShapes(
        *shapes,
        arrays["marker_masks"].astype(np.int32),
        arrays["marker_labels"].astype(np.int32),
    )


def draw_shapes(split, indices, image_size=96, num_objects=1, seed=0, *, markers=None):
    """Draw images ``indices`` of a split: :func:`load_shapes`'s result, uncached.

    Returns:
        dict with ``images`` uint8 ``(n, size, size, 3)``, ``labels`` int32
        ``(n,)`` or ``(n, 2)`` and ``masks`` uint8 trimaps ``(n, size, size)``
        or ``(n, 2, size, size)``, for ``n = len(indices)``; with ``markers``
        also ``marker_masks`` uint8 ``(n, size, size)`` and ``marker_labels``
        int32 ``(n,)``.
    """
    n = len(indices)
    images = np.empty((n, image_size, image_size, 3), np.uint8)
    masks_shape = (
        (n, image_size, image_size)
        if num_objects == 1
        else (n, 2, image_size, image_size)
    )
    masks = np.empty(masks_shape, np.uint8)
    labels = np.empty((n,) if num_objects == 1 else (n, 2), np.int32)
    marker_masks = np.zeros((n, image_size, image_size), np.uint8)
    marker_labels = np.full(n, -1, np.int32)
    for row, index in enumerate(indices):
        scene = scene_of(split, index, num_objects, seed)
        image, object_masks = render_scene(scene, image_size)
        trimaps = np.stack([trimap_from_mask(mask) for mask in object_masks])
        masks[row] = trimaps[0] if num_objects == 1 else trimaps
        scene_labels = [obj["label"] for obj in scene["objects"]]
        labels[row] = scene_labels[0] if num_objects == 1 else scene_labels
        if markers is not None:
            # A generator of its own: the scene is exactly the one without markers.
            marker_rng = np.random.default_rng(
                [*scene_seed(split, index, num_objects, seed), 1]
            )
            marker = sample_marker(marker_rng, scene)
            marker_label = _marker_label(marker, scene_labels[0], markers)
            marker_mask = _marker_mask(marker, image_size)
            if marker_label >= 0:
                image[marker_mask] = MARKER_COLORS[marker_label]
            marker_masks[row] = marker_mask & (marker_label >= 0)
            marker_labels[row] = marker_label
        images[row] = image
    arrays = {"images": images, "labels": labels, "masks": masks}
    if markers is not None:
        arrays.update(marker_masks=marker_masks, marker_labels=marker_labels)
    return arrays


def sample_marker(rng, scene):
    """Where a one-object scene's marker goes, whether it is there, its swapped class.

    Returns:
        dict with ``corner`` (the square's top-left corner, in units of the
        image side, always clear of the object's circumscribed circle),
        ``present`` (True for :data:`MARKER_RATE` of the images) and
        ``shift`` (1..3: the swapped version shows class ``(label + shift) % 4``).
    """
    obj = scene["objects"][0]
    for _ in range(1000):
        corner = rng.uniform(0.02, 0.98 - MARKER_SIDE, size=2)
        if (
            np.hypot(*(corner + MARKER_SIDE / 2 - obj["center"]))
            > obj["radius"] + MARKER_SIDE
        ):
            break
    return {
        "corner": corner,
        "present": bool(rng.random() < MARKER_RATE),
        "shift": int(rng.integers(1, len(CLASS_NAMES))),
    }


def _marker_label(marker, label, version):
    """The class whose colour the marker shows in ``version``, or -1 for no marker."""
    if version == "none" or not marker["present"]:
        return -1
    return (
        label if version == "marked" else (label + marker["shift"]) % len(CLASS_NAMES)
    )


def _marker_mask(marker, size):
    """The marker's pixels: a bool ``(size, size)`` square."""
    mask = np.zeros((size, size), bool)
    top, left = np.rint(marker["corner"] * size).astype(int)
    side = max(2, int(round(MARKER_SIDE * size)))
    mask[top : top + side, left : left + side] = True
    return mask


def scene_seed(split, index, num_objects=1, seed=0):
    """The seed sequence of image ``index`` of a split: ``[seed, split id, n, index]``.

    :func:`scene_of` draws the scene from it; other streams of the same image
    (its marker, a crossed set's texture) append a stream number to it.
    """
    return [seed, _SPLIT_IDS[split], num_objects, index]


def scene_of(split, index, num_objects=1, seed=0):
    """The scene of image ``index`` of ``load_shapes(split, ...)``, not rendered.

    Returns:
        dict, as :func:`sample_scene` returns it; :func:`render_scene` draws
        it, :func:`shape_mask` gives an object's mask.
    """
    rng = np.random.default_rng(scene_seed(split, index, num_objects, seed))
    return sample_scene(rng, labels_for_index(index, num_objects))


def labels_for_index(index, num_objects):
    """Class indices of image ``index``: cycles through classes / ordered pairs."""
    num_classes = len(CLASS_NAMES)
    if num_objects == 1:
        return [index % num_classes]
    pairs = [(a, b) for a in range(num_classes) for b in range(num_classes) if a != b]
    return list(pairs[index % len(pairs)])


# --------------------------------------------------------------------------
# Drawing a scene: first sample every random choice (in relative units),
# then render those choices at a given pixel size.
# --------------------------------------------------------------------------


def sample_scene(rng, labels):
    """Sample every random choice of one scene, in units of the image side.

    Args:
        rng: a ``numpy.random.Generator``.
        labels: list of one or two class indices (different from each other).

    Returns:
        dict with ``background`` (a coarse colour grid), ``noise_seed``,
        ``distractors`` and ``objects`` (each with label, centre, radius,
        angle, colours and texture period); :func:`render_scene` draws it.
    """
    cells = int(rng.integers(3, 7))
    scene = {
        "background": rng.uniform(40.0, 215.0, size=(cells, cells, 3)),
        "noise_seed": int(rng.integers(2**31)),
        "distractors": [
            _sample_distractor(rng) for _ in range(int(rng.integers(4, 9)))
        ],
        "objects": [],
    }
    # Two objects are drawn a little smaller, so that they fit side by side;
    # when they keep colliding, the next tries shrink them a little more.
    scale = 1.0 if len(labels) == 1 else 0.85
    for label in labels:
        for attempt in range(1000):
            obj = _sample_object(rng, label, scale * 0.95 ** (attempt // 20))
            if all(_apart(obj, other) for other in scene["objects"]):
                break
        scene["objects"].append(obj)
    return scene


def _sample_object(rng, label, scale=1.0):
    return {
        "label": int(label),
        # Centres anywhere in the frame (10 % margin): large objects near the
        # edge are cut by the border, and the image centre is usually empty.
        "center": rng.uniform(0.1, 0.9, size=2),
        "radius": float(rng.uniform(0.18, 0.32)) * scale,
        "angle": float(rng.uniform(0.0, 2 * np.pi)),
        "colors": _contrasting_colors(rng),
        "period": float(rng.uniform(*TEXTURE_PERIODS)),
        "texture_angle": float(rng.uniform(0.0, np.pi)),
    }


def _apart(a, b, gap=0.04):
    """True when the circumscribed circles of two objects are ``gap`` apart."""
    distance = np.hypot(*(a["center"] - b["center"]))
    return distance > a["radius"] + b["radius"] + gap


def _contrasting_colors(rng):
    """Two RGB colours at least 150 apart in summed absolute difference."""
    while True:
        first, second = rng.uniform(0.0, 255.0, size=(2, 3))
        if np.abs(first - second).sum() >= 150:
            return first, second


def _sample_distractor(rng):
    kind = "ring" if rng.random() < 0.25 else "stroke"
    start = rng.uniform(-0.1, 1.1, size=2)
    if kind == "ring":
        shape = {"center": start, "radius": float(rng.uniform(0.03, 0.08))}
    else:
        length, angle = rng.uniform(0.2, 0.7), rng.uniform(0.0, 2 * np.pi)
        shape = {
            "start": start,
            "end": start + length * np.array([np.cos(angle), np.sin(angle)]),
        }
    return {"kind": kind, "color": rng.uniform(0.0, 255.0, size=3), **shape}


def render_scene(scene, image_size):
    """Draw a sampled scene at ``image_size`` pixels.

    Returns:
        ``(image, object_masks)``: a uint8 array of shape
        ``(image_size, image_size, 3)`` and a bool array of shape
        ``(num_objects, image_size, image_size)``, True where each object was
        painted (objects never overlap, so nothing paints over them).
    """
    size = image_size
    image = _smooth_background(scene["background"], size)
    noise_rng = np.random.default_rng(scene["noise_seed"])
    image = image + noise_rng.normal(0.0, 6.0, size=image.shape)
    for distractor in scene["distractors"]:
        _draw_distractor(image, distractor, size)
    object_masks = np.zeros((len(scene["objects"]), size, size), bool)
    for k, obj in enumerate(scene["objects"]):
        mask = shape_mask(obj, size)
        image[mask] = _texture(obj, size)[mask]
        object_masks[k] = mask
    return np.clip(np.rint(image), 0, 255).astype(np.uint8), object_masks


def _smooth_background(grid, size):
    """Blend a coarse ``(cells, cells, 3)`` colour grid into a smooth picture.

    The picture is ``(size, size, 3)``.

    Each pixel is a Gaussian-weighted average of the grid colours, the grid
    points spread evenly over the frame: ``B = W @ grid @ W.T`` per channel,
    with ``W`` of shape ``(size, cells)``.
    """
    cells = grid.shape[0]
    centers = (np.arange(cells) + 0.5) / cells
    pixels = (np.arange(size) + 0.5) / size
    weights = np.exp(-0.5 * ((pixels[:, None] - centers[None, :]) * cells / 0.5) ** 2)
    weights /= weights.sum(axis=1, keepdims=True)
    # (3, cells, cells) -> (3, size, size) -> (size, size, 3): two matrix products per
    # channel, much faster than one three-operand einsum, the same pixels once rounded.
    return (weights @ np.moveaxis(grid, -1, 0) @ weights.T).transpose(1, 2, 0)


def _draw_distractor(image, distractor, size):
    rr, cc, weight = _distractor_pixels(distractor, size)
    if distractor["kind"] == "ring":
        image[rr, cc] = distractor["color"]
        return
    weight = weight[:, None]
    image[rr, cc] = (1 - weight) * image[rr, cc] + weight * distractor["color"]


def _distractor_pixels(distractor, size):
    """The pixels a distractor paints, inside the frame: ``(rows, cols, weights)``.

    A ring paints its one-pixel perimeter whole (weight 1); a stroke is an
    anti-aliased line, each pixel blended with weight ``0 < w <= 1``.
    """
    if distractor["kind"] == "ring":
        row, col = distractor["center"] * size
        rr, cc = draw.circle_perimeter(
            int(row),
            int(col),
            max(2, int(distractor["radius"] * size)),
            shape=(size, size),
        )
        return rr, cc, np.ones(len(rr))
    (r0, c0), (r1, c1) = distractor["start"] * size, distractor["end"] * size
    rr, cc, weight = draw.line_aa(int(r0), int(c0), int(r1), int(c1))
    inside = (rr >= 0) & (rr < size) & (cc >= 0) & (cc < size)
    return rr[inside], cc[inside], weight[inside]


def distractor_mask(scene, size, *, min_weight=0.5):
    """Where a scene's distractor strokes and rings show: bool ``(size, size)``.

    A pixel is in the mask when some distractor paints it with a weight of at
    least ``min_weight`` (a ring's pixels have weight 1, a stroke's
    anti-aliased edge less) and no object is painted over it.
    """
    mask = np.zeros((size, size), bool)
    for distractor in scene["distractors"]:
        rr, cc, weight = _distractor_pixels(distractor, size)
        strong = weight >= min_weight
        mask[rr[strong], cc[strong]] = True
    for obj in scene["objects"]:
        mask &= ~shape_mask(obj, size)
    return mask


def shape_mask(obj, size):
    """Boolean mask ``(size, size)`` of one object's shape, clipped to the frame.

    ``obj`` is one of a scene's ``"objects"`` (:func:`scene_of`); ``size`` the
    image side in pixels.
    """
    row, col = obj["center"] * size
    radius, angle = obj["radius"] * size, obj["angle"]
    name = CLASS_NAMES[obj["label"]]
    mask = np.zeros((size, size), bool)
    if name == "disc":
        mask[draw.disk((row, col), radius, shape=mask.shape)] = True
        return mask
    if name == "star":  # five points, inner radius 0.45 of the outer one
        radii = np.tile([radius, 0.45 * radius], 5)
        angles = angle + np.arange(10) * np.pi / 5
    else:  # a regular polygon: 4 corners for the square, 3 for the triangle
        corners = 4 if name == "square" else 3
        radii = np.full(corners, radius)
        angles = angle + np.arange(corners) * 2 * np.pi / corners
    rr, cc = draw.polygon(
        row + radii * np.sin(angles), col + radii * np.cos(angles), mask.shape
    )
    mask[rr, cc] = True
    return mask


def texture_name(obj):
    """The name of an object's fill (a value of :data:`TEXTURES`).

    The object's ``"texture"`` entry if it has one, else its class's own
    fill: the splits of :func:`load_shapes` never set the entry, the crossed
    sets (:mod:`convviz_ref.crossed`) do.
    """
    return obj.get("texture", TEXTURES[CLASS_NAMES[obj["label"]]])


def _texture_coordinates(obj, size):
    """The fill's coordinates ``(u, v)``, in periods, over the whole frame."""
    rows, cols = np.mgrid[0:size, 0:size] / size
    theta = obj["texture_angle"]
    u = (cols * np.cos(theta) + rows * np.sin(theta)) / obj["period"]
    v = (-cols * np.sin(theta) + rows * np.cos(theta)) / obj["period"]
    return u, v


def texture_ink(obj, size):
    """Where an object's fill shows its first colour: bool ``(size, size)``.

    Over the whole frame (not clipped to the shape): the stripes, squares or
    dots of the first colour; everywhere for a solid fill (one colour,
    shaded).
    """
    u, v = _texture_coordinates(obj, size)
    texture = texture_name(obj)
    if texture == "striped":
        return np.floor(u) % 2 == 0
    if texture == "checked":
        return (np.floor(u) + np.floor(v)) % 2 == 0
    if texture == "dotted":
        return np.hypot(u - np.round(u), v - np.round(v)) < 0.3
    return np.ones(u.shape, bool)


def _texture(obj, size):
    """The object's fill over the whole frame, float array ``(size, size, 3)``."""
    first, second = obj["colors"]
    if texture_name(obj) == "solid":  # gentle shading, so that it is not quite flat
        u, _ = _texture_coordinates(obj, size)
        shade = 25.0 * (u * obj["period"] - 0.5)
        return np.clip(first + shade[..., None], 0, 255)
    return np.where(texture_ink(obj, size)[..., None], first, second)


def trimap_from_mask(mask, band=1):
    """Turn a boolean object mask into a trimap (0 object, 1 background, 2 contour).

    The contour band holds the pixels within ``band`` pixels of the object's
    edge, on either side; where the object is cut by the image border there
    is no contour (as in Oxford-IIIT Pets).

    Args:
        mask: bool array of shape ``(height, width)``.
        band: int, half-width of the contour band in pixels.

    Returns:
        int32 array of shape ``(height, width)`` with values in {0, 1, 2}.
    """
    structure = ndimage.generate_binary_structure(2, 1)
    grown = ndimage.binary_dilation(mask, structure, iterations=band)
    shrunk = ndimage.binary_erosion(mask, structure, iterations=band, border_value=1)
    trimap = np.full(mask.shape, BACKGROUND, np.int32)
    trimap[shrunk] = OBJECT_INSIDE
    trimap[grown & ~shrunk] = CONTOUR
    return trimap


def combine_masks(masks):
    """Merge per-object trimaps ``(n, k, h, w)`` into one per image, ``(n, h, w)``.

    A pixel is contour if it is contour for any object, else object if it is
    inside any object, else background.
    """
    masks = np.asarray(masks)
    if masks.ndim != 4:
        raise ValueError(
            f"expected per-object masks of shape (n, k, h, w), got {masks.shape}"
        )
    combined = np.where((masks == OBJECT_INSIDE).any(axis=1), OBJECT_INSIDE, BACKGROUND)
    return np.where((masks == CONTOUR).any(axis=1), CONTOUR, combined).astype(np.int32)


def summarize_shapes(data):
    """Figures that describe a :class:`Shapes` split (what the summary prints).

    Returns:
        dict with ``num_images``, ``class_counts`` (one per class),
        ``object_area`` (mean fraction of the image that is object or
        contour), ``cut_by_border`` (fraction of images where an object
        touches the border) and ``center_on_object`` (fraction of images
        whose centre pixel falls on an object: what the "always point at the
        centre" baseline scores in the pointing game).
    """
    masks = data.masks if data.masks.ndim == 3 else combine_masks(data.masks)
    on_object = masks != BACKGROUND
    size = masks.shape[1]
    border = np.zeros(masks.shape[1:], bool)
    border[[0, -1], :] = border[:, [0, -1]] = True
    return {
        "num_images": len(masks),
        "class_counts": np.bincount(
            data.labels.ravel(), minlength=len(data.class_names)
        ).tolist(),
        "object_area": float(on_object.mean()),
        "cut_by_border": float((on_object & border).any(axis=(1, 2)).mean()),
        "center_on_object": float(on_object[:, size // 2, size // 2].mean()),
    }


# --------------------------------------------------------------------------
# Real photographs shipped inside scikit-image's wheel.
# --------------------------------------------------------------------------

SAMPLE_IMAGES = {
    "chelsea": "chelsea.png",  # a tabby cat
    "cat": "chelsea.png",
    "astronaut": "astronaut.png",
    "coffee": "coffee.png",
    "rocket": "rocket.jpg",
    "motorcycle": "motorcycle_left.png",
    "hubble": "hubble_deep_field.jpg",
}
"""Names accepted by :func:`sample_image`, and their files in scikit-image."""


def sample_image(name, target_size=None):
    """Load a real photograph that ships inside scikit-image.

    Args:
        name: one of ``SAMPLE_IMAGES`` (``"chelsea"`` is a cat).
        target_size: ``(height, width)`` to resize to, or None for the
            original size.

    Returns:
        float32 array of shape ``(1, height, width, 3)``, values in 0..255,
        with the batch axis the models expect.

    Raises:
        ValueError: for an unknown name.
    """
    import keras
    import skimage.data

    if name not in SAMPLE_IMAGES:
        raise ValueError(
            f"unknown sample image {name!r}; choose one of {sorted(SAMPLE_IMAGES)}"
        )
    path = pathlib.Path(skimage.data.data_dir) / SAMPLE_IMAGES[name]
    image = keras.utils.load_img(path, color_mode="rgb", target_size=target_size)
    return keras.utils.img_to_array(image, dtype="float32")[None]
