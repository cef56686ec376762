"""Attribution in the secure grader: right and wrong answers, cheats and faults.

The cheats and faults of the fabricated class
(``tests/autograder/fabricated_class.py``), written for this assignment's functions,
must each score what the blank release scores.
"""

from __future__ import annotations

import pytest
from convviz_grade.assignments import attribution as assignment
from exercise_tools import (
    REPOSITORY,
    GradedSubmissions,
    assert_zero_with_hints,
    case_counts,
    grade_with,
    models_as_the_worker_loads_them,
    submission,
)
from test_exercise_attribution import (
    ASSIGNMENT,
    CORRECT,
    HIDDEN_HINTS,
    HIDDEN_MISTAKEN,
    HINTS,
    MISTAKEN,
)

from convviz_ref import shortcut

FUNCTIONS = assignment.FUNCTIONS
HEADERS = {
    "integrated_gradients": "def integrated_gradients(model, image_batch, "
    "class_index=None, baseline=None, steps=32):\n",
    "gradcam_plus_plus": "def gradcam_plus_plus(model, images, class_index=None, *, "
    "layer_name):\n",
    "pointing_game": "def pointing_game(maps, masks):\n",
    "energy_pointing_game": "def energy_pointing_game(maps, masks):\n",
    "relies_on_marker": "def relies_on_marker(model, images, swapped, labels, masks, "
    "marker_masks):\n",
}
WRONG = {
    function: header + "    return np.zeros(1)\n"
    for function, header in HEADERS.items()
}

FAITHFULNESS = REPOSITORY / "convviz_ref" / "faithfulness.py"
# The fabricated class's cheats and faults, one per function and submission (five at a
# time).
CHEATS_AND_FAULTS = {
    "imports": {
        "integrated_gradients": "from convviz_ref.attribution import "
        "integrated_gradients\n",
        "gradcam_plus_plus": HEADERS["gradcam_plus_plus"]
        + (
            "    import importlib\n"
            "    return "
            "importlib.import_module('convviz_ref.attribution').gradcam_plus_plus(\n"
            "        model, images, class_index, layer_name=layer_name, "
            "score='output')\n"
        ),
        "pointing_game": HEADERS["pointing_game"]
        + (
            "    return __import__('convviz_ref.faithfulness', "
            "fromlist=['x']).pointing_game(maps, masks)\n"
        ),
        "energy_pointing_game": f"exec(open({str(FAITHFULNESS)!r}).read())\n",
        "relies_on_marker": "from convviz_ref.shortcut import relies_on_marker\n",
    },
    "patches": {
        "integrated_gradients": (
            "import convviz_grade.checks as checks\n"
            "checks.check_array = lambda *args, **kwargs: None\n"
            + WRONG["integrated_gradients"]
        ),
        "gradcam_plus_plus": (
            "np.allclose = lambda *a, **k: True\n"
            "np.isclose = lambda a, b, **k: np.ones(np.shape(a), bool)\n"
            + WRONG["gradcam_plus_plus"]
        ),
        "pointing_game": HEADERS["pointing_game"]
        + (  # the visible answer, hard-coded
            "    return 6 / 7 if np.shape(masks) == (7, 4, 4) else 0.5\n"
        ),
        "energy_pointing_game": (
            "class Liar(np.ndarray):\n    def __eq__(self, other):\n        return "
            "True\n"
            "    __ne__ = lambda self, other: False\n"
            + HEADERS["energy_pointing_game"]
            + "    return np.zeros(()).view(Liar)\n"
        ),
        # The visible tests' answers in their order (True, then False), then False.
        "relies_on_marker": "_calls = []\n"
        + HEADERS["relies_on_marker"]
        + "    _calls.append(1)\n    return len(_calls) == 1\n",
    },
    "faults": {
        "integrated_gradients": HEADERS["integrated_gradients"]
        + "    while True:\n        pass\n",
        "gradcam_plus_plus": HEADERS["gradcam_plus_plus"]
        + "    import os\n    os._exit(0)\n",
        "pointing_game": HEADERS["pointing_game"] + "    return float('nan')\n",
        "energy_pointing_game": HEADERS["energy_pointing_game"]
        + "    hog = np.ones(2 ** 31)\n    return float(hog.sum())\n",
        "relies_on_marker": HEADERS["relies_on_marker"]
        + "    import os\n    import signal\n\n"
        + "    os.kill(os.getpid(), signal.SIGKILL)\n",
    },
    "broken_cells": {
        "integrated_gradients": "import sys\nsys.exit()\n"
        + CORRECT["integrated_gradients"],
        "gradcam_plus_plus": HEADERS["gradcam_plus_plus"] + "    return (\n",
        "pointing_game": (
            "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\nimport time\nwhile True:\n "
            "   time.sleep(1)\n" + CORRECT["pointing_game"]
        ),
        "energy_pointing_game": WRONG["energy_pointing_game"],
        "relies_on_marker": WRONG["relies_on_marker"],
    },
}

