"""Open the built book in real headless Chromium (Debian's), offline.

Every page loads with no failed request, no request off this machine and no
console error; every image has a non-zero natural width; the math is typeset.
Each page is loaded once, and every test reads what that load found.
Screenshots of two pages go to test-artifacts/.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest
from book_build import CHAPTERS, REPOSITORY, built_book

pytestmark = (
    pytest.mark.slow
)  # drives Chromium over the built book (built first if missing)

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPOSITORY / "test-artifacts"
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


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="module")
def site():
    html = built_book()
    handler = functools.partial(QuietHandler, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    assert CHROMIUM.exists(), (
        "Debian's chromium is not installed: `apt-get install chromium` (make test does it)"
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def visit(browser, url):
    """Load a page; return what went wrong and what the page holds."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
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

    def only_local(route):
        if urlparse(route.request.url).hostname not in ("127.0.0.1", "localhost"):
            problems.append(f"request off this machine: {route.request.url}")
            route.abort()
        else:
            route.continue_()

    page.route("**/*", only_local)
    page.goto(url, wait_until="networkidle")
    # MathJax typesets after load; wait for it where the page has math.
    page.wait_for_function(
        "() => !window.MathJax || !MathJax.startup || MathJax.startup.promise"
    )
    page.evaluate(
        "() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null"
    )
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_load_state("networkidle")
    facts = page.evaluate(
        """() => ({
            images: Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]),
            math: document.querySelectorAll('.math').length,
            typeset: document.querySelectorAll('mjx-container').length,
            title: document.title,
        })"""
    )
    return page, problems, facts


SCREENSHOTS = ("06_gradcam", "05_filters")


@pytest.fixture(scope="module")
def visited(browser, site):
    """``visited(name)``: ``(problems, facts)`` of page ``name``, loaded once for every test that asks.

    The pages in :data:`SCREENSHOTS` leave a full-page screenshot in
    test-artifacts/ as well, taken before the page is closed.
    """
    results = {}

    def visited_page(name):
        if name not in results:
            page, problems, facts = visit(browser, f"{site}/{name}.html")
            try:
                if name in SCREENSHOTS:
                    ARTIFACTS.mkdir(exist_ok=True)
                    page.screenshot(
                        path=str(ARTIFACTS / f"book_{name}.png"), full_page=True
                    )
            finally:
                page.close()
            results[name] = problems, facts
        return results[name]

    return visited_page


@pytest.mark.parametrize("name", ["intro", *CHAPTERS])
def test_page_loads_cleanly_offline(visited, name):
    problems, facts = visited(name)
    assert not problems, "\n".join(problems)
    broken = [
        src for src, complete, width in facts["images"] if not (complete and width > 0)
    ]
    assert not broken, f"images that did not load: {broken}"
    assert facts["typeset"] >= facts["math"], f"math not typeset: {facts}"
    if name != "intro":
        assert facts["images"], f"{name} shows no figure"


def test_math_is_typeset_somewhere(visited):
    # Guards the per-page check above from passing on pages with no math at all.
    counts = [visited(name)[1]["typeset"] for name in CHAPTERS]
    assert sum(count > 0 for count in counts) >= 3, counts


@pytest.mark.parametrize("name", SCREENSHOTS)
def test_screenshot(visited, name):
    problems, _ = visited(name)
    assert not problems
    assert (ARTIFACTS / f"book_{name}.png").stat().st_size > 50_000
