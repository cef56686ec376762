"""Filter visualization by gradient ascent: inputs each filter responds to strongly.

Start from a grey, slightly noisy image and climb the gradient of one
filter's mean activation with respect to the image. The book's plain ascent
is here exactly (:func:`compute_loss`, :func:`gradient_ascent_step`,
:func:`generate_filter_pattern`, :func:`deprocess_image`, :func:`stitch`),
with a batched version that optimizes many filters in one tensor and a
regularized variant whose patterns are easier to read.

Input scale. The book's Xception takes inputs in [-1, 1], starts from values
in 0.4..0.6 and steps by ``learning_rate=10`` along an l2-normalized
gradient. Our models take 0..255 and rescale inside, so the same step would
move each pixel ~127 times less. :func:`input_range` reads the model's
expected range, and ``learning_rate=None`` scales the book's 10 to it.

Example:

>>> from convviz_ref.models import build_small_convnet
>>> model = build_small_convnet(image_size=96)
>>> extractor = build_feature_extractor(model, "conv2")
>>> pattern = generate_filter_pattern(extractor, 0, iterations=2, seed=0)
>>> pattern.shape, pattern.dtype
((96, 96, 3), dtype('float32'))
>>> deprocess_image(pattern).shape  # 25 pixels cropped from each border
(46, 46, 3)
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import keras
import numpy as np
import tensorflow as tf

from convviz_ref.activations import (
    CONV_TYPES,
    build_activation_model,
    check_spatial_layers,
    conv_and_pool_layers,
)
from convviz_ref.inputs import DEFAULT_IMAGE_SIZE, input_size
from convviz_ref.progress import progress as progress_bar
from convviz_ref.scoring import derived

BOOK_LEARNING_RATE = 10.0
"""The book's step size, for inputs in [-1, 1] (a range of width 2)."""


def build_feature_extractor(model, layer_name):
    """A model from the input image to the output of layer ``layer_name``.

    Raises:
        ValueError: if there is no such layer (the message lists the conv layers).
    """
    return build_activation_model(model, [layer_name])


def middle_layer(model):
    """The first conv at the model's middle resolution (filters look like textures).

    The course's one "middle layer": the default of ``convviz filters``, the
    book's middle grid, the benchmark and the filter-ascent check all use it.

    Among the conv layers of :func:`convviz_ref.activations.conv_and_pool_layers`
    (1x1 projections left out, if there are others), group them by the height
    and width of their output, in order, and take the first of the middle
    group (the earlier one of two middles): ``block2_sepconv1`` for
    xception_like, ``conv3`` for small_convnet. A model whose sizes are not
    fixed gets its middle conv layer.

    Raises:
        ValueError: if the model has no conv layer.
    """
    convs = [
        layer for layer in conv_and_pool_layers(model) if isinstance(layer, CONV_TYPES)
    ]
    if not convs:
        raise ValueError(f"model {model.name!r} has no conv layer")
    convs = [layer for layer in convs if max(layer.kernel_size) > 1] or convs
    stages = {}
    for layer in convs:
        stages.setdefault(tuple(layer.output.shape[1:3]), layer)
    middle = list(stages.values()) if len(stages) > 1 else convs
    return middle[(len(middle) - 1) // 2].name


def input_range(model):
    """The ``(low, high)`` range of input values ``model`` expects.

    When the first layer after the input is a ``Rescaling`` (``x * scale +
    offset``), the range is the inputs it maps to [0, 1] (no offset) or to
    [-1, 1] (with an offset): ``(0, 255)`` for ``Rescaling(1/255)`` (all of
    our models) and also for ``Rescaling(1/127.5, offset=-1)``. A model
    without one is assumed to take ``(-1, 1)``, the range of
    ``keras.applications.xception.preprocess_input``.
    """
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.layers.Rescaling):
            scale, offset = (
                float(np.ravel(layer.scale)[0]),
                float(np.ravel(layer.offset)[0]),
            )
            # The layer computes x * scale + offset: solve for x giving 0..1 or -1..1.
            low_target = 0.0 if offset == 0 else -1.0
            return ((low_target - offset) / scale + 0.0, (1.0 - offset) / scale)
        break
    return (-1.0, 1.0)


