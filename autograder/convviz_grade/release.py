"""``convviz-grade release``: generate exercises/ from solutions/ with nbgrader.

nbgrader's own ``generate_assignment`` does the work (it removes the
solution regions and the hidden tests, locks the test cells and records
their checksums); this module only runs it for each assignment, without a
gradebook, and reports.
"""

from __future__ import annotations

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
    failed = 0
    for assignment in assignments:
        command = [
            sys.executable, "-m", "nbgrader", "generate_assignment", assignment,
            "--no-db", "--force", f"--CourseDirectory.root={course_dir}",
        ]
        result = subprocess.run(command, cwd=course_dir, env=nbgrader_environment(),
                                capture_output=True, text=True)
        status = "released" if result.returncode == 0 else "FAILED"
        print(f"{assignment:<14} {status:<9} -> {Path('exercises') / assignment}", file=stream)
        if result.returncode != 0:
            failed += 1
            print(result.stderr.strip()[-2000:], file=stream)
    return 1 if failed else 0
