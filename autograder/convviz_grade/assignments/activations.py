"""The ``activations`` assignment: random small models and activations, and the usual
mistakes.

The hidden tests of ``solutions/activations/activations.ipynb`` compare a
student's ``channel_grid`` with :func:`convviz_ref.activations.channel_grid`
on the seeded activations made here, and run the model a student's
``build_activation_model`` returns on hidden models (Functional with
branches, Sequential built or not, layer names no one can guess) through the
probe :mod:`convviz_grade.probes.activations`: that it is a ``keras.Model``,
the outputs, their order and shapes, and that the model shares the original's
weights. :func:`grid_mistakes` returns
``{hint: wrong_grid}`` for the same input, each hint written to complete
"your answer is what you get if you {hint}." (see
:func:`convviz_grade.checks.check_array`).

>>> activation = random_activation(seed=0, height=5, width=4, channels=6)
>>> activation.shape, activation.dtype
((1, 5, 4, 6), dtype('float32'))
>>> sorted(random_model(seed=0).output_names)
['conv1', 'conv2', 'pool1']
>>> [layer.name for layer in branched_model(seed=0).layers][2:4]
['u0_bfuo', 'w2_ybdo']
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import keras
import numpy as np

from convviz_grade.assignments import preludes, random_inputs
from convviz_ref import activations as reference

IMAGE_SIZE = 16
"""Height and width of the random models' inputs."""


