"""convviz-grade autograde end to end: a fabricated class of honest, cheating and faulty
work.

Every student's expected score is asserted exactly (the class and its
expected scores: ``fabricated_class.py``).
"""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
from pathlib import Path

import nbformat
import pytest
from convviz_grade import cli, sandbox
from course import Course, autograde_arguments, segmentation_course
from fabricated_class import EXPECTED, REPOSITORY, SOURCE, write_class


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    assert sandbox.bwrap_available(), (
        "bubblewrap must work here: `apt-get install bubblewrap` (make test does it)"
    )
    root = tmp_path_factory.mktemp("course")
    # convviz-grade autograde creates the gradebook
    course = segmentation_course(root, gradebook=False)
    submissions = write_class(tmp_path_factory.mktemp("submissions"))
    assert cli.main(["release", "segmentation", "--course-dir", str(root)]) == 0
    assert (root / "exercises" / "segmentation" / "segmentation.ipynb").is_file()
    output = io.StringIO()
    options = ["--timeout", "8", "--memory", "2048", "--jobs", "2"]
    arguments = autograde_arguments(root, submissions, *options)
    exit_code = cli.main(arguments, stream=output)
    return course, exit_code, output.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_every_student_gets_exactly_the_expected_score(graded, student):
    course, _, _ = graded
    points, status = EXPECTED[student]
    scores = course.scores("segmentation", student)
    assert scores == {
        "test_mean_iou": (min(points, 1.0), 1.0),
        "hidden_mean_iou": (max(points - 1.0, 0.0), 2.0),
    }
    (function,) = course.graded_results("segmentation", student)["functions"]
    assert (function["score"], function["status"]) == (points, status), function[
        "message"
    ]


@pytest.mark.slow
def test_failures_are_explained(graded):
    course, _, _ = graded

    def message(student):
        return course.graded_results("segmentation", student)["functions"][0]["message"]

    assert "pixel accuracy" in message("dave_wrong")
    assert "ModuleNotFoundError" in message(
        "erin_imports_reference"
    ) or "not found" in message("erin_imports_reference")
    assert "timed out after 8 s" in message("mallory_hangs_in_function")
    assert "solution cell 1 timed out" in message("nia_hangs_at_top_level")
    assert "exit code 0" in message("peggy_os_exit")
    assert "NotImplementedError" in message("carol_blank")
    assert "could not be read" in message("walter_corrupt")


@pytest.mark.slow
def test_a_submission_that_could_not_be_graded_fails_the_batch(graded):
    _, exit_code, _ = graded
    assert exit_code == 1  # walter's notebook is not JSON: reported, the others graded


@pytest.mark.slow
def test_the_gradebook_is_nbgraders_own(graded):
    course, _, _ = graded
    with sqlite3.connect(course.db) as connection:
        students = {row[0] for row in connection.execute("select id from student")}
    assert students == set(EXPECTED)
    # nbgrader's own tools read it: the CLI lists the assignment and its submissions.
    result = course.nbgrader("db", "assignment", "list")
    assert "segmentation" in result.stdout + result.stderr


@pytest.mark.slow
def test_export_has_one_row_per_student_and_function_with_a_status(graded, tmp_path):
    course, _, _ = graded
    out = tmp_path / "grades.csv"
    assert (
        cli.main(["export", "--out", str(out), "--course-dir", str(course.root)]) == 0
    )
    import csv

    with open(out) as file:
        rows = list(csv.DictReader(file))
    header = "student,assignment,notebook,function,score,max_score,status"
    assert ",".join(rows[0]) == header
    got = {row["student"]: (float(row["score"]), row["status"]) for row in rows}
    assert got == EXPECTED
    assert all(
        row["function"] == "mean_iou" and float(row["max_score"]) == 3.0 for row in rows
    )


