"""The students' edition of the book: graded functions as stubs, no bodies.

``make book-students`` (``book/build.py --students``) builds the book with the
Sphinx tag ``students``, from the doctrees ``make book`` wrote; without the tag
this extension does nothing, so ``make book`` builds the self-study edition as
it always has. With the tag, when each page is written (``doctree-resolved``,
after every chapter was read and executed), it hides what the exercises ask
for:

- **Which functions.** The graded functions are those of the grader's own
  rule, ``notebook_cells.points()`` of every ``solutions/<a>/<a>.ipynb``
  (:func:`graded_functions`), never a list kept here. Each maps to its
  reference in ``convviz_ref`` (:func:`reference_of`: the ``reference=`` of a
  ``Case`` in ``convviz_grade.assignments.<a>``, else the function of the same
  name in a ``convviz_ref`` module that assignment module imports, else in any
  ``convviz_ref`` module). Hidden with it: the private helpers (names starting
  with ``_``) the reference uses, and those they use (:func:`private_helpers`:
  showing ``_ascent_step`` shows ``gradient_ascent_step``'s body), and the
  public ``convviz_ref`` functions the reference itself calls
  (:func:`delegates`): ``mean_iou`` is the mean of ``per_class_iou``,
  ``pointing_game`` of ``pointing_hits``, so listing those lists the answer.
- **Listings.** A listing from ``convviz_ref`` (``literalinclude``) of a hidden
  function shows its stub instead (:func:`stub`): the signature and docstring
  as in the source, a comment naming the exercise notebook that asks for it, and
  ``...`` for a body. Other functions of the same listing stay.
- **Cells and other code.** A code block that is not a listing from the
  library and repeats the body of a graded function's reference or of a
  private helper (:func:`shows_body`: at least half of the body's statements,
  compared after :func:`statements` normalizes them) loses its source; a
  notebook cell keeps its output (a figure or a number the prose discusses
  teaches without giving the code away) and says why its code is missing.
  Delegates are hidden where they are listed, by name only: they are library
  functions in their own right (``check_images`` validates anyone's input), and
  other library code may well repeat a few of their lines.
- **Prose and chosen cells.** What no measure of code can find, a passage
  that walks through a hidden body or a cell that works out a graded result in
  other lines, the chapters mark themselves, with one mechanism each: prose
  with Sphinx's ``only`` directive on the tag (a ``{only} not students``
  fence around the self-study text, a ``{only} students`` fence around the
  contract that replaces it; Sphinx resolves it when a page is written, so the
  doctrees of ``make book`` serve both editions), and a code cell with the tag
  :data:`REMOVE_INPUT` (its code gives way to a note, its output stays).
- **Every graded function appears.** The first page gets a section listing
  each exercise notebook's graded functions as stubs, so a function that no
  chapter shows (``gradcam_plus_plus``) is in the edition too.

The tests (``tests/test_students_edition.py``) check the built HTML with a
measure of their own.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import textwrap
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util import logging

REPOSITORY = Path(__file__).resolve().parents[2]
LIBRARY = (REPOSITORY / "convviz_ref").resolve()
SOLUTIONS = REPOSITORY / "solutions"
TAG = "students"
SHARE = 0.5
"""A block shows a body when it repeats at least this share of its statements."""
REMOVE_INPUT = "students-remove-input"
"""The cell tag whose code the students' edition leaves out (its output stays)."""

logger = logging.getLogger(__name__)


# --- What is graded, and where its reference lives ------------------------------


def graded_functions(solutions=SOLUTIONS):
    """``{function: assignment}`` in the grader's order, from the source notebooks.

    The assignments are the folders ``solutions/<a>`` holding ``<a>.ipynb``; a
    function is graded when it has test cells (``notebook_cells.points``).
    """
    import nbformat
    from convviz_grade import notebook_cells

    graded = {}
    for notebook in sorted(Path(solutions).glob("*/*.ipynb")):
        if notebook.stem != notebook.parent.name:
            continue
        cells = nbformat.read(notebook, as_version=4)
        for function in notebook_cells.points(cells):
            graded.setdefault(function, notebook.stem)
    return graded