def random_model(seed, *, image_size=IMAGE_SIZE):
    """A tiny seeded activation model: the outputs of ``conv1``, ``pool1`` and
    ``conv2``.

    ``conv1`` (16 filters) and ``conv2`` (20 filters) are 3x3 ReLU
    convolutions without padding, ``pool1`` a 2x2 max pooling; the model is
    built with :func:`convviz_ref.activations.build_activation_model`, so it
    returns a list of three ``(batch, h, w, c)`` activations. Some biases
    are negative, so some channels never fire (blank tiles).
    """
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = keras.layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    conv = partial(random_inputs.seeded_conv, bias_range=(-0.3, 0.2))
    x = conv(16, "conv1", kernel_seed=seed * 10 + 1, bias_seed=seed * 10 + 2)(x)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = conv(20, "conv2", kernel_seed=seed * 10 + 3, bias_seed=seed * 10 + 4)(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool_all")(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name=f"random_convnet_{seed}")
    return reference.build_activation_model(model)


def random_images(seed, num_images=1, image_size=IMAGE_SIZE):
    """Seeded uniform noise in 0..255, float32 ``(num_images, image_size, image_size,
    3)``.
    """
    return random_inputs.uniform_images(seed, num_images, image_size)


def random_activation(seed, *, height=7, width=6, channels=11):
    """A seeded stand-in for one layer's activation, float32 ``(1, height, width,
    channels)``.

    ReLU of scaled normal noise (skewed, with outliers beyond 2 standard
    deviations, as real activations have), where channel 1 is all zeros (a
    dead ReLU) and channel 3 a nonzero constant (0.7) (``std`` is 0, but float32
    round-off may say otherwise).
    """
    rng = np.random.default_rng(seed)
    scales = rng.uniform(0.1, 50.0, size=channels)
    activation = np.maximum(
        rng.normal(0.2, 1.0, size=(1, height, width, channels)) * scales, 0.0
    )
    if channels > 1:
        activation[..., 1] = 0.0
    if channels > 3:
        activation[..., 3] = 0.7
    return activation.astype(np.float32)


def _standardize(channel, denominator):
    return np.clip((channel - channel.mean()) / denominator * 64 + 128, 0, 255).astype(
        np.uint8
    )


def _tile(
    activation,
    images_per_row,
    tile_of,
    *,
    gap=1,
    edge=False,
    background=0,
    column_major=False,
):
    """Lay out ``tile_of(channel)`` (None for blank) like the reference, with
    variations.
    """
    height, width, channels = activation.shape
    rows = -(-channels // images_per_row)
    shape = (
        rows * (height + gap) - (0 if edge else gap),
        images_per_row * (width + gap) - (0 if edge else gap),
    )
    grid = np.full(shape, background, np.uint8)
    for row in range(rows):  # the tiles are blank (0) even when the separator is not
        for col in range(images_per_row):
            grid[
                row * (height + gap) : row * (height + gap) + height,
                col * (width + gap) : col * (width + gap) + width,
            ] = 0
    for index in range(channels):
        tile = tile_of(activation[:, :, index])
        if tile is None:
            continue
        row, col = (
            (index % rows, index // rows)
            if column_major
            else divmod(index, images_per_row)
        )
        top, left = row * (height + gap), col * (width + gap)
        grid[top : top + height, left : left + width] = tile
    return grid


def grid_mistakes(activation, images_per_row=16):
    """The usual wrong versions of ``channel_grid``: ``{hint: wrong grid}`` (uint8
    ndarray).
    """
    activation = np.array(activation, dtype=np.float32)
    if activation.ndim == 4:
        activation = activation[0]

    def correct(channel):
        return (
            None
            if channel.max() == channel.min()
            else _standardize(channel, channel.std())
        )

    def by_max(channel):
        centered = channel - channel.mean()
        return (
            None
            if channel.max() == channel.min()
            else _standardize(channel, centered.max())
        )

    def cast_first(channel):
        if channel.max() == channel.min():
            return None
        standardized = (channel - channel.mean()) / channel.std() * 64 + 128
        return np.clip(standardized.astype(np.uint8), 0, 255)

    def grey_blank(channel):
        return (
            np.full(channel.shape, 128, np.uint8)
            if channel.max() == channel.min()
            else correct(channel)
        )

    def std_test(channel):
        return None if channel.std() == 0 else _standardize(channel, channel.std())

    layer_mean, layer_std = activation.mean(), activation.std()

    def whole_layer(channel):
        if channel.max() == channel.min():
            return None
        return np.clip((channel - layer_mean) / layer_std * 64 + 128, 0, 255).astype(
            np.uint8
        )

    ipr = images_per_row
    with np.errstate(
        all="ignore"
    ):  # the mistakes divide by zero and cast NaN, as a student's code would
        mistakes = {
            "divided by the maximum instead of the standard deviation": _tile(
                activation, ipr, by_max
            ),
            "cast to uint8 before clipping": _tile(activation, ipr, cast_first),
            "standardized the whole layer at once instead of each channel on its "
            "own": _tile(activation, ipr, whole_layer),
            "left out the 1-pixel separator between tiles": _tile(
                activation, ipr, correct, gap=0
            ),
            "put a separator after the last row and column too": _tile(
                activation, ipr, correct, edge=True
            ),
            "made the separator white (255) instead of blank (0)": _tile(
                activation, ipr, correct, background=255
            ),
            "placed the channels column by column instead of row by row": _tile(
                activation, ipr, correct, column_major=True
            ),
            "gave constant channels a grey tile (128) instead of leaving them blank "
            "(0)": _tile(activation, ipr, grey_blank),
            "missed a constant channel whose float32 std is a tiny round-off instead "
            "of 0 "
            "(a channel whose values are all equal is constant)": _tile(
                activation, ipr, std_test
            ),
        }
    expected = reference.channel_grid(activation, ipr)
    # A variation that changes nothing on this input is no mistake here (e.g. no
    # constant channel).
    return {
        hint: wrong
        for hint, wrong in mistakes.items()
        if wrong.shape != expected.shape or not np.array_equal(wrong, expected)
    }


PRELUDE = "import numpy as np\n" + preludes.LAZY_KERAS
"""The imports of the notebook's setup cell that a solution may rely on (the course's
own modules left out).

``keras`` is imported on first use: ``channel_grid`` rarely needs it, and the worker
would otherwise import it for every submission (see the README's measurements).
"""


def _visible_activation():
    """The visible tests' two 2x2 channels, ``(1, 2, 2, 2)``."""
    activation = np.zeros((1, 2, 2, 2), dtype=np.float32)
    activation[0, :, :, 0] = [[0, 2], [2, 0]]
    activation[0, :, :, 1] = [[3, 3], [1, 1]]
    return activation


def grading_cases():
    """The cases of ``channel_grid`` and ``build_activation_model``
    (:func:`activation_model_cases`): the notebook's hidden tests and
    ``convviz-grade autograde``'s.

    The notebook's visible tests (the hand-computed 2-channel grids, a dead
    channel, clipping, the shape on ``small_convnet``'s ``pool2``), then the
    hidden cases: random activations with dead and constant channels (several
    sizes and tiles per row, with and without the batch axis), every layer of
    random small models and two layers of ``small_convnet``, and the default
    ``images_per_row``. The activations are computed here, so the worker gets
    arrays only. Every case also checks that ``channel_grid`` leaves its input
    as it was (``keep_inputs``).
    """
    from functools import partial

    from convviz_grade.checks import check_array, check_true
    from convviz_grade.grading import Case
    from convviz_ref.models import load_pretrained

    tolerances = {"rtol": 0, "atol": 1, "check_dtype": "uint8"}

    def check(label, expected, mistakes, outputs):
        check_array(label, outputs["value"], expected, mistakes=mistakes, **tolerances)

    def check_pool2_shape(outputs):
        grid = np.asarray(outputs["value"])
        check_true(
            "channel_grid",
            grid.shape == (91, 367) and grid.dtype == np.uint8,
            f"expected shape (91, 367) and dtype uint8, got {grid.shape} and "
            f"{grid.dtype}",
        )

    cases = []

    def add(label, activation, per_row, expected, *, visible=False):
        cases.append(
            Case(
                "channel_grid",
                (activation,),
                partial(check, label, expected, grid_mistakes(activation, per_row)),
                kwargs={"images_per_row": per_row},
                visible=visible,
            )
        )

    activation = _visible_activation()
    add(
        "channel_grid (images_per_row=2)",
        activation,
        2,
        np.array([[64, 192, 0, 192, 192], [192, 64, 0, 64, 64]], np.uint8),
        visible=True,
    )
    add(
        "channel_grid (images_per_row=1)",
        activation,
        1,
        np.array([[64, 192], [192, 64], [0, 0], [192, 192], [64, 64]], np.uint8),
        visible=True,
    )
    three = np.array(
        [[64, 192, 0, 192, 192, 0, 0, 0], [192, 64, 0, 64, 64, 0, 0, 0]], np.uint8
    )
    add("channel_grid (images_per_row=3)", activation, 3, three, visible=True)
    add("channel_grid (no batch axis)", activation[0], 3, three, visible=True)
    dead = activation.copy()
    dead[0, :, :, 1] = 0.0
    add(
        "channel_grid (a channel of zeros)",
        dead,
        2,
        np.array([[64, 192, 0, 0, 0], [192, 64, 0, 0, 0]], np.uint8),
        visible=True,
    )
    spike = np.zeros((1, 3, 3, 1), dtype=np.float32)
    spike[0, 1, 1, 0] = 9.0
    expected = np.full((3, 3), 105, np.uint8)
    expected[1, 1] = 255
    add("channel_grid (clipping)", spike, 1, expected, visible=True)
    shipped = load_pretrained("small_convnet").model
    pool2 = np.asarray(
        reference.build_activation_model(shipped, ["pool2"])(
            np.full((1, 96, 96, 3), 128.0, dtype=np.float32)
        )
    )
    cases.append(
        Case("channel_grid", (pool2,), check_pool2_shape, visible=True)
    )  # the default 16 per row

    hidden = []
    for first in (1, 41):  # two sets of seeds, 1 to 5 and 41 to 45
        hidden += [
            (random_activation(first), 4),
            (random_activation(first + 1, height=5, width=9, channels=7), 3),
            (
                random_activation(first + 2, height=12, width=12, channels=16)[0],
                5,
            ),  # no batch axis
            (random_activation(first + 3, height=4, width=4, channels=3), 16),
            (random_activation(first + 4, height=6, width=3, channels=9), 1),
        ]
    hidden.append(
        (random_activation(46, height=3, width=8, channels=12)[0], 12)
    )  # no batch axis, one full row
    for seed in (1, 2, 47, 48):
        hidden += [
            (np.asarray(output), 6)
            for output in random_model(seed)(random_images(seed))
        ]
    shipped_layers = reference.build_activation_model(shipped, ["conv2", "pool4"])
    for seed in (3, 49):
        hidden += [
            (np.asarray(output), 16)
            for output in shipped_layers(random_images(seed, image_size=96))
        ]
    for activation, per_row in hidden:
        add(
            f"channel_grid (activation {activation.shape}, images_per_row={per_row})",
            activation,
            per_row,
            reference.channel_grid(activation, per_row),
        )
    # The default images_per_row (16), which the student's signature must give.
    activation = random_activation(50, height=4, width=5, channels=21)
    cases.append(
        Case(
            "channel_grid",
            (activation,),
            partial(
                check,
                f"channel_grid (activation {activation.shape}, default images_per_row)",
                reference.channel_grid(activation),
                grid_mistakes(activation),
            ),
        )
    )
    # channel_grid must never change its input (the notebook's tests check it; so does
    # the grader).
    return [replace(case, keep_inputs=True) for case in cases] + (
        activation_model_cases()
    )


# ------------------------------------------------------ build_activation_model

PROBE = "activations:run_activation_model"
"""The probe of the ``build_activation_model`` cases (``probes/activations.py``)."""

WEIGHT_FACTOR = 0.5
"""What the probe multiplies every weight of the original model by, between runs."""


def _names(seed, count):
    """``count`` seeded layer names no one can guess, e.g. ``'k3_wqzi'``."""
    rng = np.random.default_rng([seed, 7])
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return [
        f"{rng.choice(letters)}{index}_{''.join(rng.choice(letters, 4))}"
        for index in range(count)
    ]


def branched_model(seed, *, image_size=IMAGE_SIZE):
    """A seeded Functional model with two branches, its layers named at random.

    ``rescaling``, a 3x3 conv, then two branches from it (a 3x3 conv, and a
    1x1 conv then a 3x3 separable conv, all ``padding="same"``) joined by
    ``Add``, a 2x2 max pooling, a 3x3 conv, a 2x2 average pooling, global
    average pooling and a softmax. Every layer but the input and ``rescaling``
    has a name from :func:`_names`; ``model.layers`` lists the branches' layers
    in an order of Keras's own.
    """
    names = iter(_names(seed, 12))
    conv = partial(random_inputs.seeded_conv, bias_range=(-0.2, 0.3))
    inputs = keras.Input(shape=(image_size, image_size, 3), name="image")
    x = keras.layers.Rescaling(1.0 / 255, name="rescaling")(inputs)
    x = conv(8, next(names), kernel_seed=seed * 20 + 1, bias_seed=seed * 20 + 2)(x)
    left = keras.layers.Conv2D(
        8,
        3,
        padding="same",
        activation="relu",
        name=next(names),
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 20 + 3),
    )(x)
    right = keras.layers.Conv2D(
        6,
        1,
        activation="relu",
        name=next(names),
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 20 + 4),
    )(x)
    right = keras.layers.SeparableConv2D(
        8,
        3,
        padding="same",
        name=next(names),
        depthwise_initializer=keras.initializers.GlorotUniform(seed=seed * 20 + 5),
        pointwise_initializer=keras.initializers.GlorotUniform(seed=seed * 20 + 6),
    )(right)
    x = keras.layers.Add(name=next(names))([left, right])
    x = keras.layers.MaxPooling2D(2, name=next(names))(x)
    x = conv(10, next(names), kernel_seed=seed * 20 + 7, bias_seed=seed * 20 + 8)(x)
    x = keras.layers.AveragePooling2D(2, name=next(names))(x)
    x = keras.layers.GlobalAveragePooling2D(name=next(names))(x)
    outputs = keras.layers.Dense(
        3,
        activation="softmax",
        name=next(names),
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 20 + 9),
    )(x)
    return keras.Model(inputs, outputs, name=f"branched_{seed}")


