"""The ``filters`` exercise: its grading helpers, and its notebook run with other
answers.

The fast tests check ``convviz_grade.assignments.filters`` in-process: the
random models are deterministic, and every usual mistake really gives
another result than ``convviz_ref``. For ``visualize_filter``, graded on the
activation its image reaches, the tests measure the margins the cases rely on
(other honest methods from other starts pass every case; a constant image,
noise, a descent, no clipping, the book's unscaled step and going over the
budget of gradients fail, with their hint; the probe counts every image
gradient, eager or traced). The two slow tests run the solution notebook,
once with independently written correct answers (full marks), once with a
usual mistake in every function (each fails, and says which mistake).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from convviz_grade import cases, grading
from convviz_grade.assignments import filters as assignment
from exercise_tools import AnswersInTheNotebook

from convviz_ref import filters as reference

# ----------------------------------------------------------------- helpers


def test_random_feature_extractor_is_deterministic_by_seed():
    first, again, other = (
        assignment.random_feature_extractor(seed) for seed in (1, 1, 2)
    )
    images = assignment.random_images(0)
    np.testing.assert_array_equal(np.asarray(first(images)), np.asarray(again(images)))
    assert not np.allclose(np.asarray(first(images)), np.asarray(other(images)))
    assert [layer.name for layer in first.layers] == [
        "image",
        "rescaling",
        "conv1",
        "conv2",
    ]


def test_random_inputs_are_deterministic_by_seed():
    np.testing.assert_array_equal(
        assignment.random_images(3, 2), assignment.random_images(3, 2)
    )
    assert not np.array_equal(assignment.random_images(3), assignment.random_images(4))
    np.testing.assert_array_equal(
        assignment.random_pattern(5), assignment.random_pattern(5)
    )
    pattern = assignment.random_pattern(5)
    assert (
        pattern.min() < 0 or pattern.max() > 255
    )  # like an ascent result, outside 0..255


def _differs(wrong, expected, *, rtol, atol):
    wrong, expected = np.asarray(wrong, np.float64), np.asarray(expected, np.float64)
    return wrong.shape != expected.shape or not np.allclose(
        wrong, expected, rtol=rtol, atol=atol, equal_nan=True
    )


@pytest.mark.parametrize("seed, filter_index", [(1, 0), (2, 5), (3, 15)])
def test_every_loss_mistake_differs_from_the_reference(seed, filter_index):
    extractor = assignment.random_feature_extractor(seed)
    images = assignment.random_images(seed, num_images=2)
    expected = float(reference.compute_loss(extractor, images, filter_index))
    mistakes = assignment.loss_mistakes(extractor, images, filter_index)
    assert (
        len(mistakes) == 6
    )  # five slicing or reduction mistakes, and the first image only
    for hint, wrong in mistakes.items():
        assert _differs(wrong, expected, rtol=1e-4, atol=1e-6), hint


@pytest.mark.parametrize(
    "seed, filter_index, learning_rate", [(1, 0, 10.0), (2, 5, 1275.0)]
)
def test_every_step_mistake_differs_from_the_reference(
    seed, filter_index, learning_rate
):
    extractor = assignment.random_feature_extractor(seed)
    image = tf.constant(assignment.random_images(seed))
    expected = reference.gradient_ascent_step(
        extractor, image, filter_index, learning_rate
    )
    mistakes = assignment.step_mistakes(extractor, image, filter_index, learning_rate)
    assert len(mistakes) == 7
    for hint, wrong in mistakes.items():
        assert _differs(wrong, expected, rtol=1e-4, atol=1e-3), hint


def test_a_step_with_a_wrong_loss_is_named():
    """A step taken with a no-border loss matches the hint that says to fix compute_loss
    first.
    """
    extractor = assignment.random_feature_extractor(1)
    image = tf.constant(assignment.random_images(1))
    with tf.GradientTape() as tape:
        tape.watch(image)
        loss = tf.reduce_mean(extractor(image)[..., 3])
    stepped = image + 10.0 * tf.math.l2_normalize(tape.gradient(loss, image))
    mistakes = assignment.step_mistakes(extractor, image, 3, 10.0)
    hint = (
        "used a compute_loss that left out no border (use activation[:, 2:-2, 2:-2, "
        "filter_index]) "
        "(fix compute_loss first)"
    )
    np.testing.assert_allclose(mistakes[hint], stepped, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize(
    "image, crop, count",
    [
        (assignment.random_pattern(11), 25, 6),
        (
            assignment.random_pattern(15, size=40),
            5,
            5,
        ),  # cropping first changes too little here
        (assignment.random_pattern(14), 0, 3),
        (np.full((96, 96, 3), 128.0, np.float32), 25, 6),
        (np.full((96, 96, 3), 0.3, np.float32), 25, 6),
    ],
)
def test_every_deprocess_mistake_differs_from_the_reference(image, crop, count):
    expected = reference.deprocess_image(image, crop=crop)
    mistakes = assignment.deprocess_mistakes(image, crop=crop)
    assert len(mistakes) == count, list(mistakes)
    for hint, wrong in mistakes.items():
        assert _differs(wrong, expected, rtol=0, atol=1), hint


def test_deprocess_mistakes_name_the_constant_image_cases():
    exact = assignment.deprocess_mistakes(np.full((96, 96, 3), 128.0, np.float32))
    rounded = assignment.deprocess_mistakes(np.full((96, 96, 3), 0.3, np.float32))
    # The constant-image hint comes first: it is the one named when several give the
    # same picture.
    assert next(iter(exact)).startswith("divided by a standard deviation of 0")
    assert next(iter(rounded)).startswith("tested std > 0")


def test_deprocess_mistakes_leave_the_input_as_it_was():
    image = assignment.random_pattern(12)
    before = image.copy()
    assignment.deprocess_mistakes(image)
    np.testing.assert_array_equal(image, before)


# ------------------------------------------------------- visualize_filter

VISUALIZE_HEADER = (
    "def visualize_filter(feature_extractor, filter_index, *, image_size=96, "
    "steps=30):\n"
)
# The course's method written out, from a noise of its own (not the reference's).
PLAIN_ASCENT = (
    VISUALIZE_HEADER
    + """    rng = np.random.default_rng(1)
    start = rng.uniform(110, 145, (1, image_size, image_size, 3))
    image = tf.constant(start, tf.float32)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            tape.watch(image)
            activation = feature_extractor(image)[:, 2:-2, 2:-2, filter_index]
            loss = tf.reduce_mean(activation)
        gradient = tf.math.l2_normalize(tape.gradient(loss, image))
        image = tf.clip_by_value(image + 1275.0 * gradient, 0.0, 255.0)
    return image[0].numpy()
