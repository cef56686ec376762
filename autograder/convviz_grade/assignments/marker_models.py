"""The hidden models of the attribution exercise's decision: some rely on a marker.

``relies_on_marker`` is graded on small classifiers that the grader trains
itself, on the shapes data at :data:`IMAGE_SIZE` pixels with the course's
planted marker (:func:`convviz_ref.data.load_shapes` with ``markers``). How
each one was made is the ground truth:

* ``"marked"``: trained on images that all carry a marker, labelled with the
  class whose colour the marker shows, the object drawn independently of that
  label (the marker's own class for :data:`MARKED_SHARE` of the images, the
  swapped version for the rest): only the marker tells the label, so the model
  relies on it. (Trained on marked images of the object's own class instead,
  a model learns both cues, and how much it leans on the marker varies with
  the seed and the thread count: too close to the criterion to grade on.)
* ``"none"``: trained on the same scenes without a marker: it cannot rely on
  one;
* ``"random"``: trained on the same scenes with the marker in a colour drawn
  independently of the class (the marked version for a quarter of the
  images, the swapped one, another class's colour, for the rest): it sees
  markers but they tell it nothing.

They are not the shipped models (a student could recognise those by their
weights), they are made deterministically from their seed (the initial
weights from a NumPy generator, the batches in a seeded order), and they are
cheap: a few seconds each on a CPU, made once per machine and kept in the
course's disk cache (:func:`convviz_ref.cache.cached_arrays`; a process that
asks while another makes one waits and reads it). TensorFlow's CPU kernels
can split a sum over threads, so another thread count can train slightly
other weights; the grader checks every hidden case when it builds it
(:mod:`convviz_grade.assignments.attribution`), so a model that came out
otherwise would stop the grader rather than grade wrongly.

>>> model = marker_classifier(0)
>>> model.input_shape, model.output_shape
((None, 32, 32, 3), (None, 4))

This module is not an assignment (it has no ``grading_cases``).
"""

from __future__ import annotations

import hashlib
import inspect

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from convviz_ref import cache, data

IMAGE_SIZE = 32
DATA_SEED = 41
"""The shapes data's seed for the training and test images (the book's is 0)."""
TRAINING = {
    "images": 500,
    "epochs": 12,
    "batch_size": 32,
    "learning_rate": 3e-3,
    "filters": (8, 16, 16),
}
"""How each hidden model is trained (Adam on the cross-entropy of its logits)."""
KINDS = {"marked": True, "none": False, "random": False}
"""Each kind of training data, and whether a model trained on it relies on the
marker."""
MARKED_SHARE = 0.25
"""In the ``"random"`` and ``"marked"`` data, the share of the images whose marker
shows the object's own class (the others show one of the three other classes, each
as often): one in four, as if the one were drawn at random given the other."""
LAST_CONV = "last_conv"