def sequential_model(seed, *, build="input", image_size=IMAGE_SIZE):
    """A seeded Sequential convnet, its layers named at random.

    Two 3x3 ReLU convs, each followed by a 2x2 max pooling, then global
    average pooling and a softmax. ``build``: ``"input"`` starts the list
    with a ``keras.Input``; ``"build"`` leaves it out and calls
    ``model.build(input_shape)``. Either way the model is built (a model
    not built yet cannot be saved with its weights: the probe makes one from
    these layers, see :mod:`convviz_grade.probes.activations`).
    """
    names = iter(_names(seed, 6))
    conv = partial(random_inputs.seeded_conv, bias_range=(-0.2, 0.3))
    stack = [
        conv(8, next(names), kernel_seed=seed * 20 + 1, bias_seed=seed * 20 + 2),
        keras.layers.MaxPooling2D(2, name=next(names)),
        conv(12, next(names), kernel_seed=seed * 20 + 3, bias_seed=seed * 20 + 4),
        keras.layers.MaxPooling2D(2, name=next(names)),
        keras.layers.GlobalAveragePooling2D(name=next(names)),
        keras.layers.Dense(
            3,
            activation="softmax",
            name=next(names),
            kernel_initializer=keras.initializers.GlorotUniform(seed=seed * 20 + 5),
        ),
    ]
    shape = (image_size, image_size, 3)
    if build == "input":
        return keras.Sequential([keras.Input(shape=shape), *stack], name=f"seq_{seed}")
    model = keras.Sequential(stack, name=f"seq_{seed}")
    model.build((None, *shape))
    return model


