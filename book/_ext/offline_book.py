"""Keep the built book free of network loads and console errors.

Jupyter Book 1 always loads sphinx-thebe, which adds, on every page, an inline
script declaring ``THEBE_JS_URL`` (a CDN address) and then a second copy of it:
the browser reports "Identifier 'THEBE_JS_URL' has already been declared". The
book does not run code in the browser (it is read offline), so this extension
drops thebe's scripts, stylesheet and configuration block from every page.
"""

import os

from docutils import nodes

THEBE_FILES = ("sphinx-thebe.js", "sphinx-thebe.css")


def _is_thebe(asset):
    filename = os.path.basename(str(getattr(asset, "filename", None) or ""))
    body = getattr(asset, "attributes", {}).get("body", "") or ""
    return filename.startswith(THEBE_FILES) or "THEBE_JS_URL" in body


def drop_thebe(app, pagename, templatename, context, doctree):
    for key in ("script_files", "css_files"):
        if key in context:
            context[key] = [a for a in context[key] if not _is_thebe(a)]


def drop_thebe_config(app, doctree, docname):
    """Remove the inert ``text/x-thebe-config`` block sphinx-thebe adds."""
    for node in list(doctree.findall(nodes.raw)):
        if "x-thebe-config" in node.astext():
            node.parent.remove(node)


def setup(app):
    app.connect("html-page-context", drop_thebe)
    # After sphinx-thebe's own doctree-resolved handler (priority 500).
    app.connect("doctree-resolved", drop_thebe_config, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
