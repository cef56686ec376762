"""``jupyter-book build`` with the chapters executed side by side.

Usage::

    python book/build.py [--jobs N] --all -W -n --keep-going book

takes the options of ``jupyter-book build`` and two more. ``--jobs N``: the
number of Sphinx processes that read (and so execute) the chapters at the same
time, one per CPU core by default. ``make book`` and the tests build the book
with it.

``--students`` builds the students' edition instead (``make book-students``):
Sphinx with the tag ``students`` (book/_ext/students_edition.py then shows the
graded functions as stubs), writing to ``_build/students/html`` from the
chapters ``make book`` has read and executed (the doctrees and environment in
``_build/.doctrees``). It executes nothing: without ``--all`` Sphinx reads only
what changed since, and the extension refuses to read any chapter
(:func:`students_edition`).

Why: every chapter is a notebook whose kernel first spends seconds importing
TensorFlow on one core, then computes. Two chapters at a time fill the cores
that one leaves idle. Jupyter Book 1 passes Sphinx's ``jobs`` argument through
its ``build_sphinx`` function but not from its command line, so this script
gives it.

The cores are shared out: each kernel's TensorFlow gets ``cores // jobs``
threads (at least one; ``TF_NUM_INTRAOP_THREADS`` and
``TF_NUM_INTEROP_THREADS``, unless already set), not a pool as large as the
machine (:func:`share_the_cores`).

The chapters' kernels write their own stderr (TensorFlow's C++ start-up lines,
"E0000 ... failed call to cuInit" among them, which no setting silences, and
ipykernel's copy of every cell's stderr) to ``_build/kernels-stderr.log`` in
the book's folder, not to the terminal; Sphinx's messages and warnings stay on
the terminal. The pages are the same either way: what a cell prints is in its
outputs.
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

KERNELS_STDERR = Path("_build") / "kernels-stderr.log"
STUDENTS_HTML = Path("_build") / "students" / "html"


def split_jobs(argv):
    """``(jobs, the other arguments)``: ``--jobs N`` taken out of ``argv``.

    ``jobs`` defaults to the number of CPU cores. Exits (``SystemExit``) with an
    error message when N is not a positive integer.
    """
    jobs, rest = os.cpu_count() or 1, []
    arguments = iter(argv)
    for argument in arguments:
        if argument == "--jobs" or argument.startswith("--jobs="):
            value = argument.partition("=")[2] or next(arguments, "")
            if not value.isdigit() or int(value) < 1:
                sys.exit(
                    "book/build.py: error: --jobs takes a positive integer, "
                    f"got {value!r}"
                )
            jobs = int(value)
        else:
            rest.append(argument)
    return jobs, rest


def students_edition(build_sphinx):
    """``build_sphinx`` that builds the students' edition from the same doctrees.

    Jupyter Book passes ``outputdir`` = ``<book>/_build/html``; the edition goes
    to ``<book>/_build/students/html``, Sphinx reads its environment and doctrees
    from ``<book>/_build/.doctrees`` (those of ``make book``) and gets the tag
    ``students``. A tag does not invalidate Sphinx's environment (Sphinx 7.4
    compares only the configuration's ``env`` values), so nothing is read again;
    every page is written.
    """

    def build(sourcedir, outputdir, **options):
        build_folder = Path(outputdir).parent
        options["doctreedir"] = build_folder / ".doctrees"
        options["tags"] = [*(options.get("tags") or []), "students"]
        # Write every page (Sphinx's -a): the stubs depend on the solution
        # notebooks and the extension, which Sphinx does not watch.
        options["force_all"] = True
        return build_sphinx(sourcedir, build_folder.parent / STUDENTS_HTML, **options)

    return build


def kernels_write_stderr_to(path):
    """Point file descriptor 2, which the kernels started here inherit, at ``path``.

    This process's own ``sys.stderr`` (where Sphinx writes its warnings) is
    moved to a copy of the old descriptor 2, so it still reaches the terminal.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    terminal = os.dup(2)
    sys.stderr = open(
        terminal,
        "w",
        buffering=1,
        encoding=sys.stderr.encoding,
        errors="backslashreplace",
    )
    log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(log, 2)
    os.close(log)


def share_the_cores(jobs, environment=os.environ):
    """Give each of ``jobs`` processes running at a time ``cores // jobs`` threads.

    The processes are chapters' kernels or test workers.

    Sets TensorFlow's ``TF_NUM_INTRAOP_THREADS`` and ``TF_NUM_INTEROP_THREADS``
    in ``environment`` (which the processes started from it inherit) unless the
    user has set them; returns the number of threads (at least 1).
    """
    threads = max(1, (os.cpu_count() or 1) // jobs)
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        environment.setdefault(name, str(threads))
    return threads


def main(argv=None):
    from jupyter_book import sphinx
    from jupyter_book.cli.main import main as command_line

    jobs, rest = split_jobs(sys.argv[1:] if argv is None else argv)
    # The build command imports build_sphinx when it runs, so it gets this one.
    sphinx.build_sphinx = functools.partial(sphinx.build_sphinx, jobs=jobs)
    if "--students" in rest:
        if "--all" in rest:
            sys.exit(
                "book/build.py: error: --students reuses the chapters `make book` "
                "executed; --all would execute them again"
            )
        rest.remove("--students")
        sphinx.build_sphinx = students_edition(sphinx.build_sphinx)
        # Jupyter Book's closing message names the folder it asked for.
        from jupyter_book.cli import main as cli

        actions = cli.builder_specific_actions
        cli.builder_specific_actions = lambda result, builder, output, *more: actions(
            result, builder, Path(output).parent.parent / STUDENTS_HTML, *more
        )
        # No kernel starts: the log of the last `make book` stays as it was.
        command_line(["build", *rest], prog_name="jupyter-book")
        return
    share_the_cores(jobs)
    source = Path(rest[-1]) if rest and Path(rest[-1]).is_dir() else Path.cwd()
    kernels_write_stderr_to(source / KERNELS_STDERR)
    try:
        command_line(["build", *rest], prog_name="jupyter-book")
    except SystemExit as exit:
        if exit.code not in (None, 0):
            print(
                "book/build.py: the chapters' kernels wrote their stderr to "
                f"{source / KERNELS_STDERR}",
                file=sys.stderr,
            )
        raise


if __name__ == "__main__":
    main()
