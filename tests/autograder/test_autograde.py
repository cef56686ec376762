"""convviz-grade autograde end to end: a fabricated class of honest, cheating and faulty work.

Every student's expected score is asserted exactly. The assignment is
``segmentation`` (one graded function, ``mean_iou``, 3 points), whose
student code needs only NumPy, so the whole class grades in seconds.
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
from course import Course

REPOSITORY = Path(__file__).resolve().parents[2]
SOURCE = REPOSITORY / "solutions" / "segmentation" / "segmentation.ipynb"
RELEASED = REPOSITORY / "exercises" / "segmentation" / "segmentation.ipynb"

HEADER = "def mean_iou(masks_true, masks_pred, num_classes=3):\n"
CORRECT = """
    masks_true, masks_pred = np.asarray(masks_true), np.asarray(masks_pred)
    ious = []
    for c in range(num_classes):
        is_true, is_pred = masks_true == c, masks_pred == c
        union = np.sum(is_true | is_pred)
        if union > 0:
            ious.append(np.sum(is_true & is_pred) / union)
    return float(np.mean(ious))
"""
INDEPENDENT = """def mean_iou(masks_true, masks_pred, num_classes=3):
    import numpy
    t = numpy.asarray(masks_true).reshape(-1).astype(numpy.int64)
    p = numpy.asarray(masks_pred).reshape(-1).astype(numpy.int64)
    confusion = numpy.bincount(t * num_classes + p, minlength=num_classes ** 2).reshape(num_classes, num_classes)
    inter = numpy.diag(confusion).astype(numpy.float64)
    union = confusion.sum(0) + confusion.sum(1) - inter
    return (inter[union > 0] / union[union > 0]).mean()
