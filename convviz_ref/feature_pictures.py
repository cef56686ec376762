"""Feature pictures a person can read: Fourier, colour-decorrelated, robust ascent.

Plain ascent on pixels (:mod:`convviz_ref.filters`) follows the gradient,
which on a convnet is dominated by high frequencies: it "fills in edges and
very slowly gets other things" (Olah, Mordvintsev and Schubert, "Feature
Visualization", Distill 2017, section "Preconditioning and
parameterization"). Two changes from that article, as in Lucid and Lucent
(``optvis/param/spatial.py`` ``fft_image``, ``optvis/param/color.py``
``to_valid_rgb``, ``optvis/transform.py`` ``standard_transforms``), give
pictures of a unit's texture:

* **Fourier, colour-decorrelated parameterization** (:func:`spectrum_scale`,
  :func:`pictures_from_spectrum`). The optimized variables are the real and
  imaginary parts of each picture's 2-D spectrum, ``(n, 3, H, W // 2 + 1)``
  each, drawn ``N(0, 0.01^2)``. Coefficient ``(u, v)`` is multiplied by
  ``1 / max(|f|, 1 / max(H, W)) ** decay_power`` (``|f|`` in cycles per
  pixel), so low frequencies move more per step than high ones: plain
  ascent, by contrast, moves each pixel on its own and piles up the high
  ones (behind a strided layer, the aliases of the unit's frequency). The
  inverse real FFT, scaled by ``sqrt(H W)`` (an orthonormal transform) and
  divided by 4 (Lucid's constant, which keeps the start away from
  saturation), gives three decorrelated channels ``z``; then ``rgb =
  sigmoid(z @ M^T)`` with ``M`` a square root of the colour covariance
  (:func:`colour_correlation_sqrt`), and the picture is ``low + (high - low)
  * rgb`` in the model's input range (:func:`convviz_ref.filters.input_range`).
* **Transformation robustness** (:func:`random_transforms`): each step the
  model sees every picture through its own random affine warp: a shift of up
  to ``jitter`` pixels, a scale in ``1 +- scale_range`` and a rotation of up
  to ``max_angle`` degrees about the centre, sampled bilinearly, with
  mid-grey where the warp reads outside the picture. The picture has to
  excite the unit wherever and at whatever size it lands, so it cannot rely
  on one pixel's exact place.

The loss is the one the book's grids climb, the mean activation of the unit's
channel over the feature map's interior (``objective="channel"``; the 2-pixel
border is left out, as in :func:`convviz_ref.filters.compute_loss`): a
channel objective fills the whole picture with the unit's preferred texture,
which is what the spectrum measure (:mod:`convviz_ref.spectrum`) reads.
``objective="neuron"`` climbs the centre position's activation instead (one
receptive field, drawn in the middle of a grey picture). Each step moves
each picture's spectrum along its own l2-normalized gradient
(:func:`normalized_step`, the book's step rule), or with Adam
(``step_rule="adam"``, :func:`adam_step`, Lucid's optimizer).

How ours differs from Lucid's, and why:

* **Colour matrix from our own training images**, not ImageNet's. Lucid's
  ``color_correlation_svd_sqrt`` is ``U sqrt(S)`` of ImageNet's colour
  covariance, which is dominated by brightness. Our shapes are drawn in
  independent uniform colours, so their covariance is nearly a multiple of the
  identity (the channels correlate by under 0.03): ImageNet's matrix would
  push every picture towards grey. :func:`training_colour_sqrt` estimates ours
  from the training split. We take the symmetric square root
  ``U sqrt(S) U^T``: for a covariance this close to isotropic the SVD's
  ``U`` is arbitrary, and the symmetric root is the one that does not depend
  on it (any root ``M`` with ``M M^T = C`` decorrelates; Lucid's matrix
  normalized by its largest column norm, ours too).
* **Normalized steps, not Adam, by default.** Adam moves every coefficient
  by about the learning rate whatever its gradient's size, so coefficients
  with a weak but steady gradient grow as fast as the unit's own frequency,
  and the 1/f scale then magnifies the low ones into blobs. On the tests'
  stripe detector behind a stride-2 subsampling (periods of 6, 7, 8 and 10
  pixels, 2 seeds each, 40 steps), Adam at Lucid's settings gave a spectral
  peak share of 0.38 (median) and period errors up to 135 % (median 16 %);
  the normalized step 0.85, at most 16 % (median 8 %).
* **Decay power 0.5, not 1.** The 1/f scale acts on the gradient twice
  (once through the chain rule, once mapping the step to pixels), which
  tilts a unit's preferred frequency towards longer periods until the
  picture has converged; with few steps that bias stays. On the same units,
  the median period error was 12 % with a power of 1 and 8 % with 0.5.
* **An optional band prior** (``band=``, not in Lucid). A unit's picture
  climbs towards whatever excites the unit most, which can be a finer or a
  coarser texture than any the data draws, while its dataset examples can only
  show the data's (``convviz picture-trial`` counts the units whose preferred
  period lies outside the data's band). Zeroing every coefficient whose
  period lies outside a band is the hard, two-sided form of what the
  article calls frequency penalization (which only damps the high
  frequencies); with the band the data draws
  (:func:`convviz_ref.picture_trial.data_band`) it also borrows from its
  third family, priors taken from the data: the picture then answers which of
  the data's textures the unit prefers.
* **Inputs 0..255.** Lucid's pictures live in [0, 1]; ours are mapped to the
  model's input range, so a model with a ``Rescaling`` layer sees the same
  values a training image would give it.
* **Fixed-size inputs, fewer steps.** Our models take exactly ``H x W``
  pixels, so Lucid's pad-then-jitter (a picture padded by 12 grey pixels and
  shifted by up to 8) becomes one warp whose samples outside the picture read
  grey: the same view, cropped back to the input size. The transforms are
  scaled to 96-pixel pictures and applied as one warp per step (not five);
  and ``steps`` is small (Lucid renders 512 steps at a learning rate of
  0.05), so that a 64-unit grid costs no more than
  :func:`convviz_ref.filters.generate_regularized_patterns`' 60 steps; a
  larger step makes up for it.

Example:

>>> from convviz_ref.models import build_small_convnet
>>> from convviz_ref.filters import build_feature_extractor
>>> extractor = build_feature_extractor(build_small_convnet(), "conv2")
>>> pictures = generate_feature_pictures(
...     extractor, [0, 1], steps=2, seed=0, colour_sqrt=np.eye(3), progress=False
... )
>>> pictures.shape, pictures.dtype
((2, 96, 96, 3), dtype('uint8'))
"""

