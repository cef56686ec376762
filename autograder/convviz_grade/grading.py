"""Grade one submission where student code cannot reach the verdict.

The grader (this process) never runs student code. It

1. takes the submission's solution cells (found by their nbgrader grade ids,
   as in the instructor's source notebook; every other cell is ignored, so
   edited or deleted test cells change nothing);
2. writes them, with the inputs of every test case (arrays, small Keras
   models saved as files), to a private folder;
3. runs :mod:`convviz_grade.worker` there through :mod:`convviz_grade.sandbox`;
   a case or a cell that hangs or kills the worker is marked and skipped, and
   the worker runs again for the rest;
4. reads the outputs back as plain arrays and compares them, here, with what
   :mod:`convviz_ref` gives on the same inputs.

A function earns its points (those of its visible and hidden test cells)
only when every one of its cases matches: a hard-coded answer to the visible
tests earns what a blank function earns.

The cases of assignment ``A`` come from ``grading_cases()`` in
``convviz_grade.assignments.A``, an optional ``explain_error(case, message)``
that turns an error the student's code raised into a hint, and the imports the
student's code may rely on (the notebook's setup cell, minus the course's own
modules) from its ``PRELUDE`` (default ``import numpy as np``).
"""

from __future__ import annotations

import importlib
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from convviz_grade import notebook_cells, sandbox
from convviz_grade.checks import check_unchanged

MAX_RUNS = 12  # worker restarts after hangs or crashes, per submission


@dataclass
class Case:
    """One call of a graded function on inputs the grader chose.

    Attributes:
        function: str, the graded function's name.
        args: tuple of arguments: NumPy arrays, TensorFlow tensors (passed
            to the function as tensors), Keras models, or plain values
            (numbers, strings, None, lists).
        kwargs: dict of keyword arguments, same kinds.
        check: callable taking the outputs dict (``"value"``: the returned
            array; ``"params"``: the parameter count, for ``block`` cases)
            and raising ``AssertionError`` with an explanation on mismatch.
        kind: ``"call"``, ``"block"`` or ``"probe"`` (see the worker).
        seed: int, for a ``block`` case the seed of the weights by kernel
            shape (:func:`convviz_grade.worker.set_weights_by_shape`).
        repeat: int, how many times the function is called, each call after
            the first getting the previous result as argument ``repeat_into``
            (:func:`convviz_grade.worker.call_case`).
        repeat_into: int, that argument's position.
        visible: bool, the case is one of the notebook's visible tests (the
            others are its hidden tests, which the notebook's ``hidden_f``
            cell runs too: :mod:`convviz_grade.cases`).
        keep_inputs: bool, the function must leave its NumPy array arguments
            as they were (the notebook's tests check it too): the worker
            sends them back after the call and the grader compares them
            with its own copies.
        probe: str, for a ``probe`` case the grader's probe
            ``"module:function"`` in ``convviz_grade/probes/``; the outputs
            gain ``"probe"``, the probe's dict of arrays.
        probe_kwargs: dict, the probe's own keyword arguments (same kinds as
            ``args``): hidden data the student's function never receives.
        time_limit: float, when positive the case fails if it takes more than
            ``time_limit`` times what ``reference`` takes on the same case
            on the same machine (outputs ``"seconds"`` and
            ``"reference_seconds"``).
        reference: the reference function, timed for ``time_limit``.
    """

    function: str
    args: tuple
    check: Callable[[dict], None]
    kwargs: dict = field(default_factory=dict)
    kind: str = "call"
    seed: int = 0
    repeat: int = 1
    repeat_into: int = 0
    visible: bool = False
    keep_inputs: bool = False
    probe: str = ""
    probe_kwargs: dict = field(default_factory=dict)
    time_limit: float = 0.0
    reference: Callable | None = None

    @property
    def call_spec(self):
        """How the worker calls the function.

        Returns:
            dict, the options of :func:`convviz_grade.worker.call_case`.
        """
        spec = {
            "kind": self.kind,
            "seed": self.seed,
            "repeat": self.repeat,
            "repeat_into": self.repeat_into,
        }
        if self.kind == "probe":
            spec["probe"] = self.probe
        return spec


