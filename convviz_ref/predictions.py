"""Reading a classifier's output: its k most probable classes, by name.

Keras' ``keras.applications.xception.decode_predictions`` does this for the
1000 ImageNet classes, but it first downloads ImageNet's class index (a JSON
file on storage.googleapis.com), so it needs a network. This module does the
same reading for any list of class names, offline.

Example:

>>> import numpy as np
>>> probabilities = np.array([[0.1, 0.6, 0.25, 0.05]], "float32")
>>> top = top_predictions(probabilities, ("disc", "square", "triangle", "star"), k=2)
>>> [(name, round(float(p), 2)) for name, p in top[0]]
[('square', 0.6), ('triangle', 0.25)]
"""

from __future__ import annotations

import numpy as np


def top_predictions(probabilities, class_names, k=3):
    """The ``k`` most probable classes of each image, most probable first.

    The same reading as Keras' ``decode_predictions`` (which returns
    ``(class_id, class_description, score)`` tuples for ImageNet), with our
    class names in place of ImageNet's index: one list of
    ``(class_name, probability)`` tuples per image. Ties keep the order of
    ``class_names`` (a stable sort).

    Args:
        probabilities: array-like of shape ``(batch, num_classes)``, a
            classifier's output (probabilities or any scores).
        class_names: sequence of ``num_classes`` str, the name of each output.
        k: int, how many classes to return per image, 1..num_classes.

    Returns:
        list of ``batch`` lists, each of ``k`` tuples
        ``(class_name, probability)`` with ``probability`` a Python float,
        in decreasing order of probability.

    Raises:
        ValueError: if ``probabilities`` is not 2-D, its second axis does not
            match ``class_names``, or ``k`` is outside 1..num_classes.
    """
    probabilities = np.asarray(probabilities)
    if probabilities.ndim != 2:
        raise ValueError(
            "expected probabilities of shape (batch, num_classes), "
            f"got {probabilities.shape}"
        )
    num_classes = probabilities.shape[1]
    if num_classes != len(class_names):
        raise ValueError(
            f"probabilities have {num_classes} classes "
            f"but {len(class_names)} class names were given"
        )
    if not 1 <= k <= num_classes:
        raise ValueError(f"k must be in 1..{num_classes}, got {k}")
    order = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return [
        [(class_names[index], float(row[index])) for index in indices]
        for row, indices in zip(probabilities, order)
    ]
