"""convviz_ref: the reference implementation of the convviz course.

One module per idea: :mod:`~convviz_ref.data` (the offline shapes dataset and
sample photographs), :mod:`~convviz_ref.models` (builders and the shipped
trained models), :mod:`~convviz_ref.train`, :mod:`~convviz_ref.evaluate`,
:mod:`~convviz_ref.online` (the real data sets and ImageNet Xception, for
users who are online) and :mod:`~convviz_ref.plotting`.
"""

import os

# TensorFlow's C++ runtime prints start-up lines to stderr on its first
# operation; they alarm students and make nbgrader score a test cell 0.
# Respect a level the user has chosen (the CLI also hides the lines this
# setting cannot, unless the user chose one).
TF_LOG_LEVEL_CHOSEN = "TF_CPP_MIN_LOG_LEVEL" in os.environ
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "0.1.0"
