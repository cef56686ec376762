"""``convviz-grade``: the course's exercise workflow on top of nbgrader.

Subcommands (each a thin call into its own module):

* ``release [ASSIGNMENT ...]``: generate exercises/ from solutions/;
* ``validate NOTEBOOK``: run a notebook's tests, report per function.
"""

from __future__ import annotations

import argparse
import sys


def build_parser():
    parser = argparse.ArgumentParser(prog="convviz-grade", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=_versions())
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser("release", help="generate exercises/ from solutions/ with nbgrader")
    release.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="default: all")

    validate = commands.add_parser("validate", help="run a notebook's tests and report per function")
    validate.add_argument("notebook", metavar="NOTEBOOK")
    validate.add_argument("--timeout", type=int, default=300, help="seconds per cell (default 300)")
    return parser


def _versions():
    from importlib.metadata import version

    return f"convviz-grade {version('convviz')} (nbgrader {version('nbgrader')})"


def main(argv=None, stream=None):
    """Run the command line; return the exit code."""
    stream = stream or sys.stdout
    args = build_parser().parse_args(argv)
    if args.command == "release":
        from convviz_grade.release import release

        return release(args.assignments, stream=stream)
    if args.command == "validate":
        from convviz_grade.validate import validate

        return validate(args.notebook, timeout=args.timeout, stream=stream)
    raise AssertionError(f"unhandled command {args.command}")  # argparse prevents this


def console():
    """Entry point of the ``convviz-grade`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    console()
