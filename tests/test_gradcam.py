"""convviz_ref.gradcam: the Grad-CAM formula, its edge cases, overlays.

And the output shapes of all three techniques.
The channel weights are checked in closed form on models whose last conv
layer feeds GlobalAveragePooling + Dense (``d z_c / d A[i, j, k] = W[k, c] /
(h w)``, then the softmax or sigmoid Jacobian), and by central finite
differences through a curved (conv-tanh, flatten, dense) head in float64.
"""

import re

import keras
import matplotlib
import numpy as np
import pytest
import tiny_models as tm
from keras import layers
from PIL import Image

from convviz_ref import activations, filters, gradcam, scoring
from convviz_ref.models import build_small_convnet, build_xception_like

# ---------------------------------------------------------------- references


def normalized(cam):
    cam = np.maximum(cam, 0.0)
    return cam / cam.max() if cam.max() > 0 else cam


def analytic_gap_gradcam(model, images, class_index, score):
    """Grad-CAM of tm.gap_dense_model in closed form, float64.

    Returns (heatmap of image 0 with weights averaged over the batch, per-image
    heatmaps, class indices).
    """
    kernel, bias = model.get_layer("conv").get_weights()
    weights, dense_bias = (
        w.astype(np.float64) for w in model.get_layer("predictions").get_weights()
    )
    activation_name = model.get_layer("predictions").activation.__name__
    maps, alphas, classes = [], [], []
    for image in np.asarray(images, np.float64):
        feature_map = tm.relu(tm.np_conv2d(image, kernel, bias, padding="same"))
        h, w, _ = feature_map.shape
        z = feature_map.mean(axis=(0, 1)) @ weights + dense_bias
        c = (
            int(np.argmax(z))
            if class_index is None
            else int(np.broadcast_to(class_index, len(images))[len(maps)])
        )
        if score == "logit":
            d_score_d_z = np.eye(len(z))[c]
        elif activation_name == "softmax":
            y = tm.softmax(z)
            d_score_d_z = y[c] * (np.eye(len(z))[c] - y)
        elif activation_name == "sigmoid":
            y = tm.sigmoid(z)
            d_score_d_z = y * (1 - y)
        else:
            raise AssertionError(activation_name)
        alphas.append(
            weights @ d_score_d_z / (h * w)
        )  # the same at every (i, j): its mean over i, j
        maps.append(feature_map)
        classes.append(c)
    alpha = np.mean(alphas, axis=0)
    batch_heatmap = normalized((maps[0] * alpha).mean(axis=-1))
    each = np.stack([normalized((m * a).mean(axis=-1)) for m, a in zip(maps, alphas)])
    return batch_heatmap, each, np.array(classes)


def reference_overlay(image, heatmap, alpha=0.4, cmap="jet"):
    """The documented overlay, in float64.

    PIL's bicubic resize, as Keras' image utilities use.
    """
    colors = matplotlib.colormaps[cmap](np.arange(256))[:, :3]
    indices = (255 * np.clip(np.asarray(heatmap, np.float64), 0, 1)).astype(np.uint8)
    # Keras' array_to_img goes through float32 before uint8: 147.99999999 (gray's 148 /
    # 255 * 255) is 148.
    colored = (colors[indices] * 255.0).astype(np.float32).astype(np.uint8)
    colored = Image.fromarray(colored, "RGB").resize(
        (image.shape[1], image.shape[0]), Image.Resampling.BICUBIC
    )
    x = alpha * np.asarray(colored, np.float64) + np.asarray(image, np.float64)
    x -= x.min()
    if x.max() > 0:
        x /= x.max()
    return (x * 255).astype(np.uint8)


