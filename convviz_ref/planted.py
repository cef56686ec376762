"""Planted units: a sanity check of Network Dissection with a known answer.

Hand-made kernels are written into chosen units of a trained convolution
(:func:`convviz_ref.dissection.plant_units`), the layer is dissected on the
crossed probe set as ``convviz dissect`` does
(:func:`convviz_ref.dissection_report.dissect_layer`), and each planted unit's
best concept is compared with the concept its kernel was made for.

Two kinds of planted units, each in a trained layer of ``xception_like``:

- **kernels** (:data:`PLANTED_KERNELS`: dark dots, dark checks) in
  ``entry_conv``, its one spatial ``Conv2D`` (5x5, on the image). The
  convolution pads the image with zeros, so at the border a flat image
  (values >= 0) meets a black frame; a kernel ``K`` answers there with
  ``b * sum(K over the pixels inside the image)``. Every kernel here has a
  dark centre and a bright surround, so that :func:`frame_response` (its
  largest response to a flat white image) is not above 0, and the unit's top
  0.5 % do not land on the ``background`` concept;
- **an orientation circuit** (:func:`plant_circuit`, :data:`CIRCUIT_UNITS`)
  through the first two blocks. The data's stripes are 6 to 10 pixels wide
  at any angle, wider than a 5x5 kernel, which sees one edge of them, as it
  does in a check or a dot's rim: a single kernel cannot tell them apart
  (a dark bar's light sides answer to a dark dot's surround too). What tells
  them apart is the area around: one orientation over 10 pixels in stripes,
  two orthogonal ones in checks, all of them in dots. So the circuit
  measures orientation first and compares orientations after pooling:

  1. ``entry_conv`` units :data:`ORIENTATION_CHANNELS`: dark bars
     (:func:`oriented_bar`) at 0, 45, 90 and 135 degrees, ``E_theta``;
  2. ``block1_bn1``, ``block1_bn2``, ``block2_bn1``, ``block2_bn2`` set to
     the identity on those channels, so each ReLU rectifies them as they are;
     ``block1_sepconv1`` and ``block1_sepconv2`` carry each channel alone
     through a 3x3 box blur, ``block1_pool`` takes the 3x3 maximum with
     stride 2, ``block1_projection`` adds nothing to them;
  3. ``block2_sepconv1`` (3x3 box blur at half resolution, then the
     pointwise step): the pooled energies ``P_theta`` (about 11 pixels
     wide) and their opponents ``D_theta = P_theta - P_(theta+90)``, zero
     where both orientations are alike over that area (a flat fill, a
     centred dot);
  4. ``block2_sepconv2`` (centre-delta depthwise): the planted units, sums
     of rectified signals, ``sum_theta max(D_theta, 0)``: stripes at any
     angle, or near two of them.

Each planted unit is dissected in its own layer on the crossed probe set
as ``convviz dissect`` does
(:func:`convviz_ref.dissection_report.dissect_layer`);
:func:`planted_rows` reports it found only when its best concept is the
intended one and it is a detector by both rules.

Example (a dark-centre kernel is blind to the frame, its negative is not):

>>> kernel = PLANTED_KERNELS[0].kernel()
>>> kernel.shape, frame_response(kernel) <= 1e-6, frame_response(-kernel) > 0.5
((5, 5), True, True)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

PLANTED_LAYER = "entry_conv"
"""The layer of ``xception_like`` the units are planted in and dissected."""


def _unit_norm(template):
    """``template`` minus its mean, divided by its norm: float32."""
    template = np.asarray(template, np.float64) - np.mean(template)
    return (template / np.linalg.norm(template)).astype(np.float32)


def dark_dot(period):
    """A dark dot in a light surround: ``-texture_kernel("dots", 5, period)``."""
    from convviz_ref.dissection import texture_kernel

    return -texture_kernel("dots", 5, period)


def dark_check(corner_weight=2.0):
    """A dark square with light sides and dark diagonals: a 5x5 check centre.

    Template: ``-1`` on the centre 3x3, ``-corner_weight`` on the four
    corners (the diagonal squares, dark in checks and light around a dot),
    ``b = (9 + 4 * corner_weight) / 12`` on the twelve other border pixels
    (zero sum); then zero mean, unit norm.
    """
    side = (9 + 4 * corner_weight) / 12
    template = np.full((5, 5), side)
    template[1:4, 1:4] = -1.0
    template[::4, ::4] = -corner_weight
    return _unit_norm(template)


def oriented_bar(angle, width=3.0):
    """A dark bar ``width`` pixels wide across a 5x5 kernel, at ``angle`` degrees.

    Template: ``-1`` where ``|v| <= width / 2`` with ``v = -x sin(angle) +
    y cos(angle)`` (pixels from the centre; 0 degrees: a horizontal bar),
    ``+1`` elsewhere; then zero mean, unit norm, float32 ``(5, 5)``. At 0 and
    90 degrees it is blind to the frame; at 45 and 135 it answers to the
    frame's corners and sides, equally at 45 and 135 on a side, so their
    opponents (:func:`plant_circuit`) cancel there.
    """
    offsets = np.arange(5) - 2.0
    y, x = np.meshgrid(offsets, offsets, indexing="ij")
    theta = np.radians(angle)
    v = -x * np.sin(theta) + y * np.cos(theta)
    return _unit_norm(np.where(np.abs(v) <= width / 2, -1.0, 1.0))


class PlantedKernel(NamedTuple):
    """One planted unit: the concept it is made for and how its kernel is made."""

    concept: str
    name: str
    make: object
    arguments: tuple

    def kernel(self):
        """float32 ``(5, 5)``, zero mean, unit norm."""
        return self.make(*self.arguments)

    def frame(self):
        """The kernel's :func:`frame_response`."""
        return frame_response(self.kernel())


