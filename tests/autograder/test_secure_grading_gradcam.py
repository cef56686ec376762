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
    case_counts,
    grade_with,
    models_as_the_worker_loads_them,
    submission,
)
from test_exercise_gradcam import ASSIGNMENT, CORRECT, HIDDEN_TRIALS, HINTS, MISTAKEN

FUNCTIONS = ["gradcam_heatmap", "overlay"]

pytestmark = pytest.mark.slow  # each test loads TensorFlow, most run the worker


# The (seed, head, class_index) trials the notebook's hidden cell ran before it ran the
# grader's cases (each on random_images(seed)): still among them.
FORMER_NOTEBOOK_HEATMAPS = HIDDEN_TRIALS


def test_cases_cover_the_former_hidden_tests_of_both_graders_and_every_mistake(
    graded_assignment,
):
    # function: (visible cases, hidden cases)
    assert case_counts(graded_assignment) == {
        "gradcam_heatmap": (4, 20),
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
    assert len(hints) == 6, hints
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
                    loaded, image, layer_name, class_index
                )
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
            "overlay": (
                "def overlay(image, heatmap, alpha=0.4, cmap='jet'):\n"
                "    namespace = {}\n"
                f"    exec(open({str(library)!r}).read(), namespace)\n"
                "    return namespace['overlay'](image, heatmap, alpha, cmap)\n"
            ),
        },
    )
    _, grades = grade_with(server, graded_assignment, path)
    assert [(g.status, g.score) for g in grades.values()] == [("failed", 0.0)] * 2, (
        grades
    )
