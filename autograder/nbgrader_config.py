"""nbgrader configuration of the convviz course.

The course folder is the repository: instructors' source notebooks live in
``solutions/`` and nbgrader generates the students' versions into
``exercises/``. Everything grading produces (submissions, autograded copies,
feedback, the gradebook) goes under ``grading/``, which git ignores. The
repository's top-level ``nbgrader_config.py`` loads this file, so nbgrader's
own commands and formgrader work from the repository root.
"""

import os

from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    Execute,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)
from nbconvert.preprocessors import ClearMetadataPreprocessor

from convviz_grade.preprocessors import StderrIsNotFailure

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