PLANTED_KERNELS = (
    PlantedKernel("dotted", "dark dot, period 4", dark_dot, (4.0,)),
    PlantedKernel("dotted", "dark dot, period 6", dark_dot, (6.0,)),
    PlantedKernel("dotted", "dark dot, period 7", dark_dot, (7.0,)),
    PlantedKernel("dotted", "dark dot, period 8", dark_dot, (8.0,)),
    PlantedKernel("checked", "dark check, corners 2", dark_check, (2.0,)),
    PlantedKernel("checked", "dark check, corners 1.75", dark_check, (1.75,)),
)
"""The kernels planted into units 0, 1, ... of :data:`PLANTED_LAYER`, all
different (on a 5x5 grid, dots of periods 7.5 to 9 give one kernel)."""


ORIENTATIONS = (0, 45, 90, 135)
"""The circuit's orientations, in degrees; each has its opponent at +90."""
ORIENTATION_CHANNELS = (6, 7, 8, 9)
"""The channels carrying the orientations, one per entry of :data:`ORIENTATIONS`,
from ``entry_conv`` to ``block2_sepconv1``."""
CIRCUIT_LAYER = "block2_sepconv2"
"""The layer of the circuit's planted units (:data:`CIRCUIT_UNITS`)."""
CIRCUIT_LAYERS = (
    "block1_bn1",
    "block1_sepconv1",
    "block1_bn2",
    "block1_sepconv2",
    "block1_projection",
    "block2_bn1",
    "block2_sepconv1",
    "block2_bn2",
    CIRCUIT_LAYER,
)
"""The layers the circuit sets, after ``entry_conv``, in order."""


POOLED_CHANNELS = (10, 11, 12, 13)
"""The ``block2_sepconv1`` units carrying the pooled energies ``P_theta``, one
per entry of :data:`ORIENTATIONS`."""


class CircuitUnit(NamedTuple):
    """A planted unit of :data:`CIRCUIT_LAYER` (:func:`plant_circuit`).

    ``weights`` maps a signal to its pointwise weight: ``"D<angle>"`` is
    ``max(D_angle, 0)``, the rectified opponent, and ``"P<angle>"`` the
    pooled energy ``P_angle`` (>= 0), for the angles of :data:`ORIENTATIONS`.
    """

    concept: str
    name: str
    weights: dict

    def frame(self):
        """None: a circuit has no single kernel to hold against the frame."""
        return None


CIRCUIT_UNITS = (
    CircuitUnit(
        "striped",
        "stripes, any angle",
        dict.fromkeys(["D0", "D45", "D90", "D135"], 1.0),
    ),
    CircuitUnit("striped", "stripes, 0/90 degrees", {"D0": 1.0, "D90": 1.0}),
    CircuitUnit("striped", "stripes, 45/135 degrees", {"D45": 1.0, "D135": 1.0}),
)
"""The units planted into units 0, 1, ... of :data:`CIRCUIT_LAYER`: rectified
opponents summed, zero where every orientation is as strong as its orthogonal
one over the pooled area (a flat fill; a pattern unchanged by a quarter turn
about the point)."""