def default_learning_rate(model):
    """The book's step of 10 for a [-1, 1] input, scaled to the model's input range.

    Formula: ``10 * (high - low) / 2``; 1275 for a 0..255 model.
    """
    low, high = input_range(model)
    return BOOK_LEARNING_RATE * (high - low) / 2.0


def compute_loss(feature_extractor, image, filter_index):
    """The mean activation of one filter, leaving out a 2-pixel border.

    Formula: ``loss = mean(A[:, 2:-2, 2:-2, filter_index])`` where
    ``A = feature_extractor(image)``. The 2-pixel border is left out as in
    the book, against border artifacts: in a model whose convolutions pad
    with zeros (``padding="same"``, as in xception_like), the windows of the
    outer positions read the padding, and the ascent would exploit it. The
    cut is a heuristic, not a bound: a position 2 pixels in can still see
    the padding through earlier layers (the entry convolution's, for
    ``block1_sepconv1``). In a model without padding (``padding="valid"``,
    as in small_convnet) no window reads padding; the cut only leaves out
    the outermost positions.

    Args:
        feature_extractor: a model from images to a 4-D activation.
        image: float32 tensor ``(batch, height, width, 3)``.
        filter_index: int, the channel to maximize.

    Returns:
        A scalar float32 tensor.
    """
    activation = feature_extractor(image)
    return tf.reduce_mean(activation[:, 2:-2, 2:-2, filter_index])


def _ascent_step(feature_extractor, image, filter_index, learning_rate):
    """:func:`gradient_ascent_step` on tensors; the tape watches only the image."""
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(image)
        loss = compute_loss(feature_extractor, image, filter_index)
    gradient = tf.math.l2_normalize(tape.gradient(loss, image))
    return image + learning_rate * gradient


def gradient_ascent_step(feature_extractor, image, filter_index, learning_rate):
    """One step up the gradient of :func:`compute_loss`.

    Formula: ``image + learning_rate * g / ||g||_2`` with
    ``g = d loss / d image``. Normalizing the gradient makes the step size
    the same whatever the gradient's magnitude, which varies wildly between
    layers and filters.

    Args:
        feature_extractor: a model from images to a 4-D activation.
        image: float32 array or tensor ``(1, height, width, 3)``.
        filter_index: int.
        learning_rate: float, the length of the step in input units.

    Returns:
        A float32 tensor of the same shape; ``image`` is not modified.
    """
    image = tf.convert_to_tensor(image, dtype=tf.float32)
    step = _traced(
        _ascent_step, feature_extractor
    )  # a tf.function, traced once per extractor
    return step(
        image, tf.constant(filter_index), tf.constant(learning_rate, tf.float32)
    )


def initial_image(image_size, value_range=(0.0, 255.0), *, num_images=1, seed=None):
    """The starting point: uniform noise in the middle fifth of the input range.

    Formula: ``low + (high - low) * U(0.4, 0.6)``, the book's 0.4..0.6 for a
    [0, 1] range. Returns float32 ``(num_images, image_size, image_size, 3)``.
    """
    low, high = value_range
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0.4, 0.6, size=(num_images, image_size, image_size, 3))
    return (low + (high - low) * noise).astype(np.float32)


def generate_filter_pattern(
    feature_extractor,
    filter_index,
    iterations=30,
    learning_rate=None,
    image_size=96,
    seed=None,
):
    """An input that excites filter ``filter_index`` strongly: plain gradient ascent.

    Starts from :func:`initial_image` and applies :func:`gradient_ascent_step`
    ``iterations`` times. The pixels are unbounded, so there is no maximum to
    reach: the result is where this budget of steps gets to.

    Args:
        feature_extractor: a model from images to a 4-D activation
            (see :func:`build_feature_extractor`).
        filter_index: int, the channel.
        iterations: int, number of ascent steps.
        learning_rate: float; ``None`` picks :func:`default_learning_rate`
            for the extractor (10 for a [-1, 1] model, as in the book; 1275
            for our 0..255 models).
        image_size: int, height and width of the pattern.
        seed: int or None, seed of the starting noise.

    Returns:
        float32 array ``(image_size, image_size, 3)`` in the model's input
        units (not clipped): pass it to :func:`deprocess_image` to view it.

    Raises:
        ValueError: if ``filter_index`` is not a channel of the layer.
    """
    _check_ascent_arguments(feature_extractor, filter_index)
    if learning_rate is None:
        learning_rate = default_learning_rate(feature_extractor)
    image = tf.constant(
        initial_image(image_size, input_range(feature_extractor), seed=seed)
    )
    for _ in range(iterations):
        image = gradient_ascent_step(
            feature_extractor, image, filter_index, learning_rate
        )
    return image[0].numpy()


