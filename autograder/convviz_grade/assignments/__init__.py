"""Per assignment: the random small models and inputs the tests use, and the
usual mistakes, written out, so that a failing test can name the one made.

The module of assignment ``a`` is ``convviz_grade.assignments.a``; its
``grading_cases()`` is the one source of the assignment's hidden tests (see
:mod:`convviz_grade.cases`). A course may keep its own assignment modules
outside this package: the folders named in the environment variable
``CONVVIZ_GRADE_ASSIGNMENTS`` (separated like ``PATH``) are searched after
this one, by the grader and by the notebooks' kernels, which inherit the
variable.
"""

import os

__path__ += [
    folder
    for folder in os.environ.get("CONVVIZ_GRADE_ASSIGNMENTS", "").split(os.pathsep)
    if folder
]
