"""The ``units`` assignment: random maps and masks, cue-conflict decisions, the
planted hidden units of a decision, and the usual mistakes.

``dissection_iou`` is compared with :func:`convviz_ref.dissection.dissection_iou`
and ``shape_bias`` with :func:`convviz_ref.shape_bias.shape_bias` on the inputs
made here; what each usual mistake gives *on the same inputs* goes to
``check_array``, so that a wrong answer is named (a mistake that gives the right
value on a case's inputs is left out of that case).

>>> maps, masks = random_maps_and_mask(70, 3, (8, 10))
>>> maps.shape, masks.shape, masks.dtype
((3, 8, 10), (3, 8, 10), dtype('bool'))

``unit_concept`` is a decision, graded against ground truth: which concept a
unit detects. Every case is a small model the grader builds without training
(:func:`planted_model`): one unit of its 5x5 convolution ``conv`` is set by hand
to a texture kernel of :data:`convviz_ref.planted.PLANTED_KERNELS` (a dark dot
made for ``"dotted"``, a dark check made for ``"checked"``), the others are
seeded random; the student is asked about that unit after a 2x2 max pooling
(``pool``) or a further 2x2 average pooling (``pool2``), on 32 crossed probe
images of :data:`IMAGE_SIZE` pixels with their concept masks. The hidden cases
are five of each outcome (:data:`UNIT_CASES`); each is checked when it is built
(:func:`check_unit_margin`): the reference must name the planted concept, with
its IoU at least :data:`MARGIN` times the second best. An answer that picks one
of the eleven concepts at random passes the ten with probability
``(1/11) ** 10``; one that picks one of the two textures at random, with
``0.5 ** 10`` (0.1 %); a constant answer fails five.

The dict of masks cannot travel to the grading worker as it is (a case's
arguments are arrays, models and JSON values; its result must be numbers), so
``unit_concept``'s cases are ``probe`` cases (:mod:`convviz_grade.probes.units`):
the probe makes the dict from the names and the stacked masks, and sends back
the index of the name returned.

One source for the hidden tests: :func:`function_cases` builds every case of one
function (the notebook's visible ones, then the hidden ones); :func:`grading_cases`
is all of them.
"""

from __future__ import annotations

from functools import partial

import keras
import numpy as np

from convviz_grade.assignments.array_cases import array_case
from convviz_ref import dissection as reference
from convviz_ref import planted
from convviz_ref import shape_bias as reference_shape_bias

FUNCTIONS = ["dissection_iou", "shape_bias", "unit_concept"]
"""The graded functions, in notebook order."""

PRELUDE = """\
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import keras
import tensorflow as tf
"""
"""The setup cell's imports, minus the course's modules (see
:mod:`convviz_grade.grading`)."""


# ------------------------------------------------------------------ dissection_iou


def random_maps_and_mask(seed, n, size, *, overlap=0.6):
    """Seeded unit maps ``(n, H, W)`` float32 and a bool concept mask ``(n, H, W)``.

    Per image, from ``np.random.default_rng([seed, 71])``: three Gaussian bumps
    plus noise, scaled by a factor drawn log-normally (images differ in
    brightness, so a threshold per image differs from one over the set); the
    mask is a disc near the first bump with probability ``overlap``, elsewhere
    otherwise, plus a smaller disc at random.
    """
    rng = np.random.default_rng([seed, 71])
    height, width = size
    rows, cols = np.mgrid[:height, :width] + 0.5
    maps = np.empty((n, height, width), np.float32)
    masks = np.zeros((n, height, width), bool)
    for index in range(n):
        centres = rng.uniform(0, 1, (3, 2)) * (height, width)
        widths = rng.uniform(0.05, 0.2, 3) * min(height, width)
        bumps = sum(
            rng.uniform(0.5, 1.5)
            * np.exp(-((rows - y) ** 2 + (cols - x) ** 2) / (2 * w**2))
            for (y, x), w in zip(centres, widths, strict=True)
        )
        bumps = bumps + rng.normal(0, 0.05, (height, width))
        maps[index] = bumps * rng.lognormal(0, 0.8)
        near = rng.random() < overlap
        centre = (
            centres[0] + rng.normal(0, 0.05, 2) * (height, width)
            if near
            else rng.uniform(0, 1, 2) * (height, width)
        )
        radius = rng.uniform(0.1, 0.25) * min(height, width)
        masks[index] |= np.hypot(rows - centre[0], cols - centre[1]) < radius
        small = rng.uniform(0, 1, 2) * (height, width)
        masks[index] |= np.hypot(rows - small[0], cols - small[1]) < radius / 2
    return maps, masks


