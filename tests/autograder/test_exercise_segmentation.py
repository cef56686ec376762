"""The segmentation exercise: its helpers, and its notebook's grading of right and wrong
answers.
"""

from __future__ import annotations

import numpy as np
import pytest
from convviz_grade.assignments import segmentation as assignment
from exercise_tools import HINT, AnswersInTheNotebook, names_bound

from convviz_ref import segmentation as reference

# An independently written correct answer: a confusion matrix from bincount.
CORRECT_MEAN_IOU = """
def mean_iou(masks_true, masks_pred, num_classes=3):
    t = np.asarray(masks_true).astype(np.int64).ravel()
    p = np.asarray(masks_pred).astype(np.int64).ravel()
    confusion = np.bincount(t * num_classes + p, minlength=num_classes ** 2)
    confusion = confusion.reshape(num_classes, num_classes).astype(np.float64)
    hits = np.diag(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - hits
    seen = union > 0
    return float((hits[seen] / union[seen]).mean())
"""

# The usual mistake: a class absent from both masks counted as IoU 0.
ABSENT_AS_ZERO = """
def mean_iou(masks_true, masks_pred, num_classes=3):
    scores = []
    for c in range(num_classes):
        inter = np.sum((masks_true == c) & (masks_pred == c))
        union = np.sum((masks_true == c) | (masks_pred == c))
        scores.append(inter / union if union else 0.0)
    return float(np.mean(scores))
"""

ASSIGNMENT = "segmentation"

HIDDEN_TRIALS = [
    (0, 3, ()),
    (1, 2, ()),
    (2, 3, (1,)),
    (3, 3, (2,)),
    (4, 2, ()),
    (5, 3, (0,)),
]


def _define(source):
    namespace = {"np": np}
    exec(source, namespace)
    return namespace["mean_iou"]


def test_random_masks_are_deterministic_and_leave_out_absent_classes():
    first, again = (
        assignment.random_masks(2, absent=(1,)),
        assignment.random_masks(2, absent=(1,)),
    )
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.isin(1, first[0]) and not np.isin(1, first[1])
    assert set(np.unique(first[0])) == {0, 2}
    truth, predicted = assignment.random_masks(0)
    assert 0.5 < np.mean(truth == predicted) < 0.95  # neither perfect nor random


def test_each_mistake_differs_from_the_reference_on_some_hidden_trial():
    caught = set()
    for seed, num_classes, absent in HIDDEN_TRIALS:
        truth, predicted = assignment.random_masks(
            seed, num_classes=num_classes, absent=absent
        )
        right = reference.mean_iou(truth, predicted, num_classes)
        for hint, wrong in assignment.iou_mistakes(
            truth, predicted, num_classes
        ).items():
            assert not np.isclose(wrong, right, rtol=1e-9), hint
            caught.add(hint)
    assert len(caught) == 5, caught


def test_the_correct_answer_matches_the_reference_in_process():
    mean_iou = _define(CORRECT_MEAN_IOU)
    for seed, num_classes, absent in HIDDEN_TRIALS:
        truth, predicted = assignment.random_masks(
            seed, num_classes=num_classes, absent=absent
        )
        assert mean_iou(truth, predicted, num_classes) == pytest.approx(
            reference.mean_iou(truth, predicted, num_classes), rel=1e-12
        )


# ------------------------------------------------------------- build_segmenter

# An independently written correct segmenter: a small U-Net (skip connections,
# another input scaling, other widths, a 1x1 output layer), built from keras.layers.
CORRECT_SEGMENTER = """
def build_segmenter(image_size, num_classes=3):
    import keras

    L = keras.layers
    image = L.Input((image_size, image_size, 3))
    full = L.Rescaling(scale=1 / 127.5, offset=-1.0)(image)
    full = L.Conv2D(16, 3, padding="same", activation="relu")(full)
    half = L.Conv2D(32, 3, strides=2, padding="same", activation="relu")(full)
    quarter = L.Conv2D(64, 3, strides=2, padding="same", activation="relu")(half)
    quarter = L.Conv2D(64, 3, padding="same", activation="relu")(quarter)
    up = L.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu")(quarter)
    up = L.Conv2D(32, 3, padding="same", activation="relu")(L.Concatenate()([up, half]))
    up = L.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(up)
    up = L.Concatenate()([up, full])
    return keras.Model(image, L.Conv2D(num_classes, 1, activation="softmax")(up))
"""


