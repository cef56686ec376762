"""A picture's dominant spatial period and orientation, from its 2-D power spectrum.

The measure behind "texture recovery": a striped, checked or dotted texture
has its power concentrated at one spatial frequency (and its harmonics); the
strongest frequency away from zero gives the texture's period (pixels per
cycle) and orientation (the direction across the stripes). Compare a feature
picture's peak with that of its unit's top-activating crops.

Steps of :func:`spectral_peak`, for an image ``(H, W)`` or ``(H, W, C)``:

1. **grey**: a colour image is projected on its first colour principal
   component (the axis of largest colour variance). For a texture of two
   colours that axis runs through both, so the contrast is kept whatever the
   colours; the mean of the channels would lose it for red on green, which
   our data draws (its colour pairs differ in summed channel difference, not
   in brightness).
2. **mean removed and windowed**: ``g = (grey - mean(grey)) * hann(H) hann(W)^T``
   (periodic Hann windows), so the image's edges do not add a cross of power.
3. **power**: ``P(f) = |rfft2(g, s=(pad_factor H, pad_factor W))|^2``; the zero
   padding samples the spectrum ``pad_factor`` times finer, so a period that
   falls between two DFT bins is read to about ``1 / pad_factor`` of a bin.
4. **peak outside the DC neighbourhood**: frequencies with
   ``|f| < min_cycles / min(H, W)`` cycles per pixel are left out (the
   window's main lobe around zero is 2 bins wide), and the strongest of the
   rest is the peak ``f* = (f_row, f_col)``.

Then ``period = 1 / |f*|`` pixels and ``orientation = atan2(f_row, f_col)``
in degrees modulo 180, with columns the x axis and rows the y axis (pointing
down, as the image is stored): the convention of
:func:`convviz_ref.data.draw_shapes`'s ``texture_angle``. A vertical-stripe
grating (intensity varying along x) has orientation 0, horizontal stripes 90.
A square lattice (dots, checks) has two equal peaks 90 degrees apart; either
may win, so compare lattices modulo 90.

Example:

>>> import numpy as np
>>> rows, cols = np.mgrid[0:64, 0:64]
>>> grating = np.cos(2 * np.pi * cols / 8.0)  # vertical stripes, 8 pixels
>>> peak = dominant_period_and_orientation(grating)
>>> round(peak.period, 1), round(peak.orientation, 1)
(8.0, 0.0)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.fft
import scipy.signal

MIN_CYCLES = 2.0
"""Frequencies under this many cycles per image side are the DC neighbourhood."""

PAD_FACTOR = 4
"""How much finer than the DFT's bins the spectrum is sampled (by zero padding)."""

PEAK_RADIUS_BINS = 2.0
"""Radius, in DFT bins, of the neighbourhood counted as the peak's power."""


class PeriodOrientation(NamedTuple):
    """What :func:`dominant_period_and_orientation` returns.

    Attributes:
        period: float, pixels per cycle of the dominant frequency.
        orientation: float, degrees in ``[0, 180)``, the direction across the
            stripes (0: vertical stripes, 90: horizontal stripes).
    """

    period: float
    orientation: float


class SpectralPeak(NamedTuple):
    """What :func:`spectral_peak` returns.

    Attributes:
        period, orientation: as in :class:`PeriodOrientation`.
        share: float in ``[0, 1]``, the share of the power outside the DC
            neighbourhood that lies within :data:`PEAK_RADIUS_BINS` bins of
            the peak (its mirror included): near 1 for one clean grating, a
            few hundredths for white noise.
    """

    period: float
    orientation: float
    share: float


