"""tools/side_by_side.sh: ``make test`` of two commits timed one after the other, and
their ratios.

Run here on a throwaway repository whose Makefile stands in for ours: its
install target makes the venv marker, its test target checks what the tool
promises (a cold book, an empty data cache of its own, the preparation of the
new side) and prints pytest's summary.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "side_by_side.sh"

MAKEFILE = """\
.venv/bin/.installed:
\tmkdir -p .venv/bin && touch $@

test:
\ttest ! -e book/_build  # the tool removed the built book
\ttest -d "$$CONVVIZ_CACHE_DIR" && test -z "$$(ls -A "$$CONVVIZ_CACHE_DIR")"
\t{check}
\tmkdir -p book/_build && touch "$$CONVVIZ_CACHE_DIR/drawn"
\tpython3 -c "sum(i * i for i in range({loops}))"
\t@echo "==== {passed} passed in 1.00s ===="
"""


def git(repository, *args):
    return subprocess.run(
        [
            "git",
            "-C",
            str(repository),
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.org",
            *args,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def commit(repository, makefile):
    (repository / "Makefile").write_text(makefile)
    git(repository, "add", "Makefile")
    git(repository, "commit", "-q", "-m", "a version")
    return git(repository, "rev-parse", "--short", "HEAD")


@pytest.fixture
def repository(tmp_path):
    repository = tmp_path / "repository"
    repository.mkdir()
    git(repository, "init", "-q")
    (repository / "tools").mkdir()
    shutil.copy(TOOL, repository / "tools" / TOOL.name)
    git(repository, "add", "tools")
    return repository


def run_tool(repository, tmp_path, old, **environment):
    """tools/side_by_side.sh against commit ``old``, in a bare environment plus
    ``environment``; its work folder is tmp_path/work."""
    return subprocess.run(
        ["bash", str(repository / "tools" / TOOL.name), old],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "SIDE_BY_SIDE_DIR": str(tmp_path / "work"),
            **environment,
        },
    )


def test_times_both_commits_and_prints_the_ratios(repository, tmp_path):
    old = commit(repository, MAKEFILE.format(check="true", loops=4 * 10**6, passed=5))
    new = commit(
        repository,
        MAKEFILE.format(
            check='test -f prepared && test "$(EXTRA)" = yes', loops=10**6, passed=7
        ),
    )
    prepare = {"PREPARE_NEW": "touch prepared", "MAKE_ARGS_NEW": "EXTRA=yes"}
    result = run_tool(repository, tmp_path, old, **prepare)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {
        match[1]: match.groups()
        for match in re.finditer(
            r"^(new|old)\s+(\w+)\s+(\d+)\s+(\d+ passed)\s+([0-9.]+)\s+([0-9.]+)$",
            result.stdout,
            re.M,
        )
    }
    assert rows["new"][1:4] == (new, "0", "7 passed"), result.stdout
    assert rows["old"][1:4] == (old, "0", "5 passed"), result.stdout
    assert float(rows["old"][5]) > 0, "the old side's loop kept the machine busy"
    assert re.search(
        r"^new / old: wall [0-9.]+x, busy CPU [0-9.]+x$", result.stdout, re.M
    ), result.stdout
    assert git(repository, "worktree", "list").count("\n") == 0, (
        "only the repository's own tree is left"
    )
    assert "7 passed" in (tmp_path / "work" / "new-test.log").read_text(), (
        "the logs are kept"
    )


def test_kept_worktrees_are_reused_at_the_commits_asked_for(repository, tmp_path):
    old = commit(repository, MAKEFILE.format(check="true", loops=10, passed=5))
    commit(repository, MAKEFILE.format(check="true", loops=10, passed=7))
    keep, change = {"SIDE_BY_SIDE_KEEP": "1"}, 'echo "# changed" >> Makefile'
    first = run_tool(repository, tmp_path, old, **keep, PREPARE_NEW=change)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (tmp_path / "work" / "new" / ".venv" / "bin" / ".installed").exists(), (
        "kept, venv and all"
    )
    newer = commit(repository, MAKEFILE.format(check="true", loops=10, passed=9))
    second = run_tool(repository, tmp_path, old, **keep)
    assert second.returncode == 0, second.stdout + second.stderr
    assert re.search(rf"^new\s+{newer}\s+0\s+9 passed\s", second.stdout, re.M), (
        second.stdout
    )
    assert "# changed" not in (tmp_path / "work" / "new" / "Makefile").read_text(), (
        "the last preparation is undone"
    )


def test_a_failing_side_is_reported_not_hidden(repository, tmp_path):
    old = commit(repository, MAKEFILE.format(check="true", loops=10, passed=5))
    commit(repository, MAKEFILE.format(check="exit 3", loops=10, passed=7))
    result = run_tool(repository, tmp_path, old)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^new\s+\w+\s+2\s+\?\s", result.stdout, re.M), (
        result.stdout
    )  # make's status, no summary
    assert re.search(r"^old\s+\w+\s+0\s+5 passed\s", result.stdout, re.M), result.stdout
