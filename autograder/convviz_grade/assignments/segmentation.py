"""The ``segmentation`` assignment: the mean IoU, and a segmenter graded on behaviour.

``mean_iou`` is compared with :func:`convviz_ref.segmentation.mean_iou` on the
masks made here, and the values of the usual mistakes go to ``check_array``
so that a wrong answer is named.

``build_segmenter(image_size, num_classes)`` is graded on what the model it
returns is and learns, never on its lines: the grader's probe
(``convviz_grade/probes/segmentation.py``) describes each layer and trains the
model with the grader's recipe (:data:`RECIPE`) on training images; the check
(:func:`check_segmenter`, in the grader's process) verifies the contract
stated in the notebook) and computes the mean IoU of the predictions on
test images whose masks never leave the grader. Its reference is
:func:`convviz_ref.models.build_segmentation_model` with the default widths.

>>> truth, predicted = random_masks(0, num_classes=3)
>>> truth.shape, predicted.shape, truth.dtype
((3, 8, 8), (3, 8, 8), dtype('int32'))
>>> sorted(iou_mistakes(truth, predicted, 3))[0]
'computed pixel accuracy (the share of pixels predicted right) instead of IoU'
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from convviz_grade.assignments import preludes
from convviz_ref import segmentation as reference


def random_masks(seed, *, num_classes=3, shape=(3, 8, 8), absent=()):
    """Seeded (true, predicted) int32 masks: blocky regions, ~70% of pixels right.

    Args:
        seed: int.
        num_classes: int, labels are drawn from ``0 .. num_classes - 1``.
        shape: ``(batch, height, width)``.
        absent: classes that appear in neither mask.
    """
    rng = np.random.default_rng([seed, 5])
    present = np.array([c for c in range(num_classes) if c not in absent])
    batch, height, width = shape
    coarse = rng.choice(present, size=(batch, (height + 3) // 4, (width + 3) // 4))
    truth = np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2)[:, :height, :width]
    wrong = rng.random(shape) < 0.3
    predicted = np.where(wrong, rng.choice(present, size=shape), truth)
    return truth.astype(np.int32), predicted.astype(np.int32)


def _class_counts(truth, predicted, num_classes):
    truth, predicted = np.asarray(truth).ravel(), np.asarray(predicted).ravel()
    classes = np.arange(num_classes)[:, None]
    is_true, is_pred = truth == classes, predicted == classes
    return (is_true & is_pred).sum(1), (is_true | is_pred).sum(1), is_true.sum(1)


def iou_mistakes(masks_true, masks_pred, num_classes=3):
    """What the usual mistakes give for ``mean_iou`` here: ``{hint: value}``.

    Mistakes that give the right value on these masks are left out.
    """
    right = reference.mean_iou(masks_true, masks_pred, num_classes)
    intersection, union, true_count = _class_counts(masks_true, masks_pred, num_classes)
    present = union > 0
    ious = np.where(present, intersection / np.maximum(union, 1), 0.0)
    candidates = {
        "computed pixel accuracy (the share of pixels predicted right) instead of "
        "IoU": float(np.mean(np.asarray(masks_true) == np.asarray(masks_pred))),
        "counted a class absent from both masks as IoU 0 instead of leaving it "
        "out": float(ious.mean()),
        "counted a class absent from both masks as IoU 1 instead of leaving it "
        "out": float(np.where(present, ious, 1.0).mean()),
        "divided the intersection by the true pixel count (recall) instead of by the "
        "union": float(
            np.mean((intersection / np.maximum(true_count, 1))[true_count > 0])
        ),
        "computed the IoU of each image and averaged over the images (IoU counts all "
        "pixels together)": float(
            np.mean(
                [
                    reference.mean_iou(t[None], p[None], num_classes)
                    for t, p in zip(np.asarray(masks_true), np.asarray(masks_pred))
                ]
            )
        ),
    }
    return {
        hint: value
        for hint, value in candidates.items()
        if not np.isclose(value, right, rtol=1e-9, atol=1e-12)
    }


HIDDEN_TRIALS = [
    # (seed, num_classes, absent classes, mask shape (batch, height, width))
    (0, 3, (), (3, 8, 8)),
    (1, 2, (), (3, 8, 8)),
    (2, 3, (1,), (3, 8, 8)),
    (3, 3, (2,), (3, 8, 8)),
    (4, 2, (), (3, 8, 8)),
    (5, 3, (0,), (3, 8, 8)),
    (100, 3, (), (4, 12, 10)),
    (101, 2, (), (4, 12, 10)),
    (102, 3, (1,), (4, 12, 10)),
    (103, 3, (2,), (4, 12, 10)),
    (104, 3, (0,), (4, 12, 10)),
]
"""The hidden trials of ``mean_iou``: 2 and 3 classes, some classes absent from both
masks.

