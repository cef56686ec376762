"""Planted units: a sanity check of Network Dissection with a known answer.

Hand-made kernels are written into chosen units of a trained convolution
(:func:`convviz_ref.dissection.plant_units`), the layer is dissected on the
crossed probe set as ``convviz dissect`` does
(:func:`convviz_ref.dissection_report.dissect_layer`), and each planted unit's
best concept is compared with the concept its kernel was made for.

The layer is ``entry_conv`` of ``xception_like``, its one spatial ``Conv2D``
(5x5, on the image; the separable convolutions share one depthwise kernel
per input channel among all their units, so a unit of theirs cannot be set
alone). Two constraints shape the kernels (:data:`PLANTED_KERNELS`):

- **the frame**: the convolution pads the image with zeros, so at the border
  a flat image (values >= 0) meets a black frame. A kernel ``K`` answers
  there with ``b * sum(K over the pixels inside the image)``; a bar or dot
  with a bright centre answers positively all along the frame, and its top
  0.5 % land on the ``background`` concept. Every kernel here has a dark
  centre and a bright surround, so that :func:`frame_response` (its largest
  response to a flat white image) is not above 0;
- **what a 5x5 linear kernel can tell apart**: its response grows with the
  contrast of the fill's two colours (random), a bar answers to stripes
  near one angle only (the data's stripes take any angle), and a kernel
  blind to the frame has a light surround, which a dark dot fills as well
  as a dark bar's sides do. So the bars also answer to dots, and a dark
  bar's best concept may be ``dotted``: :func:`planted_rows` reports it as
  not found rather than accepting a weaker rule.

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


def dark_bar(vertical=False):
    """A dark bar 3 pixels wide between two light rows (or columns), 5 long.

    ``-texture_kernel("stripes", 5, 6.0, phase=1.5)``: rows -1..1 dark, rows
    +-2 light; transposed for ``vertical``.
    """
    from convviz_ref.dissection import texture_kernel

    kernel = -texture_kernel("stripes", 5, 6.0, phase=1.5)
    return np.ascontiguousarray(kernel.T if vertical else kernel)


class PlantedKernel(NamedTuple):
    """One planted unit: the concept it is made for and how its kernel is made."""

    concept: str
    name: str
    make: object
    arguments: tuple

    def kernel(self):
        """float32 ``(5, 5)``, zero mean, unit norm."""
        return self.make(*self.arguments)


PLANTED_KERNELS = (
    PlantedKernel("dotted", "dark dot, period 6", dark_dot, (6.0,)),
    PlantedKernel("dotted", "dark dot, period 7", dark_dot, (7.0,)),
    PlantedKernel("dotted", "dark dot, period 8", dark_dot, (8.0,)),
    PlantedKernel("dotted", "dark dot, period 9", dark_dot, (9.0,)),
    PlantedKernel("checked", "dark check, corners 2", dark_check, (2.0,)),
    PlantedKernel("checked", "dark check, corners 1.75", dark_check, (1.75,)),
    PlantedKernel("striped", "dark bar, horizontal", dark_bar, (False,)),
    PlantedKernel("striped", "dark bar, vertical", dark_bar, (True,)),
)
"""The kernels planted into units 0, 1, ... of :data:`PLANTED_LAYER`."""


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


def planted_rows(result, kernels=PLANTED_KERNELS, units=None):
    """Each planted unit's intended concept against what dissection found.

    Args:
        result: a :class:`convviz_ref.dissection.Dissection` of the layer.
        kernels: sequence of :class:`PlantedKernel` (their ``concept`` and
            ``name``), one per planted unit.
        units: the planted units, one per kernel (default 0, 1, ...).

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
    num_images=400,
    num_permutations=200,
    seed=0,
):
    """Plant :data:`PLANTED_KERNELS` in :data:`PLANTED_LAYER` and dissect that layer.

    Units ``0 .. len(kernels) - 1`` of the layer get the kernels (bias 0);
    the other units, and every other layer, keep their trained weights.

    Args:
        model: a trained ``keras.Model`` with a ``Conv2D`` named
            :data:`PLANTED_LAYER` of 5x5 kernels (``xception_like``).
        kernels, num_images, num_permutations, seed: as in
            :func:`convviz_ref.dissection_report.dissect_layer`.

    Returns:
        ``(layer_name, Dissection, rows)``, the rows of :func:`planted_rows`.

    Raises:
        ValueError: a model without that layer, or a layer that is not a
            ``Conv2D`` (from :func:`convviz_ref.dissection.plant_units`).
    """
    from convviz_ref import dissection, dissection_report

    names = [layer.name for layer in model.layers]
    if PLANTED_LAYER not in names:
        raise ValueError(
            f"--planted plants units in layer {PLANTED_LAYER!r} (of xception_like); "
            "this model has none"
        )
    planted = dissection.plant_units(
        model, PLANTED_LAYER, [kernel.kernel() for kernel in kernels]
    )
    layer, results = dissection_report.dissect_layer(
        planted,
        PLANTED_LAYER,
        num_images=num_images,
        num_permutations=num_permutations,
        seed=seed,
    )
    return layer, results["trained"], planted_rows(results["trained"], kernels)


def format_planted(layer_name, rows, kernels=PLANTED_KERNELS):
    """The planted units as text: one line each, then the share found right."""
    lines = [
        f"Planted units in {layer_name} (kernels set by hand, the layer's other "
        "units trained)",
        f"  {'unit':>4}  {'kernel':<24}{'frame':>7}  {'intended':<10}{'found':<12}"
        f"{'IoU':>7}{'null 99%':>10}{'detector':>10}{'right':>7}",
    ]
    for row, kernel in zip(rows, kernels, strict=True):
        frame = round(frame_response(kernel.kernel()), 6) + 0.0  # no "-0.00"
        lines.append(
            f"  {row.unit:>4}  {row.name:<24}{frame:>7.2f}"
            f"  {row.intended:<10}{row.found:<12}{row.iou:>7.3f}"
            f"{row.null_threshold:>10.3f}{'yes' if row.detector else 'no':>10}"
            f"{'yes' if row.right else 'no':>7}"
        )
    right = sum(row.right for row in rows)
    lines.append(f"planted units found with the right concept: {right}/{len(rows)}")
    return "\n".join(lines)
