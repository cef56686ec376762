"""The ``activations`` exercise: its grading helpers, and its notebook run with other
answers.

The fast tests check ``convviz_grade.assignments.activations`` in-process:
the random models and activations are deterministic, every usual mistake of
``channel_grid`` really gives another grid than ``convviz_ref``, and every
usual mistake of ``build_activation_model`` fails its probe cases with its
hint while the reference and an independent answer pass. The two slow tests
run the solution notebook, once with independently written correct answers
(full marks), once with a usual mistake in each function (it fails, and says
which mistake), and once with answers that call the course's own functions
under any name a cell left them (they fail: no cell hands them out).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from convviz_grade import cases, grading
from convviz_grade.assignments import activations as assignment
from exercise_tools import AnswersInTheNotebook

from convviz_ref import activations as reference

# ----------------------------------------------------------------- helpers


def test_random_model_is_deterministic_by_seed():
    images = assignment.random_images(0)
    first, again, other = (assignment.random_model(seed)(images) for seed in (1, 1, 2))
    assert [tuple(output.shape) for output in first] == [
        (1, 14, 14, 16),
        (1, 7, 7, 16),
        (1, 5, 5, 20),
    ]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert not np.allclose(np.asarray(first[0]), np.asarray(other[0]))


def test_random_activation_is_deterministic_and_has_constant_channels():
    activation = assignment.random_activation(1)
    np.testing.assert_array_equal(activation, assignment.random_activation(1))
    assert not np.array_equal(activation, assignment.random_activation(2))
    channel_1, channel_3 = activation[0, :, :, 1], activation[0, :, :, 3]
    assert channel_1.max() == channel_1.min() == 0
    assert channel_3.max() == channel_3.min() != 0
    assert channel_3.std() > 0  # the float32 round-off the tests rely on


@pytest.mark.parametrize("seed, images_per_row", [(1, 4), (2, 3), (3, 5)])
def test_every_grid_mistake_differs_from_the_reference(seed, images_per_row):
    activation = assignment.random_activation(seed)
    expected = reference.channel_grid(activation, images_per_row).astype(np.float64)
    mistakes = assignment.grid_mistakes(activation, images_per_row)
    assert len(mistakes) == 9
    for hint, wrong in mistakes.items():
        assert wrong.dtype == np.uint8, hint
        differs = wrong.shape != expected.shape or not np.allclose(
            wrong, expected, rtol=0, atol=1
        )
        assert differs, hint


def test_grid_mistakes_on_a_real_layer_include_the_main_ones():
    activation = np.asarray(assignment.random_model(1)(assignment.random_images(1))[0])
    mistakes = assignment.grid_mistakes(activation, 6)
    for hint in (
        "divided by the maximum instead of the standard deviation",
        "cast to uint8 before clipping",
        "left out the 1-pixel separator between tiles",
    ):
        assert hint in mistakes


def test_grid_mistakes_leave_the_input_as_it_was():
    activation = assignment.random_activation(4)
    before = activation.copy()
    assignment.grid_mistakes(activation, 4)
    np.testing.assert_array_equal(activation, before)


# ---------------------------------------------------------- notebook runs

CORRECT_GRID = """
def channel_grid(activation, images_per_row=16):
    maps = np.array(
        activation, dtype=np.float64
    )  # float64, and a copy of the input
    maps = maps.reshape(maps.shape[-3:])  # (1, h, w, c) or (h, w, c) -> (h, w, c)
    height, width, count = maps.shape
    tiles = []
    for index in range(count):
        values = maps[..., index]
        if np.ptp(values) == 0:
            tiles.append(np.zeros((height, width)))
        else:
            tiles.append(
                np.clip(
                    128.0 + 64.0 * (values - values.mean()) / values.std(),
                    0.0,
                    255.0,
                )
            )
    num_rows = int(np.ceil(count / images_per_row))
    tiles += [np.zeros((height, width))] * (num_rows * images_per_row - count)
    gap_right = np.zeros((height, 1))
    lines = []
    for row in range(num_rows):
        parts = []
        for tile in tiles[row * images_per_row : (row + 1) * images_per_row]:
            parts += [tile, gap_right]
        lines += [
            np.hstack(parts[:-1]),
            np.zeros((1, images_per_row * (width + 1) - 1)),
        ]
    return np.vstack(lines[:-1]).astype(np.uint8)
