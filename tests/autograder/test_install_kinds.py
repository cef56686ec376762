"""The class test again, graded by the ``convviz-grade`` of other kinds of install.

The test venv has an editable install inside the repository, where the
packages' folders lie apart from the venv. Here a wheel of the project
(``pip wheel --no-deps .``) is installed into a throwaway venv, the way a new
user installs, once in a venv outside ``/tmp`` (where ``convviz_ref`` sits in
the venv's own site-packages) and once in a venv under ``/tmp`` (which the
sandbox empties). The throwaway venv reaches the test venv's dependencies
(TensorFlow, nbgrader, ...) through a ``.pth`` file, so nothing is downloaded.
Every student must get exactly the score and status of the in-process test.

The repository is hidden with ``--hide``: an ordinary install cannot know
where a clone of the solutions lies, so the instructor names it.
"""

from __future__ import annotations

import csv
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest
from convviz_grade import sandbox
from course import autograde_arguments, segmentation_course
from fabricated_class import EXPECTED, REPOSITORY, write_class

TEST_VENV_BIN = Path(sys.executable).parent


def run(command, **kwargs):
    result = subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        timeout=1800,
        **kwargs,
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} "
        f"failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    )
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel of this project, built offline with the test venv's setuptools."""
    out = tmp_path_factory.mktemp("wheel")
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            out,
            REPOSITORY,
        ]
    )
    (built,) = out.glob("convviz-*.whl")
    return built


def throwaway_venv(location, wheel):
    """A venv at ``location`` with the wheel installed and the test venv's dependencies
    reachable.
    """
    run([sys.executable, "-m", "venv", "--without-pip", location])
    relative = Path(sysconfig.get_path("purelib")).relative_to(
        sysconfig.get_path("data")
    )
    own_site = location / relative
    (own_site / "convviz_test_dependencies.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n"
    )
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            location / "bin" / "python",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            wheel,
        ]
    )
    return own_site


INSTALL_KINDS = {"venv-outside-tmp": "/var/tmp", "venv-under-tmp": "/tmp"}


@pytest.fixture(scope="module")
def graded_by_wheels(wheel, tmp_path_factory):
    """The class graded by each kind of install: both gradings run side by side.

    Each grading spends most of its time waiting (its hanging students' time
    limits), so the two overlap; each still has its own venv, course,
    gradebook and sandboxed children.
    """
    assert sandbox.bwrap_available(), (
        "bubblewrap must work here (make test installs it)"
    )
    kinds = {}
    try:
        for kind, parent in INSTALL_KINDS.items():
            location = Path(tempfile.mkdtemp(prefix="convviz-venv-", dir=parent))
            kinds[kind] = {"location": location}
            own_site = throwaway_venv(location, wheel)
            python = location / "bin" / "python"
            where = run(
                [
                    python,
                    "-I",
                    "-c",
                    "import convviz_grade, convviz_ref; "
                    "print(convviz_grade.__file__); print(convviz_ref.__file__)",
                ]
            ).stdout.split()
            root = tmp_path_factory.mktemp("course")
            # the installed convviz-grade creates the gradebook
            course = segmentation_course(root, gradebook=False)
            submissions = write_class(
                tmp_path_factory.mktemp("submissions"),
                installed_reference_file=own_site / "convviz_ref" / "segmentation.py",
            )
            # A user's shell: the throwaway venv first, then the test venv (nbgrader's
            # alembic lives there).
            environment = dict(
                os.environ,
                PATH=os.pathsep.join(
                    [
                        str(location / "bin"),
                        str(TEST_VENV_BIN),
                        os.environ.get("PATH", ""),
                    ]
                ),
            )
            grading = subprocess.Popen(
                [
                    str(location / "bin" / "convviz-grade"),
                    *autograde_arguments(
                        root,
                        submissions,
                        *("--hide", REPOSITORY, "--timeout", "8", "--memory", "2048"),
                        *("--jobs", "2"),
                    ),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=environment,
            )
            kinds[kind].update(
                where=where,
                own_site=own_site,
                course=course,
                environment=environment,
                process=grading,
            )
        for entry in kinds.values():
            stdout, stderr = entry["process"].communicate(timeout=1800)
            entry["grading"] = subprocess.CompletedProcess(
                entry["process"].args, entry["process"].returncode, stdout, stderr
            )
            out = tmp_path_factory.mktemp("export") / "grades.csv"
            run(
                [
                    entry["location"] / "bin" / "convviz-grade",
                    "export",
                    "--out",
                    out,
                    "--course-dir",
                    entry["course"].root,
                ],
                env=entry["environment"],
            )
            with open(out) as file:
                entry["rows"] = list(csv.DictReader(file))
        yield kinds
    finally:
        for entry in kinds.values():
            if "process" in entry and entry["process"].poll() is None:
                entry["process"].kill()
                entry["process"].wait()
            shutil.rmtree(entry["location"], ignore_errors=True)


@pytest.fixture(params=list(INSTALL_KINDS))
def graded_by_wheel(request, graded_by_wheels):
    return graded_by_wheels[request.param]


@pytest.mark.slow
def test_the_wheel_is_what_grades_not_the_repository(graded_by_wheel):
    own_site = graded_by_wheel["own_site"].resolve()
    for module_file in graded_by_wheel["where"]:
        assert Path(module_file).resolve().is_relative_to(own_site), module_file


@pytest.mark.slow
def test_every_student_gets_the_score_and_status_of_the_editable_install(
    graded_by_wheel,
):
    grading = graded_by_wheel["grading"]
    assert grading.returncode == 1, (
        grading.stdout + grading.stderr
    )  # walter's notebook is not JSON
    got = {
        row["student"]: (float(row["score"]), row["status"])
        for row in graded_by_wheel["rows"]
    }
    assert got == EXPECTED, grading.stdout[-3000:]
