"""Assertions for the exercise notebooks' tests, with explanations.

A failing check raises ``AssertionError`` whose message says what was
expected, what came back (shape, dtype, value range, the first differing
region) and, when the answer equals what a usual mistake gives, a hint
naming that mistake. The tests use these instead of a bare ``assert`` or
``np.allclose`` so that a student learns *why* a test failed.

>>> import numpy as np
>>> check_array("f", np.zeros((2, 2)), np.zeros((2, 2)))
>>> mistakes = {"transposed": np.ones((2, 3))}
>>> try:
...     check_array("f", np.ones((2, 3)), np.ones((2, 2)), mistakes=mistakes)
... except AssertionError as error:
...     print(error)
f: wrong shape.
  expected: shape (2, 2), dtype float64, values in [1, 1]
  got:      shape (2, 3), dtype float64, values in [1, 1]
  hint: your answer is what you get if you transposed.
"""

from __future__ import annotations

import numpy as np


def to_array(value, name="value"):
    """Return ``value`` (NumPy array, TensorFlow tensor, number) as an ndarray.

    Raises:
        AssertionError: if it cannot be read as a numeric array (for example
            ``None``, which a function that forgets ``return`` gives).
    """
    if value is None:
        raise AssertionError(
            f"{name}: got None; did the function forget to `return` its result?"
        )
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    try:
        array = np.asarray(value)
    except Exception as error:  # e.g. a ragged list
        raise AssertionError(
            f"{name}: cannot read the result as an array ({error})"
        ) from None
    if array.dtype == object or not (
        np.issubdtype(array.dtype, np.number) or array.dtype == bool
    ):
        raise AssertionError(
            f"{name}: expected numbers, got an array of dtype {array.dtype}"
        )
    return array


def describe(array):
    """One line about an array: its shape, dtype and value range."""
    array = np.asarray(array)
    if array.size == 0:
        return f"shape {array.shape}, dtype {array.dtype}, empty"
    finite = (
        array[np.isfinite(array)] if np.issubdtype(array.dtype, np.floating) else array
    )
    parts = [f"shape {array.shape}", f"dtype {array.dtype}"]
    if finite.size:
        parts.append(f"values in [{_format(finite.min())}, {_format(finite.max())}]")
    if finite.size < array.size:
        parts.append(f"{array.size - finite.size} NaN or infinite")
    return ", ".join(parts)


def _format(number):
    number = float(number)
    return f"{number:.6g}"


def _first_difference(actual, expected, close):
    """Describe the first element that differs and a small window around it."""
    index = tuple(int(i) for i in np.argwhere(~close)[0])
    count = int((~close).sum())
    line = (
        f"  first difference at index {list(index)}: "
        f"expected {_format(expected[index])}, got {_format(actual[index])} "
        f"({count} of {close.size} elements differ)"
    )
    if actual.ndim >= 2:
        # A window of up to 3x3 in the first two differing axes, other axes fixed.
        window = tuple(
            slice(max(i - 1, 0), i + 2) if axis < 2 else i
            for axis, i in enumerate(index)
        )
        with np.printoptions(precision=4, suppress=True):
            expected_window = np.array2string(
                np.asarray(expected[window]), prefix="    "
            )
            actual_window = np.array2string(np.asarray(actual[window]), prefix="    ")
        line += (
            f"\n  around it, expected:\n    {expected_window}"
            f"\n  got:\n    {actual_window}"
        )
    return line


def _matching_mistake(actual, mistakes, rtol, atol):
    for hint, wrong in (mistakes or {}).items():
        wrong = np.asarray(wrong)
        if wrong.shape != actual.shape:
            continue
        with np.errstate(invalid="ignore"):
            if np.allclose(
                actual.astype(np.float64),
                wrong.astype(np.float64),
                rtol=rtol,
                atol=atol,
                equal_nan=True,
            ):
                return hint
    return None


def check_array(
    name, actual, expected, *, rtol=1e-4, atol=1e-5, check_dtype=None, mistakes=None
):
    """Check that ``actual`` equals ``expected`` to float32 round-off.

    Args:
        name: str, what is checked (a function name), first in the message.
        actual: the student's result (array, tensor or number).
        expected: the reference result.
        rtol, atol: float, the tolerances of ``np.allclose``.
        check_dtype: a NumPy dtype the result must have exactly (e.g.
            ``np.uint8``), or None to accept any numeric dtype.
        mistakes: dict mapping a hint ("forgot the 25-pixel crop") to the
            result that mistake gives on the same input; the first match is
            named in the message.

    Raises:
        AssertionError: with the explanation, if the check fails.
    """
    actual = to_array(actual, name)
    expected = np.asarray(expected)
    problem = None
    if actual.shape != expected.shape:
        problem = "wrong shape"
    elif check_dtype is not None and actual.dtype != np.dtype(check_dtype):
        problem = f"wrong dtype (expected {np.dtype(check_dtype)})"
    else:
        with np.errstate(invalid="ignore"):
            close = np.isclose(
                actual.astype(np.float64),
                expected.astype(np.float64),
                rtol=rtol,
                atol=atol,
                equal_nan=True,
            )
        if not close.all():
            problem = "values differ from the expected ones"
    if problem is None:
        return
    lines = [
        f"{name}: {problem}.",
        f"  expected: {describe(expected)}",
        f"  got:      {describe(actual)}",
    ]
    if problem.startswith("values"):
        lines.append(_first_difference(actual, expected, close))
    hint = _matching_mistake(actual, mistakes, rtol, atol)
    if hint:
        lines.append(f"  hint: your answer is what you get if you {hint}.")
    raise AssertionError("\n".join(lines))


def check_unchanged(name, before, after):
    """Check that a function left its input array as it was.

    Args:
        name: str, the function checked.
        before: a copy of the input taken before the call.
        after: the input after the call.
    """
    if not np.array_equal(np.asarray(before), np.asarray(after), equal_nan=True):
        raise AssertionError(
            f"{name}: the input array was modified in place; work on a copy "
            "(for example `image = np.array(image, dtype='float32')`)."
        )


def check_true(name, condition, message):
    """Fail with ``"{name}: {message}"`` unless ``condition`` is true."""
    if not bool(condition):
        raise AssertionError(f"{name}: {message}")
