"""Feature pictures on trial: the recovery rule, the similarity, the score, the CLI."""

import re

import numpy as np
import pytest
from tiny_models import set_random_weights

from convviz_ref import cli, data, dissection, spectrum
from convviz_ref import picture_trial as trial

ROWS, COLS = np.mgrid[0:40, 0:40]


def grating(period, angle=0.0, phase=0.0):
    """Stripes of ``period`` pixels across ``angle`` degrees, 40x40, in -1..1."""
    theta = np.radians(angle)
    u = COLS * np.cos(theta) + ROWS * np.sin(theta)
    return np.cos(2 * np.pi * u / period + phase)


@pytest.mark.parametrize("texture", trial.PERIODIC_TEXTURES)
@pytest.mark.parametrize("period, angle", [(0.06, 10.0), (0.08, 70.0), (0.1, 130.0)])
def test_expected_peak_is_what_the_generator_draws(texture, period, angle):
    obj = {
        "texture": texture,
        "period": period,
        "texture_angle": np.radians(angle),
        "label": 0,
        "colors": None,
    }
    ink = data.texture_ink(obj, 96).astype(float)
    measured = spectrum.spectral_peak(ink)
    expected = trial.expected_peak(texture, period * 96, angle)
    assert trial.agrees(measured[:2], expected, trial.texture_modulo(texture))
    assert abs(measured.period - expected.period) / expected.period < 0.05
    shortest, longest = trial.data_band()
    assert shortest <= expected.period <= longest


def test_the_data_band_spans_the_finest_dots_to_the_coarsest_stripes():
    shortest, longest = trial.data_band()
    assert (shortest, longest) == pytest.approx((0.06 * 96, 2 * 0.1 * 96))
    assert trial.data_band(48) == pytest.approx((shortest / 2, longest / 2))


def test_texture_truth_matches_the_split_and_refuses_no_texture():
    texture, peak, mask = trial.texture_truth(2)  # label 2, a striped triangle
    assert texture == "striped" and peak is not None
    trimap = data.load_shapes("test", 3).masks[2]
    assert mask[trimap == data.OBJECT_INSIDE].all()
    assert not mask[trimap == data.BACKGROUND].any()
    assert trial.texture_truth(3)[1] is None  # a solid star
    with pytest.raises(ValueError, match="solid"):
        trial.expected_peak("solid", 8.0, 0.0)


def test_agreement_is_15_percent_and_15_degrees_modulo_the_lattice():
    assert trial.agrees((8.0, 30.0), (9.0, 40.0), 180.0)
    assert not trial.agrees((8.0, 30.0), (10.0, 30.0), 180.0)  # 20 % off
    assert not trial.agrees((8.0, 30.0), (8.0, 50.0), 180.0)
    assert trial.agrees((8.0, 118.0), (8.0, 30.0), 90.0)  # a lattice: 2 degrees
    assert not trial.agrees((8.0, 118.0), (8.0, 30.0), 180.0)
    assert trial.agrees((8.0, 178.0), (8.0, 5.0), 180.0)  # across the wrap
    assert (trial.texture_modulo("dotted"), trial.texture_modulo("striped")) == (
        90.0,
        180.0,
    )


def test_recovery_reference_averages_orientations_on_the_circle():
    crops = [grating(8.0, angle, phase) for angle, phase in [(175, 0), (5, 1), (0, 2)]]
    period, orientation, coherence = trial.recovery_reference(crops, 180.0)
    assert abs(period - 8.0) < 0.4
    assert spectrum.orientation_difference(orientation, 0.0) < 3.0
    assert coherence > 0.95
    spread = [grating(8.0, angle) for angle in (0, 45, 90, 135)]
    assert trial.recovery_reference(spread, 180.0)[2] < 0.1


def test_held_out_crops_agree_when_they_share_a_texture_and_not_otherwise():
    same = np.stack([grating(8.0, 30.0, phase) for phase in range(5)])
    assert trial.held_out_agreement(same, 180.0) == (1.0, 1.0)
    # One period, orientations spread over the half turn: periods agree, angles not.
    spread = np.stack([grating(8.0, angle) for angle in (0, 36, 72, 108, 144)])
    agree, period = trial.held_out_agreement(spread, 180.0)
    assert period == 1.0 and agree < 0.5
    periods = np.stack([grating(p, 30.0) for p in (5.0, 8.0, 13.0)])
    assert trial.held_out_agreement(periods, 180.0)[1] < 1.0
    with pytest.raises(ValueError, match="at least three crops"):
        trial.held_out_agreement(same[:2], 180.0)


