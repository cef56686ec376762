# nbgrader reads this file when run from the repository root; the course's
# configuration, with its comments, is autograder/nbgrader_config.py.
import os

c = get_config()  # noqa: F821
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
load_subconfig(os.path.join("autograder", "nbgrader_config.py"))  # noqa: F821
