"""The fabricated class of ``architecture`` (``residual_block``,
``count_conv_params``, ``separable_block``, ``build_xception_like``).

One usual mistake per function is a student (the exercise tests' ``MISTAKEN``).
The module's other mistaken blocks and models (``MISTAKEN_SEPARABLE_BLOCKS``,
``MISTAKEN_MODELS``) are not: a failed block or model makes the grader build
every mistaken variant to name the one made, 30 to 45 s per student on a loaded
machine (measured with the module's factories as students); the exercise tests
check each one's hint through the same checks in-process
(``test_the_reference_passes_and_each_mistake_fails_with_its_hint``).
"""

from __future__ import annotations

from convviz_grade.assignments import architecture as module
from exercise_tools import REPOSITORY
from test_exercise_architecture import (
    CORRECT,
    CORRECT_COUNT,
    CORRECT_MODEL,
    CORRECT_SEPARABLE,
    HINTS,
    MISTAKEN,
    SEPARABLE_WITH_CONV2D,
)

from fabricated import Student, failed, hangs, mistake

ASSIGNMENT = "architecture"

TIMEOUT = 40.0
"""The worker's limit per run (``--timeout``): the solution's whole run takes
about 20 s on a loaded machine (load 8 on 2 cores); the hang is cut at this
limit."""

BLOCK, MODEL = "separable_block", "build_xception_like"
BLOCK_HEADER = (
    "def separable_block(x, filters, *, pooling=False, bn_momentum=0.9, "
    "name='block'):\n"
)
MODEL_HEADER = "def build_xception_like(*args, **kwargs):\n"


CLASS = {
    # The hang first: it is cut at TIMEOUT while the other job grades the rest.
    "a_hangs_and_exits": Student(
        "fault",
        {
            BLOCK: hangs(BLOCK_HEADER),
            MODEL: MODEL_HEADER + "    import os\n    os._exit(0)\n",
        },
        {
            BLOCK: failed(f"timed out after {TIMEOUT:g} s"),
            MODEL: failed("exit code 0"),
        },
    ),
    "honest_solution": Student("honest", {}),
    "honest_independent": Student("honest", CORRECT),
    "blank": Student("blank", {}, released=True),
    "mistake_all": Student(
        "mistake",
        MISTAKEN,
        {function: mistake(hint) for function, hint in HINTS.items()},
    ),
    # A float count fails as in the notebook; the library's block is out of reach.
    "cheat_library_block_and_float_count": Student(
        "cheat",
        {
            "residual_block": (
                "def residual_block(x, filters, *, pooling=False, separable=False, "
                "bn_momentum=0.9, name='block'):\n"
                "    return library_residual_block(x, filters, pooling=pooling, "
                "name=name)\n"
            ),
            "count_conv_params": CORRECT_COUNT.replace(
                "return total", "return 1.0 * total"
            ),
        },
        {
            "residual_block": failed("NameError"),
            "count_conv_params": failed("expected an int"),
        },
    ),
    "cheat_imports_and_reads_the_reference": Student(
        "cheat",
        {
            BLOCK: BLOCK_HEADER + "    from convviz_ref.models import residual_block\n"
            "    return residual_block(x, filters, pooling=pooling, separable=True,\n"
            "                          bn_momentum=bn_momentum, name=name)\n",
            MODEL: MODEL_HEADER + "    namespace = {}\n"
            f"    exec(open({str(REPOSITORY / 'convviz_ref' / 'models.py')!r})"
            ".read(), namespace)\n"
            "    return namespace['build_xception_like'](*args, **kwargs)\n",
        },
        {BLOCK: failed(), MODEL: failed()},
    ),
    # Wrong blocks, and code that tries to make the probe or Keras report the right
    # numbers: the probe's functions are loaded before student code, and the checks
    # run in the grader with the reference's numbers. Keras's count_params patched
    # would reach the old functions' cases too: they are left unanswered.
    "cheat_patches_the_probe_and_keras": Student(
        "cheat",
        {
            BLOCK: "import sys\n"
            "for _name, _module in list(sys.modules.items()):\n"
            "    if _name.startswith('_convviz_probe_'):\n"
            "        _module.set_weights_by_role = lambda model, seed: model\n"
            "        _module.block = lambda *a, **k: {'value': np.zeros((2, 8, 8, 16)),"
            " 'params': np.array(928)}\n"
            "keras.Model.count_params = lambda self: 928\n" + SEPARABLE_WITH_CONV2D,
            MODEL: "def build_xception_like(image_size=96, num_classes=4, *args, "
            "**kwargs):\n"
            "    inputs = keras.Input((image_size, image_size, 3))\n"
            "    x = layers.GlobalAveragePooling2D()(inputs)\n"
            "    return keras.Model(inputs, layers.Dense(num_classes, "
            "activation='softmax')(x))\n",
        },
        {BLOCK: failed(), MODEL: failed()},
        released=True,
    ),
    # On the released copy, with a right model: residual_block and
    # count_conv_params, which its block does not reach, cost nothing.
    "cheat_reads_the_grader": Student(
        "cheat",
        {
            BLOCK: f"_grader = open({module.__file__!r}).read()\n" + CORRECT_SEPARABLE,
            MODEL: CORRECT_MODEL,
        },
        # The model calls the notebook's separable_block, which the cell never
        # defined.
        {BLOCK: failed(), MODEL: failed("NameError")},
        released=True,
    ),
    # Twenty megabytes printed by the cell of a right block: full points; a model
    # that raises.
    "fault_prints_and_raises": Student(
        "fault",
        {
            BLOCK: "print('x' * 20_000_000)\n" + CORRECT_SEPARABLE,
            MODEL: MODEL_HEADER + "    raise RuntimeError('out of ideas')\n",
        },
        {MODEL: failed("RuntimeError: out of ideas")},
    ),
}
