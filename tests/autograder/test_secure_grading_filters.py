"""The ``filters`` assignment graded where student code cannot reach the verdict.

Every student of ``fabricated/filters.py`` (honest, the usual mistakes, blank,
cheats, faults) is graded by one ``convviz-grade autograde`` run (the module's
``graded_class``): its solution cells run in the sandboxed worker (bubblewrap, the
repository hidden) on the cases of
``convviz_grade.assignments.filters.grading_cases()``, the outputs are compared with
``convviz_ref``'s, and each student gets exactly its verdict on each function.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from convviz_grade import cases, grading
from convviz_grade.assignments import filters as assignment_module
from fabricated import graded_class_fixtures
from fabricated.filters import ASSIGNMENT, CLASS, TIMEOUT

from convviz_ref import filters as reference

FUNCTIONS = [
    "compute_loss",
    "gradient_ascent_step",
    "deprocess_image",
    "visualize_filter",
]


def test_prelude_and_functions():
    assert (
        assignment_module.PRELUDE
        == "import numpy as np\nimport keras\nimport tensorflow as tf\n"
    )
    assert "convviz" not in assignment_module.PRELUDE


@pytest.mark.slow
def test_every_case_passes_on_the_reference_and_its_models_survive_saving(
    graded_assignment,
):
    """The checks accept convviz_ref's own answers, and every model argument loads back
    the same.
    """
    counts = {}
    for case in graded_assignment.cases:
        counts.setdefault(case.function, {True: 0, False: 0})[case.visible] += 1
        # As the notebook's hidden cells and the worker call it (three steps in a row
        # for a repeat case).
        grading.check_outputs(
            case, cases.outputs_of(case, getattr(reference, case.function))
        )
    assert sorted(counts) == sorted(FUNCTIONS) == sorted(graded_assignment.functions)
    for function, count in counts.items():
        assert count[True] >= 2 and count[False] >= 5, (function, count)
    # Visible cases come first, as the notebook's visible tests do.
    for function in FUNCTIONS:
        flags = [
            case.visible
            for case in graded_assignment.cases
            if case.function == function
        ]
        assert flags == sorted(flags, reverse=True), function
    # The files the grader wrote once for every submission's worker.
    folder = graded_assignment.prepared_inputs()
    models = {}
    for case in graded_assignment.cases:
        for value in case.args:
            if hasattr(value, "layers"):
                models[id(value)] = value
    # Each model saved once: 13 for the first three functions, and for each
    # visualize_filter case the extractor its student function gets.
    assert (
        len(list(folder.glob("*.keras")))
        == len(models)
        <= 13 + len(assignment_module.VISUALIZE_CASES)
    )
    for number, model in enumerate(
        models.values()
    ):  # saved as model0.keras, model1.keras, ...
        loaded = keras.models.load_model(folder / f"model{number}.keras", compile=False)
        images = (
            np.random.default_rng(0)
            .uniform(0, 255, (1, *model.input_shape[1:]))
            .astype("float32")
        )
        np.testing.assert_allclose(
            np.asarray(loaded(images)), np.asarray(model(images)), rtol=1e-6, atol=1e-6
        )


graded_class, graded_assignment = graded_class_fixtures(
    ASSIGNMENT, CLASS, timeout=TIMEOUT
)


@pytest.mark.slow
@pytest.mark.parametrize("student", list(CLASS))
def test_each_student_gets_exactly_the_expected_verdicts(graded_class, student):
    graded_class.assert_student(student)


@pytest.mark.slow
def test_cheats_score_no_more_than_blank(graded_class):
    graded_class.assert_cheats_score_no_more_than_blank()
