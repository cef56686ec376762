"""The notebooks' hidden tests: the grader's own cases, run in the student's kernel.

Each assignment's hidden tests have one source, ``grading_cases()`` of
``convviz_grade.assignments.<assignment>``. ``convviz-grade autograde`` sends
those cases to its sandboxed worker; the ``hidden_f`` cell of the notebook
(what ``nbgrader autograde`` and ``convviz-grade validate`` run) is the one
line :func:`run_hidden_cases` ``(assignment, "f", f)``, which runs the same
hidden cases of ``f`` here. Both call the function through
:func:`convviz_grade.worker.call_case` and read its result with
:func:`convviz_grade.worker.as_plain_array`, and both judge it with
:func:`convviz_grade.grading.check_outputs`, so the two graders use the same
inputs, expected values and usual-mistake hints.

What differs is only where the inputs come from: the worker gets them from
files (each array a fresh copy, each model loaded anew for every case), this
module passes a copy of each array, a new tensor of each tensor, and the
case's own model object.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import time
import types

import numpy as np

from convviz_grade import grading, notebook_cells, worker

_LOADED = {}  # assignment -> (module, cases): grading_cases() runs once per kernel

TRAINING_LOG = "CONVVIZ_GRADE_TRAINING_LOG"
"""Environment variable: a file to which each probe's training seconds are appended.

