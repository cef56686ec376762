"""A fault costs only the points of the function at fault (four functions, filters).

The fault goes into ``deprocess_image``, which no other answer calls: a function
that calls a faulty one (``visualize_filter`` may call ``gradient_ascent_step``)
fails with it, as it would in the student's kernel.
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


@pytest.mark.slow
@pytest.mark.parametrize(
    "fault",
    [
        "def deprocess_image(image, crop=25):\n    while True:\n        pass\n",
        "import os\ndef deprocess_image(image, crop=25):\n    os._exit(3)\n",
        "while True:\n    pass\n",
    ],
    ids=["hang-in-function", "os-exit-in-function", "hang-at-top-level"],
)
@pytest.mark.slow
def test_fault_in_one_function_leaves_the_others_graded(assignment, tmp_path, fault):
    notebook = with_cell(tmp_path, "deprocess_image", fault)
    result = grading.grade_submission(
        assignment, notebook, work_root=tmp_path, hide=[str(REPOSITORY)], timeout=20
    )
    scores = {grade.function: (grade.score, grade.status) for grade in result.functions}
    assert scores == {
        "compute_loss": (3.0, "passed"),
        "gradient_ascent_step": (3.0, "passed"),
        "deprocess_image": (0.0, "failed"),
        "visualize_filter": (3.0, "passed"),
    }, [grade.message for grade in result.functions]
    assert result.runs >= 2  # the worker was restarted past the fault
