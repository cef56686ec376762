"""The shortcut ("Clever Hans") data and where the maps point.

The same scenes with a marker, and its masks.
"""

import numpy as np
import pytest

from convviz_ref import data, shortcut


@pytest.fixture(scope="module")
def versions():
    return {
        version: data.load_shapes("test", n=200, image_size=64, markers=version)
        for version in data.MARKER_VERSIONS
    }


def test_the_versions_share_their_scenes_and_differ_only_in_the_marker(versions):
    plain = data.load_shapes("test", n=200, image_size=64)
    np.testing.assert_array_equal(versions["none"].images, plain.images)
    for version in ("marked", "swapped"):
        np.testing.assert_array_equal(versions[version].labels, plain.labels)
        np.testing.assert_array_equal(versions[version].masks, plain.masks)
        changed = (versions[version].images != plain.images).any(axis=-1)
        assert not (
            changed & (versions[version].marker_masks == 0)
        ).any()  # nothing but the marker changed
    np.testing.assert_array_equal(
        versions["marked"].marker_masks, versions["swapped"].marker_masks
    )
    assert (
        not versions["none"].marker_masks.any()
        and (versions["none"].marker_labels == -1).all()
    )


def test_the_marker_shows_its_class_or_another_and_is_painted_in_its_colour(versions):
    marked, swapped = versions["marked"], versions["swapped"]
    carries = marked.marker_labels >= 0
    assert 0.8 < carries.mean() < 0.97  # MARKER_RATE = 0.9 of the images
    np.testing.assert_array_equal(marked.marker_labels[carries], marked.labels[carries])
    assert (swapped.marker_labels[carries] != swapped.labels[carries]).all()
    assert (swapped.marker_labels[carries] >= 0).all() and (
        swapped.marker_labels[~carries] == -1
    ).all()
    for n in np.flatnonzero(carries)[:20]:
        pixels = marked.images[n][marked.marker_masks[n] == 1]
        assert (
            len(pixels) == round(data.MARKER_SIDE * 64) ** 2
        )  # never cut by the border
        np.testing.assert_array_equal(
            pixels, np.broadcast_to(data.MARKER_COLORS[marked.labels[n]], pixels.shape)
        )


def test_the_marker_stays_off_the_object(versions):
    marked = versions["marked"]
    assert not ((marked.marker_masks == 1) & (marked.masks != data.BACKGROUND)).any()


def test_the_marked_data_is_deterministic_and_the_cache_changes_nothing(monkeypatch):
    cached = data.load_shapes("train", n=12, image_size=48, markers="swapped")
    monkeypatch.setenv("CONVVIZ_CACHE_DIR", "off")
    drawn = data.load_shapes("train", n=12, image_size=48, markers="swapped")
    for a, b in zip(cached, drawn):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(
        drawn.images,
        data.load_shapes(
            "train", n=12, image_size=48, markers="swapped", seed=1
        ).images,
    )


def test_bad_marker_arguments_are_one_line_errors():
    with pytest.raises(
        ValueError,
        match=r"markers must be None or one of "
        r"\('marked', 'none', 'swapped'\), got 'tag'",
    ):
        data.load_shapes("test", n=2, markers="tag")
    with pytest.raises(ValueError, match="markers are drawn on one-object images only"):
        data.load_shapes("test", n=2, num_objects=2, markers="marked")


def test_marker_pointing_on_hand_made_maps():
    masks = np.full((3, 8, 8), data.BACKGROUND)
    masks[:, :4, :4] = data.OBJECT_INSIDE
    marker_masks = np.zeros((3, 8, 8), int)
    marker_masks[:2, 6:, 6:] = (
        1  # images 0 and 1 carry a marker in the corner; image 2 has none
    )
    maps = np.zeros((3, 8, 8))
    maps[0, 7, 7] = 1.0  # on the marker
    maps[1, 1, 1] = 1.0  # on the object
    maps[2, 7, 7] = 1.0  # no marker here: left out
    where = shortcut.marker_pointing(maps, marker_masks, masks)
    assert where["marker"] == 0.5 and where["object"] == 0.5
    assert (
        0.4 < where["marker_energy"] < 0.6
    )  # one map's mass all on the marker, the other's none
    assert (
        shortcut.marker_pointing(np.zeros((3, 8, 8)), marker_masks, masks)[
            "marker_energy"
        ]
        == 0.0
    )  # no NaN


def test_marker_hits_are_per_image_and_average_to_marker_pointing():
    masks = np.full((3, 8, 8), data.BACKGROUND)
    masks[:, :4, :4] = data.OBJECT_INSIDE
    marker_masks = np.zeros((3, 8, 8), int)
    marker_masks[:2, 6:, 6:] = 1  # image 2 has no marker: left out
    maps = np.zeros((3, 8, 8))
    maps[0, 7, 7] = 1.0  # on the marker
    maps[1, 1, 1] = 1.0  # on the object
    hits = shortcut.marker_hits(maps, marker_masks, masks)
    np.testing.assert_array_equal(hits["marker"], [1.0, 0.0])
    np.testing.assert_array_equal(hits["object"], [0.0, 1.0])
    assert hits["marker_energy"].shape == (2,)
    assert shortcut.marker_pointing(maps, marker_masks, masks) == {
        name: float(values.mean()) for name, values in hits.items()
    }


def test_the_marker_test_set_keeps_a_share_of_the_markers():
    evidence = shortcut.marker_test_set(20, image_size=32, seed=3)
    carries = evidence.marker_masks.reshape(20, -1).any(axis=1)
    assert carries.sum() == 10
    plain = ~carries
    np.testing.assert_array_equal(evidence.images[plain], evidence.swapped[plain])
    changed = (evidence.images != evidence.swapped).any(axis=-1)
    assert not (changed & (evidence.marker_masks == 0)).any()
    assert changed[carries].any(axis=(1, 2)).all()
    again = shortcut.marker_test_set(20, image_size=32, seed=3)
    for a, b in zip(evidence, again):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="no image carries a marker"):
        shortcut.swap_accuracy_drop(
            None, *evidence[:3], np.zeros_like(evidence.marker_masks)
        )


def test_the_reference_decision_convicts_the_shortcut_model_and_clears_the_clean():
    from convviz_ref.models import load_pretrained
    from convviz_ref.scoring import score_model

    evidence = shortcut.marker_test_set(24)
    measured = {}
    for name in ("shortcut", "xception_like"):
        model = score_model(load_pretrained(name).model, score="logit")
        measured[name] = (
            shortcut.relies_on_marker(model, *evidence),
            shortcut.swap_accuracy_drop(model, *evidence[:3], evidence.marker_masks),
            shortcut.marker_saliency_ratio(
                model, evidence.images, evidence.marker_masks
            ),
        )
    assert measured["shortcut"][0] and not measured["xception_like"][0], measured
    assert measured["shortcut"][1] > 0.5 > 0.1 > measured["xception_like"][1]
    assert measured["shortcut"][2] > 4 > 2.5 > measured["xception_like"][2]
