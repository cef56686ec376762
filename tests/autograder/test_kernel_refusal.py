"""The kernel refuses answers that reach the course's own code, as the worker does.

In the student's kernel (``convviz-grade validate``, ``nbgrader autograde``)
``convviz_ref`` can be imported, so without this check a copied or wrapped
reference passes there and scores what a blank answer scores in
``convviz-grade autograde``.
"""

import functools

import pytest
from convviz_grade import cases


def notebook_function(source, name="answer"):
    """Define ``name`` from ``source`` as a notebook cell would: in its own globals."""
    namespace = {"__name__": "__main__"}
    exec(compile(source, "<cell>", "exec"), namespace)
    return namespace[name]


HONEST = """
import numpy as np

def helper(x):
    return np.asarray(x) * 2

def answer(x):
    return helper(x).sum()
"""

REACHING = {
    "the reference itself": (
        "from convviz_ref.segmentation import mean_iou as answer\n",
        "convviz_ref.segmentation",
    ),
    "a wrapper of a module imported in another cell": (
        "import convviz_ref.segmentation as seg\n"
        "def answer(a, b):\n    return seg.mean_iou(a, b)\n",
        "convviz_ref.segmentation",
    ),
    "an import inside the body": (
        "def answer(a, b):\n"
        "    from convviz_ref import segmentation\n"
        "    return segmentation.mean_iou(a, b)\n",
        "convviz_ref",
    ),
    "through a helper of another answer cell": (
        "from convviz_ref.gradcam import overlay\n"
        "def helper(*args):\n    return overlay(*args)\n"
        "def answer(*args):\n    return [helper][0](*args)\n",
        "convviz_ref.gradcam",
    ),
    "the grader's code": (
        "from convviz_grade import cases\ndef answer(x):\n    return cases\n",
        "convviz_grade.cases",
    ),
    "inside a lambda in a closure": (
        "def make():\n"
        "    import convviz_ref.maps as maps\n"
        "    inner = lambda m: maps.normalize_maps(m)\n"
        "    def answer(m):\n        return inner(m)\n"
        "    return answer\n"
        "answer = make()\n",
        "convviz_ref.maps",
    ),
}


def test_an_honest_function_reaches_no_course_code():
    assert cases.course_code_in(notebook_function(HONEST)) is None


@pytest.mark.parametrize("kind", sorted(REACHING))
def test_a_function_that_reaches_the_reference_is_found(kind):
    source, expected = REACHING[kind]
    assert cases.course_code_in(notebook_function(source)) == expected


def test_a_partial_of_the_reference_is_found():
    from convviz_ref.segmentation import mean_iou

    assert cases.course_code_in(functools.partial(mean_iou, num_classes=3)) == (
        "convviz_ref.segmentation"
    )


def test_the_hidden_cell_fails_with_one_clear_line():
    answer = notebook_function(REACHING["the reference itself"][0])
    with pytest.raises(AssertionError) as failure:
        cases.run_hidden_cases("segmentation", "mean_iou", answer)
    message = str(failure.value)
    assert message.startswith("mean_iou (hidden test): it uses convviz_ref")
    assert "\n" not in message
