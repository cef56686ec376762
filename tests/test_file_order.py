"""tests/conftest.py: test files are collected slowest first, by a table of seconds per
file.
"""

import json
import subprocess
import sys
from pathlib import Path

from conftest import FILE_DURATIONS

REPOSITORY = Path(__file__).resolve().parent.parent
# Three files that collect in about a second each (none imports TensorFlow): each test
# here starts pytest.
FILES = [
    "tests/test_data.py",
    "tests/test_count_processes.py",
    "tests/autograder/test_checks.py",
]


def pytest_in_repository(*args):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def collected_tests(*args):
    return [
        line
        for line in pytest_in_repository("--collect-only", "-q", *args).splitlines()
        if "::" in line
    ]


def test_the_shipped_table_lists_the_slow_files():
    seconds = json.loads(FILE_DURATIONS.read_text())
    assert seconds["tests/test_exercises.py"] > seconds["tests/test_data.py"] > 0


def test_slowest_files_come_first_unlisted_ones_last_each_in_its_own_order(tmp_path):
    table = tmp_path / "durations.json"
    table.write_text(
        json.dumps({"tests/autograder/test_checks.py": 9.0, "tests/test_data.py": 2.0})
    )
    collected = collected_tests(f"--file-durations={table}", *FILES)
    order = list(dict.fromkeys(line.split("::")[0] for line in collected))
    assert order == [
        "tests/autograder/test_checks.py",
        "tests/test_data.py",
        "tests/test_count_processes.py",
    ]
    for name in FILES:
        assert [line for line in collected if line.startswith(name)] == collected_tests(
            name
        )


def test_a_run_can_store_each_file_s_seconds(tmp_path):
    table = tmp_path / "durations.json"
    pytest_in_repository(
        "-q",
        f"--file-durations={table}",
        "--store-file-durations",
        "tests/test_count_processes.py",
    )
    stored = json.loads(table.read_text())
    assert list(stored) == ["tests/test_count_processes.py"]
    assert stored["tests/test_count_processes.py"] > 0


def test_xdist_workers_take_the_files_in_that_order_not_by_their_number_of_tests(
    tmp_path,
):
    # pytest-xdist would hand out the file of most tests first (test_data.py, 28 tests)
    # and the one of fewest last (test_count_processes.py, 3); the table says otherwise.
    table = tmp_path / "durations.json"
    table.write_text(
        json.dumps(
            {
                "tests/test_count_processes.py": 9.0,
                "tests/autograder/test_checks.py": 5.0,
                "tests/test_data.py": 2.0,
            }
        )
    )
    out = pytest_in_repository(
        "-n", "1", "--dist", "loadfile", "-v", f"--file-durations={table}", *FILES
    )
    ran = [
        line.split(" PASSED ")[1].split("::")[0]
        for line in out.splitlines()
        if " PASSED " in line
    ]
    assert list(dict.fromkeys(ran)) == [
        "tests/test_count_processes.py",
        "tests/autograder/test_checks.py",
        "tests/test_data.py",
    ], out[-3000:]
