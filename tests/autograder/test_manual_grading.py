"""An instructor grades a written answer by hand in formgrader, in headless Chromium.

A written question is an nbgrader manually graded answer cell (a markdown cell
that is both ``grade`` and ``solution``, grade id ``written_<topic>``). The
course is made here from the assignment's real solution notebook, with its
written question and ``mean_iou`` (``build_segmenter``'s grading trains a model,
which this test does not need: :func:`course.cut_segmentation_notebook`).

A class of three is graded by ``convviz-grade autograde``: ann answers every
function and the written question, ben writes only the written answer, cal hands
in the release untouched; dan, eve, fay and gus answer and then change the written
cell's nbgrader metadata (points, cell type, grade id, ``grade``), hal deletes it.
Then:

1. the gradebook leaves ann's and ben's written answers "needing manual grading"
   and no test cell; cal's unanswered one is 0, "No response.", as nbgrader does;
2. the instructor opens formgrader from JupyterLab's Nbgrader menu, goes from
   Manage Assignments to the Gradebook (formgrader's manual grading), the
   assignment, its notebook and ann's submission, reads the grader's verdicts in
   the test cells beside her written answer, types points and a comment;
3. ``convviz-grade export`` has the written question's row, named by its grade
   id, with those points (ann), ``pending`` and an empty score (ben, not graded
   by hand yet), ``failed`` and 0 (cal); each student's total counts them;
   ``convviz-grade feedback`` and nbgrader's own ``generate_feedback`` show the
   points and the comment;
4. autograde again: ann's hand score, comment and "graded" stay as the
   instructor left them; cal, whom the instructor had given a point and who hands
   in again, keeps that point but is flagged for review;
5. the tampered cells are graded as released (the autograded copy, one line each in
   autograde's output, nbgrader's own sanitizing compared), hal's is missing.

No console error, no request off this machine (tests/browser_pages.py), and the
server and its kernels try no connection off it (test_lab_browser's guard).
"""

from __future__ import annotations

import csv
import io
import shutil
import warnings

import nbformat
import pytest
from browser_pages import REPOSITORY
from convviz_grade import cli, notebook_cells, report, sandbox
from course import cut_segmentation_notebook
from test_lab_browser import copy_course_config, lab_server, recorded_page

# The tests marked slow grade a class twice and start JupyterLab.

ASSIGNMENT = "segmentation"  # the cheapest to grade: its functions are NumPy
SOURCE = REPOSITORY / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

ANN_WRITES = (
    "A strided convolution learns how to downsample; max pooling keeps only the "
    "strongest response of each window and where it was, so the thin contour "
    "class loses most."
)
ANN_MATH = r"$n' = \lceil n / 2 \rceil$"  # typeset by formgrader
BEN_WRITES = "Pooling would do as well; strides are only faster."
CAL_LATER_WRITES = "Strides keep where things are, which pooling throws away."
COMMENT = "Right choice; say *why* the contour suffers (its width in pixels)."
STAMPS = {  # what nbgrader's collect writes beside a submission
    "ann": "2026-01-10 09:00:00.000000 UTC",
    "ben": "2026-01-10 09:05:00.000000 UTC",
    "cal": "2026-01-10 09:10:00.000000 UTC",
}
CAL_AGAIN = "2026-01-11 08:00:00.000000 UTC"
# Students who answer, then change the written cell's nbgrader metadata (what
# JupyterLab's property inspector lets them do), or delete the cell.
TAMPERED = {
    "dan": {"points": 5},  # nbgrader restores them
    "eve": {"cell_type": "code"},  # nbgrader makes it markdown again
    "fay": {"grade_id": "my_answer"},  # nbgrader drops the id, then stops
    "gus": {"grade": False},  # nbgrader stops: a solution that is no grade cell
    "hal": {"deleted": True},
}
TAMPERED_WRITES = "Strides learn their downsampling; pooling cannot."


