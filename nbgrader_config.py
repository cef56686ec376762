# nbgrader reads this file when run from the repository root; the course's
# configuration, with its comments, is autograder/nbgrader_config.py.
import os

c = get_config()  # noqa: F821
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# The gradebook goes under grading/ (git ignores it) like everything else grading
# writes; SQLite creates the file, not its folder.
os.makedirs(os.path.join(c.CourseDirectory.root, "grading"), exist_ok=True)
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(
    c.CourseDirectory.root, "grading", "gradebook.db"
)
load_subconfig(os.path.join("autograder", "nbgrader_config.py"))  # noqa: F821
