"""The ``filters`` assignment: random small models and inputs, and the usual mistakes.

The hidden tests of ``solutions/filters/filters.ipynb`` compare a student's
``compute_loss``, ``gradient_ascent_step`` and ``deprocess_image`` with
:mod:`convviz_ref.filters` on the seeded models and inputs made here, and
judge ``visualize_filter`` on what its image reaches: the filter's mean
activation, measured here with the grader's own copy of each model, against
:func:`convviz_ref.filters.visualize_filter`'s, and on its budget: the probe
:mod:`convviz_grade.probes.filters` counts the gradients it takes with respect
to the image, at most ``steps`` (:func:`visualize_cases`). Each
``*_mistakes`` function returns ``{hint: wrong_output}`` for the same input,
written to complete the sentence "your answer is what you get if you
{hint}." (see :func:`convviz_grade.checks.check_array`).

>>> extractor = random_feature_extractor(seed=0)
>>> tuple(extractor.output_shape)  # 16x16 input, two unpadded 3x3 convs
(None, 12, 12, 16)
>>> random_images(seed=0).shape
(1, 16, 16, 3)
"""

from __future__ import annotations

from dataclasses import replace

import keras
import numpy as np
import tensorflow as tf

from convviz_grade.assignments import random_inputs
from convviz_ref import filters as reference

IMAGE_SIZE = 16
"""Height and width of the random models' inputs."""

CHANNELS = 16
"""Filters of each conv layer of the random models."""


def random_model(seed, *, image_size=IMAGE_SIZE, channels=CHANNELS):
    """A tiny seeded convnet: ``rescaling``, then ``conv1`` and ``conv2`` (3x3, ReLU, no
    padding).

    Like the course's models it takes images in 0..255 and rescales inside.
    The biases are small and positive, so that most filters fire on a random
    image and have a gradient to climb.

    Returns:
        A ``keras.Model`` from ``(batch, image_size, image_size, 3)`` to
        ``(batch, image_size - 4, image_size - 4, channels)``.
    """
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = keras.layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    for number in (1, 2):
        x = random_inputs.seeded_conv(
            channels,
            f"conv{number}",
            kernel_seed=seed * 10 + number,
            bias_seed=seed * 10 + 5 + number,
            bias_range=(0.0, 0.2),
        )(x)
    return keras.Model(inputs, x, name=f"random_convnet_{seed}")


def random_feature_extractor(seed, layer_name="conv2", **kwargs):
    """:func:`random_model` cut at ``layer_name`` with
    :func:`convviz_ref.filters.build_feature_extractor`.
    """
    return reference.build_feature_extractor(random_model(seed, **kwargs), layer_name)


def random_images(seed, num_images=1, image_size=IMAGE_SIZE):
    """Seeded uniform noise in 0..255, float32 ``(num_images, image_size, image_size,
    3)``.
    """
    return random_inputs.uniform_images(seed, num_images, image_size)


def random_pattern(seed, size=96):
    """A seeded stand-in for an ascent result: float32 ``(size, size, 3)``, not in
    0..255.

    Smooth waves plus noise, with an offset and a spread that change with
    the seed, like the unclipped images gradient ascent returns.
    """
    rng = np.random.default_rng(seed)
    grid = np.linspace(0.0, 2.0 * np.pi, size)
    waves = (
        np.sin(rng.uniform(1, 4) * grid)[:, None, None]
        * np.cos(rng.uniform(1, 4) * grid)[None, :, None]
    )
    noise = rng.normal(size=(size, size, 3))
    scale, offset = rng.uniform(20.0, 400.0), rng.uniform(-100.0, 300.0)
    return (offset + scale * (waves + 0.5 * noise)).astype(np.float32)


def _loss(activation, rows, cols, filter_index, reduce=tf.reduce_mean):
    return reduce(activation[:, rows, cols, filter_index])


_BORDER = slice(2, -2)