pytestmark = pytest.mark.slow  # each test loads TensorFlow, most run the worker


FAULT_TIMEOUT = 15.0
"""Seconds a worker run may take in the tests of faults, two of which hang until it (one
busy, one asleep).

These submissions hold no correct function, so a run reaches the next fault in
about a second (the solution's whole run, relies_on_marker's shipped 96-pixel models
included, takes about 5 s on a loaded machine); and each function of these
submissions fails whatever the limit, which only decides when a hang is cut.
"""


def test_cases_cover_every_function_and_survive_save_and_load(graded_assignment):
    cases = graded_assignment.cases
    assert graded_assignment.functions == FUNCTIONS
    # function: (visible cases, hidden cases)
    assert case_counts(graded_assignment) == {
        "integrated_gradients": (2, 6),
        "gradcam_plus_plus": (2, 6),
        "pointing_game": (1, 6),
        "energy_pointing_game": (2, 6),
        "relies_on_marker": (2, 8),
    }
    assert all(case.keep_inputs for case in cases)
    assert graded_assignment.preload == ["keras", "tensorflow"]
    # The worker loads each model from the grader's .keras file: the reference on the
    # loaded copy passes the case.
    models = models_as_the_worker_loads_them(graded_assignment)
    for index, case in enumerate(cases):
        if case.function in ("integrated_gradients", "gradcam_plus_plus"):
            loaded = models[index]
            if case.function == "integrated_gradients":
                value = assignment.reference_integrated_gradients(
                    loaded, *case.args[1:], **case.kwargs
                )
            else:
                value = assignment.reference_gradcam_plus_plus(
                    loaded, *case.args[1:], **case.kwargs
                )
            case.check({"value": value})
        if case.function == "relies_on_marker":
            value = shortcut.relies_on_marker(models[index], *case.args[1:])
            case.check({"value": value})
    # One file per distinct model: the two visible models, one per hidden trial's seed
    # and head, then the decision's two shipped and eight hidden models.
    assert len({id(model) for model in models.values()}) == 2 + 6 + 6 + 2 + 8


class TestGradedSubmissions(GradedSubmissions):
    functions = FUNCTIONS
    correct, mistaken, hints = CORRECT, MISTAKEN, HINTS


def test_mistakes_only_hidden_cases_catch_score_zero_with_their_hint(
    graded_assignment, server, tmp_path
):
    path = submission(tmp_path, ASSIGNMENT, HIDDEN_MISTAKEN)
    _, grades = grade_with(server, graded_assignment, path)
    assert_zero_with_hints(grades, HIDDEN_HINTS, where="hidden")


@pytest.mark.parametrize("kind", list(CHEATS_AND_FAULTS))
def test_cheats_and_faults_score_what_blank_scores(
    graded_assignment, server, tmp_path, blank, kind
):
    path = submission(tmp_path, ASSIGNMENT, CHEATS_AND_FAULTS[kind], name=kind)
    _, grades = grade_with(server, graded_assignment, path, timeout=FAULT_TIMEOUT)
    assert {f: (g.status, g.score) for f, g in grades.items()} == {
        f: (g.status, g.score) for f, g in blank[1].items()
    }, {f: g.message for f, g in grades.items()}
