"""The gradcam assignment in the secure grader: its cases, and its fabricated class.

Every student of ``fabricated/gradcam.py`` (honest, the usual mistakes, blank,
cheats, faults) is graded by one ``convviz-grade autograde`` run (the module's
``graded_class``) and gets exactly its verdict on each function.
"""

from __future__ import annotations

import numpy as np
import pytest
from convviz_grade.assignments import gradcam as assignment
from exercise_tools import case_counts, models_as_the_worker_loads_them
from fabricated import graded_class_fixtures, hints_named
from fabricated.gradcam import ASSIGNMENT, CLASS, TIMEOUT
from test_exercise_gradcam import HIDDEN_TRIALS, OUTPUT_MAP_MISTAKES

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


graded_class, graded_assignment = graded_class_fixtures(
    ASSIGNMENT, CLASS, timeout=TIMEOUT
)


def test_every_usual_mistake_of_the_output_map_is_a_student():
    handed_in = [
        student.answers.get("output_heatmap_from_logit_maps")
        for student in CLASS.values()
    ]
    for source in OUTPUT_MAP_MISTAKES.values():
        assert source in handed_in
    assert assignment.OUTPUT_INSTEAD_OF_LOGIT in hints_named(CLASS, "gradcam_heatmap")


@pytest.mark.parametrize("student", list(CLASS))
def test_each_student_gets_exactly_the_expected_verdicts(graded_class, student):
    graded_class.assert_student(student)


def test_cheats_score_no_more_than_blank(graded_class):
    graded_class.assert_cheats_score_no_more_than_blank()
