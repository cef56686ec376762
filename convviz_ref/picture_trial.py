"""Feature pictures on trial: do they show the texture their unit detects?

A feature picture claims "this unit responds to this". Two measures test the
claim on units whose answer is known, the periodic-texture detectors that
Network Dissection finds on the crossed probe set (exact masks):

1. **The unit set, fixed first** (:func:`periodic_texture_units`): on each
   layer, the units that are detectors by both of
   :meth:`convviz_ref.dissection.Dissection.detectors`' rules (Bau's 0.04
   and the shuffled-mask null) and whose best concept is a periodic texture
   (:data:`PERIODIC_TEXTURES`: dots, checks or stripes, not the solid fill).
   The set is chosen before any picture is drawn.
2. **Texture recovery** (:func:`recovery_reference`, :func:`agrees`): each
   picture's dominant period and orientation
   (:func:`convviz_ref.spectrum.spectral_peak`) against those of the unit's
   top-activating crops from the test split. A picture agrees when its
   period is within 15 % of the crops' and its orientation within 15 degrees,
   modulo 90 for a lattice unit (dots, checks: two peaks 90 degrees apart)
   and 180 for stripes. The crops are :data:`CROP_SIZE` pixels, not the
   receptive field (15 px at ``block2``): the spectrum reads periods up to
   ``side / spectrum.MIN_CYCLES`` pixels, and the longest cycle the
   generator draws is a stripe pair, ``2 * 0.1 * 96 = 19.2`` px, so 40 px is
   the smallest even side that reads every texture. Every picture is
   measured on its central ``CROP_SIZE`` square, so picture and crops are
   read through the same window, at the same frequency resolution.
   :func:`texture_truth` gives each test image's true texture peak, to check
   that the crops' spectrum reads the right period (:func:`crop_truth_check`).
   The mark to compare with is a top crop's own (:func:`held_out_agreement`:
   each crop against the others), not 100 %: a unit that answers its texture
   at every orientation has crops that share none, and then any picture
   meets the orientation test by chance only.
3. **Two-choice score** (in the spirit of Zimmermann et al.'s Machine
   Interpretability Score, 2024, and Borowski et al.'s task, 2021): for a
   unit, each pair of one strongly and one weakly activating query crop (from
   test images disjoint from the reference crops' images) is answered by
   picking the query more similar to the reference; the score is the share
   of pairs answered right (:func:`two_choice_score`, ties count one half;
   chance is 50 %). The similarity is fixed, with no network
   (:func:`spectral_similarity`): the cosine between the images' power
   spectra, each the grey projection's (first colour principal component),
   mean removed, Hann windowed, ``|rfft2|^2`` with the frequencies under
   ``spectrum.MIN_CYCLES`` cycles per side zeroed. Why: a feature picture
   draws its texture at an arbitrary phase and place, in colours that are
   not a faithful claim (the Fourier pictures' colours are decorrelated), so
   the similarity must ignore position and colour and compare what a texture
   detector is about, periods and orientations: the power spectrum is
   exactly invariant to shifts (up to the window) and, after the grey
   projection, to the pair of colours. Without the low frequencies, an
   object's edge or a background gradient does not outweigh the texture.
   References are compared at equal numbers, as Borowski et al. do (9
   synthetic against 9 natural images, and a single one against a single
   one): one picture against one top crop (``"one_crop"``, the mean of the
   scores each of the unit's top crops gets alone); the score of all the
   top crops together (``"crops"``) is reported beside it, an upper mark a
   single picture is not expected to reach, since the crops' spectra,
   averaged, cover the orientations and colours one picture cannot.

Example:

>>> rows, cols = np.mgrid[0:40, 0:40]
>>> stripes = lambda period: np.cos(2 * np.pi * cols / period)
>>> two_choice_score([stripes(8.0)], [stripes(13.0)], [stripes(8.0)])
1.0
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from convviz_ref import spectrum

PERIODIC_TEXTURES = ("dotted", "checked", "striped")
"""The concepts whose detectors have a period to recover (not ``"solid"``)."""
LATTICES = ("dotted", "checked")
"""Textures with two peaks 90 degrees apart: their orientations compare mod 90."""
LAYERS = ("block1_sepconv1", "block1_sepconv2", "block2_sepconv1", "block2_sepconv2")
"""The early and middle layers of ``xception_like`` tried by default."""
CROP_SIZE = 40
"""Side, in pixels, of the crops and of the pictures' central window."""
PERIOD_TOLERANCE = 0.15
"""A picture agrees when its period is within this share of the crops'..."""
ANGLE_TOLERANCE = 15.0
"""...and its orientation within this many degrees."""
METHODS = ("fourier", "fourier_band", "plain", "regularized")
"""The pictures on trial: the Fourier pictures, free and held to the data's band
(:func:`data_band`), and the book's two ascents."""
REFERENCES = ("fourier", "fourier_band", "one_crop", "crops", "plain", "regularized")
"""The two-choice task's references: each picture, one top crop, all the top crops."""
COHERENT = 0.5
"""Crops whose orientations' mean vector is at least this long share one."""
NUM_REFERENCE_IMAGES = 500
"""Test images ``0..499`` give the reference crops, ``500..999`` the queries."""
NUM_QUERIES = 10
"""Strong and weak query crops per unit; every strong one meets every weak one."""
TUNING_PERIODS = tuple(range(3, 25))
"""Fill periods, in pixels, of the tuning sweep (the generator draws 5.8 to 9.6)."""
TUNING_DRAWS = 12
"""Random colour pairs and angles per period in the tuning sweep."""


