"""The ``gradcam`` assignment: small random classifiers, and the usual mistakes.

The tests compare the student's ``gradcam_heatmap`` (both scores),
``output_heatmap_from_logit_maps`` and ``overlay`` with :mod:`convviz_ref.gradcam`
on the models and inputs made here, and pass the outputs of the mistake
functions to ``check_array`` so that a wrong answer is named ("hint: your
answer is what you get if you left out the ReLU ..."). The logit trials run
through a probe (``probes/gradcam.py``) that sends back the model's output
after the call, so that a function that changes the model in place fails.
``overlay`` passes within :data:`OVERLAY_TOLERANCE` of any of
:data:`ACCEPTED_RESIZES`.

Every model is a tiny Functional classifier on 16x16x3 images in 0..255 with
a named last conv layer (``LAST_CONV``) and seeded weights, drawn from a
NumPy generator (not Keras' global seed), so ``random_classifier(3)`` is the
same model in every process:

>>> model = random_classifier(3, head="sigmoid")
>>> model.output_shape, model.get_layer(LAST_CONV).output.shape
((None, 1), (None, 7, 7, 16))
>>> bool(np.array_equal(random_images(1, n=2), random_images(1, n=2)))
True

A note on one mistake the course lists and this module does not: summing
instead of averaging (the channel weights over batch, height and width, or
the weighted maps over channels) multiplies the map by a positive constant,
which the final division by the maximum removes. It gives the same heatmap,
so no test can tell it apart, and none pretends to. For the same reason
differentiating ``log p_c`` instead of the logit gives exactly the output
score's heatmap (``d log p_c = d p_c / p_c``): the two mistakes share one hint.

``output_heatmap_from_logit_maps`` is no decision: its answer is a heatmap
checked against the one TensorFlow computes through the hidden model, to
:data:`SATURATION_ATOL`; a constant answer cannot match maps that differ from
case to case (the cases hold all-zero maps and maps with a peak of one).
"""

from __future__ import annotations

import keras
import matplotlib
import numpy as np
import tensorflow as tf
from keras import layers

from convviz_grade.assignments import random_inputs
from convviz_ref import gradcam as reference

LAST_CONV = "last_conv_act"
"""Name of the last conv layer (its ReLU) in :func:`random_classifier`."""

IMAGE_SIZE = 16
CLASSIFIER = dict(
    heads=("softmax", "sigmoid"),
    filters=(8, 16),
    stream=7,
    head_scale=10.0,
    last_conv=LAST_CONV,
)
"""The heads, sizes and seed stream of :func:`random_classifier`'s models."""


def random_images(seed, n=1, image_size=IMAGE_SIZE):
    """Seeded float32 images ``(n, size, size, 3)`` in 0..255: blobs plus noise."""
    return random_inputs.blob_images(
        seed, n, image_size, stream=11, width=0.15, noise=60
    )


def random_classifier(seed, *, head="softmax", num_classes=3, image_size=IMAGE_SIZE):
    """:func:`random_inputs.tiny_classifier` with 8 and 16 filters, for Grad-CAM tests.

    ``head``: "softmax" over ``num_classes`` classes, or "sigmoid", one unit.
    """
    return random_inputs.tiny_classifier(
        seed, head, num_classes, image_size, **CLASSIFIER
    )


def confident_classifier(seed, *, head="softmax", head_scale=400.0):
    """:func:`random_classifier` with a head ``head_scale / 10`` times larger.

    Its logits are far apart, so its probabilities round to exactly one (and
    the runners-up's to zero) in float32 on many images: the saturated case.
    """
    return random_inputs.tiny_classifier(
        seed, head, 3, IMAGE_SIZE, **dict(CLASSIFIER, head_scale=head_scale)
    )


def _maps_and_gradient(model, image_batch, layer_name, class_index, score="output"):
    """Feature maps of the layer and the gradient of class ``class_index``'s score."""
    from convviz_ref.scoring import score_model

    probe = score_model(model, layer_name, score=score)
    with tf.GradientTape() as tape:
        maps, predictions = probe(
            tf.constant(np.asarray(image_batch, np.float32)), training=False
        )
        score = predictions[:, class_index]
    gradient = tape.gradient(score, maps)
    return maps.numpy().astype(np.float64), gradient.numpy().astype(np.float64)


def _top_class(model, image_batch):
    return int(
        np.argmax(model(np.asarray(image_batch, np.float32), training=False).numpy()[0])
    )


def _by_max(cam):
    cam = np.maximum(cam, 0)
    return cam / cam.max() if cam.max() > 0 else cam


