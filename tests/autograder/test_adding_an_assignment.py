"""Adding an assignment as the README says: a throwaway one in a temporary course.

The instructor writes two files, the solution notebook and the assignment
module (its ``grading_cases()``); ``convviz-grade release`` makes the
students' copy. Then the notebook's hidden tests (``convviz-grade validate``,
``nbgrader autograde``) and ``convviz-grade autograde`` run the same cases,
and the drift test's rules hold.
"""

from __future__ import annotations

import io
import re
import sys

import convviz_grade.assignments
import nbformat
import pytest
from convviz_grade import cases, cli, grading, notebook_cells, sandbox
from convviz_grade.validate import validate
from course import Course
from notebooks import code, graded, notebook, solution

pytestmark = pytest.mark.slow  # releases, runs kernels and grades in the sandbox

MODULE = '''"""The ``tiny`` assignment: ``double(values)`` returns twice its array.

The array is left as it was.
"""

import numpy as np


def grading_cases():
    from functools import partial

    from convviz_grade.checks import check_array
    from convviz_grade.grading import Case

    def check(label, expected, mistakes, outputs):
        check_array(label, outputs["value"], expected, mistakes=mistakes)

    cases = [
        Case(
            "double",
            (np.array([1.0, 2.0]),),
            partial(check, "double([1, 2])", [2.0, 4.0], {}),
            visible=True,
        )
    ]
    rng = np.random.default_rng(0)
    for size in (3, 5):
        values = rng.normal(size=size)
        cases.append(
            Case(
                "double",
                (values,),
                partial(
                    check,
                    f"double(random {size})",
                    2 * values,
                    {"added 2 instead of doubling": values + 2},
                ),
                keep_inputs=True,
            )
        )
    cases.append(
        Case(
            "double",
            (np.array([1.0, -3.0]),),
            partial(check, "double(double(double([1, -3])))", [8.0, -24.0], {}),
            repeat=3,
            repeat_into=0,
        )
    )
    return cases
'''

ANSWER = (
    "def double(values):\n    ### BEGIN SOLUTION\n    return 2 * "
    "np.asarray(values)\n    ### END SOLUTION"
)
ADDS_TWO = "def double(values):\n    return np.asarray(values) + 2"
IN_PLACE = "def double(values):\n    values *= 2\n    return values"


