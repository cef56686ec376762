"""Fabricated classes: for each assignment, one table of students, each with the
verdict expected on every graded function, graded end to end by ``convviz-grade
autograde``.

A table (``fabricated/<assignment>.py``, its ``CLASS``) maps each student to a
:class:`Student`: what kind of work it is (honest, mistake, blank, cheat,
fault), the answer cells it hands in, and the :class:`Verdict` expected on
each function it answers (the points, the status and what the message must
say). A function a student does not answer keeps the solution's answer and
must pass in full, so a cheat or a fault that costs another function its
points fails the test ("faults stay inside their function").

:func:`graded_class_fixtures` makes a module-scoped fixture that writes the
whole class and grades it ONCE, as the installed command does
(``convviz-grade autograde`` through :func:`convviz_grade.cli.main`): one
gradebook, the grader's self-check, two jobs. Every assertion of an
assignment's secure-grading tests reads that one run (:class:`GradedClass`).
The segmentation class of ``mean_iou`` alone, which other grader tests
install and grade in other ways, stays in ``fabricated_class.py``.

What costs time, and how a table keeps it down:

- ``convviz-grade autograde`` grades the students in the order of their names,
  two at a time: the hangs are named ``a_...``, so they start first and are
  cut while the other job grades the rest.
- The worker's time limit is the one ``--timeout`` of the class (``TIMEOUT`` of
  each table): above the slowest honest student's whole run, with a margin
  measured on a loaded machine. A hang comes after the honest functions it is
  graded with, which finish in the run it ends. A hang sleeps (:func:`hangs`):
  cut the same way, it costs no CPU while the other job grades.
- Each function is graded on its own (``test_damage_isolation.py``), so one
  student may carry usual mistakes of different functions, or cheats of
  different functions that cannot mask each other: each is one run fewer. A
  hang, a fault that ends the process, and a cheat that reaches other
  functions stay alone.
- A student that only needs some functions graded (a usual mistake of a new
  function, a cheat that patches a library every function uses) starts from
  the released copy: its other functions fail at once as not written yet.
- A usual mistake whose grading costs much more than a correct answer's (a
  training run, or a grader that builds every mistaken variant to name the
  one made) is checked by the exercise tests in-process; its table says so.
"""

from __future__ import annotations

import io
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import nbformat
import pytest
from convviz_grade import cli, grading, notebook_cells
from course import Course
from exercise_tools import HINT, released_notebook, solution_notebook

KINDS = ("honest", "mistake", "blank", "cheat", "fault")
POINTS = 3.0
"""Each graded function's points: its visible test 1, its hidden test 2."""


@dataclass(frozen=True)
class Verdict:
    """What the grader must say of one function.

    ``says``: strings the message holds; ``starts``: how it starts;
    ``message``: the whole message, when given.
    """

    points: float
    status: str
    says: tuple = ()
    starts: str = ""
    message: str | None = None


PASSED = Verdict(POINTS, "passed", message="")
NOT_WRITTEN = Verdict(0.0, "failed", ("NotImplementedError",))


def failed(*says, starts=""):
    """A function that fails for 0 points, its message holding ``says``."""
    return Verdict(0.0, "failed", says, starts)


def mistake(hint, where="visible"):
    """A usual mistake: 0 points, the first failed case a ``where`` test (any test
    when None) whose message names ``hint`` (what the mistake did, see
    :data:`exercise_tools.HINT`)."""
    return failed(HINT.format(hint), starts=f"({where} test)" if where else "")


@dataclass(frozen=True)
class Student:
    """One student of a fabricated class.

    Args:
        kind: one of :data:`KINDS`.
        answers: each answer cell's grade_id to the source handed in (the whole
            cell); the other cells are the solution's (the released copy's when
            ``released``).
        verdicts: each function to its :class:`Verdict`; a function not named
            passes in full (fails as not written yet when ``released``).
        released: start from the released copy instead of the solution.
    """

    kind: str
    answers: dict
    verdicts: dict = field(default_factory=dict)
    released: bool = False

    def __post_init__(self):
        assert self.kind in KINDS, self.kind

    def verdict(self, function):
        default = NOT_WRITTEN if self.released else PASSED
        return self.verdicts.get(function, default)

    def notebook(self, assignment):
        base = (released_notebook if self.released else solution_notebook)(assignment)
        return notebook_cells.replace_answers(
            nbformat.read(base, as_version=4), self.answers
        )


