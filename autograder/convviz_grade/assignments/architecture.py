"""The ``architecture`` assignment: residual blocks and a model, checked by behaviour.

Four graded functions: ``residual_block`` (kind ``block``, below),
``count_conv_params`` (plain calls), and ``separable_block`` and
``build_xception_like``, probe cases measured by
:mod:`convviz_grade.probes.architecture` (output shapes, parameter counts,
outputs under weights given by shape and role, the output with the body's
depthwise kernels zeroed, the model's feature-map sides) and judged here
against the reference measured by the same probe: see
:func:`separable_case` and :func:`model_case`.

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

The setup cell no longer hands the library's block to the student: the given
lines of ``residual_block`` pass ``separable=True`` on to the student's own
``separable_block``, and a block that calls the library fails (the reference
library is out of the student's reach).
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


# ------------------------------------------------ the separable block and the model
#
# Graded on behaviour by the probes of convviz_grade/probes/architecture.py: the
# probe builds what the student's function makes, gives its weights by role (by
# shape; batch normalization by its place in the layer) and measures it; the checks
# below compare the measurements with the reference's, measured by the same probe.


reference_separable_block = reference.separable_block
"""The reference of ``separable_block``: the library's separable residual block."""


def probe(name):
    """The probe ``architecture:<name>``, loaded as the worker loads it."""
    from convviz_grade.worker import load_probe

    return load_probe(f"architecture:{name}")


def measure_block(block_function, input_shape, filters, *, seed=0, **kwargs):
    """What the block probe measures of ``block_function`` on a seeded input.

    Args:
        block_function: a function with ``separable_block``'s signature.
        input_shape: tuple ``(height, width, channels)``.
        filters: int; kwargs: passed on (``pooling``, ``bn_momentum``, ``name``).
        seed: int, of the input and of the weights.

    Returns:
        dict of arrays (see :func:`convviz_grade.probes.architecture.block`), and
        ``"input"``, the batch the block ran on.
    """
    array = block_input(input_shape, seed)
    measured = probe("block")(
        block_function, [array, filters], kwargs, weights_seed=seed
    )
    return {**measured, "input": array}


def _separable_variant(
    *,
    order=("bn", "relu"),
    conv=layers.SeparableConv2D,
    use_bias=False,
    shortcut="input",
    relu_after_add=False,
    momentum=None,
    pool_size=3,
):
    """A separable block that differs from the reference in one way: a mistake."""

    def block(x, filters, *, pooling=False, bn_momentum=0.9, name="block"):
        residual = x
        for index in (1, 2):
            for step in order:
                if step == "bn":
                    x = layers.BatchNormalization(
                        momentum=bn_momentum if momentum is None else momentum
                    )(x)
                else:
                    x = layers.Activation("relu")(x)
            if index == 1 and shortcut == "activated":
                residual = x
            x = conv(filters, 3, padding="same", use_bias=use_bias)(x)
        if pooling:
            if pool_size == 3:
                x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
            else:
                x = layers.MaxPooling2D(2, padding="same")(x)
        if pooling or residual.shape[-1] != filters:
            residual = layers.Conv2D(
                filters,
                1,
                strides=2 if pooling else 1,
                padding="same",
                use_bias=use_bias,
            )(residual)
        y = layers.add([x, residual])
        return layers.Activation("relu")(y) if relu_after_add else y

    return block


CONV2D_MISTAKE = "used Conv2D instead of SeparableConv2D in the body"
BIAS_MISTAKE = (
    "gave the convolutions a bias (use_bias=True), which batch normalization makes "
    "redundant"
)

MISTAKEN_SEPARABLE_BLOCKS = {
    "applied the ReLU before the batch normalization (the body's order is batch "
    "normalization, ReLU, separable convolution)": _separable_variant(
        order=("relu", "bn")
    ),
    CONV2D_MISTAKE: _separable_variant(conv=layers.Conv2D),
    BIAS_MISTAKE: _separable_variant(use_bias=True),
    "took the residual after the first batch normalization and ReLU instead of "
    "from the block's input": _separable_variant(shortcut="activated"),
    "applied a ReLU after the addition": _separable_variant(relu_after_add=True),
    "ignored bn_momentum (Keras' default momentum is 0.99)": _separable_variant(
        momentum=0.99
    ),
    "pooled with MaxPooling2D(2) instead of MaxPooling2D(3, strides=2, "
    "padding='same')": _separable_variant(pool_size=2),
}
"""Wrong separable blocks that build and run, each under the hint that names it.

A missing projection, or one without strides when the body pools, cannot be
built: :func:`explain_error` names those.
"""

