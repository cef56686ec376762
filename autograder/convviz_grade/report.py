"""``convviz-grade export`` and ``convviz-grade feedback``: what grading leaves behind.

Both read the gradebook (nbgrader's, the scores) and the per-function results
``autograde`` wrote beside the autograded notebooks (the status and the
explanations). Statuses:

* ``passed``: every test of the function passed (full points);
* ``failed``: a real zero: the function was graded and is wrong, blank, hung,
  crashed or cheated;
* ``ungraded``: the submission could not be graded (an unreadable notebook, a
  failure of the grader): a zero to look at, not a verdict;
* ``missing``: the student submitted nothing for this assignment.

A written question, graded by hand in formgrader, has a row of its own, named by
its grade id (``written_<topic>``), and two statuses more, read from the
gradebook:

* ``graded``: the instructor gave it points (the score, extra credit included);
* ``pending``: not graded by hand yet, or flagged for review again after a new
  submission. Its score is empty (a spreadsheet's sum leaves it out), or the
  earlier hand score when there is one: never a zero it did not get.

An unanswered one (left as released or emptied) is ``failed`` with 0 points, as
nbgrader scores it, and a deleted one ``missing`` (0 points), unless the
instructor gives it points. (A written cell whose nbgrader metadata the student
changed is graded as released: :mod:`convviz_grade.written_cells`.) A
student's total for an assignment is the sum of the score column over its rows.

nbgrader's own export shows every one of these as a number, 0.0 for the
ungraded, the missing and the pending alike.
"""

from __future__ import annotations

import csv
import html
import json
import shutil
import sys
from pathlib import Path

from convviz_grade.autograde import RESULTS_FILE, Course

# The CSV's header: one row per student x assignment x graded function or written
# question.
COLUMNS = "student assignment notebook function score max_score status".split()


def _results(course, student, assignment):
    path = course.results_path(student, assignment)
    return json.loads(path.read_text()) if path.is_file() else None


def _source(course, assignment):
    """The assignment's source notebook, or None when the course has none."""
    import nbformat

    source = course.source_notebook(assignment)
    return nbformat.read(source, as_version=4) if source.is_file() else None


def _written(source):
    from convviz_grade.notebook_cells import written_points

    return written_points(source) if source is not None else {}


def written_grades(gradebook, assignment, student, written):
    """The hand grading of a student's written answers, from nbgrader's gradebook.

    ``written`` is ``{grade_id: points}`` of the assignment's written
    questions (:func:`convviz_grade.notebook_cells.written_points`).

    Returns:
        list of dicts ``{"grade_id", "score", "max_score", "status",
        "comment"}`` in ``written``'s order (the statuses are this module's;
        ``score`` is None for a ``pending`` answer with no hand score yet;
        ``comment`` is the instructor's, else nbgrader's automatic one, else "").
    """
    from nbgrader.api import MissingEntry

    grades, comments = {}, {}
    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        submission = None
    for notebook in submission.notebooks if submission is not None else ():
        grades.update({grade.name: grade for grade in notebook.grades})
        comments.update({comment.name: comment for comment in notebook.comments})
    found = []
    for grade_id, max_score in written.items():
        grade, comment = grades.get(grade_id), comments.get(grade_id)
        if grade is None:
            score, status = 0.0, "missing"
        elif grade.needs_manual_grade:
            status = "pending"
            score = None if grade.manual_score is None else float(grade.score)
        elif grade.manual_score is not None:
            score, status = float(grade.score), "graded"
        elif grade.auto_score is None:  # the notebook had no such cell: deleted
            score, status = 0.0, "missing"
        else:  # scored 0 by autograde: left as released
            score, status = float(grade.score), "failed"
        text = ""
        if comment is not None:
            text = comment.manual_comment or comment.auto_comment or ""
        found.append(
            {
                "grade_id": grade_id,
                "score": score,
                "max_score": float(max_score),
                "status": status,
                "comment": text,
            }
        )
    return found


