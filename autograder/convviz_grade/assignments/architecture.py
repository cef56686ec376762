"""The ``architecture`` assignment: checking a residual block by its behaviour.

A student's ``residual_block`` may name its layers differently and create
them in another order than :func:`convviz_ref.models.residual_block`, and
still be right. So the tests never look at names. For one input shape and
one set of arguments they build a one-block model with the student's
function and one with the reference, and compare:

1. the output shape;
2. the number of parameters;
3. the outputs on the same random input, once both models carry the same
   weights.

How the weights are made the same (step 3): every weight array gets values
that depend only on the *kernel shape of its layer* (and the trial's seed),
never on the layer's name or position: see :func:`set_weights_by_shape`.
In the non-separable block the roles have distinct kernel shapes when the
channels change (first 3x3 conv ``(3, 3, cin, f)``, second ``(3, 3, f, f)``,
projection ``(1, 1, cin, f)``); when they do not change, the two 3x3 convs
have the same shape and get the *same* weights, so which one the student
created first does not matter either. A student's block that computes the
reference's function therefore gives the reference's output, whatever its
names or order; one that computes something else (a missing projection, the
ReLU after the addition, a 2x2 pooling) does not.

A block that cannot even be built (adding tensors of different shapes: the
projection is missing, or it has no stride while the body pools) is reported
by :func:`build_block` with the likely cause.

>>> from convviz_ref.models import residual_block
>>> result = build_block(residual_block, (8, 8, 16), 32, pooling=True, seed=0)
>>> result.output.shape, result.num_params
((2, 4, 4, 32), 14432)
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import numpy as np
from keras import layers

from convviz_grade.worker import set_weights_by_shape
from convviz_ref import models as reference

BATCH = 2


class BlockResult(NamedTuple):
    """What a one-block model gives: its output on the trial's input, and its size."""

    output: np.ndarray
    num_params: int
    model: keras.Model


def block_input(input_shape, seed):
    """A seeded float32 batch ``(2, *input_shape)`` of standard normal values."""
    return (
        np.random.default_rng([seed, 3])
        .normal(size=(BATCH, *input_shape))
        .astype(np.float32)
    )


def build_block(
    block_function, input_shape, filters, *, pooling=False, seed=0, name="trial"
):
    """Build ``block_function`` on an input, set its weights by shape, run it.

    Args:
        block_function: a function with ``residual_block``'s signature.
        input_shape: tuple ``(height, width, channels)``.
        filters: int; pooling: bool, passed on (``separable=False``).
        seed: int, of the weights and of the input.

    Returns:
        :class:`BlockResult`.

    Raises:
        AssertionError: if the block cannot be built or run, with the likely cause.
    """
    call = (
        f"residual_block(x of shape {(None, *input_shape)}, filters={filters}, "
        f"pooling={pooling})"
    )
    inputs = keras.Input(input_shape)
    try:
        outputs = block_function(inputs, filters, pooling=pooling, name=name)
    except NotImplementedError:
        raise  # not written yet: validate reports it as such
    except Exception as error:
        message = (
            f"{call} could not be built: {type(error).__name__}: "
            f"{str(error).strip()[:300]}"
        )
        if pooling:
            message += (
                "\n  hint: when the body pools, the residual must shrink too: a 1x1 "
                "Conv2D "
                "with strides=2 and padding='same' (the usual cause: no projection, or "
                "one "
                "without strides)."
            )
        elif input_shape[-1] != filters:
            message += (
                "\n  hint: when the number of channels changes, x and the body's "
                "output have "
                "different shapes: project the residual with a 1x1 Conv2D to `filters` "
                "channels."
            )
        raise AssertionError(message) from None
    if outputs is None:
        raise AssertionError(
            f"{call} returned None; did the function forget to `return` its output?"
        )
    model = keras.Model(inputs, outputs)
    set_weights_by_shape(model, seed)
    output = model(block_input(input_shape, seed), training=False)
    return BlockResult(np.asarray(output), int(model.count_params()), model)


# ---------------------------------------------------------------- mistakes


def _projection(residual, filters, pooling, name):
    strides = 2 if pooling else 1
    return layers.Conv2D(
        filters, 1, strides=strides, padding="same", name=f"{name}_projection"
    )(residual)


def _conv(x, filters, name, activation="relu"):
    """A 3x3 same-padded ``Conv2D`` named ``name``, applied to ``x``."""
    conv = layers.Conv2D(filters, 3, activation=activation, padding="same", name=name)
    return conv(x)


