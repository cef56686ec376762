"""Probe cases: the grader's probe measures what the student's function makes.

A throwaway assignment with one probe case and one timed case, graded through
the worker (as ``convviz-grade autograde`` runs it) and in the kernel (as the
notebook's hidden tests run it): both give the probe's entries, a probe gets
hidden data the function never sees, and a timed case fails when the
function is much slower than the reference.
"""

from __future__ import annotations

import sys

import convviz_grade.assignments
import nbformat
import numpy as np
import pytest
from convviz_grade import cases, grading, notebook_cells, sandbox, worker
from notebooks import code, graded, notebook, solution

PROBE = '''"""A probe for the test: the result's weighted sum, on hidden weights."""

import numpy as np


def weighted(function, args, kwargs, *, weights):
    value = np.asarray(function(*args, **kwargs), dtype=float)
    return {"value": value, "weighted": np.array((value * weights).sum())}


def not_a_dict(function, args, kwargs):
    return function(*args, **kwargs)
'''

MODULE = '''"""The ``probed`` assignment: ``double(values)``, measured by a probe."""

import time

import numpy as np


def reference_double(values):
    time.sleep(0.05)
    return 2 * np.asarray(values)


def grading_cases():
    from convviz_grade.grading import Case

    values = np.array([1.0, 2.0, 3.0])
    weights = np.array([1.0, 10.0, 100.0])

    def check(outputs):
        assert outputs["probe"]["weighted"] == 642.0, outputs["probe"]

    return [
        Case(
            "double",
            (values,),
            check,
            kind="probe",
            probe="testprobe:weighted",
            probe_kwargs={"weights": weights},
            time_limit=2.0,
            reference=reference_double,
        ),
        Case("triple", (values,), lambda outputs: None, kind="probe",
             probe="testprobe:not_a_dict"),
    ]
'''

RIGHT = "def double(values):\n    return 2 * np.asarray(values)"
SLOW = (
    "import time\n\ndef double(values):\n    time.sleep(2.5)\n"
    "    return 2 * np.asarray(values)"
)
# The same slow answer from a cell that stops the clock it expects to be read.
FAKES_THE_CLOCK = SLOW.replace(
    "import time\n", "import time\n\ntime.time = time.perf_counter = lambda: 0.0\n"
)
TRIPLE = "def triple(values):\n    return 3 * np.asarray(values)"


@pytest.fixture
def probed(tmp_path, monkeypatch):
    """The ``probed`` assignment's module and its probe file, found by the grader."""
    modules = tmp_path / "modules"
    modules.mkdir()
    (modules / "probed.py").write_text(MODULE)
    probes = tmp_path / "probes"
    probes.mkdir()
    (probes / "testprobe.py").write_text(PROBE)
    monkeypatch.setattr(sandbox, "PROBES", probes)
    monkeypatch.setattr(worker, "PROBES_DIR", str(probes))
    monkeypatch.setattr(
        convviz_grade.assignments,
        "__path__",
        [*convviz_grade.assignments.__path__, str(modules)],
    )
    module = __import__("convviz_grade.assignments.probed", fromlist=["x"])
    yield module
    sys.modules.pop("convviz_grade.assignments.probed", None)
    cases._LOADED.pop("probed", None)


def source_notebook(folder):
    """The instructor's notebook: ``double`` and ``triple`` with their test cells."""
    cells = [code("import numpy as np")]
    for name in ("double", "triple"):
        cells += [
            solution(name, f"def {name}(values):\n    return values"),
            graded(f"test_{name}", "pass"),
            graded(
                f"hidden_{name}",
                notebook_cells.hidden_tests_block("probed", name),
                points=2,
            ),
        ]
    path = folder / "probed.ipynb"
    nbformat.write(notebook(*cells), path)
    return path


def run(probed, tmp_path, answer):
    assignment = grading.Assignment("probed", source_notebook(tmp_path))
    return assignment, grading.run_submission(
        assignment,
        [answer, TRIPLE],
        work_root=tmp_path,
        hide=[],
        isolation="none",
        timeout=60,
        memory_bytes=2**31,
    )


def test_the_worker_sends_back_the_probe_s_entries(probed, tmp_path):
    assignment, (verdicts, outputs, *_) = run(probed, tmp_path, RIGHT)
    assert verdicts["c0"]["status"] == "ok", verdicts
    assert outputs["c0"]["value"].tolist() == [2.0, 4.0, 6.0]
    assert outputs["c0"]["probe"] == {"weighted": 642.0}
    assert 0 <= outputs["c0"]["seconds"] < 5
    # A probe that returns no dict of arrays: an error of the case, not a crash.
    assert verdicts["c1"]["status"] == "error"
    assert "no dict with a 'value' entry" in verdicts["c1"]["message"]
    grading.check_outputs(assignment.cases[0], outputs["c0"])


def test_the_kernel_path_gives_the_worker_s_entries(probed):
    [case, _] = probed.grading_cases()
    namespace = {"np": np}
    exec(RIGHT, namespace)
    outputs = cases.outputs_of(case, namespace["double"])
    assert outputs["value"].tolist() == [2.0, 4.0, 6.0]
    assert outputs["probe"] == {"weighted": 642.0}
    assert 0.05 <= outputs["reference_seconds"] < 5  # the reference, timed here
    grading.check_outputs(case, outputs)


def test_a_case_slower_than_its_limit_fails_and_says_by_how_much(probed, tmp_path):
    assignment, (verdicts, outputs, *_) = run(probed, tmp_path, SLOW)
    assert verdicts["c0"]["status"] == "ok"
    assignment.reference_seconds = {"c0": 0.05}  # what a self-check measured
    [grade, _] = grading.score_functions(assignment, verdicts, outputs, [])
    assert grade.status == "failed"
    assert "more than 2 x the reference's 0.1 s" in grade.message, grade.message
    # Without the reference's time nothing is judged on time.
    assignment.reference_seconds = {}
    [grade, _] = grading.score_functions(assignment, verdicts, outputs, [])
    assert grade.status == "passed", grade.message


def test_a_cell_that_stops_the_clock_is_still_timed(probed, tmp_path):
    assignment, (verdicts, outputs, *_) = run(probed, tmp_path, FAKES_THE_CLOCK)
    assert outputs["c0"]["seconds"] >= 2.5
    assignment.reference_seconds = {"c0": 0.05}
    [grade, _] = grading.score_functions(assignment, verdicts, outputs, [])
    assert grade.status == "failed"
    assert "more than 2 x the reference's 0.1 s" in grade.message, grade.message


def test_a_probe_name_must_be_module_colon_function():
    with pytest.raises(ValueError, match="module:function"):
        worker.load_probe("../etc/passwd")
