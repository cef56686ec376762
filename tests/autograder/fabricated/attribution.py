"""The fabricated class of ``attribution`` (``integrated_gradients``,
``gradcam_plus_plus``, ``pointing_game``, ``energy_pointing_game``,
``relies_on_marker``).

``relies_on_marker`` is graded last in each notebook, after the honest
functions. A student that grades relies_on_marker costs about 20 s on a loaded
machine (its shipped 96-pixel models and the hidden ones), so the other correct
decisions of the exercise tests (``OTHER_CORRECT_DECISIONS``) and the opposite
decision (``MARKER_HINTS[True]``) are checked there, in-process, through the
same checks.
"""

from __future__ import annotations

from convviz_grade.assignments import attribution as module
from exercise_tools import REPOSITORY
from test_exercise_attribution import (
    CORRECT,
    HIDDEN_HINTS,
    HIDDEN_MISTAKEN,
    HINTS,
    MISTAKEN,
)

from fabricated import PASSED, Student, failed, hangs, mistake, wrong

ASSIGNMENT = "attribution"

TIMEOUT = 45.0
"""The worker's limit per run (``--timeout``): the honest students' whole runs,
relies_on_marker's shipped 96-pixel models included, took 14 to 27 s on a
machine loaded 10 on 2 cores; each hang is cut at this limit. The hang of
relies_on_marker is left out (a third hang would cost another run to its
limit): a hang in integrated_gradients, an exit in relies_on_marker beside
honest functions, and a cell that sleeps forever stand for the faults."""

DECIDE = "relies_on_marker"
HEADERS = {
    "integrated_gradients": "def integrated_gradients(model, image_batch, "
    "class_index=None, baseline=None, steps=32):\n",
    "gradcam_plus_plus": "def gradcam_plus_plus(model, images, class_index=None, *, "
    "layer_name):\n",
    "pointing_game": "def pointing_game(maps, masks):\n",
    "energy_pointing_game": "def energy_pointing_game(maps, masks):\n",
    DECIDE: "def relies_on_marker(model, images, swapped, labels, masks, "
    "marker_masks):\n",
}
WRONG = {function: wrong(header) for function, header in HEADERS.items()}
FAITHFULNESS = REPOSITORY / "convviz_ref" / "faithfulness.py"

# Every function wrong, one way per function and submission: each scores blank's 0.
ALL_FAILED = {function: failed() for function in HEADERS}

CLASS = {
    # The hangs first: each is cut at TIMEOUT while the other job grades the rest.
    # A hang, an exit, a NaN, a memory hog, a killed process.
    "a_hangs_exits_and_kills": Student(
        "fault",
        {
            "integrated_gradients": hangs(HEADERS["integrated_gradients"]),
            "gradcam_plus_plus": HEADERS["gradcam_plus_plus"]
            + "    import os\n    os._exit(0)\n",
            "pointing_game": HEADERS["pointing_game"] + "    return float('nan')\n",
            "energy_pointing_game": HEADERS["energy_pointing_game"]
            + "    hog = np.ones(2 ** 31)\n    return float(hog.sum())\n",
            DECIDE: HEADERS[DECIDE] + "    import os\n    import signal\n\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n",
        },
        ALL_FAILED,
    ),
    # Broken cells: an exit at the top, a syntax error, a cell that sleeps forever
    # and ignores signals.
    "a_sleeps_in_a_broken_cell": Student(
        "fault",
        {
            "integrated_gradients": "import sys\nsys.exit()\n"
            + CORRECT["integrated_gradients"],
            "gradcam_plus_plus": HEADERS["gradcam_plus_plus"] + "    return (\n",
            "pointing_game": (
                "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nimport time\n"
                "while True:\n    time.sleep(1)\n" + CORRECT["pointing_game"]
            ),
            "energy_pointing_game": WRONG["energy_pointing_game"],
            DECIDE: WRONG[DECIDE],
        },
        ALL_FAILED,
    ),
    "honest_solution": Student("honest", {}),
    "honest_independent": Student("honest", CORRECT),
    "blank": Student("blank", {}, released=True),
    "mistake_all": Student(
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
    "cheat_imports": Student(
        "cheat",
        {
            "integrated_gradients": "from convviz_ref.attribution import "
            "integrated_gradients\n",
            "gradcam_plus_plus": HEADERS["gradcam_plus_plus"] + "    import importlib\n"
            "    return "
            "importlib.import_module('convviz_ref.attribution').gradcam_plus_plus(\n"
            "        model, images, class_index, layer_name=layer_name, "
            "score='output')\n",
            "pointing_game": HEADERS["pointing_game"]
            + "    return __import__('convviz_ref.faithfulness', "
            "fromlist=['x']).pointing_game(maps, masks)\n",
            "energy_pointing_game": f"exec(open({str(FAITHFULNESS)!r}).read())\n",
            DECIDE: "from convviz_ref.shortcut import relies_on_marker\n",
        },
        ALL_FAILED,
    ),
    "cheat_patches": Student(
        "cheat",
        {
            "integrated_gradients": "import convviz_grade.checks as checks\n"
            "checks.check_array = lambda *args, **kwargs: None\n"
            + WRONG["integrated_gradients"],
            "gradcam_plus_plus": "np.allclose = lambda *a, **k: True\n"
            "np.isclose = lambda a, b, **k: np.ones(np.shape(a), bool)\n"
            + WRONG["gradcam_plus_plus"],
            # The visible answer, hard-coded.
            "pointing_game": HEADERS["pointing_game"]
            + "    return 6 / 7 if np.shape(masks) == (7, 4, 4) else 0.5\n",
            "energy_pointing_game": "class Liar(np.ndarray):\n"
            "    def __eq__(self, other):\n        return True\n"
            "    __ne__ = lambda self, other: False\n"
            + HEADERS["energy_pointing_game"]
            + "    return np.zeros(()).view(Liar)\n",
            # The visible tests' answers in their order (True, then False), then
            # False.
            DECIDE: "_calls = []\n"
            + HEADERS[DECIDE]
            + "    _calls.append(1)\n    return len(_calls) == 1\n",
        },
        ALL_FAILED,
    ),
    # On the released copy: its cell fails before any model is loaded, and the
    # other functions cost nothing (solution functions call no other: each right
    # function beside a fault is fault_exits's claim).
    "cheat_reads_the_grader": Student(
        "cheat",
        {DECIDE: f"_grader = open({module.__file__!r}).read()\n" + CORRECT[DECIDE]},
        {DECIDE: failed()},
        released=True,
    ),
    "fault_exits": Student(
        "fault",
        {DECIDE: HEADERS[DECIDE] + "    import os\n    os._exit(0)\n"},
        {DECIDE: failed("exit code 0")},
    ),
    # Twenty megabytes printed by the cell of a right pointing game: full points; a
    # decision that raises. On the released copy: the other functions cost nothing.
    "fault_prints_and_raises": Student(
        "fault",
        {
            "pointing_game": "print('x' * 20_000_000)\n" + CORRECT["pointing_game"],
            DECIDE: HEADERS[DECIDE] + "    raise RuntimeError('out of ideas')\n",
        },
        {
            "pointing_game": PASSED,
            DECIDE: failed("RuntimeError: out of ideas"),
        },
        released=True,
    ),
}
