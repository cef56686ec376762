"""The fabricated class of ``units`` (``dissection_iou``, ``shape_bias``,
``unit_concept``).

Every usual mistake of the two formulas that the grader names
(:func:`~convviz_grade.assignments.units.iou_mistakes`,
:func:`~convviz_grade.assignments.units.shape_bias_mistakes`) is a student: the
exercise tests' (``MISTAKEN``, ``HIDDEN_MISTAKEN``), and the others written out
here (:data:`IOU_MISTAKES`, :data:`BIAS_MISTAKES`), one of each function per
notebook (each function is graded on its own) on the released copy, where
``unit_concept`` fails at once as not written yet.

No student hands in the solution alone: the self-check grades the solution's
notebook through the same sandbox before any student, and ``fault_exits`` hands
in the solution's ``dissection_iou`` and ``unit_concept`` beside its fault. The
solution's ``unit_concept`` calls the notebook's ``dissection_iou``, so no student
pairs it with a wrong one: that student's own code would fail both functions.
"""

from __future__ import annotations

from itertools import zip_longest

from convviz_grade.assignments import units as module
from exercise_tools import REPOSITORY
from test_exercise_units import (
    CORRECT,
    HIDDEN_HINTS,
    HIDDEN_MISTAKEN,
    HINTS,
    MISTAKEN,
)

from fabricated import Student, failed, hangs, mistake

ASSIGNMENT = "units"

TIMEOUT = 25.0
"""The worker's limit per run (``--timeout``): the honest student's whole run, the
twelve planted models of unit_concept included, took 4 to 6 s with the machine loaded
3.5 to 4 on 2 cores; the hang is cut at this limit."""

IOU, BIAS, CONCEPT = "dissection_iou", "shape_bias", "unit_concept"
HEADERS = {
    IOU: "def dissection_iou(unit_maps, concept_mask, quantile=0.005):\n",
    BIAS: "def shape_bias(decisions, shape_labels, texture_labels):\n",
    CONCEPT: "def unit_concept(model, layer_name, unit, images, concept_masks):\n",
}
DISSECTION = REPOSITORY / "convviz_ref" / "dissection.py"
SHAPE_BIAS = REPOSITORY / "convviz_ref" / "shape_bias.py"

_TOP = """    maps = np.asarray(unit_maps, np.float64)
    mask = np.asarray(concept_mask, bool)
    ordered = np.sort(maps, axis=None)
    fires = maps > ordered[-max(1, int(quantile * ordered.size)) - 1]
"""
_COUNTS = """    d = np.asarray(decisions)
    shape = int(np.sum(d == np.asarray(shape_labels)))
    texture = int(np.sum(d == np.asarray(texture_labels)))
"""
IOU_MISTAKES = {
    "thresholded each image at its own np.quantile": HEADERS[IOU]
    + """    maps = np.asarray(unit_maps, np.float64)
    mask = np.asarray(concept_mask, bool)
    each = np.quantile(maps.reshape(len(maps), -1), 1 - quantile, axis=1)
    fires = maps > each[:, None, None]
    union = np.sum(fires | mask)
    return float(np.sum(fires & mask) / union) if union else 0.0
""",
    "averaged the per-image IoUs": HEADERS[IOU]
    + _TOP
    + """    ious = [
        np.sum(f & m) / np.sum(f | m) if np.any(f | m) else 0.0
        for f, m in zip(fires, mask)
    ]
    return float(np.mean(ious))
""",
    "kept the bottom quantile": HEADERS[IOU]
    + """    maps = np.asarray(unit_maps, np.float64)
    mask = np.asarray(concept_mask, bool)
    fires = maps > np.quantile(maps, quantile)
    union = np.sum(fires | mask)
    return float(np.sum(fires & mask) / union) if union else 0.0
""",
    "divided the intersection by the concept's area (recall)": HEADERS[IOU]
    + _TOP
    + "    return float(np.sum(fires & mask) / max(1, np.sum(mask)))\n",
    "divided the intersection by the unit's area (precision)": HEADERS[IOU]
    + _TOP
    + "    return float(np.sum(fires & mask) / max(1, np.sum(fires)))\n",
}
"""The usual mistakes of ``dissection_iou`` that the exercise tests do not write out,
each keyed by its hint (as much of it as tells it apart)."""
BIAS_MISTAKES = {
    "returned the texture share": HEADERS[BIAS]
    + _COUNTS
    + "    return texture / (shape + texture) if shape + texture else float('nan')\n",
    "returned a percentage": HEADERS[BIAS]
    + _COUNTS
    + "    return 100 * shape / (shape + texture) if shape + texture else np.nan\n",
    "divided shape by texture decisions (odds)": HEADERS[BIAS]
    + _COUNTS
    + "    return shape / texture if texture else float('inf')\n",
}
"""The same for ``shape_bias``."""

CONSTANT = "dotted"
"""A constant answer of ``unit_concept``: one of its two outcomes, right on half the
hidden units."""
VISIBLE_ANSWERS = {
    # The visible example's IoU (two 3x4 maps), else anything.
    IOU: HEADERS[IOU]
    + "    return 1 / 7 if np.shape(unit_maps) == (2, 3, 4) else 0.5\n",
    # The visible examples' biases: 5 / 7 of eight decisions, NaN of two.
    BIAS: HEADERS[BIAS] + "    return 5 / 7 if len(decisions) == 8 else float('nan')\n",
}

REFUSED = "cannot be imported while grading"
MODIFIED = "modified in place"
HIDDEN = "(hidden test)"


