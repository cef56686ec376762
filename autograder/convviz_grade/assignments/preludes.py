"""Set-up code that assignments' ``PRELUDE`` share (see :mod:`convviz_grade.grading`).

Not an assignment: it has no ``grading_cases``.
"""

LAZY_KERAS = """import importlib.util as _importlib_util
import sys as _sys


def _lazy_import(name):
    if name in _sys.modules:
        return _sys.modules[name]
    spec = _importlib_util.find_spec(name)
    spec.loader = _importlib_util.LazyLoader(spec.loader)
    module = _importlib_util.module_from_spec(spec)
    _sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


keras = _lazy_import("keras")
"""
"""``keras``, imported on its first use: a submission whose graded functions are NumPy
does not pay for TensorFlow in the grading worker."""
