"""Steps convviz adds to nbgrader's pipelines, one per file."""

from .stderr import StderrIsNotFailure

__all__ = ["StderrIsNotFailure"]