"""
PIXEL_ACCURACY = HEADER + "    return float(np.mean(np.asarray(masks_true) == np.asarray(masks_pred)))\n"

# Each entry: student -> (source of the mean_iou solution cell, points expected, status expected).
CLASS = {
    "alice_correct": (HEADER + CORRECT, 3.0, "passed"),
    "bob_independent": (INDEPENDENT, 3.0, "passed"),
    "dave_wrong": (PIXEL_ACCURACY, 0.0, "failed"),
    # Cheats: each scores exactly what a blank function scores.
    "erin_imports_reference": ("from convviz_ref.segmentation import mean_iou\n", 0.0, "failed"),
    "frank_importlib": (HEADER + "    import importlib\n"
                        "    return importlib.import_module('convviz_ref.segmentation').mean_iou("
                        "masks_true, masks_pred, num_classes)\n", 0.0, "failed"),
    "eve_dunder_import": (HEADER + "    return __import__('convviz_ref.segmentation', fromlist=['x']).mean_iou("
                          "masks_true, masks_pred, num_classes)\n", 0.0, "failed"),
    "gus_patches_test_helpers": ("import convviz_grade.checks as checks\n"
                                 "checks.check_array = lambda *args, **kwargs: None\n" + PIXEL_ACCURACY, 0.0, "failed"),
    "grace_exec_source": ("exec(open(" + repr(str(REPOSITORY / "convviz_ref" / "segmentation.py"))
                          + ").read())\n", 0.0, "failed"),
    "heidi_patches_numpy": ("np.allclose = lambda *a, **k: True\nnp.isclose = lambda a, b, **k: np.ones(np.shape(a), bool)\n"
                            "np.testing.assert_allclose = lambda *a, **k: None\n" + PIXEL_ACCURACY, 0.0, "failed"),
    "ivan_input_transformer": ("get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n"
                               + PIXEL_ACCURACY, 0.0, "failed"),
    "judy_lying_eq": ("class Liar(np.ndarray):\n    def __eq__(self, other):\n        return True\n"
                      "    __ne__ = lambda self, other: False\n"
                      + HEADER + "    return np.zeros(()).view(Liar)\n", 0.0, "failed"),
    "ken_hard_codes_visible": (HEADER + "    if np.shape(masks_true) == (1, 4, 4):\n"
                               "        return 1.0 if np.array_equal(masks_true, masks_pred) else 37 / 56\n"
                               "    return 0.5\n", 0.0, "failed"),
    # Faults: each is cut or caught, and the batch goes on.
    "mallory_hangs_in_function": (HEADER + "    while True:\n        pass\n", 0.0, "failed"),
    "nia_hangs_at_top_level": ("while True:\n    pass\n" + HEADER + CORRECT, 0.0, "failed"),
    "oscar_ignores_signals": ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                              "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                              + HEADER + "    while True:\n        pass\n", 0.0, "failed"),
    "peggy_os_exit": (HEADER + "    import os\n    os._exit(0)\n", 0.0, "failed"),
    "quinn_sys_exit": ("import sys\nsys.exit()\n" + HEADER + CORRECT, 0.0, "failed"),
    "rupert_syntax_error": (HEADER + "    return (\n", 0.0, "failed"),
    "sybil_nan": (HEADER + "    return float('nan')\n", 0.0, "failed"),
    "trent_wrong_shape": (HEADER + "    return np.zeros(3)\n", 0.0, "failed"),
    "uma_prints_megabytes": (HEADER + "    print('x' * 20_000_000)\n" + CORRECT, 3.0, "passed"),
    "victor_memory_blowup": (HEADER + "    hog = np.ones(2 ** 31)\n    return float(hog.sum())\n", 0.0, "failed"),
}


def submission_from(source_cell):
    notebook = nbformat.read(SOURCE, as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = source_cell
    return notebook


def leo_edits_locked_tests():
    """Wrong answer; test cells emptied and the hidden-test cell deleted."""
    notebook = submission_from(PIXEL_ACCURACY)
    kept = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == "hidden_mean_iou":
            continue
        if meta.get("grade"):
            cell.source = "pass"
        kept.append(cell)
    notebook.cells = kept
    return notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    assert sandbox.bwrap_available(), "bubblewrap must work here: `apt-get install bubblewrap` (make test does it)"
    root = tmp_path_factory.mktemp("course")
    course = Course(root)
    shutil.copytree(REPOSITORY / "solutions" / "segmentation", root / "solutions" / "segmentation")
    submissions = tmp_path_factory.mktemp("submissions")

    def put(student, notebook=None, text=None):
        folder = submissions / student / "segmentation"
        folder.mkdir(parents=True)
        if notebook is not None:
            nbformat.write(notebook, folder / "segmentation.ipynb")
        if text is not None:
            (folder / "segmentation.ipynb").write_text(text)

    assert cli.main(["release", "segmentation", "--course-dir", str(root)]) == 0
    assert (root / "exercises" / "segmentation" / "segmentation.ipynb").is_file()
    for student, (source, _, _) in CLASS.items():
        put(student, submission_from(source))
    put("carol_blank", nbformat.read(RELEASED, as_version=4))
    put("leo_edits_tests", leo_edits_locked_tests())
    put("walter_corrupt", text="{ this is not a notebook")
    put("xavier_missing")  # a folder, no notebook
    output = io.StringIO()
    exit_code = cli.main(["autograde", "segmentation", "--submissions", str(submissions), "--course-dir", str(root),
                          "--timeout", "8", "--memory", "2048", "--jobs", "2", "--no-progress"], stream=output)
    return course, exit_code, output.getvalue()


EXPECTED = {student: (points, status) for student, (_, points, status) in CLASS.items()}
EXPECTED.update({
    "carol_blank": (0.0, "failed"),
    "leo_edits_tests": (0.0, "failed"),
    "walter_corrupt": (0.0, "ungraded"),
    "xavier_missing": (0.0, "missing"),
})


def results_of(course, student):
    path = course.root / "grading" / "autograded" / student / "segmentation" / "convviz_grade.json"
    return json.loads(path.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("student", sorted(EXPECTED))
def test_every_student_gets_exactly_the_expected_score(graded, student):
    course, _, _ = graded
    points, status = EXPECTED[student]
    scores = course.scores("segmentation", student)
    assert scores == {"test_mean_iou": (min(points, 1.0), 1.0), "hidden_mean_iou": (max(points - 1.0, 0.0), 2.0)}
    (function,) = results_of(course, student)["functions"]
    assert (function["score"], function["status"]) == (points, status), function["message"]


@pytest.mark.slow
def test_failures_are_explained(graded):
    course, _, _ = graded
    message = lambda student: results_of(course, student)["functions"][0]["message"]  # noqa: E731
    assert "pixel accuracy" in message("dave_wrong")
    assert "ModuleNotFoundError" in message("erin_imports_reference") or "not found" in message("erin_imports_reference")
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
    assert cli.main(["export", "--out", str(out), "--course-dir", str(course.root)]) == 0
    import csv

    with open(out) as file:
        rows = list(csv.DictReader(file))
    assert list(rows[0]) == ["student", "assignment", "notebook", "function", "score", "max_score", "status"]
    got = {row["student"]: (float(row["score"]), row["status"]) for row in rows}
    assert got == EXPECTED
    assert all(row["function"] == "mean_iou" and float(row["max_score"]) == 3.0 for row in rows)


@pytest.mark.slow
def test_feedback_explains_without_showing_hidden_tests(graded):
    course, _, _ = graded
    assert cli.main(["feedback", "segmentation", "--course-dir", str(course.root)]) == 0
    page = (course.root / "grading" / "feedback" / "dave_wrong" / "segmentation" / "segmentation.html").read_text()
    assert "0 / 3" in page and "pixel accuracy" in page
    source = SOURCE.read_text()
    hidden = source[source.index("BEGIN HIDDEN TESTS"):source.index("END HIDDEN TESTS")]
    for line in json.loads(json.dumps(hidden)).split("\\n"):
        line = line.strip()
        if len(line) > 20:
            assert line not in page, f"hidden test source leaked: {line}"
    assert "BEGIN HIDDEN TESTS" not in page
    passed = (course.root / "grading" / "feedback" / "alice_correct" / "segmentation" / "segmentation.html").read_text()
    assert "3 / 3" in passed and "<pre>" not in passed


@pytest.mark.slow
def test_formgrader_finds_the_submitted_notebook_with_the_verdict_in_its_test_cells(graded):
    course, _, _ = graded

    def test_cell_outputs(student):
        copy = course.root / "grading" / "autograded" / student / "segmentation" / "segmentation.ipynb"
        cells = nbformat.read(copy, as_version=4).cells
        return {cell.metadata["nbgrader"]["grade_id"]: [(o.name, o.text) for o in cell.outputs]
                for cell in cells if cell.metadata.get("nbgrader", {}).get("grade_id", "").startswith("test_")}

    assert test_cell_outputs("alice_correct") == {
        "test_mean_iou": [("stdout", "convviz-grade: mean_iou passed, 3 / 3 points\n")]}
    [(name, text)] = test_cell_outputs("dave_wrong")["test_mean_iou"]
    assert name == "stderr" and text.startswith("convviz-grade: mean_iou failed, 0 / 3 points\n")
    assert text.rstrip("\n").endswith(results_of(course, "dave_wrong")["functions"][0]["message"].rstrip("\n"))
    assert "pixel accuracy" in text
    # The answer cells are the student's, untouched.
    submitted = nbformat.read(course.root / "grading" / "autograded" / "dave_wrong" / "segmentation" /
                              "segmentation.ipynb", as_version=4)
    answer = [cell for cell in submitted.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == "mean_iou"]
    assert len(answer) == 1 and "def mean_iou" in answer[0].source


@pytest.mark.slow
def test_summary_table_has_a_row_per_student(graded):
    _, _, output = graded
    lines = output.splitlines()
    assert lines[0].split() == ["student", "score", "mean_iou"]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:] if line and not line.startswith("FAILED")}
    assert set(rows) == set(EXPECTED)
    assert rows["alice_correct"] == ["3/3", "passed"]
    assert rows["walter_corrupt"] == ["0/3", "ungraded"]
    assert "FAILED walter_corrupt: could not be graded" in output


def test_a_failed_write_leaves_nothing_in_the_gradebook(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook, MissingEntry

    from convviz_grade import autograde, grading

    course = Course(tmp_path)
    shutil.copytree(REPOSITORY / "solutions" / "segmentation", tmp_path / "solutions" / "segmentation")
    graded_course = autograde.Course(tmp_path)
    graded_course.register("segmentation")
    assignment = grading.Assignment("segmentation", SOURCE)
    result = grading.SubmissionGrade("zoe", "segmentation", "segmentation",
                                     [grading.FunctionGrade("mean_iou", 3.0, 3.0, "passed")])

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
    assert course.scores("segmentation", "zoe") == {"test_mean_iou": (1.0, 1.0), "hidden_mean_iou": (2.0, 2.0)}
