"""Count the Python processes a command starts, how many import TensorFlow, and the CPU
they use.

Usage::

    python tools/count_processes.py make test

runs the command with a ``sitecustomize`` module on ``PYTHONPATH`` that records, in
every Python process that starts under it, its start and whether it imports
``tensorflow`` (an audit hook on imports) and, at its exit, the CPU seconds it used
(``os.times``; a process killed by a signal reports none); then prints the totals and
the commonest kinds of process. Processes started with ``python -I`` (the grader's
sandboxed workers and fork servers) ignore ``PYTHONPATH`` and are not counted; neither
are children a fork server forks, which start no interpreter.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import tempfile
from pathlib import Path

SITECUSTOMIZE = """
import os, sys
_log = os.environ.get("CONVVIZ_PROCESS_LOG")
if _log:
    def _write(kind):
        try:
            with open(_log, "a") as file:
                # One line each: tabs and newlines become spaces.
                command = " ".join(sys.orig_argv[1:])
                command = command.translate({9: " ", 10: " ", 13: " "})
                file.write(f"{kind}\\t{os.getpid()}\\t{command[:300]}\\n")
        except OSError:
            pass
    _write("start")
    def _hook(event, args, _done=[]):
        if event == "import" and args[0] == "tensorflow" and not _done:
            _done.append(True)
            _write("tensorflow")
    sys.addaudithook(_hook)
    import atexit
    def _cpu():
        times = os.times()
        _write(f"cpu {times.user + times.system:.2f}")
    atexit.register(_cpu)
"""


def kind(argv):
    """A short name for what a process was: ``python -m MODULE``, ``python -c`` or its
    script's name.
    """
    parts = [
        part for part in argv.split() if part not in ("-I", "-u", "-E", "-s", "-B")
    ]
    if not parts:
        return "python (no arguments)"
    if parts[0] == "-m" and len(parts) > 1:
        return f"python -m {parts[1]}"
    if parts[0] == "-c":
        return "python -c"
    return Path(parts[0]).name


def main(argv=None):
    command = sys.argv[1:] if argv is None else argv
    if not command:
        sys.exit("usage: python tools/count_processes.py COMMAND [ARGS...]")
    with tempfile.TemporaryDirectory(prefix="count-processes-") as folder:
        (Path(folder) / "sitecustomize.py").write_text(SITECUSTOMIZE)
        log = Path(folder) / "processes.log"
        log.touch()
        path = os.pathsep.join(filter(None, [folder, os.environ.get("PYTHONPATH")]))
        returncode = subprocess.call(
            command, env=dict(os.environ, PYTHONPATH=path, CONVVIZ_PROCESS_LOG=str(log))
        )
        lines = [line.split("\t", 2) for line in log.read_text().splitlines()]
    starts = {pid: argv for what, pid, argv in lines if what == "start"}
    imports = {pid for what, pid, _ in lines if what == "tensorflow"}
    cpu = collections.Counter()
    for what, pid, _ in lines:
        if what.startswith("cpu ") and pid in starts:
            cpu[kind(starts[pid])] += float(what.split()[1])
    print(
        f"\n{' '.join(command)}: {len(starts)} Python processes started, "
        f"{len(imports)} imported TensorFlow, "
        f"{sum(cpu.values()):.1f} CPU seconds reported at exit "
        f"(not counted: python -I, the grader's sandboxed workers and fork servers)"
    )
    counts = collections.Counter(kind(argv) for argv in starts.values())
    with_tf = collections.Counter(kind(starts[pid]) for pid in imports if pid in starts)
    for name, count in counts.most_common(12):
        print(
            f"  {count:5d}  {name}  ({with_tf.get(name, 0)} with TensorFlow, "
            f"{cpu.get(name, 0):.1f} CPU s)"
        )
    return returncode


if __name__ == "__main__":
    sys.exit(main())
