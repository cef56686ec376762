"""The ``filters`` assignment graded where student code cannot reach the verdict.

Each submission is graded by :func:`convviz_grade.grading.grade_submission`:
its solution cells run in the sandboxed worker (bubblewrap, the repository
hidden) on the cases of ``convviz_grade.assignments.filters.grading_cases()``,
and the outputs are compared here with ``convviz_ref``. The submissions are
copies of the solution notebook with other solution cells: the solution, the
independent correct answers of ``test_exercise_filters``, usual mistakes
(some only the hidden cases catch), and the released student copy.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
from convviz_grade import cases, grading
from convviz_grade.assignments import filters as assignment_module
from exercise_tools import (
    GradedSubmissions,
    assert_zero_with_hints,
    grade_with,
    submission,
)
from test_exercise_filters import (
    ASSIGNMENT,
    CORRECT,
    HINTS,
    MISTAKEN,
    PLAIN_ASCENT,
    VISUALIZE_HEADER,
)

from convviz_ref import filters as reference

FUNCTIONS = [
    "compute_loss",
    "gradient_ascent_step",
    "deprocess_image",
    "visualize_filter",
]

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


def test_prelude_and_functions():
    assert (
        assignment_module.PRELUDE
        == "import numpy as np\nimport keras\nimport tensorflow as tf\n"
    )
    assert "convviz" not in assignment_module.PRELUDE


@pytest.mark.slow
def test_every_case_passes_on_the_reference_and_its_models_survive_saving(
    graded_assignment, tmp_path
):
    """The checks accept convviz_ref's own answers, and every model argument loads back
    the same.
    """
    counts = {}
    for case in graded_assignment.cases:
        counts.setdefault(case.function, {True: 0, False: 0})[case.visible] += 1
        # As the notebook's hidden cells and the worker call it (three steps in a row
        # for a repeat case).
        grading.check_outputs(
            case, cases.outputs_of(case, getattr(reference, case.function))
        )
    assert sorted(counts) == sorted(FUNCTIONS) == sorted(graded_assignment.functions)
    for function, count in counts.items():
        assert count[True] >= 2 and count[False] >= 5, (function, count)
    # Visible cases come first, as the notebook's visible tests do.
    for function in FUNCTIONS:
        flags = [
            case.visible
            for case in graded_assignment.cases
            if case.function == function
        ]
        assert flags == sorted(flags, reverse=True), function
    graded_assignment.write_inputs(tmp_path)
    models = {}
    for case in graded_assignment.cases:
        for value in case.args:
            if hasattr(value, "layers"):
                models[id(value)] = value
    # Each model saved once: 13 for the first three functions, and for each
    # visualize_filter case the extractor its student function gets.
    assert (
        len(list(tmp_path.glob("*.keras")))
        == len(models)
        <= 13 + len(assignment_module.VISUALIZE_CASES)
    )
    for number, model in enumerate(
        models.values()
    ):  # saved as model0.keras, model1.keras, ...
        loaded = keras.models.load_model(
            tmp_path / f"model{number}.keras", compile=False
        )
        images = (
            np.random.default_rng(0)
            .uniform(0, 255, (1, *model.input_shape[1:]))
            .astype("float32")
        )
        np.testing.assert_allclose(
            np.asarray(loaded(images)), np.asarray(model(images)), rtol=1e-6, atol=1e-6
        )


@pytest.mark.slow
class TestGradedSubmissions(GradedSubmissions):
    functions = FUNCTIONS
    correct, mistaken = CORRECT, MISTAKEN
    # The first visible case crops 1 pixel.
    hints = {**HINTS, "deprocess_image": "forgot the 1-pixel crop"}


@pytest.mark.slow
def test_mistakes_only_hidden_cases_catch_score_zero(
    graded_assignment, server, tmp_path
):
    path = submission(tmp_path, ASSIGNMENT, HIDDEN_MISTAKES)
    graded, functions = grade_with(server, graded_assignment, path)
    assert_zero_with_hints(functions, HIDDEN_HINTS, where="hidden")
    # The step works on one image, where the first image is the batch: no harm done, as
    # in the notebook.
    assert functions["gradient_ascent_step"].status == "passed"
    assert functions["visualize_filter"].status == "passed"
    assert graded.score == 6.0


@pytest.mark.slow
def test_changing_the_input_in_place_scores_zero_even_with_the_right_picture(
    graded_assignment, server, tmp_path
):
    # The notebook's tests check that deprocess_image leaves its input as it was; so
    # does the grader.
    source = CORRECT["deprocess_image"]
    assert "    return picture[" in source
    source = source.replace(
        "    return picture[",
        "    image[...] = 0  # the caller's array\n    return picture[",
    )
    path = submission(tmp_path, ASSIGNMENT, {"deprocess_image": source})
    graded, functions = grade_with(server, graded_assignment, path)
    function = functions["deprocess_image"]
    assert (function.status, function.score) == ("failed", 0.0), function
    assert function.message.startswith(
        "(visible test) deprocess_image: the input array was modified in place"
    ), function.message
    assert graded.score == 9.0  # the other three functions are the solution's


GRADER_MODULE = Path(assignment_module.__file__)

# Cheats on visualize_filter: each scores what a blank function scores (0), and
# the other functions keep their points.
CHEATS = {
    # Makes the filter fire by changing the model it is given: the grader measures
    # with its own copy.
    "inflates-the-model": VISUALIZE_HEADER
    + """    for variable in feature_extractor.weights:
        variable.assign(variable * 0.0 + 1.0)
    return np.full((image_size, image_size, 3), 128.0, np.float32)
""",
    # The course's answer, which the worker refuses to import.
    "imports-the-reference": (
        "from convviz_ref.filters import visualize_filter  # refused\n"
    ),
    # Reads the grader's module (hidden by the sandbox) before an honest ascent.
    "reads-the-grader": (
        f"_grader = open({str(GRADER_MODULE)!r}).read()\n" + PLAIN_ASCENT
    ),
    "hangs": VISUALIZE_HEADER + "    while True:\n        pass\n",
}


@pytest.mark.slow
@pytest.mark.parametrize("cheat", list(CHEATS))
def test_visualize_filter_cheats_and_faults_score_zero_and_stay_inside(
    graded_assignment, server, tmp_path, cheat
):
    path = submission(tmp_path, ASSIGNMENT, {"visualize_filter": CHEATS[cheat]})
    graded, functions = grade_with(server, graded_assignment, path, timeout=120)
    assert functions["visualize_filter"].score == 0.0, functions["visualize_filter"]
    assert graded.score == 9.0, [f.message for f in functions.values()]