def _check_ascent_arguments(feature_extractor, filter_index):
    """A one-line ValueError for a filter index out of range or a map too small."""
    channels = feature_extractor.output_shape[-1]
    indices = np.atleast_1d(filter_index)
    if indices.size == 0:
        raise ValueError("no filter index given")
    bad = indices[(indices < 0) | (indices >= channels)]
    if bad.size:
        raise ValueError(
            f"filter index {int(bad[0])} is out of range: "
            f"the layer has {channels} filters (0..{channels - 1})"
        )
    height, width = feature_extractor.output_shape[1:3]
    if any(size is not None and size <= 4 for size in (height, width)):
        raise ValueError(
            f"the layer's feature map is {height}x{width}: the loss leaves out a "
            "2-pixel border, so nothing is left; pick an earlier layer"
        )


def generate_filter_patterns(
    feature_extractor,
    filter_indices,
    iterations=30,
    learning_rate=None,
    image_size=96,
    seed=None,
    *,
    batch_size=16,
    group_size=4,
    progress=True,
):
    """Plain gradient ascent for many filters at once, in one tensor.

    Image ``n`` of the batch climbs the loss of filter ``filter_indices[n]``;
    the summed loss ``sum_n mean(A[n, 2:-2, 2:-2, filter_indices[n]])`` has
    exactly the gradient of each image's own loss, and each image's gradient
    is l2-normalized on its own, so pattern ``n`` is what
    :func:`generate_filter_pattern` gives for that filter from the same
    starting image. All the steps run in one traced TensorFlow function.

    Args:
        feature_extractor: a model from images to a 4-D activation.
        filter_indices: sequence of int.
        iterations, learning_rate, image_size, seed: as in
            :func:`generate_filter_pattern`.
        batch_size: int, filters per traced call (memory grows with it;
            each call is one step of the progress bar).
        group_size: int, images per independent ascent inside a call
            (independent groups run side by side; ``convviz benchmark``
            measures the difference with one group).
        progress: bool, show a progress bar over the batches.

    Returns:
        float32 array ``(len(filter_indices), image_size, image_size, 3)``.

    Raises:
        ValueError: if a filter index is out of range, or none is given, or
            a size is not a positive integer.
    """
    filter_indices = np.asarray(filter_indices, dtype=np.int32)
    _check_ascent_arguments(feature_extractor, filter_indices)
    _check_sizes(batch_size=batch_size, group_size=group_size)
    if learning_rate is None:
        learning_rate = default_learning_rate(feature_extractor)
    start = initial_image(
        image_size,
        input_range(feature_extractor),
        num_images=len(filter_indices),
        seed=seed,
    )
    patterns = []
    for groups in _batches(len(filter_indices), batch_size, group_size, progress):
        images = _traced(_batched_ascent, feature_extractor)(
            [tf.constant(start[group]) for group in groups],
            [tf.constant(filter_indices[group]) for group in groups],
            tf.constant(float(learning_rate)),
            tf.constant(iterations),
        )
        patterns.extend(group_images.numpy() for group_images in images)
    return np.concatenate(patterns)


def _check_sizes(**sizes):
    """Raise a one-line ValueError unless every size is a positive integer."""
    for name, value in sizes.items():
        if (
            not isinstance(value, (int, np.integer))
            or isinstance(value, bool)
            or value < 1
        ):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _batches(count, batch_size, group_size, progress):
    """For each batch of ``batch_size`` of ``count`` filters, its groups of slices.

    A group is a slice of at most ``group_size`` filters; one progress step
    per batch, the bar shown only for two batches or more.
    """
    starts = range(0, count, batch_size)
    bar = progress_bar(
        starts, desc="filters", unit="batch", disable=not progress or len(starts) < 2
    )
    for first in bar:
        yield _groups(first, min(first + batch_size, count), group_size)


def _groups(first, stop, group_size):
    """Consecutive slices of at most ``group_size`` covering ``first:stop``."""
    return [
        slice(begin, min(begin + group_size, stop))
        for begin in range(first, stop, group_size)
    ]


