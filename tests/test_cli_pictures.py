"""``convviz filters --fourier`` and ``--examples``, and the figure they draw."""

from __future__ import annotations

import io
import re
import warnings

import keras
import numpy as np
import pytest
from PIL import Image

from convviz_ref import cli, data, feature_pictures, filters, plotting
from convviz_ref.dataset_examples import COUNT, Examples


def _examples(units, count, size, seed=0):
    """Random :class:`Examples` of float crops in 0..255, as the test images are."""
    rng = np.random.default_rng(seed)
    return Examples(
        crops=rng.uniform(0, 255, (units, count, size, size, 3)).astype(np.float32),
        values=rng.uniform(0, 3, (units, count)).astype(np.float32),
        images=rng.integers(0, 50, (units, count)),
        positions=rng.integers(0, 10, (units, count, 2)),
        boxes=rng.integers(0, 10, (units, count, 2)),
    )


def test_a_row_per_unit_its_picture_then_its_crops_magnified_unsmoothed():
    pictures = np.random.default_rng(1).integers(0, 256, (2, 6, 6, 3), dtype=np.uint8)
    examples = _examples(2, 3, 2)
    figure = plotting.plot_pictures_and_examples(
        pictures, examples, [5, 9], title="layer"
    )
    axes = np.reshape(figure.axes, (2, 4))
    for row, unit in enumerate((5, 9)):
        assert axes[row, 0].get_ylabel() == f"unit {unit}"
        [shown] = axes[row, 0].get_images()
        np.testing.assert_array_equal(shown.get_array(), pictures[row])
        for col in range(3):
            [shown] = axes[row, col + 1].get_images()
            assert shown.get_interpolation() == "nearest"
            np.testing.assert_array_equal(
                shown.get_array(), examples.crops[row, col].astype(np.uint8)
            )
            assert axes[row, col + 1].get_xlabel() == (
                f"{examples.values[row, col]:.3g}"
            )
    assert [ax.get_title() for ax in axes[0]] == ["picture", "top 1", "top 2", "top 3"]
    assert figure.get_suptitle() == "layer"
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=30)
    assert Image.open(png).size[0] > Image.open(png).size[1]  # 4 columns, 2 rows


def test_pictures_crops_and_units_must_agree():
    pictures = np.zeros((2, 6, 6, 3), np.uint8)
    with pytest.raises(ValueError, match=r"as many pictures \(2\) as rows of crops"):
        plotting.plot_pictures_and_examples(pictures, _examples(3, 2, 2), [0, 1, 2])


@pytest.mark.parametrize("count", [3, 10])
def test_unstitch_undoes_stitch(count):
    tiles = np.random.default_rng(count).integers(
        0, 256, (count, 4, 4, 3), dtype=np.uint8
    )
    grid = filters.stitch(tiles, n_cols=min(filters.GRID_COLUMNS, count))
    columns = min(filters.GRID_COLUMNS, count)
    np.testing.assert_array_equal(filters.unstitch(grid, count, columns), tiles)
    np.testing.assert_array_equal(filters.unstitch(grid, 2, columns), tiles[:2])


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A saved 32x32 classifier: conv (4 units, 30x30 map), pool, conv, softmax."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="tiny_conv1")(x)
    x = keras.layers.MaxPooling2D(2, name="tiny_pool")(x)
    x = keras.layers.GlobalAveragePooling2D(name="tiny_gap")(x)
    model = keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(x))
    path = tmp_path_factory.mktemp("models") / "tiny.keras"
    with warnings.catch_warnings():  # Keras 3's model.save under NumPy 2, not ours
        warnings.filterwarnings(
            "ignore", "__array__ implementation", DeprecationWarning
        )
        model.save(path)
    return str(path)


