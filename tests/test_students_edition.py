"""The students' edition of the book shows no body of a graded function.

``make book-students`` builds it from the chapters ``make book`` executed
(book/_ext/students_edition.py swaps the listings for stubs). These tests read
the built HTML and measure it, independently of how the extension decides:

**The measure.** Every ``<pre>`` block of a page (listings, cells' code and
outputs) is cut into *normalized lines*: Python's tokenizer joins a statement
spread over several lines into one, drops comments, and the tokens are joined
with no whitespace, a comma before a closing bracket dropped and ``'`` read as
``"``; a block the tokenizer rejects is cut at line ends, ``#`` comments and
whitespace removed. Lines shorter than ``SHORTEST = 8`` characters (``else:``,
``pass``, ``try:``, ``...``) are left out. The *body* of a function is the
normalized lines of its reference source after the docstring. The *overlap* of
a block with a function is the share of the body's distinct lines that the
block contains, and a block **shows the body** when the overlap is at least
``THRESHOLD = 0.5`` and the block has at least two of its lines (or its only
one). A stub (signature, docstring, a comment, ``...``) has overlap 0; the
function's own listing has 1; a cell that pastes out the body, re-spaced and
commented, has 1 (see the self-test on a sample page).

The functions measured are the graded ones (``notebook_cells.points`` of every
solution notebook, mapped to ``convviz_ref`` by the extension) and the private
helpers their references use. The library functions a reference hands its work
to (``per_class_iou`` for ``mean_iou``) are checked by name: where a chapter
lists one, the students' edition shows its stub.

**Prose.** The text of a page outside its ``<pre>`` blocks must not name a
hidden private helper (``_ascent_step``), and no inline code span of it may
reproduce a line of a measured body: a span *reproduces* a body line when its
normalized form (as above, at least ``SHORTEST`` characters, with some syntax:
an ``=``, a bracket or an operator, so that naming ``tape.watch`` is not
reproducing ``tape.watch(image)``) is the line, or a part of it at least
``THRESHOLD`` of its length. What no such measure finds, a paragraph that
walks through a body in words, the chapters mark with Sphinx's ``only``
directive and a cell with the tag ``students-remove-input``; the tests check
that each marked passage and cell is in the edition it is meant for and not in
the other.
"""

from __future__ import annotations

import ast
import importlib.util
import io
import re
import shutil
import subprocess
import sys
import textwrap
import tokenize
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from book_build import BOOK, REPOSITORY, built_book, built_students_edition

THRESHOLD = 0.5
SHORTEST = 8