from __future__ import annotations

import functools

import keras
import numpy as np
import scipy.linalg
import tensorflow as tf

from convviz_ref.filters import (
    GRID_COLUMNS,
    FilterGrid,
    _batches,
    _check_ascent_arguments,
    _check_sizes,
    _summed_filter_loss,
    _traced,
    grid_units,
    input_range,
    stitch,
)

DECAY_POWER = 0.5
"""Exponent of the spectrum's ``1 / |f| ** decay_power`` scale (Lucid: 1)."""

SPECTRUM_SD = 0.01
"""Standard deviation of the starting spectrum coefficients (Lucid's default)."""

BRIGHTNESS_DIVISOR = 4.0
"""Lucid's constant dividing the inverse FFT: the start sits near mid-grey."""

STEPS = 40
"""Steps per picture (Lucid: 512); chosen so a grid costs no more than the
regularized one's 60 steps."""

LEARNING_RATE = 0.2
"""Root-mean-square step per spectrum parameter (Lucid's Adam: 0.05, 512 steps)."""

JITTER = 6
"""Largest shift of the random warp, pixels."""

SCALE_RANGE = 0.1
"""The warp's scale is uniform in ``1 +- SCALE_RANGE`` (Lucid: 0.9..1.1)."""

MAX_ANGLE = 10.0
"""The warp's rotation is uniform in ``+- MAX_ANGLE`` degrees (Lucid: +-10)."""

COLOUR_SAMPLE_SIZE = 500
"""Training images :func:`training_colour_sqrt` estimates the colours from."""

STEP_RULES = ("normalized", "adam")
"""How the spectrum climbs: :func:`normalized_step` or :func:`adam_step`."""

OBJECTIVES = ("channel", "neuron")
"""What a picture climbs: its unit's mean activation, or the centre position's."""


