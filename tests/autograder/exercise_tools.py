"""What the tests of one assignment share: notebook runs and their checks.

The exercise tests run the solution notebook with other answers in its
solution cells (:func:`run_answer_sets`) and check that an independently
written correct answer earns full marks and that each usual mistake fails with
the hint that names it (:class:`AnswersInTheNotebook`). The secure-grading
tests grade a fabricated class instead (tests/autograder/fabricated/). The
fixtures that read a module's ``ASSIGNMENT`` are in tests/conftest.py.
"""

from __future__ import annotations

import collections
import copy
from pathlib import Path

import nbformat
import pytest
from convviz_grade import notebook_cells
from convviz_grade.validate import collect_results, execute

REPOSITORY = Path(__file__).resolve().parents[2]


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
    """Execute several notebooks one after the other in one kernel; return each executed
    copy.

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
    """Execute the solution notebook once per set of answers, all in one kernel
    (:func:`execute_in_one_kernel`).

    Args:
        assignment: str, e.g. ``"filters"``.
        answer_sets: list of dicts, each mapping a solution cell's grade_id to
            the source that replaces it (the whole cell, ``def`` line included).
        tmp_path: a folder for the notebook.

    Returns:
        list of ``(results, other_errors)``, one per set: ``results`` maps each graded
        function to its :class:`convviz_grade.validate.FunctionResult`, hidden tests
        included; ``other_errors`` lists the errors of the cells that are not tests.
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


def models_as_the_worker_loads_them(assignment):
    """``{case index: model}`` for each case whose first argument is a model, loaded
    from the grader's files.

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


def released_notebook(assignment):
    """The student copy of ``assignment`` that ``convviz-grade release`` wrote."""
    return REPOSITORY / "exercises" / assignment / f"{assignment}.ipynb"


def names_bound(source):
    """The public names a cell's imports, assignments and definitions bind (its
    IPython magics left out)."""
    import ast

    tree = ast.parse(
        "\n".join(line for line in source.splitlines() if not line.startswith("%"))
    )
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(
                (alias.asname or alias.name).split(".")[0] for alias in node.names
            )
        elif isinstance(node, ast.Assign):
            names.update(
                target.id for target in node.targets if isinstance(target, ast.Name)
            )
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
    return {name for name in names if not name.startswith("_")}


def case_counts(assignment):
    """``{function: (visible cases, hidden cases)}`` of a grading.Assignment."""
    counts = collections.Counter(
        (case.function, case.visible) for case in assignment.cases
    )
    return {
        function: (counts[function, True], counts[function, False])
        for function in assignment.functions
    }


HINT = "hint: your answer is what you get if you {}"
"""How a failed test names a usual mistake (the notebooks' and the grader's)."""


def assert_full_marks(run, functions):
    """The notebook run of correct answers passed everything.

    Args:
        run: ``(results, other_errors)``, one item of :func:`run_answer_sets`.
        functions: the graded functions, in the notebook's order.

    No cell other than a test failed, and each function passed its visible and
    its hidden tests, for 3 points.
    """
    results, other_errors = run
    assert other_errors == []
    assert list(results) == list(functions)
    for name, result in results.items():
        assert result.passed, (name, result.failures)
        assert result.kinds == ["visible", "hidden"], name
        assert result.points == 3, name


def assert_mistakes_named(run, hints, *, named_by="first"):
    """The notebook run of mistaken answers failed each function, naming its mistake.

    Args:
        run: ``(results, other_errors)``, one item of :func:`run_answer_sets`.
        hints: dict, each function to what its mistake did (see :data:`HINT`).
        named_by: which failures must name the hint: ``"first"``, the first
            failure, a visible test's; ``"each"``, each failure, a visible then a
            hidden test's; ``"any"``, at least one failure.

    No cell other than a test failed, and each function of ``hints`` scored 0.
    """
    results, other_errors = run
    assert other_errors == []
    for name, hint in hints.items():
        result = results[name]
        assert not result.passed and result.points == 0, name
        failures = result.failures
        messages = [message for _, message in failures]
        if named_by == "first":
            assert failures[0][0] == "visible", failures
            messages = messages[:1]
        elif named_by == "each":
            assert [kind for kind, _ in failures] == ["visible", "hidden"], failures
        else:
            messages = ["\n".join(messages)]
        for message in messages:
            assert HINT.format(hint) in message, (name, message)


class AnswersInTheNotebook:
    """The notebook's own tests on answers other than the solution's.

    A test module of one exercise subclasses it as ``TestAnswersInTheNotebook``;
    its ``notebook_runs`` fixture (tests/conftest.py) runs the notebook with the
    module's CORRECT, then its MISTAKEN answers. The class attributes say what
    to expect: ``functions``, the graded functions in the notebook's order;
    ``hints``, each function to what its mistake did; ``named_by``, which
    failures name it (see :func:`assert_mistakes_named`).
    """

    functions = hints = None
    named_by = "first"

    @pytest.mark.slow
    def test_an_independent_correct_answer_earns_full_marks(self, notebook_runs):
        assert_full_marks(notebook_runs[0], self.functions)

    @pytest.mark.slow
    def test_the_usual_mistakes_fail_with_their_hint(self, notebook_runs):
        assert_mistakes_named(notebook_runs[1], self.hints, named_by=self.named_by)