"""
)
# Another method: Adam on a variable from uniform noise, clipped after each update.
ADAM_ASCENT = (
    VISUALIZE_HEADER
    + """    pixels = tf.Variable(
        np.random.default_rng(7).uniform(0, 255, (1, image_size, image_size, 3)),
        dtype=tf.float32,
    )
    optimizer = keras.optimizers.Adam(learning_rate=20.0)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            maps = feature_extractor(pixels)
            score = tf.reduce_mean(maps[:, 2:-2, 2:-2, filter_index])
        optimizer.apply_gradients([(-tape.gradient(score, pixels), pixels)])
        pixels.assign(tf.clip_by_value(pixels, 0.0, 255.0))
    return np.asarray(pixels.numpy()[0])
"""
)


def ascent_variant(old, new):
    assert PLAIN_ASCENT.count(old) == 1, old
    return PLAIN_ASCENT.replace(old, new)


DESCENDS = ascent_variant("image + 1275.0 * gradient", "image - 1275.0 * gradient")
NO_CLIP = ascent_variant(
    "tf.clip_by_value(image + 1275.0 * gradient, 0.0, 255.0)",
    "image + 1275.0 * gradient",
)
BOOK_STEP = ascent_variant("image + 1275.0 * gradient", "image + 10.0 * gradient")
WITH_BATCH_AXIS = ascent_variant(
    "    return image[0].numpy()", "    return image.numpy()"
)
NO_BATCH_AXIS = ascent_variant(
    "(1, image_size, image_size, 3)", "(image_size, image_size, 3)"
)
# Over the budget of `steps` gradients: one step too many, and two starts of `steps`
# steps each in one batch.
ONE_MORE = ascent_variant("for _ in range(steps):", "for _ in range(steps + 1):")
TWO_STARTS = ascent_variant(
    "(1, image_size, image_size, 3)", "(2, image_size, image_size, 3)"
)
# The course's method inside one traced while loop over a batch of 3 starts: every
# iteration's gradient counts, though Python runs the loop's body once.
TRACED_STARTS = (
    VISUALIZE_HEADER
    + """    def body(number, image):
        with tf.GradientTape() as tape:
            tape.watch(image)
            activation = feature_extractor(image)[:, 2:-2, 2:-2, filter_index]
            loss = tf.reduce_mean(activation)
        gradient = tf.math.l2_normalize(tape.gradient(loss, image))
        return number + 1, tf.clip_by_value(image + 1275.0 * gradient, 0.0, 255.0)

    @tf.function(autograph=False)
    def ascent(image):
        return tf.while_loop(lambda number, _: number < steps, body, [0, image])[1]

    start = np.random.default_rng(1).uniform(110, 145, (3, image_size, image_size, 3))
    return ascent(tf.constant(start, tf.float32))[0].numpy()
