"""Run an exercise notebook with other answers in its solution cells.

The tests of the exercises use this to check that an independently written
correct answer earns full marks, and that each usual mistake fails the
function's tests with the hint that names it. The tests of the secure grader
share one sandboxed fork server per module (:func:`grading_server`), as
``convviz-grade autograde`` shares one per job.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import nbformat

from convviz_grade import notebook_cells, sandbox
from convviz_grade.validate import collect_results, execute

REPOSITORY = Path(__file__).resolve().parent.parent


def solution_notebook(assignment):
    """The instructor's source notebook of ``assignment``."""
    return REPOSITORY / "solutions" / assignment / f"{assignment}.ipynb"


def solution_cell_ids(notebook):
    """grade_id of every solution cell, in notebook order."""
    return notebook_cells.answer_cell_ids(notebook)


def run_with_answers(assignment, answers, tmp_path, *, timeout=300):
    """Execute the solution notebook with some solution cells replaced.

    Args:
        assignment: str, e.g. ``"filters"``.
        answers: dict mapping a solution cell's grade_id to the source that
            replaces it (the whole cell, ``def`` line included).
        tmp_path: a folder for the modified copy.

    Returns:
        dict mapping each graded function to its
        :class:`convviz_grade.validate.FunctionResult`, hidden tests included.
    """
    notebook = notebook_cells.replace_answers(nbformat.read(solution_notebook(assignment), as_version=4), answers)
    path = Path(tmp_path) / f"{assignment}.ipynb"
    nbformat.write(notebook, path)
    executed = execute(path, timeout=timeout)
    results, other_errors = collect_results(executed)
    return {result.name: result for result in results}, other_errors


@contextlib.contextmanager
def grading_server(assignment, slot):
    """A sandboxed fork server for ``assignment``, as ``convviz-grade autograde`` starts one per job.

    It imports the assignment's libraries once; each submission graded with
    it runs in a fresh child, and :func:`grade_with` empties the slot after
    each one. The repository is hidden, as for every submission here.
    """
    server = sandbox.ForkServer(slot, prelude=assignment.prelude, preload=assignment.preload,
                                hide=[REPOSITORY])
    try:
        yield server
    finally:
        server.close()


def grade_with(server, assignment, path):
    """:func:`convviz_grade.grading.grade_submission` of ``path`` in a child of ``server``."""
    from convviz_grade import grading

    assert sandbox.bwrap_available(), "these tests grade inside bubblewrap, as convviz-grade does"
    try:
        return grading.grade_submission(assignment, path, hide=[REPOSITORY], server=server)
    finally:
        server.clear_slot()
