"""The built book: complete, offline, and its build fails loudly."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from book_build import (
    BOOK,
    CHAPTERS,
    REPOSITORY,
    build_script,
    built_book,
    jupyter_book_command,
)

EXTERNAL = re.compile(
    r"^\s*(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE
)  # http://, https://, //host
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)", re.IGNORECASE)
CSS_IMPORT = re.compile(r"@import\s+['\"]([^'\"]+)", re.IGNORECASE)


@pytest.fixture(scope="module")
def html():
    return built_book()


class Loads(HTMLParser):
    """Collect the URLs a page loads: scripts, stylesheets, images, media, fonts."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in (
            "script",
            "img",
            "iframe",
            "audio",
            "video",
            "source",
            "embed",
            "input",
        ) and attrs.get("src"):
            self.urls.append((tag, attrs["src"]))
        if tag in ("img", "source") and attrs.get("srcset"):
            for candidate in attrs["srcset"].split(","):
                self.urls.append((tag, candidate.strip().split(" ")[0]))
        if tag == "link" and attrs.get("href"):
            self.urls.append((f"link rel={attrs.get('rel')}", attrs["href"]))
        if tag == "meta" and (attrs.get("http-equiv") or "").lower() == "refresh":
            self.urls.append(
                ("meta refresh", (attrs.get("content") or "").split("url=")[-1])
            )
        if tag == "object" and attrs.get("data"):
            self.urls.append((tag, attrs["data"]))
        if attrs.get("style"):
            self.urls.extend(
                ("style attribute", url) for url in CSS_URL.findall(attrs["style"])
            )


@pytest.mark.slow  # reads the built book (built first if missing)
def test_every_chapter_is_built(html):
    assert len(CHAPTERS) == 9
    for chapter in CHAPTERS:
        assert (html / f"{chapter}.html").is_file(), chapter


@pytest.mark.slow  # reads the built book (built first if missing)
def test_no_page_loads_anything_from_the_network(html):
    pages = sorted(html.rglob("*.html"))
    assert len(pages) >= 8
    offenders = []
    for page in pages:
        parser = Loads()
        parser.feed(page.read_text(encoding="utf-8"))
        assert parser.urls, f"{page.name} loads nothing: the scan is not reading it"
        offenders += [
            f"{page.relative_to(html)}: <{tag}> {url}"
            for tag, url in parser.urls
            if EXTERNAL.match(url)
        ]
    for stylesheet in sorted(html.rglob("*.css")):
        text = stylesheet.read_text(encoding="utf-8", errors="replace")
        urls = CSS_URL.findall(text) + CSS_IMPORT.findall(text)
        offenders += [
            f"{stylesheet.relative_to(html)}: {url}"
            for url in urls
            if EXTERNAL.match(url)
        ]
    assert not offenders, "external loads:\n" + "\n".join(offenders)


def test_the_scan_catches_an_external_script():
    parser = Loads()
    parser.feed(
        '<script src="https://cdn.example.org/x.js"></script><link rel="stylesheet" '
        'href="//fonts.example/f.css">'
        '<img src="_images/a.png">'
    )
    external = [url for _, url in parser.urls if EXTERNAL.match(url)]
    assert external == ["https://cdn.example.org/x.js", "//fonts.example/f.css"]


@pytest.mark.slow  # reads the built book (built first if missing)
def test_mathjax_is_served_locally(html):
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file()
    page = (html / "05_filters.html").read_text(encoding="utf-8")
    assert re.search(
        r'<script [^>]*src="_static/mathjax/tex-chtml\.js(\?v=\w+)?"', page
    )


@pytest.mark.slow  # reads the built book (built first if missing)
def test_chapters_show_the_library_source_not_a_copy(html):
    # Each chapter includes at least one convviz_ref function via literalinclude
    # :pyobject:, so a renamed function fails the build instead of going stale.
    for chapter in CHAPTERS[1:]:
        text = (BOOK / f"{chapter}.md").read_text(encoding="utf-8")
        assert re.search(
            r"```\{literalinclude\} \.\./convviz_ref/\w+\.py\n:pyobject:", text
        ), chapter