def hand_model():
    """2x2x1 input; conv "conv" (1x1, no bias) gives A0 = x, A1 = -x; GAP.

    Then Dense W = [[2, 0], [1, 1]], softmax.
    """
    inputs = keras.Input(shape=(2, 2, 1), name="image")
    x = layers.Conv2D(2, 1, use_bias=False, name="conv")(inputs)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(2, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name="hand")
    model.get_layer("conv").set_weights(
        [np.array([1.0, -1.0], np.float32).reshape(1, 1, 1, 2)]
    )
    model.get_layer("predictions").set_weights(
        [np.array([[2.0, 0.0], [1.0, 1.0]], np.float32), np.zeros(2, np.float32)]
    )
    return model


# ---------------------------------------------------------------- worked by hand


@pytest.mark.parametrize("score", ["output", "logit"])
def test_gradcam_worked_example(score):
    # x = [[1, 2], [3, -4]]: A0 = x, A1 = -x; GAP = [0.5, -0.5]; logits z = [0.5, -0.5]
    # (top class 0).
    # Class 0, logit: alpha = W[:, 0] / 4 = [0.5, 0.25];
    #   mean_k(alpha_k A_k) = (0.5 x - 0.25 x) / 2 = x / 8 = [[0.125, 0.25], [0.375,
    # -0.5]]
    #   -> relu -> [[0.125, 0.25], [0.375, 0]] -> / 0.375 -> [[1/3, 2/3], [1, 0]].
    # Class 0, softmax output p = sigmoid(1): alpha = p (1 - p) / 4 * (W[:, 0] - W[:,
    # 1]) = p (1 - p) [1/2, 0]:
    #   a positive multiple of x / 2, the same heatmap.
    # Class 1 (either score): alpha proportional to [-2, 0] or [0, 1]: a positive
    # multiple of -x
    #   -> relu keeps only the -4 -> [[0, 0], [0, 1]].
    model = hand_model()
    x = np.array([[1, 2], [3, -4]], np.float32).reshape(1, 2, 2, 1)
    class0 = [[1 / 3, 2 / 3], [1, 0]]
    np.testing.assert_allclose(
        gradcam.gradcam_heatmap(model, x, "conv", score=score), class0, atol=1e-6
    )
    np.testing.assert_allclose(
        gradcam.gradcam_heatmap(model, x, "conv", 0, score=score), class0, atol=1e-6
    )
    np.testing.assert_allclose(
        gradcam.gradcam_heatmap(model, x, "conv", 1, score=score),
        [[0, 0], [0, 1]],
        atol=1e-6,
    )


@pytest.mark.parametrize("score", ["output", "logit"])
def test_heatmap_with_no_positive_value_stays_all_zero(score):
    # x > 0 everywhere: class 1's map is a positive multiple of -x < 0, all removed by
    # the ReLU.
    model = hand_model()
    heatmap = gradcam.gradcam_heatmap(
        model,
        np.array([1, 2, 3, 4], np.float32).reshape(1, 2, 2, 1),
        "conv",
        1,
        score=score,
    )  # 0 / 0 would warn, an error under -W error
    assert heatmap.dtype == np.float32
    np.testing.assert_array_equal(heatmap, np.zeros((2, 2)))


def test_heatmap_of_an_all_zero_feature_map_is_all_zero():
    model = tm.gap_dense_model(seed=1)
    kernel, bias = model.get_layer("conv").get_weights()
    model.get_layer("conv").set_weights(
        [kernel, -np.abs(bias) - 1]
    )  # zero image -> negative -> ReLU -> 0
    heatmap = gradcam.gradcam_heatmap(model, np.zeros((1, 8, 8, 3), np.float32), "conv")
    assert heatmap.dtype == np.float32 and not np.isnan(heatmap).any()
    np.testing.assert_array_equal(heatmap, np.zeros((8, 8)))


# -------------------------------------------------------- closed form on random models


