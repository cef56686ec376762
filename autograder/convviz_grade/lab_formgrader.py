"""Formgrader offline: a Jupyter server extension of the course's lab.

nbgrader's formgrader shows a submission through nbconvert, whose page loads
MathJax 2 from cdnjs.cloudflare.com: the one request off this machine on the
instructor's path through manual grading (formgrader's templates call nbconvert's
``mathjax()`` macro with no address). This extension, which
``jupyter/jupyter_server_config.py`` enables for ``make lab``:

* serves MathJax 3 at ``<base_url>/convviz-mathjax/``, from the copy that
  sphinx-mathjax-offline installs for the book (the ``book`` extra, which
  ``make`` installs); without it, formulas stay as typed, and nothing is
  fetched from elsewhere;
* puts ``templates/`` of this package first among the template folders of
  formgrader's exporter, so that its ``mathjax.html.j2`` loads that copy when
  no address is given (an address, as nbconvert's own pages pass, keeps
  nbconvert's macro).

Formgrader builds its exporter when it loads, and sets its template folders in a
way no configuration file overrides (as if from its command line), so the
folder is added to that exporter itself, once every extension has loaded.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

TEMPLATES = Path(__file__).with_name("templates")
URL = "convviz-mathjax"  # under the server's base_url; the template's address


def mathjax_folder():
    """The folder of MathJax 3's ``tex-chtml.js`` on this machine, or None."""
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.origin:
        return None
    folder = Path(spec.origin).parent / "static" / "mathjax"
    return folder if (folder / "tex-chtml.js").is_file() else None


def _jupyter_server_extension_points():
    return [{"module": "convviz_grade.lab_formgrader"}]


def add_templates(settings, log):
    """Put :data:`TEMPLATES` first among the template folders of formgrader's exporter.

    Returns:
        bool, False when formgrader is not loaded (a warning says so).
    """
    exporter = settings.get("nbgrader_exporter")
    if exporter is None:
        log.warning("convviz: formgrader is not loaded; its MathJax is left as it is")
        return False
    if str(TEMPLATES) not in exporter.template_paths:
        exporter.template_paths = [str(TEMPLATES), *exporter.template_paths]
    return True


def _load_jupyter_server_extension(serverapp):
    from jupyter_server.utils import url_path_join
    from tornado.ioloop import IOLoop
    from tornado.web import StaticFileHandler

    web_app = serverapp.web_app
    folder = mathjax_folder()
    if folder is not None:
        pattern = url_path_join(web_app.settings["base_url"], URL, "(.*)")
        web_app.add_handlers(
            ".*$", [(pattern, StaticFileHandler, {"path": str(folder)})]
        )
    # Extensions load in the order of their names: formgrader (nbgrader's) after
    # this one. The callback runs once the server's loop starts.
    IOLoop.current().add_callback(add_templates, web_app.settings, serverapp.log)
