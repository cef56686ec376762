"""The ``activations`` assignment graded where student code cannot reach the verdict.

Every student of ``fabricated/activations.py`` (honest, the usual mistakes, blank,
cheats, faults) is graded by one ``convviz-grade autograde`` run (the module's
``graded_class``): its solution cells run in the sandboxed worker (bubblewrap, the
repository hidden) on the cases of
``convviz_grade.assignments.activations.grading_cases()``, the grader compares what
comes back with ``convviz_ref``'s, and each student gets exactly its verdict on
each function.
"""

from __future__ import annotations

import numpy as np
import pytest
from convviz_grade.assignments import activations as assignment_module
from fabricated import graded_class_fixtures, hints_named
from fabricated.activations import ASSIGNMENT, CLASS, TIMEOUT
from test_exercise_activations import HINT_OF

from convviz_ref import activations as reference

FUNCTIONS = ["channel_grid", "build_activation_model"]

pytestmark = pytest.mark.slow  # the class's grading runs Keras models

graded_class, graded_assignment = graded_class_fixtures(
    ASSIGNMENT, CLASS, timeout=TIMEOUT
)


def test_every_case_passes_on_the_reference(graded_assignment):
    """The checks accept convviz_ref's own grids; visible cases first; arrays only, no
    models.
    """
    assert graded_assignment.functions == FUNCTIONS
    grid_cases = [
        case for case in graded_assignment.cases if case.function == "channel_grid"
    ]
    visible = [case.visible for case in grid_cases]
    assert visible == sorted(visible, reverse=True)
    assert visible.count(True) == 7 and visible.count(False) >= 10
    for case in grid_cases:
        assert all(isinstance(value, np.ndarray) for value in case.args)
        case.check(
            {"value": reference.channel_grid(*case.args, **case.kwargs), "params": None}
        )


def test_the_prelude_imports_keras_only_when_used():
    namespace = {}
    exec(assignment_module.PRELUDE, namespace)
    assert namespace["np"] is np
    assert namespace["keras"].__name__ == "keras"
    assert "convviz" not in assignment_module.PRELUDE


def test_every_usual_mistake_of_the_activation_model_is_a_student():
    assert hints_named(CLASS, "build_activation_model") >= set(HINT_OF.values())


@pytest.mark.parametrize("student", list(CLASS))
def test_each_student_gets_exactly_the_expected_verdicts(graded_class, student):
    graded_class.assert_student(student)


def test_cheats_score_no_more_than_blank(graded_class):
    graded_class.assert_cheats_score_no_more_than_blank()
