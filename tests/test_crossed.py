"""Crossed shapes sets (convviz_ref.crossed): every pair, exact masks, old splits kept.

Tiny images (32 pixels) and a few dozen of them; the generator's own splits are
compared bit for bit with those of 89cc200 (the commit issue 42 read), drawn by
that commit's data.py taken from git.
"""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from convviz_ref import crossed, data, dissection

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "89cc200"


@pytest.fixture(scope="module")
def probe():
    return crossed.load_crossed("test", n=64, image_size=32)


def test_every_shape_meets_every_texture_in_each_sixteen(probe):
    summary = crossed.summarize_crossed(probe)
    np.testing.assert_array_equal(summary["pairs"], np.full((4, 4), 4))
    assert summary["conflict"] == 0.75
    first = crossed.summarize_crossed(crossed.load_crossed("test", 16, image_size=32))
    np.testing.assert_array_equal(first["pairs"], np.ones((4, 4)))


def test_conflict_images_never_have_their_own_texture():
    conflict = crossed.load_crossed("val", n=24, textures="conflict", image_size=32)
    pairs = crossed.summarize_crossed(conflict)["pairs"]
    # Every ordered pair of two different classes twice, the diagonal empty.
    np.testing.assert_array_equal(pairs, 2 * (1 - np.eye(4, dtype=int)))


def test_independent_textures_do_not_depend_on_the_label():
    indices = range(2000)
    labels = [index % 4 for index in indices]
    textures = [
        crossed.texture_label("train", index, label, "independent")
        for index, label in zip(indices, labels)
    ]
    table = np.zeros((4, 4), int)
    np.add.at(table, (labels, textures), 1)
    assert (table > 0).all()
    # Chi-squared test of independence: a texture tied to the label fails it.
    assert stats.chi2_contingency(table).pvalue > 0.01
    loaded = crossed.load_crossed("train", 40, textures="independent", image_size=32)
    np.testing.assert_array_equal(loaded.texture_labels, textures[:40])


def test_an_image_with_its_own_texture_is_the_load_shapes_image(probe):
    shapes = data.load_shapes("test", n=64, image_size=32)
    own = probe.labels == probe.texture_labels
    assert own.sum() == 16
    np.testing.assert_array_equal(probe.images[own], shapes.images[own])
    np.testing.assert_array_equal(probe.labels, shapes.labels)
    np.testing.assert_array_equal(probe.masks, shapes.masks)
    # Elsewhere only the fill changes: every pixel off the object is the same.
    changed = (probe.images != shapes.images).any(axis=-1)
    assert not (changed & ~probe.object_masks).any()
    assert changed[~own].any(axis=(1, 2)).all()


def test_ink_is_the_first_colour_of_the_fill(probe):
    for index in range(len(probe.labels)):
        image = probe.images[index].reshape(-1, 3)
        ink = probe.ink_masks[index].ravel()
        rest = probe.object_masks[index].ravel() & ~ink
        assert ink.any() and not (ink & ~probe.object_masks[index].ravel()).any()
        if crossed.TEXTURE_NAMES[probe.texture_labels[index]] == "solid":
            assert not rest.any()
            continue
        ink_colours, rest_colours = (
            np.unique(image[ink], axis=0),
            np.unique(image[rest], axis=0),
        )
        assert len(ink_colours) == 1 and len(rest_colours) == 1
        assert not np.array_equal(ink_colours, rest_colours)


def test_concepts_split_the_pixels_as_documented(probe):
    masks = crossed.concept_masks(probe)
    assert tuple(masks) == crossed.CONCEPT_NAMES
    assert all(
        mask.dtype == bool and mask.shape == (64, 32, 32) for mask in masks.values()
    )
    shapes = np.stack([masks[name] for name in data.CLASS_NAMES])
    textures = np.stack([masks[name] for name in crossed.TEXTURE_NAMES])
    regions = np.stack([masks[name] for name in crossed.REGION_NAMES])
    np.testing.assert_array_equal(shapes.sum(0), probe.object_masks)
    np.testing.assert_array_equal(textures.sum(0), probe.ink_masks)
    # Contour, background and distractor are disjoint and cover all but the inside.
    np.testing.assert_array_equal(regions.sum(0), probe.masks != data.OBJECT_INSIDE)
    assert masks["distractor"].any() and masks["contour"].any()
    # Each image holds the shape of its label and the texture of its texture label.
    present = shapes.any(axis=(2, 3)).T
    np.testing.assert_array_equal(present.argmax(1), probe.labels)
    assert (present.sum(1) == 1).all()
    present = textures.any(axis=(2, 3)).T
    np.testing.assert_array_equal(present.argmax(1), probe.texture_labels)