# ----------------------------------------------------------------------------------
# The unit set


def periodic_texture_units(dissection):
    """The units of a dissected layer that detect a periodic texture.

    Args:
        dissection: a :class:`convviz_ref.dissection.Dissection`.

    Returns:
        ``(units, textures)``: int array of the units that are detectors by
        the rule ``"both"`` and whose best concept is in
        :data:`PERIODIC_TEXTURES`, ascending, and the list of their best
        concepts' names.
    """
    names = np.array(dissection.best_concept_names)
    chosen = dissection.detectors("both") & np.isin(names, PERIODIC_TEXTURES)
    units = np.flatnonzero(chosen)
    return units, names[units].tolist()


# ----------------------------------------------------------------------------------
# Texture recovery


def texture_modulo(texture):
    """90 for a lattice (dots, checks), 180 for stripes: how orientations compare."""
    return 90.0 if texture in LATTICES else 180.0


def expected_peak(texture, period, texture_angle):
    """The spectral peak the generator's fill should show.

    :func:`convviz_ref.data.texture_ink` in pixels: with ``p`` the fill's
    period (pixels) and ``theta`` its angle (degrees), dots sit on a square
    lattice of side ``p`` (peak: period ``p``, orientation ``theta``);
    stripes alternate every ``p`` (period ``2 p``, orientation ``theta``);
    checks of side ``p`` have their fundamental on the diagonals (period
    ``sqrt(2) p``, orientation ``theta + 45``).

    Returns:
        :class:`convviz_ref.spectrum.PeriodOrientation`, orientation in
        ``[0, 180)``.

    Raises:
        ValueError: for a texture not in :data:`PERIODIC_TEXTURES`.
    """
    factors = {"dotted": (1.0, 0.0), "striped": (2.0, 0.0), "checked": (2**0.5, 45.0)}
    if texture not in factors:
        raise ValueError(f"texture must be one of {PERIODIC_TEXTURES}, got {texture!r}")
    scale, turn = factors[texture]
    return spectrum.PeriodOrientation(scale * period, (texture_angle + turn) % 180.0)


def data_band(image_size=96):
    """The spectral periods, in pixels, of every fill the generator can draw.

    From :data:`convviz_ref.data.TEXTURE_PERIODS` (the fill's period as a
    share of the side) through :func:`expected_peak`: the shortest is the
    finest dot lattice's, the longest the coarsest stripes' (twice the
    period): ``(5.76, 19.2)`` at 96 pixels.

    Returns:
        ``(shortest, longest)``, floats.
    """
    from convviz_ref.data import TEXTURE_PERIODS

    periods = [
        expected_peak(texture, share * image_size, 0.0).period
        for texture in PERIODIC_TEXTURES
        for share in TEXTURE_PERIODS
    ]
    return min(periods), max(periods)


def texture_truth(index, *, split="test", image_size=96, seed=0):
    """Image ``index`` of ``load_shapes(split)``: its fill and its true peak.

    Draws the image's scene again (the generator of
    :func:`convviz_ref.data.draw_shapes`), without rendering it.

    Returns:
        ``(texture, peak, object_mask)``: the fill's name, its
        :func:`expected_peak` (None for a solid fill) and the object's bool
        ``(image_size, image_size)`` mask.
    """
    from convviz_ref import data

    scene = data.scene_of(split, index, seed=seed)
    obj = scene["objects"][0]
    texture = data.texture_name(obj)
    peak = None
    if texture in PERIODIC_TEXTURES:
        peak = expected_peak(
            texture, obj["period"] * image_size, np.degrees(obj["texture_angle"])
        )
    return texture, peak, data.shape_mask(obj, image_size)


def agrees(measured, reference, modulo):
    """Whether two peaks agree: period within 15 %, orientation within 15 degrees.

    Args:
        measured, reference: ``(period, orientation)`` pairs.
        modulo: 90 or 180 (:func:`texture_modulo`).

    Returns:
        bool: ``relative_period_error(measured, reference) <= PERIOD_TOLERANCE``
        and ``orientation_difference(..., modulo) <= ANGLE_TOLERANCE``.
    """
    angle = spectrum.orientation_difference(measured[1], reference[1], modulo)
    return period_agrees(measured[0], reference[0]) and bool(angle <= ANGLE_TOLERANCE)


def period_agrees(measured, reference):
    """Whether a period is within :data:`PERIOD_TOLERANCE` of a reference one.

    Returns:
        bool: ``relative_period_error(measured, reference) <= PERIOD_TOLERANCE``;
        False for NaN.
    """
    error = spectrum.relative_period_error(measured, reference)
    return bool(error <= PERIOD_TOLERANCE)


