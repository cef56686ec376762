"""The architecture exercise: its helpers, and its notebook's grading of right and wrong
answers.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from convviz_grade.assignments import architecture as assignment
from exercise_tools import AnswersInTheNotebook, names_bound
from keras import layers

from convviz_ref import models as reference

# An independently written correct block: other layer names (Keras' defaults),
# the projection created first, separate ReLU layers, layers.Add, MaxPool2D.
CORRECT_BLOCK = """
def residual_block(
    x, filters, *, pooling=False, separable=False, bn_momentum=0.9, name="block"
):
    if separable:
        return separable_block(
            x, filters, pooling=pooling, bn_momentum=bn_momentum, name=name
        )
    shortcut = x
    if pooling or x.shape[-1] != filters:
        step = (2, 2) if pooling else (1, 1)
        shortcut = layers.Conv2D(
            filters, kernel_size=(1, 1), strides=step, padding="same"
        )(shortcut)
    y = x
    for _ in range(2):
        y = layers.Conv2D(filters, (3, 3), padding="same")(y)
        y = layers.ReLU()(y)
    if pooling:
        y = layers.MaxPool2D(pool_size=3, strides=2, padding="same")(y)
    return layers.Add()([shortcut, y])
"""

CORRECT_COUNT = """
def count_conv_params(
    kernel_size, in_channels, out_channels, *, separable=False, use_bias=False
):
    spatial = kernel_size**2
    total = (
        in_channels * (spatial + out_channels)
        if separable
        else spatial * in_channels * out_channels
    )
    return total + use_bias * out_channels
"""

# An independently written separable block: DepthwiseConv2D then a 1x1 Conv2D
# instead of SeparableConv2D, layers.ReLU, the projection first, Keras' default
# names, layers.Add with the operands swapped, MaxPool2D.
CORRECT_SEPARABLE = """
def separable_block(x, filters, *, pooling=False, bn_momentum=0.9, name="block"):
    shortcut = x
    if pooling or x.shape[-1] != filters:
        shortcut = layers.Conv2D(
            filters, (1, 1), strides=(2, 2) if pooling else (1, 1), padding="same",
            use_bias=False,
        )(x)
    y = x
    for _ in range(2):
        y = layers.BatchNormalization(momentum=bn_momentum)(y)
        y = layers.ReLU()(y)
        y = layers.DepthwiseConv2D((3, 3), padding="same", use_bias=False)(y)
        y = layers.Conv2D(filters, 1, use_bias=False)(y)
    if pooling:
        y = layers.MaxPool2D(pool_size=(3, 3), strides=2, padding="same")(y)
    return layers.Add()([shortcut, y])
"""

# An independently written model: its own loop, keras.ops-free layers with default
# names, layers.ReLU, GlobalAvgPool2D, the name passed at the end.
CORRECT_MODEL = """
def build_xception_like(
    image_size=96, num_classes=4, widths=(32, 64, 128, 256), entry_filters=32,
    dropout=0.5, bn_momentum=0.9, name="xception_like",
):
    image = keras.Input((image_size, image_size, 3))
    features = layers.Rescaling(scale=1 / 255.0)(image)
    features = layers.Conv2D(
        entry_filters, (5, 5), padding="same", use_bias=False
    )(features)
    for number, width in enumerate(list(widths)):
        features = separable_block(
            features, width, pooling=True, bn_momentum=bn_momentum,
            name=f"stage{number}",
        )
    features = layers.ReLU()(layers.BatchNormalization(momentum=bn_momentum)(features))
    pooled = layers.Dropout(rate=dropout)(layers.GlobalAvgPool2D()(features))
    probabilities = layers.Dense(num_classes, activation="softmax")(pooled)
    return keras.Model(inputs=image, outputs=probabilities, name=name)
