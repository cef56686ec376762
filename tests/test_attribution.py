"""convviz_ref.attribution: every method against a closed form, a loop, or another.

Pixel methods are checked on a linear classifier, whose input gradient is
the same at every input (``W[:, c] / 255``), so saliency, SmoothGrad,
Integrated Gradients and occlusion all have closed forms; Guided
Backpropagation on a one-hidden-layer ReLU network, where the gating can be
written out. CAM methods are checked on conv -> GAP -> Dense, where the
gradient with respect to the feature maps is ``W[k, c] / (h w)`` everywhere;
Score-CAM against a naive loop of one forward pass per channel.
"""

import re
import threading

import keras
import numpy as np
import pytest
import tiny_models as tm

from convviz_ref import attribution, gradcam, methods, scoring
from convviz_ref.maps import normalize_maps, upsample_maps


def images_for(model, n=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (n,) + tuple(model.inputs[0].shape[1:])).astype(
        np.float32
    )


def linear_parts(model):
    """``(W, b)`` of tm.linear_classifier in float64.

    W reshaped to ``(h, w, channels, classes)``.
    """
    kernel, bias = (
        w.astype(np.float64) for w in model.get_layer("predictions").get_weights()
    )
    return kernel.reshape(tuple(model.inputs[0].shape[1:]) + (-1,)), bias


def linear_logits(model, images):
    kernel, bias = linear_parts(model)
    return (
        np.einsum("nhwc,hwck->nk", np.asarray(images, np.float64) / 255, kernel) + bias
    )


# ------------------------------------------------------------ the registry and explain


def test_every_method_returns_maps_in_unit_range_at_its_resolution():
    model = tm.gap_dense_model(seed=3, image_size=8, channels=5)
    images = images_for(model, n=2)
    for name, entry in methods.METHODS.items():
        options = {"patch": 4, "stride": 2} if name == "occlusion" else {}
        if name == "smoothgrad":
            options = {"samples": 4}
        if name == "integrated_gradients":
            options = {"steps": 4}
        maps, classes = attribution.explain(model, images, name, **options)
        expected = (
            2,
            8,
            8,
        )  # the "same"-padded conv keeps the image's grid: both resolutions are 8x8
        assert maps.shape == expected and maps.dtype == np.float32, name
        assert classes.dtype == np.int32 and classes.shape == (2,), name
        assert np.all(np.isfinite(maps)) and maps.min() >= 0 and maps.max() <= 1, name
        assert {maps[n].max() for n in range(2)} <= {0.0, 1.0}, (
            name
        )  # each map divided by its own maximum
        assert entry.family in (
            "cam",
            "pixel",
            "perturbation",
        ) and entry.resolution in ("layer", "image")
        assert (
            entry.needs_layer == (entry.family == "cam")
            and methods.method_function(name).__doc__
        ), name


def test_cam_methods_are_at_the_layer_grid_and_pixel_methods_at_the_image():
    model = tm.functional_convnet(seed=1)  # 12x12 input, conv2 3x3
    images = images_for(model, n=2)
    assert attribution.explain(model, images, "layer_cam", layer_name="conv2")[
        0
    ].shape == (2, 3, 3)
    assert attribution.explain(model, images, "layer_cam")[0].shape == (
        2,
        3,
        3,
    )  # the last spatial layer
    assert attribution.explain(model, images, "saliency")[0].shape == (2, 12, 12)
    upsampled = np.clip(
        upsample_maps(attribution.explain(model, images, "gradcam")[0], (12, 12)), 0, 1
    )
    assert (
        upsampled.shape == (2, 12, 12) and upsampled.min() >= 0 and upsampled.max() <= 1
    )


def test_explain_gradcam_is_the_books_gradcam_heatmaps():
    model = tm.functional_convnet(seed=2)
    images = images_for(model, n=4)
    for score in scoring.SCORES:
        for class_index in (None, 1, np.array([0, 2, 1, 0])):
            maps, classes = attribution.explain(
                model, images, "gradcam", class_index, layer_name="conv2", score=score
            )
            expected, expected_classes = gradcam.gradcam_heatmaps(
                model, images, "conv2", class_index, score=score
            )
            np.testing.assert_allclose(maps, expected, atol=1e-6)
            np.testing.assert_array_equal(classes, expected_classes)