def test_distractor_mask_marks_what_the_strokes_paint():
    rng = np.random.default_rng(3)
    for label in range(4):
        scene = data.sample_scene(rng, [label])
        image, object_masks = data.render_scene(scene, 64)
        plain, _ = data.render_scene(dict(scene, distractors=[]), 64)
        changed = (image != plain).any(axis=-1)
        mask = data.distractor_mask(scene, 64)
        assert mask.any() and not (mask & object_masks[0]).any()
        # A stroke at half weight or more changes its pixel, unless its colour is
        # within rounding of what it covers (rare).
        assert (mask & ~changed).sum() <= 0.02 * mask.sum()
        # What the mask leaves out of the changed pixels is an anti-aliased fringe.
        assert (changed & ~mask).sum() < mask.sum()


def test_dissection_finds_units_made_of_the_concept_masks(probe):
    masks = crossed.concept_masks(probe)
    rng = np.random.default_rng(0)
    activations = rng.random((64, 16, 16, 3)).astype(np.float32) * 0.1

    def pooled(mask):  # the 32x32 mask as a 16x16 map (2x2 means)
        return mask.reshape(64, 16, 2, 16, 2).mean(axis=(2, 4))

    activations[..., 0] += pooled(masks["striped"])
    activations[..., 1] += pooled(masks["triangle"])
    result = dissection.dissect(activations, masks, num_permutations=20)
    assert result.best_concept_names[:2] == ["striped", "triangle"]
    assert result.detectors().tolist() == [True, True, False]


# The first four conflict images of the test split at 32 pixels, all arrays in the
# order of the draw_crossed dict. If this fails, the crossed sets changed.
PINNED_CONFLICT_DIGEST = (
    "9e47e1f9cd86a0232bd3c5b147b6c6fcd98297bb767cbfc18ed77d473a82a471"
)


def test_crossed_sets_are_pinned():
    arrays = crossed.draw_crossed("test", range(4), "conflict", image_size=32)
    digest = hashlib.sha256()
    for key in sorted(arrays):
        digest.update(np.ascontiguousarray(arrays[key]).tobytes())
    assert digest.hexdigest() == PINNED_CONFLICT_DIGEST


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"textures": "swapped"}, "textures must be one of"),
        ({"split": "probe"}, "split must be one of"),
        ({"n": 1001}, "n must be between 0 and 1000"),
        ({"image_size": 16}, "at least 32 pixels"),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        crossed.load_crossed(**{"n": 4, **kwargs})


# ----------------------------------------------------------------------------------
# The splits of load_shapes are drawn as before the crossed sets came.

# Markers (after 89cc200): the first 8 training images at 96 pixels, every array of
# draw_shapes sorted by key, as drawn by data.py of e46bbfe (main before crossed.py).
PINNED_MARKER_DIGESTS = {
    "marked": "ad2ca2bfded943d4b16e9983084ff24a124408917150238643f03fef54241d23",
    "none": "7717c31e7857c7cf1bc9f6607078ea7bcfa3a19805a216f06dc9d3c8c11ed4c2",
    "swapped": "afecdb9c65f0855a7e0379e991adfd8ffe7cc4a5f024a7645f5ce9c9c24b34f9",
}


@pytest.mark.parametrize("markers", data.MARKER_VERSIONS)
def test_marker_data_is_pinned(markers):
    arrays = data.draw_shapes("train", range(8), markers=markers)
    digest = hashlib.sha256()
    for key in sorted(arrays):
        digest.update(np.ascontiguousarray(arrays[key]).tobytes())
    assert digest.hexdigest() == PINNED_MARKER_DIGESTS[markers]


def _has_commit(commit):
    try:
        subprocess.run(
            ["git", "-C", str(ROOT), "cat-file", "-e", f"{commit}^{{commit}}"],
            check=True,
            capture_output=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


@pytest.mark.skipif(
    not _has_commit(BEFORE), reason=f"no git history with {BEFORE} (installed copy?)"
)
def test_every_split_is_drawn_as_89cc200_drew_it(tmp_path):
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{BEFORE}:convviz_ref/data.py"],
        check=True,
        capture_output=True,
    ).stdout
    path = tmp_path / "data_89cc200.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("data_89cc200", path)
    before = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(before)
    for split, size in data.SPLIT_SIZES.items():
        indices = [0, 1, 2, 3, 4, size - 1]
        for num_objects in (1, 2):
            old = before.draw_shapes(split, indices, 48, num_objects)
            new = data.draw_shapes(split, indices, 48, num_objects)
            assert sorted(old) == sorted(new)
            for key in old:
                np.testing.assert_array_equal(new[key], old[key], err_msg=key)


def test_describe_counts_the_pairs_the_sets_draw(probe, capsys):
    described = crossed.describe()
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 + len(crossed.DESCRIBED)
    assert lines[2].split() == ["crossed", "(test)", "1000", "16", "62-63", "25.0%"]
    assert lines[3].split()[-1] == "0.0%"
    np.testing.assert_array_equal(
        crossed.pair_counts("test", "crossed", 64),
        crossed.summarize_crossed(probe)["pairs"],
    )
    independent = crossed.load_crossed("val", 40, textures="independent", image_size=32)
    np.testing.assert_array_equal(
        crossed.pair_counts("val", "independent", 40),
        crossed.summarize_crossed(independent)["pairs"],
    )
    assert described[("independent", "train")].sum() == 3000
