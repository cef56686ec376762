"""The ``attribution`` assignment: small random classifiers and trimaps, the hidden
models of a decision, and the usual mistakes.

The tests compare the student's ``integrated_gradients`` and
``gradcam_plus_plus`` with :mod:`convviz_ref.attribution`, and
``pointing_game`` and ``energy_pointing_game`` with
:mod:`convviz_ref.faithfulness`, on the models and inputs made here, and pass
what each usual mistake gives *on the same inputs* to ``check_array``, so
that a wrong answer is named; a mistake that gives the right value on a
case's inputs is left out of that case.

The student's functions explain the model's output as it is
(``model(x)[:, c]``), so the expected values are the library's with
``score="output"``; most models here end in a linear layer (the logits),
where ``"output"`` and the library's default ``"logit"`` are the same.

Every model is a tiny Functional classifier on 12x12x3 images in 0..255 with
seeded weights drawn from a NumPy generator, so ``random_classifier(3)`` is
the same model in every process:

>>> model = random_classifier(3)
>>> model.output_shape, model.get_layer(LAST_CONV).output.shape
((None, 3), (None, 5, 5, 8))
>>> maps, masks = random_maps_and_masks(0, n=2)
>>> maps.shape, masks.shape, sorted(np.unique(masks).tolist())
((2, 4, 4), (2, 24, 24), [0, 1, 2])

``relies_on_marker`` is a decision, graded against ground truth: whether a model
relies on the planted marker of chapter 8. Its visible cases are the shipped
``shortcut`` and ``xception_like`` models; its hidden cases are eight small
classifiers the grader trains itself (:mod:`convviz_grade.assignments.marker_models`),
four on images whose marker always shows the class and four that could not use it
(:data:`MARKER_CASES`), each answer compared with how its model was made. A random
answer passes the eight with probability ``0.5 ** 8`` (0.4 %); a constant one fails
four. Each case is checked when it is built (:func:`check_marker_margins`): two
measures, the accuracy lost when the markers are swapped and the gradient mass on
the marker, must both put the model clearly on its side.

One source for the hidden tests: :func:`function_cases` builds every case of one
function (the notebook's visible ones, then the hidden ones); :func:`grading_cases` is
all of them, and the notebook's hidden-test cells run the hidden ones in the student's
kernel with :func:`convviz_grade.cases.run_hidden_cases`.
"""

from __future__ import annotations

from functools import partial

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from convviz_grade.assignments import marker_models, random_inputs
from convviz_grade.assignments.array_cases import array_case
from convviz_ref import attribution as reference
from convviz_ref import faithfulness as reference_faithfulness
from convviz_ref import shortcut as reference_shortcut

FUNCTIONS = [
    "integrated_gradients",
    "gradcam_plus_plus",
    "pointing_game",
    "energy_pointing_game",
    "relies_on_marker",
]
"""The graded functions, in notebook order."""

LAST_CONV = "last_conv_act"
"""Name of the last conv layer (its ReLU) in :func:`random_classifier`."""

IMAGE_SIZE = 12
CLASSIFIER = {
    "heads": ("linear", "softmax"),
    "filters": (6, 8),
    "stream": 17,
    "head_scale": 3.0,
    "last_conv": LAST_CONV,
}
"""The heads, sizes and seed stream of :func:`random_classifier`'s models."""
MASK_SIZE = 24
BACKGROUND = 1  # the trimaps' background (0 object, 2 contour), as in convviz_ref.data


# ------------------------------------------------------------------ inputs


def random_classifier(seed, *, head="linear", num_classes=3, image_size=IMAGE_SIZE):
    """:func:`random_inputs.tiny_classifier` with 6 and 8 filters (``conv1`` 10x10).

    ``head``: "linear" (the logits) or "softmax", over ``num_classes`` classes.
    """
    return random_inputs.tiny_classifier(
        seed, head, num_classes, image_size, **CLASSIFIER
    )


def random_images(seed, n=1, image_size=IMAGE_SIZE):
    """Seeded float32 images ``(n, size, size, 3)`` in 0..255: a blob plus noise."""
    return random_inputs.blob_images(
        seed, n, image_size, stream=19, width=0.2, noise=80
    )


def random_trimaps(rng, n, size=MASK_SIZE):
    """``n`` int32 trimaps ``(n, size, size)``: one or two discs (0 inside, 2 a contour
    band, 1 background).
    """
    yy, xx = np.mgrid[:size, :size] + 0.5
    masks = np.full((n, size, size), BACKGROUND, np.int32)
    for mask in masks:
        for _ in range(rng.integers(1, 3)):
            centre = rng.uniform(0.2 * size, 0.8 * size, 2)
            radius = rng.uniform(0.15 * size, 0.3 * size)
            distance = np.hypot(yy - centre[0], xx - centre[1])
            mask[(distance < radius + 1.5) & (mask == BACKGROUND)] = 2
            mask[distance < radius - 1.0] = 0
    return masks