def test_top_class_is_the_argmax_and_explicit_classes_are_kept():
    model = tm.linear_classifier(seed=4)
    images = images_for(model, n=5)
    _, classes = attribution.explain(model, images, "saliency")
    np.testing.assert_array_equal(classes, linear_logits(model, images).argmax(axis=1))
    np.testing.assert_array_equal(
        attribution.explain(model, images, "saliency", 2)[1], [2] * 5
    )


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda m, x: attribution.explain(m, x, "gradcamm"),
            "unknown method 'gradcamm'; choose one of: gradcam, ",
        ),
        (
            lambda m, x: attribution.explain(m, x, "saliency", layer_name="conv2"),
            "takes no layer_name",
        ),
        (
            lambda m, x: attribution.explain(m, x, "gradcam", layer_name="nope"),
            "no layer named 'nope'",
        ),
        (
            lambda m, x: attribution.explain(m, x, "gradcam", layer_name="gap"),
            "has no spatial output",
        ),
        (
            lambda m, x: attribution.explain(m, x, "gradcam", 7),
            "class_index 7 is out of range",
        ),
        (lambda m, x: attribution.explain(m, x, "saliency", [0, 1]), "one per image"),
        (
            lambda m, x: attribution.explain(m, x[0], "saliency"),
            "expected images of shape",
        ),
        (
            lambda m, x: attribution.explain(m, x, "saliency", score="probability"),
            "score must be one of",
        ),
        (
            lambda m, x: attribution.explain(m, x, "occlusion", patch=13),
            "patch must be between 1 and 12",
        ),
        (
            lambda m, x: attribution.explain(m, x, "occlusion", patch=0),
            "patch must be between 1 and 12",
        ),
        (
            lambda m, x: attribution.explain(m, x, "occlusion", stride=0),
            "stride must be at least 1",
        ),
        (
            lambda m, x: attribution.explain(m, x, "smoothgrad", samples=0),
            "samples must be at least 1",
        ),
        (
            lambda m, x: attribution.explain(m, x, "integrated_gradients", steps=0),
            "steps must be at least 1",
        ),
        (
            lambda m, x: attribution.integrated_gradients(m, x, baseline=np.zeros(5)),
            "does not broadcast",
        ),
    ],
)
def test_errors_are_one_line(call, message):
    model = tm.functional_convnet(seed=0)
    with pytest.raises(ValueError) as error:
        call(model, images_for(model, n=3))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_cam_method_on_a_model_without_a_spatial_layer():
    model = tm.linear_classifier(seed=0)
    with pytest.raises(ValueError, match="has no conv layer"):
        attribution.explain(model, images_for(model), "score_cam")


def test_guided_backprop_refuses_a_model_without_relu():
    with pytest.raises(ValueError, match="needs ReLU activations"):
        attribution.guided_model(tm.linear_classifier(seed=0))


# ---------------------------------------------------------------- the score choice


def test_score_choice_never_changes_the_model():
    model = tm.functional_convnet(seed=5)
    images = images_for(model, n=3)
    before = np.asarray(model(images))
    weights = [w.copy() for w in model.get_weights()]
    for name in methods.METHODS:
        options = (
            {"samples": 2}
            if name == "smoothgrad"
            else {"steps": 2}
            if name == "integrated_gradients"
            else {}
        )
        attribution.explain(model, images, name, score="logit", **options)
    assert model.layers[-1].activation is keras.activations.softmax
    assert [layer.name for layer in model.layers] == [
        "image",
        "rescaling",
        "conv1",
        "pool1",
        "conv2",
        "gap",
        "predictions",
    ]
    np.testing.assert_array_equal(np.asarray(model(images)), before)
    for a, b in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(a, b)


def test_logit_score_is_the_pre_softmax_score():
    model = tm.linear_classifier(seed=6)
    images = images_for(model, n=4)
    classes = np.array([0, 1, 2, 0], np.int32)
    scores = scoring.class_scores(
        scoring.score_model(model, score="logit"), images, classes
    )
    np.testing.assert_allclose(
        scores, linear_logits(model, images)[np.arange(4), classes], rtol=1e-5
    )
    outputs = scoring.class_scores(
        scoring.score_model(model, score="output"), images, classes
    )
    np.testing.assert_allclose(
        outputs, np.asarray(model(images))[np.arange(4), classes], rtol=1e-6
    )