def gradcam_mistakes(
    model, image_batch, last_conv_layer_name, class_index=None, *, score="output"
):
    """What the usual mistakes give for ``gradcam_heatmap`` on these inputs.

    ``score`` is the score asked for; with ``"logit"`` the mistakes are made
    on the logit, plus the output score's map (the logit not used at all).

    Returns:
        dict mapping a hint (it completes "your answer is what you get if
        you ...") to the heatmap that mistake gives. Mistakes that give the
        correct heatmap on these inputs (for example ignoring ``class_index``
        when it is the top class anyway) are left out.
    """
    top = _top_class(model, image_batch)
    chosen = top if class_index is None else int(class_index)
    maps, gradient = _maps_and_gradient(
        model, image_batch, last_conv_layer_name, chosen, score
    )
    weights = gradient.mean(axis=(0, 1, 2))
    cam = (maps[0] * weights).mean(axis=-1)
    mistakes = {}
    if cam.max() > 0:
        mistakes[
            "left out the ReLU (kept the negative values and divided by the maximum)"
        ] = cam / cam.max()
    positive = np.maximum(cam, 0)
    if positive.sum() > 0:
        mistakes["divided by the sum of the heatmap instead of its maximum"] = (
            positive / positive.sum()
        )
    mistakes[
        "averaged the gradient over the channels instead of over batch, height and "
        "width"
    ] = _by_max((maps[0] * gradient[0].mean(axis=-1, keepdims=True)).mean(axis=-1))
    mistakes[
        "multiplied the feature maps by the gradient pixel by pixel instead of by the "
        "channel weights"
    ] = _by_max((maps[0] * gradient[0]).mean(axis=-1))
    if class_index is None and top != 0:
        _, gradient_0 = _maps_and_gradient(
            model, image_batch, last_conv_layer_name, 0, score
        )
        mistakes[
            "explained class 0 instead of the top class (the argmax of the predictions)"
        ] = _by_max((maps[0] * gradient_0.mean(axis=(0, 1, 2))).mean(axis=-1))
    if class_index is not None and int(class_index) != top:
        _, gradient_top = _maps_and_gradient(
            model, image_batch, last_conv_layer_name, top, score
        )
        mistakes[
            "ignored class_index (explained the top class instead of the one asked for)"
        ] = _by_max((maps[0] * gradient_top.mean(axis=(0, 1, 2))).mean(axis=-1))
    if score == "logit":
        mistakes[OUTPUT_INSTEAD_OF_LOGIT] = reference_heatmap(
            model, image_batch, last_conv_layer_name, class_index
        )
    correct = _by_max(cam)
    return {
        hint: value.astype(np.float32)
        for hint, value in mistakes.items()
        if not np.allclose(value, correct, rtol=1e-4, atol=1e-4)
    }


OUTPUT_INSTEAD_OF_LOGIT = (
    "differentiated the softmax output (or its log, which gives the same map) "
    "instead of the logit, the last layer's score before its activation"
)


def _colored(heatmap, size, cmap, *, scale=255.0, resample=3):
    colors = matplotlib.colormaps[cmap](np.arange(256))[:, :3]
    indices = np.uint8(255 * np.clip(heatmap, 0, 1))
    picture = keras.utils.array_to_img(colors[indices] * scale, scale=False)
    return keras.utils.img_to_array(picture.resize(size, resample=resample))


def _rescale(superimposed):
    superimposed = superimposed - superimposed.min()
    if superimposed.max() > 0:
        superimposed = superimposed / superimposed.max() * 255.0
    return superimposed.astype(np.uint8)


def overlay_mistakes(image, heatmap, alpha=0.4, cmap="jet"):
    """What the usual mistakes give for ``overlay`` on these inputs.

    Returns:
        dict mapping a hint to the uint8 picture that mistake gives.
    """
    image = np.asarray(image, np.float32)
    size = (image.shape[1], image.shape[0])
    correct = _colored(heatmap, size, cmap)
    return {
        "kept the colormap's colours in 0..1 (forgot to multiply them by "
        "255)": _rescale(alpha * _colored(heatmap, size, cmap, scale=1.0) + image),
        "clipped the sum to 0..255 instead of rescaling it by its minimum and "
        "maximum": np.clip(alpha * correct + image, 0, 255).astype(np.uint8),
        "resized the coloured heatmap with nearest-neighbour instead of bicubic "
        "interpolation": _rescale(
            alpha * _colored(heatmap, size, cmap, resample=0) + image
        ),
        "added the image and the heatmap without the weight alpha": _rescale(
            correct + image
        ),
    }


OVERLAY_TOLERANCE = 3
"""Largest pixel difference (0..255) allowed between an ``overlay`` and an accepted one.

Measured on the hidden trials and 30 more random ones: looking the colours up
with the float heatmap (``cmap(heatmap)``, which indexes ``floor(256 x)``)
instead of ``uint8(255 x)`` moves pictures by at most 3; the colours as
bytes (``cmap(indices, bytes=True)``) by at most 1. Between bicubic resizes the
differences are far larger (PIL's against ``tf.image.resize``'s: up to 21,
from the overshoot PIL clips; against scikit-image's, whose default border
mode is ``reflect``: up to 93), as large as nearest-neighbour's (up to 119):
no single tolerance around one picture accepts every bicubic resize and
rejects nearest-neighbour. So the picture must lie within this tolerance of
one of the :data:`ACCEPTED_RESIZES`; nearest-neighbour, bilinear and Lanczos
resizes are farther than 3 from all of them on 37 of those 40 trials
(tests/autograder/test_exercise_gradcam.py).
"""


def _skimage_resize(mode):
    def resize(colored, height, width):
        from skimage.transform import resize as skimage_resize

        return skimage_resize(
            colored, (height, width, 3), order=3, mode=mode, preserve_range=True
        )

    return resize


