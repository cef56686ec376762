"""``convviz-grade benchmark``: grading throughput, measured side by side in one run.

A generated class of ``students`` submissions of one assignment (correct,
blank, wrong and faulty in turn) is graded four times in fresh course
folders: by nbgrader's own ``autograde`` (every notebook executed, tests in
the kernel), then by ``convviz-grade autograde`` with ``--jobs 1`` and a new
sandboxed Python per run (``--no-fork-server``), with ``--jobs 1`` and with
``--jobs 2`` (a fork server per job). It prints submissions per minute for
each, the median seconds a submission spends starting up and in student
code, and the ratios.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from convviz_grade import notebook_cells
from convviz_grade.release import default_course_dir, nbgrader_environment

KINDS = ("correct", "blank", "wrong", "faulty")
PROCESS_PER_RUN = "convviz-grade --jobs 1 --no-fork-server"


def _first_parameter(source):
    match = re.search(r"def\s+\w+\s*\(\s*(\w+)", source)
    return match.group(1) if match else "None"


def make_submission(kind, source_notebook, released_notebook):
    """A submission of the given kind, one of :data:`KINDS`.

    ``"correct"``: the solution; ``"blank"``: the released notebook; ``"wrong"``:
    every answer returns its first argument; ``"faulty"``: no answer compiles.

    Returns:
        nbformat.NotebookNode.
    """
    if kind == "correct":
        return nbformat.read(source_notebook, as_version=4)
    if kind == "blank":
        return nbformat.read(released_notebook, as_version=4)
    notebook = nbformat.read(source_notebook, as_version=4)
    for cell in notebook.cells:
        if not notebook_cells.is_answer_cell(cell):
            continue
        definition = re.search(r"^def .*?:\s*$", cell.source, re.MULTILINE | re.DOTALL)
        header = cell.source[: definition.end()] if definition else "def f():"
        if kind == "wrong":  # returns its first argument: wrong shape or value
            cell.source = f"{header}\n    return {_first_parameter(cell.source)}\n"
        else:  # faulty: the cell does not even compile
            cell.source = f"{header}\n    return (\n"
    return notebook


def make_course(root, assignment, students):
    """A course folder with our configuration, the assignment and a class.

    The class is ``students`` submissions, of each of :data:`KINDS` in turn.

    Returns:
        Path, the course folder ``root``.
    """
    root = Path(root)
    root.mkdir(parents=True)
    repository = default_course_dir()
    (root / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"load_subconfig({str(repository / 'autograder' / 'nbgrader_config.py')!r})\n"
        f"c.CourseDirectory.root = {str(root)!r}\n"
    )
    shutil.copytree(
        repository / "solutions" / assignment, root / "solutions" / assignment
    )
    source = root / "solutions" / assignment / f"{assignment}.ipynb"
    released = repository / "exercises" / assignment / f"{assignment}.ipynb"
    for index in range(students):
        kind = KINDS[index % len(KINDS)]
        folder = (
            root / "grading" / "submitted" / f"student{index:03d}_{kind}" / assignment
        )
        folder.mkdir(parents=True)
        nbformat.write(
            make_submission(kind, source, released), folder / f"{assignment}.ipynb"
        )
    return root


def _nbgrader(root, *args):
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}"],
        cwd=root,
        env=nbgrader_environment(),
        capture_output=True,
        text=True,
    )


def time_nbgrader(root, assignment):
    result = _nbgrader(root, "generate_assignment", assignment, "--force")
    if result.returncode:
        raise RuntimeError(result.stderr[-2000:])
    start = time.perf_counter()
    result = _nbgrader(root, "autograde", assignment, "--create", "--force")
    seconds = time.perf_counter() - start
    if result.returncode:
        raise RuntimeError(f"nbgrader autograde failed:\n{result.stderr[-2000:]}")
    return seconds


def time_convviz(root, assignment, jobs, fork_server=True):
    """Grade the class with ``convviz-grade autograde``.

    Returns:
        tuple of floats ``(seconds, startup, code)``: the seconds to grade the
        class, and the median seconds per submission starting up and in student
        code.
    """
    import json
    import statistics

    from convviz_grade.autograde import RESULTS_FILE, autograde

    start = time.perf_counter()
    autograde(
        assignment,
        Path(root) / "grading" / "submitted",
        course_dir=root,
        jobs=jobs,
        fork_server=fork_server,
        progress=False,
        stream=io.StringIO(),
    )
    seconds = time.perf_counter() - start
    results = [
        json.loads(path.read_text())
        for path in (Path(root) / "grading" / "autograded").glob(
            f"*/{assignment}/{RESULTS_FILE}"
        )
    ]
    startup = statistics.median(result["startup_seconds"] for result in results)
    code = statistics.median(result["code_seconds"] for result in results)
    return seconds, startup, code


def run(assignment="gradcam", students=40, stream=None):
    """Grade one generated class four ways, in one run; print the throughputs.

    Prints submissions per minute for each way and the ratios between them.

    Returns:
        dict {label: seconds to grade the class}.
    """
    stream = stream or sys.stdout
    work = Path(tempfile.mkdtemp(prefix="convviz-benchmark-"))
    timings, split = {}, {}
    try:
        for label, grade in [
            (
                "nbgrader autograde",
                lambda root: (time_nbgrader(root, assignment), None, None),
            ),
            (
                PROCESS_PER_RUN,
                lambda root: time_convviz(root, assignment, 1, fork_server=False),
            ),
            ("convviz-grade --jobs 1", lambda root: time_convviz(root, assignment, 1)),
            ("convviz-grade --jobs 2", lambda root: time_convviz(root, assignment, 2)),
        ]:
            root = make_course(work / re.sub(r"\W+", "_", label), assignment, students)
            timings[label], *split[label] = grade(root)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"Grading {students} submissions of '{assignment}' "
        f"({', '.join(KINDS)} in turn), one run:",
        file=stream,
    )
    for label, seconds in timings.items():
        line = (
            f"  {label:<42} {seconds:7.1f} s  "
            f"{60 * students / seconds:7.1f} submissions/min"
        )
        startup, code = split[label]
        if startup is not None:
            line += (
                f"   per submission (median): {startup:.2f} s starting up, "
                f"{code:.2f} s in student code"
            )
        print(line, file=stream)
    jobs1, jobs2 = timings["convviz-grade --jobs 1"], timings["convviz-grade --jobs 2"]
    print(
        f"  --jobs 1 vs nbgrader: {timings['nbgrader autograde'] / jobs1:.2f}x   "
        f"fork server vs a process per run: {timings[PROCESS_PER_RUN] / jobs1:.2f}x   "
        f"--jobs 2 vs --jobs 1: {jobs1 / jobs2:.2f}x",
        file=stream,
    )
    return timings