"""
)
CONSTANT = VISUALIZE_HEADER + "    return np.full((image_size, image_size, 3), 255.0)\n"
NOISE = (
    VISUALIZE_HEADER
    + "    rng = np.random.default_rng(0)\n"
    + "    return rng.uniform(0, 255, (image_size, image_size, 3))\n"
)


def visualize_cases():
    """The cases, made once per process (``cases.assignment_cases`` keeps them)."""
    return [
        case
        for case in cases.assignment_cases(ASSIGNMENT)[1]
        if case.function == "visualize_filter"
    ]


def failures(source, *, first=False):
    """``(visible, message)`` of each case ``source``'s function fails, in order
    (``first``: stop at the first failure)."""
    namespace = {"np": np, "tf": tf, "keras": keras}
    exec(source, namespace)
    found = []
    for case in visualize_cases():
        try:
            grading.check_outputs(
                case, cases.outputs_of(case, namespace["visualize_filter"])
            )
        except AssertionError as error:
            found.append((case.visible, str(error)))
        except Exception as error:  # noqa: BLE001 - the student's code raised
            message = f"{type(error).__name__}: {error}"
            hint = assignment.explain_error(case, message)
            found.append((case.visible, f"{message}\n  hint: {hint}"))
        if first and found:
            break
    return found


def test_the_cases_leave_a_margin_between_the_start_and_the_bar():
    found = visualize_cases()
    assert [case.visible for case in found].count(True) == 2
    assert len(found) == len(assignment.VISUALIZE_CASES) >= 12
    assert assignment.START_FRACTION < assignment.FRACTION - 0.3
    # Each case's measuring model is not the one the student's function gets.
    for case in found:
        assert case.check.args[1] is not case.args[0]


def test_the_probe_counts_each_image_gradient_however_it_is_taken():
    """Eager steps, Adam on a variable and a traced loop over 3 starts: the probe
    counts one gradient per image and step, and the check names the budget."""
    from convviz_grade.probes.filters import run_visualize_filter

    extractor = assignment.random_feature_extractor(2)
    steps = 6
    counts = {}
    for name, source in (
        ("plain", PLAIN_ASCENT),
        ("adam", ADAM_ASCENT),
        ("traced", TRACED_STARTS),
    ):
        namespace = {"np": np, "tf": tf, "keras": keras}
        exec(source, namespace)
        probe = run_visualize_filter(
            namespace["visualize_filter"],
            [extractor, 0],
            {"image_size": 16, "steps": steps},
        )
        counts[name] = int(probe["gradients"])
    assert counts == {"plain": steps, "adam": steps, "traced": 3 * steps}
    assert assignment.budget_hint(3 * steps, steps).startswith(
        "ran `steps` steps from each of 3 starts"
    )
    assert assignment.budget_hint(steps + 4, steps).startswith(
        "took more gradients than `steps`"
    )


# The other honest method, ADAM_ASCENT, is CORRECT's visualize_filter: the notebook's
# visible and hidden cells run it on every case, with the checks failures() uses
# (outputs_of, then check_outputs), in
# TestAnswersInTheNotebook.test_an_independent_correct_answer_earns_full_marks.
@pytest.mark.slow
def test_the_plain_ascent_from_another_start_passes_every_case():
    assert failures(PLAIN_ASCENT) == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "source, hint",
    [
        (DESCENDS, "stepped down the gradient"),
        (NO_CLIP, "did not clip the image to 0..255"),
        (BOOK_STEP, "took steps far too short"),
        (WITH_BATCH_AXIS, "returned the image with its batch axis"),
        (NO_BATCH_AXIS, "hint: the feature extractor takes a batch"),
        (CONSTANT, ""),
        (NOISE, ""),
        (ONE_MORE, "took one gradient more than the budget"),
        (TWO_STARTS, "ran `steps` steps from each of 2 starts"),
    ],
    ids=[
        "descends",
        "no-clip",
        "book-step",
        "batch-axis",
        "no-batch",
        "white",
        "noise",
        "one-more",
        "two-starts",
    ],
)
def test_usual_mistakes_and_shortcuts_fail_a_visible_case(source, hint):
    found = failures(source, first=True)
    assert found and found[0][0], found[:1]  # a visible case fails first
    assert hint in found[0][1], found[0][1]


# ---------------------------------------------------------- notebook runs

ASSIGNMENT = "filters"
CORRECT = {
    "compute_loss": """