def _summed_filter_loss(activation, filter_indices):
    """``sum_n mean(A[n, 2:-2, 2:-2, filter_indices[n]])``: each image's own filter.

    The channel is picked by a product with a one-hot vector (exact for finite
    activations): its gradient costs one multiplication, where slicing or
    gathering the whole activation has gradients that scatter into a new
    tensor as large as it.
    """
    one_hot = tf.one_hot(
        filter_indices, tf.shape(activation)[-1], dtype=activation.dtype
    )
    picked = tf.einsum("bhwc,bc->bhw", activation, one_hot)
    return tf.reduce_sum(tf.reduce_mean(picked[:, 2:-2, 2:-2], axis=[1, 2]))


def _plain_ascent(feature_extractor, images, filter_indices, learning_rate, iterations):
    """``iterations`` plain steps for one group: ``x <- x + lr * l2_normalize(g)``."""
    for _ in tf.range(iterations):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(images)
            loss = _summed_filter_loss(feature_extractor(images), filter_indices)
        gradients = tf.math.l2_normalize(tape.gradient(loss, images), axis=[1, 2, 3])
        images = images + learning_rate * gradients
    return images


def _traced(steps, feature_extractor):
    """``steps`` with ``feature_extractor`` bound, one ``tf.function`` per extractor.

    One ``tf.function`` taking the extractor as an argument traces again for
    each new extractor, and TensorFlow counts every such trace against that
    one Python function: from the fifth in a row it prints a warning about
    excessive retracing (the book's filter chapter visits several layers).
    Bound with :func:`functools.partial`, each extractor has its own function,
    kept by :func:`convviz_ref.scoring.derived`.
    """
    return derived(
        feature_extractor,
        (steps.__name__,),
        lambda: tf.function(
            functools.partial(steps, feature_extractor), reduce_retracing=True
        ),
    )


def _batched_ascent(
    feature_extractor, image_groups, index_groups, learning_rate, iterations
):
    """Every ascent step for groups of (image, filter) pairs, each group on its own."""
    return [
        _plain_ascent(feature_extractor, images, indices, learning_rate, iterations)
        for images, indices in zip(image_groups, index_groups)
    ]


def generate_regularized_patterns(
    feature_extractor,
    filter_indices,
    *,
    octaves=(12, 24, 48, 96),
    iterations_per_octave=15,
    learning_rate=None,
    jitter=4,
    image_size=96,
    seed=None,
    batch_size=16,
    group_size=4,
    progress=True,
):
    """Gradient ascent with three regularizers, for patterns a person can read.

    Plain ascent (:func:`generate_filter_pattern`) on a small model often
    finds high-frequency noise that excites a filter without looking like
    anything. Three standard remedies (Olah et al., "Feature Visualization",
    Distill 2017) keep the pattern natural:

    * **octaves**: the gradient is first smoothed to a coarse grid
      (``octaves[0]`` pixels a side: resized down with area averaging and
      back up), so large shapes and colours form first; later octaves allow
      finer detail, up to the full resolution;
    * **jitter**: each step looks at the image shifted by a random offset of
      up to ``jitter`` pixels, so the pattern cannot rely on one exact pixel
      position;
    * **clipping**: the image stays within the model's input range, as a
      real image would.

    Each step: ``x <- clip(x + lr * l2_normalize(smooth_k(g)), low, high)``
    with ``g`` the gradient of :func:`compute_loss` at the jittered image.

    Args:
        feature_extractor: a model from images to a 4-D activation.
        filter_indices: sequence of int.
        octaves: sequence of int, the grid sizes the gradient is smoothed
            to, coarse to fine; the last is usually ``image_size``.
        iterations_per_octave: int, steps at each octave.
        learning_rate: float or None (see :func:`default_learning_rate`).
        jitter: int, largest random shift in pixels (0 for none).
        image_size: int.
        seed: int or None, seeds the start image and the jitter.
        batch_size, group_size: int, filters per traced call and images per
            independent group, as in :func:`generate_filter_patterns`.
        progress: bool, show a progress bar over the batches.

    Returns:
        float32 array ``(len(filter_indices), image_size, image_size, 3)``
        in the model's input range.
    """
    filter_indices = np.asarray(filter_indices, dtype=np.int32)
    _check_ascent_arguments(feature_extractor, filter_indices)
    _check_sizes(batch_size=batch_size, group_size=group_size)
    if learning_rate is None:
        learning_rate = default_learning_rate(feature_extractor)
    low, high = input_range(feature_extractor)
    start = initial_image(
        image_size, (low, high), num_images=len(filter_indices), seed=seed
    )
    shifts = np.random.default_rng(seed).integers(
        -jitter, jitter + 1, size=(len(octaves), iterations_per_octave, 2)
    )
    patterns = []
    for groups in _batches(len(filter_indices), batch_size, group_size, progress):
        images = [tf.constant(start[group]) for group in groups]
        indices = [tf.constant(filter_indices[group]) for group in groups]
        for octave, grid_size in enumerate(octaves):
            images = _traced(_regularized_ascent, feature_extractor)(
                images,
                indices,
                tf.constant(shifts[octave]),
                tf.constant(grid_size),
                tf.constant(float(learning_rate)),
                tf.constant([low, high], tf.float32),
            )
        patterns.extend(group_images.numpy() for group_images in images)
    return np.concatenate(patterns)