def argument_kind(value):
    """How a case's argument travels to the worker.

    Returns:
        str: ``"array"``, ``"tensor"``, ``"model"`` or ``"value"``.

    A TensorFlow tensor is sent as its array and given back to the function
    as a tensor (code written for a tensor, such as ``tape.watch(image)``,
    fails on an ndarray); a Keras model is sent as a ``.keras`` file; a plain
    value (number, string, None, list) as JSON.
    """
    if isinstance(value, np.ndarray):
        return "array"
    if (
        hasattr(value, "numpy")
        and hasattr(value, "dtype")
        and not hasattr(value, "layers")
    ):
        return "tensor"
    if hasattr(value, "save") and hasattr(value, "layers"):
        return "model"
    return "value"


@dataclass
class FunctionGrade:
    """The verdict on one graded function."""

    function: str
    score: float
    max_score: float
    # "passed", "failed", "ungraded" (the grader could not grade it) or "missing"
    # (nothing was submitted).
    status: str
    message: str = ""


@dataclass
class SubmissionGrade:
    """The verdict on one submission: a :class:`FunctionGrade` per graded function.

    ``score`` and ``max_score`` are the sums over ``functions``; ``runs`` counts the
    worker's runs, ``seconds`` the whole grading's time, ``notes`` what went wrong
    outside the cases (a cell that failed, a crash outside student code).
    """

    student: str
    assignment: str
    notebook: str
    functions: list
    runs: int = 0
    seconds: float = 0.0
    notes: list = field(default_factory=list)
    # From asking for a run to the worker's first line, summed over runs.
    startup_seconds: float = 0.0
    # From that first line to the worker's last: the cells and the cases.
    code_seconds: float = 0.0
    # Each case's seconds in the worker, by case id ("c0", ...), of the cases that ran.
    case_seconds: dict = field(default_factory=dict)
    # Seconds the probes spent training the student's models (their "train_seconds").
    train_seconds: float = 0.0

    @property
    def score(self):
        return sum(grade.score for grade in self.functions)

    @property
    def max_score(self):
        return sum(grade.max_score for grade in self.functions)