@pytest.mark.parametrize("score", ["output", "logit"])
@pytest.mark.parametrize("class_index", [None, 0, 2, 3])
def test_softmax_gap_model_matches_the_closed_form(class_index, score):
    model = tm.gap_dense_model(seed=2, channels=5, num_classes=4)
    image = np.random.default_rng(3).normal(size=(1, 8, 8, 3)).astype(np.float32)
    expected, _, _ = analytic_gap_gradcam(model, image, class_index, score)
    heatmap = gradcam.gradcam_heatmap(model, image, "conv", class_index, score=score)
    assert heatmap.shape == (8, 8) and heatmap.dtype == np.float32
    np.testing.assert_allclose(heatmap, expected, rtol=1e-4, atol=1e-5)
    assert heatmap.max() == (
        1.0 if expected.max() > 0 else 0.0
    )  # divided by its maximum, or left all zero


def test_output_and_logit_scores_really_differ():
    # With four classes, d softmax_c / d A mixes every column of W; the logit's gradient
    # is W[:, c] alone.
    model = tm.gap_dense_model(seed=2, channels=5, num_classes=4)
    image = np.random.default_rng(3).normal(size=(1, 8, 8, 3)).astype(np.float32)
    output = gradcam.gradcam_heatmap(model, image, "conv", 2, score="output")
    logit = gradcam.gradcam_heatmap(model, image, "conv", 2, score="logit")
    assert np.abs(output - logit).max() > 0.05


@pytest.mark.parametrize("score", ["output", "logit"])
def test_single_sigmoid_model_explains_its_one_output(score):
    model = tm.gap_dense_model(seed=4, num_classes=1, activation="sigmoid")
    image = np.random.default_rng(5).normal(size=(1, 8, 8, 3)).astype(np.float32)
    expected, _, _ = analytic_gap_gradcam(model, image, 0, score)
    np.testing.assert_allclose(
        gradcam.gradcam_heatmap(model, image, "conv", score=score),
        expected,
        rtol=1e-4,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        gradcam.gradcam_heatmap(model, image, "conv", 0, score=score),
        expected,
        rtol=1e-4,
        atol=1e-5,
    )
    heatmaps, indices = gradcam.gradcam_heatmaps(model, image, "conv", score=score)
    assert indices.tolist() == [0]
    with pytest.raises(
        ValueError,
        match=re.escape(
            "class_index 1 is out of range: the model has 1 output(s) (0..0)"
        ),
    ):
        gradcam.gradcam_heatmap(model, image, "conv", 1, score=score)


def test_channel_weights_are_averaged_over_the_batch_too():
    # alpha_k = mean over batch, height and width; the heatmap is that of image 0.
    model = tm.gap_dense_model(seed=6)
    images = np.random.default_rng(7).normal(size=(2, 8, 8, 3)).astype(np.float32)
    images[1] *= 4  # a quite different second image
    batch_expected, each_expected, _ = analytic_gap_gradcam(model, images, 1, "output")
    heatmap = gradcam.gradcam_heatmap(model, images, "conv", 1)
    np.testing.assert_allclose(heatmap, batch_expected, rtol=1e-4, atol=1e-5)
    assert (
        np.abs(batch_expected - each_expected[0]).max() > 100 * 1e-5
    )  # image 1 did change the weights


def test_finite_differences_through_a_curved_head():
    model = tm.nonlinear_head_model(seed=8)
    model64 = tm.nonlinear_head_model(seed=8, dtype="float64")  # same weights, float64
    image = np.random.default_rng(9).normal(size=(1, 10, 10, 3))
    feature_map = np.asarray(
        keras.Model(model64.input, model64.get_layer("conv").output)(image)
    )[0]  # 8x8x4
    head_input = keras.Input(shape=(8, 8, 4), dtype="float64")
    x = head_input
    for name in ("head_conv", "flatten", "predictions"):
        x = model64.get_layer(name)(x)
    head = keras.Model(head_input, x)
    probabilities = np.asarray(head(feature_map[None]))[0]
    for class_index in (None, 1):
        c = int(np.argmax(probabilities)) if class_index is None else class_index
        eps = 1e-6
        perturbations = np.eye(feature_map.size).reshape(-1, 8, 8, 4) * eps
        scores = np.asarray(
            head(
                np.concatenate(
                    [feature_map + perturbations, feature_map - perturbations]
                )
            )
        )[:, c]
        gradient = (
            (scores[: feature_map.size] - scores[feature_map.size :]) / (2 * eps)
        ).reshape(8, 8, 4)
        alpha = gradient.mean(axis=(0, 1))
        expected = normalized((feature_map * alpha).mean(axis=-1))
        heatmap = gradcam.gradcam_heatmap(
            model, image.astype(np.float32), "conv", class_index
        )
        np.testing.assert_allclose(heatmap, expected, rtol=1e-4, atol=2e-5)
        assert 0 < (heatmap > 0).mean() < 1  # the ReLU cut part of the map


