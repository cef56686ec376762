"""The one progress bar of the course's commands, and what it prints off a terminal.

On a terminal it is tqdm's bar. Anywhere else (a pipe, a log file, CI,
``make demo > log``) a bar's carriage-return updates would each land in the
log, so the bar is drawn nowhere and writes one line when it closes: its
final state (count, time, rate and postfix), as tqdm would show it last. A
notebook's output is no terminal either: it gets that line, not a widget.
"""

from __future__ import annotations

import io
import sys

from tqdm import tqdm


class _FinalLine(tqdm):
    """A tqdm bar that draws into nothing and prints its last state once, on close."""

    def __init__(self, *args, file=None, **kwargs):
        self._log = file if file is not None else sys.stderr
        kwargs.update(mininterval=float("inf"), maxinterval=float("inf"))
        super().__init__(*args, file=io.StringIO(), **kwargs)

    def close(self):
        if self.disable:
            return
        line = str(self).strip()
        super().close()
        print(line, file=self._log, flush=True)


def progress(iterable=None, *, file=None, **kwargs):
    """A progress bar over ``iterable`` (or one updated by hand, given ``total=``).

    Args:
        iterable: the items to go through, or None for a bar driven by
            ``update``.
        file: the stream (default ``sys.stderr``). A terminal gets tqdm's
            live bar; any other stream gets one line when the bar closes.
        **kwargs: tqdm's own (``total``, ``desc``, ``unit``, ``disable``, ...).

    Returns:
        A ``tqdm`` object: iterate over it, or call ``update``, ``set_postfix``
        and ``close``.
    """
    stream = file if file is not None else sys.stderr
    on_terminal = getattr(stream, "isatty", lambda: False)()
    kind = tqdm if on_terminal else _FinalLine
    return kind(iterable, file=stream, **kwargs)


def write(text, *, file=None):
    """Print one line without breaking a live bar (tqdm's ``write``; default stdout)."""
    tqdm.write(text, file=file if file is not None else sys.stdout)
