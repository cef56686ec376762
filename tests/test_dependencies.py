"""What the pins in pyproject.toml are for, checked in a fresh process as a user's command starts."""

import subprocess
import sys


def test_importing_nbformat_compiles_no_grammar():
    # Every nbgrader and convviz-grade command, JupyterLab and the book build import nbformat, which
    # imports jsonschema. From 4.24 jsonschema imports rfc3987-syntax, whose import compiles a Lark
    # grammar (0.7 s a process here): pyproject.toml keeps jsonschema below 4.24.
    code = ("import sys, nbformat\n"
            "nbformat.validate(nbformat.v4.new_notebook())\n"
            "print(sorted(name for name in ('rfc3987_syntax', 'lark') if name in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]", "imported with nbformat: " + result.stdout