@pytest.mark.slow
def test_feedback_explains_without_showing_hidden_tests(graded):
    course, _, _ = graded
    assert cli.main(["feedback", "segmentation", "--course-dir", str(course.root)]) == 0
    page = (
        course.root
        / "grading"
        / "feedback"
        / "dave_wrong"
        / "segmentation"
        / "segmentation.html"
    ).read_text()
    assert "0 / 3" in page and "pixel accuracy" in page
    source = SOURCE.read_text()
    hidden = source[
        source.index("BEGIN HIDDEN TESTS") : source.index("END HIDDEN TESTS")
    ]
    for line in json.loads(json.dumps(hidden)).split("\\n"):
        line = line.strip()
        if len(line) > 20:
            assert line not in page, f"hidden test source leaked: {line}"
    assert "BEGIN HIDDEN TESTS" not in page
    passed = (
        course.root
        / "grading"
        / "feedback"
        / "alice_correct"
        / "segmentation"
        / "segmentation.html"
    ).read_text()
    assert "3 / 3" in passed and "<pre>" not in passed


@pytest.mark.slow
def test_formgrader_finds_the_submitted_notebook_with_the_verdict_in_its_test_cells(
    graded,
):
    course, _, _ = graded

    def test_cell_outputs(student):
        copy = (
            course.root
            / "grading"
            / "autograded"
            / student
            / "segmentation"
            / "segmentation.ipynb"
        )
        cells = nbformat.read(copy, as_version=4).cells
        return {
            cell.metadata["nbgrader"]["grade_id"]: [
                (o.name, o.text) for o in cell.outputs
            ]
            for cell in cells
            if cell.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_")
        }

    assert test_cell_outputs("alice_correct") == {
        "test_mean_iou": [("stdout", "convviz-grade: mean_iou passed, 3 / 3 points\n")]
    }
    [(name, text)] = test_cell_outputs("dave_wrong")["test_mean_iou"]
    assert name == "stderr" and text.startswith(
        "convviz-grade: mean_iou failed, 0 / 3 points\n"
    )
    assert text.rstrip("\n").endswith(
        course.graded_results("segmentation", "dave_wrong")["functions"][0][
            "message"
        ].rstrip("\n")
    )
    assert "pixel accuracy" in text
    # The answer cells are the student's, untouched.
    submitted = nbformat.read(
        course.root
        / "grading"
        / "autograded"
        / "dave_wrong"
        / "segmentation"
        / "segmentation.ipynb",
        as_version=4,
    )
    answer = [
        cell
        for cell in submitted.cells
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "mean_iou"
    ]
    assert len(answer) == 1 and "def mean_iou" in answer[0].source


@pytest.mark.slow
def test_formgrader_counts_every_submission_autograded_none_for_manual_grading(
    graded,
):
    # What formgrader's pages show comes from nbgrader's own API: its "# Submissions"
    # column reads the submitted folder, and a submission is autograded when its
    # timestamps agree.
    from convviz_grade.autograde import Course as ConfiguredCourse
    from nbgrader.api import Gradebook
    from nbgrader.apps.api import NbGraderAPI

    course, _, _ = graded
    api = NbGraderAPI(
        coursedir=ConfiguredCourse(course.root).coursedir
    )  # the course's nbgrader_config.py
    handed_in = {
        student for student, (_, status) in EXPECTED.items() if status != "missing"
    }
    assert api.get_submitted_students("segmentation") == handed_in
    assert api.get_assignment("segmentation")["num_submissions"] == len(handed_in)
    # Every student is graded, the one who handed nothing in with zero points.
    assert api.get_autograded_students("segmentation") == set(EXPECTED)
    with Gradebook(course.db_url) as gradebook:
        for student in handed_in:
            submission = gradebook.find_submission("segmentation", student)
            assert not submission.needs_manual_grade, student
            stamp = (
                course.root
                / "grading"
                / "submitted"
                / student
                / "segmentation"
                / "timestamp.txt"
            ).read_text()
            assert submission.timestamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC") == stamp, (
                student
            )
    copied = (
        course.root
        / "grading"
        / "submitted"
        / "dave_wrong"
        / "segmentation"
        / "segmentation.ipynb"
    )
    assert (
        "def mean_iou" in copied.read_text()
    )  # the student's own notebook, as submitted


