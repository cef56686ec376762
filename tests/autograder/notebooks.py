"""Tiny nbgrader notebooks, built in code, for the grading tests."""

from __future__ import annotations

import nbformat


def nbgrader_meta(grade_id, *, grade=False, solution=False, locked=False, points=None):
    meta = {
        "schema_version": 3,
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "solution": solution,
        "task": False,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def solution(grade_id, source):
    return nbformat.v4.new_code_cell(
        source, metadata=nbgrader_meta(grade_id, solution=True)
    )


def graded(grade_id, source, points=1):
    return nbformat.v4.new_code_cell(
        source, metadata=nbgrader_meta(grade_id, grade=True, locked=True, points=points)
    )


def code(source):
    return nbformat.v4.new_code_cell(source)


def notebook(*cells):
    nb = nbformat.v4.new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


ADD_SOLUTION = solution(
    "add",
    "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION",
)
ADD_VISIBLE = graded(
    "test_add", "assert add(1, 2) == 3, 'add(1, 2) should be 3'\nprint('ok')"
)
ADD_HIDDEN = graded(
    "hidden_add",
    "# Hidden tests run at grading.\n### BEGIN HIDDEN TESTS\nassert add(-1, 1) == "
    "0\n### END HIDDEN TESTS",
    points=2,
)
