"""TCAV: does a class's logit rise along a concept's direction in a layer?

Testing with Concept Activation Vectors (Kim et al. 2018, "Interpretability
Beyond Feature Attribution: Quantitative Testing with Concept Activation
Vectors (TCAV)", ICML; its code ``tensorflow/tcav``) asks whether a concept
(here a texture: dots, checks, stripes, a solid fill) matters to a class,
without saying where in the image:

1. ``f_l(x)``: the activations of layer ``l`` for image ``x``, flattened to a
   vector of ``d = h * w * units`` numbers (:func:`layer_activations`).
2. The concept activation vector (CAV) ``v_C``: the normal of a linear
   classifier that separates ``f_l`` of the concept's images (label 1) from
   ``f_l`` of random images (label 0), pointing to the concept
   (:func:`train_cav`). The paper's code trains scikit-learn's
   ``SGDClassifier`` (hinge loss, ``alpha=0.01``) or ``LogisticRegression``
   on two thirds of the images and reports the accuracy on the last third;
   here an L2-regularized logistic regression, ``mean_i log(1 + exp(-y_i
   (w . x_i + b))) + alpha / 2 |w|^2`` with ``alpha = ALPHA``, is minimized
   by SciPy's L-BFGS-B (scikit-learn is not a dependency of the course), on
   a seeded stratified two-thirds split; ``v_C = w / |w|``.
3. The directional derivative of class ``k``'s logit ``h_k`` along the CAV:
   ``S_{C,k}(x) = grad h_k(f_l(x)) . v_C`` (the paper's equation 1), one
   forward and backward pass per image (:func:`logit_gradients`; the
   pre-softmax logit, as in the paper; the reference code differentiates
   the cross-entropy loss and counts negative products, which for a softmax
   differentiates ``log p_k`` rather than ``h_k``).
4. The TCAV score of class ``k``: ``TCAV_{C,k} = |{x in X_k : S_{C,k}(x) >
   0}| / |X_k|``, the share of class ``k``'s images whose logit rises along
   the concept (:func:`tcav_score`, the paper's equation 2).

The test (the paper's section 3.5 and the code's ``utils.print_results``):
one CAV could be meaningless, so ``R >= MIN_RANDOM`` CAVs are trained, the
concept against ``R`` random image sets, and ``R`` random CAVs, one random
set against another; a concept matters to class ``k`` when its ``R`` TCAV
scores differ from the random CAVs' ``R`` scores. The p-value is the
two-sided two-sample Student t-test (``scipy.stats.ttest_ind``,
``equal_var=True``), the test of the reference code: two-sided because a
concept can lower a class's logit as well as raise it (a score far below
the random ones is a finding too); two-sample against random CAVs rather
than the paper's text's one-sample test of 0.5, because random directions
need not score 0.5 in a layer where most gradients share a sign; Student's
rather than Welch's because with equal group sizes (``R`` and ``R``) the two
statistics coincide and Student's is the code's. :meth:`TCAVResult.significant`
applies Bonferroni's correction over every (concept, class) pair tested (the
paper corrects for its ``m = 2`` hypotheses; a table of 16 pairs needs 16).

Random sets here (:func:`tcav`): ``R`` seeded draws, without replacement
within a set, from a pool of images; the concept CAV ``r`` and the random CAV
``r`` share the negative set ``r``, and the random CAV's positive set is
random set ``(r + 1) % R``, so the two groups differ only in their positive
images. :func:`texture_tcav` takes the concept images from the crossed probe
set (every shape with every texture, :func:`convviz_ref.crossed.load_crossed`,
the ``"val"`` scenes), the random pool from the same set regardless of
texture, and the class images from the shapes test split.

Example (a layer of 4 numbers; the logit of class 1 rises along axis 0,
which is what the concept's images have more of):

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> concept, random = rng.normal(size=(40, 4)), rng.normal(size=(40, 4))
>>> concept[:, 0] += 8
>>> cav = train_cav(concept, random)
>>> bool(cav.vector[0] > 0.9), cav.accuracy
(True, 1.0)
>>> gradients = np.tile([1.0, 0.0, 0.0, 0.0], (5, 1))
>>> tcav_score(directional_derivatives(gradients, cav))
1.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

ALPHA = 0.01
"""The L2 weight of the CAV's logistic regression (the reference code's ``alpha``)."""
MIN_RANDOM = 10
"""The fewest random sets :func:`tcav` accepts (the paper typically runs 500)."""
NUM_RANDOM = 10
"""Random sets (and so CAVs per concept, and random CAVs) by default."""
SET_SIZE = 50
"""Images per concept set and per random set, by default (the paper: 50 to 500)."""
NUM_CLASS_IMAGES = 50
"""Images of each class whose directional derivatives are counted, by default."""
TEST_SHARE = 1 / 3
"""The share of each CAV's images held out to measure its accuracy."""
MAX_ITERATIONS = 500
"""L-BFGS-B iterations of a CAV's logistic regression, at most."""
SIGNIFICANCE = 0.05
"""The family-wise error rate of :meth:`TCAVResult.significant`."""


