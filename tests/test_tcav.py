"""TCAV (convviz_ref.tcav) on a tiny model whose answer is known.

The model reads two units from an 8x8 image, ``u0 = red`` and ``u1 = green``
(a 1x1 convolution named "features"), and its logits are ``h0 = mean(relu(u0))``
and ``h1 = -mean(relu(u0))`` (then a softmax): the logit of class 0 rises along
the "red" direction, class 1's falls, and neither depends on green. Images are
seeded noise; a concept's images add 2 to their channel.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
from scipy import stats

from convviz_ref import tcav

SIZE = 8


def known_model():
    inputs = keras.Input(shape=(SIZE, SIZE, 3), name="image")
    features = keras.layers.Conv2D(2, 1, use_bias=False, name="features")(inputs)
    x = keras.layers.Activation("relu", name="relu")(features)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = keras.layers.Dense(2, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name="known")
    pick = np.zeros((1, 1, 3, 2), np.float32)
    pick[0, 0, 0, 0] = pick[0, 0, 1, 1] = 1.0  # u0 = red, u1 = green
    model.get_layer("features").set_weights([pick])
    model.get_layer("predictions").set_weights(
        [np.array([[1.0, -1.0], [0.0, 0.0]], np.float32), np.zeros(2, np.float32)]
    )
    return model


def noise(n, seed, channel=None):
    images = np.random.default_rng(seed).normal(size=(n, SIZE, SIZE, 3))
    if channel is not None:
        images[..., channel] += 2.0
    return images.astype(np.float32)


@pytest.fixture(scope="module")
def result():
    labels = np.arange(40) % 2
    return tcav.tcav(
        known_model(),
        "features",
        {"red": noise(20, 1, channel=0), "green": noise(20, 2, channel=1)},
        noise(60, 3),
        noise(40, 4),
        labels,
        class_names=("up", "down"),
        num_random=10,
        set_size=20,
    )


def test_the_concept_the_logit_reads_scores_one_and_zero_and_is_significant(result):
    red = result.concept_names.index("red")
    assert result.scores.shape == (2, 10, 2) and result.random_scores.shape == (10, 2)
    assert result.scores[red, :, 0].tolist() == [1.0] * 10  # h0 rises along red
    assert result.scores[red, :, 1].tolist() == [0.0] * 10  # h1 falls
    assert result.accuracies[red].min() == 1.0
    assert result.significant()[red].tolist() == [True, True]


def test_a_concept_the_logit_ignores_is_not_significant(result):
    green = result.concept_names.index("green")
    assert result.accuracies[green].min() == 1.0  # a real direction, but unused
    assert result.significant()[green].tolist() == [False, False]
    # Not significant after Bonferroni's correction (the table's 4 tests); its CAVs
    # share one concept set, whose chance share of red sways them all a little.
    red = result.concept_names.index("red")
    assert result.p_values[green].min() > 0.05 / 4 > 1e-3 > result.p_values[red].max()


def test_random_directions_spread_around_a_half(result):
    # A random CAV has no reason to point along red: its scores vary with it.
    assert 0.2 < result.random_scores[:, 0].mean() < 0.8
    assert result.random_scores[:, 0].std() > 0.1


def test_p_values_are_scipy_s_two_sided_student_t_test(result):
    checked = 0
    for c in range(2):
        for k in range(2):
            with warnings.catch_warnings():  # it warns on a constant group
                warnings.simplefilter("ignore", RuntimeWarning)
                expected = stats.ttest_ind(
                    result.scores[c, :, k], result.random_scores[:, k], equal_var=True
                ).pvalue
            assert result.p_values[c, k] == pytest.approx(expected, rel=1e-9)
            checked += 1
    rng = np.random.default_rng(5)
    first, second = rng.random(12), rng.random(12) + 0.2
    assert tcav.p_value(first, second) == pytest.approx(
        stats.ttest_ind(first, second).pvalue, rel=1e-12
    )
    assert tcav.p_value([1, 1, 1], [1, 1, 1]) == 1.0
    assert tcav.p_value([1, 1, 1], [0, 0, 0]) == 0.0


def test_the_same_seed_gives_the_same_result_and_another_seed_other_sets():
    model = known_model()

    def run(seed):
        return tcav.tcav(
            model,
            "features",
            {"green": noise(12, 2, channel=1)},
            noise(30, 3),
            noise(10, 4),
            np.arange(10) % 2,
            num_random=10,
            set_size=6,
            seed=seed,
        )

    first, again, other = run(0), run(0), run(1)
    np.testing.assert_array_equal(first.scores, again.scores)
    np.testing.assert_array_equal(first.random_scores, again.random_scores)
    assert not np.array_equal(first.random_scores, other.random_scores)


def test_train_cav_points_to_the_concept_with_unit_length():
    rng = np.random.default_rng(0)
    concept, other = rng.normal(size=(100, 5)), rng.normal(size=(100, 5))
    concept[:, 3] -= 8  # the concept has LESS of axis 3
    cav = tcav.train_cav(concept, other)
    assert np.linalg.norm(cav.vector) == pytest.approx(1.0)
    assert cav.vector[3] < -0.9 and cav.accuracy == 1.0
    swapped = tcav.train_cav(other, concept)
    assert swapped.vector[3] > 0.9


def test_train_cav_on_indistinguishable_sets_is_near_chance():
    rng = np.random.default_rng(1)
    cavs = [
        tcav.train_cav(rng.normal(size=(30, 50)), rng.normal(size=(30, 50)), seed=s)
        for s in range(10)
    ]
    assert 0.3 < np.mean([cav.accuracy for cav in cavs]) < 0.7


def test_scores_count_positive_derivatives():
    cav = tcav.CAV(np.array([0.6, 0.8]), 0.0, 1.0)
    gradients = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -0.1]])
    np.testing.assert_allclose(
        tcav.directional_derivatives(gradients, cav), [0.6, -0.6, 0.8, -0.08]
    )
    assert tcav.tcav_score([0.6, -0.6, 0.8, -0.08]) == 0.5
    assert tcav.tcav_score([0.0]) == 0.0  # zero is not a rise


@pytest.mark.parametrize(
    "change, message",
    [
        ({"num_random": 9}, "num_random must be at least 10, got 9"),
        ({"set_size": 50}, "has 12 images, fewer than set_size 50"),
        ({"labels": np.zeros(10, int)}, "every class needs images: none of class [1]"),
        ({"layer": "nope"}, "nope"),
    ],
)
def test_mistakes_are_value_errors(change, message):
    arguments = {"num_random": 10, "set_size": 6}
    labels = change.pop("labels", np.arange(10) % 2)
    layer = change.pop("layer", "features")
    arguments.update(change)
    with pytest.raises(ValueError, match=None) as error:
        tcav.tcav(
            known_model(),
            layer,
            {"green": noise(12, 2, channel=1)},
            noise(30, 3),
            noise(10, 4),
            labels,
            **arguments,
        )
    assert message in str(error.value)


def test_pooled_cavs_are_directions_of_the_units_and_find_the_same_answer():
    model = known_model()
    images = noise(6, 4)
    flat = tcav.logit_gradients(model, "features", images, [0] * 6)
    pooled = tcav.logit_gradients(model, "features", images, [0] * 6, pooled=True)
    np.testing.assert_allclose(
        pooled, flat.reshape(6, SIZE * SIZE, 2).sum(axis=1), rtol=1e-6
    )
    result = tcav.tcav(
        model,
        "features",
        {"red": noise(20, 1, channel=0)},
        noise(60, 3),
        noise(40, 4),
        np.arange(40) % 2,
        num_random=10,
        set_size=20,
        pooled=True,
    )
    assert result.pooled and result.where == "features, pooled"
    assert result.scores[0].mean(axis=0).tolist() == [1.0, 0.0]
    assert result.significant()[0].tolist() == [True, True]