@pytest.mark.slow
def test_summary_table_has_a_row_per_student(graded):
    _, _, output = graded
    lines = output.splitlines()
    assert lines[0].split() == ["student", "score", "mean_iou"]
    rows = {
        line.split()[0]: line.split()[1:]
        for line in lines[2:]
        if line and not line.startswith("FAILED")
    }
    assert set(rows) == set(EXPECTED)
    assert rows["alice_correct"] == ["3/3", "passed"]
    assert rows["walter_corrupt"] == ["0/3", "ungraded"]
    assert "FAILED walter_corrupt: could not be graded" in output


@pytest.mark.slow
def test_a_failed_write_leaves_nothing_in_the_gradebook(tmp_path, monkeypatch):
    from convviz_grade import autograde, grading
    from nbgrader.api import Gradebook, MissingEntry

    course = segmentation_course(tmp_path)  # mean_iou alone
    graded_course = autograde.Course(tmp_path)
    graded_course.register("segmentation")
    assignment = grading.Assignment(
        "segmentation", tmp_path / "solutions" / "segmentation" / "segmentation.ipynb"
    )
    result = grading.SubmissionGrade(
        "zoe",
        "segmentation",
        "segmentation",
        [grading.FunctionGrade("mean_iou", 3.0, 3.0, "passed")],
    )

    def broken_commit(self):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr("sqlalchemy.orm.Session.commit", broken_commit)
    with pytest.raises(RuntimeError, match="disk is full"):
        autograde.write_gradebook(graded_course, assignment, result)
    monkeypatch.undo()
    with Gradebook(course.db_url) as gradebook:
        with pytest.raises(MissingEntry):
            gradebook.find_student("zoe")
    autograde.write_gradebook(graded_course, assignment, result)  # and a retry succeeds
    assert course.scores("segmentation", "zoe") == {
        "test_mean_iou": (1.0, 1.0),
        "hidden_mean_iou": (2.0, 2.0),
    }


def _schema(path):
    with sqlite3.connect(path) as connection:
        tables = connection.execute(
            "select type, name, tbl_name, sql from sqlite_master order by type, name"
        ).fetchall()
        return tables, connection.execute(
            "select version_num from alembic_version"
        ).fetchall()


def test_the_gradebook_convviz_creates_is_the_one_nbgrader_creates(
    tmp_path, monkeypatch
):
    import nbgrader.api
    from convviz_grade.autograde import create_gradebook
    from convviz_grade.release import nbgrader_environment
    from nbgrader.api import Gradebook

    monkeypatch.setenv(
        "PATH", nbgrader_environment()["PATH"]
    )  # nbgrader starts `alembic` from PATH
    with Gradebook(f"sqlite:///{tmp_path / 'nbgrader.db'}"):
        pass
    assert create_gradebook(f"sqlite:///{tmp_path / 'convviz.db'}") is True
    tables, version = _schema(tmp_path / "convviz.db")
    assert (tables, version) == _schema(tmp_path / "nbgrader.db")
    assert len(tables) > 10 and version == [(nbgrader.api.get_alembic_version(),)]

    # nbgrader uses it as its own, without stamping it again; a second call leaves it as
    # it is.
    def no_alembic():
        raise AssertionError("nbgrader read the alembic head again")

    monkeypatch.setattr(nbgrader.api, "get_alembic_version", no_alembic)
    with Gradebook(f"sqlite:///{tmp_path / 'convviz.db'}") as gradebook:
        gradebook.add_student("ann")
    assert create_gradebook(f"sqlite:///{tmp_path / 'convviz.db'}") is False
    with Gradebook(f"sqlite:///{tmp_path / 'convviz.db'}") as gradebook:
        assert [student.id for student in gradebook.students] == ["ann"]


