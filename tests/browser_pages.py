"""Pages in Debian's headless Chromium that note what went wrong, and refuse the
network.

tests/conftest.py's ``browser`` fixture launches the browser (one per test
module); :func:`recorded_page` opens a page in it. The book's and JupyterLab's
browser tests use both.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

REPOSITORY = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPOSITORY / "test-artifacts"
"""Where the browser tests leave their screenshots."""

# Chromium's own background traffic (updates, sync, field trials) would be
# refused here; these flags keep it from trying.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
VIEWPORT = {"width": 1400, "height": 900}


def launch(playwright):
    """Debian's Chromium, headless, through ``playwright`` (a sync_playwright)."""
    assert CHROMIUM.exists(), (
        "Debian's chromium is not installed: `apt-get install chromium`"
        " (make test does it)"
    )
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


def is_local(url):
    """True for a URL of this machine."""
    return urlparse(url).hostname in LOCAL_HOSTS


def recorded_page(browser):
    """A new page at :data:`VIEWPORT` whose troubles are noted in a list.

    Returns:
        ``(page, problems)``: ``problems`` gains a line for each console error,
        page error, failed request, HTTP status of 400 or more, and each request
        or websocket off this machine (the requests are refused).
    """
    page = browser.new_page(viewport=VIEWPORT)
    problems = []
    page.on(
        "console",
        lambda m: m.type == "error" and problems.append(f"console error: {m.text}"),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on(
        "requestfailed",
        lambda r: problems.append(f"failed request: {r.url} ({r.failure})"),
    )
    page.on(
        "response",
        lambda r: r.status >= 400 and problems.append(f"HTTP {r.status}: {r.url}"),
    )
    page.on(
        "websocket",
        lambda w: (
            is_local(w.url) or problems.append(f"websocket off this machine: {w.url}")
        ),
    )

    def only_local(route):
        if is_local(route.request.url):
            route.continue_()
        else:
            problems.append(f"request off this machine: {route.request.url}")
            route.abort()

    page.route("**/*", only_local)
    return page, problems