def generate_clipped_patterns(
    feature_extractor,
    filter_indices,
    iterations=30,
    learning_rate=None,
    image_size=96,
    seed=None,
    *,
    batch_size=16,
    group_size=4,
    progress=True,
):
    """Plain gradient ascent kept inside the model's input range (projected ascent).

    The steps of :func:`generate_filter_patterns` from the same starting
    image, each followed by clipping to :func:`input_range` (0..255 for our
    models): ``x <- clip(x + lr * g / ||g||_2, low, high)``, ``g`` the
    gradient of :func:`compute_loss`. No octaves and no jitter: it is
    :func:`generate_regularized_patterns` with one octave at full resolution
    and ``jitter=0``. The result is a valid image, so its loss can be compared
    fairly with real images'.

    Args and Returns: as in :func:`generate_filter_patterns`; the patterns
    lie in the model's input range.
    """
    return generate_regularized_patterns(
        feature_extractor,
        filter_indices,
        octaves=(image_size,),
        iterations_per_octave=iterations,
        learning_rate=learning_rate,
        jitter=0,
        image_size=image_size,
        seed=seed,
        batch_size=batch_size,
        group_size=group_size,
        progress=progress,
    )


def visualize_filter(feature_extractor, filter_index, *, image_size=96, steps=30):
    """An image in the model's input range on which one filter responds strongly.

    The clipped (projected) ascent of :func:`generate_clipped_patterns` for
    one filter, from :func:`initial_image` with seed 0: ``steps`` steps of
    ``x <- clip(x + lr * g / ||g||_2, low, high)`` with ``g`` the gradient of
    :func:`compute_loss` and ``lr`` the :func:`default_learning_rate`. Inside
    the box ``low..high`` the loss has a maximum (a continuous function on a
    closed, bounded set), which the unclipped ascent lacks. The exercise grades
    a student's version on what it reaches: :func:`compute_loss` of the image
    must be at least a stated fraction of this function's, in the same number
    of steps.

    Args:
        feature_extractor: a model from images to a 4-D activation.
        filter_index: int, the channel.
        image_size: int, height and width of the image.
        steps: int, ascent steps.

    Returns:
        float32 array ``(image_size, image_size, 3)`` within
        :func:`input_range` (0..255 for our models).

    Raises:
        ValueError: if ``filter_index`` is not a channel of the layer.
    """
    return generate_clipped_patterns(
        feature_extractor,
        [filter_index],
        iterations=steps,
        image_size=image_size,
        seed=0,
        progress=False,
    )[0]


def _regularized_octave(
    feature_extractor,
    images,
    filter_indices,
    shifts,
    grid_size,
    learning_rate,
    value_range,
):
    """One octave's steps for one group: jitter, smoothed gradient, clipped step."""
    size = tf.shape(images)[1:3]
    for step in tf.range(tf.shape(shifts)[0]):
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(images)
            moved = tf.roll(images, shift=shifts[step], axis=[1, 2])
            loss = _summed_filter_loss(feature_extractor(moved), filter_indices)
        gradients = tape.gradient(loss, images)
        coarse = tf.image.resize(gradients, [grid_size, grid_size], method="area")
        gradients = tf.math.l2_normalize(
            tf.image.resize(coarse, size, method="bilinear"), axis=[1, 2, 3]
        )
        images = tf.clip_by_value(
            images + learning_rate * gradients, value_range[0], value_range[1]
        )
    return images