``num_classes`` is passed by position on the (3, 8, 8) masks and by keyword
on the (4, 12, 10) ones.
"""


def mean_iou_cases():
    """The cases of ``mean_iou``.

    The notebook's visible 4x4 example and perfect prediction, then
    :data:`HIDDEN_TRIALS` on random masks the notebook never shows.
    """
    from functools import partial

    from convviz_grade.checks import check_array
    from convviz_grade.grading import Case

    def check(expected, mistakes, label, outputs):
        check_array(
            label, outputs["value"], expected, rtol=1e-9, atol=1e-12, mistakes=mistakes
        )

    truth = np.array(
        [[[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 1, 1]]], np.int32
    )
    predicted = np.array(
        [[[0, 0, 0, 1], [0, 0, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]], np.int32
    )
    cases = [
        Case(
            "mean_iou",
            (truth, predicted),
            partial(
                check,
                37 / 56,
                iou_mistakes(truth, predicted, 3),
                "mean_iou(4x4 example)",
            ),
            kwargs={"num_classes": 3},
            visible=True,
        ),
        Case(
            "mean_iou",
            (truth, truth.copy()),
            partial(check, 1.0, {}, "mean_iou(perfect prediction)"),
            kwargs={"num_classes": 3},
            visible=True,
        ),
    ]
    for seed, num_classes, absent, shape in HIDDEN_TRIALS:
        truth, predicted = random_masks(
            seed, num_classes=num_classes, absent=absent, shape=shape
        )
        label = (
            f"mean_iou(random masks {truth.shape}, num_classes={num_classes}, "
            f"absent classes {list(absent)})"
        )
        expected = reference.mean_iou(truth, predicted, num_classes)
        by_position = shape == (3, 8, 8)
        cases.append(
            Case(
                "mean_iou",
                (truth, predicted, num_classes) if by_position else (truth, predicted),
                partial(
                    check, expected, iou_mistakes(truth, predicted, num_classes), label
                ),
                kwargs={} if by_position else {"num_classes": num_classes},
            )
        )
    return cases


# ------------------------------------------------------------- build_segmenter

TRAIN_SIZE = 32
"""Pixels of the training runs' images (the generator draws any size from 32)."""

NUM_TRAIN = 256
"""Training images of each run: the first of the training split."""

NUM_TEST = 128
"""Test images of each run, whose masks the grader keeps."""

HIDDEN_DATA_SEED = 41
"""The dataset seed of the hidden test images (the course's own data is seed 0)."""

RECIPE = {"epochs": 8, "batch_size": 16, "learning_rate": 3e-3}
"""The grader's training run: Adam, sparse categorical cross-entropy, 8 epochs of the
256 images in batches of 16 (128 steps)."""

IOU_BAR = 0.44
"""The mean IoU (object, background, contour) the short run must reach on the test
images.

Measured on a 2-core machine with :data:`RECIPE` on 64 images of the hidden seed's
test split: the reference reaches 0.486 to 0.558 over Keras seeds 0 to 4; a model
of unstrided 1x1 convolutions (no spatial context) 0.392 at seeds 0 and 1;
"background everywhere" 0.282. On the hidden case's own 128 images (seed 1),
tests/autograder/test_exercise_segmentation.py measures the reference (0.525) and
a model of strided 1x1 layers that keeps the contract's resolutions (0.290)."""