def _relu_after_add(
    x, filters, *, pooling=False, separable=False, bn_momentum=0.9, name="block"
):
    residual = x
    x = _conv(x, filters, f"{name}_conv1")
    x = _conv(x, filters, f"{name}_conv2", activation=None)
    if pooling:
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
    if pooling or residual.shape[-1] != filters:
        residual = _projection(residual, filters, pooling, name)
    return layers.Activation("relu", name=f"{name}_relu")(layers.add([x, residual]))


def _residual_after_first_conv(
    x, filters, *, pooling=False, separable=False, bn_momentum=0.9, name="block"
):
    x = _conv(x, filters, f"{name}_conv1")
    residual = x
    x = _conv(x, filters, f"{name}_conv2")
    if pooling:
        x = layers.MaxPooling2D(3, strides=2, padding="same", name=f"{name}_pool")(x)
        residual = _projection(residual, filters, pooling, name)
    return layers.add([x, residual])


def _pool_2x2(
    x, filters, *, pooling=False, separable=False, bn_momentum=0.9, name="block"
):
    residual = x
    x = _conv(x, filters, f"{name}_conv1")
    x = _conv(x, filters, f"{name}_conv2")
    if pooling:
        x = layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    if pooling or residual.shape[-1] != filters:
        residual = _projection(residual, filters, pooling, name)
    return layers.add([x, residual])


MISTAKEN_BLOCKS = {
    "applied the second ReLU after the addition instead of inside the body (before "
    "adding)": _relu_after_add,
    "took the residual after the first convolution instead of from the block's "
    "input": _residual_after_first_conv,
    "pooled with MaxPooling2D(2) instead of MaxPooling2D(3, strides=2, "
    "padding='same')": _pool_2x2,
}
"""Wrong blocks that build and run, each under the hint that names it."""


def block_mistakes(input_shape, filters, *, pooling=False, seed=0):
    """What the mistaken blocks output on this trial: ``{hint: output}``.

    Mistakes that give exactly the reference's output here (a 2x2 pooling
    on a trial without pooling, say) are left out.
    """

    def run(function):
        return build_block(
            function, input_shape, filters, pooling=pooling, seed=seed
        ).output

    return _differing_outputs(run, AssertionError)


def _differing_outputs(run, errors):
    """``{hint: run(block)}`` of the mistaken blocks whose output differs from the
    reference's.

    ``run(block_function)`` gives a block's output; a block whose run raises
    ``errors`` is left out.
    """
    expected = run(reference.residual_block)
    mistakes = {}
    for hint, function in MISTAKEN_BLOCKS.items():
        try:
            output = run(function)
        except errors:
            continue
        if output.shape != expected.shape or not np.allclose(
            output, expected, rtol=1e-4, atol=1e-5
        ):
            mistakes[hint] = output
    return mistakes


def count_mistakes(
    kernel_size, in_channels, out_channels, *, separable=False, use_bias=False
):
    """What the usual counting mistakes give: ``{hint: count}``, those that differ from
    the right count.
    """
    right = reference.count_conv_params(
        kernel_size, in_channels, out_channels, separable=separable, use_bias=use_bias
    )
    bias = out_channels if use_bias else 0
    k2 = kernel_size * kernel_size
    candidates = {
        "counted k * k * in_channels * out_channels for the separable convolution "
        "too": k2 * in_channels * out_channels + bias,
        "forgot the out_channels biases when use_bias is true": right - bias,
        "counted the depthwise step with out_channels filters (k * k * out_channels)": (
            k2 * out_channels + in_channels * out_channels + bias
        )
        if separable
        else right,
        "counted one bias per input channel instead of per output channel": right
        - bias
        + (in_channels if use_bias else 0),
    }
    return {hint: value for hint, value in candidates.items() if value != right}


def keras_param_count(
    kernel_size, in_channels, out_channels, *, separable=False, use_bias=False
):
    """Keras' own count: ``count_params()`` of a built (Separable)Conv2D layer."""
    kind = layers.SeparableConv2D if separable else layers.Conv2D
    layer = kind(out_channels, kernel_size, use_bias=use_bias)
    layer.build((None, 8, 8, in_channels))
    return int(layer.count_params())


# ------------------------------------------------------ secure grading

