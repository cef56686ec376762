"""Let Sphinx read (and so execute) the chapters in parallel: ``book/build.py --jobs N``.

Sphinx reads in parallel only when every extension declares that it may.
Three that the book loads do not declare it, so Sphinx would fall back to one
chapter at a time (and say so in a warning, which ``-W`` turns into a failed
build). Neither does anything while a document is read:

- ``sphinx_multitoc_numbering`` (loaded by Jupyter Book) replaces the section
  numbering of the table of contents when the builder starts; the numbering
  runs once, in the main process, after every document has been read and
  merged.
- ``sphinx_jupyterbook_latex`` (loaded by Jupyter Book, for PDF output) adds
  read-time transforms that only annotate each document's own doctree (its
  toctree and section nodes) and keep nothing between documents.
- ``sphinx-mathjax-offline`` sets ``mathjax_path`` at set-up and copies
  MathJax into the output when the build has finished.

This extension records that they are safe.
"""

UNDECLARED_BUT_SAFE = ("sphinx_multitoc_numbering", "sphinx_jupyterbook_latex", "sphinx-mathjax-offline")


def declare_parallel_read_safe(app, config):
    for name in UNDECLARED_BUT_SAFE:
        extension = app.extensions.get(name)
        if extension is not None and extension.parallel_read_safe is None:
            extension.parallel_read_safe = True


def setup(app):
    # config-inited comes after every extension of the book has been set up.
    app.connect("config-inited", declare_parallel_read_safe)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