def tiny_notebook(answer):
    return notebook(
        code("import numpy as np"),
        solution("double", answer),
        graded(
            "test_double",
            "assert np.allclose(double(np.array([1.0, 2.0])), [2.0, 4.0]), "
            "'double([1, 2]) should be [2, 4]'\nprint('double: visible tests passed')",
        ),
        graded(
            "hidden_double",
            "# Hidden tests: random arrays; they run when the notebook is graded.\n"
            + notebook_cells.hidden_tests_block("tiny", "double"),
            points=2,
        ),
    )


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A temporary course with the ``tiny`` assignment written and released; its module
    found by the grader.
    """
    assert sandbox.bwrap_available(), (
        "bubblewrap must work here, as for convviz-grade autograde"
    )
    modules = tmp_path / "assignment_modules"
    modules.mkdir()
    (modules / "tiny.py").write_text(MODULE)
    monkeypatch.setenv(
        "CONVVIZ_GRADE_ASSIGNMENTS", str(modules)
    )  # for the kernels and nbgrader
    monkeypatch.setattr(
        convviz_grade.assignments,
        "__path__",
        [*convviz_grade.assignments.__path__, str(modules)],
    )
    course = Course(tmp_path / "course")
    (course.root / "solutions" / "tiny").mkdir(parents=True)
    nbformat.write(
        tiny_notebook(ANSWER), course.root / "solutions" / "tiny" / "tiny.ipynb"
    )
    assert cli.main(["release", "tiny", "--course-dir", str(course.root)]) == 0
    yield course
    sys.modules.pop("convviz_grade.assignments.tiny", None)
    cases._LOADED.pop("tiny", None)


def test_a_new_assignment_is_released_validated_and_graded_from_one_source(
    course, tmp_path, capsys
):
    source = course.root / "solutions" / "tiny" / "tiny.ipynb"
    released = course.root / "exercises" / "tiny" / "tiny.ipynb"
    assert "BEGIN HIDDEN TESTS" not in released.read_text()
    assert cases.drift("tiny", source, released) == []

    # The notebook's hidden tests: the solution passes, a usual mistake is named, an
    # input changed fails.
    assert validate(source, timeout=120) == 0
    assert re.search(
        r"double\s+PASSED\s+\(visible \+ hidden tests\)", capsys.readouterr().out
    )
    submissions = tmp_path / "submissions"
    for student, answer in {
        "alice": ANSWER,
        "bob": ADDS_TWO,
        "carol": IN_PLACE,
    }.items():
        (submissions / student / "tiny").mkdir(parents=True)
        nbformat.write(
            tiny_notebook(answer), submissions / student / "tiny" / "tiny.ipynb"
        )
    assert validate(submissions / "carol" / "tiny" / "tiny.ipynb", timeout=120) == 1
    out = capsys.readouterr().out
    assert re.search(r"double\s+FAILED\s+\(visible \+ hidden tests\)", out), out
    assert "the input array was modified in place" in out

    # convviz-grade autograde: the same cases in the sandboxed worker.
    output = io.StringIO()
    cli.main(
        [
            "autograde",
            "tiny",
            "--submissions",
            str(submissions),
            "--course-dir",
            str(course.root),
            "--no-progress",
        ],
        stream=output,
    )
    scores = course.scores("tiny", "alice")
    assert scores == {"test_double": (1.0, 1.0), "hidden_double": (2.0, 2.0)}, (
        output.getvalue()
    )
    for student in ("bob", "carol"):
        assert course.scores("tiny", student) == {
            "test_double": (0.0, 1.0),
            "hidden_double": (0.0, 2.0),
        }


def test_a_new_assignment_s_hidden_tests_name_the_mistake_under_nbgrader_autograde(
    course,
):
    course.nbgrader(
        "generate_assignment", "tiny", "--force"
    )  # nbgrader's gradebook must know it
    course.submit("tiny", "bob", tiny_notebook(ADDS_TWO))
    course.autograde("tiny", "bob")
    assert course.scores("tiny", "bob") == {
        "test_double": (0.0, 1.0),
        "hidden_double": (0.0, 2.0),
    }
    autograded = nbformat.read(
        course.root / "grading" / "autograded" / "bob" / "tiny" / "tiny.ipynb",
        as_version=4,
    )
    [hidden] = [
        cell
        for cell in autograded.cells
        if notebook_cells.function_tested_by(cell) == ("double", "hidden")
    ]
    [error] = [output for output in hidden.outputs if output.output_type == "error"]
    assert (
        "hint: your answer is what you get if you added 2 instead of doubling"
        in error.evalue
    )


def test_in_the_kernel_each_case_gets_what_the_worker_sends_back(course, tmp_path):
    """The notebook's path (cases.outputs_of) and the worker's give the same outputs for
    every case.
    """
    assignment = grading.Assignment(
        "tiny", course.root / "solutions" / "tiny" / "tiny.ipynb"
    )
    namespace = {}
    exec("import numpy as np\n" + IN_PLACE, namespace)
    verdicts, outputs, _, _, _ = grading.run_submission(
        assignment,
        [IN_PLACE],
        work_root=tmp_path,
        hide=[],
        isolation="none",
        timeout=60,
        memory_bytes=2**31,
    )
    assert {verdict["status"] for verdict in verdicts.values()} == {"ok"}
    for index, case in enumerate(assignment.cases):
        mine, theirs = cases.outputs_of(case, namespace["double"]), outputs[f"c{index}"]
        assert mine["value"].tolist() == theirs["value"].tolist()
        assert (
            mine["args_after"].keys()
            == theirs["args_after"].keys()
            == ({0} if case.keep_inputs else set())
        )
        for position in mine["args_after"]:
            assert (
                mine["args_after"][position].tolist()
                == theirs["args_after"][position].tolist()
            )
    assert [case.repeat for case in assignment.cases] == [1, 1, 1, 3]