@dataclass
class GradedClass:
    """One ``convviz-grade autograde`` run of a fabricated class, and its checks.

    ``graded``: the :class:`convviz_grade.grading.Assignment` that the run built
    and graded with (its cases, its prepared inputs), for the tests of the cases:
    building it again would cost as much as grading a student or more.
    """

    graded: object
    assignment: str
    table: dict
    course: Course
    exit_code: int
    output: str
    seconds: float
    functions: list
    results: dict  # student -> the convviz_grade.json autograde wrote

    def grades(self, student):
        """``{function: its grade (a dict)}`` of ``student``, in grading order."""
        return {
            grade["function"]: grade for grade in self.results[student]["functions"]
        }

    def blank(self):
        [name] = [name for name, s in self.table.items() if s.kind == "blank"]
        return self.grades(name)

    def assert_student(self, name):
        """``name`` got exactly its verdict on every function, in the gradebook
        too."""
        student, grades = self.table[name], self.grades(name)
        assert list(grades) == self.functions
        for function, grade in grades.items():
            expected, message = student.verdict(function), grade["message"]
            got = (grade["score"], grade["max_score"], grade["status"])
            assert got == (expected.points, POINTS, expected.status), (
                function,
                message,
            )
            assert message.startswith(expected.starts), (function, message)
            for part in expected.says:
                assert part in message, (function, part, message)
            if expected.message is not None:
                assert message == expected.message, (function, message)
        if student.kind == "honest":
            assert self.results[name]["notes"] == []
        scores = self.course.scores(self.assignment, name)
        for function, grade in grades.items():
            passed = grade["status"] == "passed"
            assert scores[f"test_{function}"] == (1.0 if passed else 0.0, 1.0)
            assert scores[f"hidden_{function}"] == (2.0 if passed else 0.0, 2.0)

    def assert_cheats_score_no_more_than_blank(self, kind="cheat"):
        """Each cheat's (each student of ``kind``'s) points on each function it
        answers are at most blank's."""
        blank = self.blank()
        cheats = [name for name, s in self.table.items() if s.kind == kind]
        assert cheats
        for name in cheats:
            grades = self.grades(name)
            for function in self.table[name].answers:
                if function in grades:
                    assert grades[function]["score"] <= blank[function]["score"], (
                        name,
                        function,
                    )


def grade_class(assignment, table, folder, *, timeout, jobs=2, memory=4096):
    """Write every student of ``table`` and grade them all with one ``convviz-grade
    autograde`` run in a new course under ``folder``; return a :class:`GradedClass`.
    """
    folder = Path(folder)
    course = Course(folder / "course", gradebook=False)  # autograde creates it
    shutil.copytree(
        solution_notebook(assignment).parent, course.root / "solutions" / assignment
    )
    submissions = folder / "submissions"
    for name, student in table.items():
        target = submissions / name / assignment / f"{assignment}.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(student.notebook(assignment), target)
    output = io.StringIO()
    start = time.perf_counter()
    built = []

    class Observed(grading.Assignment):
        """The grader's own Assignment, kept for the tests of its cases."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            built.append(self)

    with mock.patch.object(grading, "Assignment", Observed):
        exit_code = cli.main(
            [
                "autograde",
                assignment,
                "--submissions",
                str(submissions),
                "--course-dir",
                str(course.root),
                "--timeout",
                str(timeout),
                "--memory",
                str(memory),
                "--jobs",
                str(jobs),
                "--no-progress",
            ],
            stream=output,
        )
    seconds = time.perf_counter() - start
    results = {
        name: course.graded_results(assignment, name)
        for name in table
        if (course.root / "grading" / "autograded" / name / assignment).is_dir()
    }
    print(output.getvalue())
    print(f"{assignment}: {len(table)} students graded in {seconds:.1f} s; each:")
    for name, result in sorted(results.items(), key=lambda item: -item[1]["seconds"]):
        print(f"  {result['seconds']:6.1f} s  {result['runs']} run(s)  {name}")
    functions = notebook_cells.answer_cell_ids(
        nbformat.read(solution_notebook(assignment), as_version=4)
    )
    return GradedClass(
        built[0] if built else None,
        assignment,
        table,
        course,
        exit_code,
        output.getvalue(),
        seconds,
        functions,
        results,
    )


def graded_class_fixtures(assignment, table, *, timeout):
    """Two module-scoped fixtures: ``graded_class``, ``table`` graded once
    (:func:`grade_class`), and ``graded_assignment``, the grader's Assignment of
    that run (in place of tests/conftest.py's, which would build it again).

    A test module binds them under those names:
    ``graded_class, graded_assignment = graded_class_fixtures(...)``.
    """

    @pytest.fixture(scope="module")
    def graded_class(tmp_path_factory):
        graded = grade_class(
            assignment, table, tmp_path_factory.mktemp("class"), timeout=timeout
        )
        assert graded.exit_code == 0, graded.output
        assert sorted(graded.results) == sorted(table), graded.output
        assert graded.graded.name == assignment
        return graded

    @pytest.fixture(scope="module")
    def graded_assignment(graded_class):
        return graded_class.graded

    return graded_class, graded_assignment


def hangs(header):
    """A function of signature ``header`` that never returns: it sleeps.

    The server kills the run's whole process group at the time limit whether it
    computes or sleeps (a SIGKILL), so the verdict is the same; a busy loop would
    burn a core for the whole limit. Busy hangs are cut by the same server in
    test_fork_server.py (``test_a_hang_is_cut_at_the_time_limit``),
    test_damage_isolation.py and the mean_iou class of ``fabricated_class.py``.
    """
    return header + "    import time\n\n    while True:\n        time.sleep(1)\n"


def wrong(header):
    """A function of signature ``header`` that returns a wrong array."""
    return header + "    return np.zeros(1)\n"


def hints_named(table, function):
    """The hints that the students of ``table`` are expected to be told on
    ``function``."""
    prefix = HINT.format("")
    return {
        part[len(prefix) :]
        for student in table.values()
        for part in student.verdict(function).says
        if part.startswith(prefix)
    }
