"""Every result the book's prose states comes from an executed cell.

A chapter states a number in its prose either through myst-nb's glue
({glue:text}`key`, the value a code cell of the same chapter computed in the
build) or as a bare literal. A bare literal is allowed only when it is listed in
``book/bare_literals.yml`` with its reason (a figure of a cited paper, an example
checked by hand, a name such as "chapter 9"): everything else (an accuracy, a
count, a size the code computes) can drift from the code and fails here.

The scan reads each chapter's source and keeps its prose: it drops the front
matter, code cells and fenced code, ``{literalinclude}``, math (``$...$``,
``$$...$$``, ``{math}``), inline code, every role (``{glue:text}``,
``{cite}``, ``{ref}`` ...), link targets, HTML comments, target labels and
directive options. Numbers written in words are not scanned.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

BOOK = Path(__file__).resolve().parent.parent / "book"
ALLOWED_FILE = BOOK / "bare_literals.yml"

# Directives whose body is prose (its argument and :option: lines are not).
PROSE_DIRECTIVES = {
    "admonition", "attention", "caution", "danger", "dropdown", "epigraph",
    "error", "figure", "hint", "important", "list-table", "margin", "note", "only",
    "seealso", "sidebar", "table", "tip", "topic", "warning",
}  # fmt: skip
FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*(\{([\w:-]+)\})?(.*)$")
IN_PARAGRAPH = r"(?:[^\n]|\n(?!\s*\n))"  # any character but a blank line
DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
INLINE_DROPS = [
    re.compile(r"<!--.*?-->", re.S),
    re.compile(r"\$\$.*?\$\$", re.S),
    re.compile(r"\{[\w:-]+\}`[^`]*`"),  # roles: {glue:text}`key:.1%`, {cite}`x`
    re.compile(rf"``(?:{IN_PARAGRAPH})*?``|`(?:(?!`){IN_PARAGRAPH})*`"),  # inline code
    re.compile(rf"(?<![\\\w])\$(?:(?!\$){IN_PARAGRAPH})+\$"),  # inline math
    re.compile(r"\[\^[^\]]*\]"),  # footnote labels
]
LINK_TARGET = re.compile(r"\]\([^)]*\)")


def prose(source: str) -> str:
    """The prose of a MyST chapter, whitespace collapsed to single spaces."""
    lines = source.splitlines()
    if lines and lines[0].strip() == "---":
        end = lines.index("---", 1)
        lines = lines[end + 1 :]
    kept, stack = [], []  # stack of (fence, is_prose_directive)
    for line in lines:
        match = FENCE.match(line)
        if match and stack and match.group(1) == stack[-1][0] and not match.group(2):
            if not match.group(4).strip():
                stack.pop()
                continue
        if match and (not stack or stack[-1][1]):
            name = match.group(3)
            stack.append((match.group(1), name in PROSE_DIRECTIVES))
            continue  # the directive's argument is not prose
        if stack and not stack[-1][1]:
            continue
        if re.match(r"^\s*:[\w-]+:", line) or re.match(r"^\s*\([\w-]+\)=\s*$", line):
            continue
        kept.append(line)
    text = "\n".join(kept)
    for pattern in INLINE_DROPS:
        text = pattern.sub(" ", text)
    text = LINK_TARGET.sub("]", text)
    return " ".join(text.split())


def bare_literals(text: str, allowed: list[str]) -> list[str]:
    """Each digit run of ``text`` not inside an occurrence of an allowed phrase,
    with 40 characters of context."""
    covered = [False] * len(text)
    for phrase in allowed:
        for found in re.finditer(re.escape(phrase), text):
            covered[found.start() : found.end()] = [True] * len(phrase)
    return [
        text[max(0, m.start() - 40) : m.end() + 40]
        for m in DIGITS.finditer(text)
        if not all(covered[m.start() : m.end()])
    ]


def load_allowed() -> list[dict]:
    entries = yaml.safe_load(ALLOWED_FILE.read_text(encoding="utf-8")) or []
    for entry in entries:
        assert set(entry) == {"chapter", "text", "reason"}, entry
        assert entry["reason"].strip(), f"no reason given for {entry['text']!r}"
    return entries


def chapters() -> list[str]:
    toc = yaml.safe_load((BOOK / "_toc.yml").read_text(encoding="utf-8"))
    return [toc["root"]] + [entry["file"] for entry in toc["chapters"]]


@pytest.mark.parametrize("chapter", chapters())
def test_every_number_in_the_prose_is_glued_or_listed(chapter):
    text = prose((BOOK / f"{chapter}.md").read_text(encoding="utf-8"))
    allowed = [e["text"] for e in load_allowed() if e["chapter"] == chapter]
    unlisted = bare_literals(text, allowed)
    assert not unlisted, (
        f"{chapter}: {len(unlisted)} bare numbers in the prose; glue each from the "
        "cell that computes it, or list it in book/bare_literals.yml with its "
        "reason:\n  " + "\n  ".join(unlisted)
    )
    stale = [phrase for phrase in allowed if " ".join(phrase.split()) not in text]
    assert not stale, f"{chapter}: listed phrases no longer in the prose: {stale}"


def missing_glue_keys(source: str) -> set[str]:
    """The keys the prose glues that no ``glue(...)`` call of the source computes."""
    used = set(re.findall(r"\{glue(?::\w+)?\}`([\w.-]+)", source))
    computed = [
        # glue(f"acc_{name}", ...) in a loop computes every key acc_<something>
        re.sub(r"\\\{[^}]*\\\}", r"[\\w.-]+", re.escape(key))
        for key in re.findall(r"""\bglue\(\s*f?["']([^"']+)["']""", source)
    ]
    return {key for key in used if not any(re.fullmatch(p, key) for p in computed)}


@pytest.mark.parametrize("chapter", chapters())
def test_every_glued_key_is_computed_by_a_cell_of_the_chapter(chapter):
    source = (BOOK / f"{chapter}.md").read_text(encoding="utf-8")
    missing = missing_glue_keys(source)
    assert not missing, f"{chapter}: glued but never computed: {missing}"


def test_missing_glue_keys_reads_loops_and_finds_what_no_cell_glues():
    source = (
        'glue("n", 3)\nfor name in names:\n    glue(f"acc_{name}", 0.9)\n'
        "{glue:text}`n` {glue:text}`acc_small:.1%` {glue}`acc_` {glue:text}`size`"
    )
    assert missing_glue_keys(source) == {"acc_", "size"}


def test_the_allowed_list_names_only_chapters_of_the_book():
    assert {e["chapter"] for e in load_allowed()} <= set(chapters())


SAMPLE = """---
kernelspec: {name: python3}
---
# Results for 4 classes

The model scores {glue:text}`acc:.1%` on `x[0:
96]` and $x_{12}^2$, which
we state as 98.5 % in words: see [figure 3](#fig-3) and {cite}`he2016`.

```{code-cell} ipython3
print(99)
```

```{note}
:class: tip
It took 12 s, as Chollet reports 83 % in chapter 9.
```

$$
y = 7 x
$$
(label-5)=
"""


def test_the_scan_keeps_prose_and_flags_what_no_cell_produced():
    text = prose(SAMPLE)
    assert "print" not in text and "kernelspec" not in text and "class:" not in text
    found = [re.search(DIGITS, context).group() for context in bare_literals(text, [])]
    assert bare_literals(text, []) and len(found) == 6
    allowed = ["4 classes", "98.5 %", "figure 3", "12 s", "83 % in chapter 9"]
    assert bare_literals(text, allowed) == []
    assert bare_literals(text, allowed[:-1])  # "83" and "9" are still bare