def _tiny_book(tmp_path, cell_source, tags=None):
    book = tmp_path / "book"
    book.mkdir()
    for name in ("_config.yml", "references.bib"):
        shutil.copy(BOOK / name, book / name)
    shutil.copytree(BOOK / "_ext", book / "_ext")
    (book / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n  - file: chapter\n"
    )
    (book / "intro.md").write_text("# Intro\n\n```{bibliography}\n```\n")
    tag_line = f":tags: [{', '.join(tags)}]\n" if tags else ""
    (book / "chapter.md").write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n    format_name: "
        "myst\n"
        "kernelspec:\n  display_name: Python 3\n  language: python\n  name: "
        "python3\n---\n\n"
        f"# Chapter\n\nText.\n\n```{{code-cell}} "
        f"ipython3\n{tag_line}{cell_source}\n```\n"
    )
    return book


@pytest.mark.slow
@pytest.mark.parametrize(
    "cell_source, tags, fails",
    [
        ("print('fine')", None, False),
        ("raise ValueError('a cell error')", None, True),
        ("import warnings\nwarnings.warn('a warning of our code')", None, True),
        ("import sys\nprint('stderr', file=sys.stderr)", ["remove-stderr"], False),
    ],
    ids=["clean", "cell-error", "warning", "removed-stderr"],
)
def test_book_build_fails_on_cell_errors_and_warnings(
    tmp_path, cell_source, tags, fails
):
    book = _tiny_book(tmp_path, cell_source, tags)
    result = subprocess.run(
        jupyter_book_command(book), cwd=REPOSITORY, capture_output=True, text=True
    )
    assert (result.returncode != 0) == fails, (
        result.stdout[-3000:] + result.stderr[-3000:]
    )


@pytest.mark.slow
def test_kernels_stderr_goes_to_a_log_and_sphinx_s_warnings_to_the_terminal(tmp_path):
    # The first cell writes to file descriptor 2 as TensorFlow's C++ start-up does; the
    # second warns, which the build reports as a Sphinx warning and -W turns into a
    # failure.
    line = "E0000 a line from the kernel's C++ code"
    book = _tiny_book(
        tmp_path,
        f"import os\nos.write(2, b{line + chr(10)!r})\n```\n\n"
        "```{code-cell} ipython3\nimport warnings\nwarnings.warn('a warning of our "
        "code')",
        ["remove-stderr"],
    )
    result = subprocess.run(
        jupyter_book_command(book), cwd=REPOSITORY, capture_output=True, text=True
    )
    log = book / "_build" / "kernels-stderr.log"
    assert result.returncode != 0, result.stdout[-3000:]
    assert line not in result.stdout + result.stderr
    assert line in log.read_text()
    assert "WARNING" in result.stderr and "stderr" in result.stderr, result.stderr[
        -3000:
    ]  # Sphinx's, on the terminal
    assert result.stderr.rstrip().endswith(
        f"book/build.py: the chapters' kernels wrote their stderr to {log}"
    )


def test_build_script_takes_jobs_out_and_passes_the_rest_to_jupyter_book():
    import os

    script = build_script()
    assert script.split_jobs(["--jobs", "3", "--all", "-W", "book"]) == (
        3,
        ["--all", "-W", "book"],
    )
    assert script.split_jobs(["--jobs=4", "book"]) == (4, ["book"])
    assert script.split_jobs(["--all", "book"]) == (
        os.cpu_count() or 1,
        ["--all", "book"],
    )