"""

# Another correct answer, in float32 into a preallocated grid. The mistakes here and in
# test_secure_grading_activations.py are this answer with a line or two changed.
FLOAT32_GRID = """
def channel_grid(activation, images_per_row=16):
    activation = np.array(activation, dtype=np.float32)
    height, width, channels = activation.shape[-3:]  # with or without the batch axis
    activation = activation.reshape(height, width, channels)
    rows = -(-channels // images_per_row)
    size = (rows * (height + 1) - 1, images_per_row * (width + 1) - 1)
    grid = np.zeros(size, np.uint8)
    for index in range(channels):
        channel = activation[:, :, index]
        if channel.max() == channel.min():
            continue
        scaled = (channel - channel.mean()) / channel.std() * 64 + 128
        top, left = divmod(index, images_per_row)
        top, left = top * (height + 1), left * (width + 1)
        grid[top : top + height, left : left + width] = np.clip(scaled, 0, 255)
    return grid
"""


def variant(source, old, new):
    """``source`` with ``old``, which it holds once, replaced by ``new``."""
    assert source.count(old) == 1, old
    return source.replace(old, new)


GRID_BY_MAXIMUM = variant(
    FLOAT32_GRID,
    "        scaled = (channel - channel.mean()) / channel.std() * 64 + 128\n",
    "        centered = channel - channel.mean()\n"
    "        scaled = centered / centered.max() * 64 + 128\n",
)


# ------------------------------------------------- build_activation_model

ACTIVATION_MODEL = """
def build_activation_model(model, layer_names=None, *, input_shape=None):
    kinds = (
        keras.layers.Conv2D,
        keras.layers.SeparableConv2D,
        keras.layers.DepthwiseConv2D,
        keras.layers.Conv2DTranspose,
        keras.layers.MaxPooling2D,
        keras.layers.AveragePooling2D,
    )
    if layer_names is None:
        layer_names = [layer.name for layer in model.layers if isinstance(layer, kinds)]
    try:
        inputs = model.inputs[0]
        by_name = {layer.name: layer.output for layer in model.layers}
    except (AttributeError, ValueError):  # a Sequential model not built yet
        inputs = keras.Input(shape=tuple(input_shape))
        by_name, x = {}, inputs
        for layer in model.layers:
            x = layer(x)
            by_name[layer.name] = x
    return keras.Model(inputs, [by_name[name] for name in layer_names])
"""
"""An independent correct answer: ``model.inputs`` when there is one, else a new
input through the model's own layers."""

# The usual mistakes, each this answer with a line or two changed.
ONLY_LAST = variant(
    ACTIVATION_MODEL,
    "[by_name[name] for name in layer_names]",
    "by_name[layer_names[-1]]",
)
MODEL_ORDER = variant(
    ACTIVATION_MODEL,
    "[by_name[name] for name in layer_names]",
    "[by_name[layer.name] for layer in model.layers if layer.name in layer_names]",
)
FRESH_LAYERS = variant(
    ACTIVATION_MODEL,
    "    if layer_names is None:",
    "    model = keras.models.clone_model(model)  # new layers, new weights\n"
    "    if layer_names is None:",
)
COPIED_WEIGHTS = variant(
    ACTIVATION_MODEL,
    "    if layer_names is None:",
    "    weights = model.get_weights()\n"
    "    model = keras.models.clone_model(model)\n"
    "    model.set_weights(weights)\n"
    "    if layer_names is None:",
)
FUNCTIONAL_ONLY = """
def build_activation_model(model, layer_names=None, *, input_shape=None):
    if layer_names is None:
        layer_names = [
            layer.name
            for layer in model.layers
            if isinstance(layer, (keras.layers.Conv2D, keras.layers.MaxPooling2D))
        ]
    outputs = [model.get_layer(name).output for name in layer_names]
    return keras.Model(model.input, outputs)
"""
"""``model.input``, which a Sequential model does not have in Keras 3."""

A_FUNCTION = variant(
    ACTIVATION_MODEL,
    "    return keras.Model(inputs, [by_name[name] for name in layer_names])\n",
    "    inner = keras.Model(inputs, [by_name[name] for name in layer_names])\n"
    "    return lambda images: inner(images)  # a function, not a keras.Model\n",
)

HINT_OF = {
    ONLY_LAST: "returned only the last layer's output",
    MODEL_ORDER: "returned the outputs in another order than layer_names",
    FRESH_LAYERS: "built new layers (fresh weights)",
    COPIED_WEIGHTS: "copied the model or its weights",
    A_FUNCTION: "returned a function that runs the layers instead of a keras.Model",
}


def activation_model_cases():
    """The cases, made once per process (``cases.assignment_cases`` keeps them)."""
    return [
        case
        for case in cases.assignment_cases(ASSIGNMENT)[1]
        if case.function == "build_activation_model"
    ]


def defined(source):
    namespace = {"np": np, "keras": keras, "tf": tf}
    exec(source, namespace)
    return namespace["build_activation_model"]


def first_failure(function):
    """The message of the first case ``function`` fails, as the grader words it."""
    for case in activation_model_cases():
        try:
            grading.check_outputs(case, cases.outputs_of(case, function))
        except AssertionError as error:
            return f"({'visible' if case.visible else 'hidden'} test) {error}"
        except Exception as error:  # noqa: BLE001 - the student's code raised
            message = f"{type(error).__name__}: {error}"
            return f"{message}\n  hint: {assignment.explain_error(case, message)}"
    return None


def test_the_hidden_models_are_deterministic_and_their_names_unguessable():
    images = assignment.random_images(3, num_images=2)
    first, again = assignment.branched_model(3), assignment.branched_model(3)
    np.testing.assert_array_equal(np.asarray(first(images)), np.asarray(again(images)))
    names = [layer.name for layer in first.layers]
    assert names[:2] == ["image", "rescaling"]
    assert not any(word in name for name in names[2:] for word in ("conv", "pool"))
    assert names != [layer.name for layer in assignment.branched_model(4).layers]
    built = assignment.sequential_model(5, build="build")
    assert built.built and [layer.name for layer in built.layers] == [
        layer.name for layer in assignment.sequential_model(5).layers
    ]


def test_the_cases_cover_every_kind_of_model():
    found = activation_model_cases()
    visible = [case.visible for case in found]
    assert visible == sorted(visible, reverse=True) and visible.count(True) == 2
    assert {case.probe_kwargs["unbuilt"] for case in found} == {True, False}
    assert any(case.args[1] is None for case in found)
    assert any(
        isinstance(case.args[0], keras.Sequential) and not case.probe_kwargs["unbuilt"]
        for case in found
    )
    assert any(
        any(isinstance(layer, keras.layers.Add) for layer in case.args[0].layers)
        for case in found
    )


@pytest.mark.slow
def test_the_reference_and_an_independent_answer_pass_every_case():
    from convviz_ref import activations as reference

    assert first_failure(reference.build_activation_model) is None
    assert first_failure(defined(ACTIVATION_MODEL)) is None


@pytest.mark.slow
@pytest.mark.parametrize(
    "source",
    list(HINT_OF),
    ids=["only-last", "order", "fresh", "copied", "a-function"],
)
def test_each_activation_model_mistake_fails_a_visible_case_with_its_hint(source):
    message = first_failure(defined(source))
    assert message.startswith("(visible test)"), message
    assert f"hint: your answer is what you get if you {HINT_OF[source]}" in message


@pytest.mark.slow
def test_model_input_on_a_sequential_model_is_explained():
    message = first_failure(defined(FUNCTIONAL_ONLY))
    assert "has never been called" in message
    assert "hint: in Keras 3 a Sequential model has no `.input`" in message


def test_the_probe_puts_the_original_weights_back():
    [case, *_] = activation_model_cases()
    model = case.args[0]
    before = [np.array(weight) for weight in model.get_weights()]
    cases.outputs_of(case, defined(COPIED_WEIGHTS))
    for weight, kept in zip(model.get_weights(), before):
        np.testing.assert_array_equal(weight, kept)


ASSIGNMENT = "activations"
CORRECT = {"channel_grid": CORRECT_GRID, "build_activation_model": ACTIVATION_MODEL}
MISTAKEN = {"channel_grid": GRID_BY_MAXIMUM, "build_activation_model": MODEL_ORDER}

NOWHERE = "is nowhere in the notebook's namespace"
COURSE_FUNCTION = f"""
def _course_function(name):
    # The course's own function, under whatever name a cell run before left it.
    for value in list(globals().values()):
        if (
            getattr(value, "__module__", None) == "convviz_ref.activations"
            and getattr(value, "__name__", None) == name
        ):
            return value
    raise NameError(f"the course's {{name}} {NOWHERE}")
"""
# A copied reference: each answer calls the course's function if any cell run before
# the test left it in the namespace, under any name (the setup once imported it as
# course_activation_model, a visible test as _build_activation_model). Looked up at
# call time, so every cell above the test counts.
COPIED_REFERENCE = {
    "channel_grid": COURSE_FUNCTION
    + """
def channel_grid(activation, images_per_row=16):
    return _course_function("channel_grid")(activation, images_per_row)
""",
    "build_activation_model": COURSE_FUNCTION
    + """
def build_activation_model(model, layer_names=None, *, input_shape=None):
    return _course_function("build_activation_model")(
        model, layer_names, input_shape=input_shape
    )
""",
}


@pytest.fixture(scope="module")
def notebook_runs(tmp_path_factory):
    """The notebook run with CORRECT, MISTAKEN and COPIED_REFERENCE, in one kernel
    (this module's own version of tests/conftest.py's fixture, with a third set)."""
    from exercise_tools import run_answer_sets

    return run_answer_sets(
        ASSIGNMENT,
        [CORRECT, MISTAKEN, COPIED_REFERENCE],
        tmp_path_factory.mktemp("runs"),
    )


class TestAnswersInTheNotebook(AnswersInTheNotebook):
    functions = list(CORRECT)
    hints = {
        "channel_grid": "divided by the maximum instead of the standard deviation",
        "build_activation_model": HINT_OF[MODEL_ORDER],
    }
    named_by = "any"

    @pytest.mark.slow
    def test_a_copied_reference_fails_validate(self, notebook_runs):
        """No cell leaves the course's functions where an answer can reach them: as
        ``convviz-grade validate`` and ``nbgrader autograde`` run it, in the kernel,
        an answer that calls them scores 0 (the worker never has them)."""
        results, other_errors = notebook_runs[2]
        assert list(results) == self.functions
        for name, result in results.items():
            assert not result.passed and result.points == 0, name
            assert [kind for kind, _ in result.failures] == ["visible", "hidden"]
            for _, message in result.failures:
                assert f"the course's {name} {NOWHERE}" in message, message
        # The figure that draws the grids with channel_grid fails the same way.
        assert other_errors and all(NOWHERE in error for error in other_errors)
