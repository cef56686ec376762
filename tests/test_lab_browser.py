"""Students and an instructor in JupyterLab, in real headless Chromium (Debian's),
offline.

The server runs as `make lab` starts it (`jupyter lab` with the repository's jupyter/
folder on JUPYTER_CONFIG_PATH) in a course folder holding the course's nbgrader
configuration; here that folder is a temporary copy, so nothing is written into the
repository.

A student opens exercises/segmentation/segmentation.ipynb from the file browser, runs
every cell, presses nbgrader's Validate button and reads the verdict: the blank notebook
fails; a usual mistake (pixel accuracy for the mean IoU) shows its hint under the test
cell; a correct answer gets "Success!", although it writes NumPy's 0 / 0 warning to
stderr inside a graded cell (see the course's autograder/nbgrader_config.py). In the
same lab, exercises/units/units.ipynb (chapter 9's assignment), whole and answered,
gets "Success!"; with a usual mistake of ``shape_bias`` typed in, Validate shows that
function's test cell, and no other, failing with the hint that names the mistake. An
instructor opens formgrader from the Nbgrader menu on a class graded by `convviz-grade
autograde` and finds every student's autograded submission with its score.

Nothing leaves this machine: the browser's requests and websockets are recorded and any
    that is not
local is refused, and the server and every kernel it starts run with a sitecustomize
that records and refuses connections to non-local hosts. No console error appears.

Why segmentation: its mean_iou is pure NumPy and its setup cell loads the smallest
shipped model. The notebooks here keep mean_iou alone (``build_segmenter``'s grading
trains a model, which the path through the lab does not need; its written question is
tested in tests/autograder/test_manual_grading.py). The gradcam notebook takes the same
path through Validate and costs about 6 s more per run.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import browser_pages
import nbformat
import pytest
from browser_pages import ARTIFACTS, REPOSITORY
from convviz_grade import notebook_cells

sys.path.insert(0, str(Path(__file__).parent / "autograder"))
from course import cut_segmentation_notebook  # noqa: E402

# Starts JupyterLab twice, runs a notebook, validates it twice and another twice,
# grades a class.
pytestmark = pytest.mark.slow

LAB_CONFIG = REPOSITORY / "jupyter"
BIN = Path(sys.executable).parent
ASSIGNMENT = "segmentation"
NOTEBOOK = f"exercises/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"

PIXEL_ACCURACY = """def mean_iou(masks_true, masks_pred, num_classes=3):
    # The share of pixels predicted right: pixel accuracy, the usual mistake.
    return float(np.mean(np.asarray(masks_true) == np.asarray(masks_pred)))
"""
PIXEL_ACCURACY_HINT = (
    "hint: your answer is what you get if you computed pixel accuracy "
    "(the share of pixels predicted right) instead of IoU"
)
# Correct, written as a student might: a class in neither mask gives 0 / 0, which NumPy
# reports with a RuntimeWarning on stderr, and np.nanmean leaves out.
CORRECT = """def mean_iou(masks_true, masks_pred, num_classes=3):
    masks_true, masks_pred = np.asarray(masks_true), np.asarray(masks_pred)
    classes = np.arange(num_classes).reshape(-1, 1, 1, 1)
    is_true, is_pred = masks_true == classes, masks_pred == classes
    intersection = (is_true & is_pred).sum(axis=(1, 2, 3))
    union = (is_true | is_pred).sum(axis=(1, 2, 3))
    return float(np.nanmean(intersection / union))
"""

# The units notebook (chapter 9's assignment) in the same lab: answered correctly, then
# with the usual mistake below typed into one answer cell. Of shape_bias, which no other
# answer calls: the solution's unit_concept calls dissection_iou, so a mistake there
# fails unit_concept's test too.
UNITS = "units"
UNITS_NOTEBOOK = f"exercises/{UNITS}/{UNITS}.ipynb"
UNITS_MISTAKE_OF = "shape_bias"
UNITS_MISTAKE = """def shape_bias(decisions, shape_labels, texture_labels):
    # The shape decisions over all decisions: the usual mistake.
    return float(np.mean(np.asarray(decisions) == np.asarray(shape_labels)))
