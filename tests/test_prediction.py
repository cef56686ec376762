"""convviz_ref.prediction: one image's classes and the Grad-CAM of one of them."""

import numpy as np
import pytest
import tiny_models as tm

from convviz_ref import gradcam, prediction


@pytest.mark.parametrize("class_index", [None, 1])
def test_gradcam_prediction_is_the_heatmap_and_the_model_s_probabilities(class_index):
    model = tm.functional_convnet(seed=2)
    image = np.random.default_rng(0).uniform(0, 255, (1, 12, 12, 3)).astype("float32")
    result = prediction.gradcam_prediction(model, image, class_index=class_index)
    probabilities = np.asarray(model(image))[0]
    assert result.layer_name == "conv2"  # the last layer with a spatial output
    np.testing.assert_allclose(result.probabilities, probabilities, rtol=1e-6)
    assert result.top == int(np.argmax(probabilities))
    assert result.explained == (result.top if class_index is None else class_index)
    np.testing.assert_array_equal(
        result.heatmap, gradcam.gradcam_heatmap(model, image, "conv2", class_index)
    )


def test_gradcam_prediction_refuses_a_layer_without_a_spatial_output():
    model = tm.functional_convnet()
    with pytest.raises(
        ValueError, match="layer 'gap' of model 'tiny_functional' has no"
    ):
        prediction.gradcam_prediction(model, np.zeros((1, 12, 12, 3)), "gap")
