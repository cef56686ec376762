"""Shape bias: does a classifier follow the shape or the texture of an image?

Geirhos et al. (2019, "ImageNet-trained CNNs are biased towards texture;
increasing shape bias improves accuracy and robustness", ICLR) show a model
cue-conflict images, the shape of one class with the texture of another
(:func:`convviz_ref.crossed.load_crossed` with ``textures="conflict"``), and
count its decisions:

- a *shape decision* names the class of the shape;
- a *texture decision* names the class whose own texture the image has
  (texture label ``t`` is class ``t``'s own fill,
  :data:`convviz_ref.crossed.TEXTURE_NAMES`);
- any other decision follows neither cue.

Formula: ``shape_bias = shape / (shape + texture)``, the share of shape
decisions among the decisions that follow one of the two cues; 1 for a model
that always follows the shape, 0 for one that always follows the texture.

The 95 % interval is Wilson's score interval
(:func:`convviz_ref.stats.proportion_interval`): given the number of
decisions that follow a cue, the shape decisions among them are binomial
(the images are drawn independently). Wilson's interval keeps close to its
nominal coverage for a few dozen decisions and for shares near 0 or 1, where
a texture-biased model lies; the Wald interval ``p +- 1.96 sqrt(p(1-p)/n)``
shrinks to a point at 0 or 1 and leaves ``[0, 1]``, and Clopper-Pearson's
exact interval is wider than it needs to be (Brown, Cai and DasGupta 2001,
"Interval estimation for a binomial proportion").

Example (eight decisions: five shape, two texture, one neither):

>>> result = shape_bias(
...     [0, 1, 2, 3, 0, 2, 3, 1], [0, 1, 2, 3, 0, 1, 2, 3], [1, 2, 3, 0, 2, 2, 3, 0]
... )
>>> result.shape_decisions, result.texture_decisions, result.other_decisions
(5, 2, 1)
>>> round(result.shape_bias, 3)
0.714

Run ``python -m convviz_ref.shape_bias`` for the shipped classifiers' figures.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass

import numpy as np

from convviz_ref import data, stats

BATCH_SIZE = 32
"""Images per forward pass in :func:`decide`."""


@dataclass(frozen=True)
class ShapeBias:
    """What :func:`shape_bias` returns.

    Attributes:
        shape_bias: float, ``shape / (shape + texture)``; NaN when no decision
            follows either cue.
        interval: ``(low, high)``, the Wilson score interval of ``shape_bias``
            at the requested confidence; ``(0.0, 1.0)`` when no decision
            follows either cue.
        shape_decisions: int, decisions naming the shape's class.
        texture_decisions: int, decisions naming the texture's class.
        other_decisions: int, decisions naming neither.
        confidence: float, the interval's confidence level.
    """

    shape_bias: float
    interval: tuple[float, float]
    shape_decisions: int
    texture_decisions: int
    other_decisions: int
    confidence: float = 0.95

    @property
    def num_images(self):
        """int: the number of cue-conflict images (all decisions)."""
        return self.shape_decisions + self.texture_decisions + self.other_decisions

    @property
    def cue_share(self):
        """float: the share of decisions that follow one of the two cues."""
        return (self.shape_decisions + self.texture_decisions) / max(1, self.num_images)


def shape_bias(decisions, shape_labels, texture_labels, *, confidence=0.95):
    """The share of cue-conflict decisions that follow the shape, with an interval.

    Args:
        decisions: int array-like ``(n,)``, the class each image was given.
        shape_labels: int array-like ``(n,)``, the class of each image's shape.
        texture_labels: int array-like ``(n,)``, the class whose own texture
            each image has.
        confidence: float in (0, 1), the interval's level.

    Returns:
        a :class:`ShapeBias` (see the module's docstring for the formula and
        the interval).

    Raises:
        ValueError: arrays that are not 1-D of one length, no image, or an
            image without a cue conflict (``shape_labels == texture_labels``:
            its decision would follow both cues; Geirhos et al. leave such
            images out, and so must the caller).
    """
    decisions, shapes, textures = (
        np.asarray(values) for values in (decisions, shape_labels, texture_labels)
    )
    if not (decisions.ndim == shapes.ndim == textures.ndim == 1) or not (
        len(decisions) == len(shapes) == len(textures)
    ):
        raise ValueError(
            "decisions, shape_labels and texture_labels must be 1-D of one length, "
            f"got shapes {decisions.shape}, {shapes.shape} and {textures.shape}"
        )
    if len(decisions) == 0:
        raise ValueError("no image: shape bias needs at least one decision")
    same = int(np.sum(shapes == textures))
    if same:
        raise ValueError(
            f"{same} of {len(shapes)} images have no cue conflict (their texture is "
            "their shape's own); keep only cue-conflict images"
        )
    shape = int(np.sum(decisions == shapes))
    texture = int(np.sum(decisions == textures))
    followed = shape + texture
    if followed == 0:
        bias, interval = math.nan, (0.0, 1.0)
    else:
        bias = shape / followed
        interval = stats.proportion_interval(shape, followed, confidence=confidence)
    return ShapeBias(
        shape_bias=bias,
        interval=interval,
        shape_decisions=shape,
        texture_decisions=texture,
        other_decisions=len(decisions) - followed,
        confidence=confidence,
    )


def decide(model, images, *, batch_size=BATCH_SIZE):
    """A classifier's decisions: int32 ``(n,)``, the argmax of its outputs.

    Args:
        model: a ``keras.Model`` from ``(n, h, w, 3)`` images to ``(n, classes)``
            scores (probabilities or logits).
        images: float array ``(n, h, w, 3)`` as the model expects them.
        batch_size: int, images per forward pass.
    """
    scores = model.predict(
        np.asarray(images, np.float32), batch_size=batch_size, verbose=0
    )
    return np.argmax(scores, axis=-1).astype(np.int32)


def model_shape_bias(model, conflict, *, batch_size=BATCH_SIZE, confidence=0.95):
    """:func:`shape_bias` of a classifier on a cue-conflict set.

    Args:
        model: a classifier (see :func:`decide`) over the classes of the
            shapes dataset, in their order.
        conflict: a :class:`convviz_ref.crossed.Crossed` whose images all
            have a cue conflict (``load_crossed(textures="conflict")``).
        batch_size, confidence: as in :func:`decide` and :func:`shape_bias`.

    Returns:
        a :class:`ShapeBias`.

    Raises:
        ValueError: as :func:`shape_bias` (an image without a conflict, say).
    """
    same = int(np.sum(conflict.labels == conflict.texture_labels))
    if same:  # checked before the model runs
        raise ValueError(
            f"{same} of {len(conflict.labels)} images have no cue conflict; "
            'load the set with textures="conflict"'
        )
    decisions = decide(model, conflict.images, batch_size=batch_size)
    return shape_bias(
        decisions, conflict.labels, conflict.texture_labels, confidence=confidence
    )


def shipped_classifiers():
    """The shipped models that classify the shapes: every one but the segmenter."""
    from convviz_ref import pretrained

    manifest = pretrained.load_manifest()
    return tuple(
        name
        for name in pretrained.MODEL_NAMES
        if tuple(manifest[name]["class_names"]) == data.CLASS_NAMES
    )


def report(names=None, *, n=None, split="test", seed=0, stream=None):
    """Print and return the shape bias of shipped classifiers, one line each.

    Each line: the counts of shape, texture and other decisions on the
    cue-conflict images of ``split`` (``load_crossed(split, n,
    textures="conflict")``), the shape bias and its 95 % interval, and, for
    comparison, the accuracy on the same scenes with a texture drawn
    independently of the class (``textures="independent"``) and with each
    class's own texture (``load_shapes(split, n)``).

    Args:
        names: shipped model names; None for :func:`shipped_classifiers`.
        n: images of the split to use; None for all (1000 of ``"test"``).
        split, seed: as in :func:`convviz_ref.crossed.load_crossed`.
        stream: where to print; ``sys.stdout`` by default.

    Returns:
        ``{name: {"shape_bias": ShapeBias, "independent_accuracy": float,
        "own_accuracy": float}}``.
    """
    from convviz_ref import crossed, models

    stream = stream or sys.stdout
    names = shipped_classifiers() if names is None else tuple(names)
    conflict = crossed.load_crossed(split, n, textures="conflict", seed=seed)
    independent = crossed.load_crossed(split, n, textures="independent", seed=seed)
    own = data.load_shapes(split, n, seed=seed)
    print(
        f"Shape bias on {len(conflict.labels)} cue-conflict images "
        f"({split} scenes, seed {seed}); Wilson 95 % interval",
        file=stream,
    )
    print(
        f"  {'model':<15}{'shape':>7}{'texture':>9}{'other':>7}"
        f"{'shape bias':>12}  {'interval':<16}"
        f"{'acc. texture indep.':>21}{'acc. own texture':>18}",
        file=stream,
    )
    results = {}
    for name in names:
        model = models.load_pretrained(name).model
        bias = model_shape_bias(model, conflict)
        independent_accuracy = float(
            np.mean(decide(model, independent.images) == independent.labels)
        )
        own_accuracy = float(np.mean(decide(model, own.images) == own.labels))
        low, high = bias.interval
        print(
            f"  {name:<15}{bias.shape_decisions:>7}{bias.texture_decisions:>9}"
            f"{bias.other_decisions:>7}{bias.shape_bias:>12.3f}  "
            f"[{low:.3f}, {high:.3f}]  {independent_accuracy:>19.1%}"
            f"{own_accuracy:>18.1%}",
            file=stream,
        )
        results[name] = {
            "shape_bias": bias,
            "independent_accuracy": independent_accuracy,
            "own_accuracy": own_accuracy,
        }
    return results


def main(argv=None):
    """``python -m convviz_ref.shape_bias [--models ...] [--num-images N]``."""
    parser = argparse.ArgumentParser(
        prog="python -m convviz_ref.shape_bias",
        description="Shape bias (Geirhos et al. 2019) of the shipped classifiers.",
    )
    parser.add_argument("--models", nargs="+", default=None)
    parser.add_argument("--num-images", type=int, default=None)
    parser.add_argument("--split", default="test")
    args = parser.parse_args(argv)
    from convviz_ref.quiet_start import start_tensorflow_quietly

    start_tensorflow_quietly()
    report(args.models, n=args.num_images, split=args.split)
    return 0


if __name__ == "__main__":
    sys.exit(main())