def _identity_batchnorm(layer, channels):
    """Set a ``BatchNormalization`` to pass ``channels`` through unchanged.

    ``gamma = 1``, ``beta = 0``, moving mean 0 and moving variance
    ``1 - epsilon``, so ``(x - 0) / sqrt(1 - epsilon + epsilon) = x``.
    """
    gamma, beta, mean, variance = layer.get_weights()
    gamma[channels], beta[channels], mean[channels] = 1.0, 0.0, 0.0
    variance[channels] = 1.0 - layer.epsilon
    layer.set_weights([gamma, beta, mean, variance])


def _set_separable(layer, channels, depthwise, pointwise):
    """Set a ``SeparableConv2D``'s depthwise kernel on ``channels`` and units.

    Args:
        layer: a ``keras.layers.SeparableConv2D`` without bias.
        channels: input channels whose 3x3 depthwise kernel becomes
            ``depthwise``.
        depthwise: array ``(3, 3)``.
        pointwise: dict ``{unit: {input channel: weight}}``; the unit's other
            pointwise weights become 0.
    """
    depth, point = layer.get_weights()
    depth[:, :, list(channels), 0] = np.asarray(depthwise, np.float32)[..., None]
    for unit, weights in pointwise.items():
        point[0, 0, :, unit] = 0.0
        for channel, weight in weights.items():
            point[0, 0, channel, unit] = weight
    layer.set_weights([depth, point])


def _check_circuit_layers(model, units):
    """Raise ValueError unless ``model`` has every circuit layer, wide enough."""
    names = {layer.name for layer in model.layers}
    for name in (PLANTED_LAYER, *CIRCUIT_LAYERS):
        if name not in names:
            raise ValueError(
                f"--planted plants a circuit through {name!r} "
                "(of xception_like); this model has none"
            )
    needs = dict.fromkeys((PLANTED_LAYER, *CIRCUIT_LAYERS), max(ORIENTATION_CHANNELS))
    needs.update(dict.fromkeys(("block2_sepconv1", "block2_bn2"), max(POOLED_CHANNELS)))
    needs[CIRCUIT_LAYER] = len(units) - 1
    for name, channel in needs.items():
        width = model.get_layer(name).output.shape[-1]
        if width <= channel:
            raise ValueError(
                f"the circuit needs channel {channel} in {name!r}, which has {width}"
            )
    signals = {f"{kind}{angle}" for kind in "DP" for angle in ORIENTATIONS}
    unknown = sorted({name for unit in units for name in unit.weights} - signals)
    if unknown:
        raise ValueError(
            f"unknown circuit signal {unknown[0]!r}; choose from {sorted(signals)}"
        )


