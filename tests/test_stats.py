import numpy as np
import pytest

from convviz_ref import stats


def test_mean_interval_covers_the_mean_and_narrows_with_more_data():
    rng = np.random.default_rng(1)
    small = rng.normal(0.5, 1.0, 20)
    large = rng.normal(0.5, 1.0, 2000)
    low, high = stats.mean_interval(small)
    assert low < small.mean() < high
    large_low, large_high = stats.mean_interval(large)
    assert large_low < 0.5 < large_high
    assert large_high - large_low < (high - low) / 5


def test_mean_interval_is_deterministic_by_seed_and_exact_for_constant_data():
    values = np.arange(30.0)
    assert stats.mean_interval(values, seed=3) == stats.mean_interval(values, seed=3)
    assert stats.mean_interval([2.0, 2.0, 2.0]) == (2.0, 2.0)
    with pytest.raises(ValueError, match="at least two"):
        stats.mean_interval([1.0])


def test_proportion_interval_is_wilsons():
    # Wilson (1927), 95 %: 7 of 10 gives 0.3968 .. 0.8922 (by hand, z = 1.96).
    low, high = stats.proportion_interval(7, 10)
    z = 1.959963984540054
    centre = (0.7 + z**2 / 20) / (1 + z**2 / 10)
    half = z / (1 + z**2 / 10) * np.sqrt(0.7 * 0.3 / 10 + z**2 / 400)
    assert low == pytest.approx(centre - half, abs=1e-9)
    assert high == pytest.approx(centre + half, abs=1e-9)
    assert stats.proportion_interval(10, 10)[1] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="successes"):
        stats.proportion_interval(11, 10)


def test_paired_difference_interval_sees_a_shift_that_unpaired_noise_hides():
    rng = np.random.default_rng(0)
    per_image = rng.normal(0.0, 5.0, 40)  # images differ a lot from each other
    a = per_image + 0.3 + rng.normal(0.0, 0.1, 40)
    b = per_image
    low, high = stats.paired_difference_interval(a, b)
    assert 0.0 < low < 0.3 < high
    with pytest.raises(ValueError, match="differ in length"):
        stats.paired_difference_interval(a, b[:-1])


def test_mcnemar_p_counts_only_the_disagreements():
    hits_a = [1] * 30 + [1] * 9 + [0] * 1
    hits_b = [1] * 30 + [0] * 9 + [1] * 1
    # 9 wins against 1 of 10 disagreements: two-sided binomial p = 22/1024.
    assert stats.mcnemar_p(hits_a, hits_b) == pytest.approx(22 / 1024)
    assert stats.mcnemar_p([1, 0, 1], [1, 0, 1]) == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        stats.mcnemar_p([1, 0], [1])
