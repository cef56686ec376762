"""The ``convviz`` command line: one subcommand per job, each calling library functions.

The visualization subcommands (``activations``, ``filters``, ``gradcam``,
``segment``) only parse arguments, load a model and an image, call
:mod:`convviz_ref.activations`, :mod:`convviz_ref.filters`,
:mod:`convviz_ref.gradcam`, :mod:`convviz_ref.segmentation` and
:mod:`convviz_ref.plotting`, and save what those return as PNG files.

A mistake the user can make (a wrong layer name, an index out of range, a
missing or corrupt file) prints one line, ``convviz: error: ...``, on stderr
and exits with code 2, like an argparse usage error.

TensorFlow is imported inside the commands, so ``convviz --help`` is instant.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import re
import sys
from typing import NamedTuple

import convviz_ref

# The shipped models (``convviz_ref.models.BUILDERS``), spelled out here so that
# ``--help`` needs no TensorFlow; a test checks that the two agree.
BUNDLED_MODELS = ("segmenter", "shortcut", "small_convnet", "xception_like")
DEFAULT_CLASSIFIER = "xception_like"
DEFAULT_SEGMENTER = "segmenter"
DEFAULT_PHOTO = "chelsea"
DEFAULT_SHAPES_IMAGE = "shapes:test:0"
MAX_DEFAULT_FILTERS = 64
FILTER_COLUMNS = 8
FILTER_BATCH_SIZE = 16  # several batches, so that the library's progress bar shows for 64 filters
DEFAULT_IMAGE_SIZE = 96  # for models whose input size is not fixed
# convviz_ref.attribution.METHODS, spelled out for --help without TensorFlow; a test checks they agree.
ATTRIBUTION_METHODS = ("gradcam", "gradcam_plus_plus", "score_cam", "layer_cam", "saliency", "smoothgrad",
                       "integrated_gradients", "guided_backprop", "occlusion")


def _version():
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"convviz {convviz_ref.__version__}"]
    for package in ("keras", "tensorflow"):
        try:
            parts.append(f"{package} {version(package)}")
        except PackageNotFoundError:  # pragma: no cover - both are dependencies
            parts.append(f"{package} (not installed)")
    return ", ".join(parts)


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


_MODEL_HELP = (f"a bundled model ({', '.join(BUNDLED_MODELS)}) or the path of a .keras file "
               "(it gets images in 0..255) (default: %(default)s)")
_IMAGE_HELP = ("an image file, a sample photograph (chelsea, cat, astronaut, coffee, rocket, motorcycle, "
               "hubble) or shapes:SPLIT:INDEX, image INDEX of the synthetic shapes split SPLIT "
               "(train, val or test), resized to the model's input size (default: %(default)s")
_OUT_HELP = "folder for the PNG files, created if needed (default: %(default)s)"


def _add_model_image_out(parser, *, model, image, image_reason):
    parser.add_argument("--model", default=model, metavar="MODEL", help=_MODEL_HELP)
    if image is not None:
        parser.add_argument("--image", default=image, metavar="IMAGE", help=f"{_IMAGE_HELP}, {image_reason})")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("out"), metavar="DIR",
                        help=_OUT_HELP)


def build_parser():
    parser = argparse.ArgumentParser(prog="convviz", description="The convviz course's reference tools.")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    evaluate = commands.add_parser(
        "evaluate", help="measure the shipped models on test images and write example figures"
    )
    evaluate.add_argument("--out", type=pathlib.Path, default=None, metavar="DIR",
                          help="folder for the example figures (none written if omitted)")

    train = commands.add_parser("train", help="retrain shipped models from scratch (see convviz-train)")
    train.add_argument("args", nargs=argparse.REMAINDER, help="arguments for convviz-train")

    data = commands.add_parser("data", help="print the summary of the shapes dataset")
    data.add_argument("--image-size", type=int, default=96)
    data.add_argument("--seed", type=int, default=0)

    activations = commands.add_parser(
        "activations", help="what each conv and pooling layer makes of one image",
        description="Run one image through the model and write one picture per layer, every channel "
                    "of the layer's output side by side: DIR/activations_LAYER.png.")
    _add_model_image_out(activations, model=DEFAULT_CLASSIFIER, image=DEFAULT_PHOTO,
                         image_reason="the book's cat; shapes:test:0 shows an image like the training ones")
    activations.add_argument("--layer", action="append", metavar="LAYER",
                             help="a layer to show; repeat for several (default: every conv and pooling layer)")

    filters = commands.add_parser(
        "filters", help="the input patterns that filters of one layer respond to most",
        description="Gradient ascent from a grey, noisy image to the pattern that makes each filter "
                    "respond most; writes DIR/filters_LAYER.png (the patterns, 8 to a row) and "
                    "DIR/filters_LAYER_titled.png (the same with a title). Needs no image.")
    filters.add_argument("--model", default=DEFAULT_CLASSIFIER, help=_MODEL_HELP)
    filters.add_argument("--layer", metavar="LAYER",
                         help="the layer (default: the first conv layer at the model's middle resolution, "
                              "block2_sepconv1 for xception_like, conv3 for small_convnet)")
    which = filters.add_mutually_exclusive_group()
    which.add_argument("--filters", type=_positive_int, default=None, metavar="N",
                       help=f"show filters 0..N-1 (default: {MAX_DEFAULT_FILTERS}, or all of the layer's "
                            "filters if it has fewer)")
    which.add_argument("--filter-index", type=int, default=None, metavar="I",
                       help="show filter I alone (written to DIR/filters_LAYER_I.png)")
    filters.add_argument("--iterations", type=_positive_int, default=30, metavar="N",
                         help="gradient ascent steps (default: %(default)s; plain ascent only)")
    filters.add_argument("--regularized", action="store_true",
                         help="ascent with octaves, jitter and clipping, for patterns that are easier to "
                              "read (files end in _regularized); default: the book's plain ascent")
    filters.add_argument("--out", type=pathlib.Path, default=pathlib.Path("out"), metavar="DIR",
                        help=_OUT_HELP)

    gradcam = commands.add_parser(
        "gradcam", help="Grad-CAM: which parts of the image made a classifier choose a class",
        description="Print the predicted class and its probability, and write the image, the Grad-CAM "
                    "heatmap and their overlay to DIR/gradcam_CLASS.png.")
    _add_model_image_out(gradcam, model=DEFAULT_CLASSIFIER, image=DEFAULT_SHAPES_IMAGE,
                         image_reason="a disc like those the shipped classifiers were trained on")
    gradcam.add_argument("--layer", metavar="LAYER",
                         help="the layer whose feature maps are weighed (default: the last layer with a "
                              "spatial output, last_conv_act for xception_like)")
    gradcam.add_argument("--class-index", type=int, default=None, metavar="I",
                         help="the class to explain (default: the predicted class)")
    gradcam.add_argument("--score", choices=("output", "logit"), default="output",
                         help="differentiate the softmax output, as in the book, or the pre-softmax logit, "
                              "as in the Grad-CAM paper (default: %(default)s)")

    explain = commands.add_parser(
        "explain", help="one attribution method (or all of them) on one image: which pixels made the class",
        description="Explain the model's class for one image with an attribution method and write the image, "
                    "the map and their overlay to DIR/explain_METHOD_CLASS.png; with --method all, every "
                    "method side by side in DIR/explain_all_CLASS.png.")
    _add_model_image_out(explain, model=DEFAULT_CLASSIFIER, image=DEFAULT_SHAPES_IMAGE,
                         image_reason="a disc like those the shipped classifiers were trained on")
    explain.add_argument("--method", required=True, metavar="METHOD",
                         help=f"one of: {', '.join(ATTRIBUTION_METHODS)}; or all")
    explain.add_argument("--layer", metavar="LAYER",
                         help="the layer of a CAM method (default: the last layer with a spatial output)")
    explain.add_argument("--class-index", type=int, default=None, metavar="I",
                         help="the class to explain (default: the predicted class)")
    explain.add_argument("--score", choices=("output", "logit"), default="logit",
                         help="explain the pre-softmax logit or the softmax output (default: %(default)s)")
    for option, name, what in (("--patch", "patch", "occlusion's patch side in pixels"),
                               ("--stride", "stride", "occlusion's step in pixels"),
                               ("--samples", "samples", "SmoothGrad's noisy copies"),
                               ("--steps", "steps", "Integrated Gradients' intervals")):
        explain.add_argument(option, dest=name, type=int, default=None, metavar="N",
                             help=f"{what} (default: the method's own)")

    faithfulness = commands.add_parser(
        "faithfulness", help="pointing game, sanity check and filter-ascent check on held-out images; "
                             "with --methods, the leaderboard of attribution methods")
    faithfulness.add_argument("--model", default=DEFAULT_CLASSIFIER, choices=("small_convnet", "xception_like"))
    faithfulness.add_argument("--num-images", type=_positive_int, default=200, metavar="N")
    faithfulness.add_argument("--methods", default=None, metavar="LIST",
                              help="all, or attribution methods separated by commas: measure each against "
                                   "the masks, print the leaderboard and the cascading randomization, and "
                                   "write them (CSV, Markdown, two figures) to --out")
    faithfulness.add_argument("--num-pairs", type=_positive_int, default=50, metavar="N",
                              help="two-object images for the own-object pointing (with --methods; "
                                   "default: %(default)s)")
    faithfulness.add_argument("--num-sanity", type=_positive_int, default=12, metavar="N",
                              help="images for the cascading randomization (with --methods; default: %(default)s)")
    faithfulness.add_argument("--out", type=pathlib.Path, default=pathlib.Path("out"), metavar="DIR",
                              help="folder for the leaderboard files (with --methods; default: %(default)s)")

    shortcut = commands.add_parser(
        "shortcut", help="the planted shortcut: the shortcut model's accuracy with markers as in training, "
                         "none and swapped, and how often each method's map points at the marker")
    shortcut.add_argument("--methods", default="all", metavar="LIST",
                          help="all, or attribution methods separated by commas (default: %(default)s)")
    shortcut.add_argument("--num-images", type=_positive_int, default=100, metavar="N",
                          help="marked test images the methods explain (default: %(default)s)")
    shortcut.add_argument("--score", choices=("output", "logit"), default="logit",
                          help="the score every method explains (default: %(default)s)")

    benchmark = commands.add_parser(
        "benchmark", help="speed: batched vs one-at-a-time filter ascent, Grad-CAM vs a forward+backward pass")
    benchmark.add_argument("--repeats", type=_positive_int, default=3, metavar="N",
                           help="timed repeats per measurement, the median is printed (default: %(default)s)")

    segment = commands.add_parser(
        "segment", help="predict the trimap of one image with a segmentation model",
        description="Write the image and its predicted trimap (object, background, contour) to "
                    "DIR/segment.png; for a shapes:SPLIT:INDEX image also the true trimap, and print "
                    "the intersection over union.")
    _add_model_image_out(segment, model=DEFAULT_SEGMENTER, image=DEFAULT_SHAPES_IMAGE,
                         image_reason="a synthetic image, which has a true trimap to compare with")
    return parser


# --------------------------------------------------------------------------
# Loading models and images
# --------------------------------------------------------------------------


class Loaded(NamedTuple):
    """A model and the names of its output classes."""

    model: object
    class_names: tuple[str, ...]


class Picture(NamedTuple):
    """One image to run through a model.

    Attributes:
        batch: float32 array ``(1, height, width, 3)`` in 0..255.
        mask: int32 trimap ``(height, width)`` for a ``shapes:`` image, else None.
        label: the true class index of a ``shapes:`` image, else None.
    """

    batch: object
    mask: object = None
    label: object = None


def _looks_like_path(text):
    return bool(pathlib.PurePath(text).suffix) or "/" in text or os.sep in text


def load_model(spec):
    """A bundled model name, or a path to a saved model, as a :class:`Loaded`.

    A saved model's classes are named after the bundled model of the same
    file name (``xception_like.keras``), if any, else by their indices.

    Raises:
        ValueError: for an unknown name, a file that is no Keras model, or a
            model with several inputs or outputs or without RGB input.
        FileNotFoundError: for a missing file.
    """
    import zipfile

    import keras

    from convviz_ref import models

    if spec in models.BUILDERS:
        model, class_names = models.load_pretrained(spec)
    else:
        path = pathlib.Path(spec)
        if not path.exists():
            if _looks_like_path(spec):
                raise FileNotFoundError(f"model file {spec} not found")
            raise ValueError(f"unknown model {spec!r}; choose one of {', '.join(sorted(models.BUILDERS))} "
                             "or give the path of a .keras file")
        if path.suffix == ".keras" and not zipfile.is_zipfile(path):
            raise ValueError(f"cannot load model file {spec}: not a .keras file (a .keras file is a zip archive)")
        try:
            model = keras.saving.load_model(path, compile=False)
        except (ValueError, TypeError, KeyError, OSError, zipfile.BadZipFile) as error:
            raise ValueError(f"cannot load model file {spec}: {error}") from None
        class_names = None
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(f"model {model.name!r} has {len(model.inputs)} inputs and {len(model.outputs)} "
                         "outputs; convviz needs one of each")
    input_shape = tuple(model.inputs[0].shape)
    if len(input_shape) != 4 or input_shape[-1] not in (None, 3):
        raise ValueError(f"model {model.name!r} takes inputs of shape {input_shape}; convviz feeds it "
                         "RGB images (batch, height, width, 3)")
    if class_names is None:
        num_outputs = model.outputs[0].shape[-1]
        names = models.load_manifest().get(pathlib.Path(spec).stem, {}).get("class_names")
        class_names = names if names and len(names) == num_outputs else [str(i) for i in range(num_outputs or 0)]
    return Loaded(model, tuple(class_names))


def _input_size(model):
    """The model's fixed ``(height, width)``, or None if either is free."""
    height, width = tuple(model.inputs[0].shape)[1:3]
    return (height, width) if height is not None and width is not None else None