def extension():
    """book/_ext/students_edition.py, for its inventory of graded functions."""
    spec = importlib.util.spec_from_file_location(
        "students_edition", BOOK / "_ext" / "students_edition.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _normalize(line):
    line = re.sub(r",(?=[)\]}])", "", line.replace("'", '"'))
    return line


def normalized_lines(code):
    """The set of normalized lines of some code (see the module's docstring)."""
    code = textwrap.dedent(code)
    lines, current = [], []
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type == tokenize.NEWLINE:
                lines.append("".join(current))
                current = []
            elif token.type not in (
                tokenize.COMMENT,
                tokenize.NL,
                tokenize.INDENT,
                tokenize.DEDENT,
                tokenize.ENDMARKER,
            ):
                current.append(token.string)
        lines.append("".join(current))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        lines = [re.sub(r"\s+", "", line.split("#")[0]) for line in code.splitlines()]
    return {_normalize(line) for line in lines if len(_normalize(line)) >= SHORTEST}


def body_lines(path, name):
    """The normalized lines of a function's body, its docstring left out."""
    source = Path(path).read_text(encoding="utf-8")
    function = next(
        node
        for node in ast.parse(source).body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.name == name
    )
    body = function.body
    if (
        isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    ):
        body = body[1:]
    lines = source.splitlines()[body[0].lineno - 1 : body[-1].end_lineno]
    return normalized_lines("\n".join(lines))


def overlap(block, body):
    """``(share of body's lines in the block, how many)``; ``block`` is code or
    its :func:`normalized_lines` already.
    """
    lines = block if isinstance(block, set) else normalized_lines(block)
    shared = len(lines & body)
    return (shared / len(body) if body else 0.0), shared


def shows(block, body):
    share, shared = overlap(block, body)
    return bool(body) and share >= THRESHOLD and shared >= min(2, len(body))


class CodeBlocks(HTMLParser):
    """The text of every ``<pre>`` block of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks, self._depth, self._text = [], 0, []

    def handle_starttag(self, tag, attrs):
        if tag == "pre":
            self._depth += 1

    def handle_endtag(self, tag):
        if tag == "pre" and self._depth:
            self._depth -= 1
            if not self._depth:
                self.blocks.append("".join(self._text))
                self._text = []

    def handle_data(self, data):
        if self._depth:
            self._text.append(data)


def code_blocks(html):
    parser = CodeBlocks()
    parser.feed(html)
    return parser.blocks


class Prose(HTMLParser):
    """A page's text outside ``<pre>``, ``<script>`` and ``<style>``, and its
    inline code spans (``<code>`` outside ``<pre>``).
    """

    SKIPPED = ("pre", "script", "style")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.spans = [], []
        self._skip, self._code, self._span = 0, 0, []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self._skip += 1
        elif tag == "code" and not self._skip:
            self._code += 1

    def handle_endtag(self, tag):
        if tag in self.SKIPPED and self._skip:
            self._skip -= 1
        elif tag == "code" and self._code and not self._skip:
            self._code -= 1
            if not self._code:
                self.spans.append("".join(self._span))
                self._span = []

    def handle_data(self, data):
        if self._skip:
            return
        self.text.append(data)
        if self._code:
            self._span.append(data)


def prose(html):
    """``(text, inline code spans)`` of a page, outside its code blocks."""
    parser = Prose()
    parser.feed(html)
    return " ".join(parser.text), parser.spans


SYNTAX = re.compile(r"[=()\[\]+\-*/@%<>]")


def reproduces(span, body):
    """The body line an inline code span reproduces, or None (see the module's
    docstring).
    """
    for piece in normalized_lines(span):
        if not SYNTAX.search(piece):
            continue
        for line in body:
            if piece == line or (piece in line and len(piece) >= THRESHOLD * len(line)):
                return line
    return None


def prose_giveaways(html, bodies):
    """What the prose of a page gives away: ``[(function, what)]``.

    ``bodies`` maps ``(file, name)`` to :func:`body_lines`; a private name found
    in the text, and a span that reproduces a line, are reported.
    """
    text, spans = prose(html)
    found = []
    for key, body in bodies.items():
        name = key[1]
        if name.startswith("_") and re.search(rf"(?<![\w.]){re.escape(name)}\b", text):
            found.append((name, f"names {name}"))
        for span in spans:
            line = reproduces(span, body)
            if line is not None:
                found.append((name, f"`{span}` reproduces {line!r}"))
    return found


def hidden_functions():
    """``{(file, name): [(graded function, assignment), ...]}``: what the
    students' edition hides (a graded function's reference first of all under
    itself).
    """
    hidden, unmapped = extension().hidden_functions()
    assert not unmapped, (
        f"graded functions with no reference found in convviz_ref: {unmapped}; "
        "name the reference as the graded function, or give one of its Cases "
        "reference=<the convviz_ref function> (book/_ext/students_edition.py)"
    )
    return hidden


def measured_functions():
    """The graded functions' references and their private helpers."""
    return {
        key: uses
        for key, uses in hidden_functions().items()
        if key[1] == uses[0][0] or key[1].startswith("_")
    }


