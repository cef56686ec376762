"""``jupyter-book build`` with the chapters executed side by side.

Usage::

    python book/build.py [--jobs N] --all -W -n --keep-going book

takes the options of ``jupyter-book build`` and one more, ``--jobs N``: the
number of Sphinx processes that read (and so execute) the chapters at the same
time, one per CPU core by default. ``make book`` and the tests build the book
with it.

Why: every chapter is a notebook whose kernel first spends seconds importing
TensorFlow on one core, then computes on all of them. Two chapters at a time
fill the cores that one leaves idle. Jupyter Book 1 passes Sphinx's ``jobs``
argument through its ``build_sphinx`` function but not from its command line,
so this script gives it, and changes nothing else.
"""

from __future__ import annotations

import functools
import os
import sys


def split_jobs(argv):
    """``(jobs, the other arguments)``: ``--jobs N`` taken out of ``argv``."""
    jobs, rest = os.cpu_count() or 1, []
    arguments = iter(argv)
    for argument in arguments:
        if argument == "--jobs" or argument.startswith("--jobs="):
            value = argument.partition("=")[2] or next(arguments, "")
            if not value.isdigit() or int(value) < 1:
                sys.exit(f"book/build.py: error: --jobs takes a positive integer, got {value!r}")
            jobs = int(value)
        else:
            rest.append(argument)
    return jobs, rest


def main(argv=None):
    from jupyter_book import sphinx
    from jupyter_book.cli.main import main as command_line

    jobs, rest = split_jobs(sys.argv[1:] if argv is None else argv)
    # The build command imports build_sphinx when it runs, so it gets this one.
    sphinx.build_sphinx = functools.partial(sphinx.build_sphinx, jobs=jobs)
    command_line(["build", *rest], prog_name="jupyter-book")


if __name__ == "__main__":
    main()