BLOCK_ENTRIES = ("zeroed", "value", "training", "updated")
"""The block probe's outputs compared with the reference's, in the order checked."""


def separable_mistakes(input_shape, filters, *, seed=0, **kwargs):
    """What the mistaken separable blocks give here: ``{entry: {hint: array}}``.

    ``entry`` is ``"params"``, ``"trainable"`` or one of :data:`BLOCK_ENTRIES`;
    a mistake is listed under an entry only where it differs from the
    reference's.
    """
    expected = measure_block(
        reference_separable_block, input_shape, filters, seed=seed, **kwargs
    )
    mistakes = {entry: {} for entry in ("params", "trainable", *BLOCK_ENTRIES)}
    for hint, function in MISTAKEN_SEPARABLE_BLOCKS.items():
        measured = measure_block(function, input_shape, filters, seed=seed, **kwargs)
        for entry, found in mistakes.items():
            wrong, right = measured[entry], expected[entry]
            if wrong.shape != right.shape or not np.allclose(
                wrong, right, rtol=1e-4, atol=1e-5
            ):
                found[hint] = wrong
    return mistakes


def residual_of(array, filters, *, pooling, seed=0):
    """What the residual path gives: ``array`` itself, or its 1x1 projection.

    The projection ``W_s`` is the weight the probe gives a ``(1, 1, channels,
    filters)`` kernel with ``seed``; with ``pooling`` it takes every second
    row and column from the first (a 1x1 convolution with ``strides=2`` and
    ``padding="same"``). Computed here with NumPy, not with Keras.
    """
    from convviz_grade.probes.architecture import weight_by_shape

    channels = array.shape[-1]
    if not pooling and channels == filters:
        return array
    kernel = weight_by_shape(seed, (1, 1, channels, filters))[0, 0]
    step = 2 if pooling else 1
    return np.asarray(array[:, ::step, ::step, :] @ kernel, np.float32)


def _check_entry(what, entry, got, expected, mistakes, meaning):
    from convviz_grade.checks import check_array

    scale = float(np.abs(expected).max()) if np.size(expected) else 1.0
    check_array(
        f"{what}, {meaning}",
        got,
        expected,
        rtol=1e-4,
        atol=1e-5 * max(scale, 1.0),
        mistakes=mistakes.get(entry),
    )


MEANINGS = {
    "zeroed": "output with the body's depthwise kernels zero (the residual path)",
    "value": "output (inference mode) under the reference's weights",
    "training": "output in training mode (batch statistics)",
    "updated": "output after one training step updated the moving statistics",
}


def _with_hints(judge, mistakes_of):
    """Run ``judge(mistakes)`` without hints; on a failure, again with them.

    The mistaken blocks and models are built only for an answer that fails (a
    few seconds), not for every case of every grading run.
    """
    try:
        judge({})
    except AssertionError as error:
        first = error
    else:
        return
    judge(mistakes_of())  # raises the same failure, now with its hint
    raise first


def _check_separable(what, expected, residual, mistakes_of, outputs):
    """The check of a ``separable_block`` case: ``mistakes_of()`` gives
    :func:`separable_mistakes` on the case's trial, built only on a failure."""
    _with_hints(
        lambda mistakes: _judge_separable(what, expected, residual, mistakes, outputs),
        mistakes_of,
    )


def _check_param_counts(what, got, expected, mistakes):
    """The probe's ``params`` and ``trainable`` counts must be the reference's."""
    from convviz_grade.checks import check_array

    for entry, meaning in (
        ("params", "parameters (count_params(), moving statistics included)"),
        ("trainable", "trainable parameters"),
    ):
        check_array(
            f"{what}, {meaning}",
            got[entry],
            expected[entry],
            rtol=0,
            atol=0,
            mistakes=mistakes.get(entry),
        )


