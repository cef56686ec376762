"""A throwaway nbgrader course that uses the convviz configuration."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from convviz_grade.autograde import create_gradebook
from convviz_grade.release import nbgrader_environment
from convviz_grade.validate import KERNEL_PORT_RACE

REPOSITORY = Path(__file__).resolve().parents[2]


class Course:
    """A course folder under ``root`` with our nbgrader_config.py loaded.

    Its gradebook is created at once, as ``convviz-grade autograde`` creates one
    (:func:`convviz_grade.autograde.create_gradebook`, tested against nbgrader's
    own): nbgrader's first command would otherwise start the ``alembic``
    executable for it, about 3 s of CPU per course. ``gradebook=False`` leaves
    that to the first command that grades.
    """

    def __init__(self, root, db_url=None, *, gradebook=True):
        self.root = Path(root)
        self.db = self.root / "grading" / "gradebook.db"
        self.db_url = db_url or f"sqlite:///{self.db}"
        (self.root / "grading").mkdir(parents=True, exist_ok=True)
        ours = REPOSITORY / "autograder" / "nbgrader_config.py"
        (self.root / "nbgrader_config.py").write_text(
            "c = get_config()\n"
            f"load_subconfig({str(ours)!r})\n"
            f"c.CourseDirectory.root = {str(self.root)!r}\n"
            f"c.CourseDirectory.db_url = {self.db_url!r}\n"
        )
        if gradebook:
            create_gradebook(self.db_url)

    def nbgrader(self, *args):
        # A second attempt only for a kernel that lost the port race
        # (validate.KERNEL_PORT_RACE).
        for _attempt in (1, 2):
            result = subprocess.run(
                [sys.executable, "-m", "nbgrader", *args],
                cwd=self.root,
                env=nbgrader_environment(),
                capture_output=True,
                text=True,
                timeout=900,
            )
            if result.returncode == 0 or KERNEL_PORT_RACE not in result.stderr:
                break
        assert result.returncode == 0, (
            f"nbgrader {' '.join(args)} failed:\n{result.stderr[-3000:]}"
        )
        return result

    def add_source(self, assignment, notebook):
        """Put a source notebook (an nbformat node or a path to copy) in solutions/.

        The assignment is generated as ``nbgrader generate_assignment ASSIGNMENT
        --force`` generates it, in this process
        (:meth:`convviz_grade.autograde.Course.register`: the same release and
        gradebook rows, test_autograde.py checks): a ``nbgrader`` process would
        cost about a second of CPU more, to start.
        """
        from convviz_grade.autograde import Course as ConfiguredCourse

        put_notebook(self.root / "solutions", assignment, notebook)
        ConfiguredCourse(self.root).register(assignment)

    def submit(self, assignment, student, notebook):
        folder = self.root / "grading" / "submitted" / student
        put_notebook(folder, assignment, notebook)

    def autograde(self, assignment, student, *options):
        return self.nbgrader(
            "autograde",
            assignment,
            "--student",
            student,
            "--create",
            "--force",
            *options,
        )

    def graded_results(self, assignment, student):
        """The convviz_grade.json that convviz-grade wrote for the submission."""
        folder = self.root / "grading" / "autograded" / student / assignment
        return json.loads((folder / "convviz_grade.json").read_text())

    def scores(self, assignment, student):
        """{grade_id: (score, max_score)} of the student's graded cells."""
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url) as gradebook:
            submission = gradebook.find_submission(assignment, student)
            return {
                grade.name: (grade.score, grade.max_score)
                for notebook in submission.notebooks
                for grade in notebook.grades
            }


def put_notebook(folder, assignment, notebook):
    """Write ``notebook`` (an nbformat node or a path to copy) to folder/A/A.ipynb."""
    target = Path(folder) / assignment / f"{assignment}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(notebook, (str, Path)):
        shutil.copy(notebook, target)
    else:
        nbformat.write(notebook, target)
    return target


# Most grader tests grade a class of the segmentation assignment cut to its pure NumPy
# function, mean_iou: the source notebook is the smallest, and grading trains nothing.

NUMPY_ONLY = ("mean_iou",)
"""The graded functions :func:`segmentation_course` keeps by default."""


def cut_segmentation_notebook(notebook, *, functions=NUMPY_ONLY, written=False):
    """The segmentation notebook without the answer and test cells of the functions
    not in ``functions``, and without its written question unless ``written``.

    Returns:
        the notebook, changed in place.
    """
    dropped = {
        f"{prefix}{function}"
        for function in ("mean_iou", "build_segmenter")
        if function not in functions
        for prefix in ("", "test_", "hidden_")
    }
    notebook.cells = [
        cell
        for cell in notebook.cells
        if not (
            (grade_id := cell.metadata.get("nbgrader", {}).get("grade_id", ""))
            in dropped
            or (grade_id.startswith("written_") and not written)
        )
    ]
    return notebook


def segmentation_course(
    root, db_url=None, *, gradebook=True, functions=NUMPY_ONLY, written=False
):
    """A :class:`Course` under ``root`` holding the segmentation source notebook.

    The notebook keeps the answer and test cells of ``functions`` only, and its
    written question only when ``written``: ``build_segmenter``'s grading trains a
    model (its secure grading is in test_secure_grading_segmentation.py). The
    grader still runs that function's cases, on a function no one is graded on.
    """
    course = Course(root, db_url, gradebook=gradebook)
    folder = course.root / "solutions" / "segmentation"
    shutil.copytree(REPOSITORY / "solutions" / "segmentation", folder)
    path = folder / "segmentation.ipynb"
    notebook = cut_segmentation_notebook(
        nbformat.read(path, as_version=4), functions=functions, written=written
    )
    nbformat.write(notebook, path)
    return course


def autograde_arguments(course_dir, submissions, *options):
    """``convviz-grade``'s arguments that grade segmentation: ``autograde segmentation
    ...``.
    """
    return [
        "autograde",
        "segmentation",
        "--submissions",
        str(submissions),
        "--course-dir",
        str(course_dir),
        *map(str, options),
        "--no-progress",
    ]


def submit_solution_and_blank(submissions):
    """Student ann hands in the solution, ben the blank release; returns
    ``submissions``.
    """
    for student, source in [("ann", "solutions"), ("ben", "exercises")]:
        notebook = REPOSITORY / source / "segmentation" / "segmentation.ipynb"
        put_notebook(Path(submissions) / student, "segmentation", notebook)
    return submissions


def assert_solution_and_blank_scores(course):
    """The gradebook holds ann's full marks and ben's zero, cell by cell."""
    assert course.scores("segmentation", "ann") == {
        "test_mean_iou": (1.0, 1.0),
        "hidden_mean_iou": (2.0, 2.0),
    }
    assert course.scores("segmentation", "ben") == {
        "test_mean_iou": (0.0, 1.0),
        "hidden_mean_iou": (0.0, 2.0),
    }
