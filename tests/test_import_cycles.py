"""No two modules of ``convviz_ref`` or ``convviz_grade`` import each other.

The import graph is read from the sources with :mod:`ast`, nothing is imported (no
TensorFlow): every ``import`` statement counts, at the top of a module or inside a
function or method, since an import inside a function closes a cycle as surely as one
at the top, only later. An edge goes from a module to each module of the two packages
it imports:

- ``import a.b.c``: to ``a.b.c`` (or its longest prefix that is a module);
- ``from a.b import c``: to ``a.b.c`` when it is a submodule, else to ``a.b``;
- relative imports (``from . import x``, ``from ..y import z``) the same way, resolved
  from the importing module's package.

A module's own parent packages are not edges: Python runs a package's ``__init__``
before any of its submodules, so such an edge is in every package and says nothing.
"""

from __future__ import annotations

import ast
import io
import subprocess
import tarfile
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Package name -> its folder, relative to the repository's root.
PACKAGES = {"convviz_ref": "convviz_ref", "convviz_grade": "autograder/convviz_grade"}
# The commit the issue read, and the three cycles it found there.
BEFORE = "89cc200"
CYCLES_BEFORE = {
    ("convviz_grade.autograde", "convviz_grade.cluster"),
    ("convviz_ref.attribution", "convviz_ref.faithfulness"),
    ("convviz_ref.cli", "convviz_ref.train"),
}


def module_name(package, folder, path):
    """The dotted name of the module at ``path`` (a POSIX path inside ``folder``).

    Returns:
        (str, bool): the name, and whether the module is a package (``__init__.py``).
    """
    parts = PurePosixPath(path).relative_to(folder).with_suffix("").parts
    is_package = parts[-1] == "__init__"
    inside = parts[:-1] if is_package else parts
    return ".".join((package, *inside)), is_package


def sources_in_folder(root):
    """{module name: (source, is_package)} of the packages' files under ``root``."""
    sources = {}
    for package, folder in PACKAGES.items():
        for path in sorted((root / folder).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            name, is_package = module_name(package, folder, relative)
            sources[name] = (path.read_text(encoding="utf-8"), is_package)
    return sources


def sources_at_commit(root, commit):
    """{module name: (source, is_package)} as in ``sources_in_folder``, at ``commit``.

    Reads the git objects (``git archive``); the working tree is not touched.

    Raises:
        subprocess.CalledProcessError: ``root`` is not a clone or lacks ``commit``.
    """
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, *PACKAGES.values()],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout
    sources = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        for member in tar.getmembers():
            if not (member.isfile() and member.name.endswith(".py")):
                continue
            for package, folder in PACKAGES.items():
                if member.name.startswith(folder + "/"):
                    name, is_package = module_name(package, folder, member.name)
                    text = tar.extractfile(member).read().decode("utf-8")
                    sources[name] = (text, is_package)
    return sources


def _imported(node, module, is_package, known):
    """The known modules one ``Import`` or ``ImportFrom`` node of ``module`` imports."""
    if isinstance(node, ast.Import):
        targets = []
        for alias in node.names:
            parts = alias.name.split(".")
            prefixes = (".".join(parts[:n]) for n in range(len(parts), 0, -1))
            targets.append(next((name for name in prefixes if name in known), None))
        return [target for target in targets if target]
    if node.level:  # relative: from the importing module's own package upwards
        package = module.split(".") if is_package else module.split(".")[:-1]
        base = package[: len(package) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module
    targets = []
    for alias in node.names:
        submodule = f"{source}.{alias.name}"
        if submodule in known:
            targets.append(submodule)
        elif source in known:
            targets.append(source)
    return targets


def import_graph(sources):
    """The import graph of ``sources`` ({module name: (source, is_package)}).

    Returns:
        dict {module: set of the modules of ``sources`` it imports}, self-imports left
        out.
    """
    graph = {}
    for module, (text, is_package) in sources.items():
        edges = set()
        for node in ast.walk(ast.parse(text, filename=module)):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges.update(_imported(node, module, is_package, sources))
        edges.discard(module)
        graph[module] = edges
    return graph


def cycles(graph):
    """Every elementary cycle of ``graph``, each once.

    Returns:
        sorted list of tuples of modules, each a chain ``m0 -> m1 -> ... -> m0``
        written without its last element and starting at its smallest module.
    """
    found = []

    def walk(start, path, on_path):
        for target in sorted(graph.get(path[-1], ())):
            if target == start:
                found.append(tuple(path))
            elif target > start and target not in on_path:
                walk(start, [*path, target], on_path | {target})

    for start in sorted(graph):
        walk(start, [start], {start})
    return sorted(found)


def chains(found):
    return "\n".join(" -> ".join((*cycle, cycle[0])) for cycle in found)


def test_no_module_imports_itself_through_others():
    graph = import_graph(sources_in_folder(ROOT))
    assert {"convviz_ref.cli", "convviz_grade.autograde"} <= set(graph)
    found = cycles(graph)
    assert not found, f"import cycles:\n{chains(found)}"


def test_the_graph_counts_every_kind_of_import():
    sources = {
        "p": ("", True),
        "p.a": ("def f():\n    from . import b\n", False),
        "p.b": ("import p.c.d\n", False),
        "p.c": ("", True),
        "p.c.d": ("class K:\n    def m(self):\n        from ..e import name\n", False),
        "p.e": ("from p import a\nimport os\n", False),
        "p.f": ("from .c import d, missing\nfrom p.c import other\n", False),
    }
    graph = import_graph(sources)
    assert graph == {
        "p": set(),
        "p.a": {"p.b"},
        "p.b": {"p.c.d"},
        "p.c": set(),
        "p.c.d": {"p.e"},
        "p.e": {"p.a"},
        "p.f": {"p.c.d", "p.c"},
    }
    assert cycles(graph) == [("p.a", "p.b", "p.c.d", "p.e")]


def _has_commit(commit):
    try:
        subprocess.run(
            ["git", "cat-file", "-e", f"{commit}^{{commit}}"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


@pytest.mark.skipif(
    not _has_commit(BEFORE), reason=f"no git history with {BEFORE} (installed copy?)"
)
def test_the_cycles_of_89cc200_are_found():
    found = cycles(import_graph(sources_at_commit(ROOT, BEFORE)))
    assert set(found) == CYCLES_BEFORE, chains(found)
