"""The architecture assignment's probes: what a separable block and a model compute.

Both probes build what the student's function makes and measure it; the
checks in :mod:`convviz_grade.assignments.architecture` compare the
measurements with the reference's, measured by the same probe.

Weights by role (:func:`set_weights_by_role`): a student's block may name
its layers otherwise, create them in another order, or split a
``SeparableConv2D`` into a ``DepthwiseConv2D`` and a 1x1 ``Conv2D``; it still
computes the reference's function when it is right. So every weight array
gets values that depend only on its *own shape* and the seed, never on a
layer's name or position, except in batch normalization, whose four arrays
(gamma, beta, moving mean, moving variance) share one shape and are told
apart by their place in the layer (Keras' order), each with values fit for
its role (gamma near 1, a positive variance).

Two arrays of one shape get the same values, in the student's model and in
the reference alike: the pointwise kernel of a block's first separable
convolution and its projection are both ``(1, 1, in, filters)``, and when
the channels do not change both pointwise kernels and the projection share
``(1, 1, filters, filters)``. Equal outputs then still mean the same
function of the input, because both models are given weights by one rule.

What a probe cannot take from its shape is *which* weights form the body: the
projection and the pointwise kernels share shapes. The residual path is
therefore measured with the body's **depthwise** kernels zeroed: those exist
only in the body, and with them zero each separable convolution (without
bias) outputs zero, so a right block outputs its residual, ``x`` or the
projection ``W_s x``.

Self-contained (see :mod:`convviz_grade.probes`): NumPy and Keras only.
"""

import numpy as np

BN_ROLES = ("gamma", "beta", "moving_mean", "moving_variance")


def _values(seed, shape, tag):
    rng = np.random.default_rng([seed, *[int(size) for size in shape], tag])
    return rng, tuple(int(size) for size in shape)


def weight_by_shape(seed, shape):
    """The value of a non-normalization weight array of ``shape``.

    A 4-D kernel ``(k, k, in, out)`` is scaled by ``1 / sqrt(k * k * in)``, a
    depthwise kernel ``(k, k, in, 1)`` by ``1 / k``; a 2-D (dense) kernel
    ``(in, out)`` by ``1 / sqrt(in)``; a 1-D array (a bias) has values of
    about 0.1.
    """
    rng, shape = _values(seed, shape, 0)
    if len(shape) == 4:
        fan_in = shape[0] * shape[1] * (shape[2] if shape[3] != 1 else 1)
        scale = 1.0 / np.sqrt(fan_in)
    elif len(shape) == 2:
        scale = 1.0 / np.sqrt(shape[0])
    else:
        scale = 0.1
    return rng.normal(0.0, scale, size=shape).astype(np.float32)


def batch_norm_weight(seed, shape, role):
    """The value of a batch normalization array: its ``role`` is one of BN_ROLES."""
    rng, shape = _values(seed, shape, 1 + BN_ROLES.index(role))
    if role == "gamma":
        return (1.0 + 0.2 * rng.normal(size=shape)).astype(np.float32)
    if role == "moving_variance":
        return rng.uniform(0.5, 2.0, size=shape).astype(np.float32)
    return (0.2 * rng.normal(size=shape)).astype(np.float32)


def set_weights_by_role(model, seed):
    """Give every weight array of ``model`` its value by shape (by role in a BN).

    Returns:
        ``model``.
    """
    import keras

    for layer in _leaf_layers(model):
        weights = layer.get_weights()
        if not weights:
            continue
        if isinstance(layer, keras.layers.BatchNormalization):
            roles = [
                role
                for role, on in zip(BN_ROLES, (layer.scale, layer.center, True, True))
                if on
            ]
            values = [
                batch_norm_weight(seed, weight.shape, role)
                for role, weight in zip(roles, weights)
            ]
        else:
            values = [weight_by_shape(seed, weight.shape) for weight in weights]
        layer.set_weights(values)
    return model


def _leaf_layers(model):
    """The layers of ``model`` that hold weights themselves, nested models opened."""
    layers = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            layers += _leaf_layers(layer)
        else:
            layers.append(layer)
    return layers


