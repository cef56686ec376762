"""TensorFlow's start-up without its C++ notices: for ``convviz``, ``convviz-grade``
and ``convviz-train``.

TensorFlow 2.21 prints its start-up lines (the oneDNN notice, "Could not find
cuda drivers", "failed call to cuInit") through absl before its logging is set
up, so ``TF_CPP_MIN_LOG_LEVEL`` does not hide them, and a student reads
"E0000 ... CUDA error" before every result.
"""

from __future__ import annotations

import contextlib
import os
import sys

import convviz_ref


@contextlib.contextmanager
def stderr_to_devnull():
    """Send file descriptor 2, where C++ code writes, to /dev/null inside the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def start_tensorflow_quietly(*, deterministic=False):
    """Import TensorFlow and create its CPU device with no start-up lines on stderr.

    A Python error raised meanwhile is still reported: stderr is back before
    it propagates. Nothing is hidden when the user has set
    ``TF_CPP_MIN_LOG_LEVEL`` (0 shows everything), and nothing is done when
    TensorFlow is already imported.

    Args:
        deterministic: bool, enable TensorFlow's op determinism before the
            device exists, as TensorFlow asks ("near the start of your
            program"); ``convviz-train`` does.
    """
    if convviz_ref.TF_LOG_LEVEL_CHOSEN or "tensorflow" in sys.modules:
        return
    with stderr_to_devnull():
        import keras  # noqa: F401  (its own import loads TensorFlow's libraries again)
        import tensorflow as tf

        if deterministic:
            tf.config.experimental.enable_op_determinism()
        tf.constant(0.0)  # creates the CPU device: the CUDA probe happens here