"""
UNITS_MISTAKE_HINT = (
    "hint: your answer is what you get if you divided the shape decisions by all "
    "decisions (a decision that follows neither cue counts as texture) instead of by "
    "those that follow a cue"
)
UNITS_WRITTEN_ANSWER = (
    "A unit that matches a concept's mask can still respond to something else "
    "that the probe images always show with it."
)

# Written into a folder put first on the server's PYTHONPATH, so that the server and
# every kernel it starts load it: each process notes its id, and a connection to a host
# that is not this machine is written down and refused, as tests/conftest.py does inside
# the test process.
NETWORK_GUARD = '''"""Written by tests/test_lab_browser.py: record and refuse
connections off this machine.
"""
import os
import socket

_LOG = os.environ["CONVVIZ_TEST_NETWORK_LOG"]
with open(_LOG + ".processes", "a") as _file:
    with open("/proc/self/cmdline", "rb") as _cmdline:
        _file.write(f"{os.getpid()} {_cmdline.read().hex()}\\n")


def _is_local_host(host):
    if isinstance(host, bytes):
        host = host.decode()
    return host in ("localhost", "::1", "", None) or str(host).startswith("127.")


def _refuse(what):
    with open(_LOG, "a") as file:
        file.write(f"{os.getpid()} {what!r}\\n")
    raise OSError(f"network access is blocked in this test: {what!r}")


def _checked(real, target):
    """``real``, refusing a call whose ``target(*args)`` is a host off this machine."""

    def checked(*args, **kwargs):
        what, host = target(*args)
        if host is not None and not _is_local_host(host):
            _refuse(what)
        return real(*args, **kwargs)

    return checked


def _address(sock, address, *rest):
    """An address and its host (None for an AF_UNIX path)."""
    return address, None if isinstance(address, (str, bytes)) else address[0]


socket.socket.connect = _checked(socket.socket.connect, _address)
socket.socket.connect_ex = _checked(socket.socket.connect_ex, _address)
socket.getaddrinfo = _checked(socket.getaddrinfo, lambda host, *rest: (host, host))
'''


def guarded_environment(home):
    """The environment of a server started as `make lab` does, with the network guard.

    Jupyter's per-user folders go under ``home``, so the user's own ~/.jupyter is
    neither read nor written. TF_CPP_MIN_LOG_LEVEL (which tests/conftest.py sets) is
    removed: a student's shell does not set it, and TensorFlow's start-up lines are part
    of what Validate sees.
    """
    guard = home / "guard"
    guard.mkdir(parents=True, exist_ok=True)
    (guard / "sitecustomize.py").write_text(NETWORK_GUARD)
    environment = dict(os.environ)
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)
    environment.update(
        JUPYTER_CONFIG_PATH=str(LAB_CONFIG),  # what `make lab` sets
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        IPYTHONDIR=str(home / "ipython"),
        PYTHONPATH=os.pathsep.join(
            filter(None, [str(guard), os.environ.get("PYTHONPATH")])
        ),
        CONVVIZ_TEST_NETWORK_LOG=str(home / "network.log"),
    )
    return environment


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


LOCAL_OPENER = urllib.request.build_opener(
    urllib.request.ProxyHandler({})
)  # never a proxy


@dataclass
class LabServer:
    url: str
    token: str
    course: Path
    home: Path
    process: subprocess.Popen

    def request(self, path, *, method="GET", timeout=10):
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with LOCAL_OPENER.open(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def network_attempts(self):
        """Every connection off this machine that the server or a kernel tried (all
        refused).
        """
        log = self.home / "network.log"
        return log.read_text().splitlines() if log.exists() else []

    def guarded_processes(self):
        """(pid, command line) of every Python process that loaded the guard."""
        log = self.home / "network.log.processes"
        entries = []
        for line in log.read_text().splitlines() if log.exists() else []:
            pid, cmdline = line.split()
            entries.append((int(pid), bytes.fromhex(cmdline)))
        return entries

    def log_tail(self, size=4000):
        return (self.home / "server.log").read_text()[-size:]


def _stop_guarded_processes(server):
    """Kill, by pid, what the server left running (each kernel runs in its session)."""
    for pid, cmdline in server.guarded_processes():
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes() == cmdline:
                os.kill(pid, signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass


@contextlib.contextmanager
def lab_server(course, home):
    """`jupyter lab` in ``course`` on a free local port with a token; stopped whatever
    happens.
    """
    home.mkdir(parents=True, exist_ok=True)
    token, port = secrets.token_hex(16), free_port()
    command = [
        str(BIN / "jupyter"),
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
    ]
    if os.geteuid() == 0:
        command.append(
            "--allow-root"
        )  # Jupyter refuses root without it (containers, CI)
    with open(home / "server.log", "w") as log:
        process = subprocess.Popen(
            command,
            cwd=course,
            env=guarded_environment(home),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LabServer(f"http://127.0.0.1:{port}", token, course, home, process)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, (
                f"jupyter lab exited with {process.returncode}:\n{server.log_tail()}"
            )
            try:
                server.request("/api/status", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                assert time.monotonic() < deadline, (
                    f"jupyter lab did not answer in 120 s:\n{server.log_tail()}"
                )
                time.sleep(0.5)
        yield server
    finally:
        with contextlib.suppress(Exception):
            server.request("/api/shutdown", method="POST")  # shuts its kernels down too
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        _stop_guarded_processes(server)


def copy_course_config(course):
    """The course's nbgrader configuration, as a fresh clone has it at its root."""
    (course / "autograder").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPOSITORY / "nbgrader_config.py", course / "nbgrader_config.py")
    shutil.copy(
        REPOSITORY / "autograder" / "nbgrader_config.py",
        course / "autograder" / "nbgrader_config.py",
    )


