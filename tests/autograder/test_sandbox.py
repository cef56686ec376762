"""What student code can see and do inside the sandbox: nothing of the course, no
network.
"""

import json
from pathlib import Path

import numpy as np
from convviz_grade import sandbox

REPOSITORY = Path(__file__).resolve().parents[2]

# A "student" function that reports what it can reach, as numbers: [repository visible
# (beyond the virtualenv Python runs from), solutions readable, course visible,
# gradebook readable, other student's notebook readable, network connection made,
# convviz_ref importable]
SPY = """
def spy(course, gradebook, neighbour, repository):
    import importlib, os, socket
    def can(action):
        try:
            return 1.0 if action() else 0.0
        except Exception:
            return 0.0
    def connect():
        with socket.create_connection(("1.1.1.1", 80), timeout=3):
            return True
    return np.array([
        can(lambda: set(os.listdir(repository)) - {".venv"}),  # Python's own venv stays
        can(lambda: open(os.path.join(repository, "solutions", "filters",
                                      "filters.ipynb")).read()),
        can(lambda: len(os.listdir(course)) > 0),
        can(lambda: open(gradebook, "rb").read(1)),
        can(lambda: open(neighbour).read()),
        can(connect),
        can(lambda: importlib.import_module("convviz_ref")),
    ])
"""


def run_spy(tmp_path, isolation, hide):
    course = tmp_path / "course"
    (course / "grading").mkdir(parents=True)
    gradebook = course / "grading" / "gradebook.db"
    gradebook.write_bytes(b"SQLite")
    neighbour = tmp_path / "submissions" / "bob" / "a.ipynb"
    neighbour.parent.mkdir(parents=True)
    neighbour.write_text("{}")
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "student.json").write_text(
        json.dumps({"prelude": "import numpy as np\n", "cells": [SPY]})
    )
    args = [
        {"value": str(course)},
        {"value": str(gradebook)},
        {"value": str(neighbour)},
        {"value": str(REPOSITORY)},
    ]
    (folder / "task.json").write_text(
        json.dumps(
            {
                "cases": [
                    {
                        "id": "c0",
                        "function": "spy",
                        "kind": "call",
                        "args": args,
                        "kwargs": {},
                    }
                ]
            }
        )
    )
    np.savez(folder / "inputs.npz")
    run = sandbox.run_worker(
        folder, hide=[*hide(course, tmp_path)], isolation=isolation, timeout=60
    )
    assert run.returncode == 0, run.log
    return np.load(folder / "outputs" / "c0.npy").tolist()


def test_under_bubblewrap_student_code_reaches_nothing(tmp_path):
    assert sandbox.bwrap_available(), (
        "bubblewrap must work here (make test installs it)"
    )
    seen = run_spy(
        tmp_path,
        "bwrap",
        lambda course, root: [REPOSITORY, course, root / "submissions"],
    )
    assert seen == [0.0] * 7


def test_without_isolation_the_same_code_reaches_everything_but_the_import(tmp_path):
    # The control, and what the README says remains without bubblewrap (no network here
    # anyway): every file is readable, but the worker still refuses to import
    # convviz_ref.
    seen = run_spy(tmp_path, "none", lambda course, root: [])
    assert seen[:5] == [1.0] * 5 and seen[6] == 0.0
