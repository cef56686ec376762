"""The segmentation assignment in the secure grader: its fabricated class, graded once.

Every student of ``fabricated/segmentation.py`` (honest, a usual mistake of each
function, blank, cheats, faults) is graded by one ``convviz-grade autograde`` run
(the module's ``graded_class``) and gets exactly its verdict on each function.
``mean_iou``'s cheats and faults are the class of ``fabricated_class.py``, graded
end to end by test_autograde.py.
"""

from __future__ import annotations

import pytest
from exercise_tools import case_counts
from fabricated import graded_class_fixtures
from fabricated.segmentation import ASSIGNMENT, CLASS, TIMEOUT

pytestmark = pytest.mark.slow  # the grader trains the segmenters it grades

graded_class, graded_assignment = graded_class_fixtures(
    ASSIGNMENT, CLASS, timeout=TIMEOUT
)


def test_the_cases_of_both_functions(graded_assignment):
    assert case_counts(graded_assignment) == {
        "mean_iou": (2, 11),
        "build_segmenter": (1, 5),
    }
    assert graded_assignment.preload == ["keras", "tensorflow"]


@pytest.mark.parametrize("student", list(CLASS))
def test_each_student_gets_exactly_the_expected_verdicts(graded_class, student):
    graded_class.assert_student(student)


def test_cheats_score_no_more_than_blank(graded_class):
    graded_class.assert_cheats_score_no_more_than_blank()
