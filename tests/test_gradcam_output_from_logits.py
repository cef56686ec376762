"""convviz_ref.gradcam.output_heatmap_from_logit_maps: the softmax's chain rule.

The output score's Grad-CAM map, computed from the logits' signed maps and the
float32 probabilities without any gradient, must be the map TensorFlow gives by
differentiating the output: on an unsaturated model, on a saturated one (the
top probability exactly 1.0 in float32, where exact arithmetic would give
another map), and for a single sigmoid unit.
"""

import numpy as np
import pytest
import tiny_models as tm

from convviz_ref import gradcam

TOLERANCE = 1e-4  # the exercise's (convviz_grade.assignments.gradcam.SATURATION_ATOL)


def evidence(model, image, layer_name):
    num_classes = model.outputs[0].shape[-1]
    logit_maps = np.concatenate(
        [
            gradcam.gradcam(model, image, j, layer_name=layer_name, score="logit")
            for j in range(num_classes)
        ]
    )
    return logit_maps, np.asarray(model(image, training=False))[0]


def scaled_head(model, factor):
    head = model.get_layer("predictions")
    kernel, bias = head.get_weights()
    head.set_weights([kernel * factor, bias])
    return model


@pytest.mark.parametrize("class_index", [0, 1, 2, 3])
def test_equals_the_output_heatmap_of_a_softmax_model(class_index):
    model = tm.gap_dense_model(seed=2, channels=5, num_classes=4)
    image = np.random.default_rng(3).normal(size=(1, 8, 8, 3)).astype(np.float32)
    logit_maps, probabilities = evidence(model, image, "conv")
    assert probabilities.max() < 1.0
    expected = gradcam.gradcam_heatmap(model, image, "conv", class_index)
    got = gradcam.output_heatmap_from_logit_maps(logit_maps, probabilities, class_index)
    assert got.shape == expected.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)


def test_a_saturated_softmax_keeps_only_the_runners_up_as_tensorflow_does():
    model = scaled_head(tm.nonlinear_head_model(seed=1), 5.0)  # p_c 1, p_j 3e-9
    image = np.random.default_rng(0).normal(size=(1, 10, 10, 3)).astype(np.float32)
    logit_maps, probabilities = evidence(model, image, "head_conv")
    top = int(np.argmax(probabilities))
    assert probabilities[top] == 1.0 and np.delete(probabilities, top).max() > 0
    expected = gradcam.gradcam_heatmap(model, image, "head_conv", top)
    got = gradcam.output_heatmap_from_logit_maps(logit_maps, probabilities, top)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
    # In exact arithmetic the own term (1 - p_c) p_c = p_c sum_{j != c} p_j stays.
    p = probabilities.astype(np.float64)
    exact = -p[top] * p
    exact[top] = p[top] * (p.sum() - p[top])
    raw = np.maximum(np.tensordot(exact, logit_maps.astype(np.float64), axes=1), 0)
    assert np.abs(raw / raw.max() - expected).max() > 100 * TOLERANCE


@pytest.mark.parametrize("factor", [1.0, 400.0])
def test_a_sigmoid_unit_is_one_class(factor):
    model = scaled_head(
        tm.gap_dense_model(seed=4, num_classes=1, activation="sigmoid"), factor
    )
    image = np.random.default_rng(5).normal(size=(1, 8, 8, 3)).astype(np.float32)
    logit_maps, probabilities = evidence(model, image, "conv")
    expected = gradcam.gradcam_heatmap(model, image, "conv", 0)
    got = gradcam.output_heatmap_from_logit_maps(logit_maps, probabilities, 0)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
    # The larger head rounds p to exactly 0 or 1: p (1 - p) = 0, an all-zero map.
    assert (probabilities[0] in (0.0, 1.0)) == (factor == 400.0)
    assert (got.max() == 0) == (factor == 400.0)


def test_worked_example():
    maps = np.array([[[1, 2], [3, 4]], [[4, 0], [0, 0]], [[0, 0], [0, 4]]], np.float32)
    got = gradcam.output_heatmap_from_logit_maps(
        maps, np.array([0.5, 0.25, 0.25], np.float32), 0
    )
    np.testing.assert_allclose(got, [[0, 2 / 3], [1, 2 / 3]], atol=1e-6)


@pytest.mark.parametrize(
    "maps_shape, probabilities_shape, class_index",
    [((3, 2, 2), (2,), 0), ((2, 2), (2,), 0), ((3, 2, 2), (3,), 3)],
)
def test_shape_and_class_errors(maps_shape, probabilities_shape, class_index):
    with pytest.raises(ValueError, match="expected logit_maps"):
        gradcam.output_heatmap_from_logit_maps(
            np.zeros(maps_shape), np.full(probabilities_shape, 0.5), class_index
        )