class Assignment:
    """What the grader knows of one assignment: its cells, points and cases."""

    def __init__(self, name, source_notebook):
        import nbformat

        self.name = name
        self.source_notebook = Path(source_notebook)
        notebook = nbformat.read(self.source_notebook, as_version=4)
        self.solution_ids = notebook_cells.answer_cell_ids(notebook)
        self.points = notebook_cells.points(notebook)
        self.written = notebook_cells.written_points(notebook)  # graded by hand
        module = importlib.import_module(f"convviz_grade.assignments.{name}")
        self.cases = list(module.grading_cases())
        self.prelude = getattr(module, "PRELUDE", "import numpy as np\n")
        # explain_error(case, message) -> a hint for an error student code raised,
        # or None.
        self.explain_error = getattr(
            module, "explain_error", lambda case, message: None
        )
        missing = set(self.points) - {case.function for case in self.cases}
        if missing:
            raise ValueError(
                f"assignment {name}: no grading cases for {sorted(missing)}"
            )
        self._inputs_folder = None
        # The reference solution's seconds per case id, from the self-check: what
        # a timed case's limit is a multiple of (Case.time_limit).
        self.reference_seconds = {}

    @property
    def functions(self):
        return list(self.points)

    @property
    def preload(self):
        """The modules a fork server imports beforehand.

        Returns:
            list of str: ``["keras", "tensorflow"]`` if a case needs them, else
            empty.
        """

        def needs_keras(value):
            return argument_kind(value) in ("tensor", "model")

        if any(
            case.kind in ("block", "probe")
            or any(
                needs_keras(value)
                for value in [
                    *case.args,
                    *case.kwargs.values(),
                    *case.probe_kwargs.values(),
                ]
            )
            for case in self.cases
        ):
            return ["keras", "tensorflow"]
        return []

    def max_score(self, function):
        return sum(self.points[function].values())

    def write_inputs(self, folder):
        """Write task.json, inputs.npz and the model files into ``folder``."""
        arrays, models, task = {}, {}, []

        def encode(value):
            kind = argument_kind(value)
            if kind == "array":
                name = f"a{len(arrays)}"
                arrays[name] = value
                return {"array": name}
            if kind == "tensor":
                name = f"a{len(arrays)}"
                arrays[name] = np.asarray(value.numpy())
                return {"array": name, "tensor": True}
            if kind == "model":
                key = id(value)
                if key not in models:
                    models[key] = (f"model{len(models)}.keras", value)
                return {"model": models[key][0]}
            return {"value": value}

        for index, case in enumerate(self.cases):
            task.append(
                {
                    "id": f"c{index}",
                    "function": case.function,
                    **case.call_spec,
                    "keep_inputs": case.keep_inputs,
                    "args": [encode(value) for value in case.args],
                    "kwargs": {
                        key: encode(value) for key, value in case.kwargs.items()
                    },
                    "probe_kwargs": {
                        key: encode(value) for key, value in case.probe_kwargs.items()
                    },
                }
            )
        folder = Path(folder)
        np.savez(folder / "inputs.npz", **arrays)
        for filename, model in models.values():
            model.save(folder / filename)
        (folder / "task.json").write_text(json.dumps({"cases": task}))

    def prepared_inputs(self):
        """A folder holding the inputs, written once and copied for each submission."""
        if self._inputs_folder is None:
            import shutil
            import weakref

            self._inputs_folder = Path(
                tempfile.mkdtemp(prefix=f"convviz-{self.name}-inputs-")
            )
            weakref.finalize(
                self, shutil.rmtree, self._inputs_folder, ignore_errors=True
            )  # gone with self
            self.write_inputs(self._inputs_folder)
        return self._inputs_folder


def solution_cells(notebook_path, solution_ids):
    """The sources of the submission's solution cells, in notebook order.

    Returns:
        dict {grade id: source}.
    """
    import nbformat

    return notebook_cells.answer_cells(
        nbformat.read(notebook_path, as_version=4), solution_ids
    )


def read_results(folder):
    lines = []
    path = Path(folder) / "results.jsonl"
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                pass  # a line cut short by a kill
    return lines


def _culprit(lines):
    """What was running when the worker stopped: ("cell", n), ("case", id) or None."""
    running = None
    for line in lines:
        if line["status"] == "loading":
            running = ("cell", line["cell"])
        elif line["status"] == "loaded":
            running = None
        elif line["status"] == "started":
            running = ("case", line["id"])
        elif line["id"] is not None and running == ("case", line["id"]):
            running = None
    return running