# ---------------------------------------------------------------- gradcam_heatmaps


@pytest.mark.parametrize("score", ["output", "logit"])
@pytest.mark.parametrize("class_index", [None, 3, [0, 3, 1]])
def test_batched_heatmaps_equal_one_image_at_a_time(class_index, score):
    model = tm.gap_dense_model(seed=10, num_classes=4)
    images = np.random.default_rng(11).normal(size=(3, 8, 8, 3)).astype(np.float32)
    heatmaps, indices = gradcam.gradcam_heatmaps(
        model, images, "conv", class_index, score=score
    )
    _, expected, expected_indices = analytic_gap_gradcam(
        model, images, class_index, score
    )
    assert heatmaps.shape == (3, 8, 8) and heatmaps.dtype == np.float32
    assert indices.dtype == np.int32 and indices.tolist() == expected_indices.tolist()
    np.testing.assert_allclose(heatmaps, expected, rtol=1e-4, atol=1e-5)
    for n in range(3):
        single_class = (
            None if class_index is None else np.broadcast_to(class_index, 3)[n]
        )
        single = gradcam.gradcam_heatmap(
            model, images[n : n + 1], "conv", single_class, score=score
        )
        np.testing.assert_allclose(heatmaps[n], single, rtol=1e-5, atol=1e-6)


def test_top_classes_are_each_images_own():
    model = tm.gap_dense_model(seed=14, num_classes=4)
    images = np.random.default_rng(13).normal(size=(6, 8, 8, 3)).astype(np.float32) * 3
    _, indices = gradcam.gradcam_heatmaps(model, images, "conv")
    np.testing.assert_array_equal(
        indices, np.argmax(np.asarray(model(images)), axis=-1)
    )
    assert (
        len(set(indices.tolist())) > 1
    )  # the images do not all agree, so per-image top classes were used


# -------------------------------------------- score="logit" leaves the model as it was


def test_logit_score_leaves_the_model_unchanged():
    model = tm.gap_dense_model(seed=14, num_classes=3)
    image = np.random.default_rng(15).normal(size=(1, 8, 8, 3)).astype(np.float32)
    activation_before = model.get_layer("predictions").activation
    predictions_before = np.asarray(model(image))
    gradcam.gradcam_heatmap(model, image, "conv", score="logit")
    gradcam.gradcam_heatmaps(model, image, "conv", score="logit")
    assert model.get_layer("predictions").activation is activation_before
    np.testing.assert_array_equal(np.asarray(model(image)), predictions_before)
    np.testing.assert_allclose(
        predictions_before.sum(), 1.0, rtol=1e-6
    )  # still softmax


def test_logit_score_leaves_the_model_unchanged_after_an_error():
    model = tm.gap_dense_model(seed=14, num_classes=3)
    image = np.random.default_rng(15).normal(size=(1, 8, 8, 3)).astype(np.float32)
    activation_before = model.get_layer("predictions").activation
    predictions_before = np.asarray(model(image))
    with pytest.raises(ValueError, match="class_index 7 is out of range"):
        gradcam.gradcam_heatmap(model, image, "conv", 7, score="logit")
    with pytest.raises(ValueError, match="out of range"):
        gradcam.gradcam_heatmaps(
            model, np.concatenate([image, image]), "conv", [0, 5], score="logit"
        )
    assert model.get_layer("predictions").activation is activation_before
    np.testing.assert_array_equal(np.asarray(model(image)), predictions_before)