def compute_loss(feature_extractor, image, filter_index):
    maps = feature_extractor(tf.convert_to_tensor(image, tf.float32))
    height, width = maps.shape[1], maps.shape[2]
    inner = tf.gather(maps[:, 2 : height - 2, 2 : width - 2, :], [filter_index], axis=3)
    return tf.reduce_sum(inner) / tf.cast(tf.size(inner), inner.dtype)
""",
    "gradient_ascent_step": """
def gradient_ascent_step(feature_extractor, image, filter_index, learning_rate):
    pixels = tf.Variable(
        tf.cast(image, tf.float32)
    )  # a variable: the tape watches it by itself
    with tf.GradientTape() as tape:
        score = compute_loss(feature_extractor, pixels, filter_index)
    slope = tape.gradient(score, pixels).numpy().astype(np.float64)
    length = max(
        np.sqrt(np.sum(slope * slope)), 1e-6
    )  # the floor tf.math.l2_normalize uses
    moved = pixels.numpy().astype(np.float64) + learning_rate * (slope / length)
    return tf.constant(moved.astype(np.float32))
""",
    "deprocess_image": """
def deprocess_image(image, crop=25):
    values = np.asarray(
        image, dtype=np.float64
    )  # float64: a new array, the input is untouched
    if np.ptp(values) == 0:
        scaled = np.full(values.shape, 128.0)
    else:
        scaled = 128.0 + 64.0 * (values - values.mean()) / values.std()
    picture = np.clip(scaled, 0.0, 255.0).astype(np.uint8)
    height, width = picture.shape[:2]
    return picture[crop : height - crop, crop : width - crop]
""",
    "visualize_filter": ADAM_ASCENT,
}

MISTAKEN = {
    # The 2-pixel border is not cut.
    "compute_loss": """
def compute_loss(feature_extractor, image, filter_index):
    return tf.reduce_mean(feature_extractor(image)[:, :, :, filter_index])
""",
    # The gradient is not normalized (the loss is written out here, correctly, so that
    # only the step itself is wrong).
    "gradient_ascent_step": """
def gradient_ascent_step(feature_extractor, image, filter_index, learning_rate):
    with tf.GradientTape() as tape:
        tape.watch(image)
        loss = tf.reduce_mean(feature_extractor(image)[:, 2:-2, 2:-2, filter_index])
    return image + learning_rate * tape.gradient(loss, image)
""",
    # No crop.
    "deprocess_image": """
def deprocess_image(image, crop=25):
    image = np.array(image, dtype=np.float32)
    std = image.std()
    image = (image - image.mean()) / (std if std > 0 else 1.0) * 64 + 128
    return np.clip(image, 0, 255).astype(np.uint8)
""",
    # No clipping: the image leaves 0..255.
    "visualize_filter": NO_CLIP,
}

HINTS = {
    "compute_loss": "left out no border",
    "gradient_ascent_step": "did not normalize the gradient",
    "deprocess_image": "forgot the 25-pixel crop",
    "visualize_filter": "did not clip the image to 0..255",
}


class TestAnswersInTheNotebook(AnswersInTheNotebook):
    functions = list(CORRECT)
    hints = HINTS
    named_by = "any"
