"""Probes of the gradcam assignment (run in the grading worker, beside student code).

Self-contained: NumPy only (see :mod:`convviz_grade.probes`).
"""

import numpy as np


def model_left_unchanged(function, args, kwargs):
    """Call ``function(*args, **kwargs)``; then run the model it was given again.

    ``args`` are ``(model, image_batch, ...)``. The check compares the
    predictions after the call with the grader's own: a function that
    switched the model's last activation off (``model.layers[-1].activation =
    None``) changed it for every later caller.

    Returns:
        dict: ``"value"``, the function's result; ``"predictions_after"``,
        float32 ``(1, classes)``, the model's output on the image after the call.
    """
    model, image_batch = args[0], args[1]
    value = function(*args, **kwargs)
    after = model(np.asarray(image_batch, np.float32), training=False)
    return {
        "value": np.asarray(value),
        "predictions_after": np.asarray(after, np.float32),
    }