def _iou(unit_mask, mask):
    union = np.count_nonzero(unit_mask | mask)
    return np.count_nonzero(unit_mask & mask) / union if union else 0.0


def iou_mistakes(maps, mask, quantile=reference.QUANTILE):
    """What the usual mistakes give for ``dissection_iou`` on these inputs:
    ``{hint: value}``."""
    maps, mask = np.asarray(maps, np.float32), np.asarray(mask, bool)
    unit_mask = reference.top_mask(maps, quantile)
    per_image = np.stack([reference.top_mask(image, quantile) for image in maps])
    per_image_quantile = (
        maps
        > np.quantile(maps.reshape(len(maps), -1), 1 - quantile, axis=1)[:, None, None]
    )
    intersection = np.count_nonzero(unit_mask & mask)
    union = np.count_nonzero(unit_mask | mask)
    return {
        "divided 0 by 0 where both masks are empty (a unit that never fires, a "
        "concept absent from every image): the IoU is 0 there": (
            intersection / union if union else np.nan
        ),
        "thresholded each image at its own top quantile instead of once over the "
        "whole set": _iou(per_image, mask),
        "thresholded each image at its own np.quantile instead of once over the "
        "whole set": _iou(per_image_quantile, mask),
        "averaged the per-image IoUs instead of dividing the sums over the whole "
        "set": float(
            np.mean([_iou(m, c) for m, c in zip(unit_mask, mask, strict=True)])
        ),
        "kept the bottom quantile (np.quantile(maps, quantile)) instead of the top": (
            _iou(maps > np.quantile(maps, quantile), mask)
        ),
        "divided the intersection by the concept's area (recall) instead of by the "
        "union": intersection / max(1, np.count_nonzero(mask)),
        "divided the intersection by the unit's area (precision) instead of by the "
        "union": intersection / max(1, np.count_nonzero(unit_mask)),
    }


def iou_tolerance(maps, mask, quantile=reference.QUANTILE):
    """``(rtol, atol)``: a pixel and a half of the union, so that a threshold taken
    with ``np.quantile(maps, 1 - quantile)`` (one pixel more or less) passes."""
    union = np.count_nonzero(
        reference.top_mask(np.asarray(maps, np.float32), quantile) | mask
    )
    return 1e-6, 1.5 / max(1, union)


VISIBLE_IOU_MAPS = np.array(
    [
        [[9, 1, 0, 0], [8, 2, 0, 0], [0, 0, 0, 0]],
        [[0, 0, 0, 7], [0, 0, 0, 6], [0, 0, 0, 1]],
    ],
    np.float32,
)
"""The visible example's maps: two 3x4 images; the top 3 of 24 values (quantile
0.125) are 9, 8 and 7."""
VISIBLE_IOU_MASK = np.zeros((2, 3, 4), bool)
VISIBLE_IOU_MASK[0, 0, 0] = VISIBLE_IOU_MASK[0, 0, 1] = VISIBLE_IOU_MASK[0, 1, 1] = True
VISIBLE_IOU_MASK[1, 1, 3] = VISIBLE_IOU_MASK[1, 2, 3] = True
VISIBLE_IOU_QUANTILE = 0.125