def scaled_copy(builder, factor=WEIGHT_FACTOR):
    """A fresh ``builder()`` model with every weight multiplied by ``factor``.

    What the probe's second run should see: the original model after the
    probe's change (the builders are deterministic by seed).
    """
    model = builder()
    for variable in model.weights:
        variable.assign(np.asarray(variable.numpy()) * factor)
    return model


def activation_outputs(activation_model, images):
    """The outputs of ``activation_model`` on ``images``, as a list of arrays."""
    outputs = activation_model(images)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [np.asarray(output) for output in outputs]


def _sequential_input_shape(model):
    return tuple(model.inputs[0].shape[1:])


def explain_error(case, message):
    """A hint for an error raised by the student's code (see
    :mod:`convviz_grade.grading`).
    """
    if case.function != "build_activation_model":
        return None
    if "never been called" in message or "no defined input" in message:
        return (
            "in Keras 3 a Sequential model has no `.input` (use `model.inputs[0]` "
            "when it is built), and one not built yet has no input at all: make a "
            "keras.Input of shape input_shape and call the model's own layers on it "
            "in order (calling a layer reuses its weights)"
        )
    if case.args[1] is None and "NoneType" in message:
        return (
            "layer_names=None means every conv and pooling layer of the model, in "
            "the model's order"
        )
    return None