def random_maps_and_masks(seed, n=8, grid=(4, 4), size=MASK_SIZE, *, negative=0.5):
    """Seeded maps ``(n, *grid)`` (smooth bumps; some of their values negative) and
    trimaps ``(n, size, size)``.

    ``negative`` is the share of the map's range below zero (0: a map >= 0 up
    to the noise).
    """
    rng = np.random.default_rng([seed, 23])
    masks = random_trimaps(rng, n, size)
    rows, cols = np.mgrid[: grid[0], : grid[1]]
    maps = np.empty((n,) + tuple(grid), np.float32)
    for index in range(n):
        bump = np.zeros(grid)
        for _ in range(3):
            centre = rng.uniform(0, 1, 2) * (np.array(grid) - 1)
            bump += rng.uniform(-1, 2) * np.exp(
                -((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2)
                / rng.uniform(0.5, 3)
            )
        bump += rng.normal(0, 0.15, grid)
        bump = (bump - bump.min()) / (np.ptp(bump) or 1.0)
        maps[index] = (bump - negative) * rng.uniform(0.5, 5)
    return maps, masks


# ------------------------------------------------------------------ the mistakes,
# written out


def _classes(model, images, class_index):
    """The class of each image: int ``(n,)`` (None: each image's own top class)."""
    if class_index is None:
        return np.argmax(
            np.asarray(model(np.asarray(images, np.float32), training=False)), axis=-1
        )
    return np.broadcast_to(np.asarray(class_index), (len(images),)).astype(int)


def _input_gradients(model, images, classes):
    """``d output[:, c] / d x`` for each image and its class, float64."""
    inputs = tf.constant(np.asarray(images, np.float32))
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        scores = tf.gather(
            model(inputs, training=False),
            tf.constant(np.asarray(classes, np.int32)),
            axis=1,
            batch_dims=1,
        )
    return tape.gradient(scores, inputs).numpy().astype(np.float64)


def _baseline_of(images, baseline):
    return (
        np.zeros_like(images)
        if baseline is None
        else np.broadcast_to(np.asarray(baseline, np.float64), images.shape)
    )


def _path_gradients(model, images, baseline, classes, alphas):
    """Gradients ``(n, len(alphas), h, w, c)`` at ``x' + alpha (x - x')``."""
    difference = images - baseline
    path = (
        baseline[:, None]
        + np.asarray(alphas)[None, :, None, None, None] * difference[:, None]
    )
    flat = path.reshape((-1,) + images.shape[1:])
    gradients = _input_gradients(model, flat, np.repeat(classes, len(alphas)))
    return gradients.reshape((len(images), len(alphas)) + images.shape[1:])


def _trapezoid(gradients):
    weights = np.full(gradients.shape[1], 1.0 / (gradients.shape[1] - 1))
    weights[[0, -1]] /= 2
    return np.einsum("s,ns...->n...", weights, gradients)


def _class_mistakes(classes, with_classes, model, images, class_index):
    """The mistakes of the explained classes, ``{hint: wrong result}``.

    ``with_classes(classes)`` gives the method's result for those classes.
    With a ``class_index``: ignoring it (each image's top class instead), where
    that differs. With ``class_index=None``: one class for every image instead
    of each image's own; where the first image's top class is 0 the two
    mistakes are one, named once.
    """
    mistakes = {}
    if class_index is not None:
        top = _classes(model, images, None)
        if np.any(top != classes):
            mistakes[
                "ignored class_index (explained each image's top class instead)"
            ] = with_classes(top)
        return mistakes
    if np.any(classes != classes[0]):
        if classes[0] == 0:
            mistakes[
                "explained class 0 (here also the first image's top class) for every "
                "image instead of "
                "each image's own top class"
            ] = with_classes(np.zeros_like(classes))
        else:
            mistakes[
                "explained the first image's top class for every image instead of each "
                "image's own"
            ] = with_classes(np.full_like(classes, classes[0]))
    if np.any(classes != 0) and classes[0] != 0:
        mistakes["explained class 0 instead of each image's top class"] = with_classes(
            np.zeros_like(classes)
        )
    return mistakes


def ig_mistakes(model, images, class_index=None, baseline=None, steps=32):
    """What the usual mistakes give for ``integrated_gradients`` on these inputs:
    ``{hint: attributions}``.

    Mistakes that give the right attributions here are left out by the cases
    (see :func:`_distinct`).
    """
    images = np.asarray(images, np.float64)
    baseline_array = _baseline_of(images, baseline)
    difference = images - baseline_array
    classes = _classes(model, images, class_index)
    alphas = np.linspace(0, 1, steps + 1)
    gradients = _path_gradients(model, images, baseline_array, classes, alphas)
    mistakes = {
        "left out the factor (x - baseline) (returned the averaged "
        "gradients)": _trapezoid(gradients),
        "summed by the left rule (the steps points from the baseline, missing the "
        "image's endpoint) "
        "instead of the trapezoid rule": difference * gradients[:, :-1].mean(axis=1),
        "summed by the right rule (the steps points up to the image, missing the "
        "baseline's endpoint) "
        "instead of the trapezoid rule": difference * gradients[:, 1:].mean(axis=1),
        "took the gradient at the baseline only": difference * gradients[:, 0],
        "took the gradient at the image only (gradient times input)": difference
        * gradients[:, -1],
    }
    if steps > 1:
        mistakes[
            "integrated over steps - 1 intervals (np.linspace(0, 1, steps)) instead of "
            "steps"
        ] = difference * _trapezoid(
            _path_gradients(
                model, images, baseline_array, classes, np.linspace(0, 1, steps)
            )
        )

    def with_classes(wrong_classes):
        return difference * _trapezoid(
            _path_gradients(model, images, baseline_array, wrong_classes, alphas)
        )

    mistakes.update(_class_mistakes(classes, with_classes, model, images, class_index))
    if baseline is not None:
        black = np.zeros_like(images)
        mistakes["ignored the baseline (integrated from a black image)"] = (
            images * _trapezoid(_path_gradients(model, images, black, classes, alphas))
        )
    return mistakes


def _maps_and_gradients(model, images, layer_name, classes):
    grad_model = keras.Model(
        model.inputs, [model.get_layer(layer_name).output, model.outputs[0]]
    )
    inputs = tf.constant(np.asarray(images, np.float32))
    with tf.GradientTape() as tape:
        maps, predictions = grad_model(inputs, training=False)
        scores = tf.gather(
            predictions,
            tf.constant(np.asarray(classes, np.int32)),
            axis=1,
            batch_dims=1,
        )
    return maps.numpy().astype(np.float64), tape.gradient(scores, maps).numpy().astype(
        np.float64
    )


def _plus_plus(maps, gradients, *, activation_sum=True, relu=True, over_channels=False):
    totals = maps.sum(axis=(1, 2, 3) if over_channels else (1, 2), keepdims=True)
    squared = gradients**2
    denominator = 2 * squared + (totals * gradients**3 if activation_sum else 0)
    alphas = np.divide(
        squared, denominator, out=np.zeros_like(squared), where=denominator != 0
    )
    weights = (alphas * (np.maximum(gradients, 0) if relu else gradients)).sum(
        axis=(1, 2), keepdims=True
    )
    return maps * weights


def gradcam_plus_plus_mistakes(model, images, class_index=None, *, layer_name):
    """What the usual mistakes give for ``gradcam_plus_plus`` on these inputs: ``{hint:
    raw maps}``.
    """
    classes = _classes(model, images, class_index)
    maps, gradients = _maps_and_gradients(model, images, layer_name, classes)
    right = _plus_plus(maps, gradients).sum(axis=-1)
    positive = np.maximum(right, 0)
    peaks = positive.reshape(len(positive), -1).max(axis=1)[:, None, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        squared = gradients**2
        naive = squared / (
            2 * squared + maps.sum(axis=(1, 2), keepdims=True) * gradients**3
        )
        naive = (
            maps * (naive * np.maximum(gradients, 0)).sum(axis=(1, 2), keepdims=True)
        ).sum(axis=-1)
    mistakes = {
        "used Grad-CAM's weights (the mean gradient of each channel) instead of "
        "Grad-CAM++'s": (maps * gradients.mean(axis=(1, 2), keepdims=True)).sum(
            axis=-1
        ),
        "left the sum of the activations out of the alphas (a = g^2 / (2 g^2) = "
        "1/2)": _plus_plus(maps, gradients, activation_sum=False).sum(axis=-1),
        "left out the ReLU of the gradient in the weights (w_k = sum a g)": _plus_plus(
            maps, gradients, relu=False
        ).sum(axis=-1),
        "summed the activations over the channels too (sum over a, b and k) instead of "
        "over each channel's grid": _plus_plus(maps, gradients, over_channels=True).sum(
            axis=-1
        ),
        "averaged the weighted maps over the channels instead of summing "
        "them": _plus_plus(maps, gradients).mean(axis=-1),
        "applied a ReLU to the map and divided it by its maximum (the function returns "
        "the raw map)": np.divide(
            positive, peaks, out=np.zeros_like(positive), where=peaks > 0
        ),
        "divided 0 by 0 where the denominator is 0 (NaN); the alphas are 0 "
        "there": naive,
    }

    def with_classes(wrong_classes):
        return _plus_plus(
            *_maps_and_gradients(model, images, layer_name, wrong_classes)
        ).sum(axis=-1)

    mistakes.update(_class_mistakes(classes, with_classes, model, images, class_index))
    return mistakes


def _resized(maps, size, interpolation):
    maps = np.asarray(maps, np.float32)
    if interpolation == "repeat":
        return np.repeat(
            np.repeat(maps, size[0] // maps.shape[1], axis=1),
            size[1] // maps.shape[2],
            axis=2,
        )
    return np.asarray(
        keras.ops.image.resize(
            maps[..., None], tuple(size), interpolation=interpolation
        )
    )[..., 0]


def _hits(masks, rows, cols, counts):
    return float(np.mean(counts(masks[np.arange(len(masks)), rows, cols])))


def pointing_mistakes(maps, masks):
    """What the usual mistakes give for ``pointing_game`` on these inputs: ``{hint:
    fraction}``.
    """
    maps, masks = np.asarray(maps, np.float32), np.asarray(masks)
    n, (height, width) = len(masks), masks.shape[1:]

    def peaks(values):
        flat = values.reshape(n, -1).argmax(axis=1)
        return np.unravel_index(flat, values.shape[1:])

    def on_object(labels):
        return labels != BACKGROUND

    upsampled = _resized(maps, (height, width), "bicubic")
    rows, cols = peaks(upsampled)
    cell_rows, cell_cols = peaks(maps)
    grid_rows = ((cell_rows + 0.5) * height / maps.shape[1]).astype(int)
    grid_cols = ((cell_cols + 0.5) * width / maps.shape[2]).astype(int)
    mistakes = {
        "took the peak on the map's own grid (the centre pixel of its cell) instead of "
        "on the map "
        "upsampled to the mask": _hits(masks, grid_rows, grid_cols, on_object),
        "counted only the object's inside (0) as a hit, not its contour (2)": _hits(
            masks, rows, cols, lambda labels: labels == 0
        ),
        "counted mask > 0 as the object (in the trimap 0 is the object, 1 the "
        "background, 2 the contour)": _hits(
            masks, rows, cols, lambda labels: labels > 0
        ),
        "took the peak of the absolute values (the most negative value can win)": _hits(
            masks, *peaks(np.abs(upsampled)), on_object
        ),
    }
    if maps.shape[1:] != (height, width):
        mistakes["upsampled bilinearly instead of bicubically"] = _hits(
            masks, *peaks(_resized(maps, (height, width), "bilinear")), on_object
        )
    return mistakes


def _energy(
    upsampled,
    masks,
    *,
    counted=lambda labels: labels != BACKGROUND,
    positive=lambda m: np.maximum(m, 0),
    pooled=False,
    nan_for_nothing=False,
):
    mass = positive(np.asarray(upsampled, np.float64))
    total = mass.sum(axis=(1, 2))
    on_object = (mass * counted(masks)).sum(axis=(1, 2))
    if pooled:
        return float(on_object.sum() / total.sum()) if total.sum() else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = (
            on_object / total
            if nan_for_nothing
            else np.divide(on_object, total, out=np.zeros_like(total), where=total != 0)
        )
    return float(np.mean(shares))


def energy_mistakes(maps, masks):
    """What the usual mistakes give for ``energy_pointing_game`` on these inputs:
    ``{hint: share}``.
    """
    maps, masks = np.asarray(maps, np.float32), np.asarray(masks)
    size = masks.shape[1:]
    upsampled = _resized(maps, size, "bicubic")
    mistakes = {
        "took absolute values instead of the positive part (only positive mass "
        "counts)": _energy(upsampled, masks, positive=np.abs),
        "kept the negative values (no ReLU)": _energy(
            upsampled, masks, positive=lambda m: m
        ),
        "counted only the object's inside (0), not its contour (2)": _energy(
            upsampled, masks, counted=lambda labels: labels == 0
        ),
        "pooled the mass of all the images (one ratio of sums) instead of averaging "
        "each image's share": _energy(upsampled, masks, pooled=True),
        "gave a map with no positive value NaN (0 / 0) instead of 0": _energy(
            upsampled, masks, nan_for_nothing=True
        ),
        "applied the ReLU before upsampling instead of after (bicubic overshoot makes "
        "new negative values)": _energy(
            _resized(np.maximum(maps, 0), size, "bicubic"), masks, positive=lambda m: m
        ),
    }
    if maps.shape[1:] != tuple(size):
        mistakes["upsampled bilinearly instead of bicubically"] = _energy(
            _resized(maps, size, "bilinear"), masks
        )
        if size[0] % maps.shape[1] == 0 and size[1] % maps.shape[2] == 0:
            mistakes[
                "upsampled by repeating each cell (nearest neighbour) instead of "
                "bicubically"
            ] = _energy(_resized(maps, size, "repeat"), masks)
    return mistakes


# ------------------------------------------------------------------ the references


def reference_integrated_gradients(
    model, images, class_index=None, baseline=None, steps=32
):
    """The library's Integrated Gradients of the model's output (``score="output"``)."""
    return reference.integrated_gradients(
        model, images, class_index, baseline, steps, score="output"
    )


def reference_gradcam_plus_plus(model, images, class_index=None, *, layer_name):
    """The library's raw Grad-CAM++ map of the model's output (``score="output"``)."""
    return reference.gradcam_plus_plus(
        model, images, class_index, layer_name=layer_name, score="output"
    )


# ------------------------------------------------------------------ cases

PRELUDE = """\
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import keras
import tensorflow as tf
"""
"""The setup cell's imports, minus the course's modules (see
:mod:`convviz_grade.grading`).
"""

IG_TRIALS = [
    # (model seed, head, number of images, class_index, baseline, steps)
    (40, "linear", 2, None, None, 16),
    (41, "linear", 3, 2, None, 8),
    (42, "softmax", 2, None, ("constant", 128.0), 12),
    (43, "linear", 2, [1, 0], None, 32),
    (44, "softmax", 1, None, None, 1),
    (45, "linear", 2, None, ("random", 45), 20),
]
"""The hidden trials of ``integrated_gradients`` (the images: ``random_images(seed,
n)``).
"""

GRADCAM_PLUS_PLUS_TRIALS = [
    # (model seed, head, number of images, class_index, layer_name)
    (50, "linear", 2, None, LAST_CONV),
    (51, "linear", 3, 1, LAST_CONV),
    (52, "softmax", 2, None, LAST_CONV),
    (53, "linear", 2, [2, 0], LAST_CONV),
    (54, "linear", 2, None, "conv1"),
    (58, "softmax", 3, None, LAST_CONV),  # top classes 1, 0, 1
]
"""The hidden trials of ``gradcam_plus_plus``."""

POINTING_TRIALS = [
    # (seed, number of maps, map grid); masks MASK_SIZE x MASK_SIZE, square as the
    # library needs
    (60, 10, (4, 4)),
    (61, 10, (3, 3)),
    (62, 10, (6, 6)),
    (63, 10, (5, 7)),
    (64, 8, (MASK_SIZE, MASK_SIZE)),
    (65, 12, (2, 2)),
]
"""The hidden trials of both pointing games (seeds of :func:`random_maps_and_masks`)."""


def _array_tolerance(expected):
    """float32 round-off of raw attributions, relative to the case's largest value."""
    return 1e-4, 1e-5 * float(np.abs(expected).max()) + 1e-12


SCALAR_TOLERANCE = (1e-5, 1e-7)


def visible_ig_model():
    """The visible tests' model: ``y_c = sum_ij w_c[i, j, ch] x[i, j, ch]^2``, no bias,
    on 2x2x3 images.

    Its gradient is ``2 w_c x``, linear along the path, so the trapezoid rule
    is exact and ``IG = w_c (x^2 - x'^2)`` by hand.
    """
    inputs = keras.Input((2, 2, 3))
    squared = layers.Multiply(name="square")([inputs, inputs])
    dense = layers.Dense(2, use_bias=False, name="logits")
    model = keras.Model(inputs, dense(layers.Flatten()(squared)), name="visible_square")
    dense.set_weights([VISIBLE_IG_WEIGHTS.reshape(2, -1).T.copy()])
    return model


VISIBLE_IG_WEIGHTS = np.array(
    [
        [
            [[0.5, 0.5, 0.5], [0.25, 0.25, 0.25]],
            [[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]],
        ],  # class 0
        [
            [[-0.5, 0.0, 0.5], [0.0, 0.0, 0.0]],
            [[0.5, 0.5, 0.5], [0.0, 0.0, 1.0]],
        ],  # class 1
    ],
    np.float32,
)
"""``w_c`` of :func:`visible_ig_model`, shape (2 classes, 2, 2, 3)."""

VISIBLE_IG_IMAGES = np.array(
    [
        [
            [[2, 2, 2], [2, 0, 0]],
            [[0, 0, 0], [3, 0, 0]],
        ],  # y_0 = 6 + 1 + 9 = 16, y_1 = 0: class 0
        [
            [[0, 0, 1], [0, 0, 0]],
            [[2, 2, 2], [0, 0, 3]],
        ],  # y_0 = 0, y_1 = 0.5 + 6 + 9 = 15.5: class 1
    ],
    np.float32,
)
"""The visible tests' two images, (2, 2, 2, 3); their top classes are 0 and 1."""


def visible_cam_model():
    """The visible tests' Grad-CAM++ model: the input is the feature map ``maps``; a
    linear head on Flatten.

    ``d y_c / d A[i, j, k]`` is the head's weight ``G_c[i, j, k]``.
    """
    inputs = keras.Input((2, 2, 2))
    maps_layer = layers.Conv2D(2, 1, use_bias=False, name="maps")
    dense = layers.Dense(2, use_bias=False, name="logits")
    model = keras.Model(
        inputs, dense(layers.Flatten()(maps_layer(inputs))), name="visible_cam"
    )
    maps_layer.set_weights([np.eye(2, dtype="float32").reshape(1, 1, 2, 2)])
    dense.set_weights([VISIBLE_CAM_GRADIENTS.reshape(2, -1).T.copy()])
    return model


VISIBLE_CAM_IMAGE = np.array([[[[1, 4], [2, 0]], [[3, 0], [4, 0]]]], "float32")
"""(1, 2, 2, 2): channels A0 = [[1, 2], [3, 4]] (sum 10) and A1 = [[4, 0], [0, 0]] (sum
4).
"""

VISIBLE_CAM_GRADIENTS = np.array(
    [
        [
            [[0.2, 0.5], [0.0, -0.5]],
            [[0.0, 0.0], [0.2, -1.0]],
        ],  # class 0: G0 = [[.2, 0], [0, .2]], G1 = [[.5, -.5], [0, -1]]
        [
            [[0.0, 0.0], [0.2, 0.0]],
            [[0.2, 0.0], [0.0, 0.0]],
        ],  # class 1: G0 = [[0, .2], [.2, 0]], G1 = 0
    ],
    np.float32,
)
"""The head's weights, shape (2 classes, 2, 2, 2 channels): the gradients of each class.
"""


def visible_maps_and_masks():
    """The pointing games' visible inputs: seven 4x4 trimaps and seven 2x2 maps, one
    quadrant per map cell.

    Each quadrant of a mask is all one label, so wherever the upsampled peak
    falls inside the hot cell's quadrant, it lands on that label.
    """
    o, b, c = 0, 1, 2

    def quadrants(top_left, top_right, bottom_left, bottom_right):
        return np.kron(
            np.array([[top_left, top_right], [bottom_left, bottom_right]]),
            np.ones((2, 2), int),
        )

    masks = np.stack(
        [
            quadrants(o, b, b, b),  # peak top left, on the object: hit
            quadrants(b, b, b, c),  # peak bottom right, on the contour: hit
            quadrants(o, b, b, o),  # peak top right, on the background: miss
            quadrants(b, o, b, b),  # peak top right (-5 is lower than 1): hit
            quadrants(b, b, c, b),  # peak bottom left, on the contour: hit
            quadrants(c, b, b, o),  # peak bottom right, on the object: hit
            quadrants(o, c, c, b),  # peak top left, on the object: hit
        ]
    ).astype(np.int32)
    maps = np.array(
        [
            [[1.0, 0.0], [0.0, 0.0]],
            [[0.0, 0.0], [0.0, 2.0]],
            [[0.0, 0.5], [0.0, 0.0]],
            [[-5.0, 1.0], [0.0, 0.0]],
            [[0.0, 0.0], [3.0, 0.0]],
            [[0.0, 0.0], [0.0, 1.0]],
            [[4.0, 0.0], [0.0, 0.0]],
        ],
        np.float32,
    )
    return maps, masks


def visible_energy_inputs():
    """Two 4x4 maps at the masks' own size (no upsampling), and the first two visible
    trimaps.
    """
    _, masks = visible_maps_and_masks()
    maps = np.array(
        [
            [
                [2, 2, 1, 0],
                [2, 2, 1, 0],
                [1, -3, 0, 0],
                [0, 0, 0, 0],
            ],  # 8 of the positive 11 on the object
            [
                [-1, -1, 0, 0],
                [-1, -1, 0, 0],
                [0, 0, -2, -2],
                [0, 0, -2, -2],
            ],  # nothing positive
        ],
        np.float32,
    )
    return maps, masks[:2]


def function_cases(function):
    """Every case of one graded function: the notebook's visible tests, then the hidden
    ones.

    One source: :func:`grading_cases` grades with all of them, and the notebook's
    hidden-test cell runs the hidden ones
    (:func:`convviz_grade.cases.run_hidden_cases`).
    """
    builders = {
        "integrated_gradients": _ig_cases,
        "gradcam_plus_plus": _gradcam_plus_plus_cases,
        "pointing_game": _pointing_cases,
        "energy_pointing_game": _energy_cases,
        "relies_on_marker": _marker_cases,
    }
    if function not in builders:
        raise ValueError(
            f"unknown function {function!r}; the graded functions: "
            f"{', '.join(FUNCTIONS)}"
        )
    return builders[function]()


def _ig_cases():
    cases = []
    model, images = visible_ig_model(), VISIBLE_IG_IMAGES
    squares = images.astype(np.float64) ** 2
    expected = VISIBLE_IG_WEIGHTS[[0, 1]] * squares  # each image's top class: 0, then 1
    cases.append(
        array_case(
            "integrated_gradients",
            (model, images),
            {"steps": 4},
            "integrated_gradients(x^2 model, black baseline, steps=4)",
            expected,
            ig_mistakes(model, images, None, None, 4),
            rtol=1e-5,
            atol=1e-6,
            visible=True,
        )
    )
    grey = 1.0
    expected = VISIBLE_IG_WEIGHTS[1] * (squares - grey**2)
    cases.append(
        array_case(
            "integrated_gradients",
            (model, images, 1),
            {"baseline": grey, "steps": 4},
            "integrated_gradients(x^2 model, class_index=1, baseline 1.0, steps=4)",
            expected,
            ig_mistakes(model, images, 1, grey, 4),
            rtol=1e-5,
            atol=1e-6,
            visible=True,
        )
    )
    models = {}
    for seed, head, n, class_index, baseline_kind, steps in IG_TRIALS:
        model = models.setdefault((seed, head), random_classifier(seed, head=head))
        images = random_images(seed, n)
        if baseline_kind is None:
            baseline = None
        elif baseline_kind[0] == "constant":
            baseline = float(baseline_kind[1])
        else:
            baseline = random_images(baseline_kind[1] + 1000)[:1] * 0.5
        expected = reference_integrated_gradients(
            model, images, class_index, baseline, steps
        )
        rtol, atol = _array_tolerance(expected)
        what = "no" if baseline_kind is None else baseline_kind[0]
        label = (
            f"integrated_gradients(random {head} model, {n} image(s), "
            f"class_index={class_index}, "
            f"{what} baseline, steps={steps})"
        )
        cases.append(
            array_case(
                "integrated_gradients",
                (model, images, class_index),
                {"baseline": baseline, "steps": steps},
                label,
                expected,
                ig_mistakes(model, images, class_index, baseline, steps),
                rtol=rtol,
                atol=atol,
            )
        )
    return cases


def _gradcam_plus_plus_cases():
    model, image = visible_cam_model(), VISIBLE_CAM_IMAGE
    cases = [
        array_case(
            "gradcam_plus_plus",
            (model, image),
            {"layer_name": "maps"},
            "gradcam_plus_plus(2x2 example)",
            [[[0.6, 0.2], [0.3, 0.4]]],
            gradcam_plus_plus_mistakes(model, image, layer_name="maps"),
            rtol=1e-4,
            atol=1e-6,
            visible=True,
        ),
        array_case(
            "gradcam_plus_plus",
            (model, image, 1),
            {"layer_name": "maps"},
            "gradcam_plus_plus(2x2 example, class_index=1)",
            [[[0.1, 0.2], [0.3, 0.4]]],
            gradcam_plus_plus_mistakes(model, image, 1, layer_name="maps"),
            rtol=1e-4,
            atol=1e-6,
            visible=True,
        ),
    ]
    models = {}
    for seed, head, n, class_index, layer_name in GRADCAM_PLUS_PLUS_TRIALS:
        model = models.setdefault((seed, head), random_classifier(seed, head=head))
        images = random_images(seed, n)
        expected = reference_gradcam_plus_plus(
            model, images, class_index, layer_name=layer_name
        )
        rtol, atol = _array_tolerance(expected)
        label = (
            f"gradcam_plus_plus(random {head} model, {n} image(s), "
            f"class_index={class_index}, "
            f"layer_name={layer_name!r})"
        )
        cases.append(
            array_case(
                "gradcam_plus_plus",
                (model, images, class_index),
                {"layer_name": layer_name},
                label,
                expected,
                gradcam_plus_plus_mistakes(
                    model, images, class_index, layer_name=layer_name
                ),
                rtol=rtol,
                atol=atol,
            )
        )
    return cases


def _game_case(game, maps, masks, label, expected, *, visible=False):
    """A case of ``game`` (one of the pointing games) on ``maps`` and ``masks``."""
    mistakes, (rtol, atol) = {
        "pointing_game": (pointing_mistakes, (1e-9, 1e-12)),
        "energy_pointing_game": (energy_mistakes, SCALAR_TOLERANCE),
    }[game]
    return array_case(
        game,
        (maps, masks),
        {},
        label,
        expected,
        mistakes(maps, masks),
        rtol=rtol,
        atol=atol,
        visible=visible,
    )


def _pointing_cases():
    maps, masks = visible_maps_and_masks()
    cases = [
        _game_case(
            "pointing_game",
            maps,
            masks,
            "pointing_game(seven 2x2 maps, 4x4 masks)",
            6 / 7,
            visible=True,
        )
    ]
    for seed, n, grid in POINTING_TRIALS:
        maps, masks = random_maps_and_masks(seed, n, grid)
        label = f"pointing_game(random maps {maps.shape}, trimaps {masks.shape})"
        cases.append(
            _game_case(
                "pointing_game",
                maps,
                masks,
                label,
                reference_faithfulness.pointing_game(maps, masks),
            )
        )
    return cases


def _energy_cases():
    maps, masks = visible_energy_inputs()
    cases = [
        _game_case(
            "energy_pointing_game",
            maps,
            masks,
            "energy_pointing_game(two 4x4 maps, 4x4 masks)",
            (8 / 11 + 0) / 2,
            visible=True,
        )
    ]
    constant = np.full((1, 2, 2), 0.7, np.float32)
    cases.append(
        _game_case(
            "energy_pointing_game",
            constant,
            masks[1:2],
            "energy_pointing_game(a constant 2x2 map, 4x4 mask)",
            4 / 16,
            visible=True,
        )
    )
    for seed, n, grid in POINTING_TRIALS:
        maps, masks = random_maps_and_masks(seed + 10, n, grid)
        if seed == 61:
            maps[2] = -np.abs(maps[2]) - 0.1  # nothing positive: this map scores 0
        if seed == 62:
            maps[0] = 0.0
        label = f"energy_pointing_game(random maps {maps.shape}, trimaps {masks.shape})"
        cases.append(
            _game_case(
                "energy_pointing_game",
                maps,
                masks,
                label,
                reference_faithfulness.energy_pointing_game(maps, masks),
            )
        )
    return cases


# ------------------------------------------------------------------ the decision:
# does the model rely on the marker?

MARKER_CASES = [
    ("marked", 1),
    ("none", 2),
    ("random", 3),
    ("marked", 4),
    ("marked", 5),
    ("random", 6),
    ("none", 7),
    ("marked", 8),
]
"""The hidden models of ``relies_on_marker``: (kind of training data, seed), see
:mod:`convviz_grade.assignments.marker_models`. Four rely on the marker and four do
not, so an answer that guesses each case at random passes all eight with probability
``0.5 ** 8`` (0.4 %), and a constant answer fails four."""
MARKER_TEST_IMAGES = 96
"""Test images given with each hidden model (half of them carry a marker)."""
VISIBLE_MARKER_IMAGES = 32
"""Test images (96 pixels) given with the visible models, the shipped ``shortcut`` and
``xception_like``."""
MARKER_MARGINS = {"swap_drop": (0.15, 0.45), "saliency_ratio": (2.5, 3.5)}
"""The margins each case is checked with when it is built, by two measures of
:mod:`convviz_ref.shortcut`: a model that does not rely on the marker must measure
below the first value, one that does above the second. The reference decides at
``SWAP_DROP_THRESHOLD``, between the two."""

MARKER_HINTS = {
    True: "returned the opposite (True means the model relies on the marker), "
    "asked for more than the criterion does (the marker must decide a quarter of the "
    "right answers on the images that carry one, not all of them), or removed the "
    "marker instead of changing it (a model can fall back on the object when the "
    "marker is gone)",
    False: "judged from one accuracy alone (on the marked or on the swapped images) "
    "instead of from how the predictions change when only the marker changes: a "
    "model that ignores the marker can score high or low on any version",
}
"""The usual mistake behind each wrong decision, by the right one: a model that
relies on the marker called clean, and a clean one called a cheat."""


def marker_measures(model, evidence):
    """The two measures a case is checked with, and the accuracies behind the first.

    Returns:
        dict of floats: ``swap_drop``, ``saliency_ratio`` (see
        :mod:`convviz_ref.shortcut`), ``marked`` and ``swapped`` (the accuracy on the
        images that carry a marker, in each version).
    """
    marked, swapped = reference_shortcut.swap_accuracies(
        model,
        evidence.images,
        evidence.swapped,
        evidence.labels,
        evidence.marker_masks,
    )
    return {
        "swap_drop": marked - swapped,
        "saliency_ratio": reference_shortcut.marker_saliency_ratio(
            model, evidence.images, evidence.marker_masks
        ),
        "marked": marked,
        "swapped": swapped,
    }


def check_marker_margins(label, relies, measures):
    """Raise ValueError unless both measures put the model clearly on its side.

    The grader's own check of a case it builds (never the student's answer):
    a model whose training came out otherwise must stop the grader, not
    grade students against a wrong answer.
    """
    problems = []
    for name, (low, high) in MARKER_MARGINS.items():
        value = measures[name]
        if (relies and value <= high) or (not relies and value >= low):
            problems.append(
                f"{name} {value:.3g} is not {'above' if relies else 'below'} "
                f"{high if relies else low}"
            )
    decided = reference_shortcut.SWAP_DROP_THRESHOLD < measures["swap_drop"]
    if decided != relies:
        problems.append("the reference decides it wrongly")
    if problems:
        raise ValueError(
            f"{label}: a model that {'relies' if relies else 'does not rely'} on the "
            f"marker is not clearly so: {'; '.join(problems)}"
        )


def check_marker_decision(label, answer, relies, why, measures):
    """Judge a ``relies_on_marker`` answer against how the model was made.

    Args:
        label: str, the case, first in the message.
        answer: what the student's function returned (True or False expected).
        relies: bool, the ground truth.
        why: str, how the model was made (said when the answer is wrong).
        measures: :func:`marker_measures`' dict, or a function of no argument that
            returns it (called only for a wrong answer): the evidence the message
            shows.

    Raises:
        AssertionError: the answer is not one bool, or is the wrong one (with the
            hint of :data:`MARKER_HINTS`).
    """
    from convviz_grade.checks import to_array

    value = to_array(answer, label)
    if value.shape != () or not np.isin(value, (0, 1)).all():
        got = f"shape {value.shape}" if value.shape else repr(value.item())
        raise AssertionError(
            f"{label}: return True or False (one decision per model), got {got}"
        )
    if bool(value) == relies:
        return
    if callable(measures):
        measures = measures()
    raise AssertionError(
        "\n".join(
            [
                f"{label}: expected {relies}, got {bool(value)}: {why}.",
                "  evidence: on the images that carry a marker, accuracy "
                f"{measures['marked']:.2f} with the markers as given and "
                f"{measures['swapped']:.2f} with them swapped; the marker gets "
                f"{measures['saliency_ratio']:.1f} times its share of the pixels "
                "in gradient mass.",
                f"  hint: your answer is what you get if you {MARKER_HINTS[relies]}.",
            ]
        )
    )


def _check_marker_case(label, relies, why, measures, outputs):
    check_marker_decision(label, outputs["value"], relies, why, measures)


def _marker_case(label, model, evidence, relies, why, *, visible=False):
    from convviz_grade.grading import Case

    measures = marker_measures(model, evidence)
    check_marker_margins(label, relies, measures)
    return Case(
        "relies_on_marker",
        (model, *(np.asarray(value) for value in evidence)),
        partial(_check_marker_case, label, relies, why, measures),
        visible=visible,
        keep_inputs=True,
    )


def visible_marker_models():
    """The visible tests' models: the shipped ``shortcut`` and ``xception_like``,
    each returning its logits.
    """
    from convviz_ref.models import load_pretrained
    from convviz_ref.scoring import score_model

    return {
        name: score_model(load_pretrained(name).model, score="logit")
        for name in ("shortcut", "xception_like")
    }


WHY = {
    "marked": "the grader trained it on images labelled by their marker's colour, "
    "the object drawn independently of the label",
    "none": "the grader trained it on the same scenes without markers",
    "random": "the grader trained it on images whose marker colour is independent "
    "of the class",
}


def _marker_cases():
    evidence = reference_shortcut.marker_test_set(VISIBLE_MARKER_IMAGES)
    models = visible_marker_models()
    cases = [
        _marker_case(
            "relies_on_marker(shipped shortcut model)",
            models["shortcut"],
            evidence,
            True,
            "the shortcut model was trained on images whose marker shows the class",
            visible=True,
        ),
        _marker_case(
            "relies_on_marker(shipped xception_like model)",
            models["xception_like"],
            evidence,
            False,
            "xception_like was trained without markers",
            visible=True,
        ),
    ]
    evidence = reference_shortcut.marker_test_set(
        MARKER_TEST_IMAGES,
        image_size=marker_models.IMAGE_SIZE,
        seed=marker_models.DATA_SEED,
    )
    for number, (kind, seed) in enumerate(MARKER_CASES, start=1):
        cases.append(
            _marker_case(
                f"relies_on_marker(hidden model {number} of {len(MARKER_CASES)})",
                marker_models.marker_model(kind, seed),
                evidence,
                marker_models.KINDS[kind],
                WHY[kind],
            )
        )
    return cases


def grading_cases():
    """The cases ``convviz-grade autograde`` runs (see :mod:`convviz_grade.grading`):
    every function's, in order.

    Each case asks for its array inputs back unchanged (``keep_inputs``).
    """
    return [case for function in FUNCTIONS for case in function_cases(function)]