def test_two_threads_with_different_scores_get_the_serial_answers():
    model = tm.gap_dense_model(seed=7, image_size=8, channels=5)
    images = images_for(model, n=4)

    def raw_maps(
        score,
    ):  # before normalizing: a switched score would show even as a change of scale
        return gradcam.gradcam(model, images, layer_name="conv", score=score)

    serial = {score: raw_maps(score) for score in scoring.SCORES}
    assert not np.allclose(serial["logit"], serial["output"], rtol=0.1)
    results, errors = {score: [] for score in scoring.SCORES}, []

    def work(score):
        try:
            for _ in range(8):
                results[score].append(raw_maps(score))
        except Exception as error:  # noqa: BLE001 - reported below, with the thread's score
            errors.append((score, error))

    threads = [threading.Thread(target=work, args=(score,)) for score in scoring.SCORES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for score in scoring.SCORES:
        assert len(results[score]) == 8
        for maps in results[score]:
            np.testing.assert_allclose(maps, serial[score], rtol=1e-5, atol=1e-8)


# ------------------------------------------------------ the CAM family, in closed form


def gap_parts(model, images):
    """Feature maps A (n, h, w, k) of tm.gap_dense_model, and the logit's gradient.

    The gradient is g_k = W[k, c] / (h w) everywhere.
    """
    kernel, bias = model.get_layer("conv").get_weights()
    weights = model.get_layer("predictions").get_weights()[0].astype(np.float64)
    maps = np.stack(
        [tm.relu(tm.np_conv2d(image, kernel, bias, padding="same")) for image in images]
    )
    return maps, weights / (maps.shape[1] * maps.shape[2])


def test_gradcam_plus_plus_and_layer_cam_in_closed_form():
    model = tm.gap_dense_model(seed=8, image_size=8, channels=5)
    images = images_for(model, n=3)
    feature_maps, gradient = gap_parts(model, images)
    classes = np.array([0, 3, 1])
    plus_plus = attribution.gradcam_plus_plus(model, images, classes, layer_name="conv")
    layer = attribution.layer_cam(model, images, classes, layer_name="conv")
    for n, c in enumerate(classes):
        g = gradient[:, c]  # (k,): the same at every position
        sums = feature_maps[n].sum(axis=(0, 1))
        denominator = 2 * g**2 + sums * g**3
        alpha = np.where(
            denominator != 0, g**2 / np.where(denominator != 0, denominator, 1), 0
        )
        weights = (
            64 * alpha * tm.relu(g)
        )  # the sum over the 8x8 positions of a constant
        np.testing.assert_allclose(
            plus_plus[n], (feature_maps[n] * weights).sum(axis=-1), rtol=1e-4, atol=1e-7
        )
        np.testing.assert_allclose(
            layer[n], (feature_maps[n] * tm.relu(g)).sum(axis=-1), rtol=1e-4, atol=1e-7
        )


def naive_score_cam(model, image, class_index, layer_name):
    """One masked forward pass per channel, in a loop: the paper's algorithm."""
    feature_model = keras.Model(model.inputs[0], model.get_layer(layer_name).output)
    head = model.layers[-1]
    logit_model = keras.Model(model.inputs[0], head.input)
    kernel, bias = head.get_weights()
    feature_maps = np.asarray(feature_model(image[None]))[0]
    scores = []
    for k in range(feature_maps.shape[-1]):
        mask = np.asarray(
            keras.ops.image.resize(
                feature_maps[..., k : k + 1], image.shape[:2], interpolation="bilinear"
            )
        )[..., 0]
        span = mask.max() - mask.min()
        mask = (mask - mask.min()) / span if span > 0 else np.zeros_like(mask)
        pooled = np.asarray(logit_model((image * mask[..., None])[None]))[0]
        scores.append(pooled @ kernel[:, class_index] + bias[class_index])
    weights = tm.softmax(scores)
    return (feature_maps * weights).sum(axis=-1)


def test_score_cam_equals_a_loop_of_one_pass_per_channel():
    model = tm.functional_convnet(seed=9, image_size=16)  # conv2 is 5x5x3
    images = images_for(model, n=2)
    raw = attribution.score_cam(model, images, [1, 2], layer_name="conv2", batch_size=2)
    for n, c in enumerate((1, 2)):
        np.testing.assert_allclose(
            raw[n], naive_score_cam(model, images[n], c, "conv2"), rtol=1e-4, atol=1e-6
        )


@pytest.mark.parametrize("method", ["score_cam", "occlusion"])
def test_an_image_asked_for_two_classes_is_perturbed_once_and_explained_for_each(
    method,
):
    model = tm.functional_convnet(seed=9, image_size=16)
    images = images_for(model, n=2)
    options = (
        {"layer_name": "conv2"} if method == "score_cam" else {"patch": 6, "stride": 5}
    )
    function = getattr(attribution, method)
    rows = [(0, 0), (1, 1), (0, 1), (0, 2)]  # (image, class): image 0 for three classes
    alone = [function(model, images[[image]], [c], **options)[0] for image, c in rows]
    with scoring.counting_passes() as shared:
        raw = function(
            model, images[[image for image, _ in rows]], [c for _, c in rows], **options
        )
    for n, expected in enumerate(alone):
        np.testing.assert_allclose(
            raw[n], expected, rtol=1e-4, atol=1e-6, err_msg=f"row {n}"
        )
    with scoring.counting_passes() as once:
        function(model, images, [0, 1], **options)  # each image once
    # Image 0 is perturbed once, not three times: the two extra rows add only their
    # own plain forward pass (occlusion scores the unoccluded image; Score-CAM takes
    # no such pass here).
    assert shared.images - once.images == (2 if method == "occlusion" else 0), (
        shared.images,
        once.images,
    )


def test_with_one_channel_every_cam_method_is_the_feature_map():
    """One channel with a positive weight: every CAM method gives relu(A) / max.

    Like Grad-CAM.
    """
    model = tm.gap_dense_model(seed=10, image_size=8, channels=1, num_classes=2)
    kernel, bias = model.get_layer("predictions").get_weights()
    model.get_layer("predictions").set_weights([np.abs(kernel), bias])
    images = images_for(model, n=2)
    feature_maps, _ = gap_parts(model, images)
    expected = normalize_maps(feature_maps[..., 0])
    for name in ("gradcam", "gradcam_plus_plus", "score_cam", "layer_cam"):
        maps, _ = attribution.explain(model, images, name, 0, layer_name="conv")
        np.testing.assert_allclose(maps, expected, atol=1e-5, err_msg=name)


# ---------------------------------------------------- the pixel family, in closed form


def test_saliency_and_smoothgrad_of_a_linear_model_are_its_weights():
    model = tm.linear_classifier(seed=11)
    images = images_for(model, n=3)
    kernel, _ = linear_parts(model)
    classes = np.array([2, 0, 1])
    expected = np.stack([kernel[..., c] / 255 for c in classes])
    np.testing.assert_allclose(
        attribution.saliency(model, images, classes), expected, rtol=1e-4, atol=1e-9
    )
    np.testing.assert_allclose(
        attribution.smoothgrad(model, images, classes, samples=5),
        expected,
        rtol=1e-4,
        atol=1e-9,
    )
    maps, _ = attribution.explain(model, images, "saliency", classes)
    np.testing.assert_allclose(
        maps, normalize_maps(np.abs(expected).max(axis=-1)), atol=1e-5
    )


def test_integrated_gradients_of_a_linear_model_in_closed_form():
    model = tm.linear_classifier(seed=12)
    images = images_for(model, n=3)
    kernel, _ = linear_parts(model)
    baseline = np.full_like(images[:1], 40.0)
    attributions = attribution.integrated_gradients(model, images, 1, baseline, steps=3)
    np.testing.assert_allclose(
        attributions, (images - 40.0) * kernel[..., 1] / 255, rtol=1e-4, atol=1e-7
    )
    logits = linear_logits(
        model, np.concatenate([images, np.broadcast_to(baseline, images.shape)])
    )
    np.testing.assert_allclose(
        attributions.reshape(3, -1).sum(axis=1),
        logits[:3, 1] - logits[3:, 1],
        rtol=1e-4,
    )
    assert np.all(
        attribution.completeness_gap(model, images, attributions, 1, baseline) < 1e-4
    )


def test_integrated_gradients_is_the_trapezoid_rule():
    """One interval: (x - x') times the mean of the gradients at both ends.

    (A left sum would use one of them.)
    """
    model = tm.functional_convnet(seed=13)
    images = images_for(model, n=2)
    scorer = scoring.score_model(model, score="logit")
    classes = np.array([0, 2], np.int32)
    at_image = attribution.input_gradients(scorer, images, classes)
    at_black = attribution.input_gradients(scorer, np.zeros_like(images), classes)
    np.testing.assert_allclose(
        attribution.integrated_gradients(model, images, classes, steps=1),
        images * (at_image + at_black) / 2,
        rtol=1e-4,
        atol=1e-8,
    )


def test_integrated_gradients_completeness_on_a_curved_model():
    model = tm.nonlinear_head_model(seed=14)
    images = (
        images_for(model, n=3) / 255
    )  # tanh layers: keep the path inside their curved range
    attributions = attribution.integrated_gradients(model, images, 0)
    gaps = attribution.completeness_gap(model, images, attributions, 0)
    assert gaps.shape == (3,) and np.all(gaps < 0.01), gaps
    coarse = attribution.integrated_gradients(model, images, 0, steps=1)
    assert attribution.completeness_gap(model, images, coarse, 0).mean() > gaps.mean()


def test_integrated_gradients_to_a_tolerance_doubles_each_image_s_steps_as_needed():
    # A ReLU convnet: the gap falls as the steps double. Each image ends at the fewest
    # intervals of
    # 2, 4, 8, ... whose gap is within the tolerance, and its attributions are the fixed
    # rule's there.
    model = tm.functional_convnet(seed=16)
    images = images_for(model, n=6)
    fixed = {
        m: attribution.integrated_gradients(model, images, None, steps=m)
        for m in (2, 4, 8, 16, 32)
    }
    gaps = {
        m: attribution.completeness_gap(model, images, ig) for m, ig in fixed.items()
    }
    tolerance = float(
        np.median(gaps[2])
    )  # some images meet it at 2 steps, some need more
    ends = [
        next((m for m in fixed if gaps[m][n] <= tolerance), 32)
        for n in range(len(images))
    ]
    assert min(ends) == 2 and max(ends) > 2, ends
    refined = attribution.integrated_gradients(
        model, images, None, steps=2, tolerance=tolerance, max_steps=32
    )
    for n, m in enumerate(ends):
        np.testing.assert_allclose(
            refined[n], fixed[m][n], rtol=1e-4, atol=1e-6 * np.abs(fixed[m][n]).max()
        )
    assert np.all(
        attribution.completeness_gap(model, images, refined)
        <= np.maximum(tolerance, gaps[32])
    )


def test_integrated_gradients_stops_doubling_at_max_steps():
    model = tm.functional_convnet(seed=16)
    images = images_for(model, n=2)
    capped = attribution.integrated_gradients(
        model, images, None, steps=2, tolerance=1e-12, max_steps=12
    )
    np.testing.assert_allclose(
        capped,
        attribution.integrated_gradients(model, images, None, steps=8),
        rtol=1e-4,
        atol=1e-6,
    )  # 2, 4, 8: a ninth doubling would pass 12


def test_explain_adds_integrated_gradients_steps_until_within_one_percent():
    model = tm.functional_convnet(seed=16)
    images = images_for(model, n=4)
    assert methods.METHODS["integrated_gradients"].options == {
        "tolerance": methods.COMPLETENESS_TOLERANCE
    }
    maps, classes = attribution.explain(model, images, "integrated_gradients", steps=2)
    within = attribution.integrated_gradients(
        model, images, classes, steps=2, tolerance=0.01
    )
    np.testing.assert_allclose(
        maps, attribution.to_maps("integrated_gradients", within), atol=1e-5
    )
    fixed, _ = attribution.explain(
        model, images, "integrated_gradients", steps=2, tolerance=None
    )
    np.testing.assert_allclose(
        fixed,
        attribution.to_maps(
            "integrated_gradients",
            attribution.integrated_gradients(model, images, classes, steps=2),
        ),
        atol=1e-5,
    )
    assert (
        np.abs(fixed - maps).max() > 1e-3
    )  # two steps are not within 1 % on this model: explain added some


@pytest.mark.parametrize("tolerance", [0, -0.01])
def test_integrated_gradients_refuses_a_tolerance_of_zero_or_less(tolerance):
    model = tm.linear_classifier(seed=17)
    with pytest.raises(
        ValueError, match=r"^tolerance must be a gap above 0 \(0.01 is 1 %\), got"
    ):
        attribution.integrated_gradients(
            model, images_for(model, n=1), 0, tolerance=tolerance
        )


def test_completeness_by_steps_is_what_each_number_of_steps_gives_alone():
    # One path of the largest number of steps serves every number that divides it.
    model = tm.functional_convnet(seed=16)
    images = images_for(model, n=2)
    baseline = np.full_like(images[:1], 30.0)
    by_steps = attribution.completeness_by_steps(
        model, images, None, [2, 8, 4], baseline
    )
    assert list(by_steps) == [2, 4, 8]
    for steps, gaps in by_steps.items():
        alone = attribution.integrated_gradients(
            model, images, None, baseline, steps=steps
        )
        np.testing.assert_allclose(
            gaps,
            attribution.completeness_gap(model, images, alone, None, baseline),
            rtol=1e-3,
            atol=1e-6,
        )
    assert (
        by_steps[8].mean() < by_steps[2].mean()
    )  # the ReLUs' kinks: finer steps, smaller gap


def test_completeness_by_steps_of_a_linear_model_is_zero_at_any_steps():
    model = tm.linear_classifier(seed=17)
    for gaps in attribution.completeness_by_steps(
        model, images_for(model, n=2), 1, [1, 3]
    ).values():
        assert gaps.shape == (2,) and np.all(gaps < 1e-4), gaps


def test_completeness_by_steps_reads_the_right_riemann_sum_from_the_same_path():
    # y = relu(x1 + x2 - 5) from black to (4, 3.5): g(t) = 7.5 past the kink at
    # t = 2 / 3, 0 before; y(x) - y(black) = 2.5. Right sum: sum_s g(s / m) / m.
    inputs = keras.Input(shape=(1, 2, 1))
    hidden = keras.layers.Dense(1, activation="relu", name="hidden")(
        keras.layers.Flatten()(inputs)
    )
    kinked = keras.Model(inputs, keras.layers.Dense(1, name="predictions")(hidden))
    kinked.get_layer("hidden").set_weights([np.ones((2, 1)), np.array([-5.0])])
    kinked.get_layer("predictions").set_weights([np.ones((1, 1)), np.zeros(1)])
    x = np.array([[[[4.0], [3.5]]]], np.float32)

    for m, right in ((4, 2 * 7.5 / 4), (8, 3 * 7.5 / 8)):  # g on at s / m > 2 / 3
        gaps = attribution.completeness_by_steps(kinked, x, 0, [m], rule="right")[m]
        np.testing.assert_allclose(gaps, abs(right - 2.5) / 2.5, rtol=1e-5)
    with pytest.raises(ValueError, match="rule must be 'trapezoid' or 'right'"):
        attribution.completeness_by_steps(kinked, x, 0, [3], rule="left")


@pytest.mark.parametrize(
    "steps, message",
    [
        ([32, 48], "every number of steps must divide the largest, 48; [32]"),
        ([0, 4], "steps must be numbers of at least 1"),
        ([], "at least 1"),
    ],
)
def test_completeness_by_steps_refuses_steps_that_share_no_path(steps, message):
    model = tm.linear_classifier(seed=17)
    with pytest.raises(ValueError, match=re.escape(message)):
        attribution.completeness_by_steps(model, images_for(model, n=1), 0, steps)


def test_smoothgrad_is_deterministic_by_seed():
    model = tm.functional_convnet(seed=15)
    images = images_for(model, n=2)
    first = attribution.smoothgrad(model, images, samples=4, seed=1)
    np.testing.assert_array_equal(
        first, attribution.smoothgrad(model, images, samples=4, seed=1)
    )
    assert not np.allclose(
        first, attribution.smoothgrad(model, images, samples=4, seed=2)
    )


def test_guided_backprop_gates_by_forward_and_backward_sign():
    model = tm.relu_mlp(seed=16)
    images = images_for(model, n=3) / 255 - 0.5
    w1, b1 = (w.astype(np.float64) for w in model.get_layer("hidden").get_weights())
    w2 = model.get_layer("predictions").get_weights()[0].astype(np.float64)
    classes = np.array([0, 1, 2])
    guided = attribution.guided_backprop(model, images, classes)
    plain = attribution.saliency(model, images, classes)
    for n, c in enumerate(classes):
        active = (images[n].reshape(-1) @ w1 + b1) > 0
        np.testing.assert_allclose(
            guided[n].reshape(-1),
            w1 @ (w2[:, c] * active * (w2[:, c] > 0)),
            rtol=1e-4,
            atol=1e-7,
        )
        np.testing.assert_allclose(
            plain[n].reshape(-1), w1 @ (w2[:, c] * active), rtol=1e-4, atol=1e-7
        )
    assert (
        model.get_layer("hidden").activation is keras.activations.relu
    )  # the model itself is untouched


def test_occlusion_of_a_linear_model_in_closed_form():
    model = tm.linear_classifier(seed=17, image_size=6)
    images = images_for(model, n=2)
    kernel, _ = linear_parts(model)
    raw = attribution.occlusion(model, images, [1, 2], patch=3, stride=2)
    positions = attribution.occlusion_positions(6, 3, 2)
    assert positions == [0, 2, 3]  # every 2 pixels, the last flush with the edge
    for n, c in enumerate((1, 2)):
        contribution = ((images[n] - 127.5) / 255 * kernel[..., c]).sum(
            axis=-1
        )  # the drop, pixel by pixel
        total, count = np.zeros((6, 6)), np.zeros((6, 6))
        for row in positions:
            for col in positions:
                total[row : row + 3, col : col + 3] += contribution[
                    row : row + 3, col : col + 3
                ].sum()
                count[row : row + 3, col : col + 3] += 1
        np.testing.assert_allclose(raw[n], total / count, rtol=1e-4, atol=1e-6)


def test_normalize_maps_never_divides_by_zero():
    maps = np.stack(
        [np.zeros((3, 3)), np.full((3, 3), 2.0), np.arange(9.0).reshape(3, 3)]
    )
    normalized = normalize_maps(maps)
    np.testing.assert_array_equal(normalized[0], 0)
    np.testing.assert_array_equal(normalized[1], 1)
    np.testing.assert_allclose(normalized[2], np.arange(9.0).reshape(3, 3) / 8)


def test_many_passes_run_traced_and_keep_the_closed_forms():
    # From TRACE_FROM passes on, the forward and the gradient steps are traced once and
    # run
    # BATCH_SIZE images at a time, the last batch smaller: the closed forms must still
    # hold.
    model = tm.linear_classifier(seed=21)
    n = scoring.TRACE_FROM + 3
    assert n % scoring.BATCH_SIZE, "a partial last batch takes part"
    images = images_for(model, n=n)
    kernel, _ = linear_parts(model)
    classes = np.arange(n) % 3
    np.testing.assert_allclose(
        attribution.saliency(model, images, classes),
        np.stack([kernel[..., c] / 255 for c in classes]),
        rtol=1e-4,
        atol=1e-9,
    )
    forward = scoring.compiled(scoring.score_model(model, score="logit"), n)
    assert hasattr(forward, "get_concrete_function"), "a tf.function at this size"
    np.testing.assert_allclose(
        scoring.class_scores(forward, images, classes),
        linear_logits(model, images)[np.arange(n), classes],
        rtol=1e-4,
        atol=1e-5,
    )
    attributions = attribution.integrated_gradients(
        model, images[:2], 1, steps=2 * scoring.TRACE_FROM
    )
    np.testing.assert_allclose(
        attributions, images[:2] * kernel[..., 1] / 255, rtol=1e-4, atol=1e-7
    )


# ------------------------------------------------------ what is derived once per model


def test_a_model_whose_weights_change_is_explained_with_its_new_weights():
    # The score models, the guided copy and the traced steps are kept per model
    # (scoring.derived); the logit head and the guided copy hold weights of their own,
    # so after the model's weights change (as in the cascading randomization) every
    # method must answer what it answers for a new model with those weights.
    model = tm.functional_convnet(seed=30)
    images = images_for(model, n=scoring.TRACE_FROM)  # traced steps take part too
    options = {"smoothgrad": {"samples": 2}, "integrated_gradients": {"steps": 2}}
    for name in methods.METHODS:
        attribution.explain(model, images, name, score="logit", **options.get(name, {}))
    tm.set_random_weights(
        model, seed=31
    )  # every layer, the last one (the logit head's source) included
    fresh = tm.set_random_weights(tm.functional_convnet(seed=0), seed=31)
    np.testing.assert_array_equal(np.asarray(model(images)), np.asarray(fresh(images)))
    for name in methods.METHODS:
        classes = scoring.top_classes(fresh, images)
        again, _ = attribution.explain(
            model, images, name, classes, score="logit", **options.get(name, {})
        )
        expected, _ = attribution.explain(
            fresh, images, name, classes, score="logit", **options.get(name, {})
        )
        np.testing.assert_allclose(again, expected, rtol=1e-5, atol=1e-6, err_msg=name)


def test_what_is_derived_from_a_model_is_built_once_and_only_for_that_model():
    model, twin = (
        tm.functional_convnet(seed=32),
        tm.functional_convnet(seed=33),
    )  # same names, other weights
    assert scoring.cached_score_model(
        model, score="logit"
    ) is scoring.cached_score_model(model, score="logit")
    assert scoring.cached_score_model(
        model, score="logit"
    ) is not scoring.cached_score_model(model, score="output")
    assert scoring.cached_score_model(
        twin, score="logit"
    ) is not scoring.cached_score_model(model, score="logit")
    assert attribution.cached_guided_model(model) is attribution.cached_guided_model(
        model
    )
    scorer = scoring.cached_score_model(model, score="logit")
    forward = scoring.compiled(scorer, scoring.TRACE_FROM)
    assert forward is scoring.compiled(scorer, scoring.TRACE_FROM)
    images = images_for(model, n=scoring.TRACE_FROM + 1)
    for _ in range(2):
        scoring.class_scores(forward, images, np.zeros(len(images), np.int32))
    assert forward.experimental_get_tracing_count() == 1, (
        "one trace serves every batch and every call"
    )
    np.testing.assert_allclose(
        attribution.explain(twin, images, "saliency")[0],
        attribution.explain(
            tm.set_random_weights(tm.functional_convnet(), 33), images, "saliency"
        )[0],
        rtol=1e-5,
        atol=1e-6,
    )


def test_the_kept_models_are_bounded():
    for seed in range(scoring.DERIVED_CACHE_SIZE + 3):
        scoring.cached_score_model(tm.linear_classifier(seed=seed), score="logit")
    assert len(scoring._derived) <= scoring.DERIVED_CACHE_SIZE


def test_explain_image_gives_one_method_s_map_or_every_method_s():
    model = tm.functional_convnet(seed=3)
    image = np.random.default_rng(1).uniform(0, 255, (1, 12, 12, 3)).astype("float32")
    probabilities = np.asarray(model(image))[0]
    one = attribution.explain_image(model, image, "saliency", 2)
    assert list(one.maps) == ["saliency"] and one.class_index == 2
    assert one.probability == pytest.approx(float(probabilities[2]), rel=1e-6)
    np.testing.assert_allclose(
        one.maps["saliency"], attribution.explain(model, image, "saliency", 2)[0]
    )
    every = attribution.explain_image(model, image, "all")
    assert list(every.maps) == list(methods.METHODS)
    assert every.class_index == int(np.argmax(probabilities))
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        attribution.explain_image(model, image, "nope")