def zero_depthwise_kernels(model):
    """Set every depthwise kernel to zero (those of ``SeparableConv2D`` and
    ``DepthwiseConv2D``).

    Returns:
        int, how many were zeroed.
    """
    import keras

    count = 0
    for layer in _leaf_layers(model):
        if isinstance(layer, keras.layers.SeparableConv2D):
            kernel = layer.depthwise_kernel
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            kernel = layer.kernel
        else:
            continue
        kernel.assign(np.zeros(kernel.shape, np.float32))
        count += 1
    return count


def _numpy(tensor):
    import keras

    return np.asarray(keras.ops.convert_to_numpy(tensor))


def block(function, args, kwargs, *, weights_seed=0):
    """Measure a residual block: ``function(x, filters, **kwargs)`` on a one-block
    model.

    ``args`` is ``(input batch, filters)``; the block is built on
    ``keras.Input`` of the batch's shape, given weights by role, and run.

    Returns:
        dict of arrays:

        * ``value``: the output in inference mode (``training=False``);
        * ``params``, ``trainable``: ``count_params()`` (with the moving
          statistics) and the trainable weights' count;
        * ``training``: the output in training mode (batch statistics);
        * ``updated``: the output in inference mode after that one training
          step's update of the moving statistics (by the momentum);
        * ``zeroed``: the inference output with every depthwise kernel zero,
          and ``depthwise``: how many there were.
    """
    import keras

    array, filters = args
    array = np.asarray(array, np.float32)
    inputs = keras.Input(shape=array.shape[1:])
    outputs = function(inputs, filters, **kwargs)
    model = keras.Model(inputs, outputs)
    set_weights_by_role(model, weights_seed)
    value = _numpy(model(array, training=False))
    training = _numpy(model(array, training=True))  # updates the moving statistics
    updated = _numpy(model(array, training=False))
    depthwise = zero_depthwise_kernels(model)
    zeroed = _numpy(model(array, training=False))
    return {
        "value": value,
        "params": np.array(model.count_params()),
        "trainable": np.array(
            sum(int(np.prod(weight.shape)) for weight in model.trainable_weights)
        ),
        "training": training,
        "updated": updated,
        "zeroed": zeroed,
        "depthwise": np.array(depthwise),
    }


def model(function, args, kwargs, *, images, weights_seed=0):
    """Measure a classifier: ``function(*args, **kwargs)`` must return a Keras model.

    Returns:
        dict of arrays:

        * ``value``: its outputs on ``images`` in inference mode, weights by
          role;
        * ``params``, ``trainable``: as for :func:`block`;
        * ``input_shape``: the model's input shape without the batch axis;
        * ``sides``: ``(n, 2)``, the distinct heights and widths of the
          model's 4-D layer outputs, largest first (its stages' resolutions);
        * ``last_map``: the shape ``(height, width, channels)`` of the last
          4-D layer output (the last feature map, before the pooling);
        * ``updated``: the inference outputs after one training-mode call has
          updated the moving statistics.
    """
    import keras

    built = function(*args, **kwargs)
    if not isinstance(built, keras.Model):
        raise TypeError(f"expected a keras.Model, got {type(built).__name__}")
    set_weights_by_role(built, weights_seed)
    images = np.asarray(images, np.float32)
    value = _numpy(built(images, training=False))
    maps = []
    for layer in built.layers:
        try:
            shape = tuple(layer.output.shape)
        except (AttributeError, ValueError):
            continue
        if len(shape) == 4:
            maps.append(shape[1:])
    sides = sorted({(int(h), int(w)) for h, w, _ in maps}, reverse=True)
    built(images, training=True)  # dropout is random; only the statistics are kept
    updated = _numpy(built(images, training=False))
    return {
        "value": value,
        "params": np.array(built.count_params()),
        "trainable": np.array(
            sum(int(np.prod(weight.shape)) for weight in built.trainable_weights)
        ),
        "input_shape": np.array([int(size) for size in built.input_shape[1:]]),
        "sides": np.array(sides, dtype=np.int64).reshape(-1, 2),
        "last_map": np.array([int(size) for size in maps[-1]] if maps else []),
        "updated": updated,
    }
