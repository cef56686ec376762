"""The probe of ``visualize_filter``: the image it returns, and its gradient budget.

Self-contained (NumPy, Keras and TensorFlow only: see :mod:`convviz_grade.probes`).
The student's function gets the case's feature extractor behind an identity
layer whose gradient counts: each time a gradient flows back through it to the
image, it adds the batch size of that gradient (one per image) to a counter.
So every gradient with respect to the input counts, however it is taken
(``tf.GradientTape`` eagerly or inside ``tf.function``, a loop traced once,
Adam on a ``tf.Variable``, several starts in one batch), and forward passes,
which take no gradient, do not. The check, in the grader, compares the count
with the case's ``steps`` and measures the image with the grader's own copy of
the model.
"""

import numpy as np


def _counting_model(feature_extractor, counter):
    """``feature_extractor`` behind an identity whose gradient adds to ``counter``."""
    import keras
    import tensorflow as tf

    @tf.custom_gradient
    def counted(images):
        def gradient(upstream):
            counter.assign_add(tf.cast(tf.shape(upstream)[0], tf.int64))
            return upstream

        return tf.identity(images), gradient

    class GradientCounter(keras.layers.Layer):
        def call(self, images):
            return counted(images)

        def compute_output_shape(self, input_shape):
            return input_shape

    inputs = keras.Input(shape=tuple(feature_extractor.input_shape[1:]))
    outputs = feature_extractor(GradientCounter()(inputs))
    return keras.Model(inputs, outputs, name=feature_extractor.name)


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