def _regularized_ascent(
    feature_extractor,
    image_groups,
    index_groups,
    shifts,
    grid_size,
    learning_rate,
    value_range,
):
    """One octave of :func:`generate_regularized_patterns`, for independent groups."""
    return [
        _regularized_octave(
            feature_extractor,
            images,
            indices,
            shifts,
            grid_size,
            learning_rate,
            value_range,
        )
        for images, indices in zip(image_groups, index_groups)
    ]


MAX_DEFAULT_FILTERS = 64
"""How many filters :func:`filter_grid` shows by default (all of a layer with fewer)."""

GRID_COLUMNS = 8
"""Patterns per row of :func:`filter_grid`'s picture."""


class FilterGrid(NamedTuple):
    """What :func:`filter_grid` returns.

    Attributes:
        grid: uint8 array ``(height, width, 3)``, the patterns stitched in
            rows of :data:`GRID_COLUMNS` (see :func:`stitch`).
        indices: list of int, the filters shown, in order.
        layer_name: str, the layer whose filters they are.
    """

    grid: np.ndarray
    indices: list
    layer_name: str


def grid_units(model, layer_name=None, *, filters=None, filter_index=None):
    """Which units a grid of ``convviz filters`` shows, and where it reads them.

    Args: as :func:`filter_grid`'s.

    Returns:
        ``(extractor, layer_name, image_size, indices)``: the
        :func:`build_feature_extractor` of the layer (None: the
        :func:`middle_layer`), the pictures' side, and the units: filters
        ``0..filters-1`` (by default :data:`MAX_DEFAULT_FILTERS` or every
        filter of a layer with fewer), or ``[filter_index]``.

    Raises:
        ValueError: as :func:`filter_grid`, for everything but the ascent.
    """
    if filters is not None and filter_index is not None:
        raise ValueError("give filters or filter_index, not both")
    layer_name = middle_layer(model) if layer_name is None else layer_name
    extractor = build_feature_extractor(model, layer_name)
    check_spatial_layers(model, [layer_name])
    size = input_size(model)
    if size is not None and size[0] != size[1]:
        raise ValueError(
            f"model {model.name!r} takes {size[0]}x{size[1]} images; "
            "filter patterns are square"
        )
    image_size = size[0] if size is not None else DEFAULT_IMAGE_SIZE
    channels = extractor.outputs[0].shape[-1]
    if filter_index is not None:
        indices = [filter_index]
    else:
        count = min(MAX_DEFAULT_FILTERS, channels) if filters is None else filters
        if count > channels:
            raise ValueError(
                f"filters={count} is out of range: "
                f"layer {layer_name!r} has {channels} filters"
            )
        indices = list(range(count))
    return extractor, layer_name, image_size, indices