def test_the_similarity_ignores_phase_and_colour_and_reads_period():
    two_colours = np.where(
        grating(8.0, 30.0)[..., None] > 0, [200, 30, 40], [20, 90, 220]
    )
    swapped = np.where(grating(8.0, 30.0)[..., None] > 0, [20, 90, 220], [200, 30, 40])
    assert trial.spectral_similarity(two_colours, [swapped]) == pytest.approx(1.0)
    shifted = grating(8.0, 30.0, phase=2.0)
    assert trial.spectral_similarity(shifted, [grating(8.0, 30.0)]) > 0.95
    assert trial.spectral_similarity(grating(13.0, 30.0), [grating(8.0, 30.0)]) < 0.1
    assert trial.spectral_similarity(np.zeros((40, 40)), [grating(8.0)]) == 0.0
    with pytest.raises(ValueError, match="same size"):
        trial.spectral_similarity(grating(8.0), [np.zeros((32, 32))])
    with pytest.raises(ValueError, match="at least one reference"):
        trial.spectral_similarity(grating(8.0), [])


def test_two_choice_score_knows_the_answer_and_chance():
    strong = [grating(8.0, 20.0, phase) for phase in (0.0, 1.0, 2.0)]
    weak = [grating(14.0, 20.0, phase) for phase in (0.0, 1.5)]
    assert trial.two_choice_score(strong, weak, [grating(8.0, 20.0)]) == 1.0
    assert trial.two_choice_score(strong, weak, [grating(14.0, 20.0)]) == 0.0
    assert trial.two_choice_score(strong, strong, [grating(8.0, 20.0)]) == 0.5
    with pytest.raises(ValueError, match="strong and one weak"):
        trial.two_choice_score(strong, [], [grating(8.0)])


def test_one_reference_scores_each_reference_alone_then_averages():
    strong, weak = [grating(8.0)], [grating(13.0)]
    assert trial.one_reference_score(strong, weak, [grating(8.0)]) == 1.0
    assert trial.one_reference_score(strong, weak, [grating(13.0)]) == 0.0
    both = [grating(8.0), grating(13.0)]
    assert trial.one_reference_score(strong, weak, both) == 0.5
    with pytest.raises(ValueError, match="at least one reference"):
        trial.one_reference_score(strong, weak, [])


def test_the_power_baseline_picks_the_more_textured_query():
    flat = np.zeros((40, 40))
    assert trial.texture_power(flat) == 0.0
    assert trial.texture_power(grating(8.0)) > 0.0
    assert trial.power_baseline([grating(8.0)], [flat, 0.1 * grating(8.0)]) == 1.0
    assert trial.power_baseline([flat], [grating(8.0)]) == 0.0
    assert trial.power_baseline([flat], [flat]) == 0.5


def test_the_unit_set_is_periodic_texture_detectors_by_both_rules():
    names = ("disc", "dotted", "checked", "striped", "solid")
    iou = np.array(
        [
            [0.01, 0.20, 0.0, 0.0, 0.0],  # dotted, detector
            [0.30, 0.10, 0.0, 0.0, 0.0],  # disc: not a texture
            [0.0, 0.0, 0.0, 0.0, 0.50],  # solid: no period
            [0.0, 0.0, 0.03, 0.0, 0.0],  # checked but under Bau's 0.04
            [0.0, 0.0, 0.0, 0.09, 0.0],  # striped but not above its null
            [0.0, 0.0, 0.12, 0.0, 0.0],  # checked, detector
        ],
        np.float32,
    )
    null = np.full((5, 6, 5), 0.01, np.float32)
    null[:, 4] = 0.2
    result = dissection.Dissection(names, np.zeros(6, np.float32), iou, null)
    units, textures = trial.periodic_texture_units(result)
    assert units.tolist() == [0, 5] and textures == ["dotted", "checked"]