IOU_TRIALS = [
    # (seed, images, (H, W), quantile or None for the default)
    (70, 40, (48, 48), None),
    (71, 12, (20, 30), 0.05),
    (72, 25, (32, 32), 0.02),
    (73, 6, (16, 16), 0.1),
    (74, 60, (24, 40), None),
    (75, 30, (40, 28), 0.01),
    (76, 20, (36, 36), 0.03),
    (77, 10, (12, 16), "dead"),
]
"""The hidden trials of ``dissection_iou`` (:func:`random_maps_and_mask`); the
``"dead"`` one is a unit that never fires (all maps 0: no value above ``T``, so
``M`` is empty) scored against a concept absent from every image: IoU 0."""


def _iou_cases():
    cases = [
        array_case(
            "dissection_iou",
            (VISIBLE_IOU_MAPS, VISIBLE_IOU_MASK),
            {"quantile": VISIBLE_IOU_QUANTILE},
            "dissection_iou(two 3x4 maps, quantile=0.125)",
            1 / 7,
            iou_mistakes(VISIBLE_IOU_MAPS, VISIBLE_IOU_MASK, VISIBLE_IOU_QUANTILE),
            rtol=1e-6,
            atol=1e-9,
            visible=True,
            reference=REFERENCES["dissection_iou"],
        )
    ]
    for seed, n, size, quantile in IOU_TRIALS:
        maps, mask = random_maps_and_mask(seed, n, size)
        if quantile == "dead":
            maps, mask, quantile = np.zeros_like(maps), np.zeros_like(mask), None
        kwargs = {} if quantile is None else {"quantile": quantile}
        q = reference.QUANTILE if quantile is None else quantile
        rtol, atol = iou_tolerance(maps, mask, q)
        cases.append(
            array_case(
                "dissection_iou",
                (maps, mask),
                kwargs,
                f"dissection_iou(random maps {maps.shape}, quantile={q})",
                reference.dissection_iou(maps, mask, q),
                iou_mistakes(maps, mask, q),
                rtol=rtol,
                atol=atol,
                visible=False,
                reference=REFERENCES["dissection_iou"],
            )
        )
    return cases


# ------------------------------------------------------------------ shape_bias


def random_decisions(seed, n, *, shares=(0.5, 0.3, 0.2)):
    """Seeded cue-conflict labels and decisions, int ``(n,)`` each.

    ``(decisions, shape_labels, texture_labels)``: every texture label differs
    from its shape label; each decision follows the shape, the texture or
    neither (a third class) with probabilities ``shares``.
    """
    rng = np.random.default_rng([seed, 73])
    shapes = rng.integers(0, 4, n)
    textures = (shapes + rng.integers(1, 4, n)) % 4
    others = np.array(
        [rng.choice(sorted({0, 1, 2, 3} - {s, t})) for s, t in zip(shapes, textures)]
    )
    kind = rng.choice(3, n, p=np.asarray(shares) / np.sum(shares))
    decisions = np.choose(kind, [shapes, textures, others])
    return decisions, shapes, textures


def shape_bias_mistakes(decisions, shapes, textures):
    """What the usual mistakes give for ``shape_bias``: ``{hint: value}``."""
    decisions, shapes, textures = (
        np.asarray(values) for values in (decisions, shapes, textures)
    )
    shape = int(np.sum(decisions == shapes))
    texture = int(np.sum(decisions == textures))
    cue = shape + texture
    with np.errstate(divide="ignore", invalid="ignore"):
        right = np.float64(shape) / cue if cue else np.nan
        mistakes = {
            "returned 0 where no decision follows a cue instead of NaN (0 / 0 is "
            "undefined)": right if cue else 0.0,
            "divided the shape decisions by all decisions (a decision that follows "
            "neither cue counts as texture) instead of by those that follow a "
            "cue": shape / len(decisions),
            "returned the texture share texture / (shape + texture)": (
                texture / cue if cue else np.nan
            ),
            "returned a percentage (0..100) instead of a share (0..1)": 100 * right,
            "divided shape by texture decisions (odds) instead of by shape + "
            "texture": np.float64(shape) / texture if texture else np.inf,
        }
    return mistakes


