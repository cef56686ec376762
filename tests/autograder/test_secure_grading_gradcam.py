"""The gradcam assignment in the secure grader: its cases, and what submissions score.

See :class:`exercise_tools.GradedSubmissions` for how a submission is graded.
"""

from __future__ import annotations

import numpy as np
import pytest
from convviz_grade.assignments import gradcam as assignment
from exercise_tools import (
    REPOSITORY,
    GradedSubmissions,
    assert_full_points,
    case_counts,
    grade_with,
    models_as_the_worker_loads_them,
    submission,
)
from test_exercise_gradcam import (
    ASSIGNMENT,
    CORRECT,
    HEATMAP_SWITCHES_ACTIVATION_OFF,
    HIDDEN_TRIALS,
    HINTS,
    MISTAKEN,
)

FUNCTIONS = ["gradcam_heatmap", "output_heatmap_from_logit_maps", "overlay"]

pytestmark = pytest.mark.slow  # each test loads TensorFlow, most run the worker


# The (seed, head, class_index) trials the notebook's hidden cell ran before it ran the
# grader's cases (each on random_images(seed)): still among them.
FORMER_NOTEBOOK_HEATMAPS = HIDDEN_TRIALS


def test_cases_cover_the_former_hidden_tests_of_both_graders_and_every_mistake(
    graded_assignment,
):
    # function: (visible cases, hidden cases)
    assert case_counts(graded_assignment) == {
        "gradcam_heatmap": (5, 27),
        "output_heatmap_from_logit_maps": (2, 12),
        "overlay": (2, 12),
    }
    cases = graded_assignment.cases
    trials = {
        (seed, head, class_index)
        for seed, head, image, class_index in assignment.HEATMAP_TRIALS
        if image == ("random", seed)
    }
    assert set(FORMER_NOTEBOOK_HEATMAPS) <= trials
    assert (
        len(assignment.OVERLAY_TRIALS[2024]) == 4
    )  # the notebook's generator and trials
    hidden = [
        case
        for case in cases
        if case.function == "gradcam_heatmap" and not case.visible
    ]
    heads = {case.args[0].output_shape[-1] for case in hidden}
    assert heads == {1, 3}  # sigmoid and softmax heads
    scores = [case.kwargs.get("score", "output") for case in hidden]
    assert scores.count("logit") == len(assignment.LOGIT_TRIALS) == 7
    assert {case.args[3] is None for case in hidden} == {
        True,
        False,
    }  # class_index None and given
    hints, zero_maps = set(), 0
    for case in hidden:
        _, expected, mistakes, _ = case.check.args
        zero_maps += int(np.max(expected) == 0)
        hints |= set(mistakes)
    assert zero_maps >= 2
    assert len(hints) == 7, hints  # the six of the output score, and the output's
    overlay_hints = set().union(
        *(
            case.check.args[2]
            for case in cases
            if case.function == "overlay" and not case.visible
        )
    )
    assert len(overlay_hints) == 4


def test_every_model_survives_save_and_load(graded_assignment):
    """The worker loads each model from the grader's .keras file: the same predictions,
    the same heatmaps.
    """
    loaded_models = models_as_the_worker_loads_them(graded_assignment)
    for index, case in enumerate(graded_assignment.cases):
        if case.function != "gradcam_heatmap":
            continue
        loaded, image = loaded_models[index], case.args[1]
        np.testing.assert_array_equal(
            case.args[0].predict(image, verbose=0), loaded.predict(image, verbose=0)
        )
        layer_name = case.args[2]
        class_index = case.kwargs.get(
            "class_index", case.args[3] if len(case.args) > 3 else None
        )
        case.check(
            {
                "value": assignment.reference.gradcam_heatmap(
                    loaded,
                    image,
                    layer_name,
                    class_index,
                    score=case.kwargs.get("score", "output"),
                ),
                "probe": {"predictions_after": loaded.predict(image, verbose=0)},
            }
        )
    # One file per distinct model of the cases.
    assert len({id(model) for model in loaded_models.values()}) == len(
        {
            id(case.args[0])
            for case in graded_assignment.cases
            if case.function == "gradcam_heatmap"
        }
    )


class TestGradedSubmissions(GradedSubmissions):
    functions = FUNCTIONS
    correct, mistaken, hints = CORRECT, MISTAKEN, HINTS


def test_calling_the_reference_library_scores_zero(graded_assignment, server, tmp_path):
    """The repository is hidden from the worker: the course's library cannot be imported
    or read.
    """
    library = REPOSITORY / "convviz_ref" / "gradcam.py"
    path = submission(
        tmp_path,
        ASSIGNMENT,
        {
            "gradcam_heatmap": "from convviz_ref.gradcam import gradcam_heatmap\n",
            "output_heatmap_from_logit_maps": (
                "import importlib\n"
                "output_heatmap_from_logit_maps = importlib.import_module("
                "'convviz_ref.gradcam').output_heatmap_from_logit_maps\n"
            ),
            "overlay": (
                "def overlay(image, heatmap, alpha=0.4, cmap='jet'):\n"
                "    namespace = {}\n"
                f"    exec(open({str(library)!r}).read(), namespace)\n"
                "    return namespace['overlay'](image, heatmap, alpha, cmap)\n"
            ),
        },
    )
    _, grades = grade_with(server, graded_assignment, path)
    assert [(g.status, g.score) for g in grades.values()] == [("failed", 0.0)] * 3, (
        grades
    )


