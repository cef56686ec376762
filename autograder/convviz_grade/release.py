"""``convviz-grade release``: generate exercises/ from solutions/ with nbgrader.

nbgrader's own ``generate_assignment`` does the work (it removes the
solution regions and the hidden tests, locks the test cells and records
their checksums); this module only runs it for each assignment, without a
gradebook, and reports. :func:`generate` runs nbgrader's converter in this
process, not in a new ``python -m nbgrader``, with the course's
``nbgrader_config.py`` and a log of its own. ``convviz-grade autograde``
registers an assignment in its gradebook with the same function.
"""

from __future__ import annotations

import copy
import io
import logging
import os
import sys
from pathlib import Path

from convviz_grade.locations import repository

# The course folder by default: the clone convviz is installed from (None for an
# ordinary install).
REPOSITORY = repository()


def default_course_dir():
    """The repository, when convviz runs from a clone; else a clear error."""
    if REPOSITORY is None:
        raise FileNotFoundError(
            "convviz is installed from a package, not a clone of the course: "
            "pass --course-dir DIR"
        )
    return REPOSITORY


def list_assignments(course_dir=None):
    """Names of the assignments: the folders of ``solutions/``, sorted."""
    source = Path(course_dir or default_course_dir()) / "solutions"
    if not source.is_dir():
        return []
    return sorted(
        path.name
        for path in source.iterdir()
        if path.is_dir() and not path.name.startswith(".")
    )


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
        print(
            f"error: no assignment {', '.join(unknown)} in {course_dir / 'solutions'} "
            f"(assignments: {', '.join(known)})",
            file=stream,
        )
        return 2
    config = course_config(course_dir)
    failed = 0
    for assignment in assignments:
        ok, log = generate(config, assignment, database=False)
        print(
            f"{assignment:<14} {'released' if ok else 'FAILED':<9} "
            f"-> {Path('exercises') / assignment}",
            file=stream,
        )
        if not ok:
            failed += 1
            # nbgrader's own log of this assignment.
            print(log.strip()[-2000:], file=stream)
    return 1 if failed else 0


def course_config(course_dir):
    """The traitlets config of the course.

    It is the course's ``nbgrader_config.py``, with ``CourseDirectory.root`` set to
    the course folder.

    Raises:
        FileNotFoundError: the folder has no ``nbgrader_config.py``.
    """
    from traitlets.config.loader import PyFileConfigLoader

    root = Path(course_dir).resolve()
    if not (root / "nbgrader_config.py").is_file():
        raise FileNotFoundError(
            f"no nbgrader_config.py in {root}: is it a course folder?"
        )
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    config.CourseDirectory.root = str(root)
    return config


def generate(config, assignment, *, database=True):
    """Run ``nbgrader generate_assignment ASSIGNMENT --force``, in this process.

    With ``--no-db`` unless ``database``.

    nbgrader's converter writes the students' copy to the release folder and,
    with ``database``, records the assignment and its graded cells in the
    gradebook of ``config``. Its log goes to a logger of this call only, never
    to the caller's handlers or the terminal. The converter works from the
    course folder (it changes the working directory while it converts, then
    back), so call this before starting any thread that uses relative paths.

    Args:
        config: a course's config (:func:`course_config`).
        assignment: str, the folder of ``solutions/`` to generate.

    Returns:
        ``(ok, log)``: bool, and nbgrader's log as text.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.converters.base import NbGraderException
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    captured = io.StringIO()
    handler = logging.StreamHandler(captured)
    handler.setFormatter(logging.Formatter("[%(levelname)s] %(message)s"))
    # Not getLogger: no parent, no global state.
    log = logging.Logger("convviz_grade.generate", logging.INFO)
    log.addHandler(handler)
    if not database:  # what nbgrader's --no-db flag sets
        config = copy.deepcopy(config)
        config.merge(
            Config(
                {
                    "SaveCells": {"enabled": False},
                    "GenerateAssignment": {"no_database": True},
                }
            )
        )
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment
    converter = GenerateAssignment(coursedir=coursedir, config=config, log=log)
    converter.force = True
    try:
        converter.start()
    except NbGraderException:
        return False, captured.getvalue()
    return True, captured.getvalue()


def first_reason(log):
    """nbgrader's reason in one line.

    Returns:
        str: the first exception line of its ``log`` (``"ValidationError: ..."``),
        else its last line.
    """
    lines = [line for line in log.splitlines() if line.strip()]
    for line in lines:
        name, colon, message = line.partition(": ")
        if colon and name.endswith(("Error", "Exception")) and " " not in name:
            return f"{name.rpartition('.')[2]}: {message}"
    return lines[-1].strip() if lines else "nbgrader logged nothing"
