"""``convviz-grade benchmark``: grading throughput, measured side by side in one run.

A generated class of ``students`` submissions of one assignment (correct,
blank, wrong and faulty in turn) is graded four times in fresh course
folders: by nbgrader's own ``autograde`` (every notebook executed, tests in
the kernel), then by ``convviz-grade autograde`` with ``--jobs 1`` and a new
sandboxed Python per run (``--no-fork-server``), with ``--jobs 1`` and with
``--jobs 2`` (a fork server per job). It prints submissions per minute for
each, the median seconds a submission spends starting up and in student
code, and the ratios.

Tasks graded on behaviour train the student's model inside the grading (a
probe's ``train_seconds``). Those seconds are the same work on both sides and
would hide the grader's own cost, so the ratios are given twice: overall, and
with the seconds spent training the students' models subtracted from each
side (they are printed too; so is the time ``nbgrader autograde``'s kernels
spend timing the reference for a time limit, which stays in its figure).
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


def _nbgrader(root, *args, environment=None):
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}"],
        cwd=root,
        env={**nbgrader_environment(), **(environment or {})},
        capture_output=True,
        text=True,
    )


def read_training_log(path):
    """``{whose: seconds}``, summed from a training log (cases.TRAINING_LOG)."""
    totals = {"student": 0.0, "reference": 0.0}
    if Path(path).exists():
        for line in Path(path).read_text().splitlines():
            whose, _, seconds = line.partition(" ")
            totals[whose] = totals.get(whose, 0.0) + float(seconds)
    return totals


def time_nbgrader(root, assignment):
    """Grade the class with ``nbgrader autograde``.

    Returns:
        dict: ``seconds`` to grade the class, ``training`` the seconds the
        kernels spent training students' models, ``reference_training`` those
        spent training the reference for a time limit.
    """
    from convviz_grade.cases import TRAINING_LOG

    result = _nbgrader(root, "generate_assignment", assignment, "--force")
    if result.returncode:
        raise RuntimeError(result.stderr[-2000:])
    log = Path(root) / "training.log"
    start = time.perf_counter()
    result = _nbgrader(
        root,
        "autograde",
        assignment,
        "--create",
        "--force",
        environment={TRAINING_LOG: str(log)},
    )
    seconds = time.perf_counter() - start
    if result.returncode:
        raise RuntimeError(f"nbgrader autograde failed:\n{result.stderr[-2000:]}")
    training = read_training_log(log)
    return {
        "seconds": seconds,
        "training": training["student"],
        "reference_training": training["reference"],
    }


def time_convviz(root, assignment, jobs, fork_server=True):
    """Grade the class with ``convviz-grade autograde``.

    Returns:
        dict: ``seconds`` to grade the class; ``startup`` and ``code``, the
        median seconds per submission starting up and in student code;
        ``training``, the seconds the probes spent training students' models.
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
    return {
        "seconds": seconds,
        "startup": statistics.median(result["startup_seconds"] for result in results),
        "code": statistics.median(result["code_seconds"] for result in results),
        "training": sum(result.get("train_seconds", 0.0) for result in results),
    }


def run(assignment="gradcam", students=40, stream=None):
    """Grade one generated class four ways, in one run; print the throughputs.

    Prints submissions per minute for each way and the ratios between them,
    overall and with the students' training seconds left out of both sides.

    Returns:
        dict {label: the timing dict of :func:`time_nbgrader` or
        :func:`time_convviz`}.
    """
    stream = stream or sys.stdout
    work = Path(tempfile.mkdtemp(prefix="convviz-benchmark-"))
    timings = {}
    try:
        for label, grade in [
            ("nbgrader autograde", lambda root: time_nbgrader(root, assignment)),
            (
                PROCESS_PER_RUN,
                lambda root: time_convviz(root, assignment, 1, fork_server=False),
            ),
            ("convviz-grade --jobs 1", lambda root: time_convviz(root, assignment, 1)),
            ("convviz-grade --jobs 2", lambda root: time_convviz(root, assignment, 2)),
        ]:
            root = make_course(work / re.sub(r"\W+", "_", label), assignment, students)
            timings[label] = grade(root)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_report(assignment, students, timings, stream)
    return timings


def print_report(assignment, students, timings, stream):
    """Print :func:`run`'s table and ratios."""
    print(
        f"Grading {students} submissions of '{assignment}' "
        f"({', '.join(KINDS)} in turn), one run:",
        file=stream,
    )
    for label, timing in timings.items():
        seconds = timing["seconds"]
        line = (
            f"  {label:<42} {seconds:7.1f} s  "
            f"{60 * students / seconds:7.1f} submissions/min"
        )
        if "startup" in timing:
            line += (
                f"   per submission (median): {timing['startup']:.2f} s starting up, "
                f"{timing['code']:.2f} s in student code"
            )
        if timing["training"] or timing.get("reference_training"):
            line += f"   training students' models: {timing['training']:.1f} s"
        if timing.get("reference_training"):
            line += (
                f", the reference for its time limit: "
                f"{timing['reference_training']:.1f} s"
            )
        print(line, file=stream)
    nbgrader, jobs1 = timings["nbgrader autograde"], timings["convviz-grade --jobs 1"]
    jobs2, per_run = timings["convviz-grade --jobs 2"], timings[PROCESS_PER_RUN]
    print(
        f"  --jobs 1 vs nbgrader: {nbgrader['seconds'] / jobs1['seconds']:.2f}x   "
        f"fork server vs a process per run: "
        f"{per_run['seconds'] / jobs1['seconds']:.2f}x   "
        f"--jobs 2 vs --jobs 1: {jobs1['seconds'] / jobs2['seconds']:.2f}x",
        file=stream,
    )
    if nbgrader["training"] or jobs1["training"]:

        def without(timing):
            return timing["seconds"] - timing["training"]

        print(
            f"  without the students' training: --jobs 1 vs nbgrader: "
            f"{without(nbgrader) / without(jobs1):.2f}x",
            file=stream,
        )
