"""A disk cache for arrays that are slow to draw and always the same: the shapes data.

Drawing the 9,000 images of every split takes tens of seconds, and the book,
the command line and the tests draw the same ones again and again. Image ``i``
of a split depends only on its arguments and ``i``, so the first ``n`` images
of a split can be kept on disk and extended when more are asked for.

The key of an entry holds the arguments and a fingerprint of the code that
draws (the source of :mod:`convviz_ref.data` and the versions of NumPy, SciPy
and scikit-image): change the generator and the old entries are never read.

Where: ``$CONVVIZ_CACHE_DIR``, else ``$XDG_CACHE_HOME/convviz``, else
``~/.cache/convviz``. ``CONVVIZ_CACHE_DIR=off`` turns the cache off. An entry
that cannot be read is drawn again; a folder that cannot be written is left
alone (the arrays are still returned).
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import tempfile

import numpy as np


def cache_dir():
    """The cache folder, or None when ``CONVVIZ_CACHE_DIR=off``."""
    chosen = os.environ.get("CONVVIZ_CACHE_DIR")
    if chosen is not None:
        return (
            None if chosen.lower() in ("off", "0", "none", "") else pathlib.Path(chosen)
        )
    base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(base) / "convviz"


def fingerprint(*sources):
    """A short hash of the given source files and of the libraries that draw."""
    import scipy
    import skimage

    digest = hashlib.sha256()
    for source in sources:
        digest.update(pathlib.Path(source).read_bytes())
    digest.update(
        f"{np.__version__} {scipy.__version__} {skimage.__version__}".encode()
    )
    return digest.hexdigest()[:16]


def _read(path):
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (
        OSError,
        ValueError,
        EOFError,
        KeyError,
    ):  # missing, cut short or not ours: draw again
        return None


def _write(path, arrays):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp.npz")
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **arrays)
        os.replace(
            temporary, path
        )  # readers see the old entry or the new one, never half of one
    except OSError:
        pass


def cached_prefix(name, n, draw):
    """The first ``n`` rows of the arrays of ``draw(start, stop)``, cached if possible.

    Args:
        name: str, the entry's file name (arguments and fingerprint).
        n: int, how many rows are wanted.
        draw: callable ``(start, stop) -> dict of arrays`` with ``stop - start``
            rows each, drawing rows ``start .. stop - 1``.

    Returns:
        dict of arrays with ``n`` rows each.
    """
    folder = cache_dir()
    if folder is None:
        return draw(0, n)
    path = folder / f"{name}.npz"
    stored = _read(path)
    have = len(next(iter(stored.values()))) if stored else 0
    if stored and have >= n:
        return {key: value[:n] for key, value in stored.items()}
    more = draw(have, n)
    arrays = (
        more
        if not stored
        else {key: np.concatenate([stored[key], more[key]]) for key in more}
    )
    _write(path, arrays)
    return arrays


def cached_arrays(name, make):
    """The arrays of ``make()``, made once per machine and cached whole.

    For a result that is made in one piece (the weights of a small model that
    the grader trains, say) rather than row by row as :func:`cached_prefix`'s.
    Processes that ask for the same entry at once (test workers, a kernel and
    the grader) take turns on a lock file beside it, so only the first makes
    it and the others read it; the entry is written atomically, so a reader
    never sees half of one.

    Args:
        name: str, the entry's file name (what it holds and a fingerprint).
        make: callable ``() -> dict of arrays``.

    Returns:
        dict of arrays.
    """
    folder = cache_dir()
    if folder is None:
        return make()
    path = folder / f"{name}.npz"
    stored = _read(path)
    if stored is not None:
        return stored
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / f"{name}.lock", "w")
    except OSError:  # a folder that cannot be written: make it here, keep nothing
        return make()
    import fcntl

    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        stored = _read(path)  # made by another process while this one waited
        if stored is not None:
            return stored
        arrays = make()
        _write(path, arrays)
        return arrays