PRELUDE = (
    "import matplotlib.pyplot as plt\n"
    "import numpy as np\n"
    "import keras\n"
    "from keras import layers\n"
)
"""The setup cell's imports, minus the course's modules (see
:mod:`convviz_grade.grading`).

``library_residual_block`` (``convviz_ref.models.residual_block``) is not
given: the given lines of ``residual_block`` call it only when
``separable=True``, which no grading case asks for, and a block that calls it
otherwise fails (the reference library is out of the student's reach).
"""

BLOCK_TRIALS = [
    # (input shape, filters, pooling, seed of the input, seed of the weights)
    ((8, 8, 16), 16, False, 0, 0),
    ((8, 8, 16), 32, False, 1, 1),
    ((8, 8, 32), 32, True, 2, 2),
    ((9, 9, 16), 32, True, 3, 3),
    ((6, 10, 32), 16, True, 4, 4),
    ((5, 7, 32), 16, False, 5, 5),
    ((6, 6, 8), 8, False, 101, 0),
    ((6, 6, 8), 16, False, 102, 0),
    ((8, 8, 16), 16, True, 103, 0),
    ((7, 7, 8), 16, True, 104, 0),
    ((6, 10, 16), 8, True, 105, 0),
    ((5, 7, 16), 8, False, 106, 0),
]
"""The hidden trials of ``residual_block``.

Same channels and a channel change, with and without pooling, odd and
non-square sizes; the worker gives the weights by kernel shape with the
trial's seed of the weights.
"""

COUNT_TRIALS = [
    (1, 16, 32),
    (3, 3, 32),
    (3, 128, 64),
    (5, 24, 48),
    (7, 10, 6),
    (1, 8, 24),
    (3, 5, 40),
    (3, 96, 48),
    (5, 12, 36),
    (7, 6, 20),
]
"""The hidden trials of ``count_conv_params``, each with and without separable and bias.
"""


def run_block_like_the_worker(
    block_function, array, filters, *, weights_seed=0, **kwargs
):
    """What the grading worker computes for a ``block`` case: ``(output, parameter
    count)``.

    The one-block model is built and given weights by
    :func:`convviz_grade.worker.run_block` itself (weights by kernel shape,
    seeded with ``weights_seed``), so the reference and the student's block
    are treated alike.
    """
    from convviz_grade.worker import run_block

    output, params = run_block(
        block_function,
        np.asarray(array, np.float32),
        filters,
        kwargs,
        seed=weights_seed,
    )
    return np.asarray(output), int(params)


def block_mistakes_on(array, filters, *, weights_seed=0, **kwargs):
    """What the mistaken blocks output on ``array`` as the worker runs them: ``{hint:
    output}``.

    Those that cannot be built, or give the reference's output, are left out.
    """

    def run(function):
        return run_block_like_the_worker(
            function, array, filters, weights_seed=weights_seed, **kwargs
        )[0]

    return _differing_outputs(run, Exception)


def _check_block(what, expected, expected_params, mistakes, outputs):
    from convviz_grade.checks import check_array, check_true

    output = np.asarray(outputs["value"])
    check_true(
        what,
        output.shape == expected.shape,
        f"expected output shape {expected.shape[1:]}, got {output.shape[1:]}",
    )
    params = outputs.get("params")
    params = None if params is None else np.asarray(params)
    if params is None:
        got = "none"
    else:
        got = f"{int(params):,}" if params.shape == () else params.shape
    check_true(
        what,
        params is not None and params.shape == () and int(params) == expected_params,
        f"expected {expected_params:,} parameters, got {got}",
    )
    check_array(
        what,
        output,
        expected,
        rtol=1e-4,
        atol=1e-5 * float(np.abs(expected).max()),
        mistakes=mistakes,
    )


def _check_count(label, expected, mistakes, check_int, outputs):
    from convviz_grade.checks import check_array, check_true

    check_array(label, outputs["value"], expected, rtol=0, atol=0, mistakes=mistakes)
    dtype = np.asarray(outputs["value"]).dtype
    if check_int and not np.issubdtype(dtype, np.integer):
        message = f"expected an int (a number of weights), got a value of dtype {dtype}"
        check_true("count_conv_params", False, message)


