"""The per-submission task on a Dask cluster: results come home to one writer."""

import shutil
from pathlib import Path

import pytest
from convviz_grade import cli
from course import Course

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_autograde_on_a_local_dask_cluster(tmp_path, monkeypatch):
    from distributed import LocalCluster

    scratch = (
        tmp_path / "workers-tmp"
    )  # the workers' temporary folders, to see that none is left behind
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    course = Course(tmp_path / "course")
    shutil.copytree(
        REPOSITORY / "solutions" / "segmentation",
        course.root / "solutions" / "segmentation",
    )
    submissions = tmp_path / "submissions"
    for student, source in [("ann", "solutions"), ("ben", "exercises")]:
        folder = submissions / student / "segmentation"
        folder.mkdir(parents=True)
        shutil.copy(REPOSITORY / source / "segmentation" / "segmentation.ipynb", folder)
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        exit_code = cli.main(
            [
                "autograde",
                "segmentation",
                "--submissions",
                str(submissions),
                "--course-dir",
                str(course.root),
                "--scheduler",
                cluster.scheduler_address,
                "--no-progress",
            ]
        )
    assert exit_code == 0
    assert course.scores("segmentation", "ann") == {
        "test_mean_iou": (1.0, 1.0),
        "hidden_mean_iou": (2.0, 2.0),
    }
    assert course.scores("segmentation", "ben") == {
        "test_mean_iou": (0.0, 1.0),
        "hidden_mean_iou": (0.0, 2.0),
    }
    assert not list(scratch.glob("convviz-grade-*")), (
        "a worker left a submission's folder behind"
    )