@dataclass(frozen=True)
class CAV:
    """A concept activation vector.

    Attributes:
        vector: float64 ``(d,)``, unit norm, pointing from the negative
            (random) images to the concept's images.
        bias: float, the classifier's intercept for the unnormalized weights.
        accuracy: float, the classifier's accuracy on the held-out images.
    """

    vector: np.ndarray
    bias: float
    accuracy: float


def _flat(activations, name):
    array = np.asarray(activations, np.float64)
    if array.ndim < 2 or len(array) < 3:
        raise ValueError(
            f"{name} must hold at least 3 examples (n, ...), got shape {array.shape}"
        )
    return array.reshape(len(array), -1)


def _split(n_positive, n_negative, rng):
    """Stratified ``(train, test)`` index arrays over ``n_positive + n_negative``."""
    train, test = [], []
    for start, count in ((0, n_positive), (n_positive, n_negative)):
        order = start + rng.permutation(count)
        held = max(1, round(TEST_SHARE * count))
        test.append(order[:held])
        train.append(order[held:])
    return np.concatenate(train), np.concatenate(test)


def train_cav(positive, negative, *, alpha=ALPHA, seed=0):
    """The CAV of a concept: a logistic regression's normal, unit length.

    Formula: ``y_i = +1`` for the concept's examples, ``-1`` for the others;
    ``(w, b) = argmin mean_i log(1 + exp(-y_i (w . x_i + b))) + alpha / 2
    |w|^2`` over a seeded stratified two thirds of the examples (L-BFGS-B,
    from zero); by the representer theorem the minimizer is ``w = X^T a``
    for the training examples ``X``, so the fit runs over the ``n`` values of
    ``a`` with the Gram matrix ``X X^T`` (``n`` images, ``d`` activations:
    ``n^2`` per step instead of ``n d``); the accuracy is ``sign(w . x + b)
    == y`` on the rest; ``vector = w / |w|``.

    Args:
        positive: array ``(n, ...)``, the concept's activations (flattened).
        negative: array ``(m, ...)``, the random images' activations.
        alpha: float > 0, the L2 weight.
        seed: int, seeds the split.

    Returns:
        a :class:`CAV`.

    Raises:
        ValueError: fewer than 3 examples on a side, different sizes per
            example, or a non-positive ``alpha``.
    """
    positive, negative = _flat(positive, "positive"), _flat(negative, "negative")
    if positive.shape[1] != negative.shape[1]:
        raise ValueError(
            f"positive examples have {positive.shape[1]} values, negative "
            f"{negative.shape[1]}: take both from one layer"
        )
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    x = np.concatenate([positive, negative])
    y = np.concatenate([np.ones(len(positive)), -np.ones(len(negative))])
    train, test = _split(len(positive), len(negative), np.random.default_rng(seed))
    x_train, y_train = x[train], y[train]
    gram = x_train @ x_train.T  # w = x_train.T @ a: n values to fit, not d
    count = len(y_train)

    def loss_and_gradient(parameters):
        dual, bias = parameters[:count], parameters[count]
        kernel_dual = gram @ dual
        margins = y_train * (kernel_dual + bias)
        loss = np.mean(np.logaddexp(0.0, -margins)) + alpha / 2 * dual @ kernel_dual
        pull = -y_train * special.expit(-margins) / count  # d loss / d score
        gradient = np.append(gram @ pull + alpha * kernel_dual, pull.sum())
        return loss, gradient

    fitted = optimize.minimize(
        loss_and_gradient,
        np.zeros(count + 1),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": MAX_ITERATIONS},
    )
    weights, bias = x_train.T @ fitted.x[:count], float(fitted.x[count])
    norm = np.linalg.norm(weights)
    if norm == 0:  # identical sides: no direction separates them
        return CAV(weights, bias, 0.5)
    predicted = np.where(x[test] @ weights + bias > 0, 1.0, -1.0)
    return CAV(weights / norm, bias, float(np.mean(predicted == y[test])))