def bodies_shown(html_folder, functions):
    """``{(file, name): [pages showing its body]}`` for the functions shown."""
    bodies = {key: body_lines(*key) for key in functions}
    shown = {}
    for page in sorted(Path(html_folder).glob("*.html")):
        blocks = [
            normalized_lines(block)
            for block in code_blocks(page.read_text(encoding="utf-8"))
        ]
        for key, body in bodies.items():
            if any(shows(block, body) for block in blocks):
                shown.setdefault(key, []).append(page.name)
    return shown


ONLY = re.compile(
    r"^(?P<fence>`{4,})\{only\} (?P<expression>[^\n]+)\n"
    r"(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)
REMOVE_INPUT = "students-remove-input"


def in_edition(expression, edition):
    """Whether an ``only`` block with this expression is in ``edition``."""
    expressions = {"students": True, "not students": False}
    assert expression.strip() in expressions, f"unexpected only: {expression!r}"
    return expressions[expression.strip()] == (edition == "students")


def only_blocks(text):
    """``[(expression, body)]`` of the ``only`` blocks of a chapter's source."""
    return [(m["expression"], m["body"]) for m in ONLY.finditer(text)]


def edition_source(text, edition):
    """A chapter's source as ``edition`` reads it: the other's ``only`` blocks out."""
    return ONLY.sub(
        lambda m: m["body"] if in_edition(m["expression"], edition) else "", text
    )


def literalincluded(edition="self-study"):
    """``{(file, name)}``: the functions the chapters show with ``literalinclude``
    in ``edition`` ("self-study" or "students").
    """
    included = set()
    for chapter in BOOK.glob("*.md"):
        text = edition_source(chapter.read_text(encoding="utf-8"), edition)
        for file, name in re.findall(
            r"```\{literalinclude\} \.\./convviz_ref/(\w+\.py)\n:pyobject: (\w+)", text
        ):
            included.add((REPOSITORY / "convviz_ref" / file, name))
    return included


def count(shown, functions):
    graded = {key for key in shown if key[1] == functions[key][0][0]}
    return len(graded), len(set(shown) - graded)


# --- The measure, on sample pages ---------------------------------------------------


def sample_page(code):
    """A page as Sphinx writes a code block: Pygments spans, escaped text."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    block = highlight(code, PythonLexer(), HtmlFormatter())
    return f"<html><body><p>{escape('a <b> & c')}</p>{block}</body></html>"


def pasted_out(path, name):
    """The body of a function pasted into a cell: re-spaced, commented, dedented."""
    node = extension().top_level_functions(path)[name]
    body = node.body[1:] if ast.get_docstring(node) else node.body
    source = Path(path).read_text(encoding="utf-8").splitlines()
    lines = textwrap.dedent(
        "\n".join(source[body[0].lineno - 1 : body[-1].end_lineno])
    ).splitlines()
    return "# step by step\n" + "\n".join(
        line.replace(" = ", "  =  ") + "  # a step" if " = " in line else line
        for line in lines
    )


def test_the_measure_catches_a_planted_body_and_passes_a_stub():
    module = extension()
    functions = measured_functions()
    for key, uses in hidden_functions().items():
        body = body_lines(*key)
        assert body, f"{key[1]}: the measure sees no line of its body"
        planted = code_blocks(sample_page(pasted_out(*key)))
        assert any(shows(block, body) for block in planted), key[1]
        stub = code_blocks(sample_page(module.stub(*key, uses)))
        assert stub and all(overlap(block, body) == (0.0, 0) for block in stub), key[1]
    # One line of a longer body is not the body.
    key = next(key for key in functions if len(body_lines(*key)) >= 4)
    one_line = sorted(body_lines(*key))[0]
    assert not shows(one_line, body_lines(*key))


def test_normalized_lines_join_statements_and_drop_comments_and_layout():
    # One statement over four lines; "else:" is too short to count.
    assert normalized_lines("x = f(\n    a,  # first\n    'b',\n)\nelse:\n") == {
        'x=f(a,"b")'
    }
    assert normalized_lines("    y = g(a)[0]  # indented\n") == {"y=g(a)[0]"}
    # Not Python (a cell's printed output): cut at line ends.
    assert normalized_lines("weighted mean:\n [[0.25 0.  ]]") == {
        "weightedmean:",
        "[[0.250.]]",
    }


def test_the_prose_measure_catches_a_planted_giveaway_and_passes_a_contract():
    library = REPOSITORY / "convviz_ref" / "filters.py"
    bodies = {
        (library, name): body_lines(library, name)
        for name in ("gradient_ascent_step", "_ascent_step")
    }
    # A paragraph that walks through the step: it names the private helper and
    # quotes one of its lines, re-spaced.
    planted = (
        "<p>The step itself is <code>_ascent_step</code>: it computes "
        "<code>gradient = tf.math.l2_normalize( tape.gradient(loss, image) )</code>"
        " and returns <code>image + learning_rate * gradient</code>.</p>"
        f"{sample_page('x = 1')}"
    )
    found = prose_giveaways(planted, bodies)
    assert ("_ascent_step", "names _ascent_step") in found, found
    assert sum("reproduces" in what for _, what in found) == 2, found
    # The contract: the formula, API names, a stub's listing (in <pre>).
    stub = extension().stub(
        library.resolve(), "_ascent_step", [("gradient_ascent_step", "filters")]
    )
    contract = (
        "<p>One step moves the image along <code>g / ||g||_2</code> times "
        "<code>learning_rate</code>, with <code>tape.watch</code> on the "
        "<em>image</em>; a zero gradient gives a zero step.</p>"
        f"{sample_page(stub)}"
    )
    assert prose_giveaways(contract, bodies) == []
    # Every measured body's longest simple statement, quoted inline on one line,
    # is caught.
    module = extension()
    for key in measured_functions():
        source = Path(key[0]).read_text(encoding="utf-8")
        statements = [
            " ".join(ast.get_source_segment(source, node).split())
            for node in ast.walk(module.top_level_functions(key[0])[key[1]])
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.Return, ast.Expr))
            and not isinstance(getattr(node, "value", None), ast.Constant)
        ]
        line = max((line for line in statements if SYNTAX.search(line)), key=len)
        page = f"<p>it does <code>{escape(line)}</code></p>"
        assert prose_giveaways(page, {key: body_lines(*key)}), (key[1], line)


def test_only_blocks_split_a_chapter_by_edition():
    text = (
        "Before.\n\n````{only} not students\nThe walk-through.\n\n"
        "```{literalinclude} ../convviz_ref/filters.py\n:pyobject: _ascent_step\n```\n"
        "````\n\n````{only} students\nThe contract.\n````\nAfter.\n"
    )
    assert len(only_blocks(text)) == 2
    assert "walk-through" in edition_source(text, "self-study")
    assert "contract" not in edition_source(text, "self-study")
    students = edition_source(text, "students")
    assert "contract" in students and "walk-through" not in students
    assert "_ascent_step" not in students
    assert (REPOSITORY / "convviz_ref" / "filters.py", "_ascent_step") in (
        literalincluded()
    )
    assert (REPOSITORY / "convviz_ref" / "filters.py", "_ascent_step") not in (
        literalincluded("students")
    )


# --- The built editions ---------------------------------------------------------------


@pytest.fixture(scope="module")
def editions():
    self_study = built_book()
    students, seconds, output = built_students_edition()
    return self_study, students, seconds, output


@pytest.mark.slow  # builds the book if stale, then the students' edition
def test_the_students_edition_shows_no_graded_body_and_the_self_study_one_does(
    editions,
):
    self_study, students, seconds, _ = editions
    functions = measured_functions()
    shown_self_study = bodies_shown(self_study, functions)
    shown_students = bodies_shown(students, functions)
    graded_before, helpers_before = count(shown_self_study, functions)
    graded_after, helpers_after = count(shown_students, functions)
    message = (
        f"graded function bodies shown: {graded_before} -> {graded_after}; "
        f"private helpers' bodies: {helpers_before} -> {helpers_after} "
        f"(students' edition built in {seconds:.1f} s)"
    )
    print(message)
    # Every listed function shows in the self-study edition: the measure can fail.
    assert set(shown_self_study) >= literalincluded() & set(functions), message
    assert graded_before > 0, message
    assert not shown_students, f"{message}: " + ", ".join(
        f"{key[1]} on {pages}" for key, pages in shown_students.items()
    )


@pytest.mark.slow  # builds the book if stale, then the students' edition
def test_each_hidden_function_is_a_stub_naming_its_exercise(editions):
    _, students, _, _ = editions
    text = "\n".join(
        "\n".join(code_blocks(page.read_text(encoding="utf-8")))
        for page in sorted(students.glob("*.html"))
    )
    listed = literalincluded("students")
    for key, uses in hidden_functions().items():
        graded, assignment = uses[0]
        if key[1] == graded:
            notebook = f"exercises/{assignment}/{assignment}.ipynb"
            note = re.escape(f"# Students' edition: {notebook}")
        elif key in listed:
            note = "# Students' edition: part of"
        else:
            continue
        stub = rf"def {key[1]}\((?:(?!\ndef ).)*?{note}"
        assert re.search(stub, text, re.DOTALL), key[1]


@pytest.mark.slow  # builds the book if stale, then the students' edition
def test_the_students_edition_keeps_what_is_not_graded(editions):
    self_study, students, _, output = editions
    assert sorted(p.name for p in students.glob("*.html")) == sorted(
        p.name for p in self_study.glob("*.html")
    )
    # Nothing read, so nothing executed: the doctrees of `make book` were reused.
    assert "Executing notebook" not in output
    assert "0 added, 0 changed, 0 removed" in output, output[-3000:]
    assert "all source files" in output, output[-3000:]  # every page written anew
    # Every other listing keeps its body.
    others = literalincluded("students") - set(hidden_functions())
    kept = bodies_shown(students, others)
    assert others and set(kept) == others, sorted(
        name for _, name in others - set(kept)
    )


MARKUP = re.compile(r"`[^`]*`|\$[^$]*\$|\{[^}]*\}|[*_\[\]<>|\\:;]")


def plain_stretches(text):
    """The stretches of plain words (four or more) of some MyST prose, line by
    line, between inline code, math, roles, brackets and emphasis.
    """
    for line in text.splitlines():
        for stretch in MARKUP.split(line):
            words = stretch.replace("'", " ").split()
            if len(words) >= 4:
                yield " ".join(words)


def page_text(html):
    """A page's prose with whitespace collapsed and apostrophes as spaces (so
    that Sphinx's curly quotes compare equal to the source's).
    """
    text = prose(html)[0]
    for quote in ("'", "\u2019", "\u2018", '"', "\u201c", "\u201d"):
        text = text.replace(quote, " ")
    return " ".join(text.split())


def marked_passages():
    """``[(page, expression, marker, listing)]``: each ``only`` block of the
    chapters, a stretch of its plain words that the other edition's source of
    the chapter lacks (None when it has none) and whether it holds a listing.
    """
    found = []
    for chapter in sorted(BOOK.glob("*.md")):
        text = chapter.read_text(encoding="utf-8")
        for expression, body in only_blocks(text):
            own = "students" if in_edition(expression, "students") else "self-study"
            other = {"students": "self-study", "self-study": "students"}[own]
            elsewhere = " ".join(edition_source(text, other).replace("'", " ").split())
            marker = next(
                (words for words in plain_stretches(body) if words not in elsewhere),
                None,
            )
            listing = "{literalinclude}" in body
            found.append((f"{chapter.stem}.html", expression, marker, listing))
    return found


def tagged_cells():
    """``[(page, code)]``: the cells tagged ``students-remove-input``."""
    cell = re.compile(
        r"^```\{code-cell\}[^\n]*\n:tags: \[([^\]]*)\]\n(.*?)^```[ \t]*$",
        re.MULTILINE | re.DOTALL,
    )
    return [
        (f"{chapter.stem}.html", match[2])
        for chapter in sorted(BOOK.glob("*.md"))
        for match in cell.finditer(chapter.read_text(encoding="utf-8"))
        if REMOVE_INPUT in [tag.strip() for tag in match[1].split(",")]
    ]


@pytest.mark.slow  # builds the book if stale, then the students' edition
def test_the_students_prose_gives_no_body_away(editions):
    self_study, students, _, _ = editions
    bodies = {key: body_lines(*key) for key in measured_functions()}
    given_away = {
        page.name: found
        for page in sorted(students.glob("*.html"))
        if (found := prose_giveaways(page.read_text(encoding="utf-8"), bodies))
    }
    assert not given_away, given_away


@pytest.mark.slow  # builds the book if stale, then the students' edition
def test_each_marked_passage_and_cell_is_in_its_own_edition_only(editions):
    self_study, students, _, _ = editions
    folders = {"self-study": self_study, "students": students}
    texts = {
        (edition, page): page_text((folder / page).read_text(encoding="utf-8"))
        for edition, folder in folders.items()
        for page in {passage[0] for passage in marked_passages()}
    }
    passages = marked_passages()
    assert {passage[1] for passage in passages} == {"students", "not students"}
    for page, expression, marker, listing in passages:
        if marker is None:  # a listing only: literalincluded() reads it
            assert listing, (page, expression)
            continue
        for edition in folders:
            shown = marker in texts[edition, page]
            assert shown == in_edition(expression, edition), (edition, page, marker)
    cells = tagged_cells()
    assert cells
    for page, code in cells:
        lines = normalized_lines(code)
        blocks = {
            edition: code_blocks((folder / page).read_text(encoding="utf-8"))
            for edition, folder in folders.items()
        }
        assert any(shows(block, lines) for block in blocks["self-study"]), page
        assert not any(overlap(block, lines)[1] >= 2 for block in blocks["students"]), (
            page
        )


@pytest.mark.slow  # starts Sphinx on a copy of the book
def test_the_students_build_refuses_to_execute_a_chapter(tmp_path):
    # A copy of the book with no doctrees: every chapter would be read, and executed.
    copy = tmp_path / "book"
    shutil.copytree(BOOK, copy, ignore=shutil.ignore_patterns("_build"))
    result = subprocess.run(
        [sys.executable, str(BOOK / "build.py"), "--students", str(copy)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "run `make book` first" in output, output[-3000:]
    assert "Executing notebook" not in output


def test_the_students_build_refuses_all():
    result = subprocess.run(
        [sys.executable, str(BOOK / "build.py"), "--students", "--all", str(BOOK)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "--all would execute them again" in result.stderr


# --- What the extension hides -----------------------------------------------------


def test_graded_names_map_to_their_references_and_helpers():
    module = extension()
    library = REPOSITORY / "convviz_ref"
    graded = module.graded_functions()
    assert graded["mean_iou"] == "segmentation"
    # The attribution module imports convviz_ref.faithfulness under another alias.
    assert module.reference_of("energy_pointing_game", "attribution") == (
        library / "faithfulness.py",
        "energy_pointing_game",
    )
    helpers = module.private_helpers(library / "filters.py", "gradient_ascent_step")
    assert (library / "filters.py", "_ascent_step") in helpers
    assert (library / "segmentation.py", "per_class_iou") in module.delegates(
        library / "segmentation.py", "mean_iou"
    )


def test_a_case_s_reference_maps_a_graded_name_the_library_spells_otherwise(
    tmp_path,
):
    assignment = tmp_path / "shapes.py"
    assignment.write_text(
        "from convviz_grade.grading import Case\n"
        "from convviz_ref import models as reference\n\n"
        "def grading_cases():\n"
        "    return [Case('build_segmenter', (), print, time_limit=3,\n"
        "                 reference=reference.build_segmentation_model)]\n"
    )
    assert extension().declared_references(assignment) == {
        "build_segmenter": (
            REPOSITORY / "convviz_ref" / "models.py",
            "build_segmentation_model",
        )
    }


@pytest.mark.slow  # builds a one-chapter book twice (one kernel, no TensorFlow)
def test_a_cell_that_pastes_out_a_body_keeps_only_its_output(tmp_path):
    """On a tiny book: a cell repeating compute_loss's body loses its code and
    keeps its output; a listing of gradient_ascent_step becomes its stub.
    """
    book = tmp_path / "book"
    book.mkdir()
    for name in ("_config.yml", "references.bib"):
        shutil.copy(BOOK / name, book / name)
    shutil.copytree(BOOK / "_ext", book / "_ext")
    # The extension finds the library and the solutions beside the book.
    for folder in ("convviz_ref", "solutions"):
        (tmp_path / folder).symlink_to(REPOSITORY / folder)
    (book / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n  - file: chapter\n"
    )
    (book / "intro.md").write_text(
        "# Intro\n\n## References\n\n```{bibliography}\n```\n"
    )
    (book / "chapter.md").write_text(
        "---\njupytext:\n  text_representation:\n    extension: .md\n"
        "    format_name: myst\n"
        "kernelspec:\n  display_name: Python 3\n  language: python\n"
        "  name: python3\n---\n\n# Chapter\n\n"
        "```{literalinclude} ../convviz_ref/filters.py\n"
        ":pyobject: gradient_ascent_step\n```\n\n"
        "```{code-cell} ipython3\n"
        "def loss(feature_extractor, image, filter_index):\n"
        "    activation = feature_extractor(image)  # the layer's output\n"
        "    return tf.reduce_mean(activation[:, 2:-2, 2:-2, filter_index])\n\n"
        "print('an output that teaches')\n```\n\n"
        "````{only} not students\nThe self-study walk-through.\n````\n\n"
        "````{only} students\nThe students' contract.\n````\n\n"
        "```{code-cell} ipython3\n:tags: [students-remove-input]\n"
        "worked_out = sum(range(7))\nprint('kept output', worked_out)\n```\n"
    )
    command = [sys.executable, str(BOOK / "build.py"), "-W", "-n", "--keep-going"]
    for extra in (["--all"], ["--students"]):
        result = subprocess.run(
            [*command, *extra, str(book)],
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    module = extension()
    library = REPOSITORY / "convviz_ref" / "filters.py"
    loss, step = (
        body_lines(library, "compute_loss"),
        body_lines(library, "gradient_ascent_step"),
    )
    pages = {
        edition: (book / "_build" / folder / "chapter.html").read_text("utf-8")
        for edition, folder in (("self-study", "html"), ("students", "students/html"))
    }
    blocks = {edition: code_blocks(page) for edition, page in pages.items()}
    assert any(shows(block, loss) for block in blocks["self-study"])
    assert any(shows(block, step) for block in blocks["self-study"])
    assert not any(shows(block, loss) for block in blocks["students"])
    assert not any(shows(block, step) for block in blocks["students"])
    assert "an output that teaches" in pages["students"]
    # The only directive, on the doctrees of the self-study build; a tagged cell.
    assert "self-study walk-through" in pages["self-study"]
    assert "self-study walk-through" not in pages["students"]
    assert "contract." in pages["students"]
    assert "contract." not in pages["self-study"]
    assert "kept output 21" in pages["students"]
    assert any("worked_out" in block for block in blocks["self-study"])
    assert not any("worked_out" in block for block in blocks["students"])
    assert "this cell&#8217;s code computes compute_loss" in pages["students"] or (
        "this cell's code computes compute_loss" in pages["students"]
    )
    stub = module.stub(
        library.resolve(), "gradient_ascent_step", [("gradient_ascent_step", "filters")]
    )
    assert normalized_lines(stub) <= set().union(
        *(normalized_lines(block) for block in blocks["students"])
    )