def load_image(spec, target_size=None):
    """An image file, a sample photograph or ``shapes:SPLIT:INDEX``, as a :class:`Picture`.

    Args:
        spec: str, see ``convviz gradcam --help``.
        target_size: ``(height, width)`` to resize to, or None.

    Raises:
        ValueError: for an unknown sample name, a bad ``shapes:`` spec, or a
            file that is not an image.
        FileNotFoundError: for a missing file.
    """
    import keras
    from PIL import UnidentifiedImageError

    from convviz_ref import data

    if spec.startswith("shapes:"):
        return _load_shapes_image(spec, target_size)
    path = pathlib.Path(spec)
    if path.exists():  # a file wins over a sample photograph of the same name
        try:  # PIL reads the pixels only when they are needed: a truncated file fails in img_to_array
            image = keras.utils.load_img(path, color_mode="rgb", target_size=target_size)
            return Picture(keras.utils.img_to_array(image, dtype="float32")[None])
        except UnidentifiedImageError:
            raise ValueError(f"cannot read image file {spec}: not an image format PIL knows") from None
        except OSError as error:
            raise ValueError(f"cannot read image file {spec}: {error.strerror or error}") from None
    if _looks_like_path(spec):
        raise FileNotFoundError(f"image file {spec} not found")
    return Picture(data.sample_image(spec, target_size))