def export_rows(course):
    """One row per student x assignment x graded function or written question.

    Sorted by assignment, then student; a student's written questions come
    after the functions, with the score None while not graded by hand.
    """
    from nbgrader.api import Gradebook

    from convviz_grade.notebook_cells import points as read_points

    rows = []
    with Gradebook(course.db_url) as gradebook:
        students = sorted(student.id for student in gradebook.students)
        assignments = sorted(assignment.name for assignment in gradebook.assignments)
        for assignment_name in assignments:
            source = _source(course, assignment_name)
            points = read_points(source) if source is not None else {}
            written = _written(source)
            for student in students:
                results = _results(course, student, assignment_name)
                if results is None:
                    rows += [
                        [
                            student,
                            assignment_name,
                            assignment_name,
                            function,
                            0.0,
                            sum(cells.values()),
                            "missing",
                        ]
                        for function, cells in points.items()
                    ]
                    rows += [
                        [
                            student,
                            assignment_name,
                            assignment_name,
                            grade_id,
                            0.0,
                            max_score,
                            "missing",
                        ]
                        for grade_id, max_score in written.items()
                    ]
                    continue
                for grade in results["functions"]:
                    rows.append(
                        [
                            student,
                            assignment_name,
                            results["notebook"],
                            grade["function"],
                            grade["score"],
                            grade["max_score"],
                            grade["status"],
                        ]
                    )
                for grade in written_grades(
                    gradebook, assignment_name, student, written
                ):
                    rows.append(
                        [
                            student,
                            assignment_name,
                            results["notebook"],
                            grade["grade_id"],
                            grade["score"],
                            grade["max_score"],
                            grade["status"],
                        ]
                    )
    return rows