OUTPUT_MAP_HEADER = (
    "def output_heatmap_from_logit_maps(logit_maps, probabilities, class_index):\n"
)
CHEATS_AND_FAULTS = {
    # The visible tests' answers, hard-coded; the checks patched; a liar array.
    "cheats": {
        "gradcam_heatmap": (
            "import convviz_grade.checks as checks\n"
            "checks.check_array = lambda *args, **kwargs: None\n"
            "def gradcam_heatmap(model, image_batch, last_conv_layer_name, "
            "class_index=None, *, score='output'):\n"
            "    return np.array([[0.25, 0.5], [0.75, 1.0]] if score == 'logit' "
            "else [[0.0, 0.5], [0.75, 1.0]])\n"
        ),
        "output_heatmap_from_logit_maps": OUTPUT_MAP_HEADER
        + (
            "    if probabilities[0] == 1.0:\n"
            "        return np.array([[0.0, 0.0], [0.0, 1.0]])\n"
            "    return np.array([[0.0, 2 / 3], [1.0, 2 / 3]])\n"
        ),
        "overlay": (
            "class Liar(np.ndarray):\n"
            "    def __eq__(self, other):\n        return True\n"
            "    __ne__ = lambda self, other: False\n"
            "def overlay(image, heatmap, alpha=0.4, cmap='jet'):\n"
            "    return np.zeros(np.shape(image)[-3:], np.uint8).view(Liar)\n"
        ),
    },
    # A hang, an exit, a memory hog.
    "faults": {
        "gradcam_heatmap": (
            "def gradcam_heatmap(model, image_batch, last_conv_layer_name, "
            "class_index=None, *, score='output'):\n"
            "    while True:\n        pass\n"
        ),
        "output_heatmap_from_logit_maps": OUTPUT_MAP_HEADER
        + "    import os\n    os._exit(0)\n",
        "overlay": (
            "def overlay(image, heatmap, alpha=0.4, cmap='jet'):\n"
            "    hog = np.ones(2 ** 31)\n    return hog\n"
        ),
    },
}

FAULT_TIMEOUT = 30.0
"""Seconds a worker run may take in the tests of faults (one hangs until it).

The solution's whole run takes well under this here; each function of these
submissions fails whatever the limit, which only decides when a hang is cut.
"""


@pytest.mark.parametrize("kind", list(CHEATS_AND_FAULTS))
def test_cheats_and_faults_score_what_blank_scores(
    graded_assignment, server, tmp_path, blank, kind
):
    path = submission(tmp_path, ASSIGNMENT, CHEATS_AND_FAULTS[kind], name=kind)
    _, grades = grade_with(server, graded_assignment, path, timeout=FAULT_TIMEOUT)
    assert {f: (g.status, g.score) for f, g in grades.items()} == {
        f: (g.status, g.score) for f, g in blank[1].items()
    }, {f: g.message for f, g in grades.items()}


def test_a_fault_stays_inside_its_function(graded_assignment, server, tmp_path):
    """os._exit in the new function: the other two are still graded, in full."""
    answers = dict(CORRECT)
    answers["output_heatmap_from_logit_maps"] = CHEATS_AND_FAULTS["faults"][
        "output_heatmap_from_logit_maps"
    ]
    path = submission(tmp_path, ASSIGNMENT, answers, name="exits")
    _, grades = grade_with(server, graded_assignment, path, timeout=FAULT_TIMEOUT)
    assert {f: (g.status, g.score) for f, g in grades.items()} == {
        "gradcam_heatmap": ("passed", 3.0),
        "output_heatmap_from_logit_maps": ("failed", 0.0),
        "overlay": ("passed", 3.0),
    }, {f: g.message for f, g in grades.items()}
    assert "exit" in grades["output_heatmap_from_logit_maps"].message


def test_switching_the_last_activation_off_in_place_scores_zero(
    graded_assignment, server, tmp_path
):
    """The probe sees the worker's freshly loaded model changed after the call."""
    answers = dict(CORRECT, gradcam_heatmap=HEATMAP_SWITCHES_ACTIVATION_OFF)
    path = submission(tmp_path, ASSIGNMENT, answers, name="in_place")
    _, grades = grade_with(server, graded_assignment, path)
    heatmap = grades["gradcam_heatmap"]
    assert (heatmap.status, heatmap.score) == ("failed", 0.0), heatmap
    assert heatmap.message.startswith("(hidden test)"), heatmap.message
    assert assignment.MODEL_CHANGED in heatmap.message, heatmap.message
    assert [grades[name].score for name in FUNCTIONS[1:]] == [3.0, 3.0]


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


def test_a_scikit_image_overlay_earns_full_points_in_the_worker(
    graded_assignment, server, tmp_path
):
    """scikit-image's bicubic (reflect border) with the float colormap lookup."""
    answers = dict(CORRECT, overlay=OVERLAY_WITH_SKIMAGE)
    path = submission(tmp_path, ASSIGNMENT, answers, name="skimage")
    _, grades = grade_with(server, graded_assignment, path)
    assert_full_points(grades, FUNCTIONS)