def _judge_separable(what, expected, residual, mistakes, outputs):
    from convviz_grade.checks import check_true

    probe_entries = outputs.get("probe", {})
    got = {"value": np.asarray(outputs["value"]), **probe_entries}
    missing = [entry for entry in expected if entry not in got]
    check_true(what, not missing, f"the probe's entries {missing} are missing")
    output = got["value"]
    check_true(
        what,
        output.shape == expected["value"].shape,
        f"expected output shape {expected['value'].shape[1:]}, got {output.shape[1:]}",
    )
    _check_param_counts(what, got, expected, mistakes)
    check_true(
        what,
        int(np.asarray(got["depthwise"]).reshape(-1)[0]) > 0,
        "no depthwise kernel found: the body's convolutions must be depthwise "
        "separable (SeparableConv2D)",
    )
    # The residual path, judged against the grader's own NumPy projection.
    _check_entry(what, "zeroed", got["zeroed"], residual, mistakes, MEANINGS["zeroed"])
    for entry in BLOCK_ENTRIES[1:]:
        _check_entry(
            what, entry, got[entry], expected[entry], mistakes, MEANINGS[entry]
        )


def check_measured(name, got, expected, mistakes_of, entry, *, rtol=0, atol=0):
    """The notebook's visible check of one measured entry, with hints on a failure.

    ``mistakes_of()`` (:func:`separable_mistakes` or :func:`model_mistakes` on
    the same trial) is called only when ``got`` differs from ``expected``.
    """
    from convviz_grade.checks import check_array

    _with_hints(
        lambda mistakes: check_array(
            name, got, expected, rtol=rtol, atol=atol, mistakes=mistakes.get(entry)
        ),
        mistakes_of,
    )


def separable_case(shape, filters, *, pooling, seed, visible=False, **options):
    """A probe case of ``separable_block`` on a seeded input of ``shape``."""
    from functools import partial

    from convviz_grade.grading import Case

    kwargs = {"pooling": pooling, "name": "trial", **options}
    expected = measure_block(
        reference_separable_block, shape, filters, seed=seed, **kwargs
    )
    array = expected.pop("input")
    residual = residual_of(array, filters, pooling=pooling, seed=seed)
    if not np.allclose(expected["zeroed"], residual, rtol=1e-4, atol=1e-5):
        raise ValueError("the reference's residual path is not the grader's")
    extra = "".join(f", {key}={value}" for key, value in options.items())
    what = (
        f"separable_block(x of shape {(None, *shape)}, filters={filters}, "
        f"pooling={pooling}{extra})"
    )
    return Case(
        "separable_block",
        (array, filters),
        partial(
            _check_separable,
            what,
            expected,
            residual,
            partial(separable_mistakes, shape, filters, seed=seed, **kwargs),
        ),
        kwargs=kwargs,
        kind="probe",
        probe="architecture:block",
        probe_kwargs={"weights_seed": seed},
        visible=visible,
    )


SEPARABLE_TRIALS = [
    # (input shape, filters, pooling, seed, other options)
    ((8, 8, 16), 16, False, 11, {}),
    ((8, 8, 8), 16, False, 12, {}),
    ((9, 9, 16), 16, True, 13, {}),
    ((7, 10, 8), 24, True, 14, {"bn_momentum": 0.8}),
    ((6, 6, 24), 12, True, 15, {}),
    ((5, 7, 12), 8, False, 16, {"bn_momentum": 0.5}),
]
"""The hidden trials of ``separable_block``: same channels and a change, with and
without pooling, odd and non-square sizes, two momenta."""


# --------------------------------------------------------------------- the model


def model_images(image_size, seed, count=2):
    """Seeded float32 images ``(count, size, size, 3)`` with values in 0..255."""
    rng = np.random.default_rng([seed, 5])
    return rng.uniform(0, 255, size=(count, image_size, image_size, 3)).astype(
        np.float32
    )