def test_each_kernel_gets_its_share_of_the_cores_unless_the_user_chose():
    import os

    script = build_script()
    cores = os.cpu_count() or 1
    environment = {}
    assert script.share_the_cores(1, environment) == cores
    assert environment == {
        "TF_NUM_INTRAOP_THREADS": str(cores),
        "TF_NUM_INTEROP_THREADS": str(cores),
    }
    environment = {}
    assert (
        script.share_the_cores(cores + 5, environment) == 1
    )  # more chapters than cores: one thread each
    assert environment == {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
    environment = {"TF_NUM_INTRAOP_THREADS": "7"}
    script.share_the_cores(cores, environment)
    assert environment == {
        "TF_NUM_INTRAOP_THREADS": "7",
        "TF_NUM_INTEROP_THREADS": "1",
    }  # the user's choice stays


@pytest.mark.slow
def test_the_chapters_kernels_inherit_their_share_of_the_cores(tmp_path):
    import os

    book = _tiny_book(
        tmp_path,
        "import os\nprint('threads:', os.environ.get('TF_NUM_INTRAOP_THREADS'), "
        "os.environ.get('TF_NUM_INTEROP_THREADS'))",
    )
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("TF_NUM_")
    }
    result = subprocess.run(
        jupyter_book_command(book, "--jobs", "2"),
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        env=environment,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    share = max(1, (os.cpu_count() or 1) // 2)
    assert (
        f"threads: {share} {share}"
        in (book / "_build" / "html" / "chapter.html").read_text()
    )


@pytest.mark.parametrize(
    "argv", [["--jobs", "0", "book"], ["--jobs", "two", "book"], ["book", "--jobs"]]
)
def test_build_script_refuses_a_bad_jobs_value_in_one_line(argv):
    with pytest.raises(SystemExit) as exit_info:
        build_script().split_jobs(argv)
    assert str(exit_info.value).startswith(
        "book/build.py: error: --jobs takes a positive integer, got "
    )


def test_each_chapter_is_read_on_its_own_the_slowest_first():
    import importlib.util

    import yaml

    spec = importlib.util.spec_from_file_location(
        "book_parallel_read", BOOK / "_ext" / "parallel_read.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    docnames = ["intro", *CHAPTERS]
    first = yaml.safe_load((BOOK / "_config.yml").read_text())["sphinx"]["config"][
        "parallel_read_first"
    ]
    assert set(first) <= set(CHAPTERS), "parallel_read_first names chapters of the book"
    runs = module.one_document_per_run(docnames, first)
    assert runs[: len(first)] == [[name] for name in first]
    assert sorted(name for run in runs for name in run) == sorted(docnames) and all(
        len(run) == 1 for run in runs
    )
    assert module.one_document_per_run(["a", "b"], ["c"]) == [["a"], ["b"]]


def test_a_book_older_than_a_source_is_stale(tmp_path, monkeypatch):
    """``make test`` builds the book first exactly when ``book_build.is_stale()`` says
    so.
    """
    import os

    import book_build

    book, html = tmp_path / "book", tmp_path / "book" / "_build" / "html"
    html.mkdir(parents=True)
    (tmp_path / "convviz_ref").mkdir()
    library, chapter = tmp_path / "convviz_ref" / "attribution.py", book / "01_one.md"
    library.write_text("")
    chapter.write_text("")
    monkeypatch.setattr(book_build, "BOOK", book)
    monkeypatch.setattr(book_build, "HTML", html)
    monkeypatch.setattr(book_build, "REPOSITORY", tmp_path)
    monkeypatch.setattr(book_build, "CHAPTERS", ["01_one"])
    assert book_build.is_stale()  # no pages at all
    for page in ("intro.html", "01_one.html"):
        (html / page).write_text("")
    for source in (library, chapter):
        os.utime(source, (1_000, 1_000))
    assert not book_build.is_stale()
    os.utime(library, None)  # the library the book shows changed after the build
    assert book_build.is_stale()
    os.utime(library, (1_000, 1_000))
    (html / "intro.html").unlink()
    assert book_build.is_stale()


def test_make_test_builds_a_stale_book_before_the_test_workers_start():
    recipe = subprocess.run(
        ["make", "-n", "test"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    build = next(
        n
        for n, line in enumerate(recipe)
        if line.endswith("python tests/book_build.py")
    )
    pytest_run = next(n for n, line in enumerate(recipe) if "-m pytest" in line)
    assert build < pytest_run
