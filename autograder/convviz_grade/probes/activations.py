"""The probe of ``build_activation_model``: run the model it returns, twice.

Self-contained (NumPy and Keras only: see :mod:`convviz_grade.probes`). The
probe calls the student's function on the case's model, runs the returned
model on hidden images, then scales every weight of the *original* model by a
hidden factor and runs the returned model again: a model that shares the
original's layers follows the change, a copy does not. The original's weights
are put back afterwards, so the case's model is as it was (in the student's
kernel it is the grader's own object). The check, in the grader, compares
both runs with the reference's activations.
"""

import numpy as np


def _as_list(outputs):
    """The returned model's outputs as a list of arrays (one output may be bare)."""
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return [np.asarray(output, dtype=np.float32) for output in outputs]


def _unbuilt(model):
    """A Sequential model of ``model``'s own layers with no input: not built yet."""
    import keras

    layers = [
        layer
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
    ]
    return keras.Sequential(layers, name=model.name)


def run_activation_model(function, args, kwargs, *, images, factor, unbuilt=False):
    """Outputs of ``function(*args, **kwargs)``'s model, before and after a change.

    Args:
        function: the student's ``build_activation_model``.
        args, kwargs: the case's arguments, the model first.
        images: float32 array, the hidden images to run.
        factor: float, what every weight of the original model is multiplied by
            between the two runs.
        unbuilt: bool, pass a Sequential model of the same layers that has not
            been built (no input yet) instead of the model itself.

    Returns:
        dict: ``"value"``, the number of outputs; ``"before<i>"`` and
        ``"after<i>"``, output ``i`` before and after the change; ``"is_model"``,
        whether the function returned a ``keras.Model`` (not another callable).
    """
    import keras

    model = args[0]
    if unbuilt:
        model = _unbuilt(model)
    activation_model = function(model, *args[1:], **kwargs)
    before = _as_list(activation_model(images))
    variables = list(model.weights)
    saved = [np.array(variable.numpy()) for variable in variables]
    try:
        for variable, value in zip(variables, saved):
            variable.assign(value * np.asarray(factor, dtype=value.dtype))
        after = _as_list(activation_model(images))
    finally:
        for variable, value in zip(variables, saved):
            variable.assign(value)
    entries = {
        "value": np.array(len(before)),
        "is_model": np.array(isinstance(activation_model, keras.Model)),
    }
    for index, (first, second) in enumerate(zip(before, after)):
        entries[f"before{index}"] = first
        entries[f"after{index}"] = second
    return entries