def test_fourier_grid_and_examples_of_the_first_units(
    tiny_model, tmp_path, capsys, monkeypatch
):
    made, shown = {}, {}
    generate, plot = (
        feature_pictures.generate_feature_pictures,
        (plotting.plot_pictures_and_examples),
    )

    def generate_spy(extractor, indices, **options):
        made["options"], made["indices"] = options, list(indices)
        made["pictures"] = generate(extractor, indices, **options)
        return made["pictures"]

    def plot_spy(pictures, examples, units, **options):
        shown.update(pictures=pictures, examples=examples, units=units)
        return plot(pictures, examples, units, **options)

    monkeypatch.setattr(feature_pictures, "generate_feature_pictures", generate_spy)
    monkeypatch.setattr(plotting, "plot_pictures_and_examples", plot_spy)
    argv = ["filters", "--model", tiny_model, "--layer", "tiny_conv1", "--fourier"]
    argv += ["--filters", "3", "--iterations", "2", "--examples", "2"]
    assert cli.main([*argv, "--example-images", "9", "--out", str(tmp_path)]) == 0
    names = [f"filters_tiny_conv1_fourier{end}.png" for end in ("", "_titled")]
    names.append("filters_tiny_conv1_fourier_examples.png")
    written = re.findall(r"^wrote (.+)$", capsys.readouterr().out, re.M)
    assert written == [str(tmp_path / name) for name in names]
    assert made["indices"] == [0, 1, 2]
    assert made["options"]["steps"] == 2 and made["options"]["image_size"] == 32
    with Image.open(tmp_path / names[0]) as image:
        grid = np.asarray(image.convert("RGB"))
    np.testing.assert_array_equal(grid, filters.stitch(made["pictures"], n_cols=3))
    assert shown["units"] == [0, 1]
    np.testing.assert_array_equal(shown["pictures"], made["pictures"][:2])
    crops = shown["examples"].crops
    assert crops.shape[:2] == (2, COUNT) and shown["examples"].images.max() < 9
    test = data.load_shapes("test", 9, image_size=32).images
    image, (row, col) = shown["examples"].images[0, 0], shown["examples"].boxes[0, 0]
    size = crops.shape[2]
    np.testing.assert_array_equal(
        crops[0, 0], test[image, row : row + size, col : col + size]
    )


def test_band_holds_the_fourier_grid_to_the_datas_periods(
    tiny_model, tmp_path, capsys, monkeypatch
):
    made = {}
    generate = feature_pictures.generate_feature_pictures

    def generate_spy(extractor, indices, **options):
        made.update(options)
        return generate(extractor, indices, **options)

    monkeypatch.setattr(feature_pictures, "generate_feature_pictures", generate_spy)
    argv = ["filters", "--model", tiny_model, "--fourier", "--band", "--filters", "2"]
    assert cli.main([*argv, "--iterations", "2", "--out", str(tmp_path)]) == 0
    # The data's band at 32 pixels, 0.06 * 32 to 2 * 0.1 * 32, from 2 pixels up.
    assert made["band"] == pytest.approx((2.0, 6.4))
    written = re.findall(r"^wrote (.+)$", capsys.readouterr().out, re.M)
    assert written == [
        str(tmp_path / f"filters_tiny_conv1_fourier_band{end}.png")
        for end in ("", "_titled")
    ]


def test_the_help_states_the_fourier_steps_and_the_examples_default(capsys):
    with pytest.raises(SystemExit):
        cli.main(["filters", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"{feature_pictures.STEPS} with --fourier" in text
    assert f"N: {cli.EXAMPLE_UNITS} if omitted" in text
    assert f"default: {cli.EXAMPLE_IMAGES}" in text


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--regularized", "--fourier"], "argument --fourier: not allowed with"),
        (["--examples", "0"], "argument --examples: must be at least 1, got 0"),
        (["--example-images", "x"], "argument --example-images: invalid int value"),
    ],
)
def test_usage_errors_are_argparse_s_one_error_line(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["filters", *argv])
    assert exit_info.value.code == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert errors == [f"convviz filters: error: {errors[0].split('error: ')[1]}"]
    assert message in errors[0]


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["--fourier", "--examples", "--example-images", "7"],
            "--example-images must be between 8 (the crops per unit) and 1000 (the "
            "test split), got 7",
        ),
        (
            ["--examples", "--example-images", "1001"],
            "--example-images must be between 8",
        ),
        (["--fourier", "--filters", "5"], "filters=5 is out of range: layer "),
        (["--fourier", "--filter-index", "4"], "filter index 4 is out of range"),
        (["--fourier", "--layer", "nope"], "nope"),
        (["--fourier", "--layer", "tiny_gap"], "has no spatial output"),
        (["--regularized", "--iterations", "5"], "--iterations is not used with"),
        (["--band"], "--band holds Fourier pictures: use it with --fourier"),
        (["--fourier", "--example-images", "9"], "--example-images needs --examples"),
    ],
)
def test_a_mistake_is_one_line_exit_2_and_writes_nothing(
    argv, message, tiny_model, tmp_path, capsys
):
    out = tmp_path / "out"
    argv = ["filters", "--model", tiny_model, *argv, "--out", str(out)]
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and not out.exists()
    assert re.fullmatch(r"convviz: error: [^\n]+\n", captured.err), captured.err
    assert message in captured.err
