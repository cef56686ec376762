"""A fabricated class for ``segmentation``: honest, cheating and faulty work, each with
its expected score.

The class is graded on ``mean_iou`` (3 points), whose student code needs only
NumPy, so a whole class grades in seconds: the course these tests grade
(``course.segmentation_course``) keeps that function alone. The same class is
graded by the in-process test (``test_autograde.py``) and by the installed
command in other kinds of install (``test_install_kinds.py``).

The other functions of the six assignments (``build_segmenter`` and the other
new ones included) have a fabricated class each, one table per assignment in
the package ``fabricated/`` (``fabricated/<assignment>.py``), graded once per
assignment by its ``test_secure_grading_<assignment>.py``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from course import cut_segmentation_notebook

REPOSITORY = Path(__file__).resolve().parents[2]
SOURCE = REPOSITORY / "solutions" / "segmentation" / "segmentation.ipynb"
RELEASED = REPOSITORY / "exercises" / "segmentation" / "segmentation.ipynb"

HEADER = "def mean_iou(masks_true, masks_pred, num_classes=3):\n"
CORRECT = """
    masks_true, masks_pred = np.asarray(masks_true), np.asarray(masks_pred)
    ious = []
    for c in range(num_classes):
        is_true, is_pred = masks_true == c, masks_pred == c
        union = np.sum(is_true | is_pred)
        if union > 0:
            ious.append(np.sum(is_true & is_pred) / union)
    return float(np.mean(ious))
"""
INDEPENDENT = """def mean_iou(masks_true, masks_pred, num_classes=3):
    import numpy

    t = numpy.asarray(masks_true).reshape(-1).astype(numpy.int64)
    p = numpy.asarray(masks_pred).reshape(-1).astype(numpy.int64)
    confusion = numpy.bincount(
        t * num_classes + p, minlength=num_classes**2
    ).reshape(num_classes, num_classes)
    inter = numpy.diag(confusion).astype(numpy.float64)
    union = confusion.sum(0) + confusion.sum(1) - inter
    return (inter[union > 0] / union[union > 0]).mean()
