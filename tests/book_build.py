"""Locate the built book, building it first when it is missing or stale.

``make test`` runs this file before pytest starts its workers
(``python tests/book_build.py``), so that a stale book is built while nothing
else competes for the cores and no worker waits for it.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
BOOK = REPOSITORY / "book"
HTML = BOOK / "_build" / "html"
STUDENTS_HTML = BOOK / "_build" / "students" / "html"
CHAPTERS = sorted(path.stem for path in BOOK.glob("[0-9][0-9]_*.md"))


def build_script():
    """``book/build.py`` as a module (it imports Jupyter Book only when it builds)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "book_build_script", BOOK / "build.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def jupyter_book_command(source, *extra):
    """What ``make book`` runs: ``jupyter-book build`` through book/build.py (chapters
    side by side).
    """
    return [
        sys.executable,
        str(BOOK / "build.py"),
        "--all",
        "-W",
        "-n",
        "--keep-going",
        *extra,
        str(source),
    ]


STUDENTS_ONLY = BOOK / "_ext" / "students_edition.py"
"""The extension that does nothing without the tag ``students``: not a source of
the self-study edition (:func:`built_students_edition` rebuilds the other)."""


def sources():
    """Every file the book is made from: its own files and the library it shows."""
    own = [
        p
        for p in BOOK.rglob("*")
        if p.is_file() and "_build" not in p.parts and p != STUDENTS_ONLY
    ]
    library = list((REPOSITORY / "convviz_ref").glob("*.py"))
    return own + library


def is_stale():
    """True when a chapter's page is missing or older than the newest source of the
    book.
    """
    pages = [
        HTML / f"{name}.html" for name in ["intro", *CHAPTERS]
    ]  # index.html is a redirect written once
    newest_source = max(p.stat().st_mtime for p in sources())
    return (
        not all(page.exists() for page in pages)
        or min(p.stat().st_mtime for p in pages) < newest_source
    )


def built_book():
    """Path of book/_build/html, rebuilt (every chapter executed) if stale.

    ``.ci/run`` builds the book with ``make book`` before the tests, so the
    tests reuse that build; on a fresh clone, ``make test`` builds it here.
    """
    # Two test processes (pytest -n 2) may ask at once: the first builds, the other
    # waits and reuses.
    (BOOK / "_build").mkdir(exist_ok=True)
    with open(BOOK / "_build" / ".tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_stale():
            result = subprocess.run(
                jupyter_book_command(BOOK),
                cwd=REPOSITORY,
                capture_output=True,
                text=True,
            )
            assert result.returncode == 0, (
                "the book failed to build:\n"
                + result.stdout[-4000:]
                + result.stderr[-4000:]
            )
    return HTML


def built_students_edition():
    """``(path of book/_build/students/html, seconds, the build's output)``.

    Builds the self-study edition first if stale (:func:`built_book`), then
    the students' edition from its doctrees, every time (it executes nothing),
    as ``make book-students`` does.
    """
    import time

    built_book()
    with open(BOOK / "_build" / ".tests.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        start = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable,
                str(BOOK / "build.py"),
                "--students",
                "-W",
                "-n",
                "--keep-going",
                str(BOOK),
            ],
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - start
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        "the students' edition failed to build:\n" + output[-6000:]
    )
    return STUDENTS_HTML, seconds, output


if __name__ == "__main__":
    import time

    if is_stale():
        print(
            "the book is missing or older than its sources: building it before the "
            "tests",
            flush=True,
        )
        start = time.perf_counter()
        built_book()
        print(f"book built in {time.perf_counter() - start:.0f} s", flush=True)
    else:
        print("the book is up to date", flush=True)
