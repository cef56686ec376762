"""Shared test set-up: the network is cut, and the slowest test files start first.

Fixtures shared by several test files: Debian's Chromium (``browser``), and the
grader tests' assignment, fork server, blank release and notebook runs, which
read the test module's ``ASSIGNMENT``.
"""

from __future__ import annotations

import collections
import json
import os
import socket
from pathlib import Path

import browser_pages
import pytest
from book_build import build_script

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


# TensorFlow sizes its thread pools to every core of the machine in each process. `make
# test` runs more pytest-xdist workers than cores (see the Makefile), so each worker's
# TensorFlow, and the kernels and commands it starts, get the workers' share of the
# cores instead: one thread on the 2-core machines, unless TF_NUM_INTRAOP_THREADS /
# TF_NUM_INTEROP_THREADS are set already. Threads waiting for a core cost CPU without
# doing work. The arithmetic is book/build.py's share_the_cores, which shares the cores
# among the book's kernels. Student code in the grader's sandbox gets a clean
# environment of its own, and tests/test_train.py retrains with TensorFlow's default
# threads, as a user does.
def share_the_cores(environment):
    """Set the TensorFlow threads of a pytest-xdist worker in ``environment``; returns
    them (None outside xdist).
    """
    workers = environment.get("PYTEST_XDIST_WORKER_COUNT")
    return (
        None
        if workers is None
        else build_script().share_the_cores(int(workers), environment)
    )


share_the_cores(os.environ)
# The tests read the shapes dataset through the library's own disk cache
# (convviz_ref.cache), so a session reuses the images the book and `make demo` drew
# instead of drawing all 9,000 again (about 40 s on a slow machine). An entry's name
# holds a fingerprint of the generator's source and of NumPy, SciPy and scikit-image, so
# images of an older generator are never read; an unreadable entry is drawn again.
# tests/test_cache.py checks the cache itself in folders of its own. To draw everything
# anew, run with CONVVIZ_CACHE_DIR=off (or an empty folder).

# pytest-xdist (`make test`) hands each worker a whole test file at a time, in
# collection order (pytest_configure below keeps xdist from reordering). A slow file
# that comes late keeps one worker busy after the others have run out of work, so the
# files are collected slowest first, by the seconds each took in a whole run of `make
# test` on 2 cores (AVX-512 kind). Those figures only order the files: a file that is
# not listed comes after the listed ones, in its usual place. Add
# `--store-file-durations` to a whole run (`.venv/bin/python -m pytest -n 4 --dist
# loadfile --store-file-durations`) to measure them anew.
FILE_DURATIONS = Path(__file__).with_name("file_durations.json")


def pytest_addoption(parser):
    parser.addoption(
        "--file-durations",
        default=str(FILE_DURATIONS),
        metavar="PATH",
        help="the JSON table of seconds per test file that orders the files (default: "
        "%(default)s)",
    )
    parser.addoption(
        "--store-file-durations",
        action="store_true",
        help="write each test file's seconds in this run (set-up, call, tear-down) to "
        "--file-durations",
    )


def _file_of(nodeid):
    return nodeid.split("::", 1)[0]


def pytest_configure(config):
    # pytest-xdist 3 sorts the files of `--dist loadfile` by their number of tests, most
    # first, unless told `--no-loadscope-reorder`: that order, not this table's, decided
    # which file a worker took next, so the slowest files (a graded class, a few long
    # tests) started late and set the tail of the run. Told here, every xdist run keeps
    # the collection order, slowest first.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config, items):
    path = Path(config.getoption("file_durations"))
    seconds = json.loads(path.read_text()) if path.exists() else {}
    first = {}
    for index, item in enumerate(items):
        first.setdefault(_file_of(item.nodeid), index)
    # A stable sort on the file alone keeps each file's tests in their own order.
    items.sort(
        key=lambda item: (
            -seconds.get(_file_of(item.nodeid), 0.0),
            first[_file_of(item.nodeid)],
        )
    )


_seconds_by_file = collections.Counter()


def pytest_runtest_logreport(report):
    _seconds_by_file[_file_of(report.nodeid)] += (
        report.duration
    )  # the xdist controller gets every report


def pytest_sessionfinish(session):
    config = session.config
    if config.getoption("store_file_durations") and not hasattr(config, "workerinput"):
        table = {
            name: round(value, 1) for name, value in _seconds_by_file.most_common()
        }
        Path(config.getoption("file_durations")).write_text(
            json.dumps(table, indent=1) + "\n"
        )


_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", None}


class NetworkAttempts(list):
    """Every attempt a test made to reach a non-local host (each one was refused)."""


def _is_local_host(host):
    if isinstance(host, bytes):
        host = host.decode()
    return host in _LOCAL_HOSTS or str(host).startswith("127.")


def _is_local(address):
    """True for an AF_UNIX path or a loopback (host, port, ...) tuple."""
    if isinstance(address, (str, bytes)):
        return True
    return _is_local_host(address[0])


@pytest.fixture(autouse=True)
def network_attempts(monkeypatch, request):
    """Refuse every connection to a non-local host, and fail the test that tried.

    The refusal is an ``OSError`` (what a machine without network gives), so
    code under test sees exactly what an offline user sees. A test that
    checks offline behaviour marks itself ``@pytest.mark.tries_network`` and
    asserts on the recorded attempts; any other test that tries fails.
    """
    attempts = NetworkAttempts()

    def refuse(what):
        attempts.append(what)
        raise OSError(f"network access is blocked in tests: {what!r}")

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(sock, address):
        if not _is_local(address):
            refuse(address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        if not _is_local(address):
            refuse(address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local_host(host):
            refuse(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    if attempts and request.node.get_closest_marker("tries_network") is None:
        pytest.fail(f"test tried to reach the network: {attempts}")


# The grader's tests of one assignment (tests/autograder/test_secure_grading_*.py and
# test_exercise_*.py) name it in a module-level ASSIGNMENT; these fixtures read it.
# Their helpers live in tests/autograder/exercise_tools.py, importable once such a
# module is.


@pytest.fixture(scope="module")
def graded_assignment(request):
    """The module's ``ASSIGNMENT``, a :class:`convviz_grade.grading.Assignment` of its
    solution.
    """
    from convviz_grade import grading
    from exercise_tools import solution_notebook

    name = request.module.ASSIGNMENT
    return grading.Assignment(name, solution_notebook(name))


@pytest.fixture(scope="module")
def notebook_runs(request, tmp_path_factory):
    """The module's ``ASSIGNMENT`` notebook run with ``CORRECT``, then with
    ``MISTAKEN``.

    Both sets of answers (dicts, grade_id to source) run in one kernel; the
    fixture is ``[(results, other_errors)] * 2`` (exercise_tools.run_answer_sets).
    """
    from exercise_tools import run_answer_sets

    module = request.module
    return run_answer_sets(
        module.ASSIGNMENT,
        [module.CORRECT, module.MISTAKEN],
        tmp_path_factory.mktemp("runs"),
    )


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium, headless (browser_pages.launch), one per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = browser_pages.launch(playwright)
        yield browser
        browser.close()