def measure_model(builder, *, seed=0, **kwargs):
    """What the model probe measures of ``builder(**kwargs)`` on seeded images."""
    size = kwargs.get("image_size", 96)
    return probe("model")(
        builder, [], kwargs, images=model_images(size, seed), weights_seed=seed
    )


def _model_variant(
    *,
    entry="conv",
    entry_bias=False,
    entry_activation=None,
    rescale=True,
    final_bn=True,
    head="average",
    pooling=True,
):
    """An Xception-like model that differs from the reference in one way."""

    def build(
        image_size=96,
        num_classes=4,
        widths=(32, 64, 128, 256),
        entry_filters=32,
        dropout=0.5,
        bn_momentum=0.9,
        name="xception_like",
    ):
        inputs = keras.Input((image_size, image_size, 3))
        x = layers.Rescaling(1 / 255)(inputs) if rescale else inputs
        kind = layers.Conv2D if entry == "conv" else layers.SeparableConv2D
        x = kind(
            entry_filters,
            5,
            padding="same",
            use_bias=entry_bias,
            activation=entry_activation,
        )(x)
        for index, width in enumerate(widths):
            x = reference_separable_block(
                x, width, pooling=pooling, bn_momentum=bn_momentum, name=f"b{index}"
            )
        if final_bn:
            x = layers.BatchNormalization(momentum=bn_momentum)(x)
            x = layers.Activation("relu")(x)
        if head == "average":
            x = layers.GlobalAveragePooling2D()(x)
        else:
            x = layers.Flatten()(x)
        x = layers.Dropout(dropout)(x)
        outputs = layers.Dense(num_classes, activation="softmax")(x)
        return keras.Model(inputs, outputs)

    return build


MISTAKEN_MODELS = {
    "made the entry convolution separable (the chapter keeps the first layer a "
    "regular Conv2D: R, G and B are strongly correlated)": _model_variant(
        entry="separable"
    ),
    "gave the entry convolution a bias": _model_variant(entry_bias=True),
    "gave the entry convolution a ReLU (it has no activation: the first block's "
    "batch normalization and ReLU follow it)": _model_variant(entry_activation="relu"),
    "forgot to rescale the 0..255 input to 0..1 (Rescaling(1 / 255))": (
        _model_variant(rescale=False)
    ),
    "left out the final batch normalization and ReLU after the last block": (
        _model_variant(final_bn=False)
    ),
    "flattened the last feature map instead of averaging it "
    "(GlobalAveragePooling2D)": _model_variant(head="flatten"),
    "built the blocks without pooling (each block must halve the height and "
    "width)": _model_variant(pooling=False),
}
"""Wrong models, built from the reference block, each under its hint."""

MODEL_ENTRIES = ("params", "trainable", "value", "updated")


def model_mistakes(*, seed=0, **kwargs):
    """What the mistaken models give here: ``{entry: {hint: array}}`` (those that
    differ from the reference's); entries ``sides`` and ``last_map`` too."""
    expected = measure_model(reference.build_xception_like, seed=seed, **kwargs)
    mistakes = {entry: {} for entry in (*MODEL_ENTRIES, "sides", "last_map")}
    for hint, function in MISTAKEN_MODELS.items():
        measured = measure_model(function, seed=seed, **kwargs)
        for entry, found in mistakes.items():
            wrong, right = measured[entry], expected[entry]
            if wrong.shape != right.shape or not np.allclose(
                wrong, right, rtol=1e-4, atol=1e-6
            ):
                found[hint] = wrong
    return mistakes


def _named_mistake(got, mistakes):
    for hint, wrong in (mistakes or {}).items():
        if np.shape(wrong) == np.shape(got) and np.array_equal(wrong, got):
            return f"\n  hint: your answer is what you get if you {hint}."
    return ""


def _check_model(what, expected, mistakes_of, outputs):
    """The check of a ``build_xception_like`` case: ``mistakes_of()`` gives
    :func:`model_mistakes` on the case's trial, built only on a failure."""
    _with_hints(
        lambda mistakes: _judge_model(what, expected, mistakes, outputs), mistakes_of
    )