def set_written_answer(notebook, grade_id, text):
    (cell,) = [
        cell
        for cell in notebook.cells
        if notebook_cells.nbgrader_meta(cell).get("grade_id") == grade_id
    ]
    cell.source = text
    return notebook


def tamper(notebook, grade_id, change):
    """The student's answer, then ``change`` made to its cell (:data:`TAMPERED`)."""
    set_written_answer(notebook, grade_id, TAMPERED_WRITES)
    index, cell = next(
        (index, cell)
        for index, cell in enumerate(notebook.cells)
        if notebook_cells.nbgrader_meta(cell).get("grade_id") == grade_id
    )
    for key, value in change.items():
        if key == "deleted":
            del notebook.cells[index]
        elif key == "cell_type":
            notebook.cells[index] = nbformat.v4.new_code_cell(
                cell.source, id=cell.id, metadata=cell.metadata
            )
        else:
            cell.metadata.nbgrader[key] = value
    return notebook


def hand_in(submissions, student, notebook, stamp):
    folder = submissions / student / ASSIGNMENT
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / f"{ASSIGNMENT}.ipynb")
    (folder / "timestamp.txt").write_text(stamp)
    # What nbgrader's submit writes; its release_feedback names the page by it.
    (folder / "submission_secret.txt").write_text(f"secret of {student}")


def autograde(course, submissions):
    output = io.StringIO()
    exit_code = cli.main(
        [
            "autograde",
            ASSIGNMENT,
            "--submissions",
            str(submissions),
            "--course-dir",
            str(course),
            "--no-progress",
        ],
        stream=output,
    )
    # Exit code 1 would mean a submission could not be graded or recorded.
    assert exit_code == 0, output.getvalue()
    return output.getvalue()


def written_grade(course, student, grade_id):
    """A student's written answer as the gradebook has it, in plain values.

    Returns:
        ``(grade, comment, others)``: the answer's scores, its comments, and
        ``{grade_id: needs_manual_grade}`` of the grades that are no written
        answer's (the test cells').
    """
    from convviz_grade.autograde import Course
    from nbgrader.api import Gradebook

    with Gradebook(Course(course).db_url) as gradebook:
        submission = gradebook.find_submission(ASSIGNMENT, student)
        grades = {g.name: g for nb in submission.notebooks for g in nb.grades}
        comments = {c.name: c for nb in submission.notebooks for c in nb.comments}
        grade, comment = grades.pop(grade_id), comments[grade_id]
        others = {
            name: g.needs_manual_grade
            for name, g in grades.items()
            if not name.startswith("written_")
        }
        return (
            {
                "auto_score": grade.auto_score,
                "manual_score": grade.manual_score,
                "needs_manual_grade": grade.needs_manual_grade,
                "score": grade.score,
            },
            {"manual": comment.manual_comment, "auto": comment.auto_comment},
            others,
        )