def _pil_resize(colored, height, width):
    picture = keras.utils.array_to_img(colored, scale=False)
    return keras.utils.img_to_array(picture.resize((width, height), resample=3))


def _tf_resize(colored, height, width, *, clip=False):
    resized = tf.image.resize(
        np.asarray(colored, np.float32)[None], (height, width), method="bicubic"
    )[0].numpy()
    return np.clip(resized, 0, 255) if clip else resized


ACCEPTED_RESIZES = {
    "PIL (bicubic, on uint8 colours)": _pil_resize,
    "tf.image.resize (bicubic)": _tf_resize,
    "tf.image.resize (bicubic), clipped to 0..255": lambda colored, height, width: (
        _tf_resize(colored, height, width, clip=True)
    ),
    "skimage.transform.resize (order=3)": _skimage_resize("reflect"),
    "skimage.transform.resize (order=3, mode='edge')": _skimage_resize("edge"),
    "skimage.transform.resize (order=3, mode='symmetric')": _skimage_resize(
        "symmetric"
    ),
}
"""The bicubic resizes ``overlay`` may use.

Name -> ``resize(colored, height, width)``.
"""


def accepted_overlays(image, heatmap, alpha=0.4, cmap="jet"):
    """``overlay`` with each of the :data:`ACCEPTED_RESIZES`: name -> uint8 picture.

    The first is the reference's (:func:`convviz_ref.gradcam.overlay`).
    """
    image = np.asarray(image, np.float32)
    if image.ndim == 4:
        image = image[0]
    colors = matplotlib.colormaps[cmap](np.arange(256))[:, :3]
    colored = colors[np.uint8(255 * np.clip(heatmap, 0, 1))] * 255.0
    height, width = image.shape[:2]
    return {
        name: _rescale(alpha * resize(colored, height, width) + image)
        for name, resize in ACCEPTED_RESIZES.items()
    }


def reference_heatmap(
    model, image_batch, last_conv_layer_name, class_index=None, *, score="output"
):
    """The reference heatmap (by default the book's score: the model's output)."""
    return reference.gradcam_heatmap(
        model, image_batch, last_conv_layer_name, class_index, score=score
    )


# ------------------------------------------------------ secure grading

PRELUDE = (
    "import matplotlib\n"
    "import matplotlib.pyplot as plt\n"
    "import numpy as np\n"
    "import keras\n"
    "import tensorflow as tf\n"
    "try:\n"
    "    from IPython.display import display\n"
    "except ImportError:\n"
    "    pass\n"
)
"""The setup cell's imports, minus the course's modules (see
:mod:`convviz_grade.grading`).

The setup cell's ``classifier``, ``test_images``, ``last_conv_name`` and so on
are not given: the solution cells only define functions, and every model or
image a case needs comes as an argument.
"""

VISIBLE_IMAGE = np.array([[[[1, 4], [2, 0]], [[3, 0], [4, 0]]]], "float32")
"""The visible tests' (1, 2, 2, 2) image, its channels A0 = [[1, 2], [3, 4]] and A1 =
[[4, 0], [0, 0]].
"""


def visible_model(head):
    """One of the visible tests' 2x2 models: the input is the feature map ``maps``.

    ``head``: ``"softmax"`` (weights (0.5, -0.5) for class 0, (-0.5, 0.5) for
    class 1), ``"three"`` (a softmax over three classes, weights (1, 0), (0, 1)
    and (0, 0): logits 2.5, 1 and 0), ``"sigmoid"`` (one unit, weights (1, -1))
    or ``"zero"`` (one sigmoid unit with zero weights: the gradient is zero).
    """
    inputs = keras.Input((2, 2, 2))
    maps_layer = layers.Conv2D(2, 1, use_bias=False, name="maps")
    pooled = layers.GlobalAveragePooling2D()(maps_layer(inputs))
    units, activation = {"softmax": (2, "softmax"), "three": (3, "softmax")}.get(
        head, (1, "sigmoid")
    )
    dense = layers.Dense(units, activation=activation)
    model = keras.Model(inputs, dense(pooled), name=f"visible_{head}")
    maps_layer.set_weights([np.eye(2, dtype="float32").reshape(1, 1, 2, 2)])
    kernel = {
        "softmax": [[0.5, -0.5], [-0.5, 0.5]],
        "three": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
        "sigmoid": [[1.0], [-1.0]],
        "zero": [[0.0], [0.0]],
    }[head]
    dense.set_weights([np.array(kernel, "float32"), np.zeros(units, "float32")])
    return model


