"""The grader's probes: code that measures what a student's function makes.

A ``probe`` case (:class:`convviz_grade.grading.Case`) does not compare the
student's return value with the reference's; it hands the student's function
to a probe, ``probes/<module>.py:<function>``, which builds, trains or runs
what the function makes (a model, a block, a decision on hidden evidence) and
returns a dict of plain arrays, ``"value"`` among them. The case's ``check``
then judges those arrays in the grader's own process.

Each file here runs inside the grading worker, beside student code, so it is
self-contained: the standard library, NumPy, Keras and TensorFlow only, never
``convviz_ref`` or ``convviz_grade`` (see :mod:`convviz_grade.worker`). A probe
measures and a check judges: a probe that student code tampers with can only
send back arrays, which the check compares with what the grader holds.

Signature of a probe::

    probe(function, args, kwargs, **probe_kwargs) -> {"value": array, ...}
"""