def _gradebook_rows(path):
    """Every row of every table, nbgrader's random ids taken out (they differ between
    any two runs).
    """
    with sqlite3.connect(path) as connection:
        names = [
            name
            for (name,) in connection.execute(
                "select name from sqlite_master where type = 'table'"
            )
        ]
        rows = {}
        for name in sorted(names):
            values = connection.execute(f"select * from {name}").fetchall()
            rows[name] = sorted(
                tuple(
                    "id"
                    if isinstance(value, str)
                    and len(value) == 32
                    and all(c in "0123456789abcdef" for c in value)
                    else value
                    for value in row
                )
                for row in values
            )
        return rows


def test_register_does_what_nbgrader_generate_assignment_does_quietly_in_this_process(
    tmp_path, capfd
):
    import logging
    import os
    import sys

    from convviz_grade import autograde

    by_nbgrader, by_convviz = (
        Course(tmp_path / "nbgrader"),
        Course(tmp_path / "convviz"),
    )
    for course in (by_nbgrader, by_convviz):
        shutil.copytree(
            REPOSITORY / "solutions" / "segmentation",
            course.root / "solutions" / "segmentation",
        )
    by_nbgrader.nbgrader("generate_assignment", "segmentation", "--force")
    capfd.readouterr()
    before = (
        os.getcwd(),
        list(sys.path),
        list(logging.getLogger().handlers),
        list(logging.getLogger("traitlets").handlers),
    )
    autograde.Course(by_convviz.root).register("segmentation")
    assert (
        os.getcwd(),
        list(sys.path),
        list(logging.getLogger().handlers),
        list(logging.getLogger("traitlets").handlers),
    ) == before
    assert capfd.readouterr() == ("", "")  # nbgrader's log stays in register
    release = Path("exercises") / "segmentation" / "segmentation.ipynb"
    assert (by_convviz.root / release).read_bytes() == (
        by_nbgrader.root / release
    ).read_bytes()
    rows = _gradebook_rows(by_convviz.db)
    assert rows == _gradebook_rows(by_nbgrader.db)
    assert rows["grade_cells"] and rows["solution_cells"] and rows["source_cell"], rows


def test_register_fails_with_nbgrader_s_own_error_and_leaves_the_working_directory(
    tmp_path,
):
    import os

    from convviz_grade import autograde
    from notebooks import ADD_SOLUTION, ADD_VISIBLE, graded, notebook

    course = Course(tmp_path)
    folder = course.root / "solutions" / "twice"
    folder.mkdir(parents=True)
    twice = graded(
        ADD_VISIBLE.metadata["nbgrader"]["grade_id"], "assert add(2, 2) == 4"
    )  # a grade_id used twice
    nbformat.write(notebook(ADD_SOLUTION, ADD_VISIBLE, twice), folder / "twice.ipynb")
    where = os.getcwd()
    with pytest.raises(RuntimeError) as raised:
        autograde.Course(course.root).register("twice")
    assert str(raised.value).startswith(
        "nbgrader generate_assignment twice failed: "
        "ValidationError: Duplicate grade id: test_add (nbgrader's whole log: "
    )
    assert "\n" not in str(raised.value)
    assert os.getcwd() == where


@pytest.mark.parametrize(
    "log, reason",
    [
        (
            "[INFO] Converting\n[ERROR] Traceback (most recent call last):\n  File "
            '"x.py", line 1\n'
            "jsonschema.exceptions.ValidationError: Duplicate grade id: a\n[ERROR] "
            "There was an error processing assignment",
            "ValidationError: Duplicate grade id: a",
        ),
        (
            "[INFO] Converting\n[ERROR] There was an error processing assignment "
            "'x'\n\n",
            "[ERROR] There was an error processing assignment 'x'",
        ),
        ("", "nbgrader logged nothing"),
    ],
)
def test_the_reason_of_a_failed_generation_is_one_line(log, reason):
    from convviz_grade.release import first_reason

    assert first_reason(log) == reason