def test_format_trials_prints_every_picture_with_intervals():
    rng = np.random.default_rng(0)
    trials = [
        trial.UnitTrial(
            layer="conv",
            unit=unit,
            texture="dotted",
            reference=(8.0, 10.0, 0.5),
            peaks={m: (8.0 if m == "fourier" else 2.0, 10.0) for m in trial.METHODS},
            agree={m: m == "fourier" for m in trial.METHODS},
            scores={name: float(rng.uniform(0.4, 0.9)) for name in trial.REFERENCES},
            truth=(3, 4),
            preferred=preferred,
            held_out=(0.25, 0.5),
            baseline=0.75,
            tuning_draws=2,
        )
        for unit, preferred in zip(range(5), [4.0, 5.0, 8.0, 9.0, 24.0])
    ]
    text = trial.format_trials(trials)
    assert re.search(r"^  fourier +5/5 +\d+%-100% +5/5 ", text, re.M), text
    assert re.search(r"^  plain +0/5 +0%-\d+% +0/5 ", text, re.M), text
    assert re.search(r"^  one_crop +25% +25%-25% +50% +\d+\.\d%", text, re.M), text
    assert re.search(r"^  crops +- +- +\d+\.\d%", text, re.M), text
    assert "two-choice fourier_band - one_crop: " in text
    assert re.search(
        r"^  no reference: the query with more texture power +75\.0%", text, re.M
    )
    assert "recovery fourier - plain: +100%" in text
    assert "recovery fourier_band - plain: +0%" in text and "15/20" in text
    assert "band (5.8-19.2 px): shorter 2, longer 1 of 5" in text
    assert " px, 2 colour pairs and angles each)" in text  # the trials' own draws
    assert "fourier      period within 15% of the preferred: 2/5" in text
    assert "(coherence >= 0.5): 5; agree: fourier 5, fourier_band 0, plain 0" in text
    assert "  conv (5 units) agree: fourier 5 (0 flat), fourier_band 0 (0 flat)" in text
    assert len(trial.format_unit_trials(trials).splitlines()) == 6
    with pytest.raises(ValueError, match="at least two units"):
        trial.format_trials(trials[:1])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "nope"], "unknown model 'nope'"),
        (["--model", "small_convnet"], "block1_sepconv1"),
        (["--model", "small_convnet", "--layers", "conv1", "conv1"], "distinct"),
        (
            ["--model", "small_convnet", "--layers", "conv1", "--num-images", "1001"],
            "1..1000",
        ),
    ],
)
def test_a_mistake_is_one_line_and_exit_2(argv, message, capsys, tmp_path):
    out = tmp_path / "out"
    assert cli.main(["picture-trial", *argv, "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert re.fullmatch(r"convviz: error: [^\n]+\n", captured.err), captured.err
    assert message in captured.err


def test_a_flat_picture_has_no_peak_and_agrees_with_nothing():
    magenta = np.broadcast_to(np.array([255.0, 0.0, 255.0]), (40, 40, 3))
    peak = trial.picture_peak(magenta)
    assert np.isnan(peak).all() and not trial.agrees(peak, (8.0, 0.0), 90.0)
    assert trial.picture_peak(grating(8.0)) == pytest.approx((8.0, 0.0), abs=0.2)


def test_try_pictures_measures_every_unit_on_a_tiny_model():
    import keras

    inputs = keras.Input((96, 96, 3))
    features = keras.layers.Conv2D(3, 5, padding="same", name="conv")(
        keras.layers.Rescaling(1 / 255.0)(inputs)
    )
    outputs = keras.layers.Dense(4)(keras.layers.GlobalAveragePooling2D()(features))
    model = set_random_weights(keras.Model(inputs, outputs), seed=0, scale=0.1)
    unit_set = trial.UnitSet("conv", 3, np.array([0, 1]), ["checked", "dotted"])
    trials, pictures, crops = trial.try_pictures(
        model, unit_set, count=3, num_queries=2, num_images=4, tuning_draws=1
    )
    assert [(t.unit, t.texture) for t in trials] == [(0, "checked"), (1, "dotted")]
    assert crops.shape == (2, 3, trial.CROP_SIZE, trial.CROP_SIZE, 3)
    assert {name: images.shape[:3] for name, images in pictures.items()} == {
        method: (2, 96, 96) for method in trial.METHODS
    }
    for result in trials:
        assert set(result.scores) == set(trial.REFERENCES)
        assert all(0.0 <= score <= 1.0 for score in result.scores.values())
        assert 0 <= result.truth[0] <= result.truth[1] <= 3
        assert set(result.agree) == set(trial.METHODS)
        assert all(0.0 <= share <= 1.0 for share in result.held_out)
        assert 0.0 <= result.baseline <= 1.0
        assert (
            min(trial.TUNING_PERIODS)
            <= result.preferred
            <= 2 * max(trial.TUNING_PERIODS)
        )
    with pytest.raises(ValueError, match="num_images must be in 4..500"):
        trial.try_pictures(model, unit_set, count=3, num_queries=2, num_images=3)
    with pytest.raises(ValueError, match="count must be at least 3"):
        trial.try_pictures(model, unit_set, count=2, num_queries=2, num_images=4)


def test_tuning_fills_draw_each_period_of_the_texture():
    fills = trial.tuning_fills("striped", periods=(5, 9), draws=2, size=64)
    assert fills.shape == (2, 2, 64, 64, 3) and fills.dtype == np.float32
    for row, period in enumerate((5, 9)):
        for fill in fills[row]:
            peak = spectrum.dominant_period_and_orientation(fill)
            assert abs(peak.period - 2 * period) / (2 * period) < 0.1


def test_preferred_period_is_the_fill_the_unit_answers_most():
    # A stand-in unit whose response falls with the distance of the image's
    # spectral period from its own: unit 0 wants 8 px, unit 1 12 px.
    def extractor(images):
        periods = np.array(
            [spectrum.dominant_period_and_orientation(image).period for image in images]
        )
        response = -np.abs(periods[:, None] - np.array([8.0, 12.0]))
        return np.broadcast_to(response[:, None, None, :], (len(images), 6, 6, 2))

    preferred = trial.preferred_periods(
        extractor, [0, 1], ["dotted", "striped"], periods=(4, 6, 8, 10), draws=2
    )
    # Dots of period 8 peak at 8; stripes alternating every 6 px peak at 12.
    np.testing.assert_allclose(preferred, [8.0, 12.0])