def _segmenter(body, name="build_segmenter"):
    """A segmenter builder from the lines between the input and the output layer."""
    return f"""
def {name}(image_size, num_classes=3):
    import keras

    L = keras.layers
    same = {{"padding": "same", "activation": "relu"}}
    inputs = L.Input((image_size, image_size, 3))
    x = L.Rescaling(1 / 255)(inputs)
{body}
    return keras.Model(inputs, x)
"""


_DOWN = """    x = L.Conv2D(32, 3, strides=2, **same)(x)
    x = L.Conv2D(64, 3, strides=2, **same)(x)
"""
_UP = """    x = L.Conv2DTranspose(64, 3, strides=2, **same)(x)
    x = L.Conv2DTranspose(32, 3, strides=2, **same)(x)
"""
_HEAD = '    x = L.Conv2D(num_classes, 3, padding="same", activation="softmax")(x)\n'

# The usual mistakes of build_segmenter, each the contract broken one way: {key of
# SEGMENTER_HINTS: source}.
SEGMENTER_MISTAKES = {
    "pooling": _segmenter(
        """    x = L.Conv2D(32, 3, **same)(x)
    x = L.MaxPooling2D(2)(x)
    x = L.Conv2D(64, 3, **same)(x)
    x = L.MaxPooling2D(2)(x)
"""
        + _UP
        + _HEAD
    ),
    "upsampling": _segmenter(_DOWN + "    x = L.UpSampling2D(4)(x)\n" + _HEAD),
    "valid": _segmenter(
        _DOWN.replace("**same", 'activation="relu"')
        + _UP.replace("**same", 'activation="relu"')
        + _HEAD
    ),
    "softmax": _segmenter(
        _DOWN + _UP + '    x = L.Conv2D(num_classes, 3, padding="same")(x)\n'
    ),
    "channels": _segmenter(
        _DOWN
        + _UP
        + "    x = L.Conv2D(num_classes + 1, 3, padding='same', "
        + "activation='softmax')(x)\n"
    ),
    "levels": _segmenter(
        _DOWN
        + "    x = L.Conv2D(64, 3, strides=2, **same)(x)\n"
        + "    x = L.Conv2DTranspose(64, 3, strides=2, **same)(x)\n"
        + _UP
        + _HEAD
    ),
    "strides": _segmenter(
        "    x = L.Conv2D(64, 3, strides=4, **same)(x)\n"
        + "    x = L.Conv2DTranspose(64, 3, strides=4, **same)(x)\n"
        + _HEAD
    ),
    "budget": _segmenter(
        (_DOWN + _UP).replace("(32,", "(128,").replace("(64,", "(256,") + _HEAD
    ),
}


def _builder(source, name="build_segmenter"):
    namespace = {"np": np}
    exec(source, namespace)
    return namespace[name]


def _segmenter_cases(*, trained):
    return [
        case
        for _, cases in [assignment_cases()]
        for case in cases
        if case.function == "build_segmenter"
        and ("train_images" in case.probe_kwargs) == trained
    ]


def assignment_cases():
    from convviz_grade import cases

    return cases.assignment_cases(ASSIGNMENT)