"""

# The usual mistakes, one per function.
BLOCK_RELU_AFTER_ADD = """
def residual_block(
    x, filters, *, pooling=False, separable=False, bn_momentum=0.9, name="block"
):
    residual = x
    x = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
    x = layers.Conv2D(filters, 3, padding="same")(x)
    if pooling:
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(filters, 1, strides=2, padding="same")(residual)
    elif residual.shape[-1] != filters:
        residual = layers.Conv2D(filters, 1)(residual)
    return layers.Activation("relu")(layers.add([x, residual]))
"""

COUNT_SEPARABLE_AS_REGULAR = """
def count_conv_params(
    kernel_size, in_channels, out_channels, *, separable=False, use_bias=False
):
    return kernel_size * kernel_size * in_channels * out_channels + (
        out_channels if use_bias else 0
    )
"""

SEPARABLE_WITH_CONV2D = CORRECT_SEPARABLE.replace(
    'y = layers.DepthwiseConv2D((3, 3), padding="same", use_bias=False)(y)\n'
    "        y = layers.Conv2D(filters, 1, use_bias=False)(y)",
    'y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)',
)

# The model's mistake comes with a right block of its own, so that it is graded
# alone when the notebook's separable_block is the mistaken one.
MODEL_SEPARABLE_ENTRY = CORRECT_SEPARABLE.replace(
    "def separable_block(", "def _own_block("
) + CORRECT_MODEL.replace(
    "layers.Conv2D(\n        entry_filters",
    "layers.SeparableConv2D(\n        entry_filters",
).replace("features = separable_block(", "features = _own_block(")

ASSIGNMENT = "architecture"
FUNCTIONS = [
    "residual_block",
    "count_conv_params",
    "separable_block",
    "build_xception_like",
]
CORRECT = {
    "residual_block": CORRECT_BLOCK,
    "count_conv_params": CORRECT_COUNT,
    "separable_block": CORRECT_SEPARABLE,
    "build_xception_like": CORRECT_MODEL,
}
MISTAKEN = {
    "residual_block": BLOCK_RELU_AFTER_ADD,
    "count_conv_params": COUNT_SEPARABLE_AS_REGULAR,
    "separable_block": SEPARABLE_WITH_CONV2D,
    "build_xception_like": MODEL_SEPARABLE_ENTRY,
}
HINTS = {
    "residual_block": "applied the second ReLU after the addition",
    "count_conv_params": (
        "counted k * k * in_channels * out_channels for the separable convolution too"
    ),
    "separable_block": assignment.CONV2D_MISTAKE,
    "build_xception_like": "made the entry convolution separable",
}

HIDDEN_TRIALS = [
    ((8, 8, 16), 16, False),
    ((8, 8, 16), 32, False),
    ((8, 8, 32), 32, True),
    ((9, 9, 16), 32, True),
    ((6, 10, 32), 16, True),
    ((5, 7, 32), 16, False),
]


def _define(source, **names):
    namespace = {"np": np, "keras": keras, "layers": layers, **names}
    exec(source, namespace)
    return namespace


def test_weights_by_shape_are_deterministic_and_name_blind():
    first = assignment.build_block(
        reference.residual_block, (8, 8, 16), 32, pooling=True, seed=4
    )
    again = assignment.build_block(
        reference.residual_block, (8, 8, 16), 32, pooling=True, seed=4, name="other"
    )
    np.testing.assert_array_equal(first.output, again.output)
    other_seed = assignment.build_block(
        reference.residual_block, (8, 8, 16), 32, pooling=True, seed=5
    )
    assert not np.allclose(first.output, other_seed.output)


def test_the_graders_block_run_gives_what_predict_gives():
    # Both graders run a block through worker.run_block: one eager call in inference
    # mode, bit for bit what model.predict gives (which would trace a function for each
    # block).
    from convviz_grade.worker import run_block, set_weights_by_shape

    array = assignment.block_input((9, 9, 16), 3)
    output, params = run_block(
        reference.residual_block, array, 32, {"pooling": True}, seed=3
    )
    inputs = keras.Input(shape=array.shape[1:])
    model = keras.Model(inputs, reference.residual_block(inputs, 32, pooling=True))
    set_weights_by_shape(model, 3)
    assert isinstance(output, np.ndarray) and output.shape == (2, 5, 5, 32)
    np.testing.assert_array_equal(output, model.predict(array, verbose=0))
    assert params == model.count_params()


def test_an_independent_block_matches_the_reference_in_process():
    block = _define(CORRECT_BLOCK)["residual_block"]
    for seed, (shape, filters, pooling) in enumerate(HIDDEN_TRIALS):
        expected = assignment.build_block(
            reference.residual_block, shape, filters, pooling=pooling, seed=seed
        )
        got = assignment.build_block(block, shape, filters, pooling=pooling, seed=seed)
        assert got.num_params == expected.num_params
        np.testing.assert_allclose(got.output, expected.output, rtol=1e-4, atol=1e-5)


def test_each_mistaken_block_is_caught_on_some_hidden_trial():
    caught = set()
    for seed, (shape, filters, pooling) in enumerate(HIDDEN_TRIALS):
        expected = assignment.build_block(
            reference.residual_block, shape, filters, pooling=pooling, seed=seed
        )
        for hint, output in assignment.block_mistakes(
            shape, filters, pooling=pooling, seed=seed
        ).items():
            assert output.shape != expected.output.shape or not np.allclose(
                output, expected.output
            ), hint
            caught.add(hint)
    assert caught == set(assignment.MISTAKEN_BLOCKS)


def test_a_missing_or_unstrided_projection_is_explained():
    def no_projection(
        x, filters, *, pooling=False, separable=False, bn_momentum=0.9, name="block"
    ):
        y = layers.Conv2D(filters, 3, activation="relu", padding="same")(x)
        y = layers.Conv2D(filters, 3, activation="relu", padding="same")(y)
        if pooling:
            y = layers.MaxPooling2D(3, strides=2, padding="same")(y)
        return layers.add([y, x])

    with pytest.raises(AssertionError, match="project the residual with a 1x1 Conv2D"):
        assignment.build_block(no_projection, (8, 8, 16), 32)
    with pytest.raises(AssertionError, match="strides=2"):
        assignment.build_block(no_projection, (8, 8, 16), 16, pooling=True)


def test_count_mistakes_differ_and_keras_agrees_with_the_reference():
    for k, cin, cout in [(1, 16, 32), (3, 3, 32), (3, 64, 64), (7, 10, 6)]:
        for separable in (False, True):
            for use_bias in (False, True):
                right = reference.count_conv_params(
                    k, cin, cout, separable=separable, use_bias=use_bias
                )
                assert (
                    assignment.keras_param_count(
                        k, cin, cout, separable=separable, use_bias=use_bias
                    )
                    == right
                )
                assert (
                    _define(CORRECT_COUNT)["count_conv_params"](
                        k, cin, cout, separable=separable, use_bias=use_bias
                    )
                    == right
                )
                for hint, wrong in assignment.count_mistakes(
                    k, cin, cout, separable=separable, use_bias=use_bias
                ).items():
                    assert wrong != right, hint
    assert len(assignment.count_mistakes(3, 64, 32, separable=True, use_bias=True)) == 4


def test_the_mistaken_answers_differ_from_the_correct_ones():
    assert SEPARABLE_WITH_CONV2D != CORRECT_SEPARABLE
    assert "SeparableConv2D" in MODEL_SEPARABLE_ENTRY
    assert "_own_block(" in MODEL_SEPARABLE_ENTRY.split("def build_xception_like")[1]


def _cases(function):
    return [case for case in _grading_cases() if case.function == function]


_CASES = []


def _grading_cases():
    if not _CASES:
        _CASES.extend(assignment.grading_cases())
    return _CASES


def _measured(case, function):
    """What the worker would send back for ``function`` on a probe case."""
    from convviz_grade import cases

    return cases.outputs_of(case, function)


def test_weights_by_role_ignore_names_and_order_and_give_batch_norm_its_roles():
    from convviz_grade.probes import architecture as probe

    first = assignment.measure_block(
        assignment.reference_separable_block, (6, 6, 8), 16, pooling=True, seed=3
    )
    renamed = assignment.measure_block(
        assignment.reference_separable_block,
        (6, 6, 8),
        16,
        pooling=True,
        seed=3,
        name="other",
    )
    for entry in ("value", "training", "updated", "zeroed"):
        np.testing.assert_array_equal(first[entry], renamed[entry])
    other_seed = assignment.measure_block(
        assignment.reference_separable_block, (6, 6, 8), 16, pooling=True, seed=4
    )
    assert not np.allclose(first["value"], other_seed["value"])
    roles = [probe.batch_norm_weight(3, (16,), role) for role in probe.BN_ROLES]
    assert all(
        not np.allclose(roles[i], roles[j]) for i in range(4) for j in range(i + 1, 4)
    )
    assert roles[3].min() > 0  # a variance
    # The inference, training and updated outputs all differ: each measures something.
    assert not np.allclose(first["value"], first["training"])
    assert not np.allclose(first["value"], first["updated"])


def test_the_zeroed_block_is_its_residual_computed_by_the_grader():
    for shape, filters, pooling in [
        ((6, 6, 8), 8, False),
        ((6, 6, 8), 16, False),
        ((7, 5, 8), 8, True),
    ]:
        measured = assignment.measure_block(
            assignment.reference_separable_block,
            shape,
            filters,
            pooling=pooling,
            seed=2,
        )
        residual = assignment.residual_of(
            measured["input"], filters, pooling=pooling, seed=2
        )
        np.testing.assert_allclose(measured["zeroed"], residual, rtol=1e-5, atol=1e-6)
        assert int(measured["depthwise"]) == 2
        if not pooling and shape[-1] == filters:
            np.testing.assert_array_equal(residual, measured["input"])


@pytest.mark.slow  # all the cases of the assignment, and more models
def test_an_independent_separable_block_and_model_pass_every_case():
    namespace = _define(CORRECT_SEPARABLE)
    model = _define(CORRECT_MODEL, separable_block=namespace["separable_block"])
    functions = {
        "separable_block": namespace["separable_block"],
        "build_xception_like": model["build_xception_like"],
    }
    for function, answer in functions.items():
        cases = _cases(function)
        assert cases
        for case in cases:
            case.check(_measured(case, answer))


def _case_size(case):
    """How many input values a case's block or model sees, a measure of its cost."""
    if case.function == "build_xception_like":
        size = case.kwargs.get("image_size", 96)
        return size * size * len(case.kwargs.get("widths", (0,) * 4))
    return case.args[0].size