def export(course, tmp_path):
    """``(rows, what the command printed)`` of ``convviz-grade export``."""
    out = tmp_path / "grades.csv"
    output = io.StringIO()
    arguments = ["export", "--out", str(out), "--course-dir", str(course)]
    assert cli.main(arguments, stream=output) == 0
    with open(out) as file:
        rows = list(csv.DictReader(file))
    return rows, output.getvalue()


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course whose assignment has a written question, and a graded class of three."""
    assert sandbox.bwrap_available(), "convviz-grade grades in bubblewrap here"
    course = tmp_path_factory.mktemp("course")
    copy_course_config(course)
    source = cut_segmentation_notebook(
        nbformat.read(SOURCE, as_version=4), written=True
    )
    (course / "solutions" / ASSIGNMENT).mkdir(parents=True)
    nbformat.write(source, course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    assert cli.main(["release", ASSIGNMENT, "--course-dir", str(course)]) == 0
    released = course / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    (grade_id, points), *_ = notebook_cells.written_points(source).items()

    def release():
        return nbformat.read(released, as_version=4)

    solutions = {
        notebook_cells.nbgrader_meta(cell)["grade_id"]: cell.source
        for cell in source.cells
        if notebook_cells.is_answer_cell(cell)
    }
    submissions = tmp_path_factory.mktemp("submissions")
    ann = notebook_cells.replace_answers(release(), solutions)
    hand_in(
        submissions,
        "ann",
        set_written_answer(ann, grade_id, f"{ANN_WRITES}\n\n{ANN_MATH}"),
        STAMPS["ann"],
    )
    ben = set_written_answer(release(), grade_id, BEN_WRITES)
    hand_in(submissions, "ben", ben, STAMPS["ben"])
    hand_in(submissions, "cal", release(), STAMPS["cal"])
    for student, change in TAMPERED.items():
        notebook = tamper(release(), grade_id, change)
        hand_in(submissions, student, notebook, STAMPS["cal"])
    printed = autograde(course, submissions)
    for student in TAMPERED:  # graded and kept in grading/submitted: not graded again
        shutil.rmtree(submissions / student)
    return {
        "root": course,
        "submissions": submissions,
        "grade_id": grade_id,
        "points": points,
        "functions": list(notebook_cells.points(source)),
        "release": release,
        "printed": printed,
    }


@pytest.mark.slow
def test_the_written_answer_waits_for_the_instructor_the_tests_do_not(course):
    root, grade_id, points = course["root"], course["grade_id"], course["points"]
    for student in ("ann", "ben"):
        grade, comment, others = written_grade(root, student, grade_id)
        assert grade == {
            "auto_score": None,
            "manual_score": None,
            "needs_manual_grade": True,
            "score": 0.0,
        }, student
        assert comment == {"manual": None, "auto": None}, student
        assert others and not any(others.values()), (student, others)
    grade, comment, others = written_grade(root, "cal", grade_id)
    assert (grade["auto_score"], grade["needs_manual_grade"]) == (0.0, False)
    assert comment["auto"] == "No response." and not any(others.values())
    assert points > 0


def autograded_copy(course, student):
    folder = course["root"] / "grading" / "autograded" / student / ASSIGNMENT
    return nbformat.read(folder / f"{ASSIGNMENT}.ipynb", as_version=4)


def cells_with_id(notebook, grade_id):
    return [
        cell
        for cell in notebook.cells
        if notebook_cells.nbgrader_meta(cell).get("grade_id") == grade_id
    ]


@pytest.mark.slow
def test_a_written_cell_whose_metadata_changed_is_graded_as_released(course):
    """Formgrader grades the copy: it must hold the cell as released, answer kept."""
    from nbgrader.nbgraderformat import MetadataValidator

    root, grade_id = course["root"], course["grade_id"]
    (released,) = cells_with_id(course["release"](), grade_id)
    notes = [line for line in course["printed"].splitlines() if "note:" in line]
    for student in sorted(set(TAMPERED) - {"hal"}):
        copy = autograded_copy(course, student)
        MetadataValidator().validate_nb(copy)  # what nbgrader's CheckCellMetadata runs
        (cell,) = cells_with_id(copy, grade_id)
        assert cell.cell_type == "markdown" and cell.source == TAMPERED_WRITES
        assert cell.metadata.nbgrader == released.metadata.nbgrader, student
        grade, comment, _ = written_grade(root, student, grade_id)
        assert (grade["auto_score"], grade["needs_manual_grade"]) == (None, True)
        # One line says what was restored.
        (line,) = [line for line in notes if f"note: {student}: " in line]
        for key, value in TAMPERED[student].items():
            assert f"{key} {value!r} -> " in line, line
    # Deleted: nothing to grade by hand, scored 0 and said missing.
    assert not cells_with_id(autograded_copy(course, "hal"), grade_id)
    grade, comment, _ = written_grade(root, "hal", grade_id)
    assert grade == {
        "auto_score": None,
        "manual_score": None,
        "needs_manual_grade": False,
        "score": 0.0,
    }
    assert comment["auto"] is None
    assert [line for line in notes if "note: hal: " in line] == [
        f"note: hal: {grade_id}: not in the submission (deleted?): missing"
    ]
    assert len(notes) == len(TAMPERED), notes  # none for an untouched cell


@pytest.mark.slow
def test_nbgrader_restores_the_same_cells_or_stops(course):
    """nbgrader's own sanitizing of the same submissions, as its autograde runs it."""
    from convviz_grade.autograde import Course
    from nbgrader.nbgraderformat import ValidationError
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        DeduplicateIds,
        OverwriteCells,
    )

    resources = {
        "nbgrader": {
            "notebook": ASSIGNMENT,
            "assignment": ASSIGNMENT,
            "db_url": Course(course["root"]).db_url,
        }
    }
    grade_id = course["grade_id"]
    for student in TAMPERED:
        folder = course["root"] / "grading" / "submitted" / student / ASSIGNMENT
        path = folder / f"{ASSIGNMENT}.ipynb"  # as handed in
        notebook = nbformat.read(path, as_version=4)
        for preprocessor in (DeduplicateIds, OverwriteCells):
            notebook, _ = preprocessor().preprocess(notebook, dict(resources))
        if student in ("fay", "gus"):  # nbgrader grades no one of them
            with pytest.raises(ValidationError):
                CheckCellMetadata().preprocess(notebook, dict(resources))
            continue
        CheckCellMetadata().preprocess(notebook, dict(resources))
        ours = cells_with_id(autograded_copy(course, student), grade_id)
        assert cells_with_id(notebook, grade_id) == ours, student


