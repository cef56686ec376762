"""The fork server: one sandboxed Python per job, a fresh child per run, nothing carried
from one to the next.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from convviz_grade import sandbox

# Student A leaves everything it can behind: a patched NumPy, a file in its own folder,
# in the slot and in $HOME, a module-level global, a big allocation, and a daemon that
# escaped its process group.
STUDENT_A = """
import os, subprocess, sys, time

np.mean = lambda *args, **kwargs: 42.0
np.LEFT_BY_A = "yes"
open(os.path.join(os.path.dirname(os.getcwd()), "left-in-slot.txt"), "w").write(
    "A was here"
)
open(os.path.join(os.environ["HOME"], "left-in-home.txt"), "w").write("A was here")
HOG = bytearray(200 * 2**20)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        while True:
            try:
                open(
                    os.path.join(os.path.dirname(os.getcwd()), "daemon.txt"), "a"
                ).write("tick")
            except OSError:
                pass
            time.sleep(0.05)
    os._exit(0)
time.sleep(0.3)


def report():
    return np.array([1.0])
"""

# Student B reports what it finds, as numbers: [np.mean patched, np has A's attribute,
# slot holds anything but B's own files, a process other than the server (PID 1) and B
# itself, B's memory limit as asked (MB), /tmp writable]
STUDENT_B = """
import os, resource

def report():
    slot = os.path.dirname(os.getcwd())
    mine = {os.path.basename(os.getcwd()), os.path.basename(os.getcwd()) + ".log"}
    others = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    strangers = [p for p in others if p not in (1, os.getpid())]
    try:
        open("/tmp/probe", "w").close()
        tmp_writable = 1.0
    except OSError:
        tmp_writable = 0.0
    return np.array([
        float(np.mean(np.zeros(3)) == 42.0),
        float(hasattr(np, "LEFT_BY_A")),
        float(bool(set(os.listdir(slot)) - mine)),
        float(len(strangers)),
        resource.getrlimit(resource.RLIMIT_AS)[0] / 2**20,
        tmp_writable,
    ])
"""

KILLS_THE_SERVER = """
import os, signal
def report():
    os.kill(os.getppid(), signal.SIGKILL)
    return np.array([1.0])
"""


def fill(folder, source, prelude="import numpy as np\n"):
    """A worker's slot: ``source`` defines ``report()``, the one case calls it."""
    (folder / "student.json").write_text(
        json.dumps({"prelude": prelude, "cells": [source]})
    )
    (folder / "task.json").write_text(
        json.dumps(
            {
                "cases": [
                    {
                        "id": "c0",
                        "function": "report",
                        "kind": "call",
                        "args": [],
                        "kwargs": {},
                    }
                ]
            }
        )
    )
    np.savez(folder / "inputs.npz")


def run(server, name, source, memory_mb=1024):
    folder = server.slot / name
    folder.mkdir()
    fill(folder, source)
    result = server.run(folder, timeout=30, memory_bytes=memory_mb * 2**20)
    output = folder / "outputs" / "c0.npy"
    return result, (np.load(output).tolist() if output.exists() else None)


@pytest.fixture
def server(tmp_path):
    assert sandbox.bwrap_available(), (
        "bubblewrap must work here (make test installs it)"
    )
    server = sandbox.ForkServer(
        tmp_path / "slot0", prelude="import numpy as np\n", isolation="bwrap"
    )
    yield server
    server.close()


def test_nothing_of_one_student_reaches_the_next(server):
    result, seen = run(server, "a", STUDENT_A)
    assert result.returncode == 0, result.log
    assert seen == [1.0]
    server.clear_slot()  # what the pool does between two submissions
    result, seen = run(server, "b", STUDENT_B, memory_mb=768)
    assert result.returncode == 0, result.log
    assert seen == [0.0, 0.0, 0.0, 0.0, 768.0, 0.0]
    assert server.starts == 1  # both were children of one server


def test_the_server_forks_only_while_single_threaded(server):
    run(server, "a", "def report():\n    return np.array([1.0])\n")
    assert server.threads == 1