def plant_circuit(model, units=CIRCUIT_UNITS):
    """A copy of ``model`` with the orientation circuit planted (module doc).

    Formula, with ``c_theta`` the channel of :data:`ORIENTATION_CHANNELS`
    and ``p_theta`` the one of :data:`POOLED_CHANNELS` for orientation
    ``theta``, ``B`` a 3x3 box blur with zero padding and ``M`` the 3x3
    stride-2 max-pooling:

    - ``entry_conv`` unit ``c_theta``: ``E_theta = oriented_bar(theta) *
      image`` (grey, as :func:`convviz_ref.dissection.plant_units` does);
    - ``block2_sepconv1`` unit ``p_theta``: ``P_theta = B(M(B(B(relu
      E_theta))))``, and unit ``c_theta``: ``D_theta = P_theta -
      P_(theta+90)``;
    - :data:`CIRCUIT_LAYER` unit ``k``: ``sum_s units[k].weights[s] *
      relu(s)`` over the signals ``D_theta``, ``P_theta``.

    The other units keep their trained weights (those that read the circuit's
    channels read its values).

    Args:
        model: a trained ``xception_like`` (``keras.Model``); not changed.
        units: sequence of :class:`CircuitUnit`, planted into units 0, 1, ...
            of :data:`CIRCUIT_LAYER`.

    Returns:
        a new ``keras.Model``.

    Raises:
        ValueError: a model without one of the layers, layers with too few
            channels, or a unit with an unknown signal.
    """
    from convviz_ref import dissection

    _check_circuit_layers(model, units)
    oriented, pooled = list(ORIENTATION_CHANNELS), list(POOLED_CHANNELS)
    planted = dissection.plant_units(
        model,
        PLANTED_LAYER,
        [oriented_bar(angle) for angle in ORIENTATIONS],
        units=oriented,
    )
    box = np.full((3, 3), 1 / 9, np.float32)
    delta = np.zeros((3, 3), np.float32)
    delta[1, 1] = 1.0
    carry = {channel: {channel: 1.0} for channel in oriented}
    channel = dict(zip(ORIENTATIONS, oriented, strict=True))
    signals = {f"D{angle}": channel[angle] for angle in ORIENTATIONS}
    signals.update(
        {f"P{angle}": p for angle, p in zip(ORIENTATIONS, pooled, strict=True)}
    )
    block2 = {signals[f"P{angle}"]: {channel[angle]: 1.0} for angle in ORIENTATIONS} | {
        channel[angle]: {channel[angle]: 1.0, channel[(angle + 90) % 180]: -1.0}
        for angle in ORIENTATIONS
    }
    sums = {
        index: {signals[name]: weight for name, weight in unit.weights.items()}
        for index, unit in enumerate(units)
    }
    layer = planted.get_layer
    _identity_batchnorm(layer("block1_bn1"), oriented)
    _set_separable(layer("block1_sepconv1"), oriented, box, carry)
    _identity_batchnorm(layer("block1_bn2"), oriented)
    _set_separable(layer("block1_sepconv2"), oriented, box, carry)
    (projection,) = layer("block1_projection").get_weights()
    projection[..., oriented] = 0.0
    layer("block1_projection").set_weights([projection])
    _identity_batchnorm(layer("block2_bn1"), oriented)
    _set_separable(layer("block2_sepconv1"), oriented, box, block2)
    _identity_batchnorm(layer("block2_bn2"), oriented + pooled)
    _set_separable(layer(CIRCUIT_LAYER), oriented + pooled, delta, sums)
    return planted


def frame_response(kernel, size=96):
    """The largest response of ``kernel`` to a flat white image with zero padding.

    Formula: ``max`` over positions of ``sum K[a, b] * x[i + a, j + b]`` with
    ``x = 1`` inside the ``size x size`` image and 0 outside (a "same"
    convolution). Inside the image a zero-mean kernel gives 0, so this is the
    response to the image's frame; a planted unit should have it at most 0.

    Args:
        kernel: array ``(kh, kw)``.
        size: int, the image's side.

    Returns:
        float.
    """
    from scipy import signal

    kernel = np.asarray(kernel, np.float64)
    image = np.ones((size, size))
    return float(signal.correlate2d(image, kernel, mode="same").max())


class PlantedRow(NamedTuple):
    """One planted unit's verdict (:func:`planted_rows`)."""

    layer: str
    unit: int
    name: str
    intended: str
    found: str
    iou: float
    null_threshold: float
    detector: bool

    @property
    def right(self):
        """True when the unit is a detector (both rules) of its intended concept."""
        return self.detector and self.found == self.intended


def planted_rows(result, kernels=PLANTED_KERNELS, units=None, *, layer=PLANTED_LAYER):
    """Each planted unit's intended concept against what dissection found.

    Args:
        result: a :class:`convviz_ref.dissection.Dissection` of the layer.
        kernels: sequence of planted units with a ``concept`` and a ``name``
            (:class:`PlantedKernel`, :class:`CircuitUnit`).
        units: the planted units, one per kernel (default 0, 1, ...).
        layer: str, the layer's name, copied to the rows.

    Returns:
        list of :class:`PlantedRow`; a row is ``right`` when the unit's best
        concept is the intended one and it is a detector by both rules
        (``IoU > 0.04`` and above the null's 99th percentile).

    Raises:
        ValueError: an intended concept the dissection does not score, or
            units not one per kernel or out of range.
    """
    units = list(range(len(kernels))) if units is None else list(units)
    count = result.iou.shape[0]
    if len(units) != len(kernels) or not all(0 <= unit < count for unit in units):
        raise ValueError(
            f"need one unit in 0..{count - 1} per kernel, got units {units} "
            f"for {len(kernels)} kernels"
        )
    unknown = sorted({k.concept for k in kernels} - set(result.concept_names))
    if unknown:
        raise ValueError(
            f"planted concept {unknown[0]!r} is not among the dissected concepts "
            f"{list(result.concept_names)}"
        )
    names, best, null, detectors = (
        result.best_concept_names,
        result.best_iou,
        result.null_threshold,
        result.detectors("both"),
    )
    return [
        PlantedRow(
            layer=layer,
            unit=unit,
            name=kernel.name,
            intended=kernel.concept,
            found=names[unit],
            iou=float(best[unit]),
            null_threshold=float(null[unit]),
            detector=bool(detectors[unit]),
        )
        for unit, kernel in zip(units, kernels, strict=True)
    ]


