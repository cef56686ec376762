"""Plotting returns figures and never shows or saves them."""

import numpy as np
from matplotlib.figure import Figure

from convviz_ref import data, plotting


def test_colorize_mask_maps_each_trimap_class_to_its_colour():
    mask = np.array([[0, 1], [2, 1]])
    picture = plotting.colorize_mask(mask)
    assert picture.shape == (2, 2, 3) and picture.dtype == np.uint8
    np.testing.assert_array_equal(picture[1, 0], plotting.TRIMAP_COLORS[2])


def test_plot_samples_with_masks_puts_each_trimap_under_its_image():
    shapes = data.load_shapes("val", n=5, image_size=32)
    fig = plotting.plot_samples(
        shapes.images, shapes.labels, shapes.class_names, masks=shapes.masks, num_cols=3
    )
    assert isinstance(fig, Figure)
    images_shown = [ax for ax in fig.axes if ax.images]
    assert len(images_shown) == 10  # 5 images + 5 masks
    assert [ax.get_title() for ax in fig.axes[:3]] == ["disc", "square", "triangle"]
    np.testing.assert_array_equal(
        fig.axes[3].images[0].get_array(), plotting.colorize_mask(shapes.masks[0])
    )


def test_plot_samples_names_both_objects_of_a_pair():
    pairs = data.load_shapes("val", n=2, image_size=32, num_objects=2)
    fig = plotting.plot_samples(pairs.images, pairs.labels, pairs.class_names)
    assert fig.axes[0].get_title() == "disc + square"


def test_plot_segmentation_shows_image_truth_and_prediction():
    shapes = data.load_shapes("val", n=3, image_size=32)
    fig = plotting.plot_segmentation(
        shapes.images, shapes.masks, shapes.masks[::-1], num_images=2
    )
    assert len([ax for ax in fig.axes if ax.images]) == 6
    assert [ax.get_title() for ax in fig.axes[:3]] == [
        "image",
        "true trimap",
        "predicted",
    ]


def test_plot_history_draws_training_and_validation_curves():
    fig = plotting.plot_history({"accuracy": [0.5, 0.8], "val_accuracy": [0.4, 0.7]})
    assert len(fig.axes[0].lines) == 2


def test_plot_segmentation_without_ground_truth_shows_image_and_prediction():
    shapes = data.load_shapes("val", n=1, image_size=32)
    fig = plotting.plot_segmentation(shapes.images, None, shapes.masks)
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["image", "predicted"]


def legend_labels(fig):
    return [text.get_text() for legend in fig.legends for text in legend.get_texts()]


def test_trimap_figures_carry_a_legend_of_the_three_colours():
    shapes = data.load_shapes("val", n=2, image_size=32)
    segmentation = plotting.plot_segmentation(shapes.images, shapes.masks, shapes.masks)
    samples = plotting.plot_samples(
        shapes.images, shapes.labels, shapes.class_names, masks=shapes.masks
    )
    for fig in (segmentation, samples):
        assert legend_labels(fig) == ["object", "background", "contour"]
        colours = [patch.get_facecolor()[:3] for patch in fig.legends[0].get_patches()]
        np.testing.assert_allclose(colours, plotting.TRIMAP_COLORS / 255)
    # No trimap shown, no legend.
    assert (
        legend_labels(
            plotting.plot_samples(shapes.images, shapes.labels, shapes.class_names)
        )
        == []
    )


def test_filter_grid_figure_keeps_the_grid_aspect_ratio():
    wide = np.zeros((200, 400, 3), np.uint8)  # 4 rows of 8
    width, height = plotting.plot_filter_grid(wide, "4 rows").get_size_inches()
    assert width == 4.0 and abs((height - 0.4) - width / 2) < 1e-9
    small = np.zeros((50, 100, 3), np.uint8)
    width, height = plotting.plot_filter_grid(small, "small").get_size_inches()
    assert width == 3.0 and abs((height - 0.4) - 1.5) < 1e-9


def test_plot_deletion_insertion_labels_each_curve_with_its_area():
    deletion = {"a": [1.0, 0.5, 0.0], "b": [1.0, 1.0, 1.0]}
    insertion = {"a": [0.0, 0.0, 1.0], "b": [0.0, 1.0, 1.0]}
    fig = plotting.plot_deletion_insertion(deletion, insertion, {"a": "Method A"})
    left, right = fig.axes
    assert [text.get_text() for text in left.get_legend().get_texts()] == [
        "Method A (0.50)",
        "b (1.00)",
    ]
    assert [text.get_text() for text in right.get_legend().get_texts()] == [
        "Method A (0.25)",
        "b (0.75)",
    ]
    np.testing.assert_allclose(left.lines[0].get_xdata(), [0.0, 0.5, 1.0])
