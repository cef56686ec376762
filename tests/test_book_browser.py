"""Open the built book in real headless Chromium (Debian's), offline.

Every page loads with no failed request, no request off this machine and no
console error; every image has a non-zero natural width; the math is typeset;
no code block outside the executed cells (the library code shown through
literalinclude, and the text's own fences) scrolls sideways at the 1400x900 viewport.
Each page is loaded once, and every test reads what that load found.
Screenshots of two pages go to test-artifacts/.
"""

from __future__ import annotations

import functools
import http.server
import threading
import tomllib

import pytest
from book_build import CHAPTERS, REPOSITORY, built_book
from browser_pages import ARTIFACTS, recorded_page

pytestmark = (
    pytest.mark.slow
)  # drives Chromium over the built book (built first if missing)


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


# The code blocks outside executed cells: the library code the book shows through
# literalinclude, and the text's own code fences (an executed cell's input and output
# sit in a .cell container). Each is [its first line, its scroll width, its client
# width]; a block wider than the column scrolls horizontally.
CODE_BLOCKS = """() => Array.from(document.querySelectorAll('div.highlight pre'))
    .filter(pre => !pre.closest('.cell'))
    .map(pre => [pre.textContent.split('\\n')[0], pre.scrollWidth, pre.clientWidth])"""
# The measurement itself: a copy of the page's first such block, holding one line of
# each given length, measured as above and removed; {length: [scroll width, client
# width]}.
PROBE = """(lengths) => {
    const block = Array.from(document.querySelectorAll('div.highlight pre'))
        .find(pre => !pre.closest('.cell'));
    if (!block) return null;
    const widths = {};
    for (const length of lengths) {
        const copy = block.cloneNode(false);
        copy.textContent = 'x'.repeat(length) + '\\n';
        block.after(copy);
        widths[length] = [copy.scrollWidth, copy.clientWidth];
        copy.remove();
    }
    return widths;
}"""
FITTING_LINE = int(
    tomllib.loads((REPOSITORY / "pyproject.toml").read_text())["tool"]["ruff"][
        "line-length"
    ]
)
"""The longest line ruff lets through, which the book's code column shows whole."""


def visit(browser, url):
    """Load a page; return what went wrong and what the page holds."""
    page, problems = recorded_page(browser)
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
            images: Array.from(document.images).map(
                i => [i.getAttribute('src'), i.complete, i.naturalWidth]),
            math: document.querySelectorAll('.math').length,
            typeset: document.querySelectorAll('mjx-container').length,
            title: document.title,
        })"""
    )
    facts["code_blocks"] = page.evaluate(CODE_BLOCKS)
    facts["probe"] = page.evaluate(PROBE, [FITTING_LINE, 120])
    return page, problems, facts


SCREENSHOTS = ("06_gradcam", "05_filters")


@pytest.fixture(scope="module")
def visited(browser, site):
    """``visited(name)``: ``(problems, facts)`` of page ``name``, loaded once for every
    test that asks.

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


@pytest.mark.parametrize("name", CHAPTERS)
def test_code_blocks_fit_the_column(visited, name):
    """No code block outside the executed cells scrolls horizontally."""
    _, facts = visited(name)
    blocks = facts["code_blocks"]
    assert blocks, f"{name} shows no code block outside its executed cells"
    wide = [
        f"{name}: {first_line!r}: scroll width {scroll} > client width {client}"
        for first_line, scroll, client in blocks
        if scroll > client
    ]
    assert not wide, "\n".join(wide)


@pytest.mark.parametrize("name", CHAPTERS)
def test_the_column_fits_the_longest_line_and_the_measure_sees_a_longer(visited, name):
    probe = visited(name)[1]["probe"]
    scroll, client = probe[str(FITTING_LINE)]
    assert scroll <= client, (name, FITTING_LINE, probe)
    scroll, client = probe["120"]
    assert scroll > client, (name, probe)
