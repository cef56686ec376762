"""The fabricated class of ``units`` (``dissection_iou``, ``shape_bias``,
``unit_concept``).

Every usual mistake of the two formulas that the exercise tests write out is a
student: one of each function per notebook, since each function is graded on
its own, and the ones after the first on the released copy, where the other
functions cost nothing. ``unit_concept``'s honest runs are the dearest (a
forward pass of each hidden model on the probe images), so the class holds
two: the independent answers and ``fault_exits``'s solution; the self-check
grades the solution's notebook through the same sandbox before any student,
so no student hands in the solution alone.
"""

from __future__ import annotations

from convviz_grade.assignments import units as module
from exercise_tools import REPOSITORY
from test_exercise_units import CORRECT, HINTS, MISTAKEN

from fabricated import PASSED, Student, failed, hangs, mistake, wrong

ASSIGNMENT = "units"

TIMEOUT = 30.0
"""The worker's limit per run (``--timeout``); the hang is cut at this limit."""

IOU, BIAS, CONCEPT = "dissection_iou", "shape_bias", "unit_concept"
HEADERS = {
    IOU: "def dissection_iou(unit_maps, concept_mask, quantile=0.005):\n",
    BIAS: "def shape_bias(decisions, shape_labels, texture_labels):\n",
    CONCEPT: "def unit_concept(model, layer_name, unit, images, concept_masks):\n",
}
WRONG = {function: wrong(header) for function, header in HEADERS.items()}
DISSECTION = REPOSITORY / "convviz_ref" / "dissection.py"
SHAPE_BIAS = REPOSITORY / "convviz_ref" / "shape_bias.py"

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

# Every function wrong, one way per function and submission: each scores blank's 0.
ALL_FAILED = {function: failed() for function in HEADERS}


def _more_mistakes():
    """The usual mistakes after the first of each function, one of each function per
    student, on the released copy."""
    return {}


CLASS = {
    # The hang first: it is cut at TIMEOUT while the other job grades the rest; the
    # worker restarts without it for a NaN and a memory hog.
    "a_hangs_then_nan_and_hog": Student(
        "fault",
        {
            IOU: hangs(HEADERS[IOU]),
            BIAS: HEADERS[BIAS] + "    return float('nan')\n",
            CONCEPT: HEADERS[CONCEPT]
            + "    hog = np.ones(2 ** 31)\n    return str(hog.sum())\n",
        },
        {
            IOU: failed(f"timed out after {TIMEOUT:g} s"),
            BIAS: failed(),
            CONCEPT: failed(),
        },
    ),
    "honest_independent": Student("honest", CORRECT),
    "blank": Student("blank", {}, released=True),
    "mistake_first": Student(
        "mistake",
        MISTAKEN,
        {function: mistake(hint) for function, hint in HINTS.items()},
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
            "    return importlib.import_module('convviz_ref.dissection').unit_concept(\n"
            "        model, layer_name, unit, images, concept_masks)\n",
        },
        ALL_FAILED,
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
        ALL_FAILED,
    ),
    # What the worker gives, tampered with: each formula empties or rewrites its
    # inputs in place, so that a test that computed the expected value after the
    # call would agree (no pixel above the threshold of all-zero maps: IoU 0; every
    # decision the shape's: bias 1), beside the checks and NumPy's comparisons
    # patched; and one concept whatever the unit, in a str that equals anything.
    "cheat_tampers_and_answers_a_constant": Student(
        "cheat",
        {
            IOU: HEADERS[IOU] + "    unit_maps[...] = 0\n"
            "    concept_mask[...] = False\n    return 0.0\n",
            BIAS: "import convviz_grade.checks as checks\n"
            "checks.check_array = lambda *args, **kwargs: None\n"
            "np.allclose = lambda *a, **k: True\n"
            "np.isclose = lambda a, b, **k: np.ones(np.shape(a), bool)\n"
            + HEADERS[BIAS]
            + "    decisions[...] = shape_labels\n    return 1.0\n",
            CONCEPT: "class Liar(str):\n"
            "    def __eq__(self, other):\n        return True\n"
            "    __ne__ = lambda self, other: False\n    __hash__ = str.__hash__\n"
            + HEADERS[CONCEPT]
            + f"    return Liar({CONSTANT!r})\n",
        },
        ALL_FAILED,
    ),
    # The visible tests' answers, hard-coded. On the released copy: unit_concept
    # costs nothing.
    "cheat_visible_answers": Student(
        "cheat",
        {IOU: VISIBLE_ANSWERS[IOU], BIAS: VISIBLE_ANSWERS[BIAS]},
        {IOU: failed(), BIAS: failed()},
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
