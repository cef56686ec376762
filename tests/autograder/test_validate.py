import re

import nbformat
import pytest
from convviz_grade import cli
from convviz_grade.notebook_cells import split_grade_id
from convviz_grade.validate import validate
from notebooks import (
    ADD_HIDDEN,
    ADD_SOLUTION,
    ADD_VISIBLE,
    code,
    graded,
    notebook,
    solution,
)


def write(tmp_path, nb, name="work.ipynb"):
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def run(path, capsys):
    code_ = validate(path, timeout=60)
    return code_, capsys.readouterr().out


def test_split_grade_id():
    assert split_grade_id("test_compute_loss") == ("compute_loss", "visible")
    assert split_grade_id("hidden_compute_loss") == ("compute_loss", "hidden")
    assert split_grade_id("setup") is None


def test_all_passing_notebook_exits_zero(tmp_path, capsys):
    path = write(tmp_path, notebook(ADD_SOLUTION, ADD_VISIBLE, ADD_HIDDEN))
    exit_code, out = run(path, capsys)
    assert exit_code == 0, out
    assert re.search(r"add\s+PASSED\s+\(visible\ \+\ hidden\ tests\)", out), out
    assert "1 functions: 1 passed, 0 failed" in out


def test_failing_visible_test_exits_one_with_its_message(tmp_path, capsys):
    wrong = solution("add", "def add(a, b):\n    return a - b")
    path = write(tmp_path, notebook(wrong, ADD_VISIBLE))
    exit_code, out = run(path, capsys)
    assert exit_code == 1
    assert re.search(r"add\s+FAILED\s+\(visible\ tests\)", out), out
    assert "add(1, 2) should be 3" in out