def directional_derivatives(gradients, cav):
    """``S(x) = grad h_k(f_l(x)) . v_C`` for each example: float64 ``(n,)``.

    Args:
        gradients: array ``(n, ...)``, each example's logit gradient with
            respect to the layer (:func:`logit_gradients`), flattened.
        cav: a :class:`CAV` of the same layer.
    """
    return _flat(gradients, "gradients") @ cav.vector


def tcav_score(derivatives):
    """The share of examples whose directional derivative is positive: a float.

    Raises:
        ValueError: no example.
    """
    derivatives = np.asarray(derivatives)
    if derivatives.size == 0:
        raise ValueError("no example: a TCAV score needs at least one image")
    return float(np.mean(derivatives > 0))


def p_value(concept_scores, random_scores):
    """The two-sided two-sample Student t-test of TCAV scores: a float in [0, 1].

    What ``scipy.stats.ttest_ind(concept_scores, random_scores)`` computes
    (see the module's docstring for the choice): with means ``m1, m2``,
    sizes ``n1, n2`` and the pooled variance ``s^2 = (sum (a - m1)^2 + sum
    (b - m2)^2) / (n1 + n2 - 2)``, ``t = (m1 - m2) / sqrt(s^2 (1/n1 +
    1/n2))`` and ``p = 2 * P(T > |t|)`` for Student's ``T`` with ``n1 + n2 -
    2`` degrees of freedom (``scipy.stats.t.sf``). Written out because
    ``ttest_ind`` warns when one group is constant (a concept whose every
    CAV scores 1, say), where the formula is still exact. Where both groups
    are constant ``t`` is undefined: 1.0 if they are equal, else 0.0.

    Raises:
        ValueError: fewer than 2 scores in a group.
    """
    first = np.asarray(concept_scores, np.float64)
    second = np.asarray(random_scores, np.float64)
    if len(first) < 2 or len(second) < 2:
        raise ValueError(
            f"a t-test needs at least 2 scores per group, got {len(first)} "
            f"and {len(second)}"
        )
    freedom = len(first) + len(second) - 2
    pooled = (
        np.sum((first - first.mean()) ** 2) + np.sum((second - second.mean()) ** 2)
    ) / freedom
    difference = first.mean() - second.mean()
    if pooled == 0:
        return 1.0 if difference == 0 else 0.0
    t = difference / math.sqrt(pooled * (1 / len(first) + 1 / len(second)))
    return float(2 * stats.t.sf(abs(t), freedom))


@dataclass(frozen=True, eq=False)  # arrays: compare the fields, not the objects
class TCAVResult:
    """TCAV of several concepts for every class, with random CAVs.

    Attributes:
        layer_name: str.
        concept_names: tuple of ``C`` names.
        class_names: tuple of ``K`` names (the classes' logits, in order).
        scores: float64 ``(C, R, K)``: the TCAV score of each concept's CAV
            ``r`` (against random set ``r``) for each class.
        random_scores: float64 ``(R, K)``: the same for the random CAVs.
        accuracies: float64 ``(C, R)``: each concept CAV's held-out accuracy.
        random_accuracies: float64 ``(R,)``: each random CAV's.
        p_values: float64 ``(C, K)``: :func:`p_value` of each concept's
            ``R`` scores against the random ones, per class.
        pooled: bool, whether the CAVs are over the units' means
            (:func:`tcav`).
    """

    layer_name: str
    concept_names: tuple
    class_names: tuple
    scores: np.ndarray
    random_scores: np.ndarray
    accuracies: np.ndarray
    random_accuracies: np.ndarray
    p_values: np.ndarray
    pooled: bool = False

    @property
    def where(self):
        """str: the layer, and "pooled" for pooled CAVs (for titles)."""
        return f"{self.layer_name}, pooled" if self.pooled else self.layer_name

    def significant(self, alpha=SIGNIFICANCE):
        """bool ``(C, K)``: ``p < alpha / (C * K)`` (Bonferroni over the table)."""
        return self.p_values < alpha / self.p_values.size


