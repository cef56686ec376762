"""Grading on a Dask cluster: the same per-submission task, results sent home.

Each Dask worker builds the assignment's cases itself (once per worker
process) from the assignment's name and source notebook, runs
:func:`convviz_grade.grading.grade_task` (which runs student code in its own
sandboxed process, as on one machine) and returns the plain
:class:`~convviz_grade.grading.SubmissionGrade`. Only the process that called
``autograde`` writes the gradebook. Workers must have this package, the same
Python environment and the submissions' paths.

A timed case (:attr:`convviz_grade.grading.Case.time_limit`) is judged against
the reference's time on the machine that runs the student's code: before its
first task, each worker process runs the self-check itself
(:func:`time_reference_here`, once, its seconds per case kept with the
worker's assignment), when the assignment has timed cases. If the
instructor's solution fails there, that worker's students are "ungraded", with
the reason.
"""

from __future__ import annotations

import functools
import shutil
import socket
import tempfile
import threading
from pathlib import Path

from convviz_grade.grading import Assignment, grade_submission, grade_task, zero_grade

# One self-check per worker process, whatever its threads.
_SELF_CHECK = threading.Lock()


@functools.lru_cache(maxsize=8)
def _assignment(name, source):
    assignment = Assignment(name, source)
    assignment.prepared_inputs()
    # None: not checked yet; "": checked; else why the self-check failed here.
    assignment.worker_check = None
    return assignment


def has_timed_cases(assignment):
    """True when a case of one of the assignment's graded functions has a time limit."""
    return any(
        case.time_limit and case.function in assignment.points
        for case in assignment.cases
    )


def time_reference_here(assignment, options):
    """Time the reference on this machine, once, if the assignment has timed cases.

    It is the self-check of ``convviz-grade autograde``
    (:func:`convviz_grade.autograde.self_check`), run again here: the
    instructor's solution graded through the same sandbox, its seconds per case
    kept as ``assignment.reference_seconds``.

    Returns:
        str: empty when the timed cases can be judged here (or there are none),
        else why not (the solution failed its grading on this worker).
    """
    if not has_timed_cases(assignment):
        return ""
    with _SELF_CHECK:
        if assignment.worker_check is None:
            result = grade_submission(
                assignment, assignment.source_notebook, student="self-check", **options
            )
            failed = [grade for grade in result.functions if grade.status != "passed"]
            assignment.worker_check = ""
            if failed:
                why = (failed[0].message.strip() or failed[0].status).splitlines()[0]
                assignment.worker_check = (
                    f"the instructor's solution fails its grading on Dask worker "
                    f"{socket.gethostname()} ({failed[0].function}: {why}), so the "
                    "reference could not be timed there for the timed cases"
                )
            else:
                assignment.reference_seconds = dict(result.case_seconds)
    return assignment.worker_check


def remote_grade(name, source, notebook, student, options):
    """The task a Dask worker runs: :func:`grade_task` in a folder of its own."""
    work_root = Path(tempfile.mkdtemp(prefix="convviz-grade-"))
    try:
        assignment = _assignment(name, str(source))
        options = dict(options, work_root=work_root)
        problem = notebook and time_reference_here(assignment, options)
        if problem:
            return zero_grade(assignment, student, "ungraded", problem)
        return grade_task(assignment, notebook, student, options)
    finally:
        shutil.rmtree(work_root, ignore_errors=True)


def grade_on_cluster(address, name, source, found, options, finish):
    """Submit one task per student to the Dask scheduler at ``address``.

    Args:
        address: str, the scheduler's address.
        name: str, the assignment's name.
        source: path of the assignment's source notebook.
        found: dict {student: notebook path or None}.
        options: dict of :func:`convviz_grade.grading.grade_submission`'s keyword
            arguments (``work_root`` is left out: each task makes its own).
        finish: callable, called here, in this process, with each
            :class:`~convviz_grade.grading.SubmissionGrade` as it arrives.
    """
    from distributed import Client, as_completed  # optional: only for a cluster

    options = {key: value for key, value in options.items() if key != "work_root"}
    with Client(address) as client:
        futures = [
            client.submit(
                remote_grade,
                name,
                str(source),
                None if notebook is None else str(notebook),
                student,
                options,
                pure=False,
                key=f"grade-{name}-{student}",
            )
            for student, notebook in found.items()
        ]
        for future in as_completed(futures):
            finish(future.result())
