"""The fabricated class of ``gradcam`` (``gradcam_heatmap`` with its ``score``
option, ``output_heatmap_from_logit_maps``, ``overlay``).

Every usual mistake of the output map that the exercise tests write out
(``OUTPUT_MAP_MISTAKES``, keyed by the hint the grader gives) is a student, and
both ways of computing the output's map when the logit's is asked for
(:data:`~convviz_grade.assignments.gradcam.OUTPUT_INSTEAD_OF_LOGIT`).
"""

from __future__ import annotations

from itertools import zip_longest

from convviz_grade.assignments import gradcam as module
from exercise_tools import REPOSITORY
from test_exercise_gradcam import (
    CORRECT,
    HEATMAP_LOG_PROBABILITY,
    HEATMAP_OUTPUT_ANYWAY,
    HEATMAP_SWITCHES_ACTIVATION_OFF,
    HINTS,
    MISTAKEN,
    OUTPUT_MAP_MISTAKES,
)

from fabricated import Student, failed, hangs, mistake

ASSIGNMENT = "gradcam"

TIMEOUT = 30.0
"""The worker's limit per run (``--timeout``): the solution's whole run takes
well under it on a loaded machine; the hang is cut at this limit."""

HEATMAP, MAP, OVERLAY = "gradcam_heatmap", "output_heatmap_from_logit_maps", "overlay"
HEATMAP_HEADER = (
    "def gradcam_heatmap(model, image_batch, last_conv_layer_name, "
    "class_index=None, *, score='output'):\n"
)
MAP_HEADER = (
    "def output_heatmap_from_logit_maps(logit_maps, probabilities, class_index):\n"
)
OVERLAY_HEADER = "def overlay(image, heatmap, alpha=0.4, cmap='jet'):\n"

OVERLAY_WITH_SKIMAGE = """
def overlay(image, heatmap, alpha=0.4, cmap="jet"):
    from skimage.transform import resize

    image = np.asarray(image, np.float64).reshape(np.shape(image)[-3:])
    colored = matplotlib.colormaps[cmap](np.clip(heatmap, 0, 1))[..., :3] * 255
    colored = resize(colored, image.shape, order=3, preserve_range=True)
    mixed = alpha * colored + image
    mixed -= mixed.min()
    return (mixed * (255 / mixed.max() if mixed.max() > 0 else 1)).astype(np.uint8)
"""
"""scikit-image's bicubic (reflect border) with the float colormap lookup."""

LIBRARY = REPOSITORY / "convviz_ref" / "gradcam.py"


NAMED_AS = {
    "scaled the class's own logit map and left out": HINTS[MAP],
}
"""Mistakes that the first failed case names as another: the class's own map
scaled by p_c (1 - p_c) > 0 is the logit's map once normalized, and only the
saturated case tells them apart."""


def _output_map_mistakes():
    """The output map's mistakes, each beside a mistaken heatmap (while they last),
    on the released copy: each function is graded on its own.

    The heatmaps: the two that give the output's map for the logit, and one that
    switches the model's activation off (the probe sees the worker's freshly
    loaded model changed after the call).
    """
    students = {}
    heatmaps = [
        (HEATMAP_OUTPUT_ANYWAY, mistake(module.OUTPUT_INSTEAD_OF_LOGIT, where=None)),
        (HEATMAP_LOG_PROBABILITY, mistake(module.OUTPUT_INSTEAD_OF_LOGIT, where=None)),
        (
            HEATMAP_SWITCHES_ACTIVATION_OFF,
            failed(module.MODEL_CHANGED, starts="(hidden test)"),
        ),
    ]
    for number, (output_map, heatmap) in enumerate(
        zip_longest(OUTPUT_MAP_MISTAKES.items(), heatmaps)
    ):
        answers, verdicts = {}, {}
        if output_map:
            answers[MAP] = output_map[1]
            hint = NAMED_AS.get(output_map[0], output_map[0])
            verdicts[MAP] = mistake(hint, where=None)
        if heatmap:
            answers[HEATMAP], verdicts[HEATMAP] = heatmap
        students[f"mistake_output_{number}"] = Student(
            "mistake", answers, verdicts, released=True
        )
    return students


