"""Let Sphinx read (and execute) the chapters in parallel: ``book/build.py --jobs N``.

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

It also changes how the chapters are shared out. Sphinx cuts the list of
documents into a few long runs, one process each, in alphabetical order. Here
each document is a run of its own, so a process takes the next chapter as soon
as it is free, and the chapters named in the book's ``parallel_read_first``
setting (the slowest to execute) start first.
"""

import sphinx.builders

UNDECLARED_BUT_SAFE = (
    "sphinx_multitoc_numbering",
    "sphinx_jupyterbook_latex",
    "sphinx-mathjax-offline",
)


def declare_parallel_read_safe(app, config):
    for name in UNDECLARED_BUT_SAFE:
        extension = app.extensions.get(name)
        if extension is not None and extension.parallel_read_safe is None:
            extension.parallel_read_safe = True


def one_document_per_run(docnames, first=()):
    """Sphinx's runs of documents, one document each, those of ``first`` in front.

    The documents of ``first`` come in its order; names not in ``docnames`` are
    ignored.

    >>> one_document_per_run(["a", "b", "c", "d"], first=["d", "x"])
    [['d'], ['a'], ['b'], ['c']]
    """
    ahead = [name for name in first if name in docnames]
    return [[name] for name in ahead + [name for name in docnames if name not in ahead]]


def share_out_one_document_at_a_time(app, config):
    first = list(config.parallel_read_first)
    # The builder calls make_chunks by its name in sphinx.builders, when it reads in
    # parallel.
    sphinx.builders.make_chunks = lambda docnames, nproc, maxbatch=10: (
        one_document_per_run(docnames, first)
    )


def setup(app):
    app.add_config_value("parallel_read_first", [], "env")
    # config-inited comes after every extension of the book has been set up.
    app.connect("config-inited", declare_parallel_read_safe)
    app.connect("config-inited", share_out_one_document_at_a_time)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