SUM_TOLERANCE = 1e-3
"""How far each pixel's outputs may sum from 1 (and fall below 0, a tenth of it)."""

MAX_PARAMS = 340_000
"""The parameter budget: about twice the reference's 168,003 (3 classes)."""

TIME_LIMIT = 3.0
"""A training case may take at most this many times the reference's own time (plus
:data:`convviz_grade.grading.TIME_SLACK` seconds)."""

TRAINING_SEEDS = {"visible": 0, "hidden": 1}
"""The Keras seed (``keras.utils.set_random_seed``, set before ``build_segmenter`` is
called) of the notebook's visible training run and of the hidden one."""

STRUCTURE_TRIALS = [(24, 2), (40, 4), (64, 3), (48, 5)]
"""The hidden ``(image_size, num_classes)`` at which the model is only built and
described (and run on two random images)."""

PROBE = "segmentation:describe_and_train"

SEGMENTER_HINTS = {
    "pooling": "downsampled with a pooling layer; the contract lowers the "
    "resolution only with strided Conv2D layers (strides=2)",
    "upsampling": "upsampled with a fixed resize (UpSampling2D, Resizing); the "
    "contract raises the resolution only with Conv2DTranspose layers (strides=2), "
    "which learn how to",
    "valid": "used padding='valid', so each convolution loses pixels at the "
    "border; padding='same' keeps the sizes at image_size, its half and its quarter",
    "softmax": "left out the softmax of the last layer: each pixel's outputs must "
    "be probabilities that sum to 1",
    "channels": "gave the last layer another number of filters than num_classes",
    "levels": "went down another number of levels than two (the contract's lowest "
    "resolution is image_size / 4)",
    "strides": "used a stride other than 2 in a strided layer, so the sizes do not "
    "pass through image_size / 2",
    "budget": "built a model with more parameters than the budget allows",
}
"""What each usual mistake of ``build_segmenter`` did, as the checks name it."""


def _hint(key):
    return f"\n  hint: your answer is what you get if you {SEGMENTER_HINTS[key]}."


class Layer(NamedTuple):
    """One layer as the probe describes it (see ``probes/segmentation.py``)."""

    kind: str  # the class name: "Conv2D", "Conv2DTranspose", "MaxPooling2D" ...
    size_in: tuple  # (height, width) of the largest input map, (-1, -1) if none
    size_out: tuple  # (height, width) of the output map, (-1, -1) if none
    strides: tuple  # (0, 0) for a layer without strides
    kernel: tuple  # (0, 0) for a layer without a kernel
    valid: int  # 1 for padding="valid", 0 for "same", -1 without padding

    def __str__(self):
        def size(pair):
            return "?" if pair[0] < 0 else f"{pair[0]}x{pair[1]}"

        text = f"{self.kind:<18} {size(self.size_in):>7} -> {size(self.size_out):<7}"
        if self.strides != (0, 0):
            text += f" strides {self.strides[0]}"
        if self.valid == 1:
            text += ", padding 'valid'"
        return text


def layers_of(probe):
    """The probe's description of the model: a list of :class:`Layer`."""
    names = bytes(np.asarray(probe["layer_classes"], np.uint8)).decode(errors="replace")
    kinds = names.split("\n") if names else []
    sizes = np.asarray(probe["layer_sizes"]).reshape(-1, 4)
    config = np.asarray(probe["layer_config"]).reshape(-1, 5)
    if not len(kinds) == len(sizes) == len(config):
        raise AssertionError("build_segmenter: the probe's description is malformed")
    return [
        Layer(
            kind,
            tuple(int(v) for v in row[:2]),
            tuple(int(v) for v in row[2:]),
            tuple(int(v) for v in conf[:2]),
            tuple(int(v) for v in conf[2:4]),
            int(conf[4]),
        )
        for kind, row, conf in zip(kinds, sizes, config)
    ]


