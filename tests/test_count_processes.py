"""tools/count_processes.py: the Python processes a command starts, their TensorFlow
imports, their CPU.
"""

import re
import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parent.parent / "tools" / "count_processes.py"


def count_processes(*command):
    """tools/count_processes.py running ``command``."""
    return subprocess.run(
        [sys.executable, str(TOOL), *command],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_counts_each_python_process_and_the_cpu_it_used():
    # An outer `python -c` that starts an inner one, which spends some CPU; neither
    # imports TensorFlow.
    inner = "sum(i * i for i in range(3 * 10**6))"
    outer = (
        "import subprocess, sys; subprocess.run([sys.executable, '-c', "
        f"{inner!r}], check=True)"
    )
    result = count_processes(sys.executable, "-c", outer)
    assert result.returncode == 0, result.stderr
    summary = re.search(
        r"(\d+) Python processes started, (\d+) imported TensorFlow, ([0-9.]+) CPU "
        r"seconds",
        result.stdout,
    )
    assert summary, result.stdout
    assert (int(summary[1]), int(summary[2])) == (2, 0)
    assert float(summary[3]) > 0.05, "the inner process's loop is counted"
    assert re.search(
        r"^\s+2  python -c  \(0 with TensorFlow, [0-9.]+ CPU s\)$", result.stdout, re.M
    ), result.stdout


def test_passes_on_the_command_s_exit_code():
    result = count_processes(sys.executable, "-c", "raise SystemExit(3)")
    assert result.returncode == 3


def test_a_command_line_with_newlines_and_tabs_is_one_record():
    # `python -c` with a program of several lines (the tests start many) once broke the
    # log into lines the tool could not read, after the whole of `make test` had run.
    program = "import sys\nif True:\n\tsys.exit(0)"
    result = count_processes(sys.executable, "-c", program)
    assert result.returncode == 0, result.stderr
    assert "1 Python processes started" in result.stdout, result.stdout