@functools.cache
def module_tree(path):
    """The parsed source of a Python file (cached: files do not change mid-build)."""
    return ast.parse(Path(path).read_text(encoding="utf-8"), filename=str(path))


def library_module(name):
    """``convviz_ref/<module>.py`` of ``convviz_ref.<module>`` (or ``<module>``)."""
    return LIBRARY / f"{name.rpartition('.')[2]}.py"


def top_level_functions(path):
    """``{name: FunctionDef}`` of the functions a module defines at top level."""
    return {
        node.name: node
        for node in module_tree(path).body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def library_imports(path):
    """What a module imports from ``convviz_ref``.

    Returns:
        ``(modules, names)``: ``{alias: module file}`` for imported modules and
        ``{alias: (module file, name)}`` for imported functions.
    """
    inside = Path(path).parent == LIBRARY
    modules, names = {}, {}
    for node in ast.walk(module_tree(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("convviz_ref.") and alias.asname:
                    modules[alias.asname] = library_module(alias.name)
        elif isinstance(node, ast.ImportFrom):
            package = node.module or ""
            relative = node.level == 1 and inside
            for alias in node.names:
                local = alias.asname or alias.name
                if package == "convviz_ref" or (relative and not package):
                    modules[local] = library_module(alias.name)
                elif package.startswith("convviz_ref.") or (relative and package):
                    names[local] = (library_module(package), alias.name)
    return modules, names


def resolve(path, name):
    """``(file, name)`` where the function ``name`` seen in module ``path`` is
    defined, following imports from other ``convviz_ref`` modules; else None.
    """
    path = Path(path)
    if not path.is_file():
        return None
    if name in top_level_functions(path):
        return path, name
    imported = library_imports(path)[1].get(name)
    if imported is not None and imported[0] != path:
        return resolve(*imported)
    return None


def _expression_target(expression, modules, names):
    """``(file, name)`` of ``alias.function`` or of an imported ``function``."""
    if isinstance(expression, ast.Attribute) and isinstance(expression.value, ast.Name):
        module = modules.get(expression.value.id)
        return resolve(module, expression.attr) if module else None
    if isinstance(expression, ast.Name) and expression.id in names:
        return resolve(*names[expression.id])
    return None


def declared_references(assignment_module):
    """``{function: (file, name)}`` from the module's ``Case(..., reference=R)``.

    Only cases whose function is a string literal (the first argument or
    ``function=``) and whose ``R`` names a ``convviz_ref`` function count.
    """
    modules, names = library_imports(assignment_module)
    found = {}
    for node in ast.walk(module_tree(assignment_module)):
        if not isinstance(node, ast.Call):
            continue
        keywords = {keyword.arg: keyword.value for keyword in node.keywords}
        function = keywords.get("function", node.args[0] if node.args else None)
        if "reference" not in keywords or not (
            isinstance(function, ast.Constant) and isinstance(function.value, str)
        ):
            continue
        target = _expression_target(keywords["reference"], modules, names)
        if target is not None:
            found.setdefault(function.value, target)
    return found


def assignment_module(assignment):
    """The file of ``convviz_grade.assignments.<assignment>``, or None.

    Located, not imported (it imports TensorFlow); the package's ``__path__``
    includes the folders of ``CONVVIZ_GRADE_ASSIGNMENTS``.
    """
    spec = importlib.util.find_spec(f"convviz_grade.assignments.{assignment}")
    return Path(spec.origin) if spec is not None and spec.origin else None


def reference_of(function, assignment):
    """``(file, name)`` of the reference of a graded function, or None.

    In order: the ``reference=`` its grading cases declare; the function of the
    same name in a ``convviz_ref`` module the assignment module imports; the one
    function of that name in ``convviz_ref``.
    """
    module = assignment_module(assignment)
    if module is not None:
        declared = declared_references(module).get(function)
        if declared is not None:
            return declared
        modules, names = library_imports(module)
        for path in modules.values():
            found = resolve(path, function)
            if found is not None:
                return found
        if function in names:
            found = resolve(*names[function])
            if found is not None:
                return found
    candidates = [
        path
        for path in sorted(LIBRARY.glob("*.py"))
        if function in top_level_functions(path)
    ]
    return (candidates[0], function) if len(candidates) == 1 else None


def private_helpers(path, name):
    """``[(file, helper)]``: the private functions ``name`` uses, transitively.

    A private function is a top-level function of ``convviz_ref`` whose name
    starts with ``_``; "uses" is any reference to it (a call, or passing it
    on), directly or through another private function.
    """
    found, todo = [], [(Path(path), name)]
    while todo:
        path, current = todo.pop()
        modules, names = library_imports(path)
        for node in ast.walk(top_level_functions(path)[current]):
            target = None
            if isinstance(node, ast.Name) and node.id.startswith("_"):
                target = resolve(path, node.id)
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                target = _expression_target(node, modules, names)
            if target is not None and target not in found and target[1] != name:
                found.append(target)
                todo.append(target)
    return found


def delegates(path, name):
    """``[(file, function)]``: the public ``convviz_ref`` functions ``name`` calls.

    Only its own calls (one level): a graded function that hands its work to
    ``per_class_iou`` gives its answer away in that function's body, but what
    ``per_class_iou`` calls in turn is the library's, not the exercise's.
    """
    path = Path(path)
    modules, names = library_imports(path)
    found = []
    for node in ast.walk(top_level_functions(path)[name]):
        if not isinstance(node, ast.Call):
            continue
        target = None
        if isinstance(node.func, ast.Name) and not node.func.id.startswith("_"):
            target = resolve(path, node.func.id)
        elif isinstance(node.func, ast.Attribute) and not node.func.attr.startswith(
            "_"
        ):
            target = _expression_target(node.func, modules, names)
        if target is not None and target not in found and target != (path, name):
            found.append(target)
    return found


def hidden_functions(solutions=SOLUTIONS):
    """What the students' edition hides.

    Returns:
        ``(hidden, unmapped)``: ``hidden`` is ``{(file, name): [(graded
        function, assignment), ...]}`` for every graded reference, its private
        helpers and its delegates, with the graded functions that use it (a
        graded function first of all under itself);
        ``unmapped`` lists the graded functions with no reference in
        ``convviz_ref``.
    """
    hidden, unmapped = {}, []
    for function, assignment in graded_functions(solutions).items():
        reference = reference_of(function, assignment)
        if reference is None:
            unmapped.append(function)
            continue
        hidden.setdefault(reference, []).insert(0, (function, assignment))
        for key in [*private_helpers(*reference), *delegates(*reference)]:
            if (function, assignment) not in hidden.setdefault(key, []):
                hidden[key].append((function, assignment))
    return hidden, unmapped


# --- Stubs and the body measure -------------------------------------------------


def exercise_notebook(assignment):
    return f"exercises/{assignment}/{assignment}.ipynb"


def exercise_note(name, uses):
    """The comment lines of a stub: which exercise asks for this body.

    ``uses`` is ``[(graded function, assignment), ...]``, as in
    :func:`hidden_functions`.
    """
    (graded, assignment), *others = uses
    if name == graded:
        return [
            f"Students' edition: {exercise_notebook(assignment)}",
            "asks you to write this body.",
        ]
    if not others:
        return [
            f"Students' edition: part of {graded}, which",
            f"{exercise_notebook(assignment)} asks you to write.",
        ]
    return [
        "Students' edition: part of what the exercises ask you to write:",
        *(f"{g} in {exercise_notebook(a)}" for g, a in uses),
    ]


def stub(path, name, uses):
    """The source of ``name`` in ``path`` with its body replaced.

    Keeps the decorators, the signature and the docstring as written; then a
    comment naming the exercise (:func:`exercise_note`) and ``...``.
    """
    node = top_level_functions(path)[name]
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    body = node.body
    has_docstring = (
        isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    )
    end = body[0].end_lineno if has_docstring else body[0].lineno - 1
    indent = " " * body[0].col_offset
    note = exercise_note(name, uses)
    return "\n".join(
        [
            *lines[first - 1 : end],
            *(f"{indent}# {line}" for line in note),
            f"{indent}...",
        ]
    )


def _header(statement):
    """A compound statement's first line, its body left out."""
    copy = ast.parse(ast.unparse(statement)).body[0]
    for field in ("body", "orelse", "finalbody", "handlers", "cases"):
        if isinstance(getattr(copy, field, None), list):
            setattr(copy, field, [ast.Pass()] if field == "body" else [])
    return ast.unparse(copy).splitlines()[0]


def statements(code):
    """The set of normalized statements of some code (None if it does not parse).

    Each simple statement is ``ast.unparse``d (so layout, comments and quotes do
    not count); a compound statement counts by its first line. Docstrings,
    ``pass``, ``...``, ``break``, ``continue`` and ``try:`` say nothing and are
    left out.
    """
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return None
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.stmt) or isinstance(
            node, (ast.Pass, ast.Break, ast.Continue, ast.Try)
        ):
            continue
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue
        found.add(_header(node) if hasattr(node, "body") else ast.unparse(node))
    return found


def body_statements(path, name):
    """:func:`statements` of a function's body, its docstring left out."""
    node = top_level_functions(path)[name]
    return statements("\n".join(ast.unparse(part) for part in node.body)) or set()


def shows_body(code, body):
    """True when ``code`` repeats at least :data:`SHARE` of ``body``'s statements
    (and at least two of them, or its only one).

    ``code`` may be given as its :func:`statements` already.
    """
    found = code if isinstance(code, (set, type(None))) else statements(code)
    if not found or not body:
        return False
    shared = len(found & body)
    return shared >= min(2, len(body)) and shared >= SHARE * len(body)


# --- The doctree ----------------------------------------------------------------


class Edition:
    """The hidden functions of one build, their stubs and their bodies."""

    def __init__(self, solutions=SOLUTIONS):
        self.graded = graded_functions(solutions)
        self.hidden, self.unmapped = hidden_functions(solutions)
        self.bodies = {
            key: body_statements(*key)
            for key, uses in self.hidden.items()
            if key[1] == uses[0][0] or key[1].startswith("_")
        }

    def stub(self, key):
        return stub(*key, self.hidden[key])

    def swap_listing(self, node):
        """Replace the hidden functions of a ``convviz_ref`` listing by stubs.

        Returns the hidden functions replaced.
        """
        if not is_library_listing(node):
            return []
        source = Path(node["source"]).resolve()
        text = node.astext()
        try:
            tree = ast.parse(textwrap.dedent(text))
        except SyntaxError:
            return []
        lines, replaced = text.splitlines(), []
        indent = len(lines[0]) - len(lines[0].lstrip()) if lines else 0
        functions = [
            part
            for part in tree.body
            if isinstance(part, (ast.FunctionDef, ast.AsyncFunctionDef))
        ]
        for part in reversed(functions):
            key = resolve(source, part.name)
            if key not in self.hidden:
                continue
            first = min([part.lineno, *(d.lineno for d in part.decorator_list)])
            code = textwrap.indent(self.stub(key), " " * indent)
            lines[first - 1 : part.end_lineno] = code.splitlines()
            replaced.append(key)
        if replaced:
            _set_text(node, "\n".join(lines))
        return replaced

    def body_shown(self, code):
        """The first hidden function whose body ``code`` shows, or None."""
        found = statements(code)
        for key, body in self.bodies.items():
            if shows_body(found, body):
                return key
        return None

    def hide_code(self, node, key):
        """Hide a code block that shows the body of ``key``; say why.

        A notebook cell's input gives way to a note, and its output stays;
        any other block keeps only a comment.
        """
        graded, assignment = self.hidden[key][0]
        notebook = exercise_notebook(assignment)
        what = graded if key[1] == graded else f"{key[1]} (part of {graded})"
        cell_input = node.parent
        while cell_input is not None and "cell_input" not in cell_input.get(
            "classes", []
        ):
            cell_input = cell_input.parent
        if cell_input is None:
            _set_text(node, f"# Students' edition: {what} is left for {notebook}.")
            return
        note = nodes.paragraph()
        note += nodes.emphasis(
            text=(
                f"Students' edition: this cell's code computes {what} step by "
                f"step, which {notebook} asks you to write; its output is kept."
            )
        )
        cell_input.replace_self(note)

    def exercises_section(self):
        """A section listing each exercise's graded functions as stubs."""
        section = nodes.section(ids=["students-edition-exercises"])
        section += nodes.title(text="The exercises (students' edition)")
        section += nodes.paragraph(
            text=(
                "In this edition the chapters show the functions the exercises "
                "ask for as stubs: the signature, the docstring and the notebook "
                "that asks for the body. Here they are, by exercise notebook."
            )
        )
        references = {
            uses[0][0]: key for key, uses in self.hidden.items() if key[1] == uses[0][0]
        }
        by_assignment = {}
        for function, assignment in self.graded.items():
            by_assignment.setdefault(assignment, []).append(function)
        for assignment, functions in by_assignment.items():
            section += nodes.paragraph(
                "", "", nodes.literal(text=exercise_notebook(assignment))
            )
            for function in functions:
                if function in references:
                    code = self.stub(references[function])
                else:
                    code = f"{function}  # asked for by {exercise_notebook(assignment)}"
                section += nodes.literal_block(code, code, language="python")
        return section


def remove_tagged_inputs(doctree):
    """Replace the code of every cell tagged :data:`REMOVE_INPUT` by a note.

    myst-nb gives a cell's container the class ``tag_<tag>`` for each tag.
    """
    for cell in list(doctree.findall(nodes.container)):
        if f"tag_{REMOVE_INPUT}" not in cell.get("classes", []):
            continue
        for child in list(cell.children):
            if "cell_input" in child.get("classes", []):
                note = nodes.paragraph()
                note += nodes.emphasis(
                    text=(
                        "Students' edition: this cell's code works out what an "
                        "exercise asks you to write; its output is kept."
                    )
                )
                child.replace_self(note)


def is_library_listing(node):
    """True for a ``literalinclude`` of a ``convviz_ref`` module."""
    source = Path(node.get("source") or "")
    return source.suffix == ".py" and source.resolve().parent == LIBRARY


def _set_text(node, text):
    node.rawsource = text
    node.children = [nodes.Text(text)]


def students_build(app):
    return app.tags.has(TAG)


def refuse_to_read(app, env, docnames):
    """Fail rather than read a chapter in the students' edition.

    The edition reuses the chapters ``make book`` read and executed; reading
    one again would execute it (the book's ``execute_notebooks: force``).
    """
    if students_build(app) and docnames:
        raise ExtensionError(
            "the students' edition reuses the chapters `make book` executed, but "
            f"these are missing or older than their sources: {sorted(docnames)}; "
            "run `make book` first"
        )


def start(app):
    if students_build(app):
        app.students_edition = Edition()
        for function in app.students_edition.unmapped:
            logger.info(
                f"students' edition: {function} has no reference in convviz_ref"
            )


def hide_answers(app, doctree, docname):
    """Swap listings for stubs and hide code that repeats a hidden body."""
    if not students_build(app):
        return
    edition = app.students_edition
    remove_tagged_inputs(doctree)
    for node in list(doctree.findall(nodes.literal_block)):
        if is_library_listing(node):
            edition.swap_listing(node)
            continue
        key = edition.body_shown(node.astext())
        if key is not None:
            edition.hide_code(node, key)
    if docname == app.config.root_doc:
        top = next(iter(doctree.findall(nodes.section)), None)
        if top is None:
            return
        subsections = [child for child in top if isinstance(child, nodes.section)]
        where = top.index(subsections[0]) if subsections else len(top)
        top.insert(where, edition.exercises_section())


def setup(app):
    app.connect("builder-inited", start)
    app.connect("env-before-read-docs", refuse_to_read)
    app.connect("doctree-resolved", hide_answers)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
