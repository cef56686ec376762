"""What the tests of one assignment share: notebook runs, graded submissions, checks.

The exercise tests run the solution notebook with other answers in its
solution cells (:func:`run_answer_sets`) and check that an independently
written correct answer earns full marks and that each usual mistake fails with
the hint that names it (:class:`AnswersInTheNotebook`). The secure-grading
tests grade submissions in a sandboxed fork server shared by the module
(:func:`grading_server`, as ``convviz-grade autograde`` shares one per job) and
check the usual ones (:class:`GradedSubmissions`). The fixtures that read a
module's ``ASSIGNMENT`` are in tests/conftest.py.
"""

from __future__ import annotations

import collections
import contextlib
import copy
from pathlib import Path

import nbformat
import pytest
from convviz_grade import notebook_cells, sandbox
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


@contextlib.contextmanager
def grading_server(assignment, slot):
    """A sandboxed fork server for ``assignment``, as ``convviz-grade autograde`` starts
    one per job.

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


def submission(folder, assignment, answers, *, name=None):
    """A copy of ``assignment``'s solution notebook with some solution cells replaced.

    Args:
        folder: where to write it, as ``{name}.ipynb`` (``name`` defaults to
            the assignment's).
        answers: dict, each solution cell's grade_id to the source that
            replaces it (the whole cell, ``def`` line included).

    Returns:
        Path of the notebook.
    """
    notebook = notebook_cells.replace_answers(
        nbformat.read(solution_notebook(assignment), as_version=4), answers
    )
    path = Path(folder) / f"{name or assignment}.ipynb"
    nbformat.write(notebook, path)
    return path


def released_notebook(assignment):
    """The student copy of ``assignment`` that ``convviz-grade release`` wrote."""
    return REPOSITORY / "exercises" / assignment / f"{assignment}.ipynb"


def grade_with(server, assignment, path, *, timeout=None):
    """:func:`convviz_grade.grading.grade_submission` of ``path`` in a child of
    ``server``.

    Prints the score, seconds and worker runs of ``path``. ``timeout`` (seconds)
    replaces convviz-grade's time limit of a worker run when given.

    Returns:
        ``(graded, functions)``: the :class:`convviz_grade.grading.SubmissionGrade`
        and ``{function name: its grade}``, in the assignment's order.
    """
    from convviz_grade import grading

    assert sandbox.bwrap_available(), (
        "these tests grade inside bubblewrap, as convviz-grade does"
    )
    limit = {} if timeout is None else {"timeout": timeout}
    try:
        graded = grading.grade_submission(
            assignment, path, hide=[REPOSITORY], server=server, **limit
        )
    finally:
        server.clear_slot()
    print(
        f"{path.name}: {graded.score}/{graded.max_score} in {graded.seconds:.1f} s,"
        f" {graded.runs} worker run(s)"
    )
    return graded, {function.function: function for function in graded.functions}


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


def assert_full_points(functions, names=None):
    """Each function of a graded submission passed for 3 of 3 points.

    Args:
        functions: ``{name: grade}``, the second item of :func:`grade_with`.
        names: the graded functions in order, when the test checks them too.
    """
    if names is not None:
        assert list(functions) == list(names)
    for function in functions.values():
        assert (function.status, function.score, function.max_score) == (
            "passed",
            3.0,
            3.0,
        ), function.message


def assert_zero_with_hints(functions, hints, *, where="visible"):
    """Each function of ``hints`` failed for 0 points, the first failed case a
    ``where`` ("visible" or "hidden") test whose message names the hint."""
    for name, hint in hints.items():
        function = functions[name]
        assert (function.status, function.score, function.max_score) == (
            "failed",
            0.0,
            3.0,
        ), function
        assert function.message.startswith(f"({where} test)"), function.message
        assert HINT.format(hint) in function.message, function.message


def assert_not_written_yet(functions):
    """Each function failed for 0 points with the release's NotImplementedError."""
    for function in functions.values():
        assert (function.status, function.score) == ("failed", 0.0), function
        assert "NotImplementedError" in function.message, function.message


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


class GradedSubmissions:
    """The secure grader's verdicts on an assignment's usual submissions.

    Each submission is a copy of the solution notebook with other solution
    cells; :func:`grade_with` runs them in the sandboxed worker (bubblewrap,
    the repository hidden) on the cases of the assignment's
    ``grading_cases()``, and the grader compares the outputs with
    ``convviz_ref``'s.

    A test module subclasses it as ``TestGradedSubmissions``; the fixtures
    ``graded_assignment``, ``server`` and ``blank`` (tests/conftest.py) read the
    module's ASSIGNMENT. The class attributes say what to expect:
    ``functions``, the graded functions in order; ``correct`` and ``mistaken``,
    each function to an independently written correct answer and to a usual
    mistake that the visible tests catch; ``hints``, each function to what its
    mistake did. Every function is worth 3 points.
    """

    functions = correct = mistaken = hints = None

    def test_the_solution_earns_full_points(self, graded_assignment, server):
        path = solution_notebook(graded_assignment.name)
        graded, functions = grade_with(server, graded_assignment, path)
        assert_full_points(functions, self.functions)
        assert graded.score == graded.max_score == 3.0 * len(self.functions)
        assert graded.notes == []

    def test_the_independent_correct_answers_earn_full_points(
        self, graded_assignment, server, tmp_path
    ):
        path = submission(tmp_path, graded_assignment.name, self.correct)
        graded, functions = grade_with(server, graded_assignment, path)
        assert_full_points(functions)
        assert graded.score == graded.max_score

    def test_the_usual_mistakes_score_zero_with_their_hint(
        self, graded_assignment, server, tmp_path
    ):
        path = submission(tmp_path, graded_assignment.name, self.mistaken)
        graded, functions = grade_with(server, graded_assignment, path)
        assert_zero_with_hints(functions, self.hints)
        assert graded.score == graded.max_score - 3.0 * len(self.hints)

    def test_the_released_copy_scores_zero_as_not_written_yet(self, blank):
        graded, functions = blank
        assert list(functions) == self.functions
        assert graded.score == 0.0
        assert_not_written_yet(functions)
