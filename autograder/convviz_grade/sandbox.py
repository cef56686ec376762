"""Run the grading worker on one submission, isolated and limited.

Where Debian's ``bubblewrap`` works (``bwrap``), the worker runs in new
namespaces: no network, its own process tree, the whole file system read-only,
``/tmp`` empty, and the folders given in ``hide`` (the course folder, the
gradebook's folder, the submissions) and those of :func:`always_hidden` (the
installed ``convviz_ref`` and ``convviz_grade``, the clone they come from)
replaced by empty ones. The interpreter and its libraries stay readable
wherever the venv lives, ``/tmp`` included. Only its own work folder is
writable. In every case the worker has an address-space limit
(``memory_bytes``), a file-size limit, a wall-clock limit after which its whole
process group is killed (ignoring SIGINT or SIGTERM does not help), and its
output goes to a file of which only the start is read back.

Without bubblewrap (``isolation="none"``) the limits still hold, but student
code can read whatever the grading user can read and can open network
connections: grade on a machine where bubblewrap works.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from convviz_grade import locations

WORKER = Path(__file__).with_name("worker.py")
# The grader's probes (worker.load_probe), copied beside the worker.
PROBES = Path(__file__).with_name("probes")


def copy_worker(folder):
    """Copy ``worker.py`` and the ``probes/`` folder into ``folder``."""
    shutil.copy(WORKER, folder / "worker.py")
    shutil.copytree(
        PROBES,
        folder / PROBES.name,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__"),
    )


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
        capture_output=True,
        timeout=30,
    )
    return probe.returncode == 0


def always_hidden():
    """What student code never sees, whatever the caller hides besides.

    The folders of the installed ``convviz_ref`` and ``convviz_grade``
    packages (in a clone for an editable install, in ``site-packages``
    otherwise) and the clone itself when there is one: the reference answers,
    the solutions and the grader.
    """
    hidden = locations.package_folders()
    clone = locations.repository()
    return hidden + ([clone] if clone is not None else [])


def mounts(hide, keep):
    """The bubblewrap mounts that hide ``hide`` and ``/tmp``, ``keep`` left readable.

    A kept folder (the venv, the interpreter, a site-packages folder) is
    bound back only where something hidden covers it; a hidden folder inside
    a kept one (``site-packages/convviz_ref``) is hidden again after it. A
    mount that changes nothing (a hidden folder inside one already hidden) is
    left out, so that no empty mount point shows where a folder was.
    bubblewrap applies mounts in order, so they are sorted parents first.

    Returns:
        list of ``("tmpfs", path)`` and ``("ro-bind", path)``, in order.
    """
    hidden = {Path(path).resolve() for path in [*hide, "/tmp"] if Path(path).exists()}
    kept = {Path(path).resolve() for path in keep if Path(path).exists()} - hidden
    chosen = []

    def is_hidden(path):  # by the deepest mount chosen so far at or above path
        covering = [
            (len(target.parts), kind)
            for kind, target in chosen
            if path.is_relative_to(target)
        ]
        return bool(covering) and max(covering)[1] == "tmpfs"

    for path in sorted(hidden | kept, key=lambda path: (len(path.parts), str(path))):
        if path in hidden and not is_hidden(path):
            chosen.append(("tmpfs", path))
        elif path in kept and is_hidden(path):
            chosen.append(("ro-bind", path))
    return [(kind, str(path)) for kind, path in chosen]


def bwrap_arguments(folder, hide, keep=None, read_only=()):
    """The bubblewrap command line: ``hide`` hidden, only ``folder`` writable.

    Python stays usable: the folders of ``keep`` stay readable.

    ``keep`` defaults to :func:`convviz_grade.locations.interpreter_folders`;
    the folders of ``read_only`` are bound read-only after the rest.
    """
    keep = locations.interpreter_folders() if keep is None else keep
    arguments = [
        "bwrap",
        "--die-with-parent",
        "--unshare-all",
        "--new-session",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
    ]
    for kind, path in mounts(hide, keep):
        arguments += ["--tmpfs", path] if kind == "tmpfs" else ["--ro-bind", path, path]
    for path in read_only:
        arguments += ["--ro-bind", str(path), str(path)]
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


def run_worker(
    folder, *, hide=(), isolation="bwrap", timeout=60.0, memory_bytes=4 * 2**30
):
    """Run ``worker.py`` on ``folder`` (filled by the grader); return a :class:`Run`.

    Under bubblewrap, ``hide`` and :func:`always_hidden` are replaced by empty
    folders. With ``isolation="none"`` nothing is hidden; the worker still
    refuses to import ``convviz_ref`` and ``convviz_grade``.
    """
    import time

    folder = Path(folder)
    copy_worker(folder)
    command = [sys.executable, "-I", str(folder / "worker.py"), str(folder)]
    if isolation == "bwrap":
        command = bwrap_arguments(folder, [*always_hidden(), *hide]) + command

    def limits():
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    log_path = folder.parent / f"{folder.name}.log"
    start = time.perf_counter()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=worker_environment(folder),
            cwd=folder,
            start_new_session=True,
            preexec_fn=limits,
        )
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            returncode = None
        finally:
            try:  # the worker and anything it started
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
    with open(log_path, "rb") as log:
        text = log.read(LOG_BYTES).decode("utf-8", errors="replace")
    return Run(returncode, time.perf_counter() - start, text)


class ForkServer:
    """One sandboxed Python that imports the libraries once and forks a child per run.

    Each run is a fork of a process that has already imported the libraries,
    not a new Python that imports them again. The server
    (:func:`convviz_grade.worker.serve`) runs under the same bubblewrap
    command as :func:`run_worker`, with its own PID namespace, and only its
    ``slot`` folder writable (``/tmp`` is read-only and empty). Each run is
    a new child process with its own session, memory, file-size and time
    limits; when it ends, the server kills whatever it left running, and the
    grader empties ``slot`` before the next run. One server grades one
    submission at a time: ``--jobs 2`` starts two, in two sandboxes.

    If the server cannot start single-threaded (forking a threaded process is
    unsafe), :attr:`usable` is False and callers fall back to
    :func:`run_worker`.
    """

    def __init__(self, slot, *, prelude, preload=(), hide=(), isolation="bwrap"):
        self.slot = Path(slot)
        self.slot.mkdir(parents=True, exist_ok=True)
        self.isolation = isolation
        self.prelude, self.preload, self.hide = prelude, list(preload), list(hide)
        self.process = None
        self.usable = True
        self.starts = 0
        # How many threads the server had when it was ready to fork.
        self.threads = None

    def _start(self):
        # Read-only to the sandbox: outside the slot.
        code = self.slot.parent / f"{self.slot.name}-server"
        code.mkdir(exist_ok=True)
        copy_worker(code)
        command = [
            sys.executable,
            "-I",
            str(code / "worker.py"),
            "--serve",
            "pid-namespace" if self.isolation == "bwrap" else "shared",
        ]
        if self.isolation == "bwrap":
            # The server is the namespace's PID 1: no child can kill it (the kernel
            # drops such signals).
            command = (
                bwrap_arguments(
                    self.slot, [*always_hidden(), *self.hide], read_only=[code]
                )
                + ["--remount-ro", "/tmp", "--as-pid-1"]
                + command
            )
        environment = dict(
            worker_environment(self.slot), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1"
        )
        self.server_log = open(self.slot.parent / f"{self.slot.name}-server.log", "ab")
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.server_log,
            env=environment,
            cwd=self.slot,
            start_new_session=True,
            text=True,
            bufsize=1,
        )
        self.starts += 1
        try:
            self.process.stdin.write(
                json.dumps({"prelude": self.prelude, "preload": self.preload}) + "\n"
            )
            self.process.stdin.flush()
        except BrokenPipeError:
            # The server died at once (the sandbox cannot run Python): as if it
            # said nothing.
            answer = None
        else:
            answer = self._answer(timeout=600)
        self.threads = answer.get("threads") if answer else None
        if not answer or not answer.get("ready"):
            self.usable = False
            self.close()
            return False
        return True

    def _answer(self, timeout):
        """The server's next JSON line.

        Returns:
            dict, or None if the server died or said nothing within ``timeout``
            seconds.
        """
        import select

        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else ""
        try:
            return json.loads(line) if line else None
        except json.JSONDecodeError:
            return None

    def run(self, folder, *, timeout=60.0, memory_bytes=4 * 2**30):
        """Run the worker on ``folder`` (inside :attr:`slot`) in a fresh child.

        Returns:
            :class:`Run`, or None when the server cannot start.

        Raises:
            ValueError: ``folder`` is not a folder of :attr:`slot`.
        """
        import time

        folder = Path(folder)
        if folder.parent != self.slot:
            raise ValueError(
                f"{folder} is not a folder of this server's slot {self.slot}"
            )
        log_path = self.slot / f"{folder.name}.log"
        start = time.perf_counter()
        if self.process is not None and self.process.poll() is not None:
            self.close()  # it died since the last run
        if self.process is None and not self._start():
            return None
        request = {
            "folder": str(folder),
            "log": str(log_path),
            "timeout": timeout,
            "memory_bytes": memory_bytes,
            "file_limit": FILE_LIMIT,
        }
        try:
            self.process.stdin.write(json.dumps(request) + "\n")
            self.process.stdin.flush()
            answer = self._answer(timeout=timeout + 60)
        except (BrokenPipeError, OSError):
            answer = None
        if answer is None:
            # The child took the server down with it (or it hung): start afresh
            # next time.
            self.close()
            returncode = -signal.SIGKILL
        else:
            returncode = answer["returncode"]
        text = ""
        if log_path.exists():
            with open(log_path, "rb") as log:
                text = log.read(LOG_BYTES).decode("utf-8", errors="replace")
        return Run(returncode, time.perf_counter() - start, text)

    def clear_slot(self):
        """Remove everything a run left in the slot."""
        for path in self.slot.iterdir():
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def close(self):
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait()
            for stream in (self.process.stdin, self.process.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            self.process = None
            self.server_log.close()


class ForkServerPool:
    """``size`` fork servers, each lent to one submission at a time.

    One server per grading thread.
    """

    def __init__(self, root, size, **server_options):
        import queue

        self.servers = [
            ForkServer(Path(root) / f"slot{index}", **server_options)
            for index in range(size)
        ]
        self.free = queue.Queue()
        for server in self.servers:
            self.free.put(server)

    def acquire(self):
        return self.free.get()

    def release(self, server):
        server.clear_slot()
        self.free.put(server)

    def close(self):
        for server in self.servers:
            server.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
