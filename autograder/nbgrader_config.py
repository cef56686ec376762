"""nbgrader configuration of the convviz course.

The course folder is the repository: instructors' source notebooks live in
``solutions/`` and nbgrader generates the students' versions into
``exercises/``. Everything grading produces (submissions, autograded copies,
feedback, the gradebook) goes under ``grading/``, which git ignores. The
repository's top-level ``nbgrader_config.py`` loads this file, so nbgrader's
own commands and formgrader work from the repository root.
"""

import os

from convviz_grade.preprocessors import StderrIsNotFailure
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    Execute,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

# The gradebook's course row; PostgreSQL enforces it (SQLite lets an empty one pass).
c.CourseDirectory.course_id = "convviz"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# nbgrader's default "solution" sits too close to "solutions" for comfort.
c.CourseDirectory.solution_directory = os.path.join("grading", "solution")
c.CourseDirectory.submitted_directory = os.path.join("grading", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("grading", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("grading", "feedback")

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Each notebook runs in under 2 minutes here; allow slow lab machines 5.
c.Execute.timeout = 300

# nbgrader's autograde pipeline with one step added. StderrIsNotFailure must
# come after Execute (which makes the outputs) and before SaveAutoGrades
# (which scores a cell 0 for any stderr output).
c.Autograde.autograde_preprocessors = [
    Execute,
    StderrIsNotFailure,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# nbgrader's validator (JupyterLab's Validate button, `nbgrader validate`) fails a
# graded cell with an error *or any stderr output*. A correct answer can write to
# stderr (Keras warns when a model built on `model.inputs` is called on one array,
# NumPy warns on 0 / 0), and the course grades it as passed: `convviz-grade validate`
# counts only errors, and autograde relabels the graded cells' stderr with
# StderrIsNotFailure above. The validator's steps are not configurable and nbclient's
# post-cell hook is taken by nbgrader's Execute, so its kernels get the same
# relabelling at start-up: their stderr stream is their stdout stream (the text is
# kept). Errors (a failed test, an exception) are error outputs, not stderr, and
# still fail. Scoped to the Validator's Execute: autograde's kernels and the
# student's own kernel are unchanged.
c.Validator.Execute.extra_arguments = [
    "--IPKernelApp.exec_lines=import sys as _sys; _sys.stderr = _sys.stdout; del _sys",
]