def _compare_outputs(label, expected, expected_after, outputs, *, every_layer=False):
    """Judge the probe's entries: count, order, shapes, values, shared weights.

    ``every_layer``: the case asked for ``layer_names=None``.
    """
    from convviz_grade.checks import check_array

    probe = outputs["probe"]
    if not bool(np.asarray(probe.get("is_model", False))):
        raise AssertionError(
            f"{label}: expected a keras.Model, got another kind of object\n  hint: "
            "your answer is what you get if you returned a function that runs the "
            "layers instead of a keras.Model from an input to their outputs"
        )
    count = int(np.asarray(outputs["value"]))
    got = [probe.get(f"before{index}") for index in range(count)]
    if count != len(expected):
        hint = ""
        if count == 1 and got[0] is not None:
            if got[0].shape == expected[-1].shape and np.allclose(
                got[0], expected[-1], rtol=1e-4, atol=1e-5
            ):
                hint = (
                    "\n  hint: your answer is what you get if you returned only the "
                    "last layer's output (one output per name in layer_names)"
                )
        if every_layer and not hint:
            hint = (
                "\n  hint: layer_names=None means every conv and pooling layer "
                "(Conv2D, SeparableConv2D, DepthwiseConv2D, Conv2DTranspose, "
                "MaxPooling2D, AveragePooling2D), in the model's order"
            )
        raise AssertionError(
            f"{label}: expected {len(expected)} outputs (one per layer, in the order "
            f"of layer_names), got {count}{hint}"
        )
    for index, (actual, wanted) in enumerate(zip(got, expected)):
        if actual.shape == wanted.shape and np.allclose(
            actual, wanted, rtol=1e-4, atol=1e-5
        ):
            continue
        others = [
            position
            for position, other in enumerate(expected)
            if other.shape == actual.shape
            and np.allclose(actual, other, rtol=1e-4, atol=1e-5)
        ]
        if others:
            raise AssertionError(
                f"{label}: output {index} is the activation of layer {others[0]}: "
                "wrong order.\n  hint: your answer is what you get if you returned "
                "the outputs in another order than layer_names (the model's order, "
                "say)"
            )
        mistakes = {}
        if actual.shape == wanted.shape:
            mistakes = {
                "built new layers (fresh weights) instead of reusing the model's "
                "layers and their outputs": actual
            }
        check_array(
            f"{label}, output {index}",
            actual,
            wanted,
            rtol=1e-4,
            atol=1e-5,
            mistakes=mistakes,
        )
    for index, wanted in enumerate(expected_after):
        actual = probe.get(f"after{index}")
        if actual is None or not (
            actual.shape == wanted.shape
            and np.allclose(actual, wanted, rtol=1e-4, atol=1e-5)
        ):
            raise AssertionError(
                f"{label}: after the original model's weights changed, output "
                f"{index} did not follow: the model you return does not share the "
                "original's weights.\n  hint: your answer is what you get if you "
                "copied the model or its weights (clone_model, set_weights) instead "
                "of using the original layers' outputs"
            )