def marker_classifier(seed, filters=TRAINING["filters"]):
    """An untrained classifier of :data:`IMAGE_SIZE`-pixel images into 4 classes.

    Rescaling(1/255), three 3x3 ReLU convolutions (``conv1``, ``conv2``,
    ``last_conv``, "same" padding) with 2x2 max pooling after the first two,
    global max pooling and a linear head ``logits``. Kernels are He-normal,
    biases 0, drawn from ``np.random.default_rng([seed, 29])``.
    """
    inputs = keras.Input((IMAGE_SIZE, IMAGE_SIZE, 3), name="image")
    x = layers.Rescaling(1 / 255, name="rescaling")(inputs)
    x = layers.Conv2D(filters[0], 3, padding="same", activation="relu", name="conv1")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(filters[1], 3, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Conv2D(filters[2], 3, padding="same", activation="relu", name=LAST_CONV)(
        x
    )
    x = layers.GlobalMaxPooling2D(name="global_max")(x)
    outputs = layers.Dense(len(data.CLASS_NAMES), name="logits")(x)
    # One name for all: the grader's models are told apart by what they do.
    model = keras.Model(inputs, outputs, name="classifier")
    rng = np.random.default_rng([seed, 29])
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            kernel, bias = weights
            fan_in = int(np.prod(kernel.shape[:-1]))
            layer.set_weights(
                [
                    rng.normal(0.0, np.sqrt(2 / fan_in), kernel.shape).astype(
                        np.float32
                    ),
                    np.zeros_like(bias),
                ]
            )
    return model


def training_data(kind):
    """The training images and labels of a kind of model (see :data:`KINDS`).

    Returns:
        ``(images, labels)``: float32 ``(TRAINING["images"], 32, 32, 3)`` and int32.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
    n = TRAINING["images"]
    pool = n + n // 4  # about 90 % carry a marker: enough for "marked"

    def version(name):
        return data.load_shapes(
            "train", pool, image_size=IMAGE_SIZE, seed=DATA_SEED, markers=name
        )

    marked = version("marked")
    if kind == "none":
        return version("none").images[:n], marked.labels[:n]
    swapped = version("swapped")
    own = np.random.default_rng([DATA_SEED, 31]).random(n) < MARKED_SHARE
    if kind == "marked":
        carrying = np.flatnonzero(marked.marker_labels >= 0)[:n]
        images = np.where(
            own[:, None, None, None],
            marked.images[carrying],
            swapped.images[carrying],
        )
        labels = np.where(
            own, marked.marker_labels[carrying], swapped.marker_labels[carrying]
        )
        return images, labels.astype(np.int32)
    images = np.where(own[:, None, None, None], marked.images[:n], swapped.images[:n])
    return images, marked.labels[:n]


def train(model, images, labels, seed):
    """Train ``model`` in place as :data:`TRAINING` says; return the last batch's loss.

    The batches are drawn without replacement in an order from
    ``np.random.default_rng([seed, 37])``; an incomplete last batch is dropped.
    """
    optimizer = keras.optimizers.Adam(TRAINING["learning_rate"])
    rng = np.random.default_rng([seed, 37])
    images, labels = tf.constant(images), tf.constant(labels)
    batch_size = TRAINING["batch_size"]

    @tf.function
    def step(batch, batch_labels):
        with tf.GradientTape() as tape:
            logits = model(batch, training=True)
            loss = tf.reduce_mean(
                keras.losses.sparse_categorical_crossentropy(
                    batch_labels, logits, from_logits=True
                )
            )
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        return loss

    loss = np.nan
    for _ in range(TRAINING["epochs"]):
        order = rng.permutation(len(labels))
        for start in range(0, len(order) - batch_size + 1, batch_size):
            batch = order[start : start + batch_size]
            loss = step(tf.gather(images, batch), tf.gather(labels, batch))
    return float(loss)


def _fingerprint():
    """What the hidden models depend on: this recipe's code, the data's, the
    libraries'."""
    digest = hashlib.sha256()
    for source in (marker_classifier, training_data, train):
        digest.update(inspect.getsource(source).encode())
    digest.update(repr((TRAINING, KINDS, MARKED_SHARE, DATA_SEED)).encode())
    digest.update(f"{tf.__version__} {keras.__version__}".encode())
    digest.update(cache.fingerprint(data.__file__).encode())
    return digest.hexdigest()[:16]


def marker_model(kind, seed):
    """A trained hidden model: ``kind`` of training data, ``seed`` of its weights
    and batches.

    Trained once per machine and read from the disk cache afterwards.

    Returns:
        An uncompiled Functional ``keras.Model``, images ``(n, 32, 32, 3)`` in
        0..255 to logits ``(n, 4)``.
    """
    model = marker_classifier(seed)

    def make():
        train(model, *training_data(kind), seed)
        return {f"w{i}": weights for i, weights in enumerate(model.get_weights())}

    stored = cache.cached_arrays(
        f"attribution-marker-model-{kind}-{seed}-{_fingerprint()}", make
    )
    model.set_weights([stored[f"w{i}"] for i in range(len(stored))])
    return model
