"""Where the course's own code lives, however convviz is installed.

Student code must not see the reference library (``convviz_ref``, which holds
every answer) nor the grader (``convviz_grade``). Their folders are found from
the import system, not from this file's position, so that the answer is right
for an editable install (the folders are in a clone of the repository), an
ordinary one (they are in some ``site-packages``) and a venv anywhere, ``/tmp``
included.

* :func:`package_folders`: the folders of the two installed packages;
* :func:`repository`: the clone they were installed from, or None;
* :data:`PROTECTED_PACKAGES`: the names the grading worker refuses to import.
"""

from __future__ import annotations

import importlib.util
import site
import sys
from pathlib import Path

PROTECTED_PACKAGES = ("convviz_ref", "convviz_grade")


def package_folders():
    """The folders of the installed ``convviz_ref`` and ``convviz_grade``, resolved.

    Found with :func:`importlib.util.find_spec`, which asks the same finders an
    ``import`` would (site-packages, or setuptools' editable finder).
    """
    folders = []
    for name in PROTECTED_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        folders += [
            Path(location).resolve() for location in spec.submodule_search_locations
        ]
    return sorted(set(folders))


def repository():
    """The source checkout ``convviz_ref`` comes from (an editable install), or None.

    A checkout is recognised by the ``pyproject.toml`` of the project
    ``convviz`` beside the package folder; an installed package has none.
    """
    spec = importlib.util.find_spec("convviz_ref")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations))).resolve().parent
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and 'name = "convviz"' in pyproject.read_text(
        errors="replace"
    ):
        return root
    return None


def interpreter_folders():
    """The folders Python needs to start and to import its libraries.

    ``sys.prefix`` (the venv), ``sys.base_prefix`` (the interpreter it was
    made from), the folder above the executable, and every site-packages
    folder on ``sys.path`` (a venv can reach another's through a ``.pth``
    file). The sandbox keeps these visible wherever they are.
    """
    folders = {
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(sys.executable).resolve().parent.parent,
    }
    site_folders = set(site.getsitepackages())
    for entry in sys.path:
        if entry and (
            entry in site_folders
            or Path(entry).name in ("site-packages", "dist-packages")
        ):
            folders.add(Path(entry))
    return sorted({folder.resolve() for folder in folders if folder.exists()})
