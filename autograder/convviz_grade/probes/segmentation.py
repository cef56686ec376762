"""The probe of ``build_segmenter``: what the student's segmenter is, what it learns.

The student's ``build_segmenter(image_size, num_classes)`` returns a Keras
model. :func:`describe_and_train` builds it, describes every layer (its class,
the height and width of the feature maps it takes and gives, its strides,
kernel and padding), and, when the case asks for a training run, trains it
with the grader's recipe (Adam, sparse categorical cross-entropy, the case's
seed, batch size, epochs and learning rate; whatever the student compiled is
replaced) on the training images and trimaps the case passes, then predicts
the hidden test images. It judges nothing: the test masks never reach this
process, and the grader computes the mean IoU, checks the layers and the
budget (``convviz_grade.assignments.segmentation``).

Self-contained (the standard library, NumPy and Keras), as every probe is.
"""

import time

import numpy as np


def _spatial(shape):
    """``(height, width)`` of a 4-D ``(batch, height, width, channels)`` shape."""
    shape = tuple(shape)
    if len(shape) != 4 or shape[1] is None or shape[2] is None:
        return (-1, -1)
    return (int(shape[1]), int(shape[2]))


def _shapes(tensors):
    if isinstance(tensors, dict):
        tensors = list(tensors.values())
    if not isinstance(tensors, (list, tuple)):
        tensors = [tensors]
    return [tuple(tensor.shape) for tensor in tensors if hasattr(tensor, "shape")]


def _leaf_layers(model):
    """The model's layers, a nested model's replaced by its own, in order."""
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _leaf_layers(layer)
        else:
            yield layer


def _pair(value):
    if value is None:
        return (0, 0)
    if isinstance(value, int):
        return (value, value)
    value = tuple(value)
    return (int(value[0]), int(value[-1])) if value else (0, 0)


def describe_layers(model):
    """Each layer's class name and the sizes it maps, as plain arrays.

    Returns:
        dict with ``layer_classes`` (uint8 bytes of the class names joined by
        newlines), ``layer_sizes`` (int64 ``(layers, 4)``: input height and
        width, the largest over its inputs, then output height and width; -1
        where a tensor is not a 4-D feature map) and ``layer_config`` (int64
        ``(layers, 5)``: strides, kernel size, and 1 when ``padding="valid"``
        (0 for "same", -1 without padding)).
    """
    names, sizes, config = [], [], []
    for layer in _leaf_layers(model):
        if type(layer).__name__ == "InputLayer":
            continue
        try:
            inputs = _shapes(layer.input)
            outputs = _shapes(layer.output)
        except Exception:  # a layer used twice has no single input or output
            inputs, outputs = [], []
        in_sizes = [_spatial(shape) for shape in inputs] or [(-1, -1)]
        in_size = max(in_sizes)
        out_size = _spatial(outputs[0]) if len(outputs) == 1 else (-1, -1)
        padding = getattr(layer, "padding", None)
        padding = -1 if not isinstance(padding, str) else int(padding == "valid")
        names.append(type(layer).__name__)
        sizes.append([*in_size, *out_size])
        config.append(
            [
                *_pair(getattr(layer, "strides", None)),
                *_pair(getattr(layer, "kernel_size", None)),
                padding,
            ]
        )
    return {
        "layer_classes": np.frombuffer("\n".join(names).encode(), np.uint8).copy(),
        "layer_sizes": np.array(sizes, np.int64).reshape(-1, 4),
        "layer_config": np.array(config, np.int64).reshape(-1, 5),
    }


def describe_and_train(
    function,
    args,
    kwargs,
    *,
    test_images,
    train_images=None,
    train_masks=None,
    epochs=0,
    batch_size=16,
    learning_rate=2e-3,
    seed=0,
):
    """Build the student's segmenter, describe it, train it if asked, predict.

    Args:
        function: the student's ``build_segmenter``.
        args, kwargs: its arguments, ``(image_size, num_classes)``.
        test_images: float32 ``(n, size, size, 3)`` in 0..255, the images
            whose per-pixel probabilities the probe returns (the grader keeps
            their masks).
        train_images, train_masks: the training images and int trimaps, or
            None for no training run.
        epochs, batch_size, learning_rate, seed: the grader's recipe.

    Returns:
        dict: ``value``, the model's output on ``test_images`` (after the
        training run, if any); ``output_shape`` (int, -1 for None);
        ``params``; ``trained`` (1 if the training run happened: it is
        skipped when the output cannot be trained against the masks);
        ``train_seconds``; and :func:`describe_layers`' entries.

    Raises:
        TypeError: if the function does not return a Keras model.
    """
    import keras

    keras.utils.set_random_seed(int(seed))
    model = function(*args, **kwargs)
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"build_segmenter returned a {type(model).__name__}, not a keras.Model"
        )
    output_shape = np.array(
        [-1 if size is None else int(size) for size in model.output_shape],
        np.int64,
    )
    entries = {
        **describe_layers(model),
        "output_shape": output_shape,
        "params": np.array(model.count_params(), np.int64),
        "trained": np.array(0, np.int64),
        "train_seconds": np.array(0.0),
    }
    test_images = np.asarray(test_images, np.float32)
    if train_images is not None and epochs > 0:
        train_images = np.asarray(train_images, np.float32)
        train_masks = np.asarray(train_masks, np.int32)
        num_classes = int(train_masks.max()) + 1
        first = np.asarray(model(train_images[:2], training=False), np.float64)
        trainable = (
            tuple(output_shape[1:3]) == train_masks.shape[1:3]
            and output_shape[-1] >= num_classes
            and np.all(np.isfinite(first))
            and np.all(first >= -1e-4)
            and np.allclose(first.sum(axis=-1), 1.0, atol=1e-3)
        )
        if trainable:
            model.compile(
                optimizer=keras.optimizers.Adam(float(learning_rate)),
                loss="sparse_categorical_crossentropy",
            )
            start = time.perf_counter()
            model.fit(
                train_images,
                train_masks,
                batch_size=int(batch_size),
                epochs=int(epochs),
                shuffle=True,
                verbose=0,
            )
            entries["train_seconds"] = np.array(time.perf_counter() - start)
            entries["trained"] = np.array(1, np.int64)
    entries["value"] = np.asarray(
        model.predict(test_images, batch_size=64, verbose=0), np.float32
    )
    return entries