@pytest.mark.slow  # all the cases of the assignment, and more models
def test_the_reference_passes_and_each_mistake_fails_with_its_hint():
    """Every mistaken block and model is caught, on the first case that catches it,
    under its own hint (the hints are built only on a failure)."""
    for function, mistakes, right in [
        (
            "separable_block",
            assignment.MISTAKEN_SEPARABLE_BLOCKS,
            assignment.reference_separable_block,
        ),
        (
            "build_xception_like",
            assignment.MISTAKEN_MODELS,
            reference.build_xception_like,
        ),
    ]:
        cases = _cases(function)
        for case in cases:
            case.check(_measured(case, right))
        # The smallest first: a failure builds every mistaken model on its case.
        cases.sort(key=_case_size)
        for hint, mistaken in mistakes.items():
            for case in cases:
                try:
                    case.check(_measured(case, mistaken))
                except AssertionError as error:
                    assert f"if you {hint}." in str(error), (hint, str(error))
                    break
            else:
                raise AssertionError(f"no case catches: {hint}")


@pytest.mark.slow  # all the cases of the assignment, and more models
def test_a_missing_or_unstrided_projection_in_the_separable_block_is_explained():
    def no_projection(x, filters, *, pooling=False, bn_momentum=0.9, name="block"):
        y = x
        for _ in range(2):
            y = layers.BatchNormalization(momentum=bn_momentum)(y)
            y = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(
                layers.ReLU()(y)
            )
        if pooling:
            y = layers.MaxPooling2D(3, strides=2, padding="same")(y)
        return layers.add([y, x])

    for case in _cases("separable_block"):
        array, filters = case.args
        if not case.kwargs["pooling"] and array.shape[-1] == filters:
            case.check(_measured(case, no_projection))  # no projection needed here
            continue
        with pytest.raises(ValueError) as error:
            _measured(case, no_projection)
        hint = assignment.explain_error(case, f"ValueError: {error.value}")
        expected = "strides=2" if case.kwargs["pooling"] else "1x1 Conv2D to `filters`"
        assert expected in hint, (case.kwargs, hint)