VISIBLE_DECISIONS = (
    np.array([0, 1, 2, 3, 0, 2, 3, 1]),
    np.array([0, 1, 2, 3, 0, 1, 2, 3]),
    np.array([1, 2, 3, 0, 2, 2, 3, 0]),
)
"""The visible example: five shape decisions, two texture, one neither: 5 / 7."""

SHAPE_BIAS_TRIALS = [
    # (seed, decisions, shares of shape, texture, neither)
    (80, 5, (0.5, 0.3, 0.2)),
    (81, 20, (0.2, 0.6, 0.2)),
    (82, 57, (0.4, 0.2, 0.4)),
    (83, 200, (0.1, 0.8, 0.1)),
    (84, 1000, (0.6, 0.3, 0.1)),
    (85, 12, (0.0, 0.7, 0.3)),
    (86, 3, (0.0, 0.0, 1.0)),
]
"""The hidden trials of ``shape_bias`` (:func:`random_decisions`)."""
SCALAR_TOLERANCE = (1e-9, 1e-12)


def reference_shape_bias_value(decisions, shape_labels, texture_labels):
    """The library's shape bias, as a float (NaN when no decision follows a cue)."""
    return reference_shape_bias.shape_bias(
        decisions, shape_labels, texture_labels
    ).shape_bias


def _shape_bias_case(arrays, label, expected, *, visible=False):
    return array_case(
        "shape_bias",
        arrays,
        {},
        label,
        expected,
        shape_bias_mistakes(*arrays),
        rtol=SCALAR_TOLERANCE[0],
        atol=SCALAR_TOLERANCE[1],
        visible=visible,
        reference=REFERENCES["shape_bias"],
    )


def _shape_bias_cases():
    cases = [
        _shape_bias_case(
            VISIBLE_DECISIONS,
            "shape_bias(8 decisions: 5 shape, 2 texture, 1 neither)",
            5 / 7,
            visible=True,
        ),
    ]
    for seed, n, shares in SHAPE_BIAS_TRIALS:
        arrays = random_decisions(seed, n, shares=shares)
        cases.append(
            _shape_bias_case(
                arrays,
                f"shape_bias({n} random cue-conflict decisions)",
                reference_shape_bias_value(*arrays),
            )
        )
    return cases


# ------------------------------------------------------------------ unit_concept

IMAGE_SIZE = 64
"""The probe images' side, in pixels (the crossed test split, drawn at this size)."""
PROBE_IMAGES = 32
"""Images per case."""
UNITS = 6
"""Units of each planted model's ``conv`` layer."""
MARGIN = 1.3
"""Each case's planted concept must have at least this times the second-best IoU."""

UNIT_CASES = [
    # (planted kernel index in PLANTED_KERNELS, layer, first probe image, unit, visible)
    (1, "pool", 96, 2, True),
    (4, "pool2", 64, 0, True),
    (0, "pool", 208, 1, False),
    (5, "pool", 336, 2, False),
    (1, "pool", 48, 4, False),
    (4, "pool", 336, 5, False),
    (2, "pool", 32, 0, False),
    (5, "pool", 352, 1, False),
    (0, "pool", 224, 3, False),
    (5, "pool2", 112, 3, False),
    (3, "pool", 48, 5, False),
    (4, "pool2", 112, 4, False),
]
"""The cases of ``unit_concept``: which kernel is planted in which unit, the layer
asked about, and which 32 crossed test images are given (from this index on). Two
visible (a dot, a check), then ten hidden: five dots ("dotted"), five checks
("checked")."""


