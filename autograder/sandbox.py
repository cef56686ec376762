"""Run the grading worker on one submission, isolated and limited.

Where Debian's ``bubblewrap`` works (``bwrap``), the worker runs in new
namespaces: no network, its own process tree, the whole file system read-only,
``/tmp`` empty, and the folders given in ``hide`` (the course folder, the
repository with the solutions and the reference library, the gradebook's
folder) replaced by empty ones. Only its own work folder is writable. In every
case the worker has an address-space limit (``memory_bytes``), a file-size
limit, a wall-clock limit after which its whole process group is killed
(ignoring SIGINT or SIGTERM does not help), and its output goes to a file of
which only the start is read back.

Without bubblewrap (``isolation="none"``) the limits still hold, but student
code can read whatever the grading user can read and can open network
connections: grade on a machine where bubblewrap works.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

WORKER = Path(__file__).with_name("worker.py")
LOG_BYTES = 4000  # of the worker's output kept for the report
FILE_LIMIT = 256 * 2**20  # no file the worker writes may exceed this


@dataclass
class Run:
    """How one worker process ended."""

    returncode: int | None  # None: killed at the time limit
    seconds: float
    log: str

    @property
    def timed_out(self):
        return self.returncode is None


def bwrap_available():
    """True when ``bwrap`` exists and can create the namespaces we need here."""
    if not shutil.which("bwrap"):
        return False
    probe = subprocess.run(
        ["bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "true"],
        capture_output=True, timeout=30,
    )
    return probe.returncode == 0


def _under(path, folder):
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
        return True
    except ValueError:
        return False


def bwrap_arguments(folder, hide):
    """The bubblewrap command line that hides ``hide`` and keeps Python usable."""
    arguments = [
        "bwrap", "--die-with-parent", "--unshare-all", "--new-session",
        "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
    ]
    hidden = sorted({str(Path(path).resolve()) for path in hide if Path(path).exists()})
    for path in hidden:
        arguments += ["--tmpfs", path]
    # Python itself (a virtualenv inside the repository, say) stays visible.
    for keep in sorted({sys.prefix, sys.base_prefix, str(Path(sys.executable).resolve().parent.parent)}):
        if any(_under(keep, path) for path in hidden):
            arguments += ["--ro-bind", keep, keep]
    arguments += ["--bind", str(folder), str(folder), "--chdir", str(folder)]
    return arguments


def worker_environment(folder):
    return {
        "PATH": os.path.dirname(sys.executable) + os.pathsep + "/usr/bin:/bin",
        "HOME": str(folder),
        "MPLCONFIGDIR": str(folder),
        "MPLBACKEND": "Agg",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "CUDA_VISIBLE_DEVICES": "",
        "KERAS_BACKEND": "tensorflow",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "LANG": "C.UTF-8",
    }


def run_worker(folder, *, hide=(), isolation="bwrap", timeout=60.0, memory_bytes=4 * 2**30):
    """Run ``worker.py`` on ``folder`` (already filled by the grader); return a :class:`Run`."""
    import time

    folder = Path(folder)
    shutil.copy(WORKER, folder / "worker.py")
    command = [sys.executable, "-I", str(folder / "worker.py"), str(folder)]
    if isolation == "bwrap":
        command = bwrap_arguments(folder, hide) + command

    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    log_path = folder.parent / f"{folder.name}.log"
    start = time.perf_counter()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=worker_environment(folder), cwd=folder, start_new_session=True, preexec_fn=limits,
        )
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            returncode = None
        finally:
            try:
                os.killpg(process.pid, signal.SIGKILL)  # the worker and anything it started
            except ProcessLookupError:
                pass
            process.wait()
    with open(log_path, "rb") as log:
        text = log.read(LOG_BYTES).decode("utf-8", errors="replace")
    return Run(returncode, time.perf_counter() - start, text)