def test_logit_score_of_a_separate_softmax_layer_is_its_input():
    inputs = keras.Input(shape=(8, 8, 3))
    x = layers.Conv2D(2, 3, name="conv")(inputs)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(3, name="dense")(x)
    model = tm.set_random_weights(
        keras.Model(inputs, layers.Softmax(name="softmax")(x)), seed=3
    )
    fused = keras.Model(
        inputs,
        layers.Dense(3, activation="softmax", name="fused")(
            model.get_layer("dense").input
        ),
    )
    fused.get_layer("fused").set_weights(model.get_layer("dense").get_weights())
    image = np.random.default_rng(0).uniform(0, 255, (1, 8, 8, 3)).astype(np.float32)
    for score in scoring.SCORES:
        np.testing.assert_allclose(
            gradcam.gradcam_heatmap(model, image, "conv", 1, score=score),
            gradcam.gradcam_heatmap(fused, image, "conv", 1, score=score),
            atol=1e-6,
        )


def test_logit_score_needs_a_last_layer_with_an_activation():
    inputs = keras.Input(shape=(8, 8, 3))
    x = layers.Conv2D(2, 3, name="conv")(inputs)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(3, activation="softmax", name="dense")(x)
    model = keras.Model(inputs, layers.Flatten(name="flatten")(x))
    image = np.zeros((1, 8, 8, 3), np.float32)
    with pytest.raises(
        ValueError,
        match="score='logit' needs a last layer with an activation; 'flatten' has none",
    ):
        gradcam.gradcam_heatmap(model, image, "conv", score="logit")
    assert gradcam.gradcam_heatmap(model, image, "conv").shape == (
        6,
        6,
    )  # "output" still works


# ---------------------------------------------------------------- argument errors


@pytest.mark.parametrize("class_index", [4, -1])
def test_class_index_out_of_range(class_index):
    model = tm.gap_dense_model(seed=16, num_classes=4)
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"class_index {class_index} is out of range: "
            "the model has 4 output(s) (0..3)"
        ),
    ):
        gradcam.gradcam_heatmap(
            model, np.zeros((1, 8, 8, 3), np.float32), "conv", class_index
        )


def test_unknown_layer_lists_the_layers_with_a_spatial_output():
    model = tm.functional_convnet()
    with pytest.raises(ValueError) as error:
        gradcam.gradcam_heatmap(model, np.zeros((1, 12, 12, 3), np.float32), "conv9")
    message = str(error.value)
    assert message.startswith(
        "no layer named 'conv9' in model 'tiny_functional'; "
        "layers with a spatial output:"
    )
    for name in ("conv1", "pool1", "conv2"):
        assert name in message
    assert "gap" not in message and "predictions" not in message


@pytest.mark.parametrize("shape", [(8, 8, 3), (1, 1, 8, 8, 3)])
def test_wrong_rank_is_an_error(shape):
    model = tm.gap_dense_model()
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"expected images of shape (batch, height, width, channels), got {shape}"
        ),
    ):
        gradcam.gradcam_heatmap(model, np.zeros(shape, np.float32), "conv")
    with pytest.raises(ValueError, match="expected images of shape"):
        gradcam.gradcam_heatmaps(model, np.zeros(shape, np.float32), "conv")


@pytest.mark.parametrize("score", ["probability", "Logit", None])
def test_unknown_score_is_an_error(score):
    with pytest.raises(
        ValueError,
        match=re.escape(f"score must be one of ('output', 'logit'), got {score!r}"),
    ):
        gradcam.gradcam_heatmap(
            tm.gap_dense_model(),
            np.zeros((1, 8, 8, 3), np.float32),
            "conv",
            score=score,
        )


# ---------------------------------------------------------------- find_last_conv_layer


