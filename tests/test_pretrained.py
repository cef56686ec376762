"""The models that ship inside the package load offline and are actually trained."""

import pytest

from convviz_ref import data, models, pretrained, segmentation


@pytest.fixture(scope="module")
def test_images():
    return data.load_shapes("test", n=120)


def test_every_shipped_model_has_a_builder_and_classifiers_a_last_conv_layer():
    # The shipped files can be retrained (convviz-train), and explained by Grad-CAM.
    assert set(models.BUILDERS) == set(pretrained.MODEL_NAMES)
    assert set(models.LAST_CONV_LAYERS) == set(pretrained.MODEL_NAMES) - {"segmenter"}
    assert set(pretrained.CLASSIFIERS) <= set(models.LAST_CONV_LAYERS)


@pytest.mark.parametrize("name", pretrained.MODEL_NAMES)
def test_every_shipped_model_loads_with_its_class_names(name):
    model, class_names = models.load_pretrained(name)
    assert model.name == name
    assert model.input_shape == (None, 96, 96, 3)
    expected = data.TRIMAP_NAMES if name == "segmenter" else data.CLASS_NAMES
    assert class_names == expected


def test_shipped_files_fit_the_size_budget():
    total = sum(path.stat().st_size for path in models.PRETRAINED_DIR.glob("*.keras"))
    assert {path.stem for path in models.PRETRAINED_DIR.glob("*.keras")} == set(
        pretrained.MODEL_NAMES
    )
    assert total <= 10 * 1024 * 1024


@pytest.mark.parametrize("name", sorted(models.LAST_CONV_LAYERS))
def test_classifiers_are_trained_not_random(name, test_images):
    # A guard against shipping an untrained file; the real figures come from
    # `convviz evaluate` on the whole test split.
    model, _ = models.load_pretrained(name)
    # The shortcut model is judged on the data it was trained for: markers as in
    # training.
    images = (
        test_images
        if name != "shortcut"
        else data.load_shapes("test", n=120, markers="marked")
    )
    predictions = model.predict(images.images, verbose=0).argmax(axis=-1)
    assert (predictions == images.labels).mean() > 0.8
    assert model.get_layer(models.LAST_CONV_LAYERS[name]).output.shape[1:3] != (
        None,
        None,
    )


def test_segmenter_is_trained_not_random(test_images):
    model, class_names = models.load_pretrained("segmenter")
    predicted = segmentation.predict_masks(model, test_images.images)
    assert (
        segmentation.mean_iou(
            test_images.masks, predicted, num_classes=len(class_names)
        )
        > 0.6
    )


def test_unknown_model_lists_the_choices():
    with pytest.raises(ValueError, match="unknown model 'resnet50'; choose one of"):
        models.load_pretrained("resnet50")


def test_missing_file_says_how_to_rebuild_it(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "PRETRAINED_DIR", tmp_path)
    with pytest.raises(
        FileNotFoundError, match="python -m convviz_ref.train segmenter"
    ):
        models.load_pretrained("segmenter")
