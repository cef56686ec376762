"""The shapes data's disk cache: the arrays drawing gives, read back, extended, off."""

from __future__ import annotations

import numpy as np
import pytest

from convviz_ref import cache, data


@pytest.fixture
def cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVVIZ_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def drawn(n, **kwargs):
    """What load_shapes returns, drawn without any cache."""
    arrays = data.draw_shapes("test", range(n), **kwargs)
    return (
        arrays["images"].astype(np.float32),
        arrays["labels"],
        arrays["masks"].astype(np.int32),
    )


def assert_same(shapes, expected):
    for got, want in zip(shapes[:3], expected):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("num_objects", [1, 2])
def test_cached_images_are_the_drawn_ones_bit_for_bit(cache_folder, num_objects):
    expected = drawn(6, image_size=32, num_objects=num_objects)
    first = data.load_shapes(
        "test", n=6, image_size=32, num_objects=num_objects
    )  # drawn, then stored
    (entry,) = cache_folder.glob("shapes-test-32px-*.npz")
    second = data.load_shapes(
        "test", n=6, image_size=32, num_objects=num_objects
    )  # read back
    assert_same(first, expected)
    assert_same(second, expected)
    assert (
        second.images.dtype == np.float32
        and second.masks.dtype == np.int32
        and second.labels.dtype == np.int32
    )
    assert entry.is_file()


def test_a_longer_prefix_extends_the_entry(cache_folder):
    data.load_shapes("test", n=3, image_size=32)
    longer = data.load_shapes("test", n=7, image_size=32)
    assert_same(longer, drawn(7, image_size=32))
    assert_same(data.load_shapes("test", n=2, image_size=32), drawn(2, image_size=32))


def test_a_corrupt_entry_is_drawn_again(cache_folder):
    data.load_shapes("test", n=4, image_size=32)
    (entry,) = cache_folder.glob("*.npz")
    entry.write_bytes(b"not a numpy archive")
    assert_same(data.load_shapes("test", n=4, image_size=32), drawn(4, image_size=32))


def test_other_arguments_are_other_entries(cache_folder):
    data.load_shapes("test", n=2, image_size=32)
    data.load_shapes("test", n=2, image_size=32, seed=1)
    data.load_shapes("val", n=2, image_size=32)
    assert len(list(cache_folder.glob("*.npz"))) == 3
    assert not np.array_equal(
        data.load_shapes("test", n=2, image_size=32, seed=1).images,
        data.load_shapes("test", n=2, image_size=32).images,
    )


def test_off_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVVIZ_CACHE_DIR", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache.cache_dir() is None
    assert_same(data.load_shapes("test", n=3, image_size=32), drawn(3, image_size=32))
    assert not any(tmp_path.iterdir())


def test_a_folder_that_cannot_be_written_still_gives_the_arrays(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    monkeypatch.setenv("CONVVIZ_CACHE_DIR", str(blocker / "cache"))
    assert_same(data.load_shapes("test", n=2, image_size=32), drawn(2, image_size=32))


def test_the_fingerprint_follows_the_generator_source(tmp_path):
    source = tmp_path / "data.py"
    source.write_text("x = 1\n")
    before = cache.fingerprint(source)
    source.write_text("x = 2\n")
    assert cache.fingerprint(source) != before
    assert cache.fingerprint(data.__file__) == cache.fingerprint(data.__file__)


def test_cached_arrays_are_made_once_and_read_back(cache_folder):
    calls = []

    def make():
        calls.append(1)
        return {"w0": np.arange(6.0).reshape(2, 3), "w1": np.ones(2, np.float32)}

    first = cache.cached_arrays("entry", make)
    again = cache.cached_arrays("entry", make)
    assert len(calls) == 1
    for key in ("w0", "w1"):
        np.testing.assert_array_equal(first[key], again[key])
        assert first[key].dtype == again[key].dtype
    (cache_folder / "entry.npz").write_bytes(b"not a zip")  # corrupt: made again
    cache.cached_arrays("entry", make)
    assert len(calls) == 2


def test_cached_arrays_made_by_two_processes_at_once_are_made_once(cache_folder):
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Pool(2) as pool:
        results = pool.map(_make_slowly, [str(cache_folder)] * 2)
    assert sorted(made for made, _ in results) == [False, True]
    np.testing.assert_array_equal(results[0][1], results[1][1])


def _make_slowly(folder):
    """In a child process: the entry ``slow``, and whether this process made it."""
    import os
    import time

    os.environ["CONVVIZ_CACHE_DIR"] = folder
    made = []

    def make():
        made.append(True)
        time.sleep(1.0)  # the other process asks meanwhile
        return {"value": np.arange(3)}

    arrays = cache.cached_arrays("slow", make)
    return bool(made), arrays["value"]
