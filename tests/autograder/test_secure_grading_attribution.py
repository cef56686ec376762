"""Attribution in the secure grader: its cases, and its fabricated class graded once.

Every student of ``fabricated/attribution.py`` (honest, the usual mistakes, blank,
cheats, faults) is graded by one ``convviz-grade autograde`` run (the module's
``graded_class``) and gets exactly its verdict on each function; each cheat and
fault scores no more than the blank release on each function it answers.
"""

from __future__ import annotations

import pytest
from convviz_grade.assignments import attribution as assignment
from exercise_tools import case_counts, models_as_the_worker_loads_them
from fabricated import graded_class_fixtures
from fabricated.attribution import ASSIGNMENT, CLASS, TIMEOUT

from convviz_ref import shortcut

FUNCTIONS = assignment.FUNCTIONS

pytestmark = pytest.mark.slow  # each test loads TensorFlow, most run the worker


def test_cases_cover_every_function_and_survive_save_and_load(graded_assignment):
    cases = graded_assignment.cases
    assert graded_assignment.functions == FUNCTIONS
    # function: (visible cases, hidden cases)
    assert case_counts(graded_assignment) == {
        "integrated_gradients": (2, 6),
        "gradcam_plus_plus": (2, 6),
        "pointing_game": (1, 6),
        "energy_pointing_game": (2, 6),
        "relies_on_marker": (2, 8),
    }
    assert all(case.keep_inputs for case in cases)
    assert graded_assignment.preload == ["keras", "tensorflow"]
    # The worker loads each model from the grader's .keras file: the reference on the
    # loaded copy passes the case.
    models = models_as_the_worker_loads_them(graded_assignment)
    for index, case in enumerate(cases):
        if case.function in ("integrated_gradients", "gradcam_plus_plus"):
            loaded = models[index]
            if case.function == "integrated_gradients":
                value = assignment.reference_integrated_gradients(
                    loaded, *case.args[1:], **case.kwargs
                )
            else:
                value = assignment.reference_gradcam_plus_plus(
                    loaded, *case.args[1:], **case.kwargs
                )
            case.check({"value": value})
        if case.function == "relies_on_marker":
            value = shortcut.relies_on_marker(models[index], *case.args[1:])
            case.check({"value": value})
    # One file per distinct model: the two visible models, one per hidden trial's seed
    # and head, then the decision's two shipped and eight hidden models.
    assert len({id(model) for model in models.values()}) == 2 + 6 + 6 + 2 + 8


graded_class, graded_assignment = graded_class_fixtures(
    ASSIGNMENT, CLASS, timeout=TIMEOUT
)


@pytest.mark.parametrize("student", list(CLASS))
def test_each_student_gets_exactly_the_expected_verdicts(graded_class, student):
    graded_class.assert_student(student)


def test_cheats_score_no_more_than_blank(graded_class):
    graded_class.assert_cheats_score_no_more_than_blank()