def run_submission(
    assignment, cells, *, work_root, hide, isolation, timeout, memory_bytes, server=None
):
    """Run the worker until every case has a result.

    With a :class:`~convviz_grade.sandbox.ForkServer`, each run is a child
    forked by it (the libraries already imported); without one, or if it
    cannot start, each run is a new sandboxed Python
    (:func:`~convviz_grade.sandbox.run_worker`). At most :data:`MAX_RUNS` runs.

    Returns:
        tuple ``(verdicts, outputs, runs, notes, timing)``: ``verdicts`` {case id:
        the worker's result line, or the grader's own for a fault or a skipped
        case}; ``outputs`` {case id: {"value", "params", "args_after"}} for the
        cases that ran ("ok"); ``runs`` int; ``notes`` list of str; ``timing``
        {"startup": seconds, "code": seconds} summed over runs.
    """
    import shutil

    folder = Path(
        tempfile.mkdtemp(prefix="submission-", dir=server.slot if server else work_root)
    )
    shutil.copytree(assignment.prepared_inputs(), folder, dirs_exist_ok=True)
    (folder / "student.json").write_text(
        json.dumps({"prelude": assignment.prelude, "cells": cells})
    )
    skip = {"cases": [], "cells": []}
    verdicts, notes, runs = {}, [], 0
    timing = {"startup": 0.0, "code": 0.0}
    while runs < MAX_RUNS:
        runs += 1
        (folder / "skip.json").write_text(json.dumps(skip))
        asked, earlier = time.time(), len(read_results(folder))
        run = None
        if server is not None and server.usable:
            run = server.run(folder, timeout=timeout, memory_bytes=memory_bytes)
        if run is None:
            run = sandbox.run_worker(
                folder,
                hide=hide,
                isolation=isolation,
                timeout=timeout,
                memory_bytes=memory_bytes,
            )
        lines = read_results(folder)
        stamps = [line["time"] for line in lines[earlier:] if "time" in line]
        if stamps:
            timing["startup"] += max(0.0, stamps[0] - asked)
            timing["code"] += stamps[-1] - stamps[0]
        for line in lines:
            if line["id"] is not None and line["status"] not in ("started",):
                verdicts.setdefault(line["id"], line)
            elif line["status"] == "cell-error" and line["message"] not in notes:
                notes.append(line["message"])
        if run.returncode == 0 and lines and lines[-1]["status"] == "finished":
            break
        culprit = _culprit(lines)
        why = f"timed out after {timeout:g} s" if run.timed_out else _death(run)
        if culprit is None:
            notes.append(
                f"the grading process failed ({why}) outside student code: "
                f"{run.log[-300:]}"
            )
            break
        if culprit[0] == "cell":
            notes.append(f"solution cell {culprit[1]} {why} while it ran")
            skip["cells"].append(culprit[1])
        else:
            verdicts[culprit[1]] = {"id": culprit[1], "status": "fault", "message": why}
            skip["cases"].append(culprit[1])
            # The function has failed: its other cases cannot change that, and
            # each could hang again.
            function = assignment.cases[int(culprit[1][1:])].function
            for index, case in enumerate(assignment.cases):
                case_id = f"c{index}"
                if case.function == function and case_id not in verdicts:
                    verdicts[case_id] = {
                        "id": case_id,
                        "status": "skipped",
                        "message": f"not run: another case of {function} {why}",
                    }
                    skip["cases"].append(case_id)
        # Results of the earlier run are kept; the next run starts where it stopped.
    started = {
        line["id"]: line["time"]
        for line in read_results(folder)
        if line["status"] == "started" and "time" in line
    }
    outputs = {}
    for case_id, verdict in verdicts.items():
        if verdict["status"] == "ok":
            try:
                value = np.load(
                    folder / "outputs" / f"{case_id}.npy", allow_pickle=False
                )
                params_path = folder / "outputs" / f"{case_id}.params.npy"
                params = (
                    np.load(params_path, allow_pickle=False)
                    if params_path.exists()
                    else None
                )
                args_after = {
                    int(path.name.split(".arg")[1].split(".")[0]): np.load(
                        path, allow_pickle=False
                    )
                    for path in (folder / "outputs").glob(f"{case_id}.arg*.npy")
                }
                probe = {
                    path.name.split(".probe.")[1][: -len(".npy")]: np.load(
                        path, allow_pickle=False
                    )
                    for path in (folder / "outputs").glob(f"{case_id}.probe.*.npy")
                }
                outputs[case_id] = {
                    "value": value,
                    "params": params,
                    "args_after": args_after,
                    "probe": probe,
                    "seconds": verdict["time"] - started.get(case_id, verdict["time"]),
                }
            except (OSError, ValueError) as error:
                verdicts[case_id] = {
                    "id": case_id,
                    "status": "malformed",
                    "message": f"unreadable output ({error})",
                }
    shutil.rmtree(folder, ignore_errors=True)
    # The worker's log (sandbox.run_worker).
    (folder.parent / f"{folder.name}.log").unlink(missing_ok=True)
    return verdicts, outputs, runs, notes, timing


