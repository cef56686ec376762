"""A fault costs only the points of the function at fault (four functions, filters).

The fault goes into ``deprocess_image``, which no other answer calls: a function
that calls a faulty one (``visualize_filter`` may call ``gradient_ascent_step``)
fails with it, as it would in the student's kernel. A hang is cut off by the
grader's time limit per worker run; the limit here scales with an honest grading of
the same notebook on the same machine, so that the runs after a restart (the
remaining cases, start-up included) fit it on a loaded or a slower machine too.

The hangs here sleep: the grader's limit is wall-clock time (the worker's process
group is killed when it passes), so a hang that sleeps is cut exactly as one that
spins, without spinning a core for the whole limit twice per run of this file.
Spinning hangs are cut in test_autograde.py (mallory_hangs_in_function,
nia_hangs_at_top_level) and in the fabricated classes (tests/autograder/fabricated/).
"""

from pathlib import Path

import nbformat
import pytest
from convviz_grade import grading, sandbox

REPOSITORY = Path(__file__).resolve().parents[2]
SOURCE = REPOSITORY / "solutions" / "filters" / "filters.ipynb"


def with_cell(tmp_path, grade_id, source):
    notebook = nbformat.read(SOURCE, as_version=4)
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            cell.source = source
    path = tmp_path / f"{grade_id}.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.fixture(scope="module")
def assignment():
    assert sandbox.bwrap_available()
    return grading.Assignment("filters", SOURCE)


@pytest.fixture(scope="module")
def hang_limit(assignment, tmp_path_factory):
    """Seconds a worker run may take: 1.5 times an honest grading's, plus 10."""
    honest = grading.grade_submission(
        assignment,
        SOURCE,
        work_root=tmp_path_factory.mktemp("honest"),
        hide=[str(REPOSITORY)],
        timeout=600,
    )
    assert honest.score == honest.max_score, [g.message for g in honest.functions]
    return max(20.0, 1.5 * honest.seconds + 10.0)


@pytest.mark.slow
@pytest.mark.parametrize(
    "fault",
    [
        "import time\ndef deprocess_image(image, crop=25):\n"
        "    while True:\n        time.sleep(1)\n",
        "import os\ndef deprocess_image(image, crop=25):\n    os._exit(3)\n",
        "import time\nwhile True:\n    time.sleep(1)\n",
    ],
    ids=["hang-in-function", "os-exit-in-function", "hang-at-top-level"],
)
@pytest.mark.slow
def test_fault_in_one_function_leaves_the_others_graded(
    assignment, hang_limit, tmp_path, fault
):
    notebook = with_cell(tmp_path, "deprocess_image", fault)
    result = grading.grade_submission(
        assignment,
        notebook,
        work_root=tmp_path,
        hide=[str(REPOSITORY)],
        timeout=hang_limit,
    )
    scores = {grade.function: (grade.score, grade.status) for grade in result.functions}
    assert scores == {
        "compute_loss": (3.0, "passed"),
        "gradient_ascent_step": (3.0, "passed"),
        "deprocess_image": (0.0, "failed"),
        "visualize_filter": (3.0, "passed"),
    }, [grade.message for grade in result.functions]
    assert result.runs >= 2  # the worker was restarted past the fault
