"""``convviz-grade``: the course's exercise workflow on top of nbgrader.

Subcommands (each a thin call into its own module):

* ``release [ASSIGNMENT ...]``: generate exercises/ from solutions/;
* ``validate NOTEBOOK``: run a notebook's tests, report per function;
* ``autograde ASSIGNMENT --submissions DIR``: grade a class into the gradebook,
  student code isolated from the verdict (see :mod:`convviz_grade.grading`);
* ``export --out FILE.csv``: scores per student, assignment and function;
* ``feedback ASSIGNMENT``: an HTML report per student;
* ``benchmark``: grading throughput against nbgrader's own autograde.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from convviz_ref.arguments import positive_int as _positive_int


def build_parser():
    parser = argparse.ArgumentParser(
        prog="convviz-grade", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--version", action="version", version=_versions())
    commands = parser.add_subparsers(dest="command", required=True)

    release = commands.add_parser(
        "release", help="generate exercises/ from solutions/ with nbgrader"
    )
    release.add_argument(
        "assignments", nargs="*", metavar="ASSIGNMENT", help="default: all"
    )
    release.add_argument(
        "--course-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="the course folder (default: this repository)",
    )

    validate = commands.add_parser(
        "validate", help="run a notebook's tests and report per function"
    )
    validate.add_argument("notebook", metavar="NOTEBOOK")
    validate.add_argument(
        "--timeout", type=int, default=300, help="seconds per cell (default 300)"
    )

    autograde = commands.add_parser(
        "autograde", help="grade every student's submission into the gradebook"
    )
    autograde.add_argument("assignment", metavar="ASSIGNMENT")
    autograde.add_argument(
        "--submissions",
        required=True,
        type=Path,
        metavar="DIR",
        help="DIR/<student>/<ASSIGNMENT>/<ASSIGNMENT>.ipynb",
    )
    autograde.add_argument(
        "--course-dir",
        type=Path,
        default=Path("."),
        metavar="DIR",
        help="the nbgrader course folder (default: the current folder)",
    )
    autograde.add_argument(
        "--jobs",
        type=_positive_int,
        default=1,
        metavar="N",
        help="students graded at once",
    )
    autograde.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds a student's code may run before it is cut (default 60)",
    )
    autograde.add_argument(
        "--memory",
        type=_positive_int,
        default=4096,
        metavar="MB",
        help="address-space limit of a student's process (default 4096)",
    )
    autograde.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="grade on a Dask cluster, e.g. tcp://host:8786",
    )
    autograde.add_argument(
        "--isolation",
        choices=("auto", "bwrap", "none"),
        default="auto",
        help="bubblewrap (default when it works here) or none",
    )
    autograde.add_argument(
        "--hide",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="one more folder student code must not see (a copy of the solutions, "
        "say); repeatable",
    )
    autograde.add_argument(
        "--no-fork-server",
        action="store_true",
        help="start a new sandboxed Python for every run instead of forking one per "
        "job that has imported the libraries once",
    )
    autograde.add_argument("--no-progress", action="store_true", help="no progress bar")

    export = commands.add_parser(
        "export", help="one CSV row per student x assignment x graded function"
    )
    export.add_argument("--out", required=True, type=Path, metavar="FILE.csv")
    export.add_argument("--course-dir", type=Path, default=Path("."), metavar="DIR")

    feedback = commands.add_parser(
        "feedback", help="an HTML report per student: scores and explanations"
    )
    feedback.add_argument("assignment", metavar="ASSIGNMENT")
    feedback.add_argument("--course-dir", type=Path, default=Path("."), metavar="DIR")
    feedback.add_argument(
        "--force",
        action="store_true",
        help="replace the pages `nbgrader generate_feedback` wrote (kept by default)",
    )

    benchmark = commands.add_parser(
        "benchmark", help="submissions per minute: nbgrader vs --jobs 1 vs --jobs 2"
    )
    benchmark.add_argument("--assignment", default="gradcam")
    benchmark.add_argument("--students", type=_positive_int, default=40, metavar="N")
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

        try:
            return release(args.assignments, course_dir=args.course_dir, stream=stream)
        except FileNotFoundError as error:
            print(f"error: {error}", file=stream)
            return 2
    if args.command == "validate":
        from convviz_grade.validate import validate

        return validate(args.notebook, timeout=args.timeout, stream=stream)
    if args.command in (
        "autograde",
        "benchmark",
    ):  # the grader builds Keras models in this process
        from convviz_ref.quiet_start import start_tensorflow_quietly

        start_tensorflow_quietly()
    if args.command == "autograde":
        from convviz_grade.autograde import autograde

        try:
            return autograde(
                args.assignment,
                args.submissions,
                course_dir=args.course_dir,
                jobs=args.jobs,
                timeout=args.timeout,
                memory_mb=args.memory,
                isolation=args.isolation,
                scheduler=args.scheduler,
                hide=args.hide,
                fork_server=not args.no_fork_server,
                progress=not args.no_progress,
                stream=stream,
            )
        except (FileNotFoundError, RuntimeError, ValueError) as error:
            print(f"error: {error}", file=stream)
            return 2
    if args.command == "benchmark":
        from convviz_grade.benchmark import run

        try:
            run(args.assignment, args.students, stream=stream)
        except FileNotFoundError as error:
            print(f"error: {error}", file=stream)
            return 2
        return 0
    if args.command in ("export", "feedback"):
        from convviz_grade import report

        try:
            if args.command == "export":
                return report.export(args.course_dir, args.out, stream=stream)
            return report.feedback(
                args.assignment, args.course_dir, force=args.force, stream=stream
            )
        except FileNotFoundError as error:
            print(f"error: {error}", file=stream)
            return 2
    raise AssertionError(f"unhandled command {args.command}")  # argparse prevents this


def console():
    """Entry point of the ``convviz-grade`` console script."""
    sys.exit(main())


if __name__ == "__main__":
    console()
