"""What the grader refuses: the course's own packages, with or without a sandbox, and a
class it cannot grade.
"""

from __future__ import annotations

import io
import sqlite3
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from convviz_grade import cli, locations, sandbox, worker
from course import autograde_arguments, segmentation_course
from fabricated_class import (
    CLASS,
    PIXEL_ACCURACY,
    RELEASED,
    REPOSITORY,
    SOURCE,
    submission_from,
)

CHEATS = [
    "erin_imports_reference",
    "frank_importlib",
    "eve_dunder_import",
    "gus_patches_test_helpers",
]


def make_course(tmp_path, source_notebook=None):
    course = segmentation_course(tmp_path / "course")
    if source_notebook is not None:
        nbformat.write(
            source_notebook,
            course.root / "solutions" / "segmentation" / "segmentation.ipynb",
        )
    return course


def put(submissions, student, notebook):
    folder = submissions / student / "segmentation"
    folder.mkdir(parents=True)
    nbformat.write(notebook, folder / "segmentation.ipynb")


def autograde(course, submissions, *options):
    output = io.StringIO()
    limits = ["--timeout", "8", "--memory", "2048"]
    arguments = autograde_arguments(course.root, submissions, *limits, *options)
    code = cli.main(arguments, stream=output)
    return code, output.getvalue()


def test_the_worker_refuses_the_same_packages_the_sandbox_hides():
    # worker.py is copied into the sandbox and imports nothing of ours: its list is its
    # own.
    assert worker.PROTECTED_PACKAGES == locations.PROTECTED_PACKAGES


def test_the_packages_are_found_where_they_are_installed():
    folders = locations.package_folders()
    assert REPOSITORY / "convviz_ref" in folders
    assert REPOSITORY / "autograder" / "convviz_grade" in folders
    assert locations.repository() == REPOSITORY  # the test venv's install is editable
    assert not any(
        folder == REPOSITORY or REPOSITORY.is_relative_to(folder) for folder in folders
    )


def test_a_venv_under_a_hidden_folder_is_bound_back_and_its_packages_hidden_again():
    # Under /tmp itself, wherever pytest's --basetemp puts tmp_path.
    with tempfile.TemporaryDirectory(dir="/tmp") as folder:
        venv = Path(folder) / "venv"
        package = venv / "lib" / "site-packages" / "convviz_ref"
        package.mkdir(parents=True)
        operations = sandbox.mounts(hide=[package], keep=[venv])
    kinds = [(kind, path) for kind, path in operations if path.startswith(folder)]
    # /tmp hidden first, the venv bound back, its package hidden again.
    assert ("tmpfs", "/tmp") in operations
    assert kinds == [("ro-bind", str(venv)), ("tmpfs", str(package))]
    assert operations.index(("tmpfs", "/tmp")) < operations.index(
        ("ro-bind", str(venv))
    )


@pytest.mark.slow
def test_without_isolation_importing_the_course_scores_what_blank_scores(tmp_path):
    course = make_course(tmp_path)
    submissions = tmp_path / "submissions"
    for student in CHEATS:
        put(submissions, student, submission_from(CLASS[student][0]))
    put(submissions, "carol_blank", nbformat.read(RELEASED, as_version=4))
    code, output = autograde(course, submissions, "--isolation", "none")
    assert code == 0, output
    assert output.startswith(
        "note: --isolation none: student code runs with the grader's file and network "
        "access"
    )
    for student in [*CHEATS, "carol_blank"]:
        assert course.scores("segmentation", student) == {
            "test_mean_iou": (0.0, 1.0),
            "hidden_mean_iou": (0.0, 2.0),
        }
    assert (
        cli.main(
            ["feedback", "segmentation", "--course-dir", str(course.root)],
            stream=io.StringIO(),
        )
        == 0
    )
    for student in CHEATS:
        (function,) = course.graded_results("segmentation", student)["functions"]
        assert function["status"] == "failed"
        assert "cannot be imported while grading" in function["message"], function[
            "message"
        ]
        page = (
            course.root
            / "grading"
            / "feedback"
            / student
            / "segmentation"
            / "segmentation.html"
        )
        assert "cannot be imported while grading" in page.read_text()


@pytest.mark.slow
def test_a_sandbox_that_cannot_run_python_stops_before_any_student(tmp_path):
    assert sandbox.bwrap_available()
    course = make_course(tmp_path)
    submissions = tmp_path / "submissions"
    put(submissions, "alice_correct", submission_from(CLASS["alice_correct"][0]))
    # Hiding the venv Python runs from: the sandbox can no longer start the interpreter.
    code, output = autograde(
        course, submissions, "--isolation", "bwrap", "--hide", sys.prefix
    )
    assert code == 2
    (line,) = output.strip().splitlines()
    assert line.startswith(
        "error: the sandbox cannot run Python, so no student was graded: "
    ), line
    assert "bwrap" in line and "No such file or directory" in line, line
    with sqlite3.connect(course.db) as connection:
        assert connection.execute("select count(*) from student").fetchone() == (0,)
    assert not (course.root / "grading" / "autograded").exists()


@pytest.mark.slow
def test_a_solution_that_fails_its_own_grading_stops_before_any_student(tmp_path):
    broken = submission_from(
        PIXEL_ACCURACY
    )  # the instructor's notebook with a wrong solution
    assert nbformat.read(SOURCE, as_version=4).cells != broken.cells
    course = make_course(tmp_path, broken)
    submissions = tmp_path / "submissions"
    put(submissions, "alice_correct", submission_from(CLASS["alice_correct"][0]))
    code, output = autograde(course, submissions)
    assert code == 2
    (line,) = output.strip().splitlines()
    assert line.startswith(
        "error: the instructor's solution segmentation.ipynb does not pass its own "
        "grading "
        "(mean_iou: "
    ), line
    assert line.endswith("so no student was graded"), line