def test_a_child_cannot_kill_the_server(server):
    result, seen = run(server, "a", KILLS_THE_SERVER)
    assert result.returncode == 0 and seen == [1.0], (
        result.log
    )  # the signal never reached it
    server.clear_slot()
    result, seen = run(server, "b", "def report():\n    return np.array([7.0])\n")
    assert result.returncode == 0 and seen == [7.0]
    assert server.starts == 1


def test_a_server_that_died_is_started_again(server):
    import signal

    run(server, "a", "def report():\n    return np.array([1.0])\n")
    os.killpg(server.process.pid, signal.SIGKILL)  # from outside the sandbox
    server.process.wait()
    server.clear_slot()
    result, seen = run(server, "b", "def report():\n    return np.array([7.0])\n")
    assert result.returncode == 0 and seen == [7.0]
    assert server.starts == 2


def test_a_hang_is_cut_at_the_time_limit(server):
    folder = server.slot / "a"
    folder.mkdir()
    fill(folder, "def report():\n    while True:\n        pass\n")
    result = server.run(folder, timeout=2, memory_bytes=2**30)
    assert result.timed_out
    assert 2 <= result.seconds < 20


def test_a_folder_outside_the_slot_is_refused(server, tmp_path):
    with pytest.raises(ValueError, match="not a folder of this server's slot"):
        server.run(tmp_path, timeout=5)


def test_a_server_that_cannot_start_is_marked_unusable(tmp_path):
    # The prelude raises: the server never says it is ready; the grader then starts a
    # process per run.
    server = sandbox.ForkServer(
        tmp_path / "slot0", prelude="raise SystemExit(5)\n", isolation="bwrap"
    )
    folder = server.slot / "a"
    folder.mkdir()
    fill(folder, "def report():\n    return np.array([1.0])\n")
    assert server.run(folder, timeout=5) is None
    assert not server.usable
    assert not os.path.exists(folder / "outputs" / "c0.npy")


USES_TENSORFLOW = """
def report():
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2, kernel_initializer="ones")]
    )
    x = tf.constant([[1.0, 2.0, 3.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(model(x))
    return np.concatenate(
        [model.predict(x.numpy(), verbose=0)[0], tape.gradient(y, x).numpy()[0]]
    )
"""


@pytest.mark.slow
def test_children_of_a_server_that_imported_tensorflow_run_keras(tmp_path):
    # The server imports Keras and TensorFlow before forking; no TensorFlow thread pool
    # exists yet (it checks that it is single-threaded), so each child starts
    # TensorFlow's runtime itself.
    server = sandbox.ForkServer(
        tmp_path / "slot0",
        prelude="import numpy as np\nimport keras\nimport tensorflow as tf\n",
        preload=["keras", "tensorflow"],
        isolation="bwrap",
    )
    try:
        for name in ("a", "b"):
            folder = server.slot / name
            folder.mkdir()
            fill(folder, USES_TENSORFLOW, server.prelude)
            result = server.run(folder, timeout=120, memory_bytes=4 * 2**30)
            assert result is not None and result.returncode == 0, result and result.log
            assert np.load(folder / "outputs" / "c0.npy").tolist() == [
                6.0,
                6.0,
                2.0,
                2.0,
                2.0,
            ]
            server.clear_slot()
        assert server.starts == 1 and server.threads == 1
    finally:
        server.close()


def test_a_server_that_dies_before_reading_its_prelude_is_a_failed_start(
    tmp_path, monkeypatch
):
    # The race CI met once: bwrap could not run Python and exited before the prelude was
    # written. Here the server's Python is /bin/false and Popen returns only once it has
    # exited, so writing the prelude meets a closed pipe every time: the start fails as
    # a silent server's does.
    import subprocess as real_subprocess

    class ExitedFirst(real_subprocess.Popen):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.wait()

    monkeypatch.setattr(sandbox.sys, "executable", "/bin/false")
    monkeypatch.setattr(sandbox.subprocess, "Popen", ExitedFirst)
    server = sandbox.ForkServer(tmp_path / "slot", prelude="", isolation="none")
    assert server._start() is False
    assert server.usable is False and server.process is None
