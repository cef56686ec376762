"""Uncertainty of a result measured on a sample of images.

The book draws conclusions from a few dozen test images. These functions put an
interval (or a p-value) on such a result, so that a difference the sample cannot
resolve is reported as such. They wrap SciPy:

- :func:`mean_interval`: a bootstrap interval of a mean (BCa, Efron 1987);
- :func:`proportion_interval`: the Wilson score interval of a proportion such as a
  pointing-game hit rate (Wilson 1927);
- :func:`paired_difference_interval`: a bootstrap interval of the mean difference
  of two measurements made on the same images (resampling images, not values);
- :func:`mcnemar_p`: McNemar's exact test of two hit/miss outcomes on the same
  images, a binomial test on the images where they disagree.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

N_RESAMPLES = 9999


def mean_interval(values, *, confidence=0.95, seed=0):
    """``(low, high)``: a bootstrap confidence interval of ``mean(values)``.

    Args:
        values: 1-D array-like of at least two numbers, one per image.
        confidence: the interval's confidence level, in (0, 1).
        seed: seeds the resampling; the same inputs give the same interval.

    Returns:
        Two floats. The bias-corrected and accelerated (BCa) interval of
        ``N_RESAMPLES`` resamples; ``(v, v)`` when every value is ``v``.

    Raises:
        ValueError: fewer than two values.
    """
    values = _sample(values)
    if np.ptp(values) == 0:
        return float(values[0]), float(values[0])
    result = stats.bootstrap(
        (values,),
        np.mean,
        confidence_level=confidence,
        n_resamples=N_RESAMPLES,
        method="BCa",
        rng=np.random.default_rng(seed),
    )
    return _pair(result.confidence_interval)


def proportion_interval(successes, n, *, confidence=0.95):
    """``(low, high)``: the Wilson score interval of the proportion ``successes / n``.

    Raises:
        ValueError: ``n < 1`` or ``successes`` outside ``0..n``.
    """
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n and n >= 1, got {successes}/{n}")
    result = stats.binomtest(int(successes), int(n))
    return _pair(result.proportion_ci(confidence_level=confidence, method="wilson"))


def paired_difference_interval(a, b, *, confidence=0.95, seed=0):
    """``(low, high)``: a bootstrap interval of ``mean(a - b)`` over paired images.

    ``a[i]`` and ``b[i]`` are two measurements of image ``i`` (two methods, two
    models). The interval excludes 0 when the sample resolves the difference.

    Raises:
        ValueError: ``a`` and ``b`` differ in length, or hold fewer than two values.
    """
    a, b = _sample(a), _sample(b)
    if a.shape != b.shape:
        raise ValueError(f"paired samples differ in length: {a.size} and {b.size}")
    return mean_interval(a - b, confidence=confidence, seed=seed)


def mcnemar_p(hits_a, hits_b):
    """Two-sided p-value of McNemar's exact test on paired hit/miss outcomes.

    Of the images where exactly one of ``hits_a`` and ``hits_b`` is a hit, the
    test asks whether ``a`` wins more (or fewer) of them than a fair coin would:
    ``binomtest(wins_a, disagreements, 0.5)``. Returns 1.0 when they never
    disagree.

    Raises:
        ValueError: the two arrays differ in length.
    """
    hits_a = np.asarray(hits_a, dtype=bool).ravel()
    hits_b = np.asarray(hits_b, dtype=bool).ravel()
    if hits_a.shape != hits_b.shape:
        raise ValueError(
            f"paired samples differ in length: {hits_a.size} and {hits_b.size}"
        )
    wins_a = int(np.sum(hits_a & ~hits_b))
    disagreements = wins_a + int(np.sum(~hits_a & hits_b))
    if disagreements == 0:
        return 1.0
    return float(stats.binomtest(wins_a, disagreements, 0.5).pvalue)


def _sample(values):
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size < 2:
        raise ValueError(f"need at least two values, got {values.size}")
    return values


def _pair(interval):
    return float(interval.low), float(interval.high)