def activation_model_case(label, builder, layer_names, images, *, unbuilt=False):
    """A probe case of ``build_activation_model`` on ``builder()``'s model.

    The grader's expectations come from :func:`convviz_ref.activations.
    build_activation_model` on models of its own (``builder`` is called
    again: the model the student's function gets is never the one judged
    with), before and after :data:`WEIGHT_FACTOR`.
    """
    from convviz_grade.grading import Case

    model = builder()
    kwargs = {}
    if unbuilt:
        kwargs["input_shape"] = list(_sequential_input_shape(model))
    expected = activation_outputs(
        reference.build_activation_model(builder(), layer_names), images
    )
    expected_after = activation_outputs(
        reference.build_activation_model(scaled_copy(builder), layer_names), images
    )
    return Case(
        "build_activation_model",
        (model, layer_names),
        partial(
            _compare_outputs,
            label,
            expected,
            expected_after,
            every_layer=layer_names is None,
        ),
        kwargs=kwargs,
        kind="probe",
        probe=PROBE,
        probe_kwargs={
            "images": images,
            "factor": WEIGHT_FACTOR,
            "unbuilt": unbuilt,
        },
    )


def activation_model_cases():
    """The cases of ``build_activation_model``: visible first, then hidden.

    Visible (the notebook's test cell runs them): ``small_convnet`` with two
    layers in reverse order, and a small Sequential model not built yet, with
    every conv and pooling layer (``layer_names=None``). Hidden: branched
    Functional models (chosen layers in an order of their own; every layer),
    Sequential models built from a ``keras.Input`` and with ``build()``, and
    ones not built yet (``input_shape`` given). Every case runs the returned
    model on hidden noise images and checks the weights are shared.
    """
    from convviz_ref.models import load_pretrained

    def shipped():
        return load_pretrained("small_convnet").model

    cases = [
        activation_model_case(
            "build_activation_model (small_convnet, ['conv2', 'pool1'])",
            shipped,
            ["conv2", "pool1"],
            random_images(11, image_size=96),
        ),
        activation_model_case(
            "build_activation_model (a Sequential model not built yet, "
            "layer_names=None)",
            partial(sequential_model, 90),
            None,
            random_images(12),
            unbuilt=True,
        ),
    ]
    cases = [replace(case, visible=True) for case in cases]
    for seed in (3, 53):
        names = [layer.name for layer in branched_model(seed).layers]
        # The separable conv, the first conv, the average pooling, the Add.
        chosen = [names[5], names[2], names[9], names[6]]
        cases.append(
            activation_model_case(
                f"build_activation_model (a model with branches, {len(chosen)} "
                "layers in an order of their own)",
                partial(branched_model, seed),
                chosen,
                random_images(seed, num_images=2),
            )
        )
    cases.append(
        activation_model_case(
            "build_activation_model (a model with branches, layer_names=None)",
            partial(branched_model, 4),
            None,
            random_images(4),
        )
    )
    for seed, build in ((5, "input"), (55, "build")):
        names = [layer.name for layer in sequential_model(seed, build=build).layers]
        cases.append(
            activation_model_case(
                f"build_activation_model (a Sequential model built with {build!r})",
                partial(sequential_model, seed, build=build),
                [names[3], names[0]],
                random_images(seed, num_images=2),
            )
        )
    cases.append(
        activation_model_case(
            "build_activation_model (a Sequential model not built yet, input_shape "
            "given)",
            partial(sequential_model, 6),
            None,
            random_images(6),
            unbuilt=True,
        )
    )
    names = [layer.name for layer in sequential_model(56, build="input").layers]
    cases.append(
        activation_model_case(
            "build_activation_model (a Sequential model not built yet, two layers)",
            partial(sequential_model, 56),
            [names[2], names[1]],
            random_images(56),
            unbuilt=True,
        )
    )
    return cases
