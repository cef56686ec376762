"""Run an exercise notebook with other answers in its solution cells.

The tests of the exercises use this to check that an independently written
correct answer earns full marks, and that each usual mistake fails the
function's tests with the hint that names it. The tests of the secure grader
share one sandboxed fork server per module (:func:`grading_server`), as
``convviz-grade autograde`` shares one per job.
"""

from __future__ import annotations

import contextlib
import copy
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


# Between two notebooks run in one kernel: what a restarted kernel would not remember.
RESET_SOURCE = """\
import sys as _sys
if "keras" in _sys.modules:
    _sys.modules["keras"].backend.clear_session()  # Keras's global state (layer names)
%reset -f
"""


def execute_in_one_kernel(notebooks, tmp_path, *, timeout=300):
    """Execute several notebooks one after the other in one kernel; return each executed copy.

    The kernel starts and imports its libraries (TensorFlow above all) once.
    Before each notebook after the first, a cell makes the kernel forget the
    previous one (every name, and Keras's global state), so each notebook
    runs whole, its set-up cells included, as in a kernel of its own.

    A name left over from an earlier notebook could only make a wrong answer
    pass (a fresh kernel would have raised a ``NameError``), so a test that a
    mistake fails proves in this kernel what it would prove in a fresh one.

    Args:
        notebooks: nbformat notebooks or paths to them.
        tmp_path: a folder for the combined notebook.

    Returns:
        list of nbformat notebooks, the executed copies, in order.
    """
    combined = None
    for number, notebook in enumerate(notebooks):
        if not isinstance(notebook, nbformat.NotebookNode):
            notebook = nbformat.read(notebook, as_version=4)
        if combined is None:
            combined = nbformat.v4.new_notebook(
                metadata=copy.deepcopy(notebook.metadata)
            )
        else:
            combined.cells.append(
                nbformat.v4.new_code_cell(
                    RESET_SOURCE, metadata={"convviz_reset": True}
                )
            )
        for cell in copy.deepcopy(notebook.cells):
            cell.id = f"{cell.id}-{number}"[-64:]  # cell ids are unique in a notebook
            combined.cells.append(cell)
    path = Path(tmp_path) / "combined.ipynb"
    nbformat.write(combined, path)
    executed = execute(path, timeout=timeout)
    parts = [[]]
    for cell in executed.cells:
        if cell.metadata.get("convviz_reset"):
            assert not any(output.output_type == "error" for output in cell.outputs), (
                cell.outputs
            )
            parts.append([])
        else:
            parts[-1].append(cell)
    return [
        nbformat.v4.new_notebook(cells=cells, metadata=executed.metadata)
        for cells in parts
    ]


def run_answer_sets(assignment, answer_sets, tmp_path, *, timeout=300):
    """Execute the solution notebook once per set of answers, all in one kernel (:func:`execute_in_one_kernel`).

    Args:
        assignment: str, e.g. ``"filters"``.
        answer_sets: list of dicts, each mapping a solution cell's grade_id to
            the source that replaces it (the whole cell, ``def`` line included).
        tmp_path: a folder for the notebook.

    Returns:
        list of ``(results, other_errors)``, one per set: ``results`` maps each graded function
        to its :class:`convviz_grade.validate.FunctionResult`, hidden tests included;
        ``other_errors`` lists the errors of the cells that are not tests.
    """
    source = nbformat.read(solution_notebook(assignment), as_version=4)
    notebooks = [
        notebook_cells.replace_answers(copy.deepcopy(source), answers)
        for answers in answer_sets
    ]
    runs = []
    for executed in execute_in_one_kernel(notebooks, tmp_path, timeout=timeout):
        results, other_errors = collect_results(executed)
        runs.append(({result.name: result for result in results}, other_errors))
    return runs


@contextlib.contextmanager
def grading_server(assignment, slot):
    """A sandboxed fork server for ``assignment``, as ``convviz-grade autograde`` starts one per job.

    It imports the assignment's libraries once; each submission graded with
    it runs in a fresh child, and :func:`grade_with` empties the slot after
    each one. The repository is hidden, as for every submission here.
    """
    server = sandbox.ForkServer(
        slot, prelude=assignment.prelude, preload=assignment.preload, hide=[REPOSITORY]
    )
    try:
        yield server
    finally:
        server.close()


def models_as_the_worker_loads_them(assignment):
    """``{case index: model}`` for each case whose first argument is a model, loaded from the grader's files.

    The files are the ``.keras`` files that ``assignment.prepared_inputs()`` writes
    for the worker (once, for every submission), each loaded once however
    many cases share it.
    """
    import json

    import keras

    folder = assignment.prepared_inputs()
    specs = json.loads((folder / "task.json").read_text())["cases"]
    by_file, by_case = {}, {}
    for index, spec in enumerate(specs):
        first = spec["args"][0] if spec["args"] else {}
        if "model" in first:
            if first["model"] not in by_file:
                by_file[first["model"]] = keras.models.load_model(
                    folder / first["model"], compile=False
                )
            by_case[index] = by_file[first["model"]]
    return by_case


def grade_with(server, assignment, path):
    """:func:`convviz_grade.grading.grade_submission` of ``path`` in a child of ``server``."""
    from convviz_grade import grading

    assert sandbox.bwrap_available(), (
        "these tests grade inside bubblewrap, as convviz-grade does"
    )
    try:
        return grading.grade_submission(
            assignment, path, hide=[REPOSITORY], server=server
        )
    finally:
        server.clear_slot()