def layer_activations(model, layer_name, images, *, pooled=False, batch_size=32):
    """``f_l(x)`` of each image: float32 ``(n, h * w * units)``, flattened.

    With ``pooled``, each unit's mean over the positions instead: float32
    ``(n, units)`` (see :func:`tcav`).

    Raises:
        ValueError: unknown layer, or one without a spatial output.
    """
    from convviz_ref.dissection import unit_activations

    activations = unit_activations(model, layer_name, images, batch_size=batch_size)
    if pooled:
        return activations.mean(axis=(1, 2))
    return activations.reshape(len(activations), -1)


def logit_gradients(model, layer_name, images, class_indices, *, pooled=False):
    """``grad h_k(f_l(x))`` for each image and its class ``k``, flattened.

    With ``pooled``, each unit's gradient summed over the positions, float32
    ``(n, units)``: the derivative along a direction ``v`` of the units that
    is the same at every position is ``sum_ij grad[i, j, :] . v``.

    One forward and one backward pass per image
    (:func:`convviz_ref.scoring.feature_maps_and_gradients` with
    ``score="logit"``: the pre-softmax score).

    Args:
        model: a Functional classifier.
        layer_name: str, a layer with a spatial output.
        images: float32 ``(n, height, width, channels)``, the model's input.
        class_indices: int array-like ``(n,)``, the class of each image.

    Returns:
        float32 ``(n, h * w * units)``.

    Raises:
        ValueError: unknown layer or class out of range.
    """
    from convviz_ref import scoring

    _, gradients, _ = scoring.feature_maps_and_gradients(
        model,
        np.asarray(images, np.float32),
        layer_name,
        np.asarray(class_indices),
        score="logit",
    )
    if pooled:
        return gradients.sum(axis=(1, 2))
    return gradients.reshape(len(gradients), -1)


def _check_count(name, value, least):
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if value < least:
        raise ValueError(f"{name} must be at least {least}, got {value}")


