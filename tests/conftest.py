"""Shared test set-up: the network is cut, and tiny models with named layers."""

from __future__ import annotations

import os
import socket

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# The tests read the shapes dataset through the library's own disk cache (convviz_ref.cache), so a
# session reuses the images the book and `make demo` drew instead of drawing all 9,000 again (about
# 40 s on a slow machine). An entry's name holds a fingerprint of the generator's source and of
# NumPy, SciPy and scikit-image, so images of an older generator are never read; an unreadable entry
# is drawn again. tests/test_cache.py checks the cache itself in folders of its own. To draw
# everything anew, run with CONVVIZ_CACHE_DIR=off (or an empty folder).

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", None}


class NetworkAttempts(list):
    """Every attempt a test made to reach a non-local host (each one was refused)."""


def _is_local_host(host):
    if isinstance(host, bytes):
        host = host.decode()
    return host in _LOCAL_HOSTS or str(host).startswith("127.")


def _is_local(address):
    """True for an AF_UNIX path or a loopback (host, port, ...) tuple."""
    if isinstance(address, (str, bytes)):
        return True
    return _is_local_host(address[0])


@pytest.fixture(autouse=True)
def network_attempts(monkeypatch, request):
    """Refuse every connection to a non-local host, and fail the test that tried.

    The refusal is an ``OSError`` (what a machine without network gives), so
    code under test sees exactly what an offline user sees. A test that
    checks offline behaviour marks itself ``@pytest.mark.tries_network`` and
    asserts on the recorded attempts; any other test that tries fails.
    """
    attempts = NetworkAttempts()

    def refuse(what):
        attempts.append(what)
        raise OSError(f"network access is blocked in tests: {what!r}")

    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(sock, address):
        if not _is_local(address):
            refuse(address)
        return real_connect(sock, address)

    def connect_ex(sock, address):
        if not _is_local(address):
            refuse(address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        if not _is_local_host(host):
            refuse(host)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    if attempts and request.node.get_closest_marker("tries_network") is None:
        pytest.fail(f"test tried to reach the network: {attempts}")