HEATMAP_TRIALS = [
    # (model seed, head, image, class_index); "image" is a random_images seed or a
    # constant value.
    (2, "softmax", ("random", 2), None),
    (1, "softmax", ("random", 1), None),
    (3, "softmax", ("random", 3), 1),
    (4, "softmax", ("random", 4), 1),
    (1, "softmax", ("random", 1), 2),
    (2, "sigmoid", ("random", 2), None),
    (3, "sigmoid", ("random", 3), None),
    (7, "sigmoid", ("random", 7), None),
    (22, "softmax", ("random", 22), None),  # top class 2: "class 0" mistake is visible
    (30, "softmax", ("random", 30), None),
    (30, "softmax", ("random", 30), 1),  # class_index below the top class
    (32, "softmax", ("random", 32), 0),  # class_index 0, top class 1
    (33, "softmax", ("random", 33), 2),  # class_index given, equal to the top class
    (35, "softmax", ("random", 35), 1),  # no positive value: all zeros, not NaN
    (22, "softmax", ("constant", 128.0), None),
    (24, "sigmoid", ("random", 24), None),
    (25, "sigmoid", ("random", 25), None),
    (25, "sigmoid", ("constant", 255.0), None),
    (30, "sigmoid", ("random", 30), None),
    (30, "sigmoid", ("constant", 0.0), None),  # a black image: all zeros
]
"""The hidden trials of ``gradcam_heatmap``.

Each non-zero heatmap from seed 22 on has a positive maximum well above round-off (at
least 5% of the largest absolute value before the ReLU), and each zero one a
clearly negative maximum, so float32 and float64 answers agree.
"""

OVERLAY_TRIALS = {
    # generator seed: [(image size, heatmap grid, alpha, cmap, image kind, heatmap
    # kind), ...]
    2024: [
        ((32, 32), (4, 4), 0.4, "jet", "random", "random"),
        ((24, 40), (3, 5), 0.4, "jet", "random", "random"),
        ((45, 30), (7, 6), 0.7, "viridis", "random", "random"),
        ((16, 16), (16, 16), 0.25, "magma", "random", "random"),
    ],
    5151: [
        ((32, 32), (4, 4), 0.4, "jet", "random", "random"),
        ((20, 36), (5, 3), 0.4, "jet", "random", "random"),
        ((37, 26), (6, 7), 0.6, "viridis", "random", "random"),
        ((16, 16), (16, 16), 0.3, "magma", "random", "random"),
        ((12, 18), (3, 3), 0.5, "plasma", "constant", "random"),
        ((10, 14), (2, 2), 0.4, "jet", "random", "zeros"),
    ],
}
"""The hidden trials of ``overlay``, by the seed of the generator that draws their
images and heatmaps.
"""


_HAND_MAPS = np.array(
    [[[1, 2], [3, 4]], [[4, 0], [0, 0]], [[0, 0], [0, 4]]], np.float32
)
_HAND_MAPS_SATURATED = np.array(
    [[[1, 2], [3, 4]], [[4, 0], [0, -2]], [[0, 0], [0, 4]]], np.float32
)
VISIBLE_SATURATION = [
    # (label, logit maps (3, 2, 2), probabilities (3,), expected heatmap); class 0.
    (
        "output_heatmap_from_logit_maps(p = (0.5, 0.25, 0.25))",
        _HAND_MAPS,
        np.array([0.5, 0.25, 0.25], np.float32),
        np.array([[0.0, 2 / 3], [1.0, 2 / 3]]),
    ),
    (
        "output_heatmap_from_logit_maps(p = (1, 1e-9, 0) in float32)",
        _HAND_MAPS_SATURATED,
        np.array([1.0, 1e-9, 0.0], np.float32),
        np.array([[0.0, 0.0], [0.0, 1.0]]),
    ),
]
"""The notebook's visible tests of ``output_heatmap_from_logit_maps``, worked by hand.

First: coefficients (0.25, -0.125, -0.125), raw map [[-0.25, 0.5], [0.75, 0.5]].
Second: p_0 is exactly 1, so the coefficients are (0, -1e-9, 0) and the raw map
-1e-9 L_1 = [[-4, 0], [0, 2]] 1e-9.
"""

LOGIT_TRIALS = [
    # (head, head scale, model seed, class_index), each on random_images(seed); a
    # head scale of 10 is random_classifier's, the others confident_classifier's.
    ("softmax", 10.0, 1, None),
    ("softmax", 10.0, 3, 1),
    ("softmax", 10.0, 22, None),  # top class 2: "class 0" mistake is visible
    ("softmax", 400.0, 0, None),  # every runner-up rounds to 0: output map all zero
    ("softmax", 400.0, 3, None),  # p_c rounds to 1, a runner-up does not
    ("sigmoid", 10.0, 2, None),
    ("sigmoid", 120.0, 1, None),  # p rounds to 1: output map all zero
]
"""The hidden trials of ``gradcam_heatmap(..., score="logit")``."""

SATURATION_TRIALS = [
    # (head, head scale, model seed, class_index), as LOGIT_TRIALS
    ("softmax", 10.0, 0, None),
    ("softmax", 10.0, 1, None),
    ("softmax", 10.0, 2, 0),
    ("softmax", 40.0, 4, None),  # p_c 0.99
    ("softmax", 120.0, 0, None),  # p_c rounds to 1
    ("softmax", 400.0, 0, None),  # every runner-up rounds to 0: all zeros
    ("softmax", 400.0, 3, None),  # p_c rounds to 1
    ("softmax", 400.0, 3, 1),  # a class of probability 1e-8
    ("softmax", 400.0, 5, None),  # p_c rounds to 1
    ("sigmoid", 10.0, 2, None),
    ("sigmoid", 120.0, 1, None),  # p rounds to 1: all zeros
    ("sigmoid", 400.0, 5, None),  # p rounds to 0: all zeros
]
"""The hidden trials of ``output_heatmap_from_logit_maps``."""