def export(course_dir, out, *, stream=None):
    """Write the CSV; return the exit code."""
    stream = stream or sys.stdout
    course = Course(course_dir)
    rows = export_rows(course)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        writer.writerows(rows)  # a score of None (pending) is an empty field
    pending = sum(row[-1] == "pending" for row in rows)
    note = f" ({pending} still to grade by hand)" if pending else ""
    print(f"{len(rows)} rows -> {out}{note}", file=stream)
    return 0


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="generator" content="{generator}">
<style>
body {{ font-family: sans-serif; max-width: 52rem; margin: 2rem auto; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }} \
th, td {{ border: 1px solid #ccc; padding: .4rem .6rem; text-align: left; }}
.passed, .graded {{ color: #17662b; }} .failed, .ungraded, .missing {{ color: #a11; }}
.pending {{ color: #8a5a00; }}
pre {{ background: #f6f6f6; padding: .8rem; white-space: pre-wrap; }}
blockquote {{ border-left: 4px solid #ccc; margin: 0; padding: .2rem .8rem; \
white-space: pre-wrap; }}
</style></head><body>
<h1>{title}</h1>
<p>Total: <strong>{score:g} / {max_score:g}</strong> points.{pending} \
Each function earns its points only when all
of its tests pass, the visible ones you ran and the hidden ones that use new inputs.</p>
<table><tr><th>function</th><th>points</th><th>result</th></tr>
{rows}
</table>
{written}
{details}
</body></html>
"""

WRITTEN = """<h2>Written answers</h2>
<p>Graded by hand by your instructor.</p>
<table><tr><th>question</th><th>points</th><th>result</th></tr>
{rows}
</table>
{comments}"""


def feedback_page(results, written=()):
    """The HTML report of one student's results: scores and explanations.

    ``results`` is the dict ``autograde`` wrote (a
    :class:`~convviz_grade.grading.SubmissionGrade` as JSON); ``written``, the
    hand grading of the written answers (:func:`written_grades`): their points,
    or "not graded yet", and the instructor's comments. No test's source is
    shown.
    """
    title = html.escape(f"{results['assignment']}: feedback for {results['student']}")
    rows, details = [], []
    for grade in results["functions"]:
        name = html.escape(grade["function"])
        status = html.escape(grade["status"])
        rows.append(
            f"<tr><td><code>{name}</code></td>"
            f"<td>{grade['score']:g} / {grade['max_score']:g}</td>"
            f'<td class="{status}">{status}</td></tr>'
        )
        if grade["status"] != "passed" and grade["message"]:
            details.append(
                f"<h2><code>{name}</code></h2>\n<pre>{html.escape(grade['message'])}</pre>"
            )
    written_rows, comments = [], []
    for grade in written:
        name = html.escape(grade["grade_id"])
        status = html.escape(grade["status"])
        points = "not graded yet" if grade["score"] is None else f"{grade['score']:g}"
        written_rows.append(
            f"<tr><td><code>{name}</code></td>"
            f"<td>{points} / {grade['max_score']:g}</td>"
            f'<td class="{status}">{status}</td></tr>'
        )
        if grade["comment"]:
            comments.append(
                f"<h3><code>{name}</code>: your instructor's comment</h3>\n"
                f"<blockquote>{html.escape(grade['comment'])}</blockquote>"
            )
    pending = sum(g["max_score"] for g in written if g["status"] == "pending")
    return PAGE.format(
        title=title,
        generator=GENERATOR,
        score=sum(g["score"] for g in results["functions"])
        + sum(g["score"] or 0.0 for g in written),
        max_score=sum(g["max_score"] for g in results["functions"])
        + sum(g["max_score"] for g in written),
        pending=(
            f" Written answers worth {pending:g} points are still to be graded."
            if pending
            else ""
        ),
        rows="\n".join(rows),
        written=(
            WRITTEN.format(rows="\n".join(written_rows), comments="\n".join(comments))
            if written
            else ""
        ),
        details="\n".join(details),
    )


GENERATOR = "convviz-grade feedback"
"""What a page of ours says it is (its ``<meta name="generator">``)."""

RELEASE_FILES = ("timestamp.txt", "submission_secret.txt")
"""What ``nbgrader release_feedback`` reads beside a page (nbgrader's
``generate_feedback`` copies them from the autograded folder too)."""


def written_by_us(page):
    """True when the HTML file ``page`` is a page :func:`feedback` wrote.

    Pages written before they named their generator are known by their first
    paragraph.
    """
    head = page.read_text(encoding="utf-8", errors="replace")[:3000]
    return f'<meta name="generator" content="{GENERATOR}">' in head or (
        "Each function earns its points only when all\nof its tests pass" in head
    )


def feedback(assignment, course_dir, *, force=False, stream=None):
    """Write ``<feedback>/<student>/<assignment>/<notebook>.html`` for each student.

    Every student with results for ``assignment`` gets one, with the hand
    grading of the written answers as the gradebook has it now. It is the
    page ``nbgrader release_feedback`` releases and students fetch as their
    notebook's feedback: the same file ``nbgrader generate_feedback`` (and
    formgrader's "Generate Feedback") writes, so the autograded folder's
    ``timestamp.txt`` and ``submission_secret.txt`` are copied beside it, as
    that command does. A page that this command did not write is kept, with one
    line that says so, unless ``force``. Returns the exit code: 1 when a page
    was kept or none was written.
    """
    from nbgrader.api import Gradebook

    stream = stream or sys.stdout
    course = Course(course_dir)
    written = _written(_source(course, assignment))
    autograded = course.folder("autograded_directory")
    written_pages, kept = 0, 0
    with Gradebook(course.db_url) as gradebook:
        for path in sorted(autograded.glob(f"*/{assignment}/{RESULTS_FILE}")):
            results = json.loads(path.read_text())
            folder = course.folder("feedback_directory") / results["student"]
            target = folder / assignment / f"{results['notebook']}.html"
            if target.is_file() and not force and not written_by_us(target):
                print(
                    f"kept {target}: not written by convviz-grade (nbgrader "
                    "generate_feedback's?); --force replaces it",
                    file=stream,
                )
                kept += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            hand = written_grades(gradebook, assignment, results["student"], written)
            target.write_text(feedback_page(results, hand), encoding="utf-8")
            for name in RELEASE_FILES:
                if (path.parent / name).is_file():
                    shutil.copyfile(path.parent / name, target.parent / name)
            written_pages += 1
    print(
        f"{written_pages} feedback pages -> {course.folder('feedback_directory')} "
        f"(`nbgrader release_feedback {assignment}` releases them)",
        file=stream,
    )
    return 0 if written_pages and not kept else 1