def exercise_with(answer=None, folder="exercises"):
    """The students' notebook (``folder="solutions"``: the instructor's), cut to
    mean_iou, with ``answer`` in place of its answer cell.
    """
    notebook = cut_segmentation_notebook(
        nbformat.read(
            REPOSITORY / folder / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4
        )
    )
    if answer is not None:
        notebook.cells[cell_index(notebook, "mean_iou")].source = answer
    return notebook


def units_notebook_answered():
    """The students' units notebook with every answer written in: the instructor's
    code without nbgrader's solution markers, and a few words in each written answer
    (Validate fails a written answer left as released)."""
    released = nbformat.read(REPOSITORY / UNITS_NOTEBOOK, as_version=4)
    solution = nbformat.read(
        REPOSITORY / "solutions" / UNITS / f"{UNITS}.ipynb", as_version=4
    )
    ids = notebook_cells.answer_cell_ids(released)
    answers = {
        grade_id: "\n".join(
            line
            for line in source.splitlines()
            if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
        )
        for grade_id, source in zip(ids, notebook_cells.answer_cells(solution, ids))
    }
    for cell in released.cells:
        if cell.cell_type == "markdown" and notebook_cells.is_written_answer(cell):
            cell.source = UNITS_WRITTEN_ANSWER
    return notebook_cells.replace_answers(released, answers)