def grey_projection(image):
    """The image as one channel: its first colour principal component.

    Args:
        image: array ``(H, W)`` (returned as float64) or ``(H, W, C)``.

    Returns:
        float64 array ``(H, W)``: ``(x - mean) . v`` with ``v`` the unit
        eigenvector of the pixels' ``C x C`` colour covariance with the largest
        eigenvalue (its sign is arbitrary, which the power spectrum ignores).

    Raises:
        ValueError: for an array that is not 2-D or 3-D.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 2:
        return image
    if image.ndim != 3:
        raise ValueError(f"image must be (H, W) or (H, W, C), got shape {image.shape}")
    pixels = image.reshape(-1, image.shape[-1])
    centred = pixels - pixels.mean(axis=0)
    _, eigenvectors = np.linalg.eigh(centred.T @ centred)
    return (centred @ eigenvectors[:, -1]).reshape(image.shape[:2])


def windowed_power(image, *, pad_factor=1):
    """Steps 1-3 of :func:`spectral_peak`: the power of the windowed grey image.

    Formula: ``P = |rfft2((grey - mean(grey)) * hann(H) hann(W)^T,
    s=(pad_factor H, pad_factor W))|^2`` with ``grey`` the
    :func:`grey_projection`.

    Returns:
        ``(power, f_row, f_col)``: float64 ``(pad_factor H, pad_factor W // 2
        + 1)``, and the frequencies (cycles per pixel) of its rows ``(rows,
        1)`` and columns ``(1, columns)``.

    Raises:
        ValueError: as :func:`grey_projection`.
    """
    grey = grey_projection(image)
    height, width = grey.shape
    window = np.outer(
        scipy.signal.windows.hann(height, sym=False),
        scipy.signal.windows.hann(width, sym=False),
    )
    padded = (pad_factor * height, pad_factor * width)
    power = np.abs(scipy.fft.rfft2((grey - grey.mean()) * window, s=padded)) ** 2
    f_row = scipy.fft.fftfreq(padded[0])[:, None]
    f_col = scipy.fft.rfftfreq(padded[1])[None, :]
    return power, f_row, f_col


def spectral_peak(image, *, min_cycles=MIN_CYCLES, pad_factor=PAD_FACTOR):
    """The strongest spatial frequency of ``image`` outside the DC neighbourhood.

    See the module's docstring for the steps and the angle convention.

    Args:
        image: array ``(H, W)`` or ``(H, W, C)``, any real values.
        min_cycles: float, frequencies under ``min_cycles / min(H, W)``
            cycles per pixel are left out, so periods of up to
            ``min(H, W) / min_cycles`` pixels are measured.
        pad_factor: int, zero padding of the transform (finer sampling).

    Returns:
        :class:`SpectralPeak` ``(period, orientation, share)``.

    Raises:
        ValueError: for a wrong shape, an image under 8 pixels a side, or one
            with no contrast (constant after the mean is removed).
    """
    power, f_row, f_col = windowed_power(image, pad_factor=pad_factor)
    height, width = np.shape(image)[:2]
    if min(height, width) < 8:
        raise ValueError(f"image must be at least 8x8 pixels, got {height}x{width}")
    padded = (pad_factor * height, pad_factor * width)
    radius = np.hypot(f_row, f_col)
    # rfft2 keeps half the plane: every column but the first (and the last, for
    # an even length) also stands for its mirror, so it counts twice.
    weight = np.full(power.shape[1], 2.0)
    weight[0] = 1.0
    if padded[1] % 2 == 0:
        weight[-1] = 1.0
    outside = radius >= min_cycles / min(height, width)
    total = float((power * weight * outside).sum())
    if not total > 0:
        raise ValueError("the image has no contrast: its spectrum is flat zero")
    peak = np.unravel_index(np.argmax(np.where(outside, power, -1.0)), power.shape)
    fr, fc = float(f_row[peak[0], 0]), float(f_col[0, peak[1]])
    near = np.hypot(f_row - fr, f_col - fc) <= PEAK_RADIUS_BINS / min(height, width)
    near |= np.hypot(f_row + fr, f_col + fc) <= PEAK_RADIUS_BINS / min(height, width)
    share = float((power * weight * (outside & near)).sum()) / total
    orientation = float(np.degrees(np.arctan2(fr, fc))) % 180.0
    return SpectralPeak(1.0 / float(np.hypot(fr, fc)), orientation, min(share, 1.0))


def dominant_period_and_orientation(image, **options):
    """The period (pixels) and orientation (degrees mod 180) of the spectrum's peak.

    :func:`spectral_peak` without the peak's share; ``options`` are its
    keyword arguments.

    Returns:
        :class:`PeriodOrientation` ``(period, orientation)``.

    Raises:
        ValueError: as :func:`spectral_peak`.
    """
    peak = spectral_peak(image, **options)
    return PeriodOrientation(peak.period, peak.orientation)


def orientation_difference(first, second, modulo=180.0):
    """The smallest angle between two orientations, in degrees.

    Formula: ``d = |first - second| mod modulo``, then ``min(d, modulo - d)``;
    in ``[0, modulo / 2]``. Use ``modulo=90`` for square lattices.
    """
    difference = np.abs(np.asarray(first, float) - np.asarray(second, float)) % modulo
    return np.minimum(difference, modulo - difference)


def relative_period_error(measured, expected):
    """``|measured - expected| / expected``: the texture-recovery period error."""
    return np.abs(np.asarray(measured, float) - expected) / np.asarray(expected, float)
