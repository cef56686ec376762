"""``convviz-grade release``: generate exercises/ from solutions/ with nbgrader.

nbgrader's own ``generate_assignment`` does the work (it removes the
solution regions and the hidden tests, locks the test cells and records
their checksums); this module only runs it for each assignment, without a
gradebook, and reports. Every assignment is generated in one nbgrader
process (``python -m convviz_grade.release``), which imports nbgrader once:
a process per assignment spent most of its 3 s importing it.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from convviz_grade.locations import repository

# The course folder by default: the clone convviz is installed from (None for an ordinary install).
REPOSITORY = repository()


def default_course_dir():
    """The repository, when convviz runs from a clone; else a clear error."""
    if REPOSITORY is None:
        raise FileNotFoundError("convviz is installed from a package, not a clone of the course: "
                                "pass --course-dir DIR")
    return REPOSITORY


def list_assignments(course_dir=None):
    """Names of the assignments: the folders of ``solutions/``, sorted."""
    source = Path(course_dir or default_course_dir()) / "solutions"
    if not source.is_dir():
        return []
    return sorted(path.name for path in source.iterdir() if path.is_dir() and not path.name.startswith("."))


def nbgrader_environment():
    """The environment nbgrader needs: this Python's ``bin/`` first on PATH.

    nbgrader runs the ``alembic`` executable when it touches a gradebook, and
    finds it on PATH only.
    """
    environment = dict(os.environ)
    bin_dir = str(Path(sys.executable).parent)
    environment["PATH"] = bin_dir + os.pathsep + environment.get("PATH", "")
    return environment


def release(assignments=None, *, course_dir=None, stream=None):
    """Generate the student notebooks of ``assignments`` (all when None).

    Returns:
        int, the exit code: 0 when every assignment was generated, else 1.
    """
    stream = stream or sys.stdout
    course_dir = Path(course_dir or default_course_dir()).resolve()
    known = list_assignments(course_dir)
    assignments = list(assignments or known)
    unknown = [name for name in assignments if name not in known]
    if unknown:
        print(f"error: no assignment {', '.join(unknown)} in {course_dir / 'solutions'} "
              f"(assignments: {', '.join(known)})", file=stream)
        return 2
    command = [sys.executable, "-m", "convviz_grade.release", str(course_dir), *assignments]
    result = subprocess.run(command, cwd=course_dir, env=nbgrader_environment(), capture_output=True, text=True)
    reports = {}
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            report = json.loads(line)
            reports[report["assignment"]] = report
    failed = 0
    for assignment in assignments:
        report = reports.get(assignment)
        status = "released" if report and report["ok"] else "FAILED"
        print(f"{assignment:<14} {status:<9} -> {Path('exercises') / assignment}", file=stream)
        if status == "FAILED":
            failed += 1
            # nbgrader's own log of this assignment; the process's stderr if it died before reporting
            print((report["log"] if report else result.stderr).strip()[-2000:], file=stream)
    return 1 if failed else 0


def _generate_each(course_dir, assignments):
    """nbgrader's ``generate_assignment --no-db --force`` for each assignment, in this process.

    Prints one JSON line per assignment: ``{"assignment", "ok", "log"}``,
    where ``log`` is what nbgrader logged while generating it.
    """
    from nbgrader.apps import GenerateAssignmentApp
    from nbgrader.converters import GenerateAssignment
    from nbgrader.converters.base import NbGraderException

    app = GenerateAssignmentApp()
    app.initialize(["--no-db", "--force", f"--CourseDirectory.root={course_dir}"])
    for assignment in assignments:
        log = io.StringIO()
        handler = logging.StreamHandler(log)
        handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
        app.log.addHandler(handler)
        app.coursedir.assignment_id = assignment
        try:
            GenerateAssignment(coursedir=app.coursedir, parent=app).start()
            ok = True
        except NbGraderException:
            ok = False
        finally:
            app.log.removeHandler(handler)
        print(json.dumps({"assignment": assignment, "ok": ok, "log": log.getvalue()}), flush=True)


if __name__ == "__main__":
    _generate_each(sys.argv[1], sys.argv[2:])
