"""The visualization subcommands: activations, filters, gradcam, explain, segment."""

from __future__ import annotations

import re
import warnings

import keras
import numpy as np
import pytest
from PIL import Image

from convviz_ref import activations, cli, data, filters, inputs, models


def _png(path):
    """The PNG at ``path`` as an array, checked to be a real, non-blank picture."""
    assert path.exists(), f"{path} was not written"
    with Image.open(path) as image:
        assert image.format == "PNG"
        pixels = np.asarray(image.convert("RGB"))
    assert pixels.std() > 5, f"{path} is (nearly) one flat colour"
    return pixels


def _written(out):
    """The files named in ``wrote PATH`` lines of the standard output."""
    return [
        line.removeprefix("wrote ")
        for line in out.splitlines()
        if line.startswith("wrote ")
    ]


def _figure_size(grid, pixels_per_inch=48, dpi=100):
    """``(width, height)`` in pixels of ``plot_channel_grid(grid)`` saved at ``dpi``."""
    height, width = grid
    return max(2.0, width / pixels_per_inch) * dpi, (
        max(1.0, height / pixels_per_inch) + 0.4
    ) * dpi


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Tiny models saved as ``.keras`` files (and a file that is not one), by name."""
    folder = tmp_path_factory.mktemp("models")
    keras.utils.set_random_seed(0)

    def classifier(num_classes, name):
        inputs = keras.Input((32, 32, 3))
        x = keras.layers.Rescaling(1 / 255)(inputs)
        x = keras.layers.Conv2D(4, 3, activation="relu", name="tiny_conv1")(x)
        x = keras.layers.MaxPooling2D(2, name="tiny_pool")(x)
        x = keras.layers.Conv2D(6, 3, activation="relu", name="tiny_conv2")(x)
        x = keras.layers.GlobalAveragePooling2D(name="tiny_gap")(x)
        return keras.Model(
            inputs, keras.layers.Dense(num_classes, activation="softmax")(x), name=name
        )

    def segmenter(shape, name):
        inputs = keras.Input(shape)
        x = keras.layers.Rescaling(1 / 255)(inputs)
        x = keras.layers.Conv2D(
            4, 3, padding="same", activation="relu", name="seg_conv"
        )(x)
        return keras.Model(
            inputs,
            keras.layers.Conv2D(3, 1, activation="softmax", name="seg_mask")(x),
            name=name,
        )

    dense_inputs = keras.Input((32, 32, 3))
    flat = keras.layers.Flatten()(dense_inputs)
    dense_only = keras.Model(
        dense_inputs, keras.layers.Dense(4, activation="softmax")(flat), name="dense"
    )
    built = {
        "tiny": classifier(3, "tiny"),
        "xception_like": classifier(
            4, "impostor"
        ),  # named like a shipped model: gets its class names
        "dense_only": dense_only,
        "free_segmenter": segmenter((None, None, 3), "free_segmenter"),
        "oblong_segmenter": segmenter((24, 40, 3), "oblong_segmenter"),
    }
    paths = {}
    for name, model in built.items():
        paths[name] = folder / f"{name}.keras"
        with warnings.catch_warnings():  # Keras 3's model.save under NumPy 2, not ours
            warnings.filterwarnings(
                "ignore", "__array__ implementation", DeprecationWarning
            )
            model.save(paths[name])
    paths["not_a_model"] = folder / "not_a_model.keras"
    paths["not_a_model"].write_bytes(b"these bytes are no zip archive")
    return paths


@pytest.fixture(scope="module")
def bad_images(tmp_path_factory):
    """A file of random bytes named .png, and a real PNG cut to a third of its bytes."""
    folder = tmp_path_factory.mktemp("images")
    garbage = folder / "garbage.png"
    garbage.write_bytes(
        np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8).tobytes()
    )
    whole = folder / "whole.png"
    keras.utils.save_img(whole, data.load_shapes("test", n=1).images[0], scale=False)
    truncated = folder / "truncated.png"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])
    return {"garbage": garbage, "truncated": truncated}


# --------------------------------------------------------------------------
# Help and defaults
# --------------------------------------------------------------------------


def test_the_sample_images_in_the_help_are_the_library_s():
    for name in data.SAMPLE_IMAGES:
        assert name in cli._IMAGE_HELP


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            "activations",
            [
                "default: xception_like",
                "default: chelsea",
                "default: every conv and pooling layer",
            ],
        ),
        (
            "filters",
            [
                "default: xception_like",
                "block2_sepconv1",
                "default: 64",
                "default: 30",
                "default: out",
            ],
        ),
        (
            "gradcam",
            [
                "default: xception_like",
                "default: shapes:test:0",
                "last_conv_act",
                "default: output",
            ],
        ),
        ("segment", ["default: segmenter", "default: shapes:test:0"]),
    ],
)
def test_each_subcommand_s_help_states_its_defaults(command, expected, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([command, "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # undo argparse's line wrapping
    for phrase in expected:
        assert phrase in text


def test_the_default_filter_layer_is_the_first_conv_at_the_middle_resolution():
    expected = {
        "xception_like": "block2_sepconv1",
        "small_convnet": "conv3",
        "segmenter": "down2_conv1",
    }
    for name, layer in expected.items():
        assert filters.middle_layer(models.load_pretrained(name).model) == layer


def test_a_shapes_image_is_that_image_of_the_split_with_its_trimap_and_label():
    picture = inputs.load_image("shapes:test:17", (96, 96))
    expected = data.load_shapes("test", n=18)
    np.testing.assert_array_equal(picture.batch, expected.images[17:18])
    np.testing.assert_array_equal(picture.mask, expected.masks[17])
    assert picture.label == expected.labels[17] == 17 % 4


def test_a_photograph_is_resized_to_the_model_input():
    picture = inputs.load_image("chelsea", (40, 56))
    assert picture.batch.shape == (1, 40, 56, 3) and picture.batch.dtype == np.float32
    assert picture.mask is None and picture.label is None


@pytest.mark.parametrize(
    "argv",
    [
        ["filters", "--filters", "0"],
        ["filters", "--filters", "2", "--filter-index", "1"],
        ["filters", "--iterations", "0"],
        ["gradcam", "--score", "probability"],
    ],
)
def test_bad_option_values_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert f"convviz {argv[0]}: error:" in capsys.readouterr().err


# --------------------------------------------------------------------------
# End to end on the shipped models
# --------------------------------------------------------------------------


def test_activations_of_chosen_layers_write_one_titled_grid_each(tmp_path, capsys):
    code = cli.main(
        [
            "activations",
            "--model",
            "small_convnet",
            "--layer",
            "conv1",
            "--layer",
            "pool1",
            "--out",
            str(tmp_path / "made" / "here"),
        ]
    )
    assert code == 0
    out = tmp_path / "made" / "here"
    assert _written(capsys.readouterr().out) == [
        str(out / "activations_conv1.png"),
        str(out / "activations_pool1.png"),
    ]
    # conv1 gives 94x94x32 (two rows of 16 tiles), pool1 47x47x32.
    for name, grid in {
        "conv1": (2 * 95 - 1, 16 * 95 - 1),
        "pool1": (2 * 48 - 1, 16 * 48 - 1),
    }.items():
        pixels = _png(out / f"activations_{name}.png")
        width, height = _figure_size(grid)
        assert abs(pixels.shape[1] - width) <= 1 and abs(pixels.shape[0] - height) <= 1


def test_activations_of_every_conv_and_pooling_layer_with_a_progress_bar(
    tmp_path, capsys
):
    assert (
        cli.main(
            [
                "activations",
                "--model",
                "small_convnet",
                "--image",
                "shapes:val:3",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    model = models.load_pretrained("small_convnet").model
    layers = [layer.name for layer in activations.conv_and_pool_layers(model)]
    assert len(layers) == 9
    assert _written(captured.out) == [
        str(tmp_path / f"activations_{name}.png") for name in layers
    ]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        f"activations_{name}.png" for name in layers
    )
    for name in layers:
        _png(tmp_path / f"activations_{name}.png")
    assert "layers: 100%" in captured.err and "9/9" in captured.err


def test_filters_of_the_default_layer_stitch_the_patterns_eight_to_a_row(
    tmp_path, capsys
):
    assert (
        cli.main(
            ["filters", "--filters", "4", "--iterations", "2", "--out", str(tmp_path)]
        )
        == 0
    )
    grid, titled = (
        tmp_path / "filters_block2_sepconv1.png",
        tmp_path / "filters_block2_sepconv1_titled.png",
    )
    assert _written(capsys.readouterr().out) == [str(grid), str(titled)]
    # Four 96-pixel patterns, 25 pixels cropped from each side, 5-pixel margins, one
    # row.
    assert _png(grid).shape == (46, 4 * 46 + 3 * 5, 3)
    assert _png(titled).shape[1] >= 300  # plot_filter_grid is at least 3 inches wide


def test_filters_default_to_every_filter_of_a_layer_with_fewer_than_64(
    tmp_path, capsys
):
    assert (
        cli.main(
            [
                "filters",
                "--model",
                "small_convnet",
                "--layer",
                "conv1",
                "--iterations",
                "1",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    assert _png(tmp_path / "filters_conv1.png").shape == (
        4 * 46 + 3 * 5,
        8 * 46 + 7 * 5,
        3,
    )  # 32 = 4 rows of 8
    assert (
        "filters: 100%" in captured.err and "2/2" in captured.err
    )  # the library's bar, 16 filters a batch


def test_one_filter_alone_gets_its_own_file(tmp_path, capsys):
    assert (
        cli.main(
            [
                "filters",
                "--model",
                "small_convnet",
                "--layer",
                "conv2",
                "--filter-index",
                "5",
                "--iterations",
                "2",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert _written(capsys.readouterr().out) == [
        str(tmp_path / "filters_conv2_5.png"),
        str(tmp_path / "filters_conv2_5_titled.png"),
    ]
    assert _png(tmp_path / "filters_conv2_5.png").shape == (46, 46, 3)


def test_gradcam_prints_the_prediction_and_writes_the_three_panels(tmp_path, capsys):
    assert cli.main(["gradcam", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    match = re.search(
        r"^predicted: (\w+) \(class (\d)\), probability (\d\.\d{3})$", out, re.MULTILINE
    )
    assert match, out
    class_names = models.load_pretrained("xception_like").class_names
    assert class_names[int(match[2])] == match[1] and 0.25 <= float(match[3]) <= 1
    assert "true class: disc (class 0)" in out  # shapes:test:0, the default image
    assert _written(out) == [str(tmp_path / f"gradcam_{match[1]}.png")]
    assert _png(tmp_path / f"gradcam_{match[1]}.png").shape == (
        280,
        750,
        3,
    )  # plot_gradcam: 7.5 x 2.8 inches


def test_gradcam_of_a_chosen_class_and_layer_with_the_logit_score(tmp_path, capsys):
    assert (
        cli.main(
            [
                "gradcam",
                "--model",
                "small_convnet",
                "--image",
                "chelsea",
                "--layer",
                "conv4",
                "--class-index",
                "3",
                "--score",
                "logit",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "(class 3)" in out  # the predicted or the explained line
    assert "true class" not in out  # a photograph has none
    assert _png(tmp_path / "gradcam_star.png").shape == (280, 750, 3)


def test_explain_one_method_writes_the_three_panels_of_the_library_s_map(
    tmp_path, capsys, monkeypatch
):
    from convviz_ref import attribution, plotting

    shown = {}
    real = plotting.plot_gradcam

    def spy(image, heatmap, superimposed, **kwargs):
        shown["heatmap"] = heatmap
        return real(image, heatmap, superimposed, **kwargs)

    monkeypatch.setattr(plotting, "plot_gradcam", spy)
    assert (
        cli.main(
            [
                "explain",
                "--method",
                "occlusion",
                "--patch",
                "24",
                "--stride",
                "12",
                "--image",
                "shapes:test:1",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.startswith("explained: square (class 1), probability ")
    [path] = _written(out)
    assert path == str(tmp_path / "explain_occlusion_square.png")
    _png(tmp_path / "explain_occlusion_square.png")
    model, _ = models.load_pretrained("xception_like")
    expected, _ = attribution.explain(
        model,
        data.load_shapes("test", n=2).images[1:2],
        "occlusion",
        1,
        patch=24,
        stride=12,
    )
    np.testing.assert_allclose(shown["heatmap"], expected[0], atol=1e-5)


def test_explain_all_methods_side_by_side_for_a_chosen_class(tmp_path, capsys):
    assert (
        cli.main(
            [
                "explain",
                "--method",
                "all",
                "--class-index",
                "2",
                "--score",
                "output",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "explained: triangle (class 2)" in out
    assert _written(out) == [str(tmp_path / "explain_all_triangle.png")]
    with Image.open(tmp_path / "explain_all_triangle.png") as image:
        width, height = image.size
    assert width > 4 * height  # one row: the image and every method
    _png(tmp_path / "explain_all_triangle.png")


def test_segment_a_shapes_image_prints_the_iou_and_shows_the_true_trimap(
    tmp_path, capsys
):
    assert (
        cli.main(["segment", "--image", "shapes:test:2", "--out", str(tmp_path)]) == 0
    )
    out = capsys.readouterr().out
    match = re.search(
        r"^mean IoU (\d\.\d{3}); per class object \S+, background \S+, contour \S+$",
        out,
        re.MULTILINE,
    )
    assert match, out
    assert (
        0.5 < float(match[1]) <= 1
    )  # the shipped segmenter scores about 0.85 on the test split
    assert re.search(
        r"^predicted pixels: object \d+\.\d%, background \d+\.\d%, contour \d+\.\d%$",
        out,
        re.MULTILINE,
    )
    assert _png(tmp_path / "segment.png").shape == (
        200,
        600,
        3,
    )  # plot_segmentation: three 2-inch panels


def test_segment_an_image_file_shows_the_image_and_the_prediction(tmp_path, capsys):
    photo = tmp_path / "my photo.jpg"
    keras.utils.save_img(
        photo, data.load_shapes("val", n=1, image_size=120).images[0], scale=False
    )
    assert (
        cli.main(["segment", "--image", str(photo), "--out", str(tmp_path / "out")])
        == 0
    )
    out = capsys.readouterr().out
    assert "predicted pixels: object" in out and "IoU" not in out
    height, width, _ = _png(tmp_path / "out" / "segment.png").shape
    assert width == 2 * height, "two panels side by side: the image and the prediction"


# --------------------------------------------------------------------------
# End to end on models saved as .keras files
# --------------------------------------------------------------------------


def test_every_subcommand_runs_on_a_saved_keras_model(saved, tmp_path, capsys):
    tiny = str(saved["tiny"])
    assert (
        cli.main(
            [
                "activations",
                "--model",
                tiny,
                "--image",
                "chelsea",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert (
        cli.main(
            [
                "filters",
                "--model",
                tiny,
                "--filters",
                "2",
                "--iterations",
                "2",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert (
        cli.main(
            [
                "gradcam",
                "--model",
                tiny,
                "--image",
                "shapes:val:5",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    predicted = re.search(
        r"^predicted: ([012]) \(class \1\), probability", out, re.MULTILINE
    )
    assert predicted, out  # a saved model's classes are named by their indices
    assert "true class" not in out  # the shapes classes are not this model's
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [
            "activations_tiny_conv1.png",
            "activations_tiny_pool.png",
            "activations_tiny_conv2.png",
            "filters_tiny_conv1.png",
            "filters_tiny_conv1_titled.png",
            f"gradcam_{predicted[1]}.png",
        ]
    )
    assert _png(tmp_path / "filters_tiny_conv1.png").shape == (
        16,
        2 * 16 + 5,
        3,
    )  # 32-pixel patterns, 8 cropped
    assert _png(tmp_path / f"gradcam_{predicted[1]}.png").shape == (280, 750, 3)


def test_a_saved_model_named_like_a_shipped_one_gets_its_class_names(
    saved, tmp_path, capsys
):
    assert (
        cli.main(
            ["gradcam", "--model", str(saved["xception_like"]), "--out", str(tmp_path)]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert re.search(
        r"^predicted: (disc|square|triangle|star) \(class \d\)", out, re.MULTILINE
    ), out
    assert "true class: disc (class 0)" in out


def test_segment_with_a_model_of_free_input_size(saved, tmp_path, capsys):
    assert (
        cli.main(
            ["segment", "--model", str(saved["free_segmenter"]), "--out", str(tmp_path)]
        )
        == 0
    )
    assert (
        "mean IoU" in capsys.readouterr().out
    )  # shapes drawn at 96 pixels, as the true trimap
    assert _png(tmp_path / "segment.png").shape == (200, 600, 3)


def test_segment_with_a_model_of_small_oblong_input_resizes_image_and_trimap(
    saved, tmp_path, capsys
):
    assert (
        cli.main(
            [
                "segment",
                "--model",
                str(saved["oblong_segmenter"]),
                "--image",
                "shapes:test:1",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    assert "mean IoU" in capsys.readouterr().out
    _png(tmp_path / "segment.png")
    picture = inputs.load_image("shapes:test:1", (24, 40))
    assert picture.batch.shape == (1, 24, 40, 3) and picture.mask.shape == (24, 40)
    assert set(np.unique(picture.mask)) <= {0, 1, 2}


# --------------------------------------------------------------------------
# A user's mistakes: one line on stderr, exit code 2, no file written
# --------------------------------------------------------------------------

ERRORS = {
    "activations, unknown layer": (
        ["activations", "--model", "small_convnet", "--layer", "foo"],
        "no layer named 'foo' in model 'small_convnet'; conv and pooling layers: "
        "conv1, pool1, conv2, pool2, conv3, pool3, conv4, pool4, last_conv",
    ),
    "filters, unknown layer": (
        ["filters", "--model", "small_convnet", "--layer", "foo"],
        "no layer named 'foo' in model 'small_convnet'; "
        "conv and pooling layers: conv1, pool1",
    ),
    "gradcam, unknown layer": (
        ["gradcam", "--layer", "foo"],
        "no layer named 'foo' in model 'xception_like'",
    ),
    "activations, layer without spatial output": (
        ["activations", "--model", "small_convnet", "--layer", "flatten"],
        "layer 'flatten' of model 'small_convnet' has no spatial output "
        "(shape (None, 1024)); conv and pooling",
    ),
    "gradcam, layer without spatial output": (
        ["gradcam", "--layer", "predictions"],
        "layer 'predictions' of model 'xception_like' has no spatial output",
    ),
    "filter index too large": (
        "filters --model small_convnet --layer conv1 --filter-index 32".split(),
        "filter index 32 is out of range: the layer has 32 filters (0..31)",
    ),
    "negative filter index": (
        "filters --model small_convnet --layer conv1 --filter-index -1".split(),
        "filter index -1 is out of range",
    ),
    "feature map too small for the loss": (
        "filters --model small_convnet --layer last_conv --filters 2".split(),
        "the layer's feature map is 2x2: the loss leaves out a 2-pixel border, "
        "so nothing is left",
    ),
    "filter count too large": (
        ["filters", "--model", "small_convnet", "--layer", "conv1", "--filters", "33"],
        "filters=33 is out of range: layer 'conv1' has 32 filters",
    ),
    "class index too large": (
        ["gradcam", "--class-index", "4"],
        "class_index 4 is out of range",
    ),
    "negative class index": (
        ["gradcam", "--class-index", "-1"],
        "class_index -1 is out of range",
    ),
    "unknown sample image": (
        ["gradcam", "--image", "dog"],
        "unknown sample image 'dog'; choose one of",
    ),
    "missing image file": (
        ["gradcam", "--image", "{tmp}/missing.png"],
        "image file {tmp}/missing.png not found",
    ),
    "corrupt image file": (
        ["gradcam", "--image", "{garbage}"],
        "cannot read image file {garbage}: not an image format PIL knows",
    ),
    "truncated image file": (
        ["segment", "--image", "{truncated}"],
        "cannot read image file {truncated}: ",
    ),
    "folder as image": (
        ["gradcam", "--image", "{tmp}"],
        "cannot read image file {tmp}: Is a directory",
    ),
    "shapes index out of range": (
        ["gradcam", "--image", "shapes:val:500"],
        "image index 500 is out of range for the shapes split 'val' (0..499)",
    ),
    "bad shapes spec": (
        ["segment", "--image", "shapes:test"],
        "a synthetic image is shapes:SPLIT:INDEX",
    ),
    "unknown model name": (
        ["gradcam", "--model", "resnet"],
        "unknown model 'resnet'; choose one of segmenter, shape_trained, shortcut, "
        "small_convnet, xception_like",
    ),
    "missing model file": (
        ["gradcam", "--model", "{tmp}/missing.keras"],
        "model file {tmp}/missing.keras not found",
    ),
    "not a keras file": (
        ["activations", "--model", "{not_a_model}"],
        "not a .keras file",
    ),
    "activations, no conv layer": (
        ["activations", "--model", "{dense_only}"],
        "model 'dense' has no conv or pooling layer to visualize",
    ),
    "filters, no conv layer": (
        ["filters", "--model", "{dense_only}"],
        "model 'dense' has no conv layer",
    ),
    "gradcam, no conv layer": (
        ["gradcam", "--model", "{dense_only}"],
        "model 'dense' has no conv layer",
    ),
    "gradcam on a segmenter": (
        ["gradcam", "--model", "segmenter"],
        "gradcam needs a classifier",
    ),
    "segment with a classifier": (
        ["segment", "--model", "small_convnet"],
        "segment needs a segmentation model",
    ),
    "explain, unknown method": (
        ["explain", "--method", "gradcamm"],
        "unknown method 'gradcamm'; choose one of: gradcam, gradcam_plus_plus, "
        "score_cam, ",
    ),
    "explain, pixel method with a layer": (
        ["explain", "--method", "saliency", "--layer", "last_conv_act"],
        "method 'saliency' works on the input pixels and takes no layer_name",
    ),
    "explain, layer without spatial output": (
        ["explain", "--method", "gradcam", "--layer", "predictions"],
        "layer 'predictions' of model 'xception_like' has no spatial output",
    ),
    "explain, CAM method without a conv layer": (
        ["explain", "--method", "score_cam", "--model", "{dense_only}"],
        "model 'dense' has no conv layer",
    ),
    "explain, patch too large": (
        ["explain", "--method", "occlusion", "--patch", "200"],
        "patch must be between 1 and 96 pixels, got 200",
    ),
    "explain, option of another method": (
        ["explain", "--method", "gradcam", "--steps", "8"],
        "steps does not apply to method 'gradcam'",
    ),
    "explain, class index too large": (
        ["explain", "--method", "saliency", "--class-index", "4"],
        "class_index 4 is out of range: the model has 4 output(s) (0..3)",
    ),
    "explain on a segmenter": (
        ["explain", "--method", "saliency", "--model", "segmenter"],
        "explain needs a classifier",
    ),
    "faithfulness, unknown method": (
        ["faithfulness", "--methods", "gradcam,bogus"],
        "unknown method 'bogus'; choose one of: gradcam, ",
    ),
}


@pytest.mark.parametrize("case", ERRORS)
def test_a_user_s_mistake_is_one_line_and_exit_code_2(
    case, saved, bad_images, tmp_path, capsys
):
    argv, expected = ERRORS[case]
    names = {
        "tmp": tmp_path,
        **{name: str(path) for name, path in {**saved, **bad_images}.items()},
    }
    argv = [part.format(**names) for part in argv]
    out = tmp_path / "out"
    assert cli.main([*argv, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    assert captured.err.count("\n") == 1 and captured.err.startswith(
        "convviz: error: "
    ), captured.err
    assert expected.format(**names) in captured.err
    assert not out.exists()  # nothing written, not even the folder


def test_a_file_in_the_way_of_out_is_a_one_line_error(tmp_path, capsys):
    in_the_way = tmp_path / "out"
    in_the_way.write_text("a file")
    assert (
        cli.main(
            [
                "activations",
                "--model",
                "small_convnet",
                "--layer",
                "conv1",
                "--out",
                str(in_the_way),
            ]
        )
        == 2
    )
    assert (
        capsys.readouterr().err
        == f"convviz: error: --out {in_the_way} is a file, not a folder\n"
    )
