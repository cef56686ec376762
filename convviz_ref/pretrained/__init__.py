"""The models shipped with the course, by name, without importing TensorFlow.

``manifest.json`` beside the ``.keras`` files says how each shipped model was
trained; its keys are the one list of shipped models, which the command
lines' choices and help texts read (``convviz --help`` stays instant).
"""

import json
import pathlib

DIRECTORY = pathlib.Path(__file__).parent


def load_manifest():
    """``{name: how it was trained}`` for every shipped model (``manifest.json``).

    An installation without the file (a source tree whose models were not
    trained yet) ships no model: ``{}``.
    """
    path = DIRECTORY / "manifest.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text())


MODEL_NAMES = tuple(sorted(load_manifest()))
"""Every shipped model, sorted: the keys of ``manifest.json``."""

CLASSIFIERS = ("small_convnet", "xception_like")
"""The classifiers trained on the plain shapes data, which ``convviz evaluate``,
``faithfulness`` and ``completeness`` measure (``shortcut`` learned a marker)."""
