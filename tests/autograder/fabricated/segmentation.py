"""The fabricated class of ``segmentation`` (``mean_iou``, ``build_segmenter``).

``build_segmenter``'s grading trains the model it returns, so this class holds
the students of the new function; ``mean_iou``'s cheats and faults are the
class of ``fabricated_class.py`` (graded by test_autograde.py).

One usual mistake per function is a student (the exercise tests' ``MISTAKEN``):
each other usual mistake of ``build_segmenter`` (``SEGMENTER_HINTS``) would cost a
training run of its own in the worker, about 8 s each; the exercise tests
check each one's hint through the same checks in-process, before any training
(``test_each_usual_segmenter_mistake_is_named_before_any_training``).
"""

from __future__ import annotations

from convviz_grade.assignments import segmentation as module
from exercise_tools import REPOSITORY
from test_exercise_segmentation import CORRECT, HINTS, MISTAKEN

from fabricated import PASSED, Student, failed, hangs, mistake

ASSIGNMENT = "segmentation"

TIMEOUT = 60.0
"""The worker's limit per run (``--timeout``): the solution's whole run, two
training runs included, takes about 20 s on a loaded machine; the hang is cut at
this limit."""

HEADER = "def build_segmenter(image_size, num_classes=3):\n"

# A model of the contract's shape that cannot learn: its last layer outputs
# "background" everywhere, whatever the image.
BACKGROUND_EVERYWHERE = (
    HEADER
    + """    import keras

    L = keras.layers
    inputs = L.Input((image_size, image_size, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same")(inputs)
    x = L.Conv2D(8, 3, strides=2, padding="same")(x)
    x = L.Conv2DTranspose(8, 3, strides=2, padding="same")(x)
    x = L.Conv2DTranspose(8, 3, strides=2, padding="same")(x)
    x = L.Conv2D(num_classes, 1, trainable=False, kernel_initializer="zeros",
                 bias_initializer=keras.initializers.Constant(
                     [0.0, 9.0] + [0.0] * (num_classes - 2)),
                 activation="softmax")(x)
    return keras.Model(inputs, x)
"""
)

# The probe's description replaced by a perfect one, for a model that cannot learn:
# the layers pass, the masks judged against the grader's own do not.
PATCHES_THE_PROBE = (
    """import sys as _sys


def _perfect(model):
    import numpy as _np

    size = model.input_shape[1]
    kinds = ["Conv2D", "Conv2D", "Conv2DTranspose", "Conv2DTranspose", "Conv2D"]
    maps = [(size, size // 2), (size // 2, size // 4), (size // 4, size // 2),
            (size // 2, size), (size, size)]
    return {
        "layer_classes": _np.frombuffer("\\n".join(kinds).encode(), _np.uint8).copy(),
        "layer_sizes": _np.array([[a, a, b, b] for a, b in maps]),
        "layer_config": _np.array([[2, 2, 3, 3, 0]] * 4 + [[1, 1, 1, 1, 0]]),
    }


for _name, _module in list(_sys.modules.items()):
    if _name.startswith("_convviz_probe_segmentation"):
        _module.describe_layers = _perfect

"""
    + BACKGROUND_EVERYWHERE
)

UNDER_THE_BAR = f"under the required {module.IOU_BAR:g}"
SEGMENTER = "build_segmenter"

CLASS = {
    # The hang first: it is cut at TIMEOUT while the other job grades the rest.
    "a_hangs": Student(
        "fault",
        {SEGMENTER: hangs(HEADER)},
        {SEGMENTER: failed(f"timed out after {TIMEOUT:g} s")},
    ),
    "honest_solution": Student("honest", {}),
    "honest_independent": Student("honest", CORRECT),
    "blank": Student("blank", {}, released=True),
    # Today's notebook mistakes of both functions, in one notebook.
    "mistake_both": Student(
        "mistake",
        MISTAKEN,
        {function: mistake(hint) for function, hint in HINTS.items()},
    ),
    # Two cheats of two functions, neither reaching the other's: the reference's
    # segmenter imported, and the grader's module (hidden by the sandbox) read
    # before a right mean_iou.
    "cheat_imports_the_reference_and_reads_the_grader": Student(
        "cheat",
        {
            SEGMENTER: "from convviz_ref.models import build_segmentation_model "
            "as build_segmenter\n",
            "mean_iou": f"_grader = open({module.__file__!r}).read()\n"
            + CORRECT["mean_iou"],
        },
        {SEGMENTER: failed(), "mean_iou": failed()},
    ),
    "cheat_reads_the_reference_file": Student(
        "cheat",
        {
            SEGMENTER: (
                f"exec(open({str(REPOSITORY / 'convviz_ref' / 'models.py')!r})"
                ".read())\nbuild_segmenter = build_segmentation_model\n"
            )
        },
        {SEGMENTER: failed()},
    ),
    "cheat_background_everywhere": Student(
        "cheat", {SEGMENTER: BACKGROUND_EVERYWHERE}, {SEGMENTER: failed(UNDER_THE_BAR)}
    ),
    "cheat_patches_the_probe": Student(
        "cheat", {SEGMENTER: PATCHES_THE_PROBE}, {SEGMENTER: failed(UNDER_THE_BAR)}
    ),
    "fault_os_exit": Student(
        "fault",
        {SEGMENTER: HEADER + "    import os\n    os._exit(0)\n"},
        {SEGMENTER: failed("exit code 0")},
    ),
    "fault_raises": Student(
        "fault",
        {SEGMENTER: HEADER + "    raise RuntimeError('out of ideas')\n"},
        {SEGMENTER: failed("RuntimeError: out of ideas")},
    ),
    # Twenty megabytes printed by the cell of a right mean_iou: full points. On the
    # released copy: no segmenter to train.
    "fault_prints_megabytes": Student(
        "fault",
        {"mean_iou": "print('x' * 20_000_000)\n" + CORRECT["mean_iou"]},
        {"mean_iou": PASSED},
        released=True,
    ),
}