def _more_mistakes():
    """:data:`IOU_MISTAKES` and :data:`BIAS_MISTAKES`, one of each function per
    student, on the released copy; each is named by the visible test."""
    students = {}
    for number, (iou, bias) in enumerate(
        zip_longest(IOU_MISTAKES.items(), BIAS_MISTAKES.items()), start=2
    ):
        answers, verdicts = {}, {}
        for function, pair in ((IOU, iou), (BIAS, bias)):
            if pair:
                answers[function], verdicts[function] = pair[1], mistake(pair[0])
        students[f"mistake_{number}"] = Student(
            "mistake", answers, verdicts, released=True
        )
    return students


CLASS = {
    # The hang first: it is cut at TIMEOUT while the other job grades the rest. It
    # comes last in its notebook, so the NaN and the memory hog before it are graded in
    # the run it ends, and their verdicts survive its kill (one run, not two).
    "a_hangs_after_nan_and_hog": Student(
        "fault",
        {
            IOU: HEADERS[IOU] + "    return float('nan')\n",
            BIAS: HEADERS[BIAS] + "    hog = np.ones(2 ** 31)\n    return hog.sum()\n",
            CONCEPT: hangs(HEADERS[CONCEPT]),
        },
        {
            IOU: failed("NaN or infinite"),
            BIAS: failed("MemoryError"),
            CONCEPT: failed(f"timed out after {TIMEOUT:g} s"),
        },
    ),
    "honest_independent": Student("honest", CORRECT),
    "blank": Student("blank", {}, released=True),
    "mistake_1": Student(
        "mistake",
        MISTAKEN,
        {function: mistake(hint) for function, hint in HINTS.items()},
    ),
    "mistake_only_hidden_cases_catch": Student(
        "mistake",
        HIDDEN_MISTAKEN,
        {
            function: mistake(hint, where="hidden")
            for function, hint in HIDDEN_HINTS.items()
        },
    ),
    **_more_mistakes(),
    # The reference imported three ways: the worker refuses convviz_ref.
    "cheat_imports": Student(
        "cheat",
        {
            IOU: "from convviz_ref.dissection import dissection_iou\n",
            BIAS: HEADERS[BIAS]
            + "    return __import__('convviz_ref.shape_bias', fromlist=['x'])"
            ".shape_bias(decisions, shape_labels, texture_labels).shape_bias\n",
            CONCEPT: HEADERS[CONCEPT] + "    import importlib\n\n"
            "    library = importlib.import_module('convviz_ref.dissection')\n"
            "    return library.unit_concept(\n"
            "        model, layer_name, unit, images, concept_masks)\n",
        },
        {function: failed(REFUSED) for function in HEADERS},
    ),
    # Files the sandbox hides: the grader's module (its hidden cases' ground truth),
    # the reference's sources run with exec.
    "cheat_reads_files": Student(
        "cheat",
        {
            IOU: f"_grader = open({module.__file__!r}).read()\n" + CORRECT[IOU],
            BIAS: HEADERS[BIAS] + "    namespace = {}\n"
            f"    exec(open({str(SHAPE_BIAS)!r}).read(), namespace)\n"
            "    return namespace['shape_bias'](\n"
            "        decisions, shape_labels, texture_labels).shape_bias\n",
            CONCEPT: f"exec(open({str(DISSECTION)!r}).read())\n",
        },
        {function: failed("No such file or directory") for function in HEADERS},
    ),
    # What the worker gives, tampered with: each formula empties or rewrites its
    # inputs in place, so that a test that computed the expected value after the
    # call would agree (no pixel above the threshold of all-zero maps: IoU 0; every
    # decision the shape's: bias 1), beside the checks and NumPy's comparisons
    # patched; and one concept whatever the unit.
    "cheat_tampers_and_answers_a_constant": Student(
        "cheat",
        {
            IOU: HEADERS[IOU] + "    unit_maps[...] = 0\n"
            "    concept_mask[...] = False\n    return 0.0\n",
            BIAS: "try:\n    import convviz_grade.checks as checks\n\n"
            "    checks.check_array = lambda *args, **kwargs: None\n"
            "except ImportError:\n    pass\n"
            "np.allclose = lambda *a, **k: True\n"
            "np.isclose = lambda a, b, **k: np.ones(np.shape(a), bool)\n"
            + HEADERS[BIAS]
            + "    decisions[...] = shape_labels\n    return 1.0\n",
            CONCEPT: HEADERS[CONCEPT] + f"    return {CONSTANT!r}\n",
        },
        {
            IOU: failed(MODIFIED),
            BIAS: failed(MODIFIED),
            CONCEPT: failed(f"got {CONSTANT!r}"),
        },
    ),
    # The visible tests' answers, hard-coded: they pass the visible tests, not the
    # hidden ones. On the released copy: unit_concept costs nothing.
    "cheat_visible_answers": Student(
        "cheat",
        {IOU: VISIBLE_ANSWERS[IOU], BIAS: VISIBLE_ANSWERS[BIAS]},
        {IOU: failed(starts=HIDDEN), BIAS: failed(starts=HIDDEN)},
        released=True,
    ),
    # os._exit in the middle function: the worker restarts without it and grades
    # unit_concept after it; the other two are the solution's, in full.
    "fault_exits": Student(
        "fault",
        {BIAS: HEADERS[BIAS] + "    import os\n    os._exit(0)\n"},
        {BIAS: failed("exit code 0")},
    ),
}
