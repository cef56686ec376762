"""The per-submission task on a Dask cluster: results come home to one writer."""

import io
from pathlib import Path

import pytest
from convviz_grade import cli
from course import (
    assert_solution_and_blank_scores,
    autograde_arguments,
    put_notebook,
    segmentation_course,
    submit_solution_and_blank,
)

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_autograde_on_a_local_dask_cluster(tmp_path, monkeypatch):
    from distributed import LocalCluster

    scratch = (
        tmp_path / "workers-tmp"
    )  # the workers' temporary folders, to see that none is left behind
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    course = segmentation_course(tmp_path / "course")
    submissions = submit_solution_and_blank(tmp_path / "submissions")
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        exit_code = cli.main(
            autograde_arguments(
                course.root,
                submissions,
                "--scheduler",
                cluster.scheduler_address,
            )
        )
    assert exit_code == 0
    assert_solution_and_blank_scores(course)
    assert not list(scratch.glob("convviz-grade-*")), (
        "a worker left a submission's folder behind"
    )


SLEEP = 3.0  # > the limit below: 1 x the reference's milliseconds + TIME_SLACK
SLOW_ONCE = f"""
import time as _time

_slept = []
_mean_iou = mean_iou


def mean_iou(*args, **kwargs):
    if not _slept:  # the first case only: one slow case fails the function
        _slept.append(True)
        _time.sleep({SLEEP})
    return _mean_iou(*args, **kwargs)
"""


@pytest.mark.slow
def test_timed_cases_are_timed_on_the_dask_worker(tmp_path, monkeypatch):
    """The worker times the reference itself: a student 3 s slower fails there too.

    mean_iou's cases are made timed (1 x the reference's time); the worker is a
    thread of this process (``processes=False``), so its assignment is built from
    the same patched cases but knows nothing of the self-check run here.
    """
    import dataclasses

    import nbformat
    from convviz_grade import grading, notebook_cells
    from convviz_grade.assignments import segmentation
    from distributed import LocalCluster

    from convviz_ref.segmentation import mean_iou

    assert SLEEP > grading.TIME_SLACK + 0.5

    def timed_cases():  # the course holds mean_iou only: no segmenter case to build
        return [
            dataclasses.replace(case, time_limit=1.0, reference=mean_iou)
            for case in segmentation.mean_iou_cases()
        ]

    monkeypatch.setattr(segmentation, "grading_cases", timed_cases)
    course = segmentation_course(tmp_path / "course")
    submissions = tmp_path / "submissions"
    solution = REPOSITORY / "solutions" / "segmentation" / "segmentation.ipynb"
    notebook = nbformat.read(solution, as_version=4)
    answer = notebook_cells.answer_cells(notebook, ["mean_iou"])[0]
    for student, source in [("ann", answer), ("sam", answer + SLOW_ONCE)]:
        notebook_cells.replace_answers(notebook, {"mean_iou": source})
        put_notebook(submissions / student, "segmentation", notebook)
    output = io.StringIO()
    with LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        exit_code = cli.main(
            autograde_arguments(
                course.root, submissions, "--scheduler", cluster.scheduler_address
            ),
            stream=output,
        )
    assert exit_code == 0, output.getvalue()
    assert "judged against the reference timed on each Dask worker" in (
        output.getvalue()
    )
    assert course.scores("segmentation", "ann")["hidden_mean_iou"] == (2.0, 2.0)
    (slow,) = course.graded_results("segmentation", "sam")["functions"]
    assert slow["status"] == "failed", slow
    assert "x the reference's" in slow["message"], slow["message"]