``convviz-grade benchmark`` sets it for ``nbgrader autograde``, whose kernels
run the hidden cases here, so that the student's training time (and the
reference's, timed for a time limit) can be reported apart from grading.
"""


def log_training(whose, outputs):
    """Append ``"<whose> <seconds>"`` to the :data:`TRAINING_LOG` file, if set."""
    path = os.environ.get(TRAINING_LOG)
    seconds = grading.training_seconds([outputs])
    if path and seconds:
        with open(path, "a") as log:
            log.write(f"{whose} {seconds:.6f}\n")


def assignment_cases(assignment):
    """``(module, cases)`` of ``convviz_grade.assignments.<assignment>``.

    The cases are made once per process.
    """
    if assignment not in _LOADED:
        module = importlib.import_module(f"convviz_grade.assignments.{assignment}")
        _LOADED[assignment] = module, list(module.grading_cases())
    return _LOADED[assignment]


def hidden_cases(assignment, function_name):
    """The cases of ``function_name`` that the notebook does not show."""
    _, cases = assignment_cases(assignment)
    return [
        case for case in cases if case.function == function_name and not case.visible
    ]


def _argument(value):
    kind = grading.argument_kind(value)
    if kind == "array":
        return value.copy()
    if kind == "tensor":
        import tensorflow as tf

        return tf.constant(np.asarray(value.numpy()))
    if kind == "model":
        return value
    return json.loads(json.dumps(value))  # as the worker gets it: a tuple is a list


def outputs_of(case, function):
    """Call ``function`` on the case's inputs as the worker does.

    Returns:
        dict, the outputs the worker would send back, as
        :func:`convviz_grade.grading.check_outputs` reads them.

    Raises:
        AssertionError: if the result is not a numeric array (None, say).
        Whatever ``function`` raises.
    """
    args = [_argument(value) for value in case.args]
    kwargs = {key: _argument(value) for key, value in case.kwargs.items()}
    probe_kwargs = {key: _argument(value) for key, value in case.probe_kwargs.items()}
    start = time.perf_counter()
    value, params = worker.call_case(
        function, case.call_spec, args, kwargs, probe_kwargs
    )
    seconds = time.perf_counter() - start
    probe = {}
    if case.kind == "probe":
        probe, problem = worker.probe_entries(value)
        if problem:
            raise AssertionError(f"{case.function} (hidden test): {problem}")
        value = probe.pop("value")
        log_training("student", {"probe": probe})
    array, problem = worker.as_plain_array(value)
    if problem:
        raise AssertionError(f"{case.function} (hidden test): {problem}")
    outputs = {
        "value": array,
        "params": None if params is None else np.array(params),
        "args_after": {},
        "probe": probe,
        "seconds": seconds,
    }
    if case.time_limit and case.reference is not None:
        outputs["reference_seconds"] = reference_seconds(case)
    if case.keep_inputs:
        for position, (original, passed) in enumerate(zip(case.args, args)):
            if grading.argument_kind(original) == "array":
                after, _ = worker.as_plain_array(passed)
                outputs["args_after"][position] = (
                    np.zeros(0) if after is None else after
                )
    return outputs


_REFERENCE_SECONDS = {}  # id(case) -> seconds: the reference is timed once per kernel


def reference_seconds(case):
    """The seconds the case's reference function takes on the case, here and now.

    The yardstick of a timed case in the student's kernel (in ``convviz-grade
    autograde`` it is the self-check's time on the same case).
    """
    if id(case) not in _REFERENCE_SECONDS:
        args = [_argument(value) for value in case.args]
        kwargs = {key: _argument(value) for key, value in case.kwargs.items()}
        probe_kwargs = {
            key: _argument(value) for key, value in case.probe_kwargs.items()
        }
        start = time.perf_counter()
        value, _ = worker.call_case(
            case.reference, case.call_spec, args, kwargs, probe_kwargs
        )
        _REFERENCE_SECONDS[id(case)] = time.perf_counter() - start
        if case.kind == "probe":
            log_training("reference", {"probe": worker.probe_entries(value)[0] or {}})
    return _REFERENCE_SECONDS[id(case)]


def run_hidden_cases(assignment, function_name, function):
    """Run the hidden cases of ``function_name`` on ``function``; raise on a failure.

    The body of every ``hidden_f`` cell (see
    :func:`convviz_grade.notebook_cells.hidden_tests_block`).

    Raises:
        AssertionError: with the explanation and, when the answer is what a
            usual mistake gives, the hint that names it.
        NotImplementedError: the function is not written yet.
        ValueError: the assignment has no hidden case of ``function_name``.
    """
    _run_cases(assignment, function_name, function, visible=False)


def run_visible_cases(assignment, function_name, function):
    """Run the visible cases of ``function_name`` on ``function``, as
    :func:`run_hidden_cases` runs the hidden ones.

    For a ``test_f`` cell whose usual mistakes should not be spelled out in the
    notebook: their hints live in the assignment's module and show only when
    the answer is what one of them gives.
    """
    _run_cases(assignment, function_name, function, visible=True)


def course_code_in(function):
    """The name of the course's own code that ``function`` reaches, or None.

    The kernel's counterpart of the worker's import refusal
    (:func:`convviz_grade.worker.refuse_course_modules`): in the student's
    kernel ``convviz_ref`` is importable, so a function that is, wraps or
    imports a reference function would pass there and score what a blank
    one scores in ``convviz-grade``. This follows what ``function`` can call:
    the names its code (and the code nested in it) uses, looked up in its
    globals and closure, recursively through the student's own functions,
    and reports the first that belongs to ``convviz_ref`` or
    ``convviz_grade`` (a module, or an object defined in one). Code that
    builds a module's name at run time is not seen: only the sandbox stops
    that.

    Returns:
        str or None: e.g. ``"convviz_ref.gradcam"``.
    """
    seen = set()
    stack = [function]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, functools.partial):
            stack += [item.func, *item.args, *item.keywords.values()]
            continue
        if isinstance(item, types.ModuleType):
            owner = item.__name__
        else:
            owner = getattr(item, "__module__", None)
        if isinstance(owner, str) and _is_course_module(owner):
            return owner
        code = getattr(item, "__code__", None)
        if not isinstance(code, types.CodeType):
            continue
        names = getattr(item, "__globals__", {})
        for nested in _code_objects(code):
            for name in nested.co_names:
                if _is_course_module(name):
                    return name
                if name in names:
                    stack.append(names[name])
        for cell in getattr(item, "__closure__", None) or ():
            try:
                stack.append(cell.cell_contents)
            except ValueError:  # a cell not filled yet
                pass
    return None


def _is_course_module(name):
    return name.partition(".")[0] in worker.PROTECTED_PACKAGES


def _code_objects(code):
    yield code
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _code_objects(constant)


def _run_cases(assignment, function_name, function, *, visible):
    module, all_cases = assignment_cases(assignment)
    kind = "visible" if visible else "hidden"
    reached = course_code_in(function)
    if reached:
        raise AssertionError(
            f"{function_name} ({kind} test): it uses {reached}, the course's own "
            "code; the grader refuses that and scores it as blank: write it yourself"
        )
    cases = [
        case
        for case in all_cases
        if case.function == function_name and case.visible == visible
    ]
    if not cases:
        raise ValueError(
            f"assignment {assignment} has no {kind} grading case of {function_name}"
        )
    explain_error = getattr(module, "explain_error", lambda case, message: None)
    for case in cases:
        try:
            outputs = outputs_of(case, function)
        except (AssertionError, NotImplementedError):
            raise
        except Exception as error:
            hint = explain_error(
                case, f"{type(error).__name__}: {worker.one_line(error)}"
            )
            if not hint:
                raise
            raise AssertionError(
                f"{function_name} ({kind} test): {type(error).__name__}: {error}\n"
                f"  hint: {hint}"
            ) from None
        grading.check_outputs(case, outputs)
    print(f"{function_name}: {kind} tests passed ({len(cases)} cases)")


def drift(assignment, source_notebook, released_notebook=None):
    """What keeps the notebook from being one with its cases.

    Returns:
        list of str, one problem each (empty when none).


    The rules: the functions with test cells are the functions with cases;
    each has a ``test_f`` and a ``hidden_f`` cell, and visible and hidden
    cases; the hidden block of ``hidden_f`` is exactly
    :func:`convviz_grade.notebook_cells.hidden_tests_block`, and no other
    cell holds hidden tests; the released notebook (what nbgrader's gradebook
    scores) gives each cell the points the grader gives it.
    """
    import nbformat

    notebook = nbformat.read(source_notebook, as_version=4)
    _, cases = assignment_cases(assignment)
    points = notebook_cells.points(notebook)
    problems = []
    with_cases = {case.function for case in cases}
    if set(points) != with_cases:
        problems.append(
            f"functions with test cells {sorted(points)} are not those with cases "
            f"{sorted(with_cases)}"
        )
    for function in points:
        for prefix in notebook_cells.TEST_PREFIXES:
            if f"{prefix}{function}" not in points[function]:
                problems.append(f"{function}: no {prefix}{function} cell")
        for visible in (True, False):
            if not any(
                case.function == function and case.visible == visible for case in cases
            ):
                problems.append(
                    f"{function}: no {'visible' if visible else 'hidden'} case"
                )
    for cell in notebook.cells:
        tested = notebook_cells.function_tested_by(cell)
        if tested is not None and tested[1] == "hidden":
            expected = notebook_cells.hidden_tests_block(assignment, tested[0])
            if notebook_cells.hidden_block_of(cell) != expected:
                problems.append(
                    f"hidden_{tested[0]}: its hidden tests must be exactly\n{expected}"
                )
        elif notebook_cells.has_hidden_tests(cell):
            problems.append(
                "a cell that is no hidden_f cell holds hidden tests: "
                f"{cell.source[:60]!r}"
            )
    if released_notebook is not None:
        released = notebook_cells.points(nbformat.read(released_notebook, as_version=4))
        if released != points:
            problems.append(
                f"the released notebook's points {released} differ from the "
                f"source's {points}"
            )
    return problems