SATURATION_ATOL = 1e-4
"""Tolerance of ``output_heatmap_from_logit_maps`` against TensorFlow's output map.

The formula, in float64 from the float32 logit maps and probabilities, and the
map TensorFlow computes by back-propagation in float32 differ by at most
1.2e-6 on the trials (each case is built only if the reference is within a
tenth of this); every usual mistake differs by more than ten times it.
"""


def trial_model(head, head_scale, seed):
    """The classifier of a :data:`LOGIT_TRIALS` or :data:`SATURATION_TRIALS` row."""
    if head_scale == CLASSIFIER["head_scale"]:
        return random_classifier(seed, head=head)
    return confident_classifier(seed, head=head, head_scale=head_scale)


def logit_maps_and_probabilities(model, image_batch, layer_name):
    """The evidence ``output_heatmap_from_logit_maps`` is given, for one image.

    Returns:
        ``(logit_maps, probabilities)``: float32 ``(num_classes, h, w)``, the
        signed Grad-CAM map of each class's logit, and float32
        ``(num_classes,)``, the model's output.
    """
    num_classes = model.outputs[0].shape[-1]
    logit_maps = np.concatenate(
        [
            reference.gradcam(
                model, image_batch, class_index, layer_name=layer_name, score="logit"
            )
            for class_index in range(num_classes)
        ]
    ).astype(np.float32)
    probabilities = np.asarray(model(image_batch, training=False))[0]
    return logit_maps, probabilities.astype(np.float32)


def saturation_evidence(model, images, layer_name):
    """What the notebook shows before ``output_heatmap_from_logit_maps``: two images.

    The least confident of ``images`` and the first whose top probability is
    exactly 1.0 in float32, each explained for its top class ``c``. Only
    arrays: the notebook keeps no function that computes an answer.

    Returns:
        list of two dicts (the unsaturated image first) with ``index`` (int),
        ``class_index`` (int), ``logits`` and ``probabilities`` (float32
        ``(num_classes,)``, the model's output as it computed it),
        ``logit_maps`` (float32 ``(num_classes, h, w)``, the signed Grad-CAM
        map of each class's logit) and ``output_map`` (float32 ``(h, w)``, the
        signed map of the output ``p_c``, by TensorFlow's back-propagation).

    Raises:
        ValueError: if no image is saturated.
    """
    from convviz_ref.scoring import score_model

    images = np.asarray(images, np.float32)
    probabilities = np.asarray(model.predict(images, verbose=0), np.float32)
    logits = np.asarray(
        score_model(model, score="logit").predict(images, verbose=0), np.float32
    )
    top = probabilities.max(axis=1)
    saturated = np.flatnonzero(top == 1.0)
    if not len(saturated):
        raise ValueError("no image's top probability is exactly 1.0 in float32")
    evidence = []
    for index in (int(np.argmin(top)), int(saturated[0])):
        image = images[index : index + 1]
        class_index = int(np.argmax(probabilities[index]))
        logit_maps, _ = logit_maps_and_probabilities(model, image, layer_name)
        output_map = reference.gradcam(
            model, image, class_index, layer_name=layer_name, score="output"
        )[0]
        evidence.append(
            {
                "index": index,
                "class_index": class_index,
                "logits": logits[index],
                "probabilities": probabilities[index],
                "logit_maps": logit_maps,
                "output_map": np.asarray(output_map, np.float32),
            }
        )
    return evidence


def example_overlay(model, image_batch, layer_name):
    """The course's heatmap of the model's top class and its overlay, as arrays.

    What the notebook shows before ``overlay``: the picture the student's
    function is to make (only arrays, so no function that makes it is left in
    the student's namespace).

    Returns:
        ``(heatmap, picture)``: float32 ``(h, w)`` and uint8 ``(height, width, 3)``.
    """
    heatmap = reference.gradcam_heatmap(model, image_batch, layer_name)
    return heatmap, reference.overlay(np.asarray(image_batch)[0], heatmap)


def _mixture(logit_maps, coefficients, relu=True):
    raw = np.tensordot(np.asarray(coefficients, np.float64), logit_maps, axes=1)
    if relu:
        raw = np.maximum(raw, 0)
    peak = raw.max()
    return raw / peak if peak > 0 else np.maximum(raw, 0)


LOGIT_MAP_ONLY = (
    "returned the class's own logit map: the output p_c depends on every class's "
    "logit, not on z_c alone"
)
OWN_MAP_ONLY = (
    "scaled the class's own logit map and left out the other classes' maps: "
    "raising another class's logit changes p_c too"
)
EXACT_ARITHMETIC = (
    "computed what exact arithmetic gives: TensorFlow works from the float32 "
    "probabilities it returned, in which p_c can be exactly 1.0"
)
WRONG_SIGN = (
    "added the other classes' maps with the sign of the class's own: raising "
    "another class's logit lowers p_c"
)
"""The hints of ``output_heatmap_from_logit_maps``'s usual mistakes.

Each is shown only when the answer is what that mistake gives; none states the
coefficients (the softmax's derivative), which the task asks the student to
work out from the chapter and the notebook's evidence.
"""