def test_unwritten_function_is_reported_as_such(tmp_path, capsys):
    stub = solution(
        "add", "def add(a, b):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    )
    path = write(tmp_path, notebook(stub, ADD_VISIBLE))
    exit_code, out = run(path, capsys)
    assert exit_code == 1
    assert "not written yet" in out


def test_students_copy_reports_visible_tests_only(tmp_path, capsys):
    released_hidden = graded("hidden_add", "# Hidden tests run at grading.", points=2)
    path = write(tmp_path, notebook(ADD_SOLUTION, ADD_VISIBLE, released_hidden))
    exit_code, out = run(path, capsys)
    assert exit_code == 0, out
    assert re.search(r"add\s+PASSED\s+\(visible\ tests\)", out), out


def test_error_outside_tests_fails_validation(tmp_path, capsys):
    path = write(tmp_path, notebook(ADD_SOLUTION, ADD_VISIBLE, code("1 / 0")))
    exit_code, out = run(path, capsys)
    assert exit_code == 1
    assert "cell 3: ZeroDivisionError" in out


def test_notebook_without_tests_is_not_a_pass(tmp_path, capsys):
    path = write(tmp_path, notebook(code("x = 1")))
    exit_code, out = run(path, capsys)
    assert exit_code == 1
    assert "no test cells found" in out


@pytest.mark.parametrize("name", ["missing.ipynb", "notes.txt"])
def test_bad_path_is_one_line_and_exit_two(tmp_path, capsys, name):
    if name.endswith(".txt"):
        (tmp_path / name).write_text("hello")
    exit_code = cli.main(["validate", str(tmp_path / name)])
    out = capsys.readouterr().out
    assert exit_code == 2
    assert out.count("\n") == 1 and "is not a notebook file" in out


def test_corrupt_notebook_is_reported_not_raised(tmp_path, capsys):
    path = tmp_path / "broken.ipynb"
    path.write_text("{ not json")
    exit_code = cli.main(["validate", str(path)])
    out = capsys.readouterr().out
    assert exit_code == 1
    assert "could not run" in out


@pytest.mark.slow
def test_the_kernel_s_own_stderr_stays_off_the_terminal_but_cells_stderr_is_kept(
    tmp_path, capfd
):
    # The kernel imports TensorFlow (start-up lines on its stderr) and a cell writes to
    # sys.stderr: the terminal shows neither, and the cell's text is in the executed
    # notebook, where it belongs.
    from convviz_grade.validate import execute

    cell = code(
        "import sys\nimport tensorflow as tf\ntf.constant(1.0)\nprint('cell note', "
        "file=sys.stderr)"
    )
    path = write(tmp_path, notebook(cell))
    executed = execute(path, timeout=120)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
    streams = [
        output for output in executed.cells[0].outputs if output.output_type == "stream"
    ]
    assert [(output.name, output.text) for output in streams] == [
        ("stderr", "cell note\n")
    ]


# nbgrader's own validator, as JupyterLab's Validate button and `nbgrader validate` run
# it in a course folder: the course's configuration makes stderr in a passing test cell
# no failure.
WARNS_AND_PASSES = graded(
    "test_add",
    "import sys, warnings\nwarnings.warn('a harmless warning')\n"
    "print('also harmless', file=sys.stderr)\nassert add(2, 2) == 4",
)


def nbgrader_validate(tmp_path, nb, *extra_config):
    import subprocess
    import sys

    from convviz_grade.release import nbgrader_environment
    from course import Course

    course = Course(tmp_path)
    with open(course.root / "nbgrader_config.py", "a") as config:
        config.writelines(line + "\n" for line in extra_config)
    path = write(tmp_path, nb)
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", str(path)],
        cwd=course.root,
        env=nbgrader_environment(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.stdout + result.stderr


@pytest.mark.slow
def test_nbgrader_validate_counts_stderr_in_a_passing_test_cell_as_no_failure(tmp_path):
    output = nbgrader_validate(
        tmp_path / "course", notebook(ADD_SOLUTION, WARNS_AND_PASSES)
    )
    assert "Success! Your notebook passes all the tests." in output, output
    # The control: without the course's setting, nbgrader's own rule fails the same
    # cell.
    control = nbgrader_validate(
        tmp_path / "control",
        notebook(ADD_SOLUTION, WARNS_AND_PASSES),
        "c.Validator.Execute.extra_arguments = []",
    )
    assert "VALIDATION FAILED" in control and "Success!" not in control, control


@pytest.mark.slow
def test_nbgrader_validate_still_fails_a_failing_test_cell(tmp_path):
    failing = graded(
        "test_add",
        "import sys\nprint('about to fail', file=sys.stderr)\nassert add(1, 1) == 3, "
        "'expected 3'",
    )
    output = nbgrader_validate(tmp_path, notebook(ADD_SOLUTION, failing))
    assert "VALIDATION FAILED" in output and "expected 3" in output, output


def test_a_kernel_that_lost_the_port_race_is_started_once_more(monkeypatch):
    from convviz_grade import validate as validating

    calls = []

    def execute_once(path, *, timeout):
        calls.append(path)
        if len(calls) == 1:
            raise RuntimeError(f"{validating.KERNEL_PORT_RACE}.")
        return "executed"

    monkeypatch.setattr(validating, "execute_once", execute_once)
    assert validating.execute("a.ipynb", timeout=1) == "executed"
    assert calls == ["a.ipynb", "a.ipynb"]


@pytest.mark.parametrize(
    "failures",
    [
        ["Kernel didn't respond in 60 seconds"],
        ["Kernel died before replying to kernel_info"] * 2,
    ],
)
def test_any_other_kernel_failure_or_a_second_lost_race_is_raised(
    monkeypatch, failures
):
    from convviz_grade import validate as validating

    remaining = list(failures)

    def execute_once(path, *, timeout):
        raise RuntimeError(remaining.pop(0))

    monkeypatch.setattr(validating, "execute_once", execute_once)
    with pytest.raises(RuntimeError, match=failures[-1]):
        validating.execute("a.ipynb", timeout=1)
    assert not remaining
