import numpy as np
import pytest
from convviz_grade.checks import (
    check_array,
    check_true,
    check_unchanged,
    describe,
    to_array,
)


def message(excinfo):
    return str(excinfo.value)


def test_equal_arrays_pass_within_float32_round_off():
    expected = np.linspace(0, 1, 10, dtype=np.float32)
    check_array("f", expected * (1 + 1e-7), expected)


def test_value_difference_names_the_first_differing_element_and_region():
    expected = np.zeros((4, 4), np.float32)
    actual = expected.copy()
    actual[2, 1] = 5.0
    with pytest.raises(AssertionError) as excinfo:
        check_array("heat", actual, expected)
    text = message(excinfo)
    assert text.startswith("heat: values differ from the expected ones.")
    assert (
        "first difference at index [2, 1]: expected 0, got 5 (1 of 16 elements differ)"
        in text
    )
    assert "around it" in text


def test_shape_and_dtype_are_described():
    with pytest.raises(AssertionError) as excinfo:
        check_array("g", np.zeros((3,), np.uint8), np.zeros((2,), np.uint8))
    assert "expected: shape (2,), dtype uint8, values in [0, 0]" in message(excinfo)
    assert "got:      shape (3,), dtype uint8" in message(excinfo)
    with pytest.raises(AssertionError, match=r"wrong dtype \(expected uint8\)"):
        check_array(
            "g",
            np.zeros((2,), np.float32),
            np.zeros((2,), np.uint8),
            check_dtype=np.uint8,
        )


def test_matching_mistake_gives_its_hint_and_others_do_not():
    expected = np.arange(6.0)
    wrong = expected * 2
    mistakes = {"doubled it": wrong, "negated it": -expected}
    with pytest.raises(AssertionError) as excinfo:
        check_array("h", wrong, expected, mistakes=mistakes)
    assert "hint: your answer is what you get if you doubled it." in message(excinfo)
    with pytest.raises(AssertionError) as excinfo:
        check_array("h", expected + 1, expected, mistakes=mistakes)
    assert "hint" not in message(excinfo)


def test_nan_is_reported():
    with pytest.raises(AssertionError) as excinfo:
        check_array("n", np.array([np.nan, 1.0]), np.array([0.0, 1.0]))
    assert "1 NaN or infinite" in message(excinfo)


def test_none_and_non_numeric_results_are_explained():
    with pytest.raises(AssertionError, match="forget to `return`"):
        to_array(None, "f")
    with pytest.raises(AssertionError, match="expected numbers"):
        to_array(["a", "b"], "f")


def test_tensors_are_read_as_arrays():
    import tensorflow as tf

    np.testing.assert_array_equal(to_array(tf.constant([1.0, 2.0])), [1.0, 2.0])


def test_check_unchanged_and_check_true():
    before = np.ones(3)
    check_unchanged("f", before, before.copy())
    with pytest.raises(AssertionError, match="modified in place"):
        check_unchanged("f", before, before * 2)
    with pytest.raises(AssertionError, match="^f: must be positive$"):
        check_true("f", False, "must be positive")


def test_describe_empty_and_integer_arrays():
    assert describe(np.zeros((0, 2))) == "shape (0, 2), dtype float64, empty"
    assert (
        describe(np.array([3, 1], np.int32))
        == "shape (2,), dtype int32, values in [1, 3]"
    )


def test_the_grader_compares_the_arguments_sent_back_with_its_own_copies():
    from convviz_grade.grading import Case, check_inputs_kept

    image = np.arange(6, dtype=np.float32).reshape(2, 3)
    case = Case("deprocess_image", (image, 3), lambda outputs: None, keep_inputs=True)
    check_inputs_kept(case, {0: image.copy()})  # unchanged: no error
    changed = image.copy()
    changed[1, 2] = -1
    with pytest.raises(
        AssertionError, match="^deprocess_image: the input array was modified in place"
    ):
        check_inputs_kept(case, {0: changed})
    with pytest.raises(
        AssertionError,
        match="^deprocess_image: the worker did not send back argument 0$",
    ):
        check_inputs_kept(case, {})
