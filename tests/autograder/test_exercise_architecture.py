"""The architecture exercise: its helpers, and its notebook's grading of right and wrong
answers.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from convviz_grade.assignments import architecture as assignment
from exercise_tools import AnswersInTheNotebook
from keras import layers

from convviz_ref import models as reference

# An independently written correct block: other layer names (Keras' defaults),
# the projection created first, separate ReLU layers, layers.Add, MaxPool2D.
CORRECT_BLOCK = """
def residual_block(
    x, filters, *, pooling=False, separable=False, bn_momentum=0.9, name="block"
):
    if separable:
        return library_residual_block(
            x,
            filters,
            pooling=pooling,
            separable=True,
            bn_momentum=bn_momentum,
            name=name,
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

ASSIGNMENT = "architecture"
CORRECT = {"residual_block": CORRECT_BLOCK, "count_conv_params": CORRECT_COUNT}
MISTAKEN = {
    "residual_block": BLOCK_RELU_AFTER_ADD,
    "count_conv_params": COUNT_SEPARABLE_AS_REGULAR,
}
HINTS = {
    "residual_block": "applied the second ReLU after the addition",
    "count_conv_params": (
        "counted k * k * in_channels * out_channels for the separable convolution too"
    ),
}

HIDDEN_TRIALS = [
    ((8, 8, 16), 16, False),
    ((8, 8, 16), 32, False),
    ((8, 8, 32), 32, True),
    ((9, 9, 16), 32, True),
    ((6, 10, 32), 16, True),
    ((5, 7, 32), 16, False),
]


def _define(source):
    namespace = {
        "np": np,
        "keras": keras,
        "layers": layers,
        "library_residual_block": reference.residual_block,
    }
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


class TestAnswersInTheNotebook(AnswersInTheNotebook):
    functions = list(CORRECT)
    hints = HINTS
    named_by = "each"  # the visible and the hidden tests both name it