def filter_grid(
    model,
    layer_name=None,
    *,
    filters=None,
    filter_index=None,
    iterations=30,
    regularized=False,
    seed=0,
    progress=True,
):
    """One layer's filter patterns as one picture: what ``convviz filters`` shows.

    Runs :func:`generate_filter_pattern` (one filter) or
    :func:`generate_filter_patterns` (several), or with ``regularized``
    :func:`generate_regularized_patterns`, at the model's input size, then
    :func:`deprocess_image` with a crop of ``min(25, image_size * 25 // 96)``
    (the book's 25 pixels at our 96-pixel size, fewer for smaller patterns)
    and :func:`stitch`.

    Args:
        model: a ``keras.Model`` whose input is square (or of free size: the
            patterns are then ``DEFAULT_IMAGE_SIZE`` pixels).
        layer_name: str, a conv or pooling layer; None for
            :func:`middle_layer`.
        filters: int, show filters ``0..filters-1``; None for
            :data:`MAX_DEFAULT_FILTERS`, or every filter of a layer with
            fewer.
        filter_index: int, show this filter alone (not with ``filters``).
        iterations: int, plain ascent steps (not used with ``regularized``).
        regularized: bool, ascent with octaves, jitter and clipping.
        seed: int, seed of the starting noise (and the jitter).
        progress: bool, show a progress bar over the batches of filters.

    Returns:
        :class:`FilterGrid` ``(grid, indices, layer_name)``.

    Raises:
        ValueError: for an unknown layer or one without a spatial output,
            a model with no conv layer or an oblong input, ``filters`` and
            ``filter_index`` both given, a filter index or count out of
            range, or a feature map too small for the loss.
    """
    extractor, layer_name, image_size, indices = grid_units(
        model, layer_name, filters=filters, filter_index=filter_index
    )
    if regularized:
        patterns = generate_regularized_patterns(
            extractor, indices, image_size=image_size, seed=seed, progress=progress
        )
    elif filter_index is not None:
        patterns = generate_filter_pattern(
            extractor, filter_index, iterations, image_size=image_size, seed=seed
        )[None]
    else:
        patterns = generate_filter_patterns(
            extractor,
            indices,
            iterations,
            image_size=image_size,
            seed=seed,
            progress=progress,
        )
    crop = min(25, image_size * 25 // 96)
    grid = stitch(
        [deprocess_image(pattern, crop=crop) for pattern in patterns],
        n_cols=min(GRID_COLUMNS, len(indices)),
    )
    return FilterGrid(grid, indices, layer_name)


def deprocess_image(image, crop=25):
    """Turn an ascent result into a viewable uint8 picture.

    Formula: ``clip((x - mean(x)) / std(x) * 64 + 128, 0, 255)`` as uint8,
    then ``crop`` pixels cut from each border (where the pattern is least
    trustworthy). A constant image (``std = 0``) gives mid-grey (128), never
    NaN. The input is never modified.

    Args:
        image: float array ``(height, width, 3)``.
        crop: int, pixels removed from each side; 0 keeps the whole image.

    Returns:
        uint8 array ``(height - 2 * crop, width - 2 * crop, 3)``.

    Raises:
        ValueError: if the crop leaves nothing of the image.
    """
    image = np.array(
        image, dtype=np.float32
    )  # a copy: the caller's array stays as it was
    if crop and 2 * crop >= min(image.shape[:2]):
        raise ValueError(
            f"crop={crop} leaves nothing of a {image.shape[0]}x{image.shape[1]} image"
        )
    if (
        image.max() == image.min()
    ):  # constant: mid-grey (float32 round-off would give 127)
        image[...] = 0.0
    image -= image.mean()
    std = image.std()
    if std > 0:
        image /= std
    image *= 64
    image += 128
    image = np.clip(image, 0, 255).astype(np.uint8)
    if crop:
        image = image[crop:-crop, crop:-crop, :]
    return image


def stitch(images, n_cols=8, margin=5):
    """Stitch equally-sized pictures into one grid with black margins between them.

    Args:
        images: sequence of uint8 arrays ``(height, width, 3)``.
        n_cols: int, pictures per row.
        margin: int, pixels between pictures.

    Returns:
        uint8 array ``(rows * height + (rows - 1) * margin,
        n_cols * width + (n_cols - 1) * margin, 3)`` with
        ``rows = ceil(len(images) / n_cols)``; unused tiles stay black.
    """
    images = [np.asarray(image) for image in images]
    if not images:
        raise ValueError("stitch needs at least one image")
    height, width = images[0].shape[:2]
    rows = -(-len(images) // n_cols)
    grid = np.zeros(
        (
            rows * height + (rows - 1) * margin,
            n_cols * width + (n_cols - 1) * margin,
            3,
        ),
        np.uint8,
    )
    for index, image in enumerate(images):
        row, col = divmod(index, n_cols)
        top, left = row * (height + margin), col * (width + margin)
        grid[top : top + height, left : left + width] = image
    return grid


def unstitch(grid, count, n_cols=8, margin=5):
    """The first ``count`` tiles of a grid made by :func:`stitch`, its inverse.

    Args:
        grid: uint8 array from ``stitch(images, n_cols, margin)`` of square
            images.
        count: int, tiles to cut out, in the order they were stitched.
        n_cols, margin: as given to :func:`stitch`.

    Returns:
        uint8 array ``(count, side, side, 3)``.
    """
    side = (grid.shape[1] - (n_cols - 1) * margin) // n_cols
    step = side + margin
    tiles = []
    for index in range(count):
        row, col = divmod(index, n_cols)
        tiles.append(
            grid[row * step : row * step + side, col * step : col * step + side]
        )
    return np.stack(tiles)
