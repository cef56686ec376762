"""nbgrader's settings for the notebook's Validate button in `make lab`.

JupyterLab's Validate button runs nbgrader's own validator in the server: a
fresh kernel runs the notebook, then every graded cell with an error *or any
stderr output* counts as failed. A correct answer can write to stderr: Keras
warns when a model built on ``model.inputs`` (a list) is called on one array,
NumPy warns on 0 / 0. The course grades such an answer as passed
(``convviz-grade validate`` counts only errors; the autograde pipeline
relabels the graded cells' stderr as stdout with StderrIsNotFailure), so the
button said "failed" where the grade is full marks.

The validator's list of steps is not configurable, and nbclient's post-cell
hook is taken by nbgrader's Execute, so the same relabelling happens in the
validator's kernels: their stderr stream is their stdout stream (the text is
kept). Errors (a failed test, an exception) are error outputs, not stderr,
and still fail. The setting is scoped to an Execute whose parent is the
Validator: autograde's kernels and the student's own kernel are unchanged.

nbgrader reads this file, besides the course's nbgrader_config.py in the
server's folder, because the Makefile puts this folder on JUPYTER_CONFIG_PATH.
"""

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.Validator.Execute.extra_arguments = [
    "--IPKernelApp.exec_lines=import sys as _sys; _sys.stderr = _sys.stdout; del _sys",
]