_LOSS_MISTAKES = {
    "left out no border (use activation[:, 2:-2, 2:-2, filter_index])": (
        slice(None),
        slice(None),
        tf.reduce_mean,
    ),
    "cut a 1-pixel border instead of 2 pixels": (
        slice(1, -1),
        slice(1, -1),
        tf.reduce_mean,
    ),
    "cut a 3-pixel border instead of 2 pixels": (
        slice(3, -3),
        slice(3, -3),
        tf.reduce_mean,
    ),
    "cut the border at the start only (2: instead of 2:-2)": (
        slice(2, None),
        slice(2, None),
        tf.reduce_mean,
    ),
    "took the sum where the mean is expected": (_BORDER, _BORDER, tf.reduce_sum),
}


def loss_mistakes(feature_extractor, image, filter_index):
    """The usual wrong versions of ``compute_loss``: ``{hint: wrong loss}`` (float)."""
    activation = feature_extractor(tf.convert_to_tensor(image, tf.float32))
    mistakes = {
        hint: float(_loss(activation, rows, cols, filter_index, reduce))
        for hint, (rows, cols, reduce) in _LOSS_MISTAKES.items()
    }
    if activation.shape[0] > 1:
        mistakes[
            "used only the first image of the batch (take the mean over the batch too)"
        ] = float(tf.reduce_mean(activation[0, 2:-2, 2:-2, filter_index]))
    return mistakes


