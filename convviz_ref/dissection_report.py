"""Network Dissection of one layer of a shapes classifier, with its controls.

What ``convviz dissect`` prints and draws. :func:`dissect_layer` runs
:func:`convviz_ref.dissection.dissect` on the crossed probe set (every shape
with every texture, :func:`convviz_ref.crossed.load_crossed`, the ``"test"``
scenes, masks of :func:`convviz_ref.crossed.concept_masks`) for the trained
model and, on request, for the two controls of Bau et al. (2017): the same
activations with the unit basis rotated at random
(:func:`convviz_ref.dissection.rotate_units`) and the model with
re-initialized weights (:func:`convviz_ref.dissection.reinitialize`).
:func:`format_dissection` gives the unique detectors of each (by Bau's 0.04
cut-off, by the shuffled-mask null, by both) and each unit's best concept and
IoU; :func:`convviz_ref.plotting.plot_dissection` draws the units' best
IoUs.
"""

from __future__ import annotations

import numpy as np

from convviz_ref import dissection

VARIANTS = ("trained", "rotated", "reinitialized")
"""The dissections :func:`dissect_layer` can return, in this order."""
NUM_IMAGES = 400
"""Probe images by default: 25 of each (shape, texture) pair."""


def dissect_layer(
    model,
    layer_name=None,
    *,
    num_images=NUM_IMAGES,
    num_permutations=dissection.NUM_PERMUTATIONS,
    rotate=False,
    reinit=False,
    seed=0,
):
    """Dissect one layer on the crossed probe set, with the controls asked for.

    Args:
        model: a ``keras.Model`` taking the shapes images (0..255, 96x96).
        layer_name: a layer with a spatial output; None for
            :func:`convviz_ref.filters.middle_layer`.
        num_images: int, the first ``num_images`` crossed ``"test"`` images
            (at most 1000); the activations of all of them are held in
            memory (400 at 48x48 with 64 units: 240 MB).
        num_permutations: int >= 0, shuffles in each dissection's null.
        rotate: also dissect the activations rotated by a seeded random
            orthogonal matrix.
        reinit: also dissect the same layer of the model with fresh seeded
            weights.
        seed: int, seeds the null's permutations, the rotation and the
            re-initialization.

    Returns:
        ``(layer_name, {variant: Dissection})``, the variants of
        :data:`VARIANTS` asked for, ``"trained"`` first.

    Raises:
        ValueError: a model that does not take 96x96 RGB images, an
            unknown layer or one without a spatial output,
            ``num_images`` outside 1..1000, negative permutations.
    """
    from convviz_ref import crossed, data, filters
    from convviz_ref.activations import check_spatial_layers
    from convviz_ref.tcav import check_shapes_input

    size = data.SPLIT_SIZES["test"]
    if isinstance(num_images, bool) or not 1 <= num_images <= size:
        raise ValueError(f"num_images must be in 1..{size}, got {num_images}")
    if num_permutations < 0:
        raise ValueError(f"num_permutations must be >= 0, got {num_permutations}")
    check_shapes_input(model)
    layer_name = filters.middle_layer(model) if layer_name is None else layer_name
    check_spatial_layers(model, [layer_name])  # before any image is drawn
    probe = crossed.load_crossed("test", num_images, seed=0)
    masks = crossed.concept_masks(probe)
    activations = dissection.unit_activations(model, layer_name, probe.images)

    def run(values):
        return dissection.dissect(
            values, masks, num_permutations=num_permutations, seed=seed
        )

    results = {"trained": run(activations)}
    if rotate:
        results["rotated"] = run(dissection.rotate_units(activations, seed=seed))
    del activations
    if reinit:
        fresh = dissection.reinitialize(model, seed=seed)
        results["reinitialized"] = run(
            dissection.unit_activations(fresh, layer_name, probe.images)
        )
    return layer_name, results


def detectors_by_kind(result, rule="both"):
    """Detector units per kind of best concept: shapes, textures, regions.

    Args:
        result: a :class:`convviz_ref.dissection.Dissection` scored on
            :func:`convviz_ref.crossed.concept_masks`.
        rule: see :meth:`convviz_ref.dissection.Dissection.detectors`.

    Returns:
        dict ``{"shape": int, "texture": int, "region": int}``: the detector
        units whose best concept is one of ``data.CLASS_NAMES``,
        ``crossed.TEXTURE_NAMES`` or ``crossed.REGION_NAMES``; a concept of
        none of them is counted nowhere.
    """
    from convviz_ref import crossed, data

    kinds = {
        "shape": data.CLASS_NAMES,
        "texture": crossed.TEXTURE_NAMES,
        "region": crossed.REGION_NAMES,
    }
    names = np.array(result.best_concept_names)[result.detectors(rule)]
    return {kind: int(np.isin(names, members).sum()) for kind, members in kinds.items()}


def format_dissection(layer_name, results, *, units=True):
    """The dissections as text.

    One line per variant: its unique detectors (Bau's cut-off, the null,
    both), its detector units (both), split by the kind of their best
    concept (shape / texture / region, :func:`detectors_by_kind`), and the
    mean over units of the best IoU; then, with ``units``, one line per unit
    of the trained layer: its best concept, IoU, the null's 99th percentile
    and whether it is a detector by each rule.

    With 11 concepts, unique detectors count at most 11 and saturate: the
    detector units and the mean best IoU show what a rotation changes.
    """
    trained = results["trained"]
    lines = [
        f"Network Dissection of {layer_name}: {trained.iou.shape[0]} units, "
        f"{len(trained.concept_names)} concepts, top {dissection.QUANTILE:.1%} "
        f"threshold, {trained.null_iou.shape[0]} shuffles in the null",
        f"  {'':<15}{'unique detectors':>36}{'detector units':>16}"
        f"{'shape/texture/region':>22}{'mean best IoU':>15}",
        f"  {'variant':<15}{'IoU > ' + str(dissection.IOU_CUTOFF):>12}"
        f"{'beats null':>12}{'both':>12}{'both':>16}{'both':>22}{'':>15}",
    ]
    for variant, result in results.items():
        counts = [
            dissection.unique_detectors(result, rule) for rule in dissection.RULES
        ]
        kinds = "/".join(str(count) for count in detectors_by_kind(result).values())
        lines.append(
            f"  {variant:<15}{counts[0]:>12}{counts[1]:>12}{counts[2]:>12}"
            f"{int(result.detectors('both').sum()):>16}{kinds:>22}"
            f"{float(result.best_iou.mean()):>15.4f}"
        )
    if units:
        lines.append(
            f"  {'unit':>6}  {'best concept':<14}{'IoU':>7}{'null 99%':>10}"
            f"{'> 0.04':>8}{'> null':>8}"
        )
        marks = {
            rule: np.where(trained.detectors(rule), "yes", "no")
            for rule in ("cutoff", "null")
        }
        for unit, (name, iou, threshold) in enumerate(
            zip(trained.best_concept_names, trained.best_iou, trained.null_threshold)
        ):
            lines.append(
                f"  {unit:>6}  {name:<14}{iou:>7.3f}{threshold:>10.3f}"
                f"{marks['cutoff'][unit]:>8}{marks['null'][unit]:>8}"
            )
    return "\n".join(lines)