def tcav(
    model,
    layer_name,
    concept_images,
    random_pool,
    class_images,
    class_labels,
    *,
    class_names=None,
    num_random=NUM_RANDOM,
    set_size=SET_SIZE,
    pooled=False,
    alpha=ALPHA,
    seed=0,
):
    """TCAV scores of concepts for every class, tested against random CAVs.

    Steps (see the module's docstring for each formula): ``num_random``
    random sets of ``set_size`` images drawn from ``random_pool`` (set ``r``:
    ``rng.choice(len(random_pool), set_size, replace=False)``, the ``r``-th
    draw of ``rng = np.random.default_rng(seed)``); each concept's first
    ``set_size`` images; CAV ``(c, r)`` = concept ``c`` against random set
    ``r``, random CAV ``r`` = random set ``(r + 1) % R`` against random set
    ``r`` (each split seeded by ``seed`` and its indices); the directional
    derivative of each class image's own logit; TCAV scores per class; a
    p-value per concept and class.

    Args:
        model: a Functional classifier whose last layer gives the logits
            (or a softmax over them).
        layer_name: str, a layer with a spatial output.
        concept_images: dict name -> float32 ``(n_c, H, W, 3)`` images of
            each concept, at least ``set_size`` of each.
        random_pool: float32 ``(N, H, W, 3)``, at least ``set_size`` images.
        class_images: float32 ``(n, H, W, 3)``.
        class_labels: int ``(n,)``, the class of each, at least one image of
            every class in ``0..K-1``.
        class_names: the ``K`` class names (default ``"0"``, ``"1"`` ...).
        num_random: int, at least :data:`MIN_RANDOM`.
        set_size: int, at least 3 images per set.
        pooled: False for the paper's CAVs over the flattened layer; True
            for CAVs over each unit's mean over the positions, a direction
            of the units that is the same at every position (a flattened
            CAV constrained to ``v[i, j, :] = v``). The shapes' textures
            cover a small object anywhere in the image; from 50 images a
            flattened CAV has a weight per position and does not generalize
            (held-out accuracy near chance at ``block2_sepconv1`` of
            ``xception_like``), a pooled one has one per unit.
        alpha, seed: as in :func:`train_cav`; ``seed`` also draws the sets.

    Returns:
        a :class:`TCAVResult`.

    Raises:
        ValueError: too few random sets, sets larger than the images given,
            a class without images, no concept, an unknown layer.
    """
    _check_count("num_random", num_random, MIN_RANDOM)
    _check_count("set_size", set_size, 3)
    if not concept_images:
        raise ValueError("concept_images is empty; give at least one concept")
    for name, images in [*concept_images.items(), ("random_pool", random_pool)]:
        if len(images) < set_size:
            raise ValueError(
                f"{name} has {len(images)} images, fewer than set_size {set_size}"
            )
    labels = np.asarray(class_labels)
    outputs = int(model.outputs[0].shape[-1])
    names = tuple(class_names or (str(k) for k in range(outputs)))
    missing = sorted(set(range(len(names))) - set(labels.tolist()))
    if missing or len(labels) != len(class_images):
        raise ValueError(
            f"every class needs images: none of class {missing}"
            if missing
            else f"{len(class_images)} class images but {len(labels)} labels"
        )
    rng = np.random.default_rng(seed)
    draws = [
        rng.choice(len(random_pool), set_size, replace=False) for _ in range(num_random)
    ]
    used = np.unique(np.concatenate(draws))
    pool = layer_activations(
        model, layer_name, np.asarray(random_pool)[used], pooled=pooled
    )
    randoms = [pool[np.searchsorted(used, draw)] for draw in draws]
    gradients = logit_gradients(model, layer_name, class_images, labels, pooled=pooled)
    by_class = [labels == k for k in range(len(names))]

    def scores_of(cav):
        derivatives = directional_derivatives(gradients, cav)
        return [tcav_score(derivatives[members]) for members in by_class]

    random_cavs = [
        train_cav(randoms[(r + 1) % num_random], randoms[r], alpha=alpha, seed=seed + r)
        for r in range(num_random)
    ]
    random_scores = np.array([scores_of(cav) for cav in random_cavs])
    scores, accuracies = [], []
    for index, images in enumerate(concept_images.values()):
        concept = layer_activations(
            model, layer_name, np.asarray(images)[:set_size], pooled=pooled
        )
        cavs = [
            train_cav(
                concept,
                randoms[r],
                alpha=alpha,
                seed=seed + (index + 1) * num_random + r,
            )
            for r in range(num_random)
        ]
        scores.append([scores_of(cav) for cav in cavs])
        accuracies.append([cav.accuracy for cav in cavs])
    scores = np.array(scores)
    p_values = np.array(
        [
            [p_value(scores[c, :, k], random_scores[:, k]) for k in range(len(names))]
            for c in range(len(scores))
        ]
    )
    return TCAVResult(
        layer_name=layer_name,
        concept_names=tuple(concept_images),
        class_names=names,
        scores=scores,
        random_scores=random_scores,
        accuracies=np.array(accuracies),
        random_accuracies=np.array([cav.accuracy for cav in random_cavs]),
        p_values=p_values,
        pooled=pooled,
    )


def check_shapes_input(model):
    """Raise a ValueError unless ``model`` takes the shapes images, 96x96 RGB."""
    shape = tuple(model.inputs[0].shape[1:])
    if shape not in ((96, 96, 3), (None, None, 3)):
        raise ValueError(
            f"model {model.name!r} takes inputs of shape {shape}; the crossed "
            "shapes images are (96, 96, 3)"
        )


