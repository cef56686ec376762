import io
import re

import pytest
from convviz_grade import benchmark


def test_generated_class_has_every_kind(tmp_path):
    root = benchmark.make_course(tmp_path / "course", "segmentation", 4)
    students = sorted(p.name for p in (root / "grading" / "submitted").iterdir())
    assert students == [
        "student000_correct",
        "student001_blank",
        "student002_wrong",
        "student003_faulty",
    ]
    wrong = (
        root
        / "grading"
        / "submitted"
        / "student002_wrong"
        / "segmentation"
        / "segmentation.ipynb"
    ).read_text()
    assert "return masks_true" in wrong


@pytest.mark.slow
def test_benchmark_prints_four_throughputs_and_the_startup_split():
    out = io.StringIO()
    # One student (a correct one) of an assignment without training shows every
    # line, each grader's start-up included; test_generated_class_has_every_kind checks
    # the four kinds of a class, the class tests their grading, and the next test the
    # lines of the students' training. The lines are the same for every assignment
    # without training, so the cheapest to grade, activations, stands for them.
    timings = benchmark.run("activations", 1, stream=out)
    assert set(timings) == {
        "nbgrader autograde",
        "convviz-grade --jobs 1 --no-fork-server",
        "convviz-grade --jobs 1",
        "convviz-grade --jobs 2",
    }
    assert len(re.findall(r"submissions/min", out.getvalue())) == 4
    assert (
        len(re.findall(r"s starting up, [0-9.]+ s in student code", out.getvalue()))
        == 3
    )
    assert "fork server vs a process per run:" in out.getvalue()


def test_the_students_training_is_reported_and_left_out_of_the_second_ratio():
    out = io.StringIO()
    timings = {
        "nbgrader autograde": {
            "seconds": 300.0,
            "training": 100.0,
            "reference_training": 40.0,
        },
        "convviz-grade --jobs 1 --no-fork-server": {
            "seconds": 250.0,
            "startup": 1.0,
            "code": 2.0,
            "training": 100.0,
        },
        "convviz-grade --jobs 1": {
            "seconds": 150.0,
            "startup": 0.1,
            "code": 2.0,
            "training": 100.0,
        },
        "convviz-grade --jobs 2": {
            "seconds": 100.0,
            "startup": 0.1,
            "code": 2.0,
            "training": 100.0,
        },
    }
    benchmark.print_report("segmentation", 40, timings, out)
    text = out.getvalue()
    assert "--jobs 1 vs nbgrader: 2.00x" in text  # 300 / 150
    assert "without the students' training: --jobs 1 vs nbgrader: 4.00x" in text
    assert "training students' models: 100.0 s" in text
    assert "the reference for its time limit: 40.0 s" in text


def test_the_kernels_training_log_is_summed_by_whose_training(tmp_path, monkeypatch):
    from convviz_grade import cases

    log = tmp_path / "training.log"
    monkeypatch.setenv(cases.TRAINING_LOG, str(log))
    cases.log_training("student", {"probe": {"train_seconds": 1.5}})
    cases.log_training("student", {"probe": {"train_seconds": 2.0}})
    cases.log_training("reference", {"probe": {"train_seconds": 0.25}})
    cases.log_training("student", {"probe": {}})  # no training: nothing written
    assert benchmark.read_training_log(log) == {"student": 3.5, "reference": 0.25}
