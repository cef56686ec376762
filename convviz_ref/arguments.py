"""Argument types shared by the command lines (``convviz`` and ``convviz-grade``).

TensorFlow-free, so that parsing stays instant.
"""

from __future__ import annotations

import argparse


def positive_int(text):
    """An argparse ``type``: a whole number of at least 1.

    Raises:
        argparse.ArgumentTypeError: for text that is no whole number
            ("invalid int value: 'x'") or a number below 1 ("must be at
            least 1, got 0"); argparse prints it as a usage error.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