def grade_in_formgrader(server, browser, student, grade_id, points, comment):
    """From JupyterLab's Nbgrader menu to the student's submission; grade its answer.

    Returns what the submission page shows of the test cells' verdicts and of
    the written answer, read before grading.
    """
    with recorded_page(browser, "manual_grading") as (page, problems):
        page.goto(f"{server.url}/?token={server.token}")
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
        page.locator(".lm-Menu:visible").get_by_text("Formgrader", exact=True).click()
        formgrader = page.frame_locator("iframe").first
        # Manage Assignments, then Manual Grading: the assignment, its notebook.
        formgrader.locator("td", has_text=ASSIGNMENT).first.wait_for(timeout=60_000)
        formgrader.get_by_role("link", name="Manual Grading", exact=True).click()
        for page_of in (ASSIGNMENT, f"{ASSIGNMENT}/{ASSIGNMENT}"):  # each waits
            formgrader.locator(f"#main-table a[href$='/gradebook/{page_of}']").click()
        rows = formgrader.locator("#main-table tr")
        rows.nth(2).wait_for(timeout=60_000)
        formgrader.get_by_role("button", name="Show All Names").click()
        needs = {
            rows.nth(index).locator("a.name-shown").inner_text().strip(): (
                rows.nth(index).locator("td.needs-manual-grade .glyphicon").count() > 0
            )
            for index in range(rows.count())
        }
        expected = {"ann": True, "ben": True, "cal": False}
        expected |= {student: student != "hal" for student in TAMPERED}
        assert needs == expected, needs
        rows.filter(has_text=student).locator("a.name-shown").click()
        cell = formgrader.locator(f"#{grade_id}").locator(
            "xpath=ancestor::div[contains(@class, 'nbgrader_cell')]"
        )
        cell.wait_for(timeout=60_000)
        # The answer's formula, typeset by MathJax 3 from the lab server itself;
        # formgrader then focuses its first input (convviz_grade.lab_formgrader).
        cell.locator("mjx-container").first.wait_for(timeout=60_000)
        frame = next(f for f in page.frames if "/formgrader/submissions/" in f.url)
        frame.wait_for_function("() => window.MathJax && MathJax.loaded === true")
        shown = {
            "page": formgrader.locator("body").inner_text(),
            "answer": cell.inner_text(),
        }
        # Each input is saved when it loses focus; Tab moves to the next one.
        for field, value, api in [
            (f"input.score#{grade_id}", f"{points:g}", "grade"),
            (f"textarea#{grade_id}-comment", comment, "comment"),
        ]:
            with page.expect_response(
                lambda r, api=api: (
                    f"/formgrader/api/{api}/" in r.url and r.request.method == "PUT"
                )
            ) as saved:
                formgrader.locator(field).fill(value)
                formgrader.locator(field).press("Tab")
            assert saved.value.ok, (api, saved.value.status)
        assert not problems, "\n".join(problems)
    return shown