def saturation_mistakes(logit_maps, probabilities, class_index):
    """What the usual mistakes give for ``output_heatmap_from_logit_maps``.

    Returns:
        dict mapping a hint to the heatmap that mistake gives (those equal to
        the right answer on these inputs left out).
    """
    logit_maps = np.asarray(logit_maps, np.float64)
    p = np.asarray(probabilities, np.float64)
    c = int(class_index)
    own = np.zeros_like(p)
    own[c] = p[c] * (1 - p[c])
    right = -p[c] * p
    right[c] = p[c] * (1 - p[c])
    exact = right.copy()
    exact[c] = p[c] * (p.sum() - p[c])
    plus = p[c] * p
    plus[c] = p[c] * (1 - p[c])
    mistakes = {
        LOGIT_MAP_ONLY: _mixture(logit_maps, np.eye(len(p))[c]),
        OWN_MAP_ONLY: _mixture(logit_maps, own),
        EXACT_ARITHMETIC: _mixture(logit_maps, exact),
        WRONG_SIGN: _mixture(logit_maps, plus),
        "left out the ReLU (kept the negative values and divided by the maximum)": (
            _mixture(logit_maps, right, relu=False)
        ),
    }
    correct = _mixture(logit_maps, right)
    return {
        hint: value.astype(np.float32)
        for hint, value in mistakes.items()
        if np.abs(value - correct).max() > 10 * SATURATION_ATOL
    }


MODEL_CHANGED = (
    "changed the model it was given: after the call its output is not what it was "
    "(model.layers[-1].activation = None, as the Keras example does, turns the "
    "softmax off for every later caller); build a new model for the logit, or "
    "restore the activation"
)


def _check_heatmap_and_model(label, expected, mistakes, predictions, outputs):
    """:func:`_check_heatmap`, then the model's output after the call (a probe)."""
    from convviz_grade.checks import check_true

    _check_heatmap(label, expected, mistakes, False, outputs)
    after = np.asarray(outputs["probe"].get("predictions_after", np.zeros(0)))
    check_true(
        "gradcam_heatmap",
        after.shape == predictions.shape
        and np.allclose(after, predictions, rtol=1e-5, atol=1e-6),
        f"{label}: {MODEL_CHANGED}",
    )


def _check_saturation(label, expected, mistakes, outputs):
    from convviz_grade.checks import check_array

    check_array(
        label,
        outputs["value"],
        expected,
        rtol=0,
        atol=SATURATION_ATOL,
        mistakes=mistakes,
    )


def _overlay_inputs(rng, size, grid, image_kind, heatmap_kind):
    """A float32 image ``size + (3,)`` and heatmap ``grid`` drawn from ``rng`` (random,
    constant or zeros).
    """
    image = (
        rng.uniform(0, 255, size + (3,))
        if image_kind == "random"
        else np.full(size + (3,), rng.uniform(0, 255))
    ).astype("float32")
    heatmap = (
        rng.uniform(0, 1, grid) if heatmap_kind == "random" else np.zeros(grid)
    ).astype("float32")
    return image, heatmap


def _check_heatmap(label, expected, mistakes, float_dtype, outputs):
    from convviz_grade.checks import check_array, check_true

    check_array(
        label, outputs["value"], expected, rtol=1e-4, atol=1e-5, mistakes=mistakes
    )
    if float_dtype:
        dtype = np.asarray(outputs["value"]).dtype
        check_true(
            "gradcam_heatmap",
            np.issubdtype(dtype, np.floating),
            f"expected a float array, got dtype {dtype}",
        )


def _check_overlay_shape(shape, outputs):
    from convviz_grade.checks import check_true

    result = np.asarray(outputs["value"])
    check_true(
        "overlay",
        result.shape == shape,
        f"expected shape {shape} (the image's), got {result.shape}",
    )
    check_true(
        "overlay", result.dtype == np.uint8, f"expected dtype uint8, got {result.dtype}"
    )


def _check_overlay(label, accepted, mistakes, outputs):
    """Pass when the picture is within :data:`OVERLAY_TOLERANCE` of an accepted one.

    ``accepted``: name -> uint8 picture (the reference's first); otherwise the
    message compares it with the reference's and names a matching mistake.
    """
    from convviz_grade.checks import check_array

    value = np.asarray(outputs["value"])
    if value.dtype == np.uint8:
        for picture in accepted.values():
            if (
                value.shape == picture.shape
                and np.abs(value.astype(int) - picture.astype(int)).max()
                <= OVERLAY_TOLERANCE
            ):
                return
    check_array(
        label,
        value,
        next(iter(accepted.values())),
        rtol=0,
        atol=OVERLAY_TOLERANCE,
        check_dtype=np.uint8,
        mistakes=mistakes,
    )


def _distinct(mistakes, expected, atol):
    """The mistakes whose result differs from the expected one by more than ``atol``
    somewhere.
    """
    expected = np.asarray(expected, np.float64)
    return {
        hint: wrong
        for hint, wrong in mistakes.items()
        if np.shape(wrong) != expected.shape
        or np.abs(np.asarray(wrong, np.float64) - expected).max() > atol
    }


