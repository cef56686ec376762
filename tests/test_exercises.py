"""The exercises as a whole: released by nbgrader, solvable, gradeable."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from convviz_grade.release import list_assignments, release
from convviz_grade.validate import collect_results

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent / "autograder"))
from course import Course  # noqa: E402
from exercise_tools import execute_in_one_kernel  # noqa: E402

ASSIGNMENTS = [
    "activations",
    "architecture",
    "attribution",
    "filters",
    "gradcam",
    "segmentation",
    "units",
]


def test_every_assignment_has_a_source_and_a_release():
    assert list_assignments() == ASSIGNMENTS
    for assignment in ASSIGNMENTS:
        assert (REPOSITORY / "solutions" / assignment / f"{assignment}.ipynb").is_file()
        assert (REPOSITORY / "exercises" / assignment / f"{assignment}.ipynb").is_file()


def _normalized(path):
    return json.dumps(nbformat.read(path, as_version=4), sort_keys=True, indent=1)


@pytest.mark.slow
def test_exercises_are_exactly_what_nbgrader_generates_from_solutions(tmp_path, capsys):
    Course(tmp_path)  # its nbgrader_config.py, which release reads
    shutil.copytree(REPOSITORY / "solutions", tmp_path / "solutions")
    assert release(course_dir=tmp_path) == 0, capsys.readouterr().out
    for assignment in ASSIGNMENTS:
        generated = tmp_path / "exercises" / assignment / f"{assignment}.ipynb"
        committed = REPOSITORY / "exercises" / assignment / f"{assignment}.ipynb"
        assert _normalized(generated) == _normalized(committed), (
            f"exercises/{assignment} has drifted from solutions/{assignment}: run "
            "`convviz-grade release`"
        )


def test_the_repository_course_keeps_everything_grading_writes_under_grading():
    # git ignores grading/; nbgrader's default gradebook would be gradebook.db at the
    # root.
    from convviz_grade.autograde import Course as RepositoryCourse

    course = RepositoryCourse(REPOSITORY)
    grading = REPOSITORY / "grading"
    assert course.gradebook_file() == grading / "gradebook.db"
    for trait in (
        "solution_directory",
        "submitted_directory",
        "autograded_directory",
        "feedback_directory",
    ):
        assert course.folder(trait).parent == grading, trait
    assert course.folder("source_directory") == REPOSITORY / "solutions"
    assert course.folder("release_directory") == REPOSITORY / "exercises"


def test_release_rejects_an_unknown_assignment(capsys):
    assert release(["nope"]) == 2
    assert "no assignment nope" in capsys.readouterr().out


def test_a_failing_assignment_is_named_with_nbgrader_s_error_the_others_released(
    tmp_path, capsys
):
    # All assignments are generated in one nbgrader process: one broken notebook must
    # not stop the rest.
    Course(tmp_path)
    for assignment in ("architecture", "segmentation"):
        shutil.copytree(
            REPOSITORY / "solutions" / assignment, tmp_path / "solutions" / assignment
        )
    (tmp_path / "solutions" / "broken").mkdir()
    (tmp_path / "solutions" / "broken" / "broken.ipynb").write_text(
        '{"not": "a notebook'
    )
    assert release(course_dir=tmp_path) == 1
    out = capsys.readouterr().out
    lines = {
        line.split()[0]: line.split()[1]
        for line in out.splitlines()
        if "-> exercises/" in line
    }
    assert lines == {
        "architecture": "released",
        "broken": "FAILED",
        "segmentation": "released",
    }, out
    assert (
        "Notebook does not appear to be JSON" in out
        and "error processing assignment 'broken'" in out
    ), out
    for assignment in ("architecture", "segmentation"):
        generated = tmp_path / "exercises" / assignment / f"{assignment}.ipynb"
        assert _normalized(generated) == _normalized(
            REPOSITORY / "exercises" / assignment / generated.name
        )
    assert not (tmp_path / "exercises" / "broken" / "broken.ipynb").exists()


def test_students_copy_hides_solutions_and_hidden_tests():
    for assignment in ASSIGNMENTS:
        text = (
            REPOSITORY / "exercises" / assignment / f"{assignment}.ipynb"
        ).read_text()
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, (
            assignment
        )
        assert "raise NotImplementedError()" in text, assignment


# Three assignments whose graded functions run TensorFlow are also graded by
# nbgrader's own autograde: their kernels write TensorFlow's C++ start-up lines to
# stderr, which nbgrader would score 0 without the course's configuration (see
# tests/autograder/test_stderr.py). The fourth, units, is left to validate's
# executor: the configuration is the same, and CI's time is short.
NBGRADER_GRADED = ["attribution", "filters", "gradcam"]


@pytest.fixture(scope="module")
def autograded(tmp_path_factory):
    """``autograded(assignment)``: the solution, submitted by alice and graded by
    nbgrader autograde.

    Run once per assignment however many tests ask: they read its scores from
    the gradebook and its test cells' outputs from the autograded notebook.
    """
    course = Course(tmp_path_factory.mktemp("course"))
    done = set()

    def autograde(assignment):
        if assignment not in done:
            source = REPOSITORY / "solutions" / assignment / f"{assignment}.ipynb"
            course.add_source(assignment, source)
            course.submit(assignment, "alice", source)
            course.autograde(assignment, "alice")
            done.add(assignment)
        notebook = (
            course.root
            / "grading"
            / "autograded"
            / "alice"
            / assignment
            / f"{assignment}.ipynb"
        )
        return course, nbformat.read(notebook, as_version=4)

    return autograde


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """``executed(folder, assignment)``: the notebook, executed by convviz-grade
    validate's executor.

    At first use, the students' copy of every assignment and the solutions that
    nbgrader does not grade here run one after the other in one kernel (each
    notebook whole, the kernel emptied between them: ``execute_in_one_kernel``).
    """
    paths = [
        REPOSITORY / "exercises" / assignment / f"{assignment}.ipynb"
        for assignment in ASSIGNMENTS
    ]
    paths += [
        REPOSITORY / "solutions" / assignment / f"{assignment}.ipynb"
        for assignment in ASSIGNMENTS
        if assignment not in NBGRADER_GRADED
    ]
    notebooks = {}

    def notebook(folder, assignment):
        if not notebooks:
            runs = execute_in_one_kernel(paths, tmp_path_factory.mktemp("executed"))
            notebooks.update(
                zip(((path.parent.parent.name, path.stem) for path in paths), runs)
            )
        return notebooks[folder, assignment]

    return notebook


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_passes_every_test_hidden_included(autograded, executed, assignment):
    # Each solution notebook is executed once: by nbgrader for the three it grades, by
    # convviz-grade validate's executor (what an instructor runs) for the others.
    if assignment in NBGRADER_GRADED:
        _, notebook = autograded(assignment)
    else:
        notebook = executed("solutions", assignment)
    results, other_errors = collect_results(notebook)
    assert not other_errors
    assert results, "no graded functions found"
    for result in results:
        assert result.passed, (result.name, result.failures)
        assert result.kinds == ["visible", "hidden"], (result.name, result.kinds)


@pytest.mark.slow
@pytest.mark.parametrize("assignment", NBGRADER_GRADED)
def test_a_correct_tensorflow_solution_gets_full_marks_under_nbgrader_autograde(
    autograded, assignment
):
    course, _ = autograded(assignment)
    scores = course.scores(assignment, "alice")
    assert scores, "nothing was graded"
    # Written answers (graded markdown cells) wait for formgrader: no points yet.
    source = nbformat.read(
        REPOSITORY / "solutions" / assignment / f"{assignment}.ipynb", as_version=4
    )
    written = {
        cell.metadata["nbgrader"]["grade_id"]
        for cell in source.cells
        if cell.cell_type == "markdown"
        and cell.metadata.get("nbgrader", {}).get("grade")
    }
    assert {name: scores[name][0] for name in written} == dict.fromkeys(written, 0.0)
    lost = {
        name: score
        for name, score in scores.items()
        if score[0] != score[1] and name not in written
    }
    assert not lost, f"points lost by a correct solution: {lost}"


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_unsolved_students_copy_fails_with_not_written_yet(executed, assignment):
    notebook = executed("exercises", assignment)
    results, _ = collect_results(notebook)
    assert results
    for result in results:
        assert not result.passed, result.name
        assert "not written yet" in result.failures[0][1], (
            result.name,
            result.failures,
        )
