"""The probe of ``unit_concept``: give it a dict of masks, send back a name's index.

Self-contained (NumPy only: see :mod:`convviz_grade.probes`). A case's inputs
reach the worker as arrays, models and JSON values, and its result must come
back as numbers; ``unit_concept`` takes a dict ``{name: bool (n, H, W)}`` and
returns a str. So the case sends the names (a JSON list) and the masks stacked
``(C, n, H, W)`` as the probe's own arguments; the probe makes the dict, calls
the student's function with it as the last argument, and returns the answer as
the index of the name it gave. The grader compares that index with the
concept the hidden unit was planted for.
"""

import numpy as np

TEXT_LIMIT = 60
"""Characters of the answer sent back (as code points) for the message."""


def name_the_concept(function, args, kwargs, *, concept_names, concept_masks):
    """Call ``function(*args, masks, **kwargs)`` with the masks as a dict.

    Args:
        function: the student's ``unit_concept``.
        args, kwargs: the case's arguments (model, layer name, unit, images).
        concept_names: list of str, the concepts in order.
        concept_masks: bool array ``(C, n, H, W)``, one mask stack per name.

    Returns:
        dict: ``"value"``, the index of the returned name in ``concept_names``
        (-1 when it is none of them); ``"is_text"``, whether a str came back;
        ``"text"``, the first code points of ``str(answer)``.
    """
    masks = {
        str(name): np.array(mask, dtype=bool)
        for name, mask in zip(concept_names, concept_masks)
    }
    answer = function(*args, masks, **kwargs)
    is_text = isinstance(answer, str)
    names = [str(name) for name in concept_names]
    index = names.index(answer) if is_text and answer in names else -1
    text = str(answer)[:TEXT_LIMIT]
    return {
        "value": np.array(index),
        "is_text": np.array(is_text),
        "text": np.array([ord(character) for character in text], dtype=np.int64),
    }
