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

nbgrader's own export shows all four as 0.0.
"""

from __future__ import annotations

import csv
import html
import json
import sys
from pathlib import Path

from convviz_grade.autograde import RESULTS_FILE, Course

# The CSV's header: one row per student x assignment x graded function.
COLUMNS = "student assignment notebook function score max_score status".split()


def _results(course, student, assignment):
    path = course.results_path(student, assignment)
    return json.loads(path.read_text()) if path.is_file() else None


def export_rows(course):
    """One row per student x assignment x graded function, sorted."""
    import nbformat
    from nbgrader.api import Gradebook

    from convviz_grade.notebook_cells import points as read_points

    rows = []
    with Gradebook(course.db_url) as gradebook:
        students = sorted(student.id for student in gradebook.students)
        assignments = sorted(assignment.name for assignment in gradebook.assignments)
    for assignment_name in assignments:
        source = course.source_notebook(assignment_name)
        points = (
            read_points(nbformat.read(source, as_version=4)) if source.is_file() else {}
        )
        for student in students:
            results = _results(course, student, assignment_name)
            if results is None:
                for function, cells in points.items():
                    rows.append(
                        [
                            student,
                            assignment_name,
                            assignment_name,
                            function,
                            0.0,
                            sum(cells.values()),
                            "missing",
                        ]
                    )
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
        writer.writerows(rows)
    print(f"{len(rows)} rows -> {out}", file=stream)
    return 0


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; max-width: 52rem; margin: 2rem auto; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }} \
th, td {{ border: 1px solid #ccc; padding: .4rem .6rem; text-align: left; }}
.passed {{ color: #17662b; }} .failed, .ungraded, .missing {{ color: #a11; }}
pre {{ background: #f6f6f6; padding: .8rem; white-space: pre-wrap; }}
</style></head><body>
<h1>{title}</h1>
<p>Total: <strong>{score:g} / {max_score:g}</strong> points. \
Each function earns its points only when all
of its tests pass, the visible ones you ran and the hidden ones that use new inputs.</p>
<table><tr><th>function</th><th>points</th><th>result</th></tr>
{rows}
</table>
{details}
</body></html>
"""


def feedback_page(results):
    """The HTML report of one student's results: scores and explanations.

    ``results`` is the dict ``autograde`` wrote (a
    :class:`~convviz_grade.grading.SubmissionGrade` as JSON); no test's source is
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
    return PAGE.format(
        title=title,
        score=sum(g["score"] for g in results["functions"]),
        max_score=sum(g["max_score"] for g in results["functions"]),
        rows="\n".join(rows),
        details="\n".join(details),
    )


def feedback(assignment, course_dir, *, stream=None):
    """Write ``<feedback>/<student>/<assignment>/<assignment>.html`` for each student.

    Every student with results for ``assignment`` gets one; returns the exit code
    (1 when no page was written).
    """
    stream = stream or sys.stdout
    course = Course(course_dir)
    autograded = course.folder("autograded_directory")
    written = 0
    for path in sorted(autograded.glob(f"*/{assignment}/{RESULTS_FILE}")):
        results = json.loads(path.read_text())
        target = (
            course.folder("feedback_directory")
            / results["student"]
            / assignment
            / f"{assignment}.html"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(feedback_page(results), encoding="utf-8")
        written += 1
    print(
        f"{written} feedback pages -> {course.folder('feedback_directory')}",
        file=stream,
    )
    return 0 if written else 1