def spectrum_scale(height, width, decay_power=DECAY_POWER, band=None):
    """The factor of each spectrum coefficient: ``1 / max(|f|, 1 / max(H, W)) ** p``.

    Args:
        height, width: int, the picture's size.
        decay_power: float, ``p``; 0 gives a flat spectrum (every frequency
            alike), 1 the 1/f of natural images.
        band: None, or ``(shortest, longest)`` periods in pixels: the factor
            is 0 wherever ``1 / |f|`` falls outside ``[shortest, longest]``,
            so a picture made from this spectrum holds only those periods
            (the zero frequency too is 0: the picture's mean stays at
            mid-range).

    Returns:
        float32 array ``(height, width // 2 + 1)``, indexed like
        ``numpy.fft.rfft2``'s output: ``|f| = hypot(fftfreq(height)[i],
        rfftfreq(width)[j])`` cycles per pixel. The zero frequency gets the
        factor of the lowest one, ``max(H, W) ** p``.

    Raises:
        ValueError: for a band that is not ``2 <= shortest < longest``.
    """
    f_row = np.fft.fftfreq(height)[:, None]
    f_col = np.fft.rfftfreq(width)[None, :]
    frequency = np.hypot(f_row, f_col)
    scale = 1.0 / np.maximum(frequency, 1.0 / max(height, width)) ** decay_power
    if band is not None:
        shortest, longest = _check_band(band)
        inside = (frequency >= 1.0 / longest) & (frequency <= 1.0 / shortest)
        scale = np.where(inside, scale, 0.0)
    return scale.astype(np.float32)


def _check_band(band):
    """``(shortest, longest)`` as floats, or ValueError unless ``2 <= s < l``."""
    try:
        shortest, longest = (float(period) for period in band)
    except (TypeError, ValueError):
        raise ValueError(f"band must be two periods in pixels, got {band!r}") from None
    if not 2.0 <= shortest < longest:
        raise ValueError(
            f"band must have 2 <= shortest < longest (pixels), got {band!r}"
        )
    return shortest, longest


