"""The per-submission task on a Dask cluster: results come home to one writer."""

from pathlib import Path

import pytest
from convviz_grade import cli
from course import (
    assert_solution_and_blank_scores,
    autograde_arguments,
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