def _trial_image(kind):
    what, value = kind
    if what == "random":
        return random_images(value)
    return np.full((1, IMAGE_SIZE, IMAGE_SIZE, 3), value, np.float32)


def grading_cases():
    """The cases of both functions: the notebook's hidden tests and ``convviz-grade
    autograde``'s.

    ``gradcam_heatmap``: the notebook's four visible 2x2 cases, then
    :data:`HEATMAP_TRIALS` (random softmax and sigmoid classifiers, class_index
    None and given, constant images, all-zero heatmaps). ``overlay``: the
    notebook's two visible cases, then :data:`OVERLAY_TRIALS` and two batches
    of one image. Each model is one object, saved once for all its cases.
    """
    from functools import partial

    from convviz_grade.grading import Case

    cases = []
    # gradcam_heatmap: the visible tests, as in the notebook.
    softmax, sigmoid, zero = (
        visible_model(head) for head in ("softmax", "sigmoid", "zero")
    )
    expected_0 = np.array([[0.0, 0.5], [0.75, 1.0]])
    cases += [
        Case(
            "gradcam_heatmap",
            (softmax, VISIBLE_IMAGE, "maps"),
            partial(
                _check_heatmap,
                "gradcam_heatmap(top class)",
                expected_0,
                {
                    "left out the ReLU (kept the negative values and divided by the "
                    "maximum)": [
                        [-0.75, 0.5],
                        [0.75, 1.0],
                    ],
                    "divided by the sum of the heatmap instead of its maximum": [
                        [0, 2 / 9],
                        [3 / 9, 4 / 9],
                    ],
                    "explained class 1 instead of the top class (the argmax of the "
                    "predictions)": [
                        [1.0, 0.0],
                        [0.0, 0.0],
                    ],
                },
                True,
            ),
            visible=True,
        ),
        Case(
            "gradcam_heatmap",
            (softmax, VISIBLE_IMAGE, "maps"),
            partial(
                _check_heatmap,
                "gradcam_heatmap(class_index=1)",
                [[1.0, 0.0], [0.0, 0.0]],
                {
                    "ignored class_index (explained the top class instead of the one "
                    "asked for)": expected_0
                },
                False,
            ),
            kwargs={"class_index": 1},
            visible=True,
        ),
        Case(
            "gradcam_heatmap",
            (sigmoid, VISIBLE_IMAGE, "maps"),
            partial(
                _check_heatmap, "gradcam_heatmap(sigmoid output)", expected_0, {}, False
            ),
            visible=True,
        ),
        Case(
            "gradcam_heatmap",
            (zero, VISIBLE_IMAGE, "maps"),
            partial(
                _check_heatmap,
                "gradcam_heatmap(zero gradient)",
                np.zeros((2, 2)),
                {},
                False,
            ),
            visible=True,
        ),
    ]
    three = visible_model("three")
    cases.append(
        Case(
            "gradcam_heatmap",
            (three, VISIBLE_IMAGE, "maps"),
            partial(
                _check_heatmap,
                'gradcam_heatmap(three classes, score="logit")',
                [[0.25, 0.5], [0.75, 1.0]],
                {OUTPUT_INSTEAD_OF_LOGIT: [[0.0, 0.5], [0.75, 1.0]]},
                False,
            ),
            kwargs={"score": "logit"},
            visible=True,
        )
    )
    # gradcam_heatmap: hidden trials.
    models = {}
    for seed, head, image_kind, class_index in HEATMAP_TRIALS:
        if (seed, head) not in models:
            models[seed, head] = random_classifier(seed, head=head)
        model, image = models[seed, head], _trial_image(image_kind)
        label = (
            f"gradcam_heatmap(random {head} model, {image_kind[0]} image"
            f"{f' {image_kind[1]:g}' if image_kind[0] == 'constant' else ''}, "
            f"class_index={class_index})"
        )
        cases.append(
            Case(
                "gradcam_heatmap",
                (model, image, LAST_CONV, class_index),
                partial(
                    _check_heatmap,
                    label,
                    reference_heatmap(model, image, LAST_CONV, class_index),
                    gradcam_mistakes(model, image, LAST_CONV, class_index),
                    False,
                ),
            )
        )
    # gradcam_heatmap, score="logit": hidden trials.
    trial_models = {}

    def model_of(head, head_scale, seed):
        if (head, head_scale, seed) not in trial_models:
            trial_models[head, head_scale, seed] = trial_model(head, head_scale, seed)
        return trial_models[head, head_scale, seed]

    for head, head_scale, seed, class_index in LOGIT_TRIALS:
        model, image = model_of(head, head_scale, seed), random_images(seed)
        label = (
            f"gradcam_heatmap({head} model, head scale {head_scale:g}, "
            f'random image {seed}, class_index={class_index}, score="logit")'
        )
        expected = reference_heatmap(
            model, image, LAST_CONV, class_index, score="logit"
        )
        mistakes = gradcam_mistakes(model, image, LAST_CONV, class_index, score="logit")
        # Each logit trial also checks, through a probe, that the model is unchanged.
        predictions = np.asarray(model(image, training=False), np.float32)
        cases.append(
            Case(
                "gradcam_heatmap",
                (model, image, LAST_CONV, class_index),
                partial(
                    _check_heatmap_and_model, label, expected, mistakes, predictions
                ),
                kwargs={"score": "logit"},
                kind="probe",
                probe="gradcam:model_left_unchanged",
            )
        )
    # output_heatmap_from_logit_maps: the visible tests, as in the notebook.
    for label, logit_maps, probabilities, expected in VISIBLE_SATURATION:
        cases.append(
            Case(
                "output_heatmap_from_logit_maps",
                (logit_maps, probabilities, 0),
                partial(
                    _check_saturation,
                    label,
                    expected,
                    saturation_mistakes(logit_maps, probabilities, 0),
                ),
                visible=True,
                keep_inputs=True,
            )
        )
    # output_heatmap_from_logit_maps: hidden trials, against TensorFlow's map.
    for head, head_scale, seed, class_index in SATURATION_TRIALS:
        model, image = model_of(head, head_scale, seed), random_images(seed)
        logit_maps, probabilities = logit_maps_and_probabilities(
            model, image, LAST_CONV
        )
        explained = (
            int(np.argmax(probabilities)) if class_index is None else class_index
        )
        expected = reference_heatmap(model, image, LAST_CONV, explained)
        by_formula = reference.output_heatmap_from_logit_maps(
            logit_maps, probabilities, explained
        )
        assert np.abs(by_formula - expected).max() <= SATURATION_ATOL / 10, (
            head,
            head_scale,
            seed,
            class_index,
        )
        cases.append(
            Case(
                "output_heatmap_from_logit_maps",
                (logit_maps, probabilities, explained),
                partial(
                    _check_saturation,
                    f"output_heatmap_from_logit_maps({head} model, head scale "
                    f"{head_scale:g}, random image {seed}, class {explained}, "
                    f"p_c={probabilities[explained]:.9g})",
                    expected,
                    saturation_mistakes(logit_maps, probabilities, explained),
                ),
                keep_inputs=True,
            )
        )
    # overlay: the visible tests, as in the notebook.
    rng = np.random.default_rng(0)
    cases.append(
        Case(
            "overlay",
            (rng.uniform(0, 255, (4, 6, 3)), rng.uniform(0, 1, (2, 3))),
            partial(_check_overlay_shape, (4, 6, 3)),
            visible=True,
        )
    )
    red = np.zeros((2, 2, 3), np.uint8)
    red[..., 0] = 255
    cases.append(
        Case(
            "overlay",
            (np.zeros((2, 2, 3)), np.ones((1, 1))),
            partial(
                _check_overlay,
                "overlay(black image, heatmap 1)",
                {"worked out by hand": red},
                {
                    "clipped the sum to 0..255 instead of rescaling it by its minimum "
                    "and maximum": np.full((2, 2, 3), [50, 0, 0], np.uint8),
                    "kept the colormap's colours in 0..1 (forgot to multiply them by "
                    "255)": np.zeros((2, 2, 3), np.uint8),
                },
            ),
            visible=True,
        )
    )

    # overlay: hidden trials.
    def add_overlay(label, image, heatmap, **options):
        single = image[0] if image.ndim == 4 else image
        accepted = accepted_overlays(single, heatmap, **options)
        expected = reference.overlay(single, heatmap, **options)
        assert np.array_equal(next(iter(accepted.values())), expected), label
        mistakes = overlay_mistakes(single, heatmap, **options)
        for picture in accepted.values():  # no mistake passes as an accepted resize
            mistakes = _distinct(mistakes, picture, OVERLAY_TOLERANCE)
        cases.append(
            Case(
                "overlay",
                (image, heatmap),
                partial(_check_overlay, label, accepted, mistakes),
                kwargs=options,
            )
        )

    rngs = {seed: np.random.default_rng(seed) for seed in OVERLAY_TRIALS}
    for seed, trials in OVERLAY_TRIALS.items():
        for size, grid, alpha, cmap, image_kind, heatmap_kind in trials:
            image, heatmap = _overlay_inputs(
                rngs[seed], size, grid, image_kind, heatmap_kind
            )
            add_overlay(
                f"overlay({image_kind} image {size}, {heatmap_kind} heatmap {grid}, "
                f"alpha={alpha}, cmap={cmap!r})",
                image,
                heatmap,
                alpha=alpha,
                cmap=cmap,
            )
        if seed == 2024:  # the last trial's inputs again, as a batch of one image
            add_overlay(
                f"overlay(a batch of one image {size}, heatmap {grid}, alpha={alpha}, "
                f"cmap={cmap!r})",
                image[None],
                heatmap,
                alpha=alpha,
                cmap=cmap,
            )
    # A batch of one image with the default alpha and cmap.
    image, heatmap = _overlay_inputs(rngs[5151], (18, 24), (6, 8), "random", "random")
    add_overlay(
        "overlay(a batch of one image (18, 24), heatmap (6, 8))", image[None], heatmap
    )
    return cases


def explain_error(case, message):
    """A hint for an error raised by the student's code (see
    :mod:`convviz_grade.grading`).
    """
    if case.function == "overlay" and "broadcast" in message:
        return (
            "resize the coloured heatmap to the image's (height, width) before adding "
            "it "
            "(PIL's resize wants (width, height))."
        )
    return None