@pytest.fixture(scope="module")
def hand_graded(course, browser, tmp_path_factory):
    """The instructor gives ann's written answer half its points and a comment."""
    given = course["points"] / 2
    home = tmp_path_factory.mktemp("instructor_home")
    with lab_server(course["root"], home) as server:
        shown = grade_in_formgrader(
            server, browser, "ann", course["grade_id"], given, COMMENT
        )
        attempts = server.network_attempts()
    return {"given": given, "shown": shown, "network_attempts": attempts}


@pytest.mark.slow
def test_the_instructor_grades_the_written_answer_in_formgrader(course, hand_graded):
    assert not hand_graded["network_attempts"], hand_graded["network_attempts"]
    shown = hand_graded["shown"]
    # The grader's verdicts, in the test cells, beside the written answer.
    for function in course["functions"]:
        assert f"convviz-grade: {function} passed" in shown["page"], shown["page"]
    assert ANN_WRITES in shown["answer"], shown["answer"]
    grade, comment, _ = written_grade(course["root"], "ann", course["grade_id"])
    assert (grade["manual_score"], grade["needs_manual_grade"]) == (
        hand_graded["given"],
        False,
    )
    assert comment["manual"] == COMMENT


def rows_of(rows, student):
    return {row["function"]: row for row in rows if row["student"] == student}


@pytest.mark.slow
def test_export_has_the_written_points_and_marks_the_pending_one(
    course, hand_graded, tmp_path
):
    rows, printed = export(course["root"], tmp_path)
    pending = 1 + len(TAMPERED) - 1  # ben; the tampered but hal, who deleted it
    assert f"({pending} still to grade by hand)" in printed, printed
    grade_id, given = course["grade_id"], hand_graded["given"]
    points = course["points"]
    ann, ben, cal = (rows_of(rows, s) for s in ("ann", "ben", "cal"))
    assert set(ann) == {*course["functions"], grade_id}
    assert (ann[grade_id]["score"], ann[grade_id]["status"]) == (f"{given}", "graded")
    assert float(ann[grade_id]["max_score"]) == points
    # Not graded by hand yet: said so, with no score, not a zero.
    assert (ben[grade_id]["score"], ben[grade_id]["status"]) == ("", "pending")
    assert (cal[grade_id]["score"], cal[grade_id]["status"]) == ("0.0", "failed")
    hal = rows_of(rows, "hal")  # deleted the cell
    assert (hal[grade_id]["score"], hal[grade_id]["status"]) == ("0.0", "missing")
    # A student's total, the sum of the score column, counts the written points.
    total = sum(float(row["score"]) for row in ann.values() if row["score"])
    functions = sum(float(ann[f]["max_score"]) for f in course["functions"])
    assert total == functions + given