def cell_index(notebook, grade_id):
    for index, cell in enumerate(notebook.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return index
    raise KeyError(grade_id)


@contextlib.contextmanager
def recorded_page(browser, name):
    """A page whose console errors, failed and off-machine requests go into
    ``problems``.
    """
    page, problems = browser_pages.recorded_page(browser)
    try:
        yield page, problems
    finally:
        ARTIFACTS.mkdir(exist_ok=True)
        with contextlib.suppress(Exception):
            page.screenshot(path=str(ARTIFACTS / f"lab_{name}.png"))
        page.close()


# --------------------------------------------------------------------------------------
# The student


@pytest.fixture(scope="module")
def student_lab(tmp_path_factory, class_grading):  # the class is graded meanwhile
    course = tmp_path_factory.mktemp("student_course")
    copy_course_config(course)
    for path, notebook in (
        (NOTEBOOK, exercise_with()),
        (UNITS_NOTEBOOK, units_notebook_answered()),
    ):
        (course / path).parent.mkdir(parents=True)
        nbformat.write(notebook, course / path)
    with lab_server(course, tmp_path_factory.mktemp("student_home")) as server:
        yield server


def open_from_file_browser(page, name):
    page.locator(".jp-DirListing-itemText").get_by_text(name, exact=True).dblclick()


KERNEL_IDLE = (
    "() => /ipykernel\\) \\| "
    "Idle/.test(document.querySelector('#jp-main-statusbar').innerText)"
)


def run_all_cells(page, panel):
    """Run > Run All Cells; wait until no cell is queued and the kernel is idle."""
    before = panel.locator(".jp-CodeCell .jp-InputArea-prompt").first.text_content()
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu").get_by_text("Run All Cells", exact=True).click()
    panel.page.wait_for_function(
        r"""([before]) => {
            const panel = document.querySelector(
                '.jp-NotebookPanel:not(.lm-mod-hidden)');
            const prompts = [
                ...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')
            ].map(prompt => prompt.textContent);
            const status = panel.querySelector('.jp-Notebook-ExecutionIndicator');
            const bar = document.querySelector('#jp-main-statusbar').innerText;
            return prompts.length > 0 && prompts[0] !== before
                && /\[\d+\]/.test(prompts[0])
                && !prompts.some(prompt => prompt.includes('*'))
                && status !== null && status.dataset.status === 'idle'
                && /ipykernel\) \| Idle/.test(bar);
        }""",
        arg=[before],
        timeout=180_000,
    )


def output_text(panel, index):
    return (
        panel.locator(".jp-Notebook .jp-Cell")
        .nth(index)
        .locator(".jp-OutputArea")
        .text_content()
    )


def write_answer(page, panel, index, source):
    """Replace a cell's text as a student does: select all of it and type."""
    panel.locator(".jp-Notebook .jp-Cell").nth(index).locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(source)


def validate(page, panel):
    """Press Validate; return the text of nbgrader's verdict and close its dialog."""
    panel.get_by_role("button", name="Validate").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=240_000)  # a fresh kernel runs the whole notebook
    verdict = dialog.inner_text()
    dialog.locator(".jp-mod-accept").click()
    dialog.wait_for(state="detached")
    return verdict


def test_student_runs_and_validates_an_exercise(student_lab, browser):
    notebook = exercise_with()
    answer, test = (
        cell_index(notebook, "mean_iou"),
        cell_index(notebook, "test_mean_iou"),
    )
    with recorded_page(browser, "student") as (page, problems):
        page.goto(f"{student_lab.url}/?token={student_lab.token}")
        page.wait_for_url("**/lab/tree/exercises")  # `make lab` opens on the exercises
        open_from_file_browser(page, ASSIGNMENT)
        open_from_file_browser(page, f"{ASSIGNMENT}.ipynb")
        panel = page.locator(".jp-NotebookPanel:visible")
        # The notebook's indicator says idle before it has a kernel; the status bar
        # names the kernel.
        page.wait_for_function(KERNEL_IDLE, timeout=120_000)

        run_all_cells(page, panel)
        assert "NotImplementedError" in output_text(panel, test)
        verdict = validate(page, panel)
        assert (
            "The following cell failed" in verdict and "NotImplementedError" in verdict
        ), verdict
        assert "Success!" not in verdict, verdict

        write_answer(page, panel, answer, PIXEL_ACCURACY)
        run_all_cells(page, panel)
        output = output_text(panel, test)
        assert PIXEL_ACCURACY_HINT in output, output

        write_answer(page, panel, answer, CORRECT)
        run_all_cells(page, panel)
        output = output_text(panel, test)
        assert "mean_iou: visible tests passed" in output, output
        assert "RuntimeWarning" in output, (
            f"the answer no longer writes to stderr in a graded cell:\n{output}"
        )
        verdict = validate(page, panel)
        assert "Success! Your notebook passes all the tests." in verdict, verdict

        saved = nbformat.read(
            student_lab.course / NOTEBOOK, as_version=4
        )  # Validate saves first
        assert saved.cells[answer].source.strip() == CORRECT.strip()
        # JupyterLab's default asks every new user, in a toast that stays, whether to
        # fetch news (answering Yes makes the server call pypi.org and the news feed).
        toasts = page.locator(".Toastify__toast").all_inner_texts()
        assert not any("Jupyter news" in toast for toast in toasts), toasts
        assert not problems, "\n".join(problems)
    assert not student_lab.network_attempts(), student_lab.network_attempts()
    # The guard ran in the server and in every kernel: the student's and Validate's two.
    commands = [cmdline for _, cmdline in student_lab.guarded_processes()]
    assert any(b"jupyter" in command and b"lab" in command for command in commands), (
        commands
    )
    assert sum(b"ipykernel_launcher" in command for command in commands) >= 3, commands