def _load_shapes_image(spec, target_size):
    import keras
    import numpy as np

    from convviz_ref import data

    match = re.fullmatch(r"shapes:(\w+):(\d+)", spec)
    if match is None:
        raise ValueError(f"cannot read {spec!r}: a synthetic image is shapes:SPLIT:INDEX, e.g. shapes:test:17")
    split, index = match[1], int(match[2])
    if split not in data.SPLIT_SIZES:
        raise ValueError(f"unknown split {split!r} in {spec!r}; choose one of {', '.join(data.SPLIT_SIZES)}")
    if index >= data.SPLIT_SIZES[split]:
        raise ValueError(f"image index {index} is out of range for the shapes split {split!r} "
                         f"(0..{data.SPLIT_SIZES[split] - 1})")
    square = target_size is not None and target_size[0] == target_size[1] and target_size[0] >= 32
    size = target_size[0] if square else DEFAULT_IMAGE_SIZE
    shapes = data.load_shapes(split, n=index + 1, image_size=size)
    batch, mask = shapes.images[index : index + 1], shapes.masks[index]
    if target_size is not None and tuple(target_size) != (size, size):  # a model for small or oblong images
        batch = np.asarray(keras.ops.image.resize(batch, target_size, interpolation="bilinear"))
        mask = np.asarray(keras.ops.image.resize(mask[None, :, :, None].astype(np.float32), target_size,
                                                 interpolation="nearest"))[0, :, :, 0].astype(np.int32)
    return Picture(batch, mask, int(shapes.labels[index]))