"""
PIXEL_ACCURACY = (
    HEADER
    + "    return float(np.mean(np.asarray(masks_true) == np.asarray(masks_pred)))\n"
)

# Each entry: student -> (source of the mean_iou solution cell, points expected, status
# expected).
CLASS = {
    "alice_correct": (HEADER + CORRECT, 3.0, "passed"),
    "bob_independent": (INDEPENDENT, 3.0, "passed"),
    "dave_wrong": (PIXEL_ACCURACY, 0.0, "failed"),
    # Cheats: each scores exactly what a blank function scores.
    "erin_imports_reference": (
        "from convviz_ref.segmentation import mean_iou\n",
        0.0,
        "failed",
    ),
    "frank_importlib": (
        HEADER + "    import importlib\n"
        "    return importlib.import_module('convviz_ref.segmentation').mean_iou("
        "masks_true, masks_pred, num_classes)\n",
        0.0,
        "failed",
    ),
    "eve_dunder_import": (
        HEADER
        + "    return __import__('convviz_ref.segmentation', fromlist=['x']).mean_iou("
        "masks_true, masks_pred, num_classes)\n",
        0.0,
        "failed",
    ),
    "gus_patches_test_helpers": (
        "import convviz_grade.checks as checks\n"
        "checks.check_array = lambda *args, **kwargs: None\n" + PIXEL_ACCURACY,
        0.0,
        "failed",
    ),
    "heidi_patches_numpy": (
        "np.allclose = lambda *a, **k: True\nnp.isclose = lambda a, b, **k: "
        "np.ones(np.shape(a), bool)\n"
        "np.testing.assert_allclose = lambda *a, **k: None\n" + PIXEL_ACCURACY,
        0.0,
        "failed",
    ),
    "ivan_input_transformer": (
        "get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n"
        + PIXEL_ACCURACY,
        0.0,
        "failed",
    ),
    "judy_lying_eq": (
        "class Liar(np.ndarray):\n    def __eq__(self, other):\n        return True\n"
        "    __ne__ = lambda self, other: False\n"
        + HEADER
        + "    return np.zeros(()).view(Liar)\n",
        0.0,
        "failed",
    ),
    "ken_hard_codes_visible": (
        HEADER + "    if np.shape(masks_true) == (1, 4, 4):\n"
        "        return 1.0 if np.array_equal(masks_true, masks_pred) else 37 / 56\n"
        "    return 0.5\n",
        0.0,
        "failed",
    ),
    # Faults: each is cut or caught, and the batch goes on.
    "mallory_hangs_in_function": (
        HEADER + "    while True:\n        pass\n",
        0.0,
        "failed",
    ),
    "nia_hangs_at_top_level": (
        "while True:\n    pass\n" + HEADER + CORRECT,
        0.0,
        "failed",
    ),
    # Sleeps: the time limit is wall-clock, so it is cut as a spinning hang is
    # (mallory's, nia's), without spinning a core for the whole limit.
    "oscar_ignores_signals": (
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nimport time\n"
        + HEADER
        + "    while True:\n        time.sleep(1)\n",
        0.0,
        "failed",
    ),
    "peggy_os_exit": (HEADER + "    import os\n    os._exit(0)\n", 0.0, "failed"),
    "quinn_sys_exit": ("import sys\nsys.exit()\n" + HEADER + CORRECT, 0.0, "failed"),
    "rupert_syntax_error": (HEADER + "    return (\n", 0.0, "failed"),
    "sybil_nan": (HEADER + "    return float('nan')\n", 0.0, "failed"),
    "trent_wrong_shape": (HEADER + "    return np.zeros(3)\n", 0.0, "failed"),
    "uma_prints_megabytes": (
        HEADER + "    print('x' * 20_000_000)\n" + CORRECT,
        3.0,
        "passed",
    ),
    "victor_memory_blowup": (
        HEADER + "    hog = np.ones(2 ** 31)\n    return float(hog.sum())\n",
        0.0,
        "failed",
    ),
}


def submission_from(source_cell):
    """The solution notebook cut to ``mean_iou``, its answer cell ``source_cell``."""
    notebook = cut_segmentation_notebook(nbformat.read(SOURCE, as_version=4))
    for cell in notebook.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = source_cell
    return notebook


def leo_edits_locked_tests():
    """Wrong answer; test cells emptied and the hidden-test cell deleted."""
    notebook = submission_from(PIXEL_ACCURACY)
    kept = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade_id") == "hidden_mean_iou":
            continue
        if meta.get("grade"):
            cell.source = "pass"
        kept.append(cell)
    notebook.cells = kept
    return notebook


EXPECTED = {student: (points, status) for student, (_, points, status) in CLASS.items()}
EXPECTED.update(
    {
        "grace_exec_source": (0.0, "failed"),  # the clone's convviz_ref/segmentation.py
        "hank_exec_installed_source": (
            0.0,
            "failed",
        ),  # the installed convviz_ref/segmentation.py
        "carol_blank": (0.0, "failed"),
        "leo_edits_tests": (0.0, "failed"),
        "walter_corrupt": (0.0, "ungraded"),
        "xavier_missing": (0.0, "missing"),
    }
)


def exec_source(path):
    """A cheat that runs the reference module's own file: only the sandbox stops it."""
    return f"exec(open({str(path)!r}).read())\n"


def write_class(submissions, installed_reference_file=None):
    """Write every student's notebook under ``submissions``; return the folder.

    ``installed_reference_file`` is the ``segmentation.py`` of the
    ``convviz_ref`` that grades (in site-packages for an ordinary install);
    by default, the one the import system finds here.
    """
    import importlib.util

    if installed_reference_file is None:
        installed_reference_file = Path(
            importlib.util.find_spec("convviz_ref.segmentation").origin
        )
    submissions = Path(submissions)

    def put(student, notebook=None, text=None):
        folder = submissions / student / "segmentation"
        folder.mkdir(parents=True)
        if notebook is not None:
            nbformat.write(notebook, folder / "segmentation.ipynb")
        if text is not None:
            (folder / "segmentation.ipynb").write_text(text)

    for student, (source, _, _) in CLASS.items():
        put(student, submission_from(source))
    put(
        "grace_exec_source",
        submission_from(exec_source(REPOSITORY / "convviz_ref" / "segmentation.py")),
    )
    put(
        "hank_exec_installed_source",
        submission_from(exec_source(installed_reference_file)),
    )
    put("carol_blank", cut_segmentation_notebook(nbformat.read(RELEASED, as_version=4)))
    put("leo_edits_tests", leo_edits_locked_tests())
    put("walter_corrupt", text="{ this is not a notebook")
    put("xavier_missing")  # a folder, no notebook
    return submissions