def plant_and_dissect(
    model,
    *,
    kernels=PLANTED_KERNELS,
    circuit=CIRCUIT_UNITS,
    num_images=400,
    num_permutations=200,
    seed=0,
):
    """Plant the kernels and the circuit, and dissect the two layers.

    Units ``0 .. len(kernels) - 1`` of :data:`PLANTED_LAYER` get the
    kernels (bias 0); :func:`plant_circuit` plants ``circuit`` into
    units ``0 .. len(circuit) - 1`` of :data:`CIRCUIT_LAYER`. The other units,
    and every other layer, keep their trained weights.

    Args:
        model: a trained ``xception_like`` (``keras.Model``); not changed.
        kernels: sequence of :class:`PlantedKernel` (5x5).
        circuit: sequence of :class:`CircuitUnit`.
        num_images, num_permutations, seed: as in
            :func:`convviz_ref.dissection_report.dissect_layer`.

    Returns:
        ``(results, rows)``: ``{layer name: Dissection}`` for
        :data:`PLANTED_LAYER` and :data:`CIRCUIT_LAYER`, and the rows of
        :func:`planted_rows` for the kernels then the circuit's units.

    Raises:
        ValueError: a model without one of the layers, or layers of too few
            channels.
    """
    from convviz_ref import dissection_report

    planted = plant_circuit(model, circuit)  # checks the layers first
    planted = _plant_kernels(planted, kernels)
    results, rows = {}, []
    for layer_name, planted_here in (
        (PLANTED_LAYER, kernels),
        (CIRCUIT_LAYER, circuit),
    ):
        _, dissected = dissection_report.dissect_layer(
            planted,
            layer_name,
            num_images=num_images,
            num_permutations=num_permutations,
            seed=seed,
        )
        results[layer_name] = dissected["trained"]
        rows += planted_rows(results[layer_name], planted_here, layer=layer_name)
    return results, rows


def _plant_kernels(model, kernels):
    """``model`` with ``kernels`` in units 0, 1, ... of :data:`PLANTED_LAYER`."""
    from convviz_ref import dissection

    overlap = sorted(set(range(len(kernels))) & set(ORIENTATION_CHANNELS))
    if overlap:
        raise ValueError(
            f"{len(kernels)} kernels would overwrite the circuit channels {overlap}"
        )
    return dissection.plant_units(
        model, PLANTED_LAYER, [kernel.kernel() for kernel in kernels]
    )


def format_planted(rows, kernels):
    """The planted units as text: one line each, then the share found right.

    Args:
        rows: list of :class:`PlantedRow`.
        kernels: the planted units of the rows, in order (their ``frame()``:
            a kernel's :func:`frame_response`, ``-`` for a circuit).
    """
    lines = [
        "Planted units (set by hand inside the trained model; the layers' other "
        "units trained)",
        f"  {'layer':<16}{'unit':>4}  {'planted':<24}{'frame':>7}  {'intended':<10}"
        f"{'found':<12}{'IoU':>7}{'null 99%':>10}{'detector':>10}{'right':>7}",
    ]
    for row, kernel in zip(rows, kernels, strict=True):
        frame = kernel.frame()
        frame = "-" if frame is None else f"{round(frame, 6) + 0.0:.2f}"  # no "-0.00"
        lines.append(
            f"  {row.layer:<16}{row.unit:>4}  {row.name:<24}{frame:>7}"
            f"  {row.intended:<10}{row.found:<12}{row.iou:>7.3f}"
            f"{row.null_threshold:>10.3f}{'yes' if row.detector else 'no':>10}"
            f"{'yes' if row.right else 'no':>7}"
        )
    right = sum(row.right for row in rows)
    lines.append(f"planted units found with the right concept: {right}/{len(rows)}")
    return "\n".join(lines)