def _death(run):
    if run.returncode is not None and run.returncode < 0:
        import signal

        return f"was killed by {signal.Signals(-run.returncode).name}"
    return f"stopped with exit code {run.returncode} (os._exit, sys.exit or a crash)"


def check_inputs_kept(case, args_after):
    """Raise AssertionError if the function changed one of its NumPy array arguments.

    ``args_after`` maps an argument's position to its value after the call, as
    the worker sent it back; the original is the grader's own ``case.args``.
    """
    for position, value in enumerate(case.args):
        if isinstance(value, np.ndarray):
            if position not in args_after:
                raise AssertionError(
                    f"{case.function}: the worker did not send back argument {position}"
                )
            check_unchanged(case.function, value, args_after[position])


def check_outputs(case, outputs):
    """Raise AssertionError, with the explanation, unless ``outputs`` pass the checks.

    ``outputs``: ``{"value": array, "params": array or None, "args_after":
    {position: array}, "probe": {name: array}, "seconds": float,
    "reference_seconds": float (timed cases)}``, what the worker sent back (or what
    :func:`convviz_grade.cases.outputs_of` gives in the student's kernel).
    """
    if case.keep_inputs:
        check_inputs_kept(case, outputs["args_after"])
    check_time(case, outputs)
    case.check(outputs)


TIME_SLACK = 2.0  # seconds added to a time limit: start-up noise on a short case


def check_time(case, outputs):
    """Raise AssertionError if a timed case took longer than its limit.

    The limit is ``case.time_limit`` times ``outputs["reference_seconds"]``
    (the reference's time on the same case and machine) plus
    :data:`TIME_SLACK`; a case without a limit, or without the reference's
    time, is not judged on time.
    """
    reference = outputs.get("reference_seconds")
    if not case.time_limit or reference is None or "seconds" not in outputs:
        return
    limit = case.time_limit * reference + TIME_SLACK
    if outputs["seconds"] > limit:
        raise AssertionError(
            f"{case.function}: took {outputs['seconds']:.1f} s, more than "
            f"{case.time_limit:g} x the reference's {reference:.1f} s "
            f"(+{TIME_SLACK:g} s) on the same case"
        )


def score_functions(assignment, verdicts, outputs, notes):
    """Compare each case's output with the reference; one verdict per function."""
    grades = []
    for function in assignment.functions:
        message, ungraded = "", False
        cases = [
            (index, case)
            for index, case in enumerate(assignment.cases)
            if case.function == function
        ]
        # Explain visible failures first, and a fault before the cases skipped
        # because of it.
        cases.sort(
            key=lambda item: (
                verdicts.get(f"c{item[0]}", {}).get("status") == "skipped",
                not item[1].visible,
            )
        )
        for index, case in cases:
            case_id = f"c{index}"
            verdict = verdicts.get(case_id)
            label = "visible test" if case.visible else "hidden test"
            if (
                verdict is None
            ):  # the worker never reached it: a failure of ours, not a zero
                ungraded = True
                message = (
                    f"{function}: could not be graded (the grading process failed)"
                )
                break
            if verdict["status"] == "missing":
                message = (
                    f"{function}: not found (was its solution cell deleted or renamed?)"
                )
                break
            if verdict["status"] != "ok":
                message = (
                    f"{function} ({label}): {verdict['status']}: {verdict['message']}"
                )
                hint = (
                    assignment.explain_error(case, verdict["message"])
                    if verdict["status"] == "error"
                    else None
                )
                if hint:
                    message += f"\n  hint: {hint}"
                break
            output = outputs[case_id]
            if case_id in assignment.reference_seconds:
                output = dict(
                    output, reference_seconds=assignment.reference_seconds[case_id]
                )
            try:
                check_outputs(case, output)
            except AssertionError as error:
                message = f"({label}) {error}"
                break
        passed = not message
        if not passed and notes:
            message += "\n" + "\n".join(notes)
        grades.append(
            FunctionGrade(
                function=function,
                score=assignment.max_score(function) if passed else 0.0,
                max_score=assignment.max_score(function),
                status="passed" if passed else ("ungraded" if ungraded else "failed"),
                message=message,
            )
        )
    return grades