def test_the_segmenter_cases_hold_no_test_mask_and_cover_sizes_and_classes():
    from convviz_grade import cases

    [hidden] = _segmenter_cases(trained=True)
    assert not hidden.visible
    assert hidden.time_limit == assignment.TIME_LIMIT and hidden.reference is not None
    assert cases.hidden_cases(ASSIGNMENT, "build_segmenter")[-1] is hidden
    # The notebook's visible training run, which no grading case repeats.
    runs = [assignment.training_case("visible"), hidden]
    for case in runs:
        masks = case.check.args[3]
        assert masks.shape == (assignment.NUM_TEST, 32, 32)
        assert set(np.unique(masks)) == {0, 1, 2}
        for value in [*case.args, *case.probe_kwargs.values()]:
            assert not (np.shape(value) == masks.shape and np.array_equal(value, masks))
    # The hidden test images are drawn with a seed of their own: none is a visible one.
    visible_images = runs[0].probe_kwargs["test_images"]
    for image in hidden.probe_kwargs["test_images"]:
        assert not (visible_images == image).all(axis=(1, 2, 3)).any()
    built = _segmenter_cases(trained=False)
    assert [case.args for case in built if case.visible] == [(32, 3)]
    hidden_sizes = {case.args for case in built if not case.visible}
    assert hidden_sizes == set(assignment.STRUCTURE_TRIALS)
    assert {classes for _, classes in hidden_sizes} == {2, 3, 4, 5}


def test_each_usual_segmenter_mistake_is_named_before_any_training():
    from convviz_grade import cases, grading

    case = _segmenter_cases(trained=False)[0]
    for key, source in SEGMENTER_MISTAKES.items():
        try:
            outputs = cases.outputs_of(case, _builder(source))
            grading.check_outputs(case, outputs)
        except AssertionError as error:
            message = str(error)
        except ValueError as error:  # Keras refused to build it
            message = str(error)
            assert key == "valid", (key, message)
        else:
            raise AssertionError(f"{key}: the mistake passed")
        hint = HINT.format(assignment.SEGMENTER_HINTS[key])
        assert hint in message, (key, message)


@pytest.mark.slow
def test_the_iou_bar_separates_the_reference_from_a_model_without_context():
    """On the hidden training case: the reference passes with a margin, a model of 1x1
    convolutions (each pixel's class from its own colour only) does not.

    The 1x1 model keeps the contract's resolutions with strided 1x1 layers, so
    only the training run can fail it.
    """
    from convviz_grade import worker

    from convviz_ref.models import build_segmentation_model

    [case] = [case for case in _segmenter_cases(trained=True) if not case.visible]
    masks = case.check.args[3]

    def score(function):  # the probe's run, as the worker runs it (not timed)
        result, _ = worker.call_case(
            function, case.call_spec, list(case.args), {}, case.probe_kwargs
        )
        predicted = np.argmax(result["value"], axis=-1)
        return reference.mean_iou(masks, predicted, 3)

    pointwise = _builder(
        _segmenter(
            (_DOWN + _UP).replace(", 3,", ", 1,")
            + '    x = L.Conv2D(num_classes, 1, activation="softmax")(x)\n'
        )
    )
    right, blind = score(build_segmentation_model), score(pointwise)
    print(f"mean IoU: reference {right:.3f}, 1x1 model {blind:.3f}")
    assert right >= assignment.IOU_BAR + 0.04
    assert blind < assignment.IOU_BAR - 0.03


CORRECT = {"mean_iou": CORRECT_MEAN_IOU, "build_segmenter": CORRECT_SEGMENTER}
MISTAKEN = {
    "mean_iou": ABSENT_AS_ZERO,
    "build_segmenter": SEGMENTER_MISTAKES["pooling"],
}
HINTS = {
    "mean_iou": "counted a class absent from both masks as IoU 0",
    "build_segmenter": assignment.SEGMENTER_HINTS["pooling"],
}


class TestAnswersInTheNotebook(AnswersInTheNotebook):
    functions = list(CORRECT)
    hints = HINTS
    named_by = "each"  # the visible and the hidden tests both name it


def _cells():
    import nbformat
    from exercise_tools import solution_notebook

    return nbformat.read(solution_notebook(ASSIGNMENT), as_version=4).cells