class TestAnswersInTheNotebook(AnswersInTheNotebook):
    functions = FUNCTIONS
    hints = HINTS
    named_by = "each"  # the visible and the hidden tests both name it


# ------------------------------------------------------------- the notebook's prose


def _cells():
    import nbformat
    from exercise_tools import solution_notebook

    return nbformat.read(solution_notebook("architecture"), as_version=4).cells


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def _code(source):
    """A cell's source without IPython magics, as Python parses it."""
    import ast

    return ast.parse(
        "\n".join(line for line in source.splitlines() if not line.startswith("%"))
    )


def test_the_intro_names_what_a_graded_function_may_rely_on():
    """The intro names each name the grader's PRELUDE binds in place of the setup
    cell, which imports them all, and no TensorFlow, which the setup does not."""
    cells = _cells()
    bound = names_bound(assignment.PRELUDE)
    [setup] = [cell for cell in cells if _grade_id(cell) == "setup"]
    assert bound == {"plt", "np", "keras", "layers"}
    assert bound <= names_bound(setup.source)
    graded = cells[0].source[cells[0].source.index("**How your work is graded.**") :]
    for name in bound:
        assert f"`{name}`" in graded, name
    assert "TensorFlow" not in graded
    assert "inside its answer cell" not in graded


def test_no_cell_hands_the_student_a_reference():
    """No cell but the answers imports a graded function's reference, or a course
    module that holds one: an answer that calls it would pass in the notebook."""
    import ast
    import importlib
    import inspect

    references = {
        reference.residual_block,
        reference.separable_block,
        reference.count_conv_params,
        reference.build_xception_like,
    }
    for cell in _cells():
        if cell.cell_type != "code" or cell.metadata["nbgrader"].get("solution"):
            continue
        for node in ast.walk(_code(cell.source)):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("convviz"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    value = getattr(module, alias.name)
                    assert not inspect.ismodule(value), (node.module, alias.name)
                    assert value not in references, (node.module, alias.name)
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("convviz") for a in node.names)


def test_the_model_s_statement_and_the_written_question():
    """The entry convolution is stated without activation, as the reference builds
    it; the written question is one question, its rubric grades full, partial, none."""
    cells = _cells()
    [statement] = [cell.source for cell in cells if _grade_id(cell) == "md_11"]
    assert "no activation" in " ".join(statement.split())
    entry = reference.build_xception_like().get_layer("entry_conv")
    assert entry.get_config()["activation"] == "linear"
    for number, cell in enumerate(cells):
        if (_grade_id(cell) or "").startswith("written_"):
            question = cells[number - 1].source
            assert question.count("?") <= 1 and "\n1. " not in question
            for level in ("**Full (2)**", "**Partial (1)**", "**None (0)**"):
                assert level in cell.source, level