def _gradient(
    feature_extractor,
    image,
    filter_index,
    rows=_BORDER,
    cols=_BORDER,
    reduce=tf.reduce_mean,
):
    image = tf.convert_to_tensor(image, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(image)
        loss = _loss(feature_extractor(image), rows, cols, filter_index, reduce)
    return image, tape.gradient(loss, image)


def step_mistakes(feature_extractor, image, filter_index, learning_rate):
    """The usual wrong versions of ``gradient_ascent_step``: ``{hint: wrong image}``
    (ndarray).

    Besides mistakes in the step itself, it lists the steps taken with a
    wrong ``compute_loss``, so that a failure caused by the loss says so.
    """
    image, gradient = _gradient(feature_extractor, image, filter_index)
    normalized = tf.math.l2_normalize(gradient)
    mistakes = {
        "did not normalize the gradient (divide it by its l2 norm)": image
        + learning_rate * gradient,
        "stepped down the gradient (image - ...) instead of up": image
        - learning_rate * normalized,
        "divided the gradient by its largest absolute value instead of its l2 "
        "norm": image + learning_rate * gradient / tf.reduce_max(tf.abs(gradient)),
    }
    for hint, (rows, cols, reduce) in _LOSS_MISTAKES.items():
        if reduce is tf.reduce_sum:
            # the sum's gradient is the mean's times a constant: normalized, they are
            # equal
            continue
        _, wrong = _gradient(feature_extractor, image, filter_index, rows, cols)
        mistakes[f"used a compute_loss that {hint} (fix compute_loss first)"] = (
            image + learning_rate * (tf.math.l2_normalize(wrong))
        )
    return {hint: np.asarray(value) for hint, value in mistakes.items()}


def _crop(image, crop):
    return image[crop:-crop, crop:-crop] if crop else image


def deprocess_mistakes(image, crop=25):
    """The usual wrong versions of ``deprocess_image``: ``{hint: wrong picture}``
    (ndarray).
    """
    image = np.array(image, dtype=np.float32)
    centered = image - image.mean()
    std = image.std()
    mistakes = {}
    with np.errstate(
        all="ignore"
    ):  # the mistakes divide by zero and cast NaN, as a student's code would
        standardized = centered / std
        if (
            image.max() == image.min()
        ):  # first: on a constant image, other mistakes give the same
            hint = (
                "divided by a standard deviation of 0 (a constant image must give "
                "mid-grey 128)"
                if std == 0
                else "tested std > 0, which float32 round-off defeats on a constant "
                "image (an image whose values are all equal is constant)"
            )
            mistakes[hint] = _crop(
                np.clip(standardized * 64 + 128, 0, 255).astype(np.uint8), crop
            )
        if crop:
            mistakes[f"forgot the {crop}-pixel crop"] = reference.deprocess_image(
                image, crop=0
            )
            mistakes["cropped the top and left borders only"] = (
                reference.deprocess_image(image, crop=0)[crop:, crop:]
            )
            mistakes[
                "cropped before normalizing (take the mean and std over the whole "
                "image, then crop)"
            ] = reference.deprocess_image(_crop(image, crop), crop=0)
        mistakes["cast to uint8 before clipping"] = _crop(
            np.clip((standardized * 64 + 128).astype(np.uint8), 0, 255), crop
        )
        mistakes["divided by the maximum instead of the standard deviation"] = _crop(
            np.clip(centered / centered.max() * 64 + 128, 0, 255).astype(np.uint8), crop
        )
        mistakes[
            "divided by the largest absolute value instead of the standard deviation"
        ] = _crop(
            np.clip(centered / np.abs(centered).max() * 64 + 128, 0, 255).astype(
                np.uint8
            ),
            crop,
        )
    expected = reference.deprocess_image(image, crop=crop).astype(np.int64)
    # A mistake that changes no grey level by more than the tests' tolerance of 1 is no
    # mistake here (e.g. cropping 5 pixels before normalizing barely moves the mean and
    # std).
    return {
        hint: wrong
        for hint, wrong in mistakes.items()
        if wrong.shape != expected.shape
        or np.abs(wrong.astype(np.int64) - expected).max() > 1
    }


PRELUDE = "import numpy as np\nimport keras\nimport tensorflow as tf\n"
"""The imports of the notebook's setup cell that a solution may rely on (the course's
own modules left out).
"""


def _identity_extractor():
    """The visible tests' "extractor" that returns its (1, 6, 6, 2) input unchanged."""
    inputs = keras.Input(shape=(6, 6, 2))
    return keras.Model(inputs, keras.layers.Identity()(inputs))


def _visible_loss_image():
    image = np.full((1, 6, 6, 2), -1.0, dtype=np.float32)
    image[0, :, :, 1] = 9.0
    image[0, 2:4, 2:4, 1] = [[1.0, 2.0], [3.0, 6.0]]
    return image


def grading_cases():
    """The cases of the four functions: the notebook's hidden tests and ``convviz-grade
    autograde``'s (``visualize_filter``'s: :func:`visualize_cases`).

    For each function, the notebook's visible tests (the identity "extractor",
    the shipped ``small_convnet``'s ``conv3``, the hand-computed pictures), then
    hidden cases on random small models, images and patterns, the shipped
    ``conv2``, constant images, and for ``gradient_ascent_step`` three steps
    in a row and a step from a later point of an ascent. The same model
    object is shared by several cases, so it is saved once. Every
    ``deprocess_image`` case also checks that the input is left as it was
    (``keep_inputs``).
    """
    from functools import partial

    from convviz_grade.checks import check_array, check_true
    from convviz_grade.grading import Case
    from convviz_ref.models import load_pretrained

    logger = tf.get_logger()  # each new model retraces the reference's tf.function
    level = logger.level
    logger.setLevel("ERROR")

    def check(label, expected, mistakes, tolerances, outputs):
        check_array(label, outputs["value"], expected, mistakes=mistakes, **tolerances)

    def check_scalar(outputs):
        shape = np.asarray(outputs["value"]).shape
        check_true(
            "compute_loss",
            shape == (),
            f"expected one number (shape ()), got shape {shape}",
        )

    def check_step_length(image, outputs):
        stepped = np.asarray(outputs["value"])
        check_true(
            "gradient_ascent_step",
            stepped.shape == (1, 96, 96, 3),
            f"expected shape (1, 96, 96, 3), got {stepped.shape}",
        )
        length = float(np.linalg.norm(stepped.astype(np.float64) - np.asarray(image)))
        check_true(
            "gradient_ascent_step",
            abs(length - 1275.0) < 0.1,
            "the step should move the image by learning_rate = 1275 (l2 distance), it "
            f"moved {length:.6g}",
        )

    def check_picture_shape(outputs):
        picture = np.asarray(outputs["value"])
        check_true(
            "deprocess_image",
            picture.shape == (46, 46, 3) and picture.dtype == np.uint8,
            f"expected shape (46, 46, 3) and dtype uint8, got {picture.shape} and "
            f"{picture.dtype}",
        )

    shipped = load_pretrained("small_convnet").model
    conv3 = reference.build_feature_extractor(shipped, "conv3")
    identity = _identity_extractor()
    random_extractors = {
        seed: random_feature_extractor(seed)
        for seed in (1, 2, 3, 4, 5, 61, 62, 63, 64, 65)
    }
    cases = []

    # ------------------------------------------------------------ compute_loss
    loss_tolerances = {"rtol": 1e-4, "atol": 1e-6}
    image = _visible_loss_image()
    for index, expected in ((1, 3.0), (0, -1.0)):
        cases.append(
            Case(
                "compute_loss",
                (identity, image, index),
                partial(
                    check,
                    "compute_loss",
                    expected,
                    loss_mistakes(identity, image, index),
                    {"rtol": 1e-6},
                ),
                visible=True,
            )
        )
    images = (
        np.random.default_rng(0).uniform(0, 255, size=(2, 96, 96, 3)).astype(np.float32)
    )
    cases.append(Case("compute_loss", (conv3, images, 7), check_scalar, visible=True))
    for seed, num_images, indices in (
        (1, 2, (0, 5, 15)),
        (2, 2, (0, 5, 15)),
        (3, 2, (0, 5, 15)),
        (61, 2, (0, 5, 15)),
        (62, 3, (2, 9)),
        (63, 1, (4, 13)),
    ):
        extractor = random_extractors[seed]
        images = random_images(seed, num_images=num_images)
        for index in indices:
            expected = reference.compute_loss(extractor, images, index)
            cases.append(
                Case(
                    "compute_loss",
                    (extractor, images, index),
                    partial(
                        check,
                        f"compute_loss (random model, {num_images} images, filter "
                        f"{index})",
                        expected,
                        loss_mistakes(extractor, images, index),
                        loss_tolerances,
                    ),
                )
            )
    conv2 = reference.build_feature_extractor(shipped, "conv2")
    for seed, num_images, index in ((4, 1, 11), (64, 2, 23)):
        images = random_images(seed, num_images=num_images, image_size=96)
        cases.append(
            Case(
                "compute_loss",
                (conv2, images, index),
                partial(
                    check,
                    f"compute_loss (small_convnet conv2, {num_images} images, filter "
                    f"{index})",
                    reference.compute_loss(conv2, images, index),
                    loss_mistakes(conv2, images, index),
                    loss_tolerances,
                ),
            )
        )

    # ---------------------------------------------------- gradient_ascent_step
    step_tolerances = {"rtol": 1e-4, "atol": 1e-3}  # values up to ~1500 in float32

    def step_case(label, extractor, image, index, rate):
        """A hidden case of one step, checked against the reference's step."""
        return Case(
            "gradient_ascent_step",
            (extractor, image, index, rate),
            partial(
                check,
                f"gradient_ascent_step ({label})",
                reference.gradient_ascent_step(extractor, image, index, rate),
                step_mistakes(extractor, image, index, rate),
                step_tolerances,
            ),
        )

    start = tf.constant(np.zeros((1, 6, 6, 2), dtype=np.float32))
    expected = np.zeros((1, 6, 6, 2), dtype=np.float32)
    expected[0, 2:4, 2:4, 1] = 5.0
    cases.append(
        Case(
            "gradient_ascent_step",
            (identity, start, 1, 10.0),
            partial(
                check,
                "gradient_ascent_step",
                expected,
                step_mistakes(identity, start, 1, 10.0),
                {"atol": 1e-5},
            ),
            visible=True,
        )
    )
    image = tf.constant(
        np.random.default_rng(0)
        .uniform(100, 150, size=(1, 96, 96, 3))
        .astype(np.float32)
    )
    cases.append(
        Case(
            "gradient_ascent_step",
            (conv3, image, 3, 1275.0),
            partial(check_step_length, image),
            visible=True,
        )
    )
    for seed, image_seed, index, rate in (
        (1, 1, 0, 10.0),
        (2, 2, 5, 1275.0),
        (3, 3, 15, 100.0),
        (4, 4, 9, 1.0),
        (61, 71, 0, 10.0),
        (62, 72, 5, 1275.0),
        (63, 73, 15, 100.0),
        (64, 74, 9, 1.0),
    ):
        image = tf.constant(random_images(image_seed, num_images=1))
        label = f"random model, filter {index}, learning_rate {rate:g}"
        cases.append(step_case(label, random_extractors[seed], image, index, rate))
    # Three steps in a row, each from the student's previous result, as the ascent loop
    # does.
    extractor = random_extractors[5]
    start = tf.constant(random_images(5, num_images=1))
    expected = start
    for _ in range(3):
        expected = reference.gradient_ascent_step(extractor, expected, 2, 300.0)
    cases.append(
        Case(
            "gradient_ascent_step",
            (extractor, start, 2, 300.0),
            partial(
                check,
                "gradient_ascent_step (three steps in a row)",
                expected,
                {},
                step_tolerances,
            ),
            repeat=3,
            repeat_into=1,
        )
    )
    # Later in an ascent: the image after two reference steps, far outside 0..255.
    extractor = random_extractors[65]
    image = tf.constant(random_images(75, num_images=1))
    for _ in range(2):
        image = reference.gradient_ascent_step(extractor, image, 2, 300.0)
    cases.append(step_case("the third step of an ascent", extractor, image, 2, 300.0))
    image = tf.constant(random_images(76, num_images=1, image_size=96))
    cases.append(step_case("small_convnet conv2, filter 40", conv2, image, 40, 1275.0))

    # --------------------------------------------------------- deprocess_image
    picture_tolerances = {"rtol": 0, "atol": 1, "check_dtype": "uint8"}
    board = np.indices((4, 4)).sum(axis=0) % 2 * 2.0
    board = np.repeat(board[:, :, None], 3, axis=2).astype(np.float32)
    spike = np.zeros((4, 4, 3), dtype=np.float32)
    spike[0, 0, :] = 60.0
    spike_expected = np.full((4, 4, 3), 111, dtype=np.uint8)
    spike_expected[0, 0, :] = 255
    constant = np.full((8, 8, 3), 7.0, np.float32)

    def deprocess_case(label, image, crop, expected, visible):
        return Case(
            "deprocess_image",
            (image,),
            partial(
                check,
                label,
                expected,
                deprocess_mistakes(image, crop=crop),
                picture_tolerances,
            ),
            kwargs={"crop": crop},
            visible=visible,
        )

    for image, crop, expected in (
        (
            board,
            1,
            np.repeat(np.array([[64, 192], [192, 64]])[:, :, None], 3, axis=2).astype(
                np.uint8
            ),
        ),
        (spike, 0, spike_expected),
        (constant, 0, np.full((8, 8, 3), 128, np.uint8)),
    ):
        cases.append(deprocess_case("deprocess_image", image, crop, expected, True))
    pattern = (
        np.random.default_rng(0)
        .normal(200.0, 500.0, size=(96, 96, 3))
        .astype(np.float32)
    )
    cases.append(
        Case("deprocess_image", (pattern,), check_picture_shape, visible=True)
    )  # the default crop
    hidden = [(random_pattern(seed), 25) for seed in (11, 12, 13, 81, 82, 83)]
    hidden += [(random_pattern(14), 0), (random_pattern(15, size=40), 5)]
    hidden += [
        (random_pattern(84), 0),
        (random_pattern(85, size=40), 5),
        (random_pattern(86, size=64), 10),
    ]
    hidden += [
        (np.full((96, 96, 3), value, np.float32), 25) for value in (128.0, 0.3, -41.7)
    ]
    for image, crop in hidden:
        expected = reference.deprocess_image(image, crop=crop)
        label = f"deprocess_image (crop={crop})"
        cases.append(deprocess_case(label, image, crop, expected, False))
    pattern = random_pattern(87)
    cases.append(
        Case(
            "deprocess_image",
            (pattern,),
            partial(
                check,
                "deprocess_image (default crop)",
                reference.deprocess_image(pattern),
                deprocess_mistakes(pattern),
                picture_tolerances,
            ),
        )
    )
    cases += visualize_cases()
    logger.setLevel(level)
    # deprocess_image must never change its input (the notebook's tests check it; so
    # does the grader).
    return [
        replace(case, keep_inputs=True) if case.function == "deprocess_image" else case
        for case in cases
    ]


# ------------------------------------------------------------ visualize_filter

FRACTION = 0.7
"""What a student's image must reach, as a fraction of the reference's.

``compute_loss`` of the returned image (the filter's mean activation, border
left out) must be at least ``FRACTION`` times that of
:func:`convviz_ref.filters.visualize_filter` in the same number of steps.
"""

START_FRACTION = 0.3
"""The most the starting points may reach, as a fraction of the reference's.

A hidden filter is used only if both the course's starting noise and a
mid-grey image stay below this fraction of the reference's figure, so an image
that has not climbed (or has climbed down) fails by a margin
(``FRACTION - START_FRACTION``).
"""

VISUALIZE_CASES = (
    # (model: a random_feature_extractor seed, or "conv3" of small_convnet; filter;
    # steps; visible). Each filter fires a little on grey noise (a start where it is
    # silent has no gradient) and far more after the ascent; plain normalized ascent
    # from other starting noises and an Adam ascent from uniform noise reach at least
    # 0.85 of the reference (tests/autograder/test_exercise_filters.py checks it).
    ("conv3", 2, 30, True),
    (2, 0, 30, True),
    (1, 4, 30, False),
    (2, 2, 30, False),
    (2, 4, 30, False),
    (2, 5, 15, False),
    (3, 0, 30, False),
    (3, 2, 30, False),
    (3, 3, 30, False),
    (3, 5, 15, False),
    (3, 6, 30, False),
    (61, 7, 30, False),
    (62, 4, 30, False),
)


def visualize_extractor(model):
    """A fresh feature extractor for a :data:`VISUALIZE_CASES` model.

    ``"conv3"``: ``small_convnet`` cut at ``conv3`` (96x96 inputs); an int:
    :func:`random_feature_extractor` of that seed (16x16). Each call builds a
    new object: the one a student's function gets is never the one the grader
    measures with.
    """
    if isinstance(model, str):
        from convviz_ref.models import load_pretrained

        return reference.build_feature_extractor(
            load_pretrained("small_convnet").model, model
        )
    return random_feature_extractor(model)


def filter_loss(feature_extractor, image, filter_index):
    """:func:`convviz_ref.filters.compute_loss` of one image ``(h, w, 3)``, a float."""
    batch = tf.constant(np.asarray(image, np.float32)[None])
    return float(reference.compute_loss(feature_extractor, batch, filter_index))


PROBE = "filters:run_visualize_filter"
"""The probe of the ``visualize_filter`` cases (``probes/filters.py``): it counts the
gradients the student's function takes with respect to the image."""


def budget_hint(gradients, steps):
    """The usual mistake behind ``gradients`` image gradients for a budget of
    ``steps``, worded to complete "your answer is what you get if you ...".
    """
    if gradients == steps + 1:
        return (
            "took one gradient more than the budget (range(steps + 1), or a "
            "gradient of the final image to check it)"
        )
    if gradients % steps == 0:
        return (
            f"ran `steps` steps from each of {gradients // steps} starts, or took "
            f"{gradients // steps} gradients per step: the budget covers them all "
            "together"
        )
    return (
        "took more gradients than `steps`: each gradient with respect to the image "
        "counts, one per image of a batch"
    )


def _check_visualization(label, measure, filter_index, size, reached, steps, outputs):
    """Judge a returned image: the gradient budget, shape, range, and the activation
    it reaches.

    ``measure``: the grader's own feature extractor; ``reached``: the
    reference's figure on the case; ``steps``: the case's budget.
    """
    from convviz_grade.checks import check_true

    image = np.asarray(outputs["value"])
    hint = "\n  hint: your answer is what you get if you {}"
    gradients = int(np.asarray(outputs["probe"]["gradients"]))
    if gradients > steps:
        raise AssertionError(
            f"{label}: your function took {gradients} gradients of the filter's "
            f"activation with respect to the image (one per image of a batch); the "
            f"budget is steps = {steps}" + hint.format(budget_hint(gradients, steps))
        )
    if image.shape == (1, size, size, 3):
        raise AssertionError(
            f"{label}: expected shape ({size}, {size}, 3), got {image.shape}"
            + hint.format("returned the image with its batch axis (return image[0])")
        )
    check_true(
        label,
        image.shape == (size, size, 3),
        f"expected shape ({size}, {size}, 3), got {image.shape}",
    )
    check_true(
        label,
        np.issubdtype(image.dtype, np.floating)
        or np.issubdtype(image.dtype, np.integer),
        f"expected numbers, got dtype {image.dtype}",
    )
    image = image.astype(np.float64)
    check_true(label, np.isfinite(image).all(), "the image has NaN or infinite values")
    if image.min() < 0.0 or image.max() > 255.0:
        raise AssertionError(
            f"{label}: values must lie in 0..255 (the model's input range), got "
            f"{image.min():.4g}..{image.max():.4g}"
            + hint.format("did not clip the image to 0..255 after each step")
        )
    loss = filter_loss(measure, image, filter_index)
    if loss >= FRACTION * reached:
        return
    message = (
        f"{label}: the filter's mean activation on your image is {loss:.4g}; it must "
        f"reach at least {FRACTION:g} x {reached:.4g} (what the course's clipped "
        "ascent reaches in the same number of steps)"
    )
    if loss <= START_FRACTION * reached:
        message += hint.format(
            "stepped down the gradient (image - ...) instead of up, or took steps "
            "far too short (the book's 10 is for inputs in [-1, 1]; 1275 for 0..255), "
            "or started where the filter is silent (start from noise)"
        )
    else:
        message += (
            "\n  hint: climb further: a step of the course's length (1275 for 0..255 "
            "inputs, the book's 10 scaled), every one of `steps` steps"
        )
    raise AssertionError(message)


def visualize_cases():
    """The cases of ``visualize_filter``, visible first (:data:`VISUALIZE_CASES`).

    Each case checks, at build time, that the reference's figure is more than
    ``1 / START_FRACTION`` times what the course's starting noise and a grey
    image reach: the grade cannot be earned without climbing.
    """
    from functools import partial

    from convviz_grade.grading import Case

    cases = []
    for model, filter_index, steps, visible in VISUALIZE_CASES:
        extractor, measure = visualize_extractor(model), visualize_extractor(model)
        size = extractor.input_shape[1]
        reached = filter_loss(
            measure,
            reference.visualize_filter(
                visualize_extractor(model), filter_index, image_size=size, steps=steps
            ),
            filter_index,
        )
        starts = [
            reference.initial_image(size, seed=0)[0],
            np.full((size, size, 3), 127.5, np.float32),
        ]
        start = max(filter_loss(measure, image, filter_index) for image in starts)
        if not start < START_FRACTION * reached:
            raise RuntimeError(
                f"visualize_filter case {model}, filter {filter_index}: the start "
                f"reaches {start:.4g} of the reference's {reached:.4g}"
            )
        name = "small_convnet conv3" if isinstance(model, str) else "a random model"
        label = f"visualize_filter ({name}, filter {filter_index}, {steps} steps)"
        cases.append(
            Case(
                "visualize_filter",
                (extractor, filter_index),
                partial(
                    _check_visualization,
                    label,
                    measure,
                    filter_index,
                    size,
                    reached,
                    steps,
                ),
                kwargs={"image_size": size, "steps": steps},
                kind="probe",
                probe=PROBE,
                visible=visible,
            )
        )
    return cases


def explain_error(case, message):
    """A hint for an error raised by the student's code (see
    :mod:`convviz_grade.grading`).
    """
    if case.function == "visualize_filter" and "incompatible with the layer" in message:
        return (
            "the feature extractor takes a batch, (1, height, width, 3): add the batch "
            "axis (image[None]) before calling it"
        )
    return None