CLASS = {
    # The hang first: it is cut at TIMEOUT while the other job grades the rest.
    # On the released copy: overlay, graded after the hang, would cost a second
    # run (fault_exits shows a fault that stays inside its function).
    "a_hangs": Student(
        "fault",
        {MAP: hangs(MAP_HEADER)},
        {MAP: failed(f"timed out after {TIMEOUT:g} s")},
        released=True,
    ),
    "honest_solution": Student("honest", {}),
    "honest_independent": Student("honest", CORRECT),
    "honest_skimage_overlay": Student("honest", {OVERLAY: OVERLAY_WITH_SKIMAGE}),
    "blank": Student("blank", {}, released=True),
    "mistake_all": Student(
        "mistake",
        MISTAKEN,
        {function: mistake(hint) for function, hint in HINTS.items()},
    ),
    **_output_map_mistakes(),
    # The repository is hidden from the worker: the course's library cannot be
    # imported or read.
    "cheat_calls_the_library": Student(
        "cheat",
        {
            HEATMAP: "from convviz_ref.gradcam import gradcam_heatmap\n",
            MAP: "import importlib\n"
            "output_heatmap_from_logit_maps = importlib.import_module("
            "'convviz_ref.gradcam').output_heatmap_from_logit_maps\n",
            OVERLAY: OVERLAY_HEADER + "    namespace = {}\n"
            f"    exec(open({str(LIBRARY)!r}).read(), namespace)\n"
            "    return namespace['overlay'](image, heatmap, alpha, cmap)\n",
        },
        {HEATMAP: failed(), MAP: failed(), OVERLAY: failed()},
    ),
    # The visible tests' answers, hard-coded; the checks patched; a liar array.
    "cheat_visible_answers": Student(
        "cheat",
        {
            HEATMAP: "import convviz_grade.checks as checks\n"
            "checks.check_array = lambda *args, **kwargs: None\n"
            + HEATMAP_HEADER
            + "    return np.array([[0.25, 0.5], [0.75, 1.0]] if score == 'logit' "
            "else [[0.0, 0.5], [0.75, 1.0]])\n",
            MAP: MAP_HEADER + "    if probabilities[0] == 1.0:\n"
            "        return np.array([[0.0, 0.0], [0.0, 1.0]])\n"
            "    return np.array([[0.0, 2 / 3], [1.0, 2 / 3]])\n",
            OVERLAY: "class Liar(np.ndarray):\n"
            "    def __eq__(self, other):\n        return True\n"
            "    __ne__ = lambda self, other: False\n"
            + OVERLAY_HEADER
            + "    return np.zeros(np.shape(image)[-3:], np.uint8).view(Liar)\n",
        },
        {HEATMAP: failed(), MAP: failed(), OVERLAY: failed()},
    ),
    "cheat_reads_the_grader": Student(
        "cheat",
        {MAP: f"_grader = open({module.__file__!r}).read()\n" + CORRECT[MAP]},
        {MAP: failed()},
        released=True,
    ),
    # os._exit in the new function: the other two are still graded, in full.
    "fault_exits": Student(
        "fault",
        {MAP: MAP_HEADER + "    import os\n    os._exit(0)\n"},
        {MAP: failed("exit")},
    ),
    # A raise, twenty megabytes printed by the cell of a right map (full points), a
    # memory hog.
    "fault_raises_prints_and_hogs": Student(
        "fault",
        {
            HEATMAP: HEATMAP_HEADER + "    raise RuntimeError('out of ideas')\n",
            MAP: "print('x' * 20_000_000)\n" + CORRECT[MAP],
            OVERLAY: OVERLAY_HEADER + "    hog = np.ones(2 ** 31)\n    return hog\n",
        },
        {HEATMAP: failed("RuntimeError: out of ideas"), OVERLAY: failed()},
    ),
}
