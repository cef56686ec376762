"""One image through a classifier: its classes' probabilities, and Grad-CAM of one.

What ``convviz gradcam`` prints and draws, for a Python user too.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from convviz_ref import gradcam


class GradcamPrediction(NamedTuple):
    """What :func:`gradcam_prediction` returns.

    Attributes:
        heatmap: float32 array ``(h, w)`` in [0, 1], the Grad-CAM map.
        layer_name: str, the layer whose feature maps were weighed.
        probabilities: float32 array ``(num_classes,)``, the model's output.
        top: int, the predicted class (the largest probability).
        explained: int, the class the heatmap explains.
    """

    heatmap: np.ndarray
    layer_name: str
    probabilities: np.ndarray
    top: int
    explained: int


def gradcam_prediction(
    model, image_batch, layer_name=None, class_index=None, *, score="output"
):
    """Classify one image and explain one class with Grad-CAM.

    Args:
        model: a classifier, output ``(batch, num_classes)``.
        image_batch: float32 array ``(1, height, width, 3)`` in the model's
            input range.
        layer_name: str; None for the last layer with a spatial output
            (:func:`convviz_ref.gradcam.find_last_conv_layer`).
        class_index: int, the class to explain; None for the predicted one.
        score: ``"output"`` or ``"logit"``, as in
            :func:`convviz_ref.gradcam.gradcam_heatmap`.

    Returns:
        :class:`GradcamPrediction`.

    Raises:
        ValueError: for an unknown layer or one without a spatial output, a
            model with no conv layer, or ``class_index`` out of range.
    """
    if layer_name is None:
        layer_name = gradcam.find_last_conv_layer(model)
    gradcam.check_spatial_layer(
        model,
        layer_name,
        gradcam.spatial_layers(model),
        "layers with a spatial output",
    )
    heatmap = gradcam.gradcam_heatmap(
        model, image_batch, layer_name, class_index, score=score
    )
    probabilities = np.asarray(model(image_batch, training=False))[0]
    top = int(np.argmax(probabilities))
    explained = top if class_index is None else class_index
    return GradcamPrediction(heatmap, layer_name, probabilities, top, explained)