def grading_cases():
    """The cases of both functions: the notebook's hidden tests and ``convviz-grade
    autograde``'s.

    ``residual_block`` (kind ``block``): the notebook's visible shapes (input
    (8, 8, 16) to 16 channels, to 32 with pooling, and the (1, 4, 4, 16)
    block named ``zero``), then :data:`BLOCK_TRIALS`; each compares the output
    shape, the parameter count and the outputs with the reference block's
    under the same weights by kernel shape. The visible test with all weights
    zero cannot be run as such (the worker sets the weights); its input and
    name are kept, with the weights by shape. ``count_conv_params``: the
    notebook's four visible counts (the first also checks that the count is an
    integer), then :data:`COUNT_TRIALS` with every option.
    """
    from functools import partial

    from convviz_grade.grading import Case

    cases = []
    blocks = [
        ((8, 8, 16), 16, False, block_input((8, 8, 16), 0), 0, "trial", True),
        ((8, 8, 16), 32, True, block_input((8, 8, 16), 0), 0, "trial", True),
        (
            (4, 4, 16),
            16,
            False,
            np.random.default_rng(0).normal(size=(1, 4, 4, 16)).astype("float32"),
            0,
            "zero",
            True,
        ),
    ]
    blocks += [
        (
            shape,
            filters,
            pooling,
            block_input(shape, seed),
            weights_seed,
            "trial",
            False,
        )
        for shape, filters, pooling, seed, weights_seed in BLOCK_TRIALS
    ]
    for shape, filters, pooling, array, weights_seed, name, visible in blocks:
        what = (
            f"residual_block(x of shape {(None,) + shape}, filters={filters}, "
            f"pooling={pooling})"
        )
        kwargs = {"pooling": pooling, "name": name}
        expected, params = run_block_like_the_worker(
            reference.residual_block,
            array,
            filters,
            weights_seed=weights_seed,
            **kwargs,
        )
        cases.append(
            Case(
                "residual_block",
                (array, filters),
                partial(
                    _check_block,
                    what,
                    expected,
                    params,
                    block_mistakes_on(
                        array, filters, weights_seed=weights_seed, **kwargs
                    ),
                ),
                kwargs=kwargs,
                kind="block",
                seed=weights_seed,
                visible=visible,
            )
        )

    separable_mistake = (
        "counted k * k * in_channels * out_channels for the separable convolution too"
    )
    bias_mistake = "forgot the out_channels biases when use_bias is true"
    for options, expected, mistakes in [
        ({}, 36864, {}),
        ({"separable": True}, 4672, {separable_mistake: 36864}),
        ({"use_bias": True}, 36928, {bias_mistake: 36864}),
        ({"separable": True, "use_bias": True}, 4736, {bias_mistake: 4672}),
    ]:
        label = (
            "count_conv_params(3, 64, 64"
            + "".join(f", {key}=True" for key in options)
            + ")"
        )
        cases.append(
            Case(
                "count_conv_params",
                (3, 64, 64),
                partial(_check_count, label, expected, mistakes, not options),
                kwargs=options,
                visible=True,
            )
        )
    for k, cin, cout in COUNT_TRIALS:
        for separable in (False, True):
            for use_bias in (False, True):
                options = {"separable": separable, "use_bias": use_bias}
                label = (
                    f"count_conv_params({k}, {cin}, {cout}, "
                    f"separable={separable}, use_bias={use_bias})"
                )
                expected = reference.count_conv_params(k, cin, cout, **options)
                if expected != keras_param_count(
                    k, cin, cout, **options
                ):  # the reference itself is wrong
                    raise ValueError(
                        f"{label}: the reference counts {expected}, Keras "
                        f"{keras_param_count(k, cin, cout, **options)}"
                    )
                cases.append(
                    Case(
                        "count_conv_params",
                        (k, cin, cout),
                        partial(
                            _check_count,
                            label,
                            expected,
                            count_mistakes(k, cin, cout, **options),
                            False,
                        ),
                        kwargs=options,
                    )
                )
    return cases


def explain_error(case, message):
    """A hint for an error raised while building the student's block (see
    :mod:`convviz_grade.grading`).
    """
    if case.function != "residual_block" or "shape" not in message.lower():
        return None
    array, filters = case.args
    if case.kwargs.get("pooling"):
        return (
            "when the body pools, the residual must shrink too: a 1x1 Conv2D with "
            "strides=2 and "
            "padding='same' (the usual cause: no projection, or one without strides)."
        )
    if array.shape[-1] != filters:
        return (
            "when the number of channels changes, x and the body's output have "
            "different shapes: "
            "project the residual with a 1x1 Conv2D to `filters` channels."
        )
    return None