def test_find_last_conv_layer():
    assert scoring.find_last_conv_layer(tm.functional_convnet()) == "conv2"
    assert scoring.find_last_conv_layer(tm.gap_dense_model()) == "conv"
    assert (
        scoring.find_last_conv_layer(tm.nonlinear_head_model()) == "head_conv"
    )  # before the Flatten
    assert scoring.find_last_conv_layer(tm.sequential_convnet("input")) == "conv2"
    assert (
        scoring.find_last_conv_layer(
            build_xception_like(image_size=32, widths=(16, 32), entry_filters=16)
        )
        == "last_conv_act"
    )
    assert (
        scoring.find_last_conv_layer(build_small_convnet(image_size=32, widths=(4, 8)))
        == "last_conv"
    )


def test_find_last_conv_layer_without_a_spatial_layer():
    inputs = keras.Input(shape=(8, 8, 3))
    model = keras.Model(inputs, layers.Dense(2)(layers.Flatten()(inputs)), name="mlp")
    with pytest.raises(ValueError, match="model 'mlp' has no conv layer"):
        scoring.find_last_conv_layer(model)


# ---------------------------------------------------------------- overlay


def test_overlay_worked_example():
    # jet(0) = (0, 0, 0.5) and jet(255) = (0.5, 0, 0): colored = (0, 0, 127) and (127,
    # 0, 0) (uint8 of 127.5);
    # x = 0.4 * colored + 0 = 50.8 at most, rescaled by min 0 and max 50.8 to 255.
    image = np.zeros((1, 2, 3), np.float32)
    np.testing.assert_array_equal(
        gradcam.overlay(image, np.array([[0.0, 1.0]])), [[[0, 0, 255], [255, 0, 0]]]
    )
    # alpha = 0 keeps the image alone; one spanning 0..255 comes back unchanged.
    picture = (
        np.random.default_rng(17).integers(0, 256, size=(5, 4, 3)).astype(np.float32)
    )
    picture[0, 0], picture[0, 1] = 0, 255
    np.testing.assert_array_equal(
        gradcam.overlay(picture, np.ones((2, 2)), alpha=0.0), picture
    )


@pytest.mark.parametrize(
    ("image_shape", "heatmap_shape", "alpha", "cmap"),
    [
        ((12, 16, 3), (3, 4), 0.4, "jet"),
        ((9, 9, 3), (9, 9), 1.0, "viridis"),
        ((20, 10, 3), (2, 2), 0.7, "gray"),
    ],
)
def test_overlay_matches_a_reference(image_shape, heatmap_shape, alpha, cmap):
    rng = np.random.default_rng(sum(image_shape))
    image = rng.uniform(0, 255, size=image_shape).astype(np.float32)
    heatmap = rng.uniform(size=heatmap_shape).astype(np.float32)
    picture = gradcam.overlay(image, heatmap, alpha=alpha, cmap=cmap)
    expected = reference_overlay(image, heatmap, alpha=alpha, cmap=cmap)
    assert picture.dtype == np.uint8 and picture.shape == image_shape
    difference = np.abs(picture.astype(int) - expected.astype(int))
    assert difference.max() <= 1 and (difference == 0).mean() > 0.97
    np.testing.assert_array_equal(
        gradcam.overlay(image[None], heatmap, alpha=alpha, cmap=cmap), picture
    )


def test_overlay_is_rescaled_to_exactly_0_255():
    # "the result is rescaled to 0..255 by its minimum and maximum (what
    # keras.utils.array_to_img does)":
    # the darkest value becomes 0 and the brightest 255.
    rng = np.random.default_rng(18)
    brightest = []
    for _ in range(20):
        image = rng.uniform(
            0, 255, size=(rng.integers(2, 16), rng.integers(2, 16), 3)
        ).astype(np.float32)
        heatmap = rng.uniform(size=(rng.integers(1, 5), rng.integers(1, 5))).astype(
            np.float32
        )
        picture = gradcam.overlay(image, heatmap, alpha=float(rng.uniform(0.1, 2.0)))
        assert picture.min() == 0
        brightest.append(int(picture.max()))
    assert brightest == [255] * 20