def _judge_model(what, expected, mistakes, outputs):
    from convviz_grade.checks import check_array, check_true

    got = {"value": np.asarray(outputs["value"]), **outputs.get("probe", {})}
    missing = [entry for entry in expected if entry not in got]
    check_true(what, not missing, f"the probe's entries {missing} are missing")
    for entry, meaning in (
        ("input_shape", "input shape"),
        ("sides", "heights and widths of its feature maps, largest first"),
        ("last_map", "shape of the last feature map"),
    ):
        right, wrong = expected[entry], np.asarray(got[entry])
        check_true(
            what,
            wrong.shape == right.shape and np.array_equal(wrong, right),
            f"{meaning}: expected {right.tolist()}, got {wrong.tolist()}"
            + _named_mistake(wrong, mistakes.get(entry)),
        )
    check_true(
        what,
        got["value"].shape == expected["value"].shape,
        f"expected output shape {expected['value'].shape[1:]}, "
        f"got {got['value'].shape[1:]}",
    )
    _check_param_counts(what, got, expected, mistakes)
    for entry, meaning in (
        ("value", "probabilities (inference mode) under the reference's weights"),
        ("updated", "probabilities after one training step updated the statistics"),
    ):
        check_array(
            f"{what}, {meaning}",
            got[entry],
            expected[entry],
            rtol=1e-4,
            atol=1e-6,
            mistakes=mistakes.get(entry),
        )


def model_case(*, seed, visible=False, **kwargs):
    """A probe case of ``build_xception_like(**kwargs)``."""
    from functools import partial

    from convviz_grade.grading import Case

    expected = measure_model(reference.build_xception_like, seed=seed, **kwargs)
    size = kwargs.get("image_size", 96)
    blocks = len(kwargs.get("widths", (32, 64, 128, 256)))
    sides = [size]
    for _ in range(blocks):
        sides.append(-(-sides[-1] // 2))
    if expected["sides"][:, 0].tolist() != sides:  # the reference itself is wrong
        raise ValueError(f"the reference's sides {expected['sides']} are not {sides}")
    shown = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
    return Case(
        "build_xception_like",
        (),
        partial(
            _check_model,
            f"build_xception_like({shown})",
            expected,
            partial(model_mistakes, seed=seed, **kwargs),
        ),
        kwargs=kwargs,
        kind="probe",
        probe="architecture:model",
        probe_kwargs={"images": model_images(size, seed), "weights_seed": seed},
        visible=visible,
    )


MODEL_TRIALS = [
    {"image_size": 32, "num_classes": 3, "widths": [8, 16], "entry_filters": 8},
    {
        "image_size": 36,
        "num_classes": 5,
        "widths": [8, 12, 16],
        "entry_filters": 4,
        "bn_momentum": 0.8,
    },
    {
        "image_size": 20,
        "num_classes": 2,
        "widths": [16],
        "entry_filters": 16,
        "dropout": 0.2,
    },
]
"""The hidden trials of ``build_xception_like``: an odd side on the way down
(36, 18, 9, 5), one block whose channels do not change, other momenta and rates."""


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
    cases += [
        separable_case((8, 8, 16), 16, pooling=False, seed=0, visible=True),
        separable_case((8, 8, 16), 32, pooling=True, seed=0, visible=True),
    ]
    cases += [
        separable_case(shape, filters, pooling=pooling, seed=seed, **options)
        for shape, filters, pooling, seed, options in SEPARABLE_TRIALS
    ]
    cases.append(model_case(seed=0, visible=True))
    cases += [
        model_case(seed=20 + number, **kwargs)
        for number, kwargs in enumerate(MODEL_TRIALS)
    ]
    return cases


def explain_error(case, message):
    """A hint for an error raised while building the student's block or model (see
    :mod:`convviz_grade.grading`).
    """
    if "shape" not in message.lower():
        return None
    if case.function == "build_xception_like":
        return (
            "a block's two branches have different shapes: check separable_block "
            "first (each block pools, so its residual needs a strided 1x1 "
            "projection)."
        )
    if case.function not in ("residual_block", "separable_block"):
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