def recovery_reference(crops, modulo):
    """The crops' common peak: median period, circular mean orientation.

    Args:
        crops: array ``(count, S, S, C)`` (or ``(count, S, S)``).
        modulo: 90 or 180; orientations are averaged as angles
            ``2 pi theta / modulo`` on the circle.

    Returns:
        ``(period, orientation, coherence)``: the median of the crops'
        :func:`convviz_ref.spectrum.spectral_peak` periods, the orientation
        of the mean unit vector (in ``[0, modulo)``) and that vector's
        length, 1 when every crop has the same orientation and near 0 when
        they spread evenly.
    """
    return _common_peak([spectrum.spectral_peak(crop) for crop in crops], modulo)


def _common_peak(peaks, modulo):
    """:func:`recovery_reference` from the crops' ``(period, orientation, ...)``."""
    periods = np.array([peak[0] for peak in peaks])
    angles = np.radians([peak[1] for peak in peaks]) * (180.0 / modulo)
    mean = np.mean(np.exp(2j * angles))
    orientation = (np.degrees(np.angle(mean)) / 2.0 * modulo / 180.0) % modulo
    return float(np.median(periods)), float(orientation), float(np.abs(mean))


def held_out_agreement(crops, modulo):
    """How well a unit's own crops pass the recovery test: each against the rest.

    Each crop in turn plays the picture: its
    :func:`convviz_ref.spectrum.spectral_peak` against the
    :func:`recovery_reference` of the other crops, by :func:`agrees`. The
    crops are faithful by construction (they are what excites the unit), so
    this is the agreement a picture as good as a top crop would reach; where
    the crops share no orientation, the orientation test is met by chance
    only (about one time in three for a lattice, 15 of 45 degrees).

    Args:
        crops: array ``(count, S, S, C)``, ``count >= 3``; modulo: 90 or 180.

    Returns:
        ``(agree, period)``: the shares of the crops that agree, and that
        agree in period alone.

    Raises:
        ValueError: for fewer than three crops.
    """
    if len(crops) < 3:
        raise ValueError(f"need at least three crops, got {len(crops)}")
    peaks = [spectrum.spectral_peak(crop)[:2] for crop in crops]
    agree = period = 0
    for held_out, peak in enumerate(peaks):
        reference = _common_peak(peaks[:held_out] + peaks[held_out + 1 :], modulo)
        agree += agrees(peak, reference, modulo)
        period += period_agrees(peak[0], reference[0])
    return agree / len(crops), period / len(crops)


def picture_peak(image):
    """A picture's ``(period, orientation)``; ``(nan, nan)`` for a flat picture.

    :func:`convviz_ref.spectrum.spectral_peak` of the image; a picture of one
    colour (every channel constant: an ascent that saturated to a colour, or
    never moved) has no peak, and agrees with nothing (:func:`agrees` is
    False for NaN).
    """
    image = np.asarray(image, dtype=np.float64)
    pixels = image.reshape(-1, image.shape[-1]) if image.ndim == 3 else image.ravel()
    if not np.ptp(pixels, axis=0).any():
        return (np.nan, np.nan)
    return tuple(float(value) for value in spectrum.spectral_peak(image)[:2])


def central_window(image, size=CROP_SIZE):
    """The central ``size x size`` square of an ``(H, W, ...)`` image."""
    top = (image.shape[0] - size) // 2
    left = (image.shape[1] - size) // 2
    return image[top : top + size, left : left + size]