def colour_correlation_sqrt(images):
    """A square root of the pixels' colour covariance, normalized: the matrix ``M``.

    Formula: ``C = cov(pixels / 255)`` (3x3, over every pixel of every image),
    ``S = sqrtm(C)`` (the symmetric root, ``S S = C``), ``M = S / max_j
    ||S[:, j]||``, so the largest column has norm 1, as Lucid normalizes.

    Args:
        images: array ``(n, H, W, 3)`` in 0..255.

    Returns:
        float32 array ``(3, 3)``, symmetric.

    Raises:
        ValueError: if the images are not ``(..., 3)`` or have no colour
            variance.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim < 2 or images.shape[-1] != 3:
        raise ValueError(f"images must end in 3 colour channels, got {images.shape}")
    covariance = np.cov(images.reshape(-1, 3).T / 255.0)
    if not np.trace(covariance) > 0:
        raise ValueError("the images have no colour variance")
    root = np.real(scipy.linalg.sqrtm(covariance))
    return (root / np.max(np.linalg.norm(root, axis=0))).astype(np.float32)


@functools.cache
def training_colour_sqrt():
    """:func:`colour_correlation_sqrt` of the first 500 training images (seed 0).

    The colours the shipped models were trained on
    (``load_shapes("train", n=COLOUR_SAMPLE_SIZE)``), computed once per process.
    """
    from convviz_ref.data import load_shapes  # the data module only when needed

    return colour_correlation_sqrt(load_shapes("train", n=COLOUR_SAMPLE_SIZE).images)


def pictures_from_spectrum(real, imaginary, scale, colour_sqrt, width):
    """Pictures in [0, 1] from spectrum parameters: ``sigmoid(z @ M^T)``.

    Formula: ``z = irfft2((real + i imaginary) * scale) * sqrt(H W) / 4``
    (per channel, over the last two axes, to ``H x width`` pixels), then
    ``sigmoid(z @ M^T)`` over the channel axis.

    Args:
        real, imaginary: float32 tensors ``(n, 3, H, width // 2 + 1)``.
        scale: float32 ``(H, width // 2 + 1)``, from :func:`spectrum_scale`.
        colour_sqrt: float32 ``(3, 3)``, ``M``.
        width: int or int32 tensor, the pictures' width.

    Returns:
        float32 tensor ``(n, H, width, 3)`` in ``(0, 1)``.
    """
    height = tf.shape(real)[2]
    spectrum = tf.complex(real * scale, imaginary * scale)
    channels = tf.signal.irfft2d(spectrum, fft_length=tf.stack([height, width]))
    pixels = tf.cast(height * width, tf.float32)
    decorrelated = tf.transpose(channels, [0, 2, 3, 1]) * (
        tf.sqrt(pixels) / BRIGHTNESS_DIVISOR
    )
    return tf.sigmoid(tf.einsum("nhwc,dc->nhwd", decorrelated, colour_sqrt))


def random_transforms(
    rng,
    steps,
    count,
    image_size,
    *,
    jitter=JITTER,
    scale_range=SCALE_RANGE,
    max_angle=MAX_ANGLE,
):
    """One random warp per step and picture, as rows for ``affine_transform``.

    Each warp maps an output pixel ``p = (x, y)`` (column, row) to the
    picture's point ``R(-angle) (p - c) / scale + c + shift``, ``c`` the
    centre: the model sees the picture rotated by ``angle`` and scaled by
    ``scale`` about its centre, then shifted by ``-shift``. ``shift`` is
    uniform on the integers ``-jitter..jitter`` (each axis), ``scale`` on
    ``[1 - scale_range, 1 + scale_range]`` and ``angle`` on ``[-max_angle,
    max_angle]`` degrees.

    Args:
        rng: ``numpy.random.Generator``.
        steps, count: int, warps per picture and pictures.
        image_size: int, the picture's height and width.
        jitter, scale_range, max_angle: as above (0 for none).

    Returns:
        float32 array ``(steps, count, 8)``, rows ``[a0, a1, a2, b0, b1, b2, 0,
        0]`` as :func:`keras.ops.image.affine_transform` takes them.
    """
    shift = rng.integers(-jitter, jitter + 1, size=(steps, count, 2))
    scale = rng.uniform(1.0 - scale_range, 1.0 + scale_range, size=(steps, count))
    angle = np.radians(rng.uniform(-max_angle, max_angle, size=(steps, count)))
    centre = (image_size - 1) / 2.0
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    rows = np.zeros((steps, count, 8), np.float32)
    rows[..., 0], rows[..., 1] = cos, sin
    rows[..., 3], rows[..., 4] = -sin, cos
    rows[..., 2] = centre - (cos + sin) * centre + shift[..., 0]
    rows[..., 5] = centre - (cos - sin) * centre + shift[..., 1]
    return rows


def adam_step(parameter, gradient, first, second, step, learning_rate):
    """One Adam step *up* the gradient, in Keras' form (``epsilon = 1e-7``).

    Formula: ``m = 0.9 m + 0.1 g``, ``v = 0.999 v + 0.001 g^2``, then
    ``x + lr sqrt(1 - 0.999^t) / (1 - 0.9^t) * m / (sqrt(v) + 1e-7)`` with
    ``t = step`` (from 1). Each element moves by about ``lr`` whatever the
    gradient's scale, so pictures optimized in one batch do not affect one
    another's steps.

    Returns:
        ``(parameter, first, second)``, updated.
    """
    first = 0.9 * first + 0.1 * gradient
    second = 0.999 * second + 0.001 * tf.square(gradient)
    step = tf.cast(step, tf.float32)
    rate = learning_rate * tf.sqrt(1.0 - 0.999**step) / (1.0 - 0.9**step)
    return parameter + rate * first / (tf.sqrt(second) + 1e-7), first, second


def _summed_neuron_loss(activation, filter_indices):
    """``sum_n A[n, h // 2, w // 2, filter_indices[n]]``: each picture's centre unit."""
    height, width = tf.shape(activation)[1], tf.shape(activation)[2]
    centre = activation[:, height // 2, width // 2, :]
    one_hot = tf.one_hot(filter_indices, tf.shape(activation)[-1], dtype=centre.dtype)
    return tf.reduce_sum(centre * one_hot)


def normalized_step(real, imaginary, real_gradient, imaginary_gradient, rate):
    """One step up the l2-normalized gradient of each picture's spectrum.

    Formula: ``x + rate * sqrt(P) * g / ||g||_2`` for each picture, ``g`` its
    real and imaginary gradients together and ``P`` their number of elements,
    so the step's root-mean-square per element is ``rate`` (as Adam's is
    about ``rate``): the book's normalized step, on the spectrum.

    Returns:
        ``(real, imaginary)``, updated.
    """
    squares = tf.reduce_sum(tf.square(real_gradient), axis=[1, 2, 3]) + tf.reduce_sum(
        tf.square(imaginary_gradient), axis=[1, 2, 3]
    )
    elements = tf.cast(2 * tf.reduce_prod(tf.shape(real)[1:]), tf.float32)
    factor = rate * tf.sqrt(elements) * tf.math.rsqrt(tf.maximum(squares, 1e-30))
    factor = factor[:, None, None, None]
    return real + factor * real_gradient, imaginary + factor * imaginary_gradient


def _fourier_ascent(
    feature_extractor,
    real,
    imaginary,
    filter_indices,
    transforms,
    scale,
    colour_sqrt,
    value_range,
    learning_rate,
    width,
    neuron,
    adam,
):
    """Every step for one group; returns its pictures in [0, 1]."""
    low, high = value_range[0], value_range[1]
    moments = [tf.zeros_like(real) for _ in range(4)]
    for step in tf.range(tf.shape(transforms)[0]):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch([real, imaginary])
            pictures = pictures_from_spectrum(
                real, imaginary, scale, colour_sqrt, width
            )
            seen = keras.ops.image.affine_transform(
                pictures, transforms[step], fill_value=0.5, data_format="channels_last"
            )
            activation = feature_extractor(low + (high - low) * seen)
            if neuron:
                loss = _summed_neuron_loss(activation, filter_indices)
            else:
                loss = _summed_filter_loss(activation, filter_indices)
        real_gradient, imaginary_gradient = tape.gradient(loss, [real, imaginary])
        if adam:
            real, moments[0], moments[1] = adam_step(
                real, real_gradient, moments[0], moments[1], step + 1, learning_rate
            )
            imaginary, moments[2], moments[3] = adam_step(
                imaginary,
                imaginary_gradient,
                moments[2],
                moments[3],
                step + 1,
                learning_rate,
            )
        else:
            real, imaginary = normalized_step(
                real, imaginary, real_gradient, imaginary_gradient, learning_rate
            )
    return pictures_from_spectrum(real, imaginary, scale, colour_sqrt, width)


def _batched_fourier_ascent(
    feature_extractor,
    real_groups,
    imaginary_groups,
    index_groups,
    transform_groups,
    scale,
    colour_sqrt,
    value_range,
    learning_rate,
    width,
    neuron,
    adam,
):
    """:func:`_fourier_ascent` for independent groups, side by side."""
    return [
        _fourier_ascent(
            feature_extractor,
            real,
            imaginary,
            indices,
            transforms,
            scale,
            colour_sqrt,
            value_range,
            learning_rate,
            width,
            neuron,
            adam,
        )
        for real, imaginary, indices, transforms in zip(
            real_groups, imaginary_groups, index_groups, transform_groups
        )
    ]


def generate_feature_pictures(
    feature_extractor,
    filter_indices,
    *,
    image_size=96,
    steps=STEPS,
    learning_rate=LEARNING_RATE,
    seed=None,
    decay_power=DECAY_POWER,
    colour_sqrt=None,
    objective="channel",
    step_rule="normalized",
    jitter=JITTER,
    scale_range=SCALE_RANGE,
    max_angle=MAX_ANGLE,
    band=None,
    batch_size=16,
    group_size=4,
    progress=True,
):
    """One feature picture per unit: ascent on a Fourier, colour-decorrelated picture.

    Picture ``n`` climbs unit ``filter_indices[n]``'s loss, seen through a new
    random warp each step (see the module's docstring for the
    parameterization, the warps and how they differ from Lucid's). Batched as
    :func:`convviz_ref.filters.generate_regularized_patterns`: ``batch_size``
    units per traced call, in independent groups of ``group_size``; each
    picture's steps do not depend on the others in its batch.

    Args:
        feature_extractor: a model from images to a 4-D activation
            (:func:`convviz_ref.filters.build_feature_extractor`).
        filter_indices: sequence of int, channels of its output.
        image_size: int, the pictures' height and width (the model's input
            size, for a model with a fixed one).
        steps: int, ascent steps.
        learning_rate: float, the step's size on the spectrum (its
            root-mean-square per parameter; Adam's learning rate).
        seed: int or None, seeds the starting spectra and the warps.
        decay_power: float, see :func:`spectrum_scale`.
        colour_sqrt: float ``(3, 3)`` or None for
            :func:`training_colour_sqrt`; ``numpy.eye(3)`` leaves the colours
            correlated as the parameters are.
        objective: ``"channel"`` (mean activation over the map's interior)
            or ``"neuron"`` (the centre position).
        step_rule: ``"normalized"`` (:func:`normalized_step`) or ``"adam"``
            (:func:`adam_step`, Lucid's optimizer).
        jitter, scale_range, max_angle: the warps of
            :func:`random_transforms` (all 0: no transformation robustness).
        band: None, or ``(shortest, longest)`` periods in pixels: the
            picture holds only those (:func:`spectrum_scale`), a prior that
            keeps it to the periods the data draws
            (:func:`convviz_ref.picture_trial.data_band`): it then shows
            which of the data's textures excites the unit most, the question
            a dataset example answers, rather than what excites it most of
            all.
        batch_size, group_size: int, units per traced call and per group.
        progress: bool, show a progress bar over the batches.

    Returns:
        uint8 array ``(len(filter_indices), image_size, image_size, 3)``: the
        pictures (unwarped) as 0..255 colours, ``round(255 * (x - low) /
        (high - low))`` for ``x`` in the model's input range ``(low, high)``;
        no contrast stretching, the colours are the ones the model saw.

    Raises:
        ValueError: for a unit index out of range or none, a feature map too
            small for the loss, a size or ``steps`` that is not a positive
            integer, an unknown objective or step rule, a colour matrix not
            3x3, or a band as :func:`spectrum_scale` refuses.
    """
    filter_indices = np.asarray(filter_indices, dtype=np.int32)
    _check_ascent_arguments(feature_extractor, filter_indices)
    _check_sizes(
        image_size=image_size, steps=steps, batch_size=batch_size, group_size=group_size
    )
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if step_rule not in STEP_RULES:
        raise ValueError(f"step_rule must be one of {STEP_RULES}, got {step_rule!r}")
    scale = spectrum_scale(image_size, image_size, decay_power, band)
    colour_sqrt = training_colour_sqrt() if colour_sqrt is None else colour_sqrt
    colour_sqrt = np.asarray(colour_sqrt, dtype=np.float32)
    if colour_sqrt.shape != (3, 3):
        raise ValueError(f"colour_sqrt must be 3x3, got shape {colour_sqrt.shape}")
    count = len(filter_indices)
    rng = np.random.default_rng(seed)
    spectrum_shape = (count, 3, image_size, image_size // 2 + 1)
    start = (SPECTRUM_SD * rng.standard_normal((2, *spectrum_shape))).astype(np.float32)
    transforms = random_transforms(
        rng,
        steps,
        count,
        image_size,
        jitter=jitter,
        scale_range=scale_range,
        max_angle=max_angle,
    )
    constants = (
        tf.constant(scale),
        tf.constant(colour_sqrt),
        tf.constant(input_range(feature_extractor), tf.float32),
        tf.constant(float(learning_rate)),
        tf.constant(image_size),
        objective == "neuron",  # Python bools: one trace per objective and step
        step_rule == "adam",
    )
    pictures = []
    for groups in _batches(count, batch_size, group_size, progress):
        unit_pictures = _traced(_batched_fourier_ascent, feature_extractor)(
            [tf.constant(start[0, group]) for group in groups],
            [tf.constant(start[1, group]) for group in groups],
            [tf.constant(filter_indices[group]) for group in groups],
            [tf.constant(transforms[:, group]) for group in groups],
            *constants,
        )
        pictures.extend(group.numpy() for group in unit_pictures)
    return np.round(255.0 * np.concatenate(pictures)).astype(np.uint8)


def feature_picture_grid(
    model,
    layer_name=None,
    *,
    filters=None,
    filter_index=None,
    steps=STEPS,
    band=None,
    seed=0,
    progress=True,
):
    """One layer's feature pictures as one picture: ``convviz filters --fourier``.

    The units of :func:`convviz_ref.filters.filter_grid` (the same arguments
    and checks), each unit's :func:`generate_feature_pictures` picture whole
    and unstretched, stitched :data:`~convviz_ref.filters.GRID_COLUMNS` to a
    row; ``steps`` and ``band`` as :func:`generate_feature_pictures` takes
    them.

    Returns:
        :class:`~convviz_ref.filters.FilterGrid` ``(grid, indices, layer_name)``.

    Raises:
        ValueError: as :func:`convviz_ref.filters.filter_grid`, or for a band
            :func:`spectrum_scale` refuses.
    """
    extractor, layer_name, image_size, indices = grid_units(
        model, layer_name, filters=filters, filter_index=filter_index
    )
    pictures = generate_feature_pictures(
        extractor,
        indices,
        image_size=image_size,
        steps=steps,
        band=band,
        seed=seed,
        progress=progress,
    )
    grid = stitch(pictures, n_cols=min(GRID_COLUMNS, len(indices)))
    return FilterGrid(grid, indices, layer_name)