def test_overlay_argument_errors():
    image = np.zeros((8, 8, 3), np.float32)
    with pytest.raises(ValueError, match="unknown colormap 'not-a-map'"):
        gradcam.overlay(image, np.zeros((2, 2)), cmap="not-a-map")
    with pytest.raises(ValueError, match="expected image"):
        gradcam.overlay(image, np.zeros((1, 2, 2)))
    with pytest.raises(ValueError, match="expected image"):
        gradcam.overlay(np.zeros((8, 8)), np.zeros((2, 2)))


# ------------------------------------------- documented output shapes, every technique


def _grid(shape, per_row):
    return activations.channel_grid(
        np.random.default_rng(0).normal(size=shape).astype(np.float32), per_row
    )


def _heatmap(model_fn, size, layer, scale=255.0):
    return gradcam.gradcam_heatmap(
        model_fn(),
        np.random.default_rng(0)
        .uniform(0, scale, (1, size, size, 3))
        .astype(np.float32),
        layer,
    )


OUTPUT_CASES = {
    # name: (function returning the output, documented shape, documented dtype, kind)
    "channel_grid_4d": (
        lambda: _grid((1, 5, 5, 6), 4),
        (2 * 6 - 1, 4 * 6 - 1),
        np.uint8,
        "picture",
    ),
    "channel_grid_3d_default_row": (
        lambda: _grid((3, 7, 20), 16),
        (2 * 4 - 1, 16 * 8 - 1),
        np.uint8,
        "picture",
    ),
    "compute_activations": (
        lambda: activations.compute_activations(
            activations.build_activation_model(tm.functional_convnet(), ["pool1"]),
            np.zeros((1, 12, 12, 3)),
        )["pool1"],
        (1, 5, 5, 4),
        np.float32,
        "values",
    ),
    "generate_filter_pattern": (
        lambda: filters.generate_filter_pattern(
            tm.tanh_extractor(), 0, iterations=2, image_size=10, seed=0
        ),
        (10, 10, 3),
        np.float32,
        "values",
    ),
    "generate_filter_patterns": (
        lambda: filters.generate_filter_patterns(
            tm.tanh_extractor(),
            [0, 3, 1],
            iterations=2,
            image_size=10,
            seed=0,
            progress=False,
        ),
        (3, 10, 10, 3),
        np.float32,
        "values",
    ),
    "deprocess_image": (
        lambda: filters.deprocess_image(
            np.random.default_rng(0).normal(size=(10, 12, 3)), crop=2
        ),
        (6, 8, 3),
        np.uint8,
        "picture",
    ),
    "stitch": (
        lambda: filters.stitch([np.ones((6, 5, 3), np.uint8)] * 3, n_cols=2, margin=1),
        (13, 11, 3),
        np.uint8,
        "picture",
    ),
    "gradcam_heatmap_gap": (
        lambda: _heatmap(tm.gap_dense_model, 8, "conv", scale=1.0),
        (8, 8),
        np.float32,
        "heatmap",
    ),
    "gradcam_heatmap_pooled": (
        lambda: _heatmap(tm.functional_convnet, 12, "pool1"),
        (5, 5),
        np.float32,
        "heatmap",
    ),
    "gradcam_heatmap_xception_like": (
        lambda: _heatmap(
            lambda: build_xception_like(
                image_size=32, widths=(16, 32), entry_filters=16
            ),
            32,
            "last_conv_act",
        ),
        (8, 8),
        np.float32,
        "heatmap",
    ),
    "gradcam_heatmaps": (
        lambda: gradcam.gradcam_heatmaps(
            tm.gap_dense_model(),
            np.random.default_rng(0).normal(size=(2, 8, 8, 3)),
            "conv",
        )[0],
        (2, 8, 8),
        np.float32,
        "heatmap",
    ),
    "overlay": (
        lambda: gradcam.overlay(np.zeros((1, 12, 16, 3)), np.eye(3)),
        (12, 16, 3),
        np.uint8,
        "picture",
    ),
}