def _grade_id(cell):
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def test_the_contract_s_numbers_are_read_from_the_grader_never_typed():
    """The statement types none of the budget, recipe, seeds, bar or time limit; the
    cell after it shows them from the constants the checks use, and the hidden run's
    Keras seed is not the visible run's."""
    from convviz_grade.grading import TIME_SLACK

    cells = _cells()
    [index] = [
        number
        for number, cell in enumerate(cells)
        if cell.source.startswith("## Build a segmenter")
    ]
    assert "contract_markdown()" in cells[index + 1].source
    assert cells[index + 1].metadata["nbgrader"]["locked"]
    recipe = assignment.RECIPE
    steps = recipe["epochs"] * assignment.NUM_TRAIN // recipe["batch_size"]
    size = f"{assignment.TRAIN_SIZE}x{assignment.TRAIN_SIZE}"
    numbers = [
        f"{assignment.MAX_PARAMS:,}",
        str(assignment.MAX_PARAMS),
        f"{recipe['learning_rate']:g}",
        f"{recipe['epochs']} epochs",
        f"batches of {recipe['batch_size']}",
        f"{steps} steps",
        size,
        str(assignment.NUM_TRAIN),
        f"{assignment.IOU_BAR:.2f}",
        f"{assignment.TIME_LIMIT:g} times",
        f"{TIME_SLACK:g} s",
    ]
    for cell in cells:  # the prose and the tests, not the answers
        if not cell.metadata["nbgrader"].get("solution"):
            text = " ".join(cell.source.split())
            assert not [number for number in numbers if number in text], text[:80]
    table = assignment.contract_markdown()
    hidden, visible = (
        assignment.TRAINING_SEEDS["hidden"],
        assignment.TRAINING_SEEDS["visible"],
    )
    for stated in [
        *numbers[:1],
        *numbers[2:7],
        f"first {assignment.NUM_TRAIN} images",
        f"{visible} in the visible run, {hidden} in the hidden run",
        f"at least {assignment.IOU_BAR:.2f}",
        f"{assignment.NUM_TEST} test images",
        f"{assignment.TIME_LIMIT:g} times the time",
        f"plus {TIME_SLACK:g} s",
        f"to {assignment.SUM_TOLERANCE:g}",
    ]:
        assert stated in table, stated
    assert hidden != visible
    for which, seed in assignment.TRAINING_SEEDS.items():
        assert assignment.training_case(which).probe_kwargs["seed"] == seed


def test_the_intro_names_what_a_graded_function_may_rely_on():
    """The intro names each name the grader's PRELUDE binds in place of the setup
    cell, which imports them all; it promises nothing else of the notebook."""
    cells = _cells()
    bound = names_bound(assignment.PRELUDE)
    [setup] = [cell for cell in cells if _grade_id(cell) == "setup"]
    assert bound and bound <= names_bound(setup.source)
    graded = cells[0].source[cells[0].source.index("**How your work is graded.**") :]
    for name in bound:
        assert f"`{name}`" in graded, name
    assert "TensorFlow" not in graded
    assert "inside its answer cell" not in graded


def test_no_cell_hands_the_student_a_reference():
    """No cell but the answers imports a graded function's reference, or a course
    module that holds one: an answer that calls it would pass in the notebook."""
    import ast
    import importlib
    import inspect

    from convviz_ref import models

    references = {reference.mean_iou, models.build_segmentation_model}
    for cell in _cells():
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("solution"):
            continue
        source = "\n".join(
            line for line in cell.source.splitlines() if not line.startswith("%")
        )
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("convviz"):
                module = importlib.import_module(node.module)
                for alias in node.names:
                    value = getattr(module, alias.name)
                    assert not inspect.ismodule(value), (node.module, alias.name)
                    assert value not in references, (node.module, alias.name)
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("convviz") for a in node.names)


def test_each_written_question_is_one_question_with_a_graded_rubric():
    cells = _cells()
    for number, cell in enumerate(cells):
        if (_grade_id(cell) or "").startswith("written_"):
            question = cells[number - 1].source
            assert question.count("?") <= 1 and "\n1. " not in question
            for level in ("**Full (2)**", "**Partial (1)**", "**None (0)**"):
                assert level in cell.source, level
