"""The fabricated class of ``activations`` (``channel_grid``,
``build_activation_model``).

Every usual mistake of ``build_activation_model`` that the exercise tests write
out (``HINT_OF``, each source with the hint the grader's checks give it, and
``FUNCTIONAL_ONLY``) is a student; the model-only students start from the
released copy, so their ``channel_grid`` costs nothing.
"""

from __future__ import annotations

from convviz_grade.assignments import activations as module
from test_exercise_activations import (
    ACTIVATION_MODEL,
    CORRECT,
    CORRECT_GRID,
    FLOAT32_GRID,
    FUNCTIONAL_ONLY,
    HINT_OF,
    MISTAKEN,
    variant,
)

from fabricated import Student, failed, hangs, mistake

ASSIGNMENT = "activations"

TIMEOUT = 30.0
"""The worker's limit per run (``--timeout``): the solution's whole run takes
under 10 s on a loaded machine; the hang is cut at this limit."""

GRID, MODEL = "channel_grid", "build_activation_model"
MODEL_HEADER = (
    "def build_activation_model(model, layer_names=None, *, input_shape=None):\n"
)

# A constant channel whose float32 std is a round-off (channel 3 of random_activation)
# gets a tile: only the hidden cases have such a channel.
STD_TEST = variant(
    FLOAT32_GRID, "if channel.max() == channel.min():", "if channel.std() == 0:"
)

# Uses Keras (the prelude's lazily imported module) for the statistics: still correct.
WITH_KERAS = variant(
    FLOAT32_GRID,
    "np.array(activation, dtype=np.float32)",
    'keras.ops.convert_to_numpy(keras.ops.convert_to_tensor(activation, "float32"))',
)

# The right grid, written into the caller's array first.
CHANGES_THE_INPUT = variant(
    CORRECT_GRID,
    "    return np.vstack(",
    "    activation[...] = 0  # the caller's array\n    return np.vstack(",
)

# The probe is loaded before student code; a submission that finds it and makes it
# send back what it likes can only send arrays, which the grader compares with its own.
PATCHES_THE_PROBE = (
    "import sys as _sys\n"
    "for _name, _module in list(_sys.modules.items()):\n"
    "    if _name.startswith('_convviz_probe_'):\n"
    "        _module.run_activation_model = lambda *a, **k: {'value': np.array(2)}\n"
    + MISTAKEN[MODEL]
)

# The grid that writes into the caller's array (the grader compares the array the
# worker sends back with its own copy) rides with the first usual mistake of the
# model: each function is graded on its own.
_model_mistakes = {}
for number, (source, hint) in enumerate(
    (source, hint) for source, hint in HINT_OF.items() if source != MISTAKEN[MODEL]
):
    answers, verdicts = {MODEL: source}, {MODEL: mistake(hint)}
    if number == 0:
        answers[GRID] = CHANGES_THE_INPUT
        verdicts[GRID] = failed(
            starts="(visible test) channel_grid: the input array was modified in place"
        )
    _model_mistakes[f"mistake_model_{number}"] = Student(
        "mistake", answers, verdicts, released=True
    )

CLASS = {
    # The hang first: it is cut at TIMEOUT while the other job grades the rest.
    "a_hangs": Student(
        "fault",
        {MODEL: hangs(MODEL_HEADER)},
        {MODEL: failed(f"timed out after {TIMEOUT:g} s")},
    ),
    "honest_solution": Student("honest", {}),
    "honest_independent": Student("honest", CORRECT),
    "honest_with_keras": Student("honest", {GRID: WITH_KERAS}),
    "blank": Student("blank", {}, released=True),
    "mistake_both": Student(
        "mistake",
        MISTAKEN,
        {
            GRID: mistake("divided by the maximum instead of the standard deviation"),
            MODEL: mistake(HINT_OF[MISTAKEN[MODEL]]),
        },
    ),
    # Only the hidden cases catch this grid; Keras 3's Sequential has no `.input`.
    "mistake_std_and_model_input": Student(
        "mistake",
        {GRID: STD_TEST, MODEL: FUNCTIONAL_ONLY},
        {
            GRID: mistake(
                "missed a constant channel whose float32 std is a tiny round-off "
                "instead of 0",
                where="hidden",
            ),
            MODEL: failed(
                "hint: in Keras 3 a Sequential model has no `.input`",
                starts="build_activation_model (visible test)",
            ),
        },
    ),
    **_model_mistakes,
    "cheat_patches_the_probe": Student(
        "cheat", {MODEL: PATCHES_THE_PROBE}, {MODEL: failed()}
    ),
    # Two cheats of two functions, neither reaching the other's: the reference's
    # model imported, and the grader's module (hidden by the sandbox) read before
    # a right grid.
    "cheat_imports_the_reference_and_reads_the_grader": Student(
        "cheat",
        {
            MODEL: "from convviz_ref.activations import build_activation_model\n",
            GRID: f"_grader = open({module.__file__!r}).read()\n" + CORRECT_GRID,
        },
        {MODEL: failed(), GRID: failed()},
    ),
    "fault_exits": Student(
        "fault",
        {MODEL: MODEL_HEADER + "    import os\n    os._exit(0)\n"},
        {MODEL: failed("exit code 0")},
    ),
    # Twenty megabytes printed by the cell of a right model: full points; a grid
    # that raises.
    "fault_prints_and_raises": Student(
        "fault",
        {
            MODEL: "print('x' * 20_000_000)\n" + ACTIVATION_MODEL,
            GRID: "def channel_grid(activation, images_per_row=16):\n"
            "    raise RuntimeError('out of ideas')\n",
        },
        {GRID: failed("RuntimeError: out of ideas")},
    ),
}
