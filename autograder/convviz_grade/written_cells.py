"""A submission's written answers, their nbgrader metadata put back as released.

A written answer (:func:`convviz_grade.notebook_cells.is_written_answer`) is
graded by hand in formgrader, from the autograded copy of the submission, so
that copy must say what the instructor's release said: a markdown cell that
is ``grade`` and ``solution``, with its grade id and its points. A student can
change any of it in JupyterLab's property inspector. nbgrader's ``autograde``
sanitizes the submission first (``DeduplicateIds``, ``OverwriteCells``,
``CheckCellMetadata``); :func:`restore_written_cells` does the same to the
written cells, from the released notebook, and says what it changed, one line
per cell, where nbgrader logs a warning:

* a cell type changed (a code cell): it is markdown again, its text kept;
* ``points`` or ``locked`` changed: the release's, as nbgrader restores them;
* ``grade`` or ``solution`` removed, the ``checksum`` changed: the release's
  (nbgrader's ``CheckCellMetadata`` stops the whole notebook there: "Markdown
  solution cell is not marked as a grade cell");
* the grade id changed or the nbgrader metadata removed: the cell the student
  was given is still known by its nbformat cell id (the release keeps the
  source's), so its grade id comes back (nbgrader drops an unknown grade id and
  then stops the notebook: "nbgrader cell does not have a grade_id");
* the same grade id on several cells (a copied cell): the last one is the
  answer and the others lose their nbgrader metadata, as nbgrader's
  ``DeduplicateIds`` does;
* no such cell (deleted, and not found by its cell id either): the answer is
  missing; it is not put back (nbgrader's ``OverwriteCells.add_missing_cells``
  is off by default too).

Nothing else in the notebook is touched: the grader reads the answer cells
itself, by grade id (:mod:`convviz_grade.grading`).
"""

from __future__ import annotations

import copy

from convviz_grade.notebook_cells import is_written_answer, nbgrader_meta

REPORTED = ("cell_type", "grade_id", "grade", "solution", "locked", "points")
"""The attributes a message names when they changed (nbgrader reports cell_type,
locked, points and the checksum; the checksum of an answer changes whenever the
student answers, so it is restored without a word)."""


def released_written_cells(released):
    """The release's written cells: ``{grade_id: cell}``, in notebook order."""
    return {
        nbgrader_meta(cell)["grade_id"]: cell
        for cell in released.cells
        if is_written_answer(cell)
    }


def _describe(grade_id, changes):
    listed = ", ".join(f"{name} {old!r} -> {new!r}" for name, old, new in changes)
    return f"{grade_id}: restored as released ({listed})"


def restore_written_cells(submitted, released):
    """Put the release's nbgrader metadata back on the submission's written cells.

    Args:
        submitted: the student's notebook (an nbformat node), changed in place.
        released: the notebook the students were given (its written cells carry
            nbgrader's metadata, checksum included).

    Returns:
        list of str, one line per written cell that was changed or not found,
        in the release's order: ``"written_x: restored as released (points 5.0
        -> 2)"``, ``"written_x: not in the submission (deleted?): missing"``.
    """
    notes = []
    cells = submitted.cells
    for grade_id, original in released_written_cells(released).items():
        same_id = [
            index
            for index, cell in enumerate(cells)
            if nbgrader_meta(cell).get("grade_id") == grade_id
        ]
        if not same_id and original.get("id"):
            same_id = [
                index
                for index, cell in enumerate(cells)
                if cell.get("id") == original["id"]
                and not _known(nbgrader_meta(cell).get("grade_id"), released)
            ]
        if not same_id:
            notes.append(f"{grade_id}: not in the submission (deleted?): missing")
            continue
        *copies, index = same_id
        for other in copies:  # nbgrader's DeduplicateIds keeps the last
            cells[other].setdefault("metadata", {})["nbgrader"] = {}
        cell = cells[index]
        changes = [
            (name, _value(cell, name), _value(original, name))
            for name in REPORTED
            if _value(cell, name) != _value(original, name)
        ]
        if copies:
            changes.append(("copies", len(copies) + 1, 1))
        _set_type(cell, original.cell_type)
        cell.setdefault("metadata", {})["nbgrader"] = copy.deepcopy(
            nbgrader_meta(original)
        )
        if changes:
            notes.append(_describe(grade_id, changes))
    return notes


def _known(grade_id, released):
    """True when ``grade_id`` is one of the release's nbgrader cells' grade ids."""
    return grade_id is not None and any(
        nbgrader_meta(cell).get("grade_id") == grade_id for cell in released.cells
    )


def _value(cell, name):
    return (
        cell.get("cell_type") if name == "cell_type" else nbgrader_meta(cell).get(name)
    )


def _set_type(cell, cell_type):
    """Make ``cell`` a ``cell_type`` cell, its text kept (as nbgrader does)."""
    if cell.get("cell_type") == cell_type:
        return
    cell["cell_type"] = cell_type
    if cell_type == "code":
        cell["outputs"], cell["execution_count"] = [], None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)