def planted_model(kernel, unit, seed):
    """A small untrained classifier whose ``conv`` unit ``unit`` holds ``kernel``.

    Input ``(IMAGE_SIZE, IMAGE_SIZE, 3)`` in 0..255; ``conv``: a 5x5 ReLU
    ``Conv2D`` of :data:`UNITS` units, "same" padding; ``pool``: 2x2 max
    pooling; ``pool2``: 2x2 average pooling; then global average pooling and a
    dense head ``logits`` of 4 units. The weights are normal, drawn from
    ``np.random.default_rng([seed, 79])`` (biases 0); then ``kernel`` is planted
    by :func:`convviz_ref.dissection.plant_units` (bias 0).
    """
    layers = keras.layers
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name="image")
    x = layers.Conv2D(UNITS, 5, padding="same", activation="relu", name="conv")(inputs)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.AveragePooling2D(2, name="pool2")(x)
    x = layers.GlobalAveragePooling2D(name="global_pool")(x)
    model = keras.Model(inputs, layers.Dense(4, name="logits")(x), name="classifier")
    rng = np.random.default_rng([seed, 79])
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            kernel_weights, bias = weights
            fan_in = int(np.prod(kernel_weights.shape[:-1]))
            scale = 1 / (255 * np.sqrt(fan_in)) if layer.name == "conv" else 0.1
            layer.set_weights(
                [
                    rng.normal(0, scale, kernel_weights.shape).astype(np.float32),
                    np.zeros_like(bias),
                ]
            )
    return reference.plant_units(model, "conv", [kernel], units=[unit])


def probe_set():
    """The crossed test images at :data:`IMAGE_SIZE` and their concept masks."""
    from convviz_ref import crossed

    last = max(start for _, _, start, _, _ in UNIT_CASES) + PROBE_IMAGES
    probe = crossed.load_crossed("test", n=last, image_size=IMAGE_SIZE)
    return probe.images, crossed.concept_masks(probe)


def concept_scores(model, layer_name, unit, images, masks):
    """The reference's IoU of the unit with each concept, and the usual mistakes'
    answers.

    Returns:
        ``(scores, mistaken)``: ``{concept: IoU}``, and ``{hint: the concept that
        mistake names}``.
    """
    size = next(iter(masks.values())).shape[1:]
    maps = reference.unit_maps(model, layer_name, unit, images, size)
    scores = {
        name: reference.dissection_iou(maps, mask) for name, mask in masks.items()
    }
    variants = {}
    for name, mask in masks.items():
        for hint, value in iou_mistakes(maps, mask).items():
            variants.setdefault(hint, {})[name] = value
    mistaken = {hint: max(values, key=values.get) for hint, values in variants.items()}
    mistaken["took the concept with the lowest IoU (argmin) instead of the highest"] = (
        min(scores, key=scores.get)
    )
    return scores, mistaken


def check_unit_margin(label, intended, scores):
    """Raise ValueError unless the reference names ``intended`` with a margin.

    The grader's own check of a case it builds (never the student's answer).
    """
    ranked = sorted(scores, key=scores.get, reverse=True)
    best, second = scores[ranked[0]], scores[ranked[1]]
    if ranked[0] != intended or best < MARGIN * second:
        raise ValueError(
            f"{label}: the unit planted for {intended!r} is not clearly so: best "
            f"{ranked[0]!r} {best:.3f}, second {ranked[1]!r} {second:.3f}"
        )


UNIT_HINT = (
    "{hint} (check each step against dissection_iou: upsample the unit's maps "
    "bilinearly to the masks' size, one threshold over the whole set, IoU of the "
    "sums, the largest IoU)"
)


