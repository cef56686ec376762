"""The fabricated class of ``filters`` (``compute_loss``, ``gradient_ascent_step``,
``deprocess_image``, ``visualize_filter``).

The usual mistakes of ``visualize_filter`` (the exercise tests' sources, each
with the hint the grader's check gives it) are students on the released copy,
so the three functions before it cost nothing; ``visualize_filter`` is graded
last in each notebook, after the honest functions.
"""

from __future__ import annotations

from convviz_grade.assignments import filters as module
from test_exercise_filters import (
    BOOK_STEP,
    CONSTANT,
    CORRECT,
    DESCENDS,
    HINTS,
    MISTAKEN,
    NO_BATCH_AXIS,
    NOISE,
    ONE_MORE,
    VISUALIZE_HEADER,
    WITH_BATCH_AXIS,
)

from fabricated import Student, failed, hangs, mistake

ASSIGNMENT = "filters"

TIMEOUT = 60.0
"""The worker's limit per run (``--timeout``): the solution's whole run takes
about 20 s on a loaded machine; the hang is cut at this limit."""

VISUALIZE = "visualize_filter"

# Mistakes that the notebook's visible tests do not catch: only hidden cases can.
HIDDEN_MISTAKES = {
    "compute_loss": """
def compute_loss(feature_extractor, image, filter_index):
    activation = feature_extractor(image)
    return tf.reduce_mean(activation[0, 2:-2, 2:-2, filter_index])
""",
    "deprocess_image": """
def deprocess_image(image, crop=25):
    image = np.array(image, dtype=np.float32)
    std = image.std()
    if std > 0:
        image = (image - image.mean()) / std * 64 + 128
    else:
        image = np.full(image.shape, 128.0, np.float32)
    image = np.clip(image, 0, 255).astype(np.uint8)
    return image[crop:-crop, crop:-crop] if crop else image
""",
}
HIDDEN_HINTS = {
    "compute_loss": "used only the first image of the batch",
    "deprocess_image": "tested std > 0, which float32 round-off defeats on a constant "
    "image",
}

# The right picture, after zeroing the caller's array.
CHANGES_THE_INPUT = CORRECT["deprocess_image"].replace(
    "    return picture[",
    "    image[...] = 0  # the caller's array\n    return picture[",
)

# What a mistaken visualize_filter did, as the grader's check names it.
TOO_LOW = (
    "stepped down the gradient (image - ...) instead of up, or took steps far too short"
)
VISUALIZE_MISTAKES = {
    "descends": (DESCENDS, mistake(TOO_LOW)),
    "book_step": (BOOK_STEP, mistake(TOO_LOW)),
    "batch_axis": (
        WITH_BATCH_AXIS,
        mistake("returned the image with its batch axis"),
    ),
    "no_batch_axis": (
        NO_BATCH_AXIS,
        failed(
            "hint: the feature extractor takes a batch",
            starts="visualize_filter (visible test)",
        ),
    ),
    # Over the budget of `steps` gradients, counted by the grader's probe.
    "one_more": (ONE_MORE, mistake("took one gradient more than the budget")),
    # Shortcuts: a white image, the start's noise.
    "white": (CONSTANT, failed(starts="(visible test)")),
    "noise": (NOISE, failed(starts="(visible test)")),
}

CLASS = {
    # The hang first, in the last function: it is cut at TIMEOUT while the other
    # job grades the rest.
    "a_hangs": Student(
        "fault",
        {VISUALIZE: hangs(VISUALIZE_HEADER)},
        {VISUALIZE: failed(f"timed out after {TIMEOUT:g} s")},
    ),
    "honest_solution": Student("honest", {}),
    "honest_independent": Student("honest", CORRECT),
    "blank": Student("blank", {}, released=True),
    # The first visible case of deprocess_image crops 1 pixel.
    "mistake_all": Student(
        "mistake",
        MISTAKEN,
        {
            function: mistake(hint)
            for function, hint in {
                **HINTS,
                "deprocess_image": "forgot the 1-pixel crop",
            }.items()
        },
    ),
    # The step works on one image, where the first image is the batch: no harm done.
    "mistake_only_hidden_cases_catch": Student(
        "mistake",
        HIDDEN_MISTAKES,
        {
            function: mistake(hint, where="hidden")
            for function, hint in HIDDEN_HINTS.items()
        },
    ),
    **{
        f"mistake_visualize_{key}": Student(
            "mistake", {VISUALIZE: source}, {VISUALIZE: verdict}, released=True
        )
        for key, (source, verdict) in VISUALIZE_MISTAKES.items()
        if key != "descends"
    },
    # Two usual mistakes of two functions, each graded on its own: a picture
    # written into the caller's array, and an ascent that descends.
    "mistake_changes_the_input_and_descends": Student(
        "mistake",
        {"deprocess_image": CHANGES_THE_INPUT, VISUALIZE: DESCENDS},
        {
            "deprocess_image": failed(
                starts="(visible test) deprocess_image: the input array was "
                "modified in place"
            ),
            VISUALIZE: VISUALIZE_MISTAKES["descends"][1],
        },
        released=True,
    ),
    # Makes the filter fire by changing the model it is given: the grader measures
    # with its own copy.
    "cheat_inflates_the_model": Student(
        "cheat",
        {
            VISUALIZE: VISUALIZE_HEADER
            + """    for variable in feature_extractor.weights:
        variable.assign(variable * 0.0 + 1.0)
    return np.full((image_size, image_size, 3), 128.0, np.float32)
"""
        },
        {VISUALIZE: failed()},
    ),
    # Imports the reference's visualize_filter; reads the grader's module (hidden by
    # the sandbox) before a right deprocess_image, which nothing else calls: neither
    # cheat reaches the other's function.
    "cheat_imports_the_reference_and_reads_the_grader": Student(
        "cheat",
        {
            VISUALIZE: "from convviz_ref.filters import visualize_filter  # refused\n",
            "deprocess_image": f"_grader = open({module.__file__!r}).read()\n"
            + CORRECT["deprocess_image"],
        },
        {VISUALIZE: failed(), "deprocess_image": failed()},
    ),
    # Twenty megabytes printed by the cell of a right loss: full points; an exit.
    "fault_prints_and_exits": Student(
        "fault",
        {
            "compute_loss": "print('x' * 20_000_000)\n" + CORRECT["compute_loss"],
            VISUALIZE: VISUALIZE_HEADER + "    import os\n    os._exit(0)\n",
        },
        {VISUALIZE: failed("exit code 0")},
    ),
    "fault_raises": Student(
        "fault",
        {VISUALIZE: VISUALIZE_HEADER + "    raise RuntimeError('out of ideas')\n"},
        {VISUALIZE: failed("RuntimeError: out of ideas")},
    ),
}
