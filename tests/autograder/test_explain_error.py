"""Errors raised by student code get the hint of their usual cause."""

from types import SimpleNamespace

import numpy as np
from convviz_grade import grading
from convviz_grade.assignments import architecture, gradcam


def test_block_shape_errors_get_the_projection_hints():
    def block(filters, pooling):
        """A block case on a (1, 8, 8, 16) input."""
        x = np.zeros((1, 8, 8, 16))
        return grading.Case(
            "residual_block", (x, filters), None, {"pooling": pooling}, "block"
        )

    pooled, widened, same = block(32, True), block(32, False), block(16, False)
    error = (
        "ValueError: Inputs have incompatible shapes. Received shapes (4, 4, 32) "
        "and (8, 8, 16)"
    )
    assert "strides=2" in architecture.explain_error(pooled, error)
    assert "1x1 Conv2D to `filters` channels" in architecture.explain_error(
        widened, error
    )
    assert architecture.explain_error(same, error) is None
    assert (
        architecture.explain_error(pooled, "NameError: name 'x2' is not defined")
        is None
    )


def test_overlay_broadcast_error_gets_the_resize_hint():
    case = grading.Case("overlay", (np.zeros((4, 6, 3)), np.zeros((2, 3))), None)
    assert "resize" in gradcam.explain_error(
        case, "ValueError: operands could not be broadcast together"
    )
    assert gradcam.explain_error(case, "TypeError: bad") is None


def test_the_hint_reaches_the_function_message():
    case = grading.Case("overlay", (), lambda outputs: None, visible=True)
    assignment = SimpleNamespace(
        functions=["overlay"],
        cases=[case],
        max_score=lambda function: 3.0,
        explain_error=gradcam.explain_error,
    )
    verdicts = {
        "c0": {
            "id": "c0",
            "status": "error",
            "message": "ValueError: could not be broadcast",
        }
    }
    (grade,) = grading.score_functions(assignment, verdicts, {}, [])
    assert grade.status == "failed" and grade.score == 0.0
    assert "hint: resize the coloured heatmap" in grade.message
