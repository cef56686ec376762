"""The probe of ``visualize_filter``: the image it returns, and its gradient budget.

Self-contained (NumPy, Keras and TensorFlow only: see :mod:`convviz_grade.probes`).
The student's function gets the case's feature extractor with its first layer
counting: an identity in front of it whose gradient, each time a gradient flows
back through it to the image, adds the batch size of that gradient (one per
image) to a counter.
So every gradient with respect to the input counts, however it is taken
(``tf.GradientTape`` eagerly or inside ``tf.function``, a loop traced once,
Adam on a ``tf.Variable``, several starts in one batch), and forward passes,
which take no gradient, do not. The check, in the grader, compares the count
with the case's ``steps`` and measures the image with the grader's own copy of
the model.
"""

import numpy as np


def _counting_model(feature_extractor, counter):
    """``feature_extractor`` with its first layer counting the gradients to its input.

    The same graph of the same layers (their weights shared), but for the first
    layer after the input, replaced by an instance of a subclass of its own
    class, with the same config and weights, that passes its input through an
    identity whose gradient adds the batch size to ``counter``. So the model
    looks as the original does to code that reads its layers (a ``Rescaling``
    first says the input range), and a fresh model per case means no function
    traced on an earlier one can run uncounted.
    """
    import keras
    import tensorflow as tf

    @tf.custom_gradient
    def counted(images):
        def gradient(upstream):
            counter.assign_add(tf.cast(tf.shape(upstream)[0], tf.int64))
            return upstream

        return tf.identity(images), gradient

    first = next(
        layer
        for layer in feature_extractor.layers
        if not isinstance(layer, keras.layers.InputLayer)
    )

    class Counting(type(first)):
        def call(self, inputs, *args, **kwargs):
            return super().call(counted(inputs), *args, **kwargs)

    Counting.__name__ = Counting.__qualname__ = type(first).__name__

    def clone(layer):
        if layer is not first:
            return layer
        copy = Counting.from_config(layer.get_config())
        if layer.weights:
            copy.build(layer.input.shape)
            copy.set_weights(layer.get_weights())
        return copy

    return keras.models.clone_model(feature_extractor, clone_function=clone)


def run_visualize_filter(function, args, kwargs):
    """The image of ``function(*args, **kwargs)`` and the gradients it took.

    Args:
        function: the student's ``visualize_filter``.
        args, kwargs: the case's arguments, the feature extractor first.

    Returns:
        dict: ``"value"``, the returned image (as returned: the check judges
        its shape and range); ``"gradients"``, the number of image gradients
        taken through the feature extractor (one per image of a batch).
    """
    import tensorflow as tf

    counter = tf.Variable(0, dtype=tf.int64, trainable=False)
    model = _counting_model(args[0], counter)
    image = function(model, *args[1:], **kwargs)
    if hasattr(image, "numpy") and callable(image.numpy):
        image = image.numpy()
    return {"value": image, "gradients": np.array(int(counter.numpy()))}