def crop_truth_check(crops, images, boxes, *, split="test", seed=0):
    """Whether the crops' spectrum reads the true texture of their image.

    A crop counts when its centre lies on the object and the object's fill
    is periodic; it reads right when its :func:`spectral_peak` agrees with
    :func:`texture_truth`'s peak (:func:`agrees`, modulo of the fill).

    Args:
        crops: array ``(k, S, S, C)``; images: int ``(k,)``, their image
            indices in the split; boxes: int ``(k, 2)``, their top-left
            ``(row, col)``.

    Returns:
        ``(right, counted)``: two ints.
    """
    right = counted = 0
    for crop, index, (row, col) in zip(crops, images, boxes):
        texture, truth, mask = texture_truth(int(index), split=split, seed=seed)
        size = crop.shape[0]
        if truth is None or not mask[row + size // 2, col + size // 2]:
            continue
        counted += 1
        peak = spectrum.spectral_peak(crop)
        right += agrees(peak[:2], truth, texture_modulo(texture))
    return right, counted


# ----------------------------------------------------------------------------------
# Two-choice score


def texture_spectrum(image):
    """The image's power spectrum with its DC neighbourhood zeroed.

    Formula: ``P`` of :func:`convviz_ref.spectrum.windowed_power` (the
    image's grey projection, mean removed, Hann windowed, ``|rfft2|^2``),
    set to 0 where ``|f| < MIN_CYCLES / min(H, W)``.

    Returns:
        float64 array ``(H, W // 2 + 1)``.
    """
    power, f_row, f_col = spectrum.windowed_power(image)
    radius = np.hypot(f_row, f_col)
    power[radius < spectrum.MIN_CYCLES / min(np.shape(image)[:2])] = 0.0
    return power


def power_spectrum(image):
    """The unit-norm power spectrum the two-choice similarity compares.

    Formula: :func:`texture_spectrum` flattened and divided by its l2 norm
    (all zeros for an image with no texture power).

    Args:
        image: array ``(H, W)`` or ``(H, W, C)``.

    Returns:
        float64 array ``(H * (W // 2 + 1),)``.
    """
    power = texture_spectrum(image)
    norm = np.linalg.norm(power)
    return (power / norm if norm > 0 else power).ravel()


def spectral_similarity(query, references):
    """Cosine between a query's power spectrum and the references' mean one.

    Formula: ``cos(P(q), mean_r P(r))`` with ``P`` :func:`power_spectrum`
    (unit norm), so each reference weighs the same; 0 when either has no
    texture power.

    Args:
        query: array ``(H, W[, C])``; references: sequence of arrays of the
            same ``H`` and ``W``.

    Raises:
        ValueError: for no reference, or a reference of another size.
    """
    if len(references) == 0:
        raise ValueError("need at least one reference image")
    query_spectrum = power_spectrum(query)
    spectra = [power_spectrum(reference) for reference in references]
    if any(item.shape != query_spectrum.shape for item in spectra):
        raise ValueError("the references and the query must have the same size")
    prototype = np.mean(spectra, axis=0)
    norm = np.linalg.norm(prototype) * np.linalg.norm(query_spectrum)
    return float(prototype @ query_spectrum / norm) if norm > 0 else 0.0


def two_choice_score(strong, weak, references):
    """The share of (strong, weak) query pairs the reference answers right.

    Every strong query meets every weak one; a pair is answered right when
    the strong query is the more similar to the references
    (:func:`spectral_similarity`), half right on a tie.

    Args:
        strong, weak: sequences of images ``(H, W[, C])``, queries that
            excite the unit strongly and weakly.
        references: sequence of images of the same size.

    Returns:
        float in ``[0, 1]``; 0.5 is chance.

    Raises:
        ValueError: for no strong or no weak query, or as
            :func:`spectral_similarity`.
    """
    if len(strong) == 0 or len(weak) == 0:
        raise ValueError("need at least one strong and one weak query")
    high = np.array([spectral_similarity(image, references) for image in strong])
    low = np.array([spectral_similarity(image, references) for image in weak])
    wins = (high[:, None] > low[None, :]) + 0.5 * (high[:, None] == low[None, :])
    return float(wins.mean())


def texture_power(image):
    """How much texture, of any period and orientation, an image holds.

    Formula: the sum of :func:`texture_spectrum` (the power outside the DC
    neighbourhood).
    """
    return float(texture_spectrum(image).sum())


def power_baseline(strong, weak):
    """The two-choice score with no reference: pick the query with more texture power.

    The share of (strong, weak) pairs whose strong query has the larger
    :func:`texture_power`, ties one half: what the task gives away to any
    reference that merely looks textured.
    """
    high = np.array([texture_power(image) for image in strong])
    low = np.array([texture_power(image) for image in weak])
    wins = (high[:, None] > low[None, :]) + 0.5 * (high[:, None] == low[None, :])
    return float(wins.mean())


def one_reference_score(strong, weak, references):
    """The two-choice score one reference gets alone, averaged over the references.

    Formula: ``mean_r two_choice_score(strong, weak, [r])``: the expected
    score of a single reference drawn from ``references``, to compare with a
    single picture at an equal number of references.

    Raises:
        ValueError: as :func:`two_choice_score`, or for no reference.
    """
    if len(references) == 0:
        raise ValueError("need at least one reference image")
    scores = [two_choice_score(strong, weak, [image]) for image in references]
    return float(np.mean(scores))


# ----------------------------------------------------------------------------------
# The trial


class UnitSet(NamedTuple):
    """One layer's periodic-texture detectors (:func:`select_units`).

    Attributes:
        layer: str; num_units: int, the layer's units; units: int array of
        the chosen units; textures: list of their best concepts' names.
    """

    layer: str
    num_units: int
    units: np.ndarray
    textures: list


class UnitTrial(NamedTuple):
    """The measures of one unit (:func:`try_pictures`).

    Attributes:
        layer, unit, texture: which unit, and its best concept.
        reference: ``(period, orientation, coherence)`` of its reference
            crops (:func:`recovery_reference`).
        peaks: dict method -> ``(period, orientation)`` of its picture's
            central window.
        agree: dict method -> bool (:func:`agrees` with ``reference``).
        scores: dict reference -> float, the two-choice score.
        truth: ``(right, counted)`` of :func:`crop_truth_check` on its
            reference crops.
        preferred: the spectral period of the fill of its texture it prefers
            (:func:`preferred_periods`); NaN if not measured.
        held_out: ``(agree, period)`` of :func:`held_out_agreement` on its
            reference crops; NaN if not measured.
        baseline: :func:`power_baseline` of its queries; NaN if not measured.
        tuning_draws: the fills per period behind ``preferred``.
    """

    layer: str
    unit: int
    texture: str
    reference: tuple
    peaks: dict
    agree: dict
    scores: dict
    truth: tuple
    preferred: float = float("nan")
    held_out: tuple = (float("nan"), float("nan"))
    baseline: float = float("nan")
    tuning_draws: int = TUNING_DRAWS


def select_units(model, layers=LAYERS, *, num_images=400, num_permutations=200, seed=0):
    """Dissect each layer on the crossed probe set; keep its periodic-texture detectors.

    Args:
        model: a shapes classifier (96x96 RGB in 0..255).
        layers: sequence of layer names with a spatial output.
        num_images, num_permutations, seed: as
            :func:`convviz_ref.dissection_report.dissect_layer`.

    Returns:
        list of :class:`UnitSet`, one per layer, in order.

    Raises:
        ValueError: as :func:`convviz_ref.dissection_report.dissect_layer`,
            for no layer, or a layer given twice.
    """
    from convviz_ref import dissection_report
    from convviz_ref.activations import check_spatial_layers

    layers = list(layers)
    if not layers or len(set(layers)) != len(layers):
        raise ValueError(f"layers must be distinct and at least one, got {layers}")
    check_spatial_layers(model, layers)
    unit_sets = []
    for layer in layers:
        _, results = dissection_report.dissect_layer(
            model,
            layer,
            num_images=num_images,
            num_permutations=num_permutations,
            seed=seed,
        )
        units, textures = periodic_texture_units(results["trained"])
        unit_sets.append(
            UnitSet(layer, results["trained"].iou.shape[0], units, textures)
        )
    return unit_sets


def format_unit_set(unit_sets):
    """The unit set as text: per layer, the detectors of each periodic texture."""
    lines = ["Periodic-texture detectors (Bau's 0.04 and the null), fixed first:"]
    for unit_set in unit_sets:
        counts = ", ".join(
            f"{texture} {unit_set.textures.count(texture)}"
            for texture in PERIODIC_TEXTURES
        )
        lines.append(
            f"  {unit_set.layer:<18}{len(unit_set.units):>4} of {unit_set.num_units:<4}"
            f"({counts})"
        )
    total = sum(len(unit_set.units) for unit_set in unit_sets)
    lines.append(f"  {'all':<18}{total:>4}")
    return "\n".join(lines)


def tuning_fills(
    texture, *, periods=TUNING_PERIODS, draws=TUNING_DRAWS, size=96, seed=0
):
    """Whole-frame fills of one texture, as the generator paints an object's.

    For each period ``p`` (pixels), ``draws`` fills with a random pair of
    colours (uniform in 0..255) and a random angle: the ink of
    :func:`convviz_ref.data.texture_ink` in the first colour, the rest in
    the second. The same colours and angles at every period (seeded).

    Returns:
        float32 array ``(len(periods), draws, size, size, 3)`` in 0..255.
    """
    from convviz_ref import data

    rng = np.random.default_rng(seed)
    colours = rng.uniform(0, 255, (draws, 2, 3))
    angles = rng.uniform(0, np.pi, draws)
    fills = np.empty((len(periods), draws, size, size, 3), np.float32)
    for row, period in enumerate(periods):
        for column, (pair, angle) in enumerate(zip(colours, angles)):
            fill = {"label": 0, "texture": texture, "texture_angle": angle}
            ink = data.texture_ink({**fill, "period": period / size}, size)
            fills[row, column] = np.where(ink[..., None], pair[0], pair[1])
    return fills


def preferred_periods(
    extractor, units, textures, *, periods=TUNING_PERIODS, draws=TUNING_DRAWS, seed=0
):
    """The spectral period of the fill each unit responds to most: its tuning peak.

    For each unit, its mean activation over the map's interior (the 2-pixel
    border left out, :func:`convviz_ref.filters.compute_loss`'s objective)
    on :func:`tuning_fills` of its own texture, averaged over the draws, at
    each period; the best period ``p`` is reported as the period its fill's
    spectrum peaks at (:func:`expected_peak`: ``p`` for dots, ``sqrt(2) p``
    for checks, ``2 p`` for stripes), to compare with pictures' and crops'
    spectral peaks. A feature picture climbs the same objective with no
    limit on the period, so a faithful picture should show this period
    even where it lies outside the 5.8 to 9.6 pixels the data draws.

    Returns:
        float array ``(len(units),)``.
    """
    units = np.asarray(units, int)
    best = np.empty(len(units))
    for texture in dict.fromkeys(textures):
        fills = tuning_fills(texture, periods=periods, draws=draws, seed=seed)
        flat = fills.reshape(-1, *fills.shape[2:])
        mine = np.array([name == texture for name in textures])
        responses = [
            np.asarray(extractor(flat[start : start + 32]))[:, 2:-2, 2:-2]
            for start in range(0, len(flat), 32)
        ]
        means = np.concatenate(responses)[..., units[mine]].mean(axis=(1, 2))
        curves = means.reshape(len(periods), draws, -1).mean(axis=1)
        peak = np.asarray(periods, float)[curves.argmax(axis=0)]
        best[mine] = [expected_peak(texture, p, 0.0).period for p in peak]
    return best


def draw_pictures(extractor, units, *, seed=0):
    """Each unit's three pictures: dict method -> array ``(len(units), H, W, 3)``.

    ``"fourier"``: :func:`convviz_ref.feature_pictures.generate_feature_pictures`
    (its defaults); ``"fourier_band"``: the same, held to :func:`data_band`;
    ``"plain"``: the book's 30-step plain ascent
    (:func:`convviz_ref.filters.generate_filter_patterns`);
    ``"regularized"``: :func:`convviz_ref.filters.generate_regularized_patterns`;
    all seeded by ``seed``.
    """
    from convviz_ref import feature_pictures, filters

    return {
        "fourier": feature_pictures.generate_feature_pictures(
            extractor, units, seed=seed, progress=False
        ),
        "fourier_band": feature_pictures.generate_feature_pictures(
            extractor, units, seed=seed, band=data_band(), progress=False
        ),
        "plain": filters.generate_filter_patterns(
            extractor, units, 30, seed=seed, progress=False
        ),
        "regularized": filters.generate_regularized_patterns(
            extractor, units, seed=seed, progress=False
        ),
    }


def try_pictures(
    model,
    unit_set,
    *,
    count=8,
    num_queries=NUM_QUERIES,
    num_images=NUM_REFERENCE_IMAGES,
    tuning_draws=TUNING_DRAWS,
    seed=0,
):
    """Both measures for every unit of one :class:`UnitSet`, and its tuning peak.

    Reference crops: each unit's ``count`` top-activating :data:`CROP_SIZE`
    crops of test images ``0..num_images-1``
    (:func:`convviz_ref.dataset_examples.top_activating_crops`). Queries:
    the same crops of test images ``num_images..2 num_images-1``, ranked by
    the unit's strongest activation in each image; the ``num_queries``
    first are the strong queries, the ``num_queries`` last the weak ones.
    Each unit's preferred period: :func:`preferred_periods`, with
    ``tuning_draws`` colour pairs and angles per period.

    Returns:
        ``(trials, pictures, crops)``: a list of :class:`UnitTrial`, the
        dict of :func:`draw_pictures` and the reference crops ``(units,
        count, S, S, 3)``.

    Raises:
        ValueError: ``count`` under 3 (:func:`held_out_agreement`), or
            ``num_images`` outside ``count..500`` or below ``2 num_queries``.
    """
    from convviz_ref import data, filters
    from convviz_ref.dataset_examples import top_activating_crops

    half = data.SPLIT_SIZES["test"] // 2
    if count < 3:
        raise ValueError(f"count must be at least 3 (crops held out), got {count}")
    if not max(count, 2 * num_queries) <= num_images <= half:
        raise ValueError(
            f"num_images must be in {max(count, 2 * num_queries)}..{half}, "
            f"got {num_images}"
        )
    test = data.load_shapes("test", 2 * num_images)
    units = unit_set.units
    extractor = filters.build_feature_extractor(model, unit_set.layer)
    pictures = draw_pictures(extractor, units, seed=seed)
    preferred = preferred_periods(
        extractor, units, unit_set.textures, draws=tuning_draws, seed=seed
    )
    examples = top_activating_crops(
        model,
        unit_set.layer,
        units,
        test.images[:num_images],
        count=count,
        size=CROP_SIZE,
    )
    queries = top_activating_crops(
        model,
        unit_set.layer,
        units,
        test.images[num_images:],
        count=num_images,
        size=CROP_SIZE,
    ).crops
    trials = []
    for row, (unit, texture) in enumerate(zip(units, unit_set.textures)):
        modulo = texture_modulo(texture)
        reference = recovery_reference(examples.crops[row], modulo)
        windows = {method: central_window(pictures[method][row]) for method in METHODS}
        peaks = {method: picture_peak(window) for method, window in windows.items()}
        strong, weak = queries[row, :num_queries], queries[row, -num_queries:]
        references = {"crops": examples.crops[row]}
        references.update({method: [window] for method, window in windows.items()})
        trials.append(
            UnitTrial(
                layer=unit_set.layer,
                unit=int(unit),
                texture=texture,
                reference=reference,
                peaks=peaks,
                agree={m: agrees(peaks[m], reference, modulo) for m in METHODS},
                scores={
                    **{
                        name: two_choice_score(strong, weak, references[name])
                        for name in REFERENCES
                        if name != "one_crop"
                    },
                    "one_crop": one_reference_score(strong, weak, examples.crops[row]),
                },
                truth=crop_truth_check(
                    examples.crops[row], examples.images[row], examples.boxes[row]
                ),
                preferred=float(preferred[row]),
                held_out=held_out_agreement(examples.crops[row], modulo),
                baseline=power_baseline(strong, weak),
                tuning_draws=tuning_draws,
            )
        )
    return trials, pictures, examples.crops


def format_trials(trials, *, seed=0):
    """Both measures as text: per method, recovery and two-choice, with intervals.

    Recovery: agreeing units / all, Wilson 95 % interval
    (:func:`convviz_ref.stats.proportion_interval`), the units whose period
    alone agrees, per layer the agreeing units and the flat pictures (no
    peak, :func:`picture_peak`), and the agreeing units among those whose
    crops share an orientation (:data:`COHERENT`). The ``one_crop`` row's
    recovery is the mean over units of :func:`held_out_agreement` (each top
    crop against the others), with a BCa bootstrap interval: what a picture
    as good as a top crop would reach. Then the score with no reference at
    all (:func:`power_baseline`). The Fourier pictures
    against the plain ascent, paired over units (bootstrap interval of the
    difference, McNemar's p). Two-choice: the mean score over units with
    its BCa bootstrap interval (units resampled: the units, not the pairs,
    are the sample the claim is about; a unit's pairs share its picture).

    Raises:
        ValueError: for fewer than two trials.
    """
    from convviz_ref import stats

    if len(trials) < 2:
        raise ValueError(
            f"need at least two units to put intervals on, got {len(trials)}"
        )
    n = len(trials)
    right = sum(trial.truth[0] for trial in trials)
    counted = sum(trial.truth[1] for trial in trials)
    coherence = np.median([trial.reference[2] for trial in trials])
    lines = [
        f"Reference crops ({CROP_SIZE} px) centred on the object read its true "
        f"texture: {right}/{counted}; median orientation coherence of a unit's "
        f"crops {coherence:.2f} (1: one orientation, 0: spread)",
        f"{n} units; agree: period within {PERIOD_TOLERANCE:.0%} and orientation "
        f"within {ANGLE_TOLERANCE:.0f} deg (mod 90 dots/checks, 180 stripes) of the "
        "crops' (one_crop: each top crop against the others', the mean share); "
        "two-choice chance 50 %",
        f"  {'picture':<12}{'recovery':>10}{'95% interval':>14}{'period only':>13}"
        f"{'two-choice':>12}{'95% interval':>16}",
    ]
    hits = {m: np.array([trial.agree[m] for trial in trials]) for m in METHODS}
    period_hits = {
        m: np.array(
            [period_agrees(trial.peaks[m][0], trial.reference[0]) for trial in trials]
        )
        for m in METHODS
    }
    scores = {r: np.array([trial.scores[r] for trial in trials]) for r in REFERENCES}
    held_out = np.array([trial.held_out for trial in trials], dtype=float)
    for name in REFERENCES:
        if name in hits:
            low, high = stats.proportion_interval(int(hits[name].sum()), n)
            recovery = (
                f"{int(hits[name].sum()):>6}/{n:<4}{low:>6.0%}-{high:<7.0%}"
                f"{int(period_hits[name].sum()):>8}/{n:<4}"
            )
        elif name == "one_crop" and not np.isnan(held_out).any():
            low, high = stats.mean_interval(held_out[:, 0], seed=seed)
            recovery = (
                f"{held_out[:, 0].mean():>10.0%}{low:>6.0%}-{high:<7.0%}"
                f"{held_out[:, 1].mean():>9.0%}{'':>4}"
            )
        else:
            recovery = f"{'-':>10}{'':>14}{'-':>9}{'':>4}"
        low, high = stats.mean_interval(scores[name], seed=seed)
        lines.append(
            f"  {name:<12}{recovery}{scores[name].mean():>12.1%}{low:>9.1%}-{high:.1%}"
        )
    baseline = np.array([trial.baseline for trial in trials], dtype=float)
    if not np.isnan(baseline).any():
        low, high = stats.mean_interval(baseline, seed=seed)
        lines.append(
            f"  {'no reference: the query with more texture power':<52}"
            f"{baseline.mean():>12.1%}{low:>9.1%}-{high:.1%}"
        )
    for layer in dict.fromkeys(trial.layer for trial in trials):
        mine = [trial for trial in trials if trial.layer == layer]
        cells = ", ".join(
            f"{m} {sum(t.agree[m] for t in mine)} "
            f"({sum(np.isnan(t.peaks[m][0]) for t in mine)} flat)"
            for m in METHODS
        )
        means = " ".join(
            f"{np.mean([t.scores[name] for t in mine]):.0%}" for name in REFERENCES
        )
        lines.append(
            f"  {layer} ({len(mine)} units) agree: {cells}; two-choice "
            f"{'/'.join(REFERENCES)} {means}"
        )
    oriented = [trial for trial in trials if trial.reference[2] >= COHERENT]
    cells = ", ".join(f"{m} {sum(t.agree[m] for t in oriented)}" for m in METHODS)
    lines.append(
        f"  units whose crops share an orientation (coherence >= {COHERENT}): "
        f"{len(oriented)}; agree: {cells}"
    )
    for new in ("fourier", "fourier_band"):
        lines.extend(_differences(new, hits, period_hits, scores, seed))
    lines.extend(format_tuning(trials))
    return "\n".join(lines)


def _differences(new, hits, period_hits, scores, seed):
    """Lines: a new picture against the plain ascent and the crops, paired by unit."""
    from convviz_ref import stats

    lines = []
    for name, agreed in (("recovery", hits), ("period only", period_hits)):
        low, high = stats.paired_difference_interval(
            agreed[new], agreed["plain"], seed=seed
        )
        gain = agreed[new].mean() - agreed["plain"].mean()
        p_value = stats.mcnemar_p(agreed[new], agreed["plain"])
        lines.append(
            f"  {name} {new} - plain: {gain:+.0%} [{low:+.0%}, {high:+.0%}], "
            f"McNemar p = {p_value:.2g}"
        )
    for other in ("one_crop", "crops", "plain"):
        low, high = stats.paired_difference_interval(
            scores[new], scores[other], seed=seed
        )
        difference = scores[new].mean() - scores[other].mean()
        lines.append(
            f"  two-choice {new} - {other}: {difference:+.1%} [{low:+.1%}, {high:+.1%}]"
        )
    return lines


def format_tuning(trials):
    """Lines: whose period is within 15 % of each unit's preferred period.

    First how many units prefer a period outside :func:`data_band` (which
    no crop can show); then the crops' and each picture's period against
    the preferred one (:func:`preferred_periods`), as agreeing units /
    measured units with a Wilson 95 % interval. Units whose preferred period
    was not measured are left out.
    """
    from convviz_ref import stats

    measured = [trial for trial in trials if not np.isnan(trial.preferred)]
    if not measured:
        return []
    periods = {"crops": [trial.reference[0] for trial in measured]}
    periods.update({m: [trial.peaks[m][0] for trial in measured] for m in METHODS})
    lines = [
        f"Preferred period (the unit's strongest mean response over fills of its "
        f"texture at {TUNING_PERIODS[0]}-{TUNING_PERIODS[-1]} px, "
        f"{measured[0].tuning_draws} "
        f"colour pairs and angles each): {len(measured)} units; median "
        f"{np.median([trial.preferred for trial in measured]):.1f} px against the "
        f"crops' {np.median(periods['crops']):.1f} px"
    ]
    shortest, longest = data_band()
    preferred = np.array([trial.preferred for trial in measured])
    lines.append(
        f"  preferred period outside the data's band ({shortest:.1f}-{longest:.1f} "
        f"px): shorter {int((preferred < shortest).sum())}, longer "
        f"{int((preferred > longest).sum())} of {len(measured)}"
    )
    for name, values in periods.items():
        hits = sum(
            period_agrees(value, trial.preferred)
            for value, trial in zip(values, measured)
        )
        low, high = stats.proportion_interval(int(hits), len(measured))
        lines.append(
            f"  {name:<12} period within {PERIOD_TOLERANCE:.0%} of the preferred: "
            f"{hits}/{len(measured)} ({low:.0%}-{high:.0%})"
        )
    return lines


def format_unit_trials(trials):
    """One line per unit: its crops' peak, each picture's peak and scores."""
    lines = [
        f"  {'layer':<16}{'unit':>5} {'texture':<8}{'crops (coherence)':>17}"
        + "".join(f"{method:>15}" for method in METHODS)
        + "  two-choice "
        + "/".join(REFERENCES)
    ]
    for trial in trials:
        period, orientation, coherence = trial.reference
        cells = "".join(
            f"{trial.peaks[m][0]:>6.1f}/{trial.peaks[m][1]:>5.1f}"
            f"{'+' if trial.agree[m] else ' ':>3}"
            for m in METHODS
        )
        scores = " ".join(f"{trial.scores[name]:.2f}" for name in REFERENCES)
        lines.append(
            f"  {trial.layer:<16}{trial.unit:>5} {trial.texture:<8}"
            f"{period:>6.1f}/{orientation:>5.1f} {coherence:.1f}{cells}  {scores}"
        )
    return "\n".join(lines)


def _viewable(image):
    """An image stretched to 0..1 for display (its own minimum and maximum)."""
    image = np.asarray(image, dtype=np.float64)
    span = np.ptp(image)
    return (image - image.min()) / span if span > 0 else np.zeros_like(image)


def plot_trial(examples, *, num_crops=4):
    """A few units: their top crops, then their three pictures' central windows.

    Args:
        examples: list of ``(trial, crops, pictures)``: a :class:`UnitTrial`,
            its reference crops ``(count, S, S, 3)`` and dict method ->
            its picture ``(H, W, 3)``.
        num_crops: int, crops shown per unit.

    Returns:
        a ``matplotlib.figure.Figure``: one row per unit, titled with each
        tile's period (px) and orientation (degrees); ``+`` marks a picture
        that agrees with the crops.
    """
    from matplotlib.figure import Figure

    columns = num_crops + len(METHODS)
    fig = Figure(
        figsize=(1.3 * columns, 1.5 * len(examples) + 0.3), layout="constrained"
    )
    axes = fig.subplots(len(examples), columns, squeeze=False)
    for row, (trial, crops, pictures) in zip(axes, examples):
        for ax, crop in zip(row[:num_crops], crops):
            peak = spectrum.spectral_peak(crop)
            ax.imshow(_viewable(crop))
            ax.set_title(f"{peak.period:.1f}/{peak.orientation:.0f}", fontsize=7)
        row[0].set_ylabel(f"{trial.layer}\n{trial.unit} {trial.texture}", fontsize=7)
        for ax, method in zip(row[num_crops:], METHODS):
            ax.imshow(_viewable(central_window(pictures[method])))
            period, orientation = trial.peaks[method]
            mark = "+" if trial.agree[method] else ""
            ax.set_title(f"{method} {period:.1f}/{orientation:.0f}{mark}", fontsize=7)
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
    return fig