def texture_tcav(
    model,
    layer_name=None,
    *,
    num_random=NUM_RANDOM,
    set_size=SET_SIZE,
    num_class_images=NUM_CLASS_IMAGES,
    pooled=False,
    seed=0,
):
    """:func:`tcav` of the four textures for a shapes classifier.

    Concept ``t`` (:data:`convviz_ref.crossed.TEXTURE_NAMES`): the first
    ``set_size`` images of the crossed ``"val"`` scenes whose fill has
    texture ``t`` (every shape equally: the crossed set cycles through the
    16 pairs); the random pool: the first ``max(4, num_random // 2) *
    set_size`` crossed ``"val"`` images, any texture; the class images: the
    first ``num_class_images`` of each class of the shapes ``"test"`` split
    (each class with its own texture).

    Args:
        model: a shapes classifier (the four classes of
            :data:`convviz_ref.data.CLASS_NAMES`, in order).
        layer_name: str; None for :func:`convviz_ref.filters.middle_layer`.
        num_random, set_size, pooled, seed: as in :func:`tcav`.
        num_class_images: int, images per class, at least 1.

    Returns:
        a :class:`TCAVResult`.

    Raises:
        ValueError: as :func:`tcav`; sets larger than the data; a model
            that does not take 96x96 RGB images or has not 4 outputs.
    """
    from convviz_ref import crossed, data, filters
    from convviz_ref.activations import check_spatial_layers

    _check_count("set_size", set_size, 3)
    _check_count("num_class_images", num_class_images, 1)
    _check_count("num_random", num_random, MIN_RANDOM)
    classes = len(data.CLASS_NAMES)
    check_shapes_input(model)
    if model.outputs[0].shape[-1] != classes:
        raise ValueError(
            f"model {model.name!r} has {model.outputs[0].shape[-1]} outputs; "
            f"TCAV of the textures needs a classifier of the {classes} shapes"
        )
    layer_name = filters.middle_layer(model) if layer_name is None else layer_name
    check_spatial_layers(model, [layer_name])  # before any image is drawn
    textures = len(crossed.TEXTURE_NAMES)
    pool_size = max(4, num_random // 2) * set_size
    needed = max(pool_size, textures * set_size)
    available = data.SPLIT_SIZES["val"]
    if needed > available:
        raise ValueError(
            f"set_size {set_size} needs {needed} crossed val images, "
            f"there are {available}"
        )
    probe = crossed.load_crossed("val", needed, seed=seed)
    concepts = {
        name: probe.images[probe.texture_labels == label][:set_size]
        for label, name in enumerate(crossed.TEXTURE_NAMES)
    }
    wanted = num_class_images * classes
    if wanted > data.SPLIT_SIZES["test"]:
        raise ValueError(
            f"num_class_images {num_class_images}: the test split has "
            f"{data.SPLIT_SIZES['test']} images for {classes} classes"
        )
    shapes = data.load_shapes("test", wanted)  # labels cycle through the classes
    keep = np.concatenate(
        [np.flatnonzero(shapes.labels == k)[:num_class_images] for k in range(classes)]
    )
    return tcav(
        model,
        layer_name,
        concepts,
        probe.images[:pool_size],
        shapes.images[keep],
        shapes.labels[keep],
        class_names=data.CLASS_NAMES,
        num_random=num_random,
        set_size=set_size,
        pooled=pooled,
        seed=seed,
    )


def format_report(result, *, alpha=SIGNIFICANCE):
    """The result as text: one row per concept, a column per class.

    Each cell: the mean TCAV score over the concept's CAVs, its p-value, and
    ``*`` where :meth:`TCAVResult.significant` holds; the last row, the
    random CAVs' mean and standard deviation per class. The second column is
    the CAVs' mean held-out accuracy.
    """
    significant = result.significant(alpha)
    classes = range(len(result.class_names))

    def cell(mean, note, star=" "):
        return f"{mean:>7.2f} {note:<10}{star}"

    lines = [
        f"TCAV at {result.where}: {result.scores.shape[1]} CAVs per concept, "
        f"{len(result.random_scores)} random CAVs; mean TCAV score, two-sided t-test "
        f"p (* below {alpha} / {result.p_values.size}, Bonferroni)",
        f"  {'concept':<12}{'CAV acc.':>9}"
        + "".join(f"{name:>8}{'':11}" for name in result.class_names),
    ]
    for c, concept in enumerate(result.concept_names):
        cells = "".join(
            cell(
                result.scores[c, :, k].mean(),
                f"p {result.p_values[c, k]:.1e}",
                "*" if significant[c, k] else " ",
            )
            for k in classes
        )
        lines.append(f"  {concept:<12}{result.accuracies[c].mean():>9.2f}{cells}")
    cells = "".join(
        cell(
            result.random_scores[:, k].mean(),
            f"sd {result.random_scores[:, k].std():.2f}",
        )
        for k in classes
    )
    lines.append(f"  {'random':<12}{result.random_accuracies.mean():>9.2f}{cells}")
    return "\n".join(lines)