def test_student_validates_the_units_notebook(student_lab, browser):
    """The units notebook, answered, opened in the same lab: Validate says Success;
    with one usual mistake typed in, it shows the failing test cell and the hint."""
    notebook = units_notebook_answered()
    answer = cell_index(notebook, UNITS_MISTAKE_OF)
    test_cell = notebook.cells[cell_index(notebook, f"test_{UNITS_MISTAKE_OF}")]
    with recorded_page(browser, "student_units") as (page, problems):
        page.goto(f"{student_lab.url}/?token={student_lab.token}")
        page.wait_for_url("**/lab/tree/exercises")
        open_from_file_browser(page, UNITS)
        open_from_file_browser(page, f"{UNITS}.ipynb")
        panel = page.locator(".jp-NotebookPanel:visible")
        page.wait_for_function(KERNEL_IDLE, timeout=120_000)

        verdict = validate(page, panel)
        assert "Success! Your notebook passes all the tests." in verdict, verdict

        write_answer(page, panel, answer, UNITS_MISTAKE)
        verdict = validate(page, panel)
        assert verdict.count("The following cell failed") == 1, verdict
        assert test_cell.source.strip().splitlines()[0] in verdict, verdict
        assert UNITS_MISTAKE_HINT in " ".join(verdict.split()), verdict
        assert "Success!" not in verdict, verdict
        saved = nbformat.read(student_lab.course / UNITS_NOTEBOOK, as_version=4)
        assert saved.cells[answer].source.strip() == UNITS_MISTAKE.strip()
        assert not problems, "\n".join(problems)
    assert not student_lab.network_attempts(), student_lab.network_attempts()


def test_jupyterlab_asks_for_no_news_and_checks_for_no_update(student_lab):
    settings = student_lab.request(
        "/lab/api/settings/@jupyterlab/apputils-extension:notification"
    )
    defaults = {
        name: spec.get("default")
        for name, spec in settings["schema"]["properties"].items()
    }
    assert defaults["fetchNews"] == "false", defaults  # "none" would ask every new user
    assert defaults["checkForUpdates"] is False, defaults
    assert student_lab.request("/lab/api/news") == {"news": []}
    assert student_lab.request("/lab/api/update") == {"notification": None}
    assert "Extension Manager is 'readonly'" in student_lab.log_tail(100_000)
    assert not student_lab.network_attempts(), student_lab.network_attempts()


def test_the_network_guard_records_and_refuses(tmp_path):
    # Guards the "no network attempt" assertions: the guard does record (and refuse)
    # an attempt.
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import urllib.request; urllib.request.urlopen('http://example.com', "
            "timeout=5)",
        ],
        env=guarded_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        probe.returncode != 0
        and "network access is blocked in this test" in probe.stderr
    ), probe.stderr
    attempts = (tmp_path / "network.log").read_text().splitlines()
    assert len(attempts) == 1 and "example.com" in attempts[0], attempts


