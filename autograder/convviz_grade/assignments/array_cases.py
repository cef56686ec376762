"""A case whose result is an array compared with the reference's, naming the mistake.

:func:`array_case` is the hidden-test case of a function that computes a formula:
the student's value must match ``expected`` within ``rtol``/``atol``
(:func:`convviz_grade.checks.check_array`), and a wrong value that equals one of
the usual mistakes' values gets that mistake's hint. A mistake that gives the right
value on a case's inputs is left out of that case (:func:`distinct_mistakes`), so a
hint never names a mistake the inputs cannot tell apart.
"""

from __future__ import annotations

from functools import partial

import numpy as np


def distinct_mistakes(mistakes, expected, rtol, atol):
    """``{hint: value}`` of the mistakes whose value differs from ``expected``.

    Differs means another shape, or not ``np.allclose`` at the check's tolerance
    (NaN equal to NaN).
    """
    expected = np.asarray(expected, np.float64)
    kept = {}
    for hint, wrong in mistakes.items():
        wrong = np.asarray(wrong, np.float64)
        with np.errstate(invalid="ignore"):
            if wrong.shape != expected.shape or not np.allclose(
                wrong, expected, rtol=rtol, atol=atol, equal_nan=True
            ):
                kept[hint] = wrong
    return kept


def check_value(label, expected, mistakes, rtol, atol, outputs):
    """A case's check: ``outputs["value"]`` against ``expected``, hints for mistakes."""
    from convviz_grade.checks import check_array

    check_array(
        label, outputs["value"], expected, rtol=rtol, atol=atol, mistakes=mistakes
    )


def array_case(
    function,
    args,
    kwargs,
    label,
    expected,
    mistakes,
    *,
    rtol,
    atol,
    visible=False,
    reference=None,
):
    """A :class:`convviz_grade.grading.Case` of ``function(*args, **kwargs)``.

    Args:
        function: str, the graded function's name.
        args, kwargs: its arguments (kept: the check compares them afterwards).
        label: str, how the failing test names the call.
        expected: array-like, the reference's value on these arguments.
        mistakes: ``{hint: value}``, each usual mistake's value on them.
        rtol, atol: the tolerance of the comparison.
        visible: whether the notebook's visible test runs it.
        reference: the ``convviz_ref`` function it is compared with, or None.
    """
    from convviz_grade.grading import Case

    expected = np.asarray(expected, np.float64)
    return Case(
        function,
        tuple(args),
        partial(
            check_value,
            label,
            expected,
            distinct_mistakes(mistakes, expected, rtol, atol),
            rtol,
            atol,
        ),
        kwargs=dict(kwargs),
        visible=visible,
        keep_inputs=True,
        reference=reference,
    )
