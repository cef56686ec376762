"""StderrIsNotFailure: stderr in a graded cell does not cost its points.

nbgrader scores a test cell 0 when anything in it reached stderr, error or
not. TensorFlow writes C++ start-up lines there on its first operation, and
``warnings.warn`` writes there too, so correct answers scored 0. A failed test
is an ``error`` output, which this step leaves alone: it only turns the
graded cells' stderr streams into stdout streams (text kept, visible in the
feedback), after the notebook has run and before the grades are saved.
"""

from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor


class StderrIsNotFailure(NbGraderPreprocessor):
    """Relabel stderr output of graded code cells as stdout."""

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code" and utils.is_grade(cell):
            for output in cell.get("outputs", []):
                if (
                    output.get("output_type") == "stream"
                    and output.get("name") == "stderr"
                ):
                    output["name"] = "stdout"
        return cell, resources