@pytest.mark.parametrize("case", list(OUTPUT_CASES))
def test_documented_output_shape_and_dtype(case):
    make, shape, dtype, kind = OUTPUT_CASES[case]
    output = make()
    assert isinstance(output, np.ndarray)
    assert output.shape == shape
    assert output.dtype == dtype
    if kind == "heatmap":
        assert output.min() >= 0.0 and output.max() <= 1.0
        assert np.all(
            (
                output.reshape(len(output), -1)
                if output.ndim == 3
                else output.reshape(1, -1)
            ).max(axis=1)
            == 1.0
        )  # normalized by its maximum (these maps have positive values)
    if kind == "values":
        assert np.isfinite(output).all()
    if kind == "picture":
        assert output.any()  # something was drawn


@pytest.mark.parametrize("class_index", [None, 2])
def test_many_images_take_the_traced_step_and_get_what_few_images_get(class_index):
    # From TRACE_FROM images on, the shared step is traced and run in batches: each
    # image
    # must still get its own feature maps, gradient and (top or asked) class.
    model = tm.functional_convnet(seed=0)
    rng = np.random.default_rng(0)
    shape = (
        scoring.TRACE_FROM + 5,
        12,
        12,
        3,
    )  # each image its own colour cast, so the top classes vary
    images = (
        rng.uniform(0, 1, (shape[0], 1, 1, 3)) * rng.uniform(0, 255, shape)
    ).astype(np.float32)
    layer = scoring.find_last_conv_layer(model)
    many = scoring.feature_maps_and_gradients(
        model, images, layer, class_index, batch_size=16
    )
    few = [
        scoring.feature_maps_and_gradients(
            model, images[start : start + 10], layer, class_index
        )
        for start in range(0, len(images), 10)
    ]
    for n, name in enumerate(("feature maps", "gradients", "classes")):
        np.testing.assert_allclose(
            many[n],
            np.concatenate([part[n] for part in few]),
            rtol=1e-5,
            atol=1e-6,
            err_msg=name,
        )
    assert many[2].dtype == np.int32
    if class_index is None:
        assert len(set(many[2].tolist())) > 1, (
            "top classes vary, so each image's own is checked"
        )


@pytest.mark.parametrize("class_index", [None, 1])
def test_gradcam_prediction_is_the_heatmap_and_the_model_s_probabilities(class_index):
    model = tm.functional_convnet(seed=2)
    image = np.random.default_rng(0).uniform(0, 255, (1, 12, 12, 3)).astype("float32")
    result = gradcam.gradcam_prediction(model, image, class_index=class_index)
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
        gradcam.gradcam_prediction(model, np.zeros((1, 12, 12, 3)), "gap")


# ------------------------------------------------ the book's two-sub-model form


@pytest.mark.parametrize("class_index", [None, 0, 3])
@pytest.mark.parametrize(
    "builder, size, layer_name, head",
    [
        (
            build_xception_like,
            64,
            "last_conv_act",
            ["avg_pool", "dropout", "predictions"],
        ),
        (build_small_convnet, 96, "last_conv", ["flatten", "dropout", "predictions"]),
    ],
)
def test_two_sub_models_give_the_one_model_heatmap(
    builder, size, layer_name, head, class_index
):
    keras.utils.set_random_seed(5)
    model = builder(image_size=size)
    images = np.random.default_rng(1).uniform(0, 255, (1, size, size, 3))
    images = images.astype("float32")
    expected = gradcam.gradcam_heatmap(
        model, images, layer_name, class_index, score="output"
    )
    got = gradcam.gradcam_heatmap_two_models(
        model, images, layer_name, head, class_index
    )
    assert got.shape == expected.shape and got.dtype == np.float32
    assert np.ptp(expected) > 0  # a map with something to compare
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
