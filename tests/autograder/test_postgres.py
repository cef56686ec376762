"""The gradebook in PostgreSQL: any db_url nbgrader accepts works.

The test starts a throwaway PostgreSQL server of its own (Debian's
``postgresql`` package, installed by ``make test``), listening only on a Unix
socket in a temporary folder, and stops it at the end.
"""

import glob
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from convviz_grade import cli
from course import (
    assert_solution_and_blank_scores,
    autograde_arguments,
    segmentation_course,
    submit_solution_and_blank,
)

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def postgres():
    binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
    assert binaries, (
        "PostgreSQL is not installed: `apt-get install postgresql` (make test does it)"
    )
    pg_bin = Path(binaries[-1])
    # Not under pytest's tmp folder: the postgres user cannot enter root's 0700 folders.
    folder = Path(tempfile.mkdtemp(prefix="convviz-postgres-"))
    shutil.chown(folder, "postgres")
    folder.chmod(0o755)

    def as_postgres(tool, *args, check=True):
        """Run PostgreSQL's ``tool`` as the postgres user."""
        command = ["runuser", "-u", "postgres", "--", str(pg_bin / tool)]
        return subprocess.run([*command, *args], check=check, capture_output=True)

    data, port = str(folder / "data"), "54329"
    as_postgres("initdb", "-D", data, "-A", "trust", "-U", "postgres")
    server = f"-k {folder} -p {port} -h ''"
    as_postgres(
        "pg_ctl", "-D", data, "-l", str(folder / "log"), "-o", server, "-w", "start"
    )
    try:
        as_postgres("createdb", "-h", str(folder), "-p", port, "gradebook")
        yield f"postgresql+psycopg2://postgres@/gradebook?host={folder}&port={port}"
    finally:
        as_postgres("pg_ctl", "-D", data, "-m", "immediate", "stop", check=False)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_autograde_and_export_with_a_postgresql_gradebook(postgres, tmp_path):
    # convviz-grade creates the gradebook
    course = segmentation_course(tmp_path / "course", postgres, gradebook=False)
    submissions = submit_solution_and_blank(tmp_path / "submissions")
    arguments = autograde_arguments(course.root, submissions, "--jobs", "2")
    assert cli.main(arguments) == 0
    assert_solution_and_blank_scores(course)
    out = tmp_path / "grades.csv"
    assert (
        cli.main(["export", "--out", str(out), "--course-dir", str(course.root)]) == 0
    )
    assert out.read_text().splitlines()[1:] == [
        "ann,segmentation,segmentation,mean_iou,3.0,3.0,passed",
        "ben,segmentation,segmentation,mean_iou,0.0,3.0,failed",
    ]