def grade_submission(
    assignment,
    notebook_path,
    *,
    student="student",
    work_root=None,
    hide=(),
    isolation="bwrap",
    timeout=60.0,
    memory_bytes=4 * 2**30,
    server=None,
):
    """Grade one submitted notebook; return a :class:`SubmissionGrade`.

    ``server``: a :class:`~convviz_grade.sandbox.ForkServer` of this
    assignment to run the worker in (None: a new process per run).
    """
    start = time.perf_counter()
    notebook_path = Path(notebook_path)
    try:
        cells = solution_cells(notebook_path, assignment.solution_ids)
    except Exception as error:  # not JSON, not a notebook
        message = (
            "the notebook could not be read: "
            f"{type(error).__name__}: {str(error)[:200]}"
        )
        return zero_grade(
            assignment,
            student,
            "ungraded",
            message,
            notebook=notebook_path.stem,
            seconds=time.perf_counter() - start,
        )
    verdicts, outputs, runs, notes, timing = run_submission(
        assignment,
        cells,
        work_root=work_root,
        hide=hide,
        isolation=isolation,
        timeout=timeout,
        memory_bytes=memory_bytes,
        server=server,
    )
    functions = score_functions(assignment, verdicts, outputs, notes)
    return SubmissionGrade(
        student,
        assignment.name,
        notebook_path.stem,
        functions,
        runs,
        time.perf_counter() - start,
        notes,
        timing["startup"],
        timing["code"],
        {case_id: output["seconds"] for case_id, output in outputs.items()},
        training_seconds(outputs.values()),
    )


TRAIN_SECONDS = "train_seconds"
"""The probe entry that says how long the probe trained the student's model."""


def training_seconds(outputs):
    """The seconds the probes of ``outputs`` spent training, summed.

    Args:
        outputs: iterable of a case's outputs dicts (with ``"probe"``).
    """
    return float(
        sum(
            float(np.sum(output.get("probe", {}).get(TRAIN_SECONDS, 0.0)))
            for output in outputs
        )
    )


def zero_grade(
    assignment, student, status, message, note=None, *, notebook=None, seconds=0.0
):
    """A :class:`SubmissionGrade` in which every function scores 0 with one verdict.

    Args:
        assignment: the :class:`Assignment`.
        student: str.
        status: str, every function's status (``"missing"``, ``"ungraded"``).
        message: str, every function's message.
        note: str, the submission's one note (default: ``message``).
        notebook: str, the notebook's name (default: the assignment's).
        seconds: float, the time spent.
    """
    functions = [
        FunctionGrade(function, 0.0, assignment.max_score(function), status, message)
        for function in assignment.functions
    ]
    return SubmissionGrade(
        student,
        assignment.name,
        assignment.name if notebook is None else notebook,
        functions,
        seconds=seconds,
        notes=[message if note is None else note],
    )


def grade_task(assignment, notebook, student, options):
    """Grade one notebook, or none; never raise: the unit of work of a class's grading.

    Runs in a thread of ``convviz-grade autograde`` or as a Dask task
    (:mod:`convviz_grade.cluster`), and only returns data.

    Args:
        assignment: the :class:`Assignment`.
        notebook: path of the student's notebook, or None when nothing was submitted.
        student: str.
        options: dict of :func:`grade_submission`'s keyword arguments.

    Returns:
        :class:`SubmissionGrade`: every function "missing" when ``notebook`` is None,
        every function "ungraded" when the grader itself failed.
    """
    if notebook is None:
        return zero_grade(
            assignment, student, "missing", "no notebook was submitted", "no submission"
        )
    try:
        return grade_submission(assignment, notebook, student=student, **options)
    except Exception as error:
        message = f"the grader failed: {type(error).__name__}: {str(error)[:300]}"
        return zero_grade(assignment, student, "ungraded", message)
