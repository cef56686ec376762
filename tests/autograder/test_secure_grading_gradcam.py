"""Secure grading of the gradcam assignment: the grader's cases, run in the sandboxed worker.

Each submission's solution cells run in :mod:`convviz_grade.worker` under
bubblewrap with the repository hidden; the verdicts are decided here, with
:mod:`convviz_ref`, by the cases of
:func:`convviz_grade.assignments.gradcam.grading_cases`.
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from convviz_grade import grading, notebook_cells, sandbox
from convviz_grade.assignments import gradcam as assignment
from exercise_tools import (
    REPOSITORY,
    grade_with,
    grading_server,
    models_as_the_worker_loads_them,
    solution_notebook,
)
from test_exercise_gradcam import (
    CORRECT_HEATMAP,
    CORRECT_OVERLAY,
    HEATMAP_WITHOUT_RELU,
    OVERLAY_COLOURS_0_1,
)

NAME = "gradcam"
RELEASED = REPOSITORY / "exercises" / NAME / f"{NAME}.ipynb"
FUNCTIONS = ["gradcam_heatmap", "overlay"]

pytestmark = pytest.mark.slow  # each test loads TensorFlow, most run the worker


@pytest.fixture(scope="module")
def graded_assignment():
    assert sandbox.bwrap_available(), (
        "these tests grade in bubblewrap, as convviz-grade does"
    )
    return grading.Assignment(NAME, solution_notebook(NAME))


@pytest.fixture(scope="module")
def server(graded_assignment, tmp_path_factory):
    """One sandboxed fork server for the module's submissions (see exercise_tools.grading_server)."""
    with grading_server(
        graded_assignment, tmp_path_factory.mktemp("slot") / "slot"
    ) as server:
        yield server


def submission(tmp_path, answers, *, name="submission"):
    """A copy of the solution notebook with some solution cells replaced: {grade_id: source}."""
    notebook = notebook_cells.replace_answers(
        nbformat.read(solution_notebook(NAME), as_version=4), answers
    )
    path = tmp_path / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def grade(graded_assignment, server, path):
    result = grade_with(server, graded_assignment, path)
    print(f"{path.name}: {result.seconds:.1f} s, {result.runs} worker run(s)")
    return {function.function: function for function in result.functions}


# The (seed, head, class_index) trials the notebook's hidden cell ran before it ran the grader's
# cases (each on random_images(seed)): still among them.
FORMER_NOTEBOOK_HEATMAPS = [
    (2, "softmax", None),
    (1, "softmax", None),
    (3, "softmax", 1),
    (4, "softmax", 1),
    (1, "softmax", 2),
    (2, "sigmoid", None),
    (3, "sigmoid", None),
    (7, "sigmoid", None),
]


def test_cases_cover_the_former_hidden_tests_of_both_graders_and_every_mistake(
    graded_assignment,
):
    cases = graded_assignment.cases
    counts = {
        (f, v): sum(c.function == f and c.visible == v for c in cases)
        for f in FUNCTIONS
        for v in (True, False)
    }
    assert counts == {
        ("gradcam_heatmap", True): 4,
        ("gradcam_heatmap", False): 20,
        ("overlay", True): 2,
        ("overlay", False): 12,
    }
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
    """The worker loads each model from the grader's .keras file: the same predictions, the same heatmaps."""
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


def test_the_solution_earns_full_points(graded_assignment, server, tmp_path):
    grades = grade(graded_assignment, server, solution_notebook(NAME))
    assert list(grades) == FUNCTIONS
    for function in grades.values():
        assert (function.status, function.score, function.max_score) == (
            "passed",
            3.0,
            3.0,
        ), function.message


def test_the_independent_correct_answers_earn_full_points(
    graded_assignment, server, tmp_path
):
    path = submission(
        tmp_path, {"gradcam_heatmap": CORRECT_HEATMAP, "overlay": CORRECT_OVERLAY}
    )
    for function in grade(graded_assignment, server, path).values():
        assert (function.status, function.score) == ("passed", 3.0), function.message


def test_the_usual_mistakes_score_zero_with_their_hint(
    graded_assignment, server, tmp_path
):
    path = submission(
        tmp_path,
        {"gradcam_heatmap": HEATMAP_WITHOUT_RELU, "overlay": OVERLAY_COLOURS_0_1},
    )
    grades = grade(graded_assignment, server, path)
    hints = {
        "gradcam_heatmap": "left out the ReLU",
        "overlay": "kept the colormap's colours in 0..1",
    }
    for function, hint in hints.items():
        result = grades[function]
        assert (result.status, result.score) == ("failed", 0.0)
        assert result.message.startswith("(visible test)"), result.message
        assert f"hint: your answer is what you get if you {hint}" in result.message, (
            result.message
        )


def test_the_released_copy_scores_zero_as_not_written_yet(graded_assignment, server):
    for function in grade(graded_assignment, server, RELEASED).values():
        assert (function.status, function.score) == ("failed", 0.0)
        assert "NotImplementedError" in function.message, function.message


def test_calling_the_reference_library_scores_zero(graded_assignment, server, tmp_path):
    """The repository is hidden from the worker: the course's library cannot be imported or read."""
    path = submission(
        tmp_path,
        {
            "gradcam_heatmap": "from convviz_ref.gradcam import gradcam_heatmap\n",
            "overlay": (
                "def overlay(image, heatmap, alpha=0.4, cmap='jet'):\n"
                "    namespace = {}\n"
                f"    exec(open({str(REPOSITORY / 'convviz_ref' / 'gradcam.py')!r}).read(), namespace)\n"
                "    return namespace['overlay'](image, heatmap, alpha, cmap)\n"
            ),
        },
    )
    grades = grade(graded_assignment, server, path)
    assert [(g.status, g.score) for g in grades.values()] == [("failed", 0.0)] * 2, (
        grades
    )