# --------------------------------------------------------------------------
# Helpers of the subcommands
# --------------------------------------------------------------------------


def _filename(*parts):
    """A PNG file name from layer and class names (anything but letters, digits, ``.-_`` becomes ``_``)."""
    return re.sub(r"[^\w.-]", "_", "_".join(str(part) for part in parts)) + ".png"


def _require_spatial(model, layer_name, candidates, kind):
    """Raise a ValueError if ``layer_name`` exists but its output is not ``(batch, h, w, channels)``.

    ``candidates`` (described as ``kind``) are listed in the message. An
    unknown name is left to the library function that follows, whose message
    lists the valid layers.
    """
    layers = {layer.name: layer for layer in model.layers}
    if layer_name in layers and len(layers[layer_name].output.shape) != 4:
        raise ValueError(f"layer {layer_name!r} of model {model.name!r} has no spatial output "
                         f"(shape {tuple(layers[layer_name].output.shape)}); {kind}: {', '.join(candidates)}")


def _conv_and_pool_names(model):
    from convviz_ref.activations import conv_and_pool_layers

    return [layer.name for layer in conv_and_pool_layers(model)]


def default_filter_layer(model):
    """The first convolution at the model's middle resolution: where filters look like textures.

    Among the conv layers of :func:`convviz_ref.activations.conv_and_pool_layers`
    (1x1 projections left out, if there are others), group them by the height
    and width of their output, in order, and take the first of the middle
    group (the earlier one of two middles): ``block2_sepconv1`` for
    xception_like, ``conv3`` for small_convnet. A model whose sizes are not
    fixed gets its middle conv layer.

    Raises:
        ValueError: if the model has no conv layer.
    """
    from convviz_ref.activations import CONV_TYPES, conv_and_pool_layers

    convs = [layer for layer in conv_and_pool_layers(model) if isinstance(layer, CONV_TYPES)]
    if not convs:
        raise ValueError(f"model {model.name!r} has no conv layer")
    convs = [layer for layer in convs if max(layer.kernel_size) > 1] or convs
    stages = {}
    for layer in convs:
        stages.setdefault(tuple(layer.output.shape[1:3]), layer)
    middle = list(stages.values()) if len(stages) > 1 else convs
    return middle[(len(middle) - 1) // 2].name


def _progress(iterable, **kwargs):
    from tqdm.auto import tqdm

    return tqdm(iterable, **kwargs)


def _report(path):
    from tqdm.auto import tqdm

    tqdm.write(f"wrote {path}", file=sys.stdout)  # does not break a progress bar on the terminal


def _make_out(folder):
    """Create the output folder (and its parents); a ValueError if a file is in the way."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ValueError(f"--out {folder} is a file, not a folder") from None
    except OSError as error:
        raise ValueError(f"cannot create the folder {folder}: {error.strerror or error}") from None


def _save_figure(figure, path):
    figure.savefig(path, dpi=100)
    _report(path)


# --------------------------------------------------------------------------
# The subcommands
# --------------------------------------------------------------------------


def run_activations(args):
    from convviz_ref import activations, plotting

    model, _ = load_model(args.model)
    activation_model = activations.build_activation_model(model, args.layer)
    for name in activation_model.output_names:
        _require_spatial(model, name, _conv_and_pool_names(model), "conv and pooling layers")
    picture = load_image(args.image, _input_size(model))
    outputs = activations.compute_activations(activation_model, picture.batch)
    _make_out(args.out)
    for name, activation in _progress(outputs.items(), desc="layers", unit="layer", disable=len(outputs) < 2):
        figure = plotting.plot_channel_grid(activations.channel_grid(activation), name)
        _save_figure(figure, args.out / _filename("activations", name))
    return 0


def run_filters(args):
    import keras

    from convviz_ref import filters, plotting

    model, _ = load_model(args.model)
    layer = args.layer if args.layer is not None else default_filter_layer(model)
    extractor = filters.build_feature_extractor(model, layer)
    _require_spatial(model, layer, _conv_and_pool_names(model), "conv and pooling layers")
    channels = extractor.outputs[0].shape[-1]
    size = _input_size(model)
    if size is not None and size[0] != size[1]:
        raise ValueError(f"model {model.name!r} takes {size[0]}x{size[1]} images; filter patterns are square")
    image_size = size[0] if size is not None else DEFAULT_IMAGE_SIZE
    crop = min(25, image_size * 25 // 96)  # the book's 25 pixels of a 96-pixel (or larger) pattern
    if args.filter_index is not None and args.regularized:
        patterns = filters.generate_regularized_patterns(
            extractor, [args.filter_index], image_size=image_size, seed=0, progress=False)
        indices = [args.filter_index]
        filename = _filename("filters", layer, args.filter_index)[:-4] + "_regularized.png"
        title = f"{layer}: filter {args.filter_index} (regularized)"
    elif args.filter_index is not None:
        patterns = filters.generate_filter_pattern(
            extractor, args.filter_index, iterations=args.iterations, image_size=image_size, seed=0)[None]
        indices, filename = [args.filter_index], _filename("filters", layer, args.filter_index)
        title = f"{layer}: filter {args.filter_index}"  # plot_filter_grid is 3 inches wide: keep it short
    else:
        count = args.filters if args.filters is not None else min(MAX_DEFAULT_FILTERS, channels)
        if count > channels:
            raise ValueError(f"--filters {count} is out of range: layer {layer!r} has {channels} filters")
        indices, filename = range(count), _filename("filters", layer)
        if args.regularized:
            patterns = filters.generate_regularized_patterns(
                extractor, indices, image_size=image_size, seed=0, batch_size=FILTER_BATCH_SIZE, progress=True)
            filename = filename[:-4] + "_regularized.png"
        else:
            patterns = filters.generate_filter_patterns(
                extractor, indices, iterations=args.iterations, image_size=image_size, seed=0,
                batch_size=FILTER_BATCH_SIZE, progress=True)
        title = f"{layer}: filters {indices[0]}..{indices[-1]}" + (" (regularized)" if args.regularized else "")
    grid = filters.stitch([filters.deprocess_image(pattern, crop=crop) for pattern in patterns],
                          n_cols=min(FILTER_COLUMNS, len(indices)))
    _make_out(args.out)
    keras.utils.save_img(args.out / filename, grid, scale=False)
    _report(args.out / filename)
    _save_figure(plotting.plot_filter_grid(grid, title), args.out / (filename[:-4] + "_titled.png"))
    return 0


def run_gradcam(args):
    import numpy as np

    from convviz_ref import data, gradcam, plotting

    model, class_names = load_model(args.model)
    if len(model.outputs[0].shape) != 2:
        raise ValueError(f"gradcam needs a classifier, whose output is (batch, classes); model {model.name!r} "
                         f"outputs {tuple(model.outputs[0].shape)}")
    layer = args.layer if args.layer is not None else gradcam.find_last_conv_layer(model)
    _require_spatial(model, layer, gradcam.spatial_layers(model), "layers with a spatial output")
    picture = load_image(args.image, _input_size(model))
    heatmap = gradcam.gradcam_heatmap(model, picture.batch, layer, args.class_index, score=args.score)
    probabilities = np.asarray(model(picture.batch, training=False))[0]
    top = int(np.argmax(probabilities))
    explained = top if args.class_index is None else args.class_index
    print(f"predicted: {class_names[top]} (class {top}), probability {probabilities[top]:.3f}")
    if explained != top:
        print(f"explained: {class_names[explained]} (class {explained}), probability "
              f"{probabilities[explained]:.3f}")
    if picture.label is not None and class_names == data.CLASS_NAMES:  # a shapes image, a shapes classifier
        print(f"true class: {class_names[picture.label]} (class {picture.label})")
    image = picture.batch[0]
    figure = plotting.plot_gradcam(
        image, heatmap, gradcam.overlay(image, heatmap),
        title=f"{model.name}, {layer}: {class_names[explained]} ({probabilities[explained]:.1%})"
              + (", logit score" if args.score == "logit" else ""))
    _make_out(args.out)
    _save_figure(figure, args.out / _filename("gradcam", class_names[explained]))
    return 0


def run_segment(args):
    import numpy as np

    from convviz_ref import plotting, segmentation

    model, class_names = load_model(args.model)
    if len(model.outputs[0].shape) != 4:
        raise ValueError(f"segment needs a segmentation model, whose output is (batch, height, width, "
                         f"classes); model {model.name!r} outputs {tuple(model.outputs[0].shape)}")
    num_classes = len(class_names)
    if num_classes != len(plotting.TRIMAP_COLORS):
        raise ValueError(f"segment shows trimaps (object, background, contour); model {model.name!r} predicts "
                         f"{num_classes} classes per pixel")
    picture = load_image(args.image, _input_size(model))
    predicted = segmentation.predict_masks(model, picture.batch)
    fractions = np.bincount(predicted.ravel(), minlength=num_classes) / predicted.size
    print("predicted pixels: " + ", ".join(f"{name} {fraction:.1%}" for name, fraction in zip(class_names,
                                                                                            fractions)))
    if picture.mask is not None:
        ious = segmentation.per_class_iou(picture.mask[None], predicted, num_classes=num_classes)
        mean = segmentation.mean_iou(picture.mask[None], predicted, num_classes=num_classes)
        print(f"mean IoU {mean:.3f}; per class " + ", ".join(f"{name} {iou:.3f}" for name, iou in
                                                              zip(class_names, ious)))
        figure = plotting.plot_segmentation(picture.batch, picture.mask[None], predicted, num_images=1)
        figure.suptitle(f"{model.name} on {args.image}: mean IoU {mean:.3f}")
    else:
        figure = plotting.plot_segmentation(picture.batch, None, predicted, num_images=1)
        figure.suptitle(f"{model.name} on {args.image}")
    _make_out(args.out)
    _save_figure(figure, args.out / "segment.png")
    return 0


def _method_options(function, args):
    """The ``--patch`` / ``--stride`` / ``--samples`` / ``--steps`` the user gave, checked against ``function``."""
    import inspect

    given = {name: getattr(args, name) for name in ("patch", "stride", "samples", "steps")
             if getattr(args, name) is not None}
    accepted = inspect.signature(function).parameters
    for name in given:
        if name not in accepted:
            raise ValueError(f"--{name} does not apply to method {function.__name__!r}")
    return given


def run_explain(args):
    import numpy as np

    from convviz_ref import attribution, gradcam, plotting

    model, class_names = load_model(args.model)
    if len(model.outputs[0].shape) != 2:
        raise ValueError(f"explain needs a classifier, whose output is (batch, classes); model {model.name!r} "
                         f"outputs {tuple(model.outputs[0].shape)}")
    if args.method != "all":
        attribution.get_method(args.method)  # an unknown name: one line listing the valid ones
    methods = list(attribution.METHODS) if args.method == "all" else [args.method]
    if args.layer is not None:
        _require_spatial(model, args.layer, gradcam.spatial_layers(model), "layers with a spatial output")
        if args.method != "all" and not attribution.get_method(args.method).needs_layer:
            raise ValueError(f"method {args.method!r} works on the input pixels and takes no --layer")
    picture = load_image(args.image, _input_size(model))
    probabilities = np.asarray(model(picture.batch, training=False))[0]
    explained = int(np.argmax(probabilities)) if args.class_index is None else args.class_index
    if not 0 <= explained < len(probabilities):
        raise ValueError(f"--class-index {explained} is out of range: the model has {len(probabilities)} "
                         f"classes (0..{len(probabilities) - 1})")
    print(f"explained: {class_names[explained]} (class {explained}), probability {probabilities[explained]:.3f}")
    maps = {}
    for method in methods:
        entry = attribution.get_method(method)
        options = _method_options(entry.function, args) if args.method != "all" else {}
        layer = (args.layer or gradcam.find_last_conv_layer(model)) if entry.needs_layer else None
        maps[method] = attribution.explain(model, picture.batch, method, explained, layer_name=layer,
                                           score=args.score, **options)[0]
    image = picture.batch[0]
    _make_out(args.out)
    if args.method == "all":
        titles = {method: attribution.get_method(method).title for method in methods}
        figure = plotting.plot_method_maps(picture.batch, maps, titles)
        figure.suptitle(f"{model.name}: {class_names[explained]}, {args.score}", fontsize=9)
        _save_figure(figure, args.out / _filename("explain", "all", class_names[explained]))
        return 0
    heatmap = maps[args.method][0]
    figure = plotting.plot_gradcam(image, heatmap, gradcam.overlay(image, heatmap),
                                   title=f"{attribution.get_method(args.method).title}, {model.name}: "
                                         f"{class_names[explained]} ({probabilities[explained]:.1%}), {args.score}")
    _save_figure(figure, args.out / _filename("explain", args.method, class_names[explained]))
    return 0


def run_faithfulness(args):
    if args.methods is None:
        from convviz_ref.faithfulness import evaluate_faithfulness

        evaluate_faithfulness(args.model, num_images=args.num_images)
        return 0
    from convviz_ref import compare

    methods = compare.parse_methods(args.methods)
    _make_out(args.out)  # before the minutes of computing, not after
    print(f"Attribution methods on {args.model}, {args.num_images} held-out test images, logit score:")
    board = compare.compare_methods(args.model, methods, num_images=args.num_images, num_pairs=args.num_pairs,
                                    num_sanity=args.num_sanity)
    print()
    print(compare.format_table(board.rows))
    print()
    print(f"Cascading randomization on {args.num_sanity} images: Spearman correlation with the trained "
          "maps as the blocks are re-initialized, from the output down")
    print(compare.format_sanity(board.blocks, board.correlations))
    for path in compare.write_results(board, args.out):
        _report(path)
    return 0


def run_shortcut(args):
    from convviz_ref import compare, shortcut

    shortcut.evaluate_shortcut(compare.parse_methods(args.methods), num_images=args.num_images, score=args.score)
    return 0


VISUALIZATIONS = {
    "activations": run_activations,
    "filters": run_filters,
    "gradcam": run_gradcam,
    "explain": run_explain,
    "segment": run_segment,
    "faithfulness": run_faithfulness,
    "shortcut": run_shortcut,
}


def _one_line(error):
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip()) or type(error).__name__


@contextlib.contextmanager
def _stderr_to_devnull():
    """Send file descriptor 2, where C++ code writes, to /dev/null inside the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def start_tensorflow_quietly():
    """Import TensorFlow and create its CPU device without the start-up lines on stderr.

    TensorFlow 2.21 prints them (oneDNN notice, "Could not find cuda drivers",
    "failed call to cuInit") through absl before its logging is set up, so
    ``TF_CPP_MIN_LOG_LEVEL`` does not hide them, and a student reads "E0000 ...
    CUDA error" before every result. A Python error raised meanwhile is still
    reported: stderr is back before it propagates. Nothing is hidden when the
    user has set ``TF_CPP_MIN_LOG_LEVEL`` (0 shows everything).
    """
    if convviz_ref.TF_LOG_LEVEL_CHOSEN or "tensorflow" in sys.modules:
        return
    with _stderr_to_devnull():
        import keras  # noqa: F401  (its own import loads TensorFlow's libraries again)
        import tensorflow as tf

        tf.constant(0.0)  # creates the CPU device: the CUDA probe happens here


def main(argv=None):
    """Run ``convviz COMMAND ...``; returns the exit code (2 for a user's mistake)."""
    args = build_parser().parse_args(argv)
    start_tensorflow_quietly()
    if args.command == "train":
        from convviz_ref.train import main as train_main

        return train_main(args.args)
    try:
        if args.command in VISUALIZATIONS:
            return VISUALIZATIONS[args.command](args)
        if args.command == "evaluate":
            from convviz_ref.evaluate import evaluate_all

            if args.out is not None:
                _make_out(args.out)  # before the minute of evaluation, not after
            evaluate_all(args.out)
        elif args.command == "data":
            from convviz_ref.evaluate import summarize_data

            summarize_data(args.image_size, seed=args.seed)
        elif args.command == "benchmark":
            from convviz_ref.benchmark import run_benchmarks

            run_benchmarks(repeats=args.repeats)
    except (ValueError, OSError) as error:  # the library's one-line messages; PIL's errors are OSErrors
        print(f"convviz: error: {_one_line(error)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
