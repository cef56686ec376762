"""The ``units`` assignment in the secure grader: its cases, and its fabricated class
graded once.

Every student of ``fabricated/units.py`` (honest, every usual mistake of the two
formulas, blank, cheats, faults) is graded by one ``convviz-grade autograde`` run
(the module's ``graded_class``) and gets exactly its verdict on each function; each
cheat and each fault scores no more than the blank release on each function it
answers.
"""

from __future__ import annotations

import collections

import pytest
from convviz_grade.assignments import units as assignment
from convviz_grade.probes import units as probe
from exercise_tools import case_counts, models_as_the_worker_loads_them
from fabricated import graded_class_fixtures, hints_named
from fabricated.units import ASSIGNMENT, BIAS, CLASS, CONCEPT, CONSTANT, IOU, TIMEOUT

from convviz_ref import dissection

pytestmark = pytest.mark.slow  # the class's grading runs Keras models

graded_class, graded_assignment = graded_class_fixtures(
    ASSIGNMENT, CLASS, timeout=TIMEOUT
)


def planted_concepts(graded_assignment, *, visible):
    """The concept each ``unit_concept`` case's unit was planted for, in order."""
    return [
        case.check.args[2]
        for case in graded_assignment.cases
        if case.function == CONCEPT and case.visible == visible
    ]


def test_the_cases_and_the_decisions_outcomes(graded_assignment):
    # function: (visible cases, hidden cases)
    counts = case_counts(graded_assignment)
    assert counts[CONCEPT] == (2, 10)
    assert all(visible and hidden for visible, hidden in counts.values()), counts
    assert all(case.keep_inputs for case in graded_assignment.cases)
    # At least four hidden units of each of two outcomes: the constant answer fails
    # some, and a random pick between the two passes all with probability under 1 %.
    outcomes = collections.Counter(planted_concepts(graded_assignment, visible=False))
    assert len(outcomes) == 2 and min(outcomes.values()) >= 4, outcomes
    assert CONSTANT in outcomes
    assert 0.5 ** sum(outcomes.values()) < 0.01


def test_the_worker_loaded_models_name_their_planted_concept(graded_assignment):
    """Through the probe, as the worker runs it, the reference on each model loaded
    from the grader's .keras file passes its case."""
    models = models_as_the_worker_loads_them(graded_assignment)
    for index, case in enumerate(graded_assignment.cases):
        if case.function != CONCEPT:
            continue
        outputs = probe.name_the_concept(
            dissection.unit_concept,
            [models[index], *case.args[1:]],
            {},
            **case.probe_kwargs,
        )
        case.check({"value": outputs.pop("value"), "probe": outputs})
    assert len({id(model) for model in models.values()}) == len(
        planted_concepts(graded_assignment, visible=True)
    ) + len(planted_concepts(graded_assignment, visible=False))


def test_every_usual_mistake_of_the_formulas_is_a_student():
    """Each hint the grader can give on the two formulas is expected of a student."""
    for function, offered in (
        (IOU, assignment.iou_mistakes(*assignment.function_cases(IOU)[0].args)),
        (BIAS, assignment.shape_bias_mistakes(*assignment.VISIBLE_DECISIONS)),
    ):
        named = hints_named(CLASS, function)
        for hint in offered:
            assert any(part in hint for part in named), (function, hint)


@pytest.mark.parametrize("student", list(CLASS))
def test_each_student_gets_exactly_the_expected_verdicts(graded_class, student):
    graded_class.assert_student(student)


def test_cheats_score_no_more_than_blank(graded_class):
    graded_class.assert_cheats_score_no_more_than_blank()


def test_faults_score_no_more_than_blank(graded_class):
    graded_class.assert_cheats_score_no_more_than_blank(kind="fault")