def test_make_lab_starts_jupyterlab_with_this_configuration():
    result = subprocess.run(
        ["make", "-s", "-n", "-o", ".venv/bin/.installed", "lab"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (
        f"JUPYTER_CONFIG_PATH={LAB_CONFIG}" in result.stdout
        and "jupyter lab" in result.stdout
    ), result.stdout
    assert ("--allow-root" in result.stdout) == (os.geteuid() == 0), (
        result.stdout
    )  # Jupyter refuses root without it


# --------------------------------------------------------------------------------------
# The instructor

STUDENTS = {
    "alice": (CORRECT, "3 / 3"),
    "bob": (PIXEL_ACCURACY, "0 / 3"),
    "carol": (None, "0 / 3"),
}


@pytest.fixture(scope="module")
def class_grading(tmp_path_factory):
    """`convviz-grade autograde` of a class of three, started at once in the background.

    The student's test requests it first, so that the class is graded while the student
    works.
    """
    course = tmp_path_factory.mktemp("class_course")
    copy_course_config(course)
    for folder in ("solutions", "exercises"):
        (course / folder / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(
            exercise_with(folder=folder),
            course / folder / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        )
    submissions = tmp_path_factory.mktemp("submissions")
    for student, (answer, _) in STUDENTS.items():
        (submissions / student / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(
            exercise_with(answer),
            submissions / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
        )
    with open(course / "autograde.log", "w") as log:
        process = subprocess.Popen(
            [
                str(BIN / "convviz-grade"),
                "autograde",
                ASSIGNMENT,
                "--submissions",
                str(submissions),
                "--course-dir",
                str(course),
                "--jobs",
                "1",
                "--no-progress",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield course, process
    finally:
        if (
            process.poll() is None
        ):  # the test stopped early: stop the grader and its sandboxes
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def graded_class_lab(class_grading, tmp_path_factory):
    course, process = class_grading
    process.wait(timeout=600)
    # Exit code 1: some students failed, which this class is made to have.
    assert process.returncode in (0, 1), (
        f"convviz-grade autograde failed:\n{(course / 'autograde.log').read_text()}"
    )
    with lab_server(course, tmp_path_factory.mktemp("instructor_home")) as server:
        yield server


def test_instructor_sees_the_graded_class_in_formgrader(graded_class_lab, browser):
    with recorded_page(browser, "formgrader") as (page, problems):
        page.goto(f"{graded_class_lab.url}/?token={graded_class_lab.token}")
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
        page.locator(".lm-Menu:visible").get_by_text("Formgrader", exact=True).click()
        formgrader = page.frame_locator("iframe").first
        formgrader.locator("td", has_text=ASSIGNMENT).first.wait_for(
            timeout=60_000
        )  # Manage Assignments
        # "# Submissions": the three notebooks convviz-grade graded, linked to the
        # submissions page.
        submissions = formgrader.locator("tr", has_text=ASSIGNMENT).locator(
            "td.num-submissions"
        )
        assert submissions.inner_text().strip() == str(len(STUDENTS)), (
            submissions.inner_text()
        )
        frame = next(frame for frame in page.frames if "/formgrader" in frame.url)
        frame.goto(f"{graded_class_lab.url}/formgrader/manage_submissions/{ASSIGNMENT}")
        rows = frame.locator("#main-table tr")
        rows.nth(len(STUDENTS) - 1).wait_for(timeout=60_000)
        listed = {
            row.locator("td.student-id").inner_text(): row.locator(
                "td.score"
            ).inner_text()
            for row in rows.all()
        }
        assert listed == {student: score for student, (_, score) in STUDENTS.items()}, (
            listed
        )
        assert not problems, "\n".join(problems)
    assert not graded_class_lab.network_attempts(), graded_class_lab.network_attempts()