def describe_model(probe):
    """The layer table a failed check shows (and the visible test prints)."""
    return "\n".join(f"    {layer}" for layer in layers_of(probe))


def check_structure(label, image_size, num_classes, probe):
    """Raise AssertionError, naming the usual mistake, unless the model keeps the
    contract (the notebook's statement) at this size.

    Args:
        label: str, what the message starts with.
        image_size, num_classes: the arguments the model was built with.
        probe: the probe's entries (``layer_*``, ``output_shape``, ``params``).
    """
    layers = layers_of(probe)
    table = "\n  its layers (input -> output size):\n" + describe_model(probe)

    def fail(message, hint=None):
        raise AssertionError(f"{label}: {message}{_hint(hint) if hint else ''}{table}")

    for layer in layers:
        if "Pooling" in layer.kind:
            fail(f"it has a {layer.kind} layer", "pooling")
        if layer.kind in ("UpSampling2D", "Resizing"):
            fail(f"it has a {layer.kind} layer", "upsampling")
    output = tuple(int(v) for v in np.asarray(probe["output_shape"]).ravel())
    expected = (-1, image_size, image_size, num_classes)
    if output[1:-1] != expected[1:-1]:
        valid = any(layer.valid == 1 and max(layer.kernel) > 1 for layer in layers)
        fail(
            f"expected an output of shape (batch, {image_size}, {image_size}, "
            f"{num_classes}), got {output}",
            "valid" if valid else "strides",
        )
    if output[-1] != num_classes:
        fail(
            f"expected {num_classes} channels (one per class) in the output "
            f"(batch, {image_size}, {image_size}, {num_classes}), got {output}",
            "channels",
        )
    sizes = set()
    for layer in layers:
        if layer.size_out[0] < 0 or layer.size_in[0] < 0:
            fail(
                f"its {layer.kind} layer does not map a (height, width, channels) "
                "feature map to another: the model must be fully convolutional"
            )
        (height_in, width_in), (height, width) = layer.size_in, layer.size_out
        sizes.update((height, width))
        if (height, width) == (height_in, width_in):
            continue
        down = height < height_in or width < width_in
        expected = (
            (height_in // 2, width_in // 2) if down else (2 * height_in, 2 * width_in)
        )
        kind = "Conv2D" if down else "Conv2DTranspose"
        if (height, width) != expected or layer.kind != kind:
            hint = (
                "valid"
                if layer.valid == 1 and max(layer.kernel) > 1
                else (
                    "strides"
                    if layer.kind == kind
                    else ("upsampling" if not down else None)
                )
            )
            fail(
                f"its {layer.kind} layer maps {height_in}x{width_in} to "
                f"{height}x{width}; only a Conv2D with strides 2 may halve the "
                "resolution, and only a Conv2DTranspose with strides 2 double it",
                hint,
            )
    wanted = {image_size, image_size // 2, image_size // 4}
    if sizes != wanted:
        fail(
            f"its feature maps have the sizes {sorted(sizes, reverse=True)}, where "
            f"the contract asks for exactly {sorted(wanted, reverse=True)}",
            "levels" if min(sizes) != image_size // 4 else None,
        )
    params = int(np.asarray(probe["params"]))
    if params > MAX_PARAMS:
        fail(
            f"it has {params:,} parameters, over the budget of {MAX_PARAMS:,}", "budget"
        )


def check_probabilities(label, probabilities, shape):
    """Raise AssertionError unless ``probabilities`` has ``shape`` and each pixel's
    values are probabilities that sum to 1 (to :data:`SUM_TOLERANCE`)."""
    from convviz_grade.checks import check_true

    probabilities = np.asarray(probabilities, np.float64)
    check_true(
        label,
        probabilities.shape == shape,
        f"expected outputs of shape {shape}, got {probabilities.shape}",
    )
    sums = probabilities.sum(axis=-1)
    check_true(
        label,
        np.all(np.isfinite(probabilities))
        and probabilities.min() >= -SUM_TOLERANCE / 10
        and np.allclose(sums, 1.0, atol=SUM_TOLERANCE),
        "each pixel's outputs must be probabilities that sum to 1; got values in "
        f"[{probabilities.min():.3g}, {probabilities.max():.3g}] with sums in "
        f"[{sums.min():.3g}, {sums.max():.3g}]" + _hint("softmax"),
    )


def check_segmenter(label, image_size, num_classes, test_masks, bar, outputs):
    """The check of a ``build_segmenter`` case: the contract, then the training run.

    Args:
        label: str, the start of every message.
        image_size, num_classes: the case's arguments.
        test_masks: int array ``(n, size, size)``, the grader's masks of the test
            images, or None for a case without training run.
        bar: float, the mean IoU the run must reach (ignored without masks).
        outputs: what the worker (or the kernel) sent back.
    """
    from convviz_grade.checks import check_true

    probe = outputs["probe"]
    try:
        check_structure(label, image_size, num_classes, probe)
        trained = int(np.asarray(probe["trained"]).item())
    except (KeyError, ValueError, TypeError) as error:  # not what the probe sends
        raise AssertionError(
            f"{label}: the probe's report is malformed ({type(error).__name__})"
        ) from None
    value = np.asarray(outputs["value"])
    if test_masks is not None:
        images = len(test_masks)
    else:
        images = len(value) if value.ndim else 1
    check_probabilities(label, value, (images, image_size, image_size, num_classes))
    if test_masks is None:
        return
    check_true(
        label,
        trained == 1,
        "the model could not be trained with the grader's recipe",
    )
    predicted = np.argmax(value, axis=-1)
    ious = reference.per_class_iou(test_masks, predicted, num_classes)
    score = reference.mean_iou(test_masks, predicted, num_classes)
    check_true(
        label,
        score >= bar,
        f"after the grader's training run ({_recipe_text()}) the mean IoU on the "
        f"test images is {score:.3f}, under the required {bar:.2f} (IoU per class: "
        + ", ".join(f"{iou:.3f}" for iou in ious)
        + "). A model that sees no context around each pixel, or a mask drawn "
        "at a low resolution, stays under it.",
    )


def _recipe_text():
    steps = RECIPE["epochs"] * -(-NUM_TRAIN // RECIPE["batch_size"])
    return (
        f"Adam at {RECIPE['learning_rate']:g}, {steps} steps of "
        f"{RECIPE['batch_size']} images of {TRAIN_SIZE}x{TRAIN_SIZE}"
    )


def random_images(seed, image_size, n=2):
    """Seeded float32 images ``(n, size, size, 3)`` in 0..255 (structure cases)."""
    rng = np.random.default_rng([seed, 41])
    return rng.uniform(0, 255, size=(n, image_size, image_size, 3)).astype(np.float32)


def training_data(which):
    """``(train images, train masks, test images, test masks)`` of a training case.

    ``"visible"``: the first :data:`NUM_TRAIN` training images and the first
    :data:`NUM_TEST` validation images (the notebook can show them);
    ``"hidden"``: the same training images, and :data:`NUM_TEST` test images drawn
    with the dataset seed :data:`HIDDEN_DATA_SEED`, which no notebook shows; all at
    :data:`TRAIN_SIZE` pixels.
    """
    from convviz_ref.data import load_shapes

    train = load_shapes("train", NUM_TRAIN, image_size=TRAIN_SIZE)
    if which == "visible":
        test = load_shapes("val", NUM_TEST, image_size=TRAIN_SIZE)
        images, masks = test.images, test.masks
    else:
        test = load_shapes(
            "test", NUM_TEST, image_size=TRAIN_SIZE, seed=HIDDEN_DATA_SEED
        )
        images, masks = test.images, test.masks
    return train.images, train.masks, images, masks


def training_case(which):
    """The training run of ``build_segmenter`` on the ``"visible"`` or ``"hidden"``
    data (:func:`training_data`), with the grader's recipe.

    Each run sets its Keras seed (:data:`TRAINING_SEEDS`). The hidden one is a
    grading case, timed against the reference (:data:`TIME_LIMIT`); the visible
    one is not: the notebook's visible
    test runs it (:func:`run_visible_tests`) so that a student sees the IoU of
    each class before submitting, and ``convviz-grade autograde`` trains each
    submission once.
    """
    from functools import partial

    from convviz_grade.grading import Case
    from convviz_ref.models import build_segmentation_model

    train_images, train_masks, test_images, test_masks = training_data(which)
    hidden = which == "hidden"
    return Case(
        "build_segmenter",
        (TRAIN_SIZE, 3),
        partial(
            check_segmenter,
            f"build_segmenter({TRAIN_SIZE}, 3), trained on the {which} data",
            TRAIN_SIZE,
            3,
            test_masks,
            IOU_BAR,
        ),
        kind="probe",
        probe=PROBE,
        probe_kwargs={
            "test_images": test_images,
            "train_images": train_images,
            "train_masks": train_masks,
            "seed": TRAINING_SEEDS[which],
            **RECIPE,
        },
        visible=not hidden,
        time_limit=TIME_LIMIT if hidden else 0.0,
        reference=build_segmentation_model,
    )


def segmenter_cases():
    """The cases of ``build_segmenter``.

    Visible: the model built and described at 32 px and 3 classes, run on four
    validation images. Hidden: the same at :data:`STRUCTURE_TRIALS`, then the
    training run on the hidden test images (:func:`training_case`).
    """
    from functools import partial

    from convviz_grade.grading import Case

    visible_images = training_data("visible")[2][:4]
    cases = []
    trials = [(TRAIN_SIZE, 3), *STRUCTURE_TRIALS]
    for number, (image_size, num_classes) in enumerate(trials):
        cases.append(
            Case(
                "build_segmenter",
                (image_size, num_classes),
                partial(
                    check_segmenter,
                    f"build_segmenter({image_size}, {num_classes})",
                    image_size,
                    num_classes,
                    None,
                    None,
                ),
                kind="probe",
                probe=PROBE,
                probe_kwargs={
                    "test_images": visible_images
                    if number == 0
                    else random_images(number, image_size),
                    "seed": number,
                },
                visible=number == 0,
            )
        )
    return [*cases, training_case("hidden")]


def run_visible_tests(build_segmenter):
    """What the notebook's visible test of ``build_segmenter`` runs, with a report.

    The visible grading case (the contract at 32 px and 3 classes), then the
    training run on the visible data (:func:`training_case`), each checked as
    the grader checks the hidden ones. Prints the model's layers and, after the
    run, the IoU of each class and the mean IoU against :data:`IOU_BAR`.

    Returns:
        dict, the training run's outputs (:func:`convviz_grade.cases.outputs_of`).

    Raises:
        AssertionError: as the grader's checks do, naming the usual mistake.
    """
    from convviz_grade import cases, grading

    [case] = [
        case
        for case in cases.assignment_cases("segmentation")[1]
        if case.function == "build_segmenter" and case.visible
    ]
    outputs = cases.outputs_of(case, build_segmenter)
    print(f"build_segmenter({TRAIN_SIZE}, 3): layers (input -> output size)")
    print(describe_model(outputs["probe"]))
    print(f"parameters: {int(outputs['probe']['params']):,} (budget {MAX_PARAMS:,})")
    grading.check_outputs(case, outputs)  # raises with the explanation
    run = training_case("visible")
    outputs = cases.outputs_of(run, build_segmenter)
    masks = run.check.args[3]
    predicted = np.argmax(outputs["value"], axis=-1)
    ious = reference.per_class_iou(masks, predicted, 3)
    print(
        f"training run ({_recipe_text()}): "
        f"{float(outputs['probe']['train_seconds']):.1f} s"
    )
    print(
        f"IoU on {len(masks)} validation images: object {ious[0]:.3f}, background "
        f"{ious[1]:.3f}, contour {ious[2]:.3f}; mean IoU "
        f"{reference.mean_iou(masks, predicted, 3):.3f} (required: {IOU_BAR:.2f})"
    )
    grading.check_outputs(run, outputs)
    return outputs


def contract_rows():
    """The numbers of ``build_segmenter``'s contract, read from the grader's constants.

    What the notebook shows under the task's statement (:func:`contract_markdown`),
    so that the statement types none of them.

    Returns:
        list of ``(what, value)`` str pairs.
    """
    from convviz_grade.grading import TIME_SLACK

    steps = RECIPE["epochs"] * -(-NUM_TRAIN // RECIPE["batch_size"])
    size = f"{TRAIN_SIZE}x{TRAIN_SIZE}"
    return [
        (
            "parameter budget",
            f"at most {MAX_PARAMS:,}, at every image size and number of classes",
        ),
        (
            "probabilities",
            f"each pixel's outputs at least 0 and summing to 1, to {SUM_TOLERANCE:g}",
        ),
        (
            "training data",
            f"the first {NUM_TRAIN} images of the training split, {size} pixels, "
            f"with their trimaps; the model is `build_segmenter({TRAIN_SIZE}, 3)`",
        ),
        (
            "the grader's recipe",
            f"Adam with a learning rate of {RECIPE['learning_rate']:g}, sparse "
            f"categorical cross-entropy, {RECIPE['epochs']} epochs in shuffled "
            f"batches of {RECIPE['batch_size']}: {steps} steps",
        ),
        (
            "Keras seed",
            "`keras.utils.set_random_seed` before your function is called: "
            f"{TRAINING_SEEDS['visible']} in the visible run, "
            f"{TRAINING_SEEDS['hidden']} in the hidden run (other initial weights, "
            "another batch order)",
        ),
        (
            "scored on",
            f"visible run: the first {NUM_TEST} validation images; hidden run: "
            f"{NUM_TEST} test images drawn with a data seed of their own, which no "
            "notebook shows",
        ),
        (
            "required",
            f"a mean IoU of at least {IOU_BAR:.2f} over object, background and "
            "contour, the mask being the most probable class of each pixel",
        ),
        (
            "time limit",
            f"hidden run only: at most {TIME_LIMIT:g} times the time the book's model "
            f"takes on the same run and machine, plus {TIME_SLACK:g} s",
        ),
    ]


def contract_markdown():
    """:func:`contract_rows` as a Markdown table (str)."""
    lines = ["| the contract's | number |", "| --- | --- |"]
    lines += [f"| {what} | {value} |" for what, value in contract_rows()]
    return "\n".join(lines)


def grading_cases():
    """The cases of both functions: the notebook's hidden tests and ``convviz-grade
    autograde``'s (see :func:`mean_iou_cases` and :func:`segmenter_cases`)."""
    return [*mean_iou_cases(), *segmenter_cases()]


PRELUDE = "import numpy as np\n" + preludes.LAZY_KERAS
"""The setup cell's imports a solution may rely on, the course's modules left out.

``keras`` is imported on first use, so that grading a NumPy ``mean_iou`` alone
does not pay for TensorFlow (as in the activations assignment).
"""


def explain_error(case, message):
    """A hint for an error the student's ``build_segmenter`` raised while it was built
    (see :mod:`convviz_grade.grading`)."""
    if case.function != "build_segmenter":
        return None
    lowered = message.lower()
    if "shape" in lowered or "incompatible" in lowered:
        return (
            "layers joined (added or concatenated) at different sizes; with "
            "padding='same' a strided Conv2D gives exactly half the size and a "
            "strided Conv2DTranspose exactly twice"
        )
    if "not a keras.model" in lowered:
        return "return the model (keras.Model(inputs, outputs)), not its layers"
    return None
