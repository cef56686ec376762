"""What pyproject.toml's pins are for, checked in a fresh process as commands start."""

import subprocess
import sys


def python_prints(code):
    """What ``python -c code`` prints, in a fresh process (which must succeed)."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout


def test_importing_nbformat_compiles_no_grammar():
    # Every nbgrader and convviz-grade command, JupyterLab and the book build import
    # nbformat, which imports jsonschema. From 4.24 jsonschema imports rfc3987-syntax,
    # whose import compiles a Lark grammar (0.7 s a process here): pyproject.toml keeps
    # jsonschema below 4.24.
    code = (
        "import sys, nbformat\n"
        "nbformat.validate(nbformat.v4.new_notebook())\n"
        "print(sorted(name for name in ('rfc3987_syntax', 'lark')"
        " if name in sys.modules))"
    )
    printed = python_prints(code)
    assert printed.strip() == "[]", "imported with nbformat: " + printed


def test_tensorflow_runs_on_the_pinned_ml_dtypes():
    # TensorFlow's and Keras's low-precision types come from ml_dtypes. 0.7.0 spends
    # 0.38 s of every TensorFlow process's start-up registering them (0.6.0: 0.006 s),
    # so pyproject.toml keeps it below 0.7; TensorFlow 2.21 asks for >= 0.5.1. This
    # checks the pin is what is installed, and that TensorFlow computes with the types
    # it takes from it.
    code = (
        "import ml_dtypes, numpy as np, tensorflow as tf\n"
        "x = tf.constant([1.5, 2.25], dtype=tf.bfloat16)\n"
        "print(ml_dtypes.__version__, "
        "tf.bfloat16.as_numpy_dtype is ml_dtypes.bfloat16, "
        "(x * 2).numpy().astype(np.float32).tolist())"
    )
    printed = python_prints(code)
    version, same_type, doubled = printed.split(maxsplit=2)
    assert tuple(int(part) for part in version.split(".")[:2]) < (0, 7), (
        f"ml_dtypes {version} is installed"
    )
    assert same_type == "True" and doubled.strip() == "[3.0, 4.5]", printed
