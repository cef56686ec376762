"""The segmentation assignment in the secure grader: right and wrong answers, and the
cheats and faults of ``build_segmenter``.

``mean_iou``'s cheats and faults are the fabricated class's
(``tests/autograder/fabricated_class.py``, graded end to end by test_autograde.py);
those of ``build_segmenter``, whose grading trains a model, are graded here, each
beside a correct ``mean_iou`` that must keep its points.
"""

from __future__ import annotations

import pytest
from exercise_tools import (
    REPOSITORY,
    GradedSubmissions,
    case_counts,
    grade_with,
    submission,
)
from test_exercise_segmentation import (
    ASSIGNMENT,
    CORRECT,
    CORRECT_MEAN_IOU,
    HINTS,
    MISTAKEN,
)

FUNCTIONS = ["mean_iou", "build_segmenter"]

pytestmark = pytest.mark.slow  # the grader trains the segmenters it grades

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

CHEATS = {
    "imports_the_reference": (
        "from convviz_ref.models import build_segmentation_model as build_segmenter\n"
    ),
    "reads_the_reference_file": (
        f"exec(open({str(REPOSITORY / 'convviz_ref' / 'models.py')!r}).read())\n"
        "build_segmenter = build_segmentation_model\n"
    ),
    "background_everywhere": BACKGROUND_EVERYWHERE,
    "patches_the_probe": PATCHES_THE_PROBE,
}
"""Cheats on ``build_segmenter``: each must score what a blank function scores."""

FAULTS = {
    "os_exit": HEADER + "    import os\n    os._exit(0)\n",
    "hangs": HEADER + "    while True:\n        pass\n",
}


def test_the_cases_of_both_functions(graded_assignment):
    assert case_counts(graded_assignment) == {
        "mean_iou": (2, 11),
        "build_segmenter": (1, 5),
    }
    assert graded_assignment.preload == ["keras", "tensorflow"]


class TestGradedSubmissions(GradedSubmissions):
    functions = FUNCTIONS
    correct, mistaken, hints = CORRECT, MISTAKEN, HINTS


@pytest.mark.parametrize("cheat", sorted(CHEATS))
def test_a_cheat_on_the_segmenter_scores_what_blank_scores(
    graded_assignment, server, tmp_path, cheat
):
    path = submission(
        tmp_path,
        ASSIGNMENT,
        {"mean_iou": CORRECT_MEAN_IOU, "build_segmenter": CHEATS[cheat]},
    )
    _, grades = grade_with(server, graded_assignment, path, timeout=180)
    assert (grades["mean_iou"].status, grades["mean_iou"].score) == ("passed", 3.0)
    segmenter = grades["build_segmenter"]
    assert (segmenter.status, segmenter.score) == ("failed", 0.0), segmenter.message
    if cheat in ("background_everywhere", "patches_the_probe"):
        assert "under the required 0.44" in segmenter.message, segmenter.message


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_fault_in_the_segmenter_stays_inside_it(
    graded_assignment, server, tmp_path, fault
):
    path = submission(
        tmp_path,
        ASSIGNMENT,
        {"mean_iou": CORRECT_MEAN_IOU, "build_segmenter": FAULTS[fault]},
    )
    _, grades = grade_with(server, graded_assignment, path, timeout=20)
    assert (grades["mean_iou"].status, grades["mean_iou"].score) == ("passed", 3.0)
    segmenter = grades["build_segmenter"]
    assert (segmenter.status, segmenter.score) == ("failed", 0.0), segmenter.message
    expected = "timed out after 20 s" if fault == "hangs" else "exit code 0"
    assert expected in segmenter.message, segmenter.message