def check_unit_concept(label, names, intended, why, scores, mistaken, outputs):
    """Judge a ``unit_concept`` answer (the probe's index) against the planted one.

    Raises:
        AssertionError: the answer is not one of the concept names, or not the
            planted concept (with the evidence, and a hint when a usual mistake
            gives that answer).
    """
    from convviz_grade.checks import to_array

    index = to_array(outputs["value"], label)
    probe = outputs.get("probe", {})
    text = "".join(chr(int(code)) for code in np.ravel(probe.get("text", [])))
    if index.shape != () or int(index) < 0:
        kind = "a str" if bool(np.asarray(probe.get("is_text", False))) else "no str"
        raise AssertionError(
            f"{label}: return the name of a concept (one of the dict's keys, a "
            f"str), got {kind}: {text!r}"
        )
    answer = names[int(index)]
    if answer == intended:
        return
    ranked = sorted(scores, key=scores.get, reverse=True)[:3]
    lines = [
        f"{label}: expected {intended!r}, got {answer!r}: {why}.",
        "  evidence: the reference's IoUs: "
        + ", ".join(f"{name} {scores[name]:.3f}" for name in ranked)
        + f"; {answer} {scores[answer]:.3f}.",
    ]
    hints = [hint for hint, name in mistaken.items() if name == answer]
    if hints:
        lines.append(
            "  hint: your answer is what you get if you "
            + UNIT_HINT.format(hint=hints[0])
            + "."
        )
    raise AssertionError("\n".join(lines))


def _unit_cases():
    from convviz_grade.grading import Case

    images, masks = probe_set()
    names = list(masks)
    cases = []
    for number, (kernel_index, layer, start, unit, visible) in enumerate(UNIT_CASES):
        kernel = planted.PLANTED_KERNELS[kernel_index]
        model = planted_model(kernel.kernel(), unit, seed=90 + number)
        part = slice(start, start + PROBE_IMAGES)
        case_images = images[part]
        case_masks = {name: mask[part] for name, mask in masks.items()}
        kind = "visible" if visible else "hidden"
        label = (
            f"unit_concept({kind} planted model {number + 1}, {layer!r}, unit {unit})"
        )
        scores, mistaken = concept_scores(model, layer, unit, case_images, case_masks)
        check_unit_margin(label, kernel.concept, scores)
        why = (
            f"the grader set unit {unit}'s 5x5 kernel to a {kernel.name} pattern, "
            f"made to detect {kernel.concept!r}"
        )
        cases.append(
            Case(
                "unit_concept",
                (model, layer, unit, case_images),
                partial(
                    check_unit_concept,
                    label,
                    names,
                    kernel.concept,
                    why,
                    scores,
                    mistaken,
                ),
                kind="probe",
                probe="units:name_the_concept",
                probe_kwargs={
                    "concept_names": names,
                    "concept_masks": np.stack([case_masks[name] for name in names]),
                },
                visible=visible,
                keep_inputs=True,
                reference=reference.unit_concept,
            )
        )
    return cases


def explain_error(case, message):
    """A hint for an error raised by the student's code (see
    :mod:`convviz_grade.grading`): maps left at the layer's size."""
    if case.function == "unit_concept" and "broadcast" in message:
        return (
            "the layer's maps are smaller than the masks (a pooling halves them): "
            "upsample them bilinearly to the masks' height and width before the "
            "threshold"
        )
    return None


# ------------------------------------------------------------------ all cases

REFERENCES = {
    "dissection_iou": reference.dissection_iou,
    "shape_bias": reference_shape_bias_value,
    "unit_concept": reference.unit_concept,
}
"""Each graded function's reference (the students' edition hides its body)."""


def function_cases(function):
    """Every case of one graded function: the visible ones, then the hidden ones.

    Raises:
        ValueError: for a function that is not graded here.
    """
    builders = {
        "dissection_iou": _iou_cases,
        "shape_bias": _shape_bias_cases,
        "unit_concept": _unit_cases,
    }
    if function not in builders:
        raise ValueError(f"unknown function {function!r}; choose from {FUNCTIONS}")
    return builders[function]()


def grading_cases():
    """The cases ``convviz-grade autograde`` runs (see :mod:`convviz_grade.grading`):
    every function's, in order. Each asks for its array inputs back unchanged."""
    return [case for function in FUNCTIONS for case in function_cases(function)]