@pytest.mark.slow
def test_feedback_shows_the_written_points_and_the_comment(course, hand_graded):
    root, grade_id = course["root"], course["grade_id"]
    given, points = hand_graded["given"], course["points"]
    assert cli.main(["feedback", ASSIGNMENT, "--course-dir", str(root)]) == 0
    folder = root / "grading" / "feedback"
    page = (folder / "ann" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert f"<code>{grade_id}</code></td><td>{given:g} / {points:g}</td>" in page
    assert COMMENT in page
    functions = page.count('<td class="passed">passed</td>')
    assert functions == len(course["functions"]), page
    waiting = (folder / "ben" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert f"not graded yet / {points:g}" in waiting
    assert f"worth {points:g} points are still to be graded" in waiting


@pytest.mark.slow
def test_nbgraders_own_feedback_shows_them_too(course, hand_graded):
    import subprocess
    import sys

    from convviz_grade.release import nbgrader_environment

    root, given = course["root"], hand_graded["given"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nbgrader",
            "generate_feedback",
            ASSIGNMENT,
            "--student",
            "ann",
            "--force",
        ],
        cwd=root,
        env=nbgrader_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    page = root / "grading" / "feedback" / "ann" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    text = page.read_text()
    # nbgrader's template rounds to 2 decimals and prints Python's float.
    assert f"Score: {round(given, 2)} / {round(course['points'], 2)}" in text
    assert "Right choice; say" in text and ANN_WRITES in text
    # convviz-grade's feedback writes the same file: it keeps nbgrader's page, and
    # says so, unless told to replace it.
    output = io.StringIO()
    arguments = ["feedback", ASSIGNMENT, "--course-dir", str(root)]
    assert cli.main(arguments, stream=output) == 1
    assert page.read_text() == text
    kept = [line for line in output.getvalue().splitlines() if "kept" in line]
    assert kept == [
        f"kept {page}: not written by convviz-grade (nbgrader generate_feedback's?);"
        " --force replaces it"
    ]
    assert cli.main([*arguments, "--force"], stream=io.StringIO()) == 0
    assert page.read_text() != text and report.written_by_us(page)


@pytest.mark.slow
def test_nbgraders_release_feedback_releases_our_page(course, tmp_path):
    """What a student's `nbgrader fetch_feedback` looks for is our page."""
    from convviz_grade.release import course_config
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default import ExchangeReleaseFeedback
    from nbgrader.utils import notebook_hash

    root = course["root"]
    output = io.StringIO()
    arguments = ["feedback", ASSIGNMENT, "--course-dir", str(root)]
    assert cli.main(arguments, stream=output) == 0, output.getvalue()
    assert f"`nbgrader release_feedback {ASSIGNMENT}` releases them" in (
        output.getvalue()
    )
    # `nbgrader release_feedback segmentation --student ben`, in this process.
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    config = course_config(root)
    config.Exchange.root = str(exchange)
    config.CourseDirectory.assignment_id = ASSIGNMENT
    config.CourseDirectory.student_id = "ben"
    coursedir = CourseDirectory(config=config)
    with warnings.catch_warnings():  # nbgrader's open(timestamp.txt).read()
        warnings.simplefilter("ignore", ResourceWarning)
        ExchangeReleaseFeedback(
            coursedir=coursedir,
            authenticator=Authenticator(config=config),
            config=config,
        ).start()
    # Where nbgrader's fetch_feedback looks for ben's notebook's feedback.
    key = notebook_hash(secret="secret of ben", notebook_id=ASSIGNMENT)
    released = exchange / "convviz" / "feedback" / f"{key}.html"
    page = root / "grading" / "feedback" / "ben" / ASSIGNMENT / f"{ASSIGNMENT}.html"
    assert released.read_text() == page.read_text()
    assert report.written_by_us(released)


@pytest.mark.slow
def test_a_rerun_keeps_the_hand_grades_and_flags_a_new_submission(
    course, hand_graded, tmp_path
):
    from convviz_grade.autograde import Course
    from nbgrader.api import Gradebook

    root, grade_id, given = course["root"], course["grade_id"], hand_graded["given"]
    # The instructor gives cal's blank answer a point by hand; cal then hands in
    # again, with an answer this time.
    with Gradebook(Course(root).db_url) as gradebook:
        grade = gradebook.find_grade(grade_id, ASSIGNMENT, ASSIGNMENT, "cal")
        grade.manual_score, grade.needs_manual_grade = 1.0, False
        gradebook.db.commit()
    again = set_written_answer(course["release"](), grade_id, CAL_LATER_WRITES)
    hand_in(course["submissions"], "cal", again, CAL_AGAIN)
    autograde(root, course["submissions"])
    grade, comment, _ = written_grade(root, "ann", grade_id)
    assert (grade["manual_score"], grade["needs_manual_grade"]) == (given, False)
    assert comment["manual"] == COMMENT
    grade, _, _ = written_grade(root, "cal", grade_id)
    assert (grade["manual_score"], grade["auto_score"]) == (1.0, None)
    assert grade["needs_manual_grade"] is True  # a new submission: look again
    rows, _ = export(root, tmp_path)
    assert rows_of(rows, "ann")[grade_id]["status"] == "graded"
    assert rows_of(rows, "cal")[grade_id]["status"] == "pending"
    assert rows_of(rows, "cal")[grade_id]["score"] == "1.0"


def test_formgraders_page_loads_mathjax_from_the_lab_server():
    """What convviz_grade.lab_formgrader does to formgrader's exporter, no lab."""
    import logging

    from convviz_grade import lab_formgrader
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("$x$")])
    resources = {
        "base_url": "",
        "submission_id": "s",
        "notebook_id": "n",
        "assignment_id": "a",
        "index": 0,
        "total": 1,
        "student": "ann",
        "last_name": None,
        "first_name": None,
        "notebook_path": "n.ipynb",
    }
    # As formgrader builds it (FormgradeExtension.build_extra_config).
    formgrade = HTMLExporter(
        template_name="formgrade", extra_template_basedirs=[handlers.template_path]
    )
    before, _ = formgrade.from_notebook_node(notebook, resources=dict(resources))
    assert "cdnjs.cloudflare.com" in before  # what the extension is for
    log = logging.getLogger("test")
    assert lab_formgrader.add_templates({"nbgrader_exporter": formgrade}, log)
    page, _ = formgrade.from_notebook_node(notebook, resources=dict(resources))
    assert "/convviz-mathjax/tex-chtml.js" in page and "cdnjs" not in page
    assert (lab_formgrader.mathjax_folder() / "tex-chtml.js").is_file()
    # A page that names its MathJax (nbconvert's own) keeps nbconvert's macro.
    lab = HTMLExporter(template_name="lab")
    lab.template_paths = [str(lab_formgrader.TEMPLATES), *lab.template_paths]
    page, _ = lab.from_notebook_node(notebook)
    assert lab.mathjax_url in page and "convviz-mathjax" not in page
    assert not lab_formgrader.add_templates({}, log)  # no formgrader: said, not fatal


