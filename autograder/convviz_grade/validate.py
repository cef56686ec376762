"""``convviz-grade validate NOTEBOOK``: run a notebook's tests, report per function.

What a student runs before submitting. The notebook runs top to bottom in a
fresh kernel (the file is not modified); every test cell's result is then
reported under the function it tests. The exit code is 1 when a test fails
or the notebook cannot run, so the command can gate a submission
(``nbgrader validate`` exits 0 even then).

Test cells follow the course's naming rule (:mod:`convviz_grade.notebook_cells`):
the visible tests of function ``f`` have the nbgrader grade id ``test_f``, its
hidden tests ``hidden_f`` (in the students' copy that cell holds no tests; the
grader restores them).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from convviz_grade.notebook_cells import function_tested_by, has_hidden_tests


@dataclass
class FunctionResult:
    """The tests of one graded function."""

    name: str
    kinds: list = field(default_factory=list)  # "visible", "hidden" (those that ran)
    failures: list = field(default_factory=list)  # (kind, message)
    points: float = 0.0

    @property
    def passed(self):
        return not self.failures


def _error_text(cell):
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            name, value = output.get("ename", "Error"), output.get("evalue", "")
            if name == "NotImplementedError":
                return "not written yet (the function still raises NotImplementedError)"
            return f"{name}: {value}" if name != "AssertionError" else value
    return None


KERNEL_PORT_RACE = "Kernel died before replying to kernel_info"
"""How nbclient reports a kernel that exited before it answered.

A kernel that lost the race for its ports exits so: jupyter_client chooses a
new kernel's ports by binding port 0 and closing it; the kernel binds them a
moment later. A kernel that another process starts at that moment (a second
validation, a test worker) can take one of them first, and this kernel then
exits (jupyter_client issue 487).
"""


def execute(notebook_path, *, timeout=300):
    """Run a copy of the notebook in a fresh kernel; return the executed copy.

    The kernel's own stderr (not its cells' output, which comes back in the
    notebook) goes to /dev/null: it holds TensorFlow's start-up lines and
    the kernel's connection notices, which say nothing about the submission.
    A kernel that dies before its first reply (:data:`KERNEL_PORT_RACE`) is
    started once more; any other failure, or a second such death, is raised.
    """
    try:
        return execute_once(notebook_path, timeout=timeout)
    except RuntimeError as error:
        if KERNEL_PORT_RACE not in str(error):
            raise
    return execute_once(notebook_path, timeout=timeout)


def execute_once(notebook_path, *, timeout=300):
    """:func:`execute` without the second start."""
    import subprocess

    import nbclient
    import nbformat

    notebook = nbformat.read(notebook_path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=timeout,
        allow_errors=True,
        kernel_name="python3",
        resources={"metadata": {"path": str(Path(notebook_path).resolve().parent)}},
    )
    client.execute(stderr=subprocess.DEVNULL)
    return notebook


def collect_results(notebook):
    """Per graded function, the result of its test cells, in notebook order.

    Returns:
        (list of FunctionResult, list of str): the functions, and the errors
        of cells that are not tests (numbered from 1, as JupyterLab does).
    """
    results, other_errors = {}, []
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        meta = cell.metadata.get("nbgrader", {})
        parsed = function_tested_by(cell)
        error = _error_text(cell)
        if parsed is None:
            if error:
                other_errors.append(f"cell {number}: {error.splitlines()[0]}")
            continue
        function, kind = parsed
        result = results.setdefault(function, FunctionResult(function))
        if kind == "hidden" and not has_hidden_tests(cell):
            continue  # the students' copy: the hidden tests run at grading
        result.kinds.append(kind)
        if error:
            result.failures.append((kind, error))
        else:
            result.points += float(meta.get("points", 0))
    return list(results.values()), other_errors


def report(notebook_path, results, other_errors, stream):
    """Print one status line per function, details indented below it."""
    print(f"Validating {notebook_path}", file=stream)
    width = max([len(result.name) for result in results] + [8])
    for result in results:
        kinds = " + ".join(result.kinds) or "no"
        status = "PASSED" if result.passed else "FAILED"
        print(f"  {result.name:<{width}}  {status}  ({kinds} tests)", file=stream)
        for _kind, message in result.failures:
            for line in message.splitlines():
                print(f"      {line}", file=stream)
    for error in other_errors:
        print(f"  ERROR  {error}", file=stream)
    failed = sum(not result.passed for result in results)
    print(
        f"{len(results)} functions: {len(results) - failed} passed, {failed} failed"
        + (f"; {len(other_errors)} other cells raised errors" if other_errors else ""),
        file=stream,
    )


def validate(notebook_path, *, timeout=300, stream=None):
    """Run and report.

    Returns:
        int, the exit code: 0 when every test passed, 1 otherwise, 2 when
        ``notebook_path`` is no notebook file.
    """
    stream = stream or sys.stdout
    path = Path(notebook_path)
    if not path.is_file() or path.suffix != ".ipynb":
        print(f"error: {notebook_path} is not a notebook file (.ipynb)", file=stream)
        return 2
    try:
        notebook = execute(path, timeout=timeout)
    except Exception as error:  # kernel died, cell timeout, unreadable JSON
        first_line = (str(error).strip().splitlines() or [""])[0]
        print(
            f"Validating {notebook_path}\n  ERROR  the notebook could not run: "
            f"{type(error).__name__}: {first_line}",
            file=stream,
        )
        return 1
    results, other_errors = collect_results(notebook)
    report(notebook_path, results, other_errors, stream)
    if not results:
        print(
            "  ERROR  no test cells found: is this a convviz exercise notebook?",
            file=stream,
        )
        return 1
    return 0 if all(result.passed for result in results) and not other_errors else 1
