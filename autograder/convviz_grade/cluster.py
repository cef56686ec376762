"""Grading on a Dask cluster: the same per-submission task, results sent home.

Each Dask worker builds the assignment's cases itself (once per worker
process) from the assignment's name and source notebook, runs
:func:`convviz_grade.grading.grade_task` (which runs student code in its own
sandboxed process, as on one machine) and returns the plain
:class:`~convviz_grade.grading.SubmissionGrade`. Only the process that called
``autograde`` writes the gradebook. Workers must have this package, the same
Python environment and the submissions' paths.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path

from convviz_grade.grading import Assignment, grade_task


@functools.lru_cache(maxsize=8)
def _assignment(name, source):
    assignment = Assignment(name, source)
    assignment.prepared_inputs()
    return assignment


def remote_grade(name, source, notebook, student, options):
    """The task a Dask worker runs: :func:`grade_task` in a folder of its own."""
    work_root = Path(tempfile.mkdtemp(prefix="convviz-grade-"))
    try:
        return grade_task(
            _assignment(name, str(source)),
            notebook,
            student,
            dict(options, work_root=work_root),
        )
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
