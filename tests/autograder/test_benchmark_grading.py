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
    # One student (a correct one) shows every line, each grader's start-up included;
    # test_generated_class_has_every_kind checks the four kinds of a class, the class
    # tests their grading.
    timings = benchmark.run("segmentation", 1, stream=out)
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