def test_restore_written_cells_keeps_the_last_copy_and_finds_a_bare_cell():
    """Cases the graded class does not hold: a copied cell, metadata removed."""
    from convviz_grade.written_cells import restore_written_cells

    released = nbformat.read(
        REPOSITORY / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4
    )
    (grade_id,) = notebook_cells.written_points(released)
    (original,) = cells_with_id(released, grade_id)
    untouched = nbformat.from_dict(released)
    assert restore_written_cells(untouched, released) == []
    assert untouched == released
    # A copy of the cell, answered below the first: nbgrader keeps the last.
    copied = nbformat.from_dict(released)
    index = copied.cells.index(cells_with_id(copied, grade_id)[0])
    second = nbformat.from_dict(original)
    second.id, second.source = "my-copy", TAMPERED_WRITES
    copied.cells.insert(index + 1, second)
    (note,) = restore_written_cells(copied, released)
    assert note == f"{grade_id}: restored as released (copies 2 -> 1)"
    (cell,) = cells_with_id(copied, grade_id)
    assert cell.source == TAMPERED_WRITES
    assert notebook_cells.nbgrader_meta(copied.cells[index]) == {}
    # Its nbgrader metadata removed: found by its cell id, as released.
    bare = nbformat.from_dict(released)
    cell = cells_with_id(bare, grade_id)[0]
    del cell.metadata["nbgrader"]
    cell.source = TAMPERED_WRITES
    (note,) = restore_written_cells(bare, released)
    assert note.startswith(f"{grade_id}: restored as released (grade_id None -> ")
    assert (
        cells_with_id(bare, grade_id) == [cell] and cell.metadata == original.metadata
    )
