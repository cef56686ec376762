"""The ``convviz`` command line: one subcommand per job, each calling the library.

Each subcommand parses its arguments, calls one library function and saves
or prints what it returns (:mod:`convviz_ref.activations`,
:mod:`convviz_ref.filters`, :mod:`convviz_ref.gradcam`,
:mod:`convviz_ref.segmentation`, drawn by :mod:`convviz_ref.plotting`).

A mistake the user can make (a wrong layer name, an index out of range, a
missing or corrupt file) is a ``ValueError`` or ``OSError`` of the library:
it prints one line, ``convviz: error: ...``, on stderr and exits with code
2, like an argparse usage error.

TensorFlow is imported inside the commands, so ``convviz --help`` is instant.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys
from typing import NamedTuple

import convviz_ref
from convviz_ref import methods
from convviz_ref.arguments import positive_int as _positive_int
from convviz_ref.methods import SCORES
from convviz_ref.pretrained import CLASSIFIERS, MODEL_NAMES
from convviz_ref.progress import progress, write
from convviz_ref.quiet_start import start_tensorflow_quietly

DEFAULT_CLASSIFIER = "xception_like"
DEFAULT_SEGMENTER = "segmenter"
DEFAULT_PHOTO = "chelsea"
DEFAULT_SHAPES_IMAGE = "shapes:test:0"


def _version():
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"convviz {convviz_ref.__version__}"]
    for package in ("keras", "tensorflow"):
        try:
            parts.append(f"{package} {version(package)}")
        except PackageNotFoundError:  # pragma: no cover - both are dependencies
            parts.append(f"{package} (not installed)")
    return ", ".join(parts)


_MODEL_HELP = (
    f"a bundled model ({', '.join(MODEL_NAMES)}) or the path of a .keras file "
    "(it gets images in 0..255) (default: %(default)s)"
)
_IMAGE_HELP = (
    "an image file, a sample photograph (chelsea, cat, astronaut, coffee, rocket, "
    "motorcycle, hubble) or shapes:SPLIT:INDEX, image INDEX of the synthetic shapes "
    "split SPLIT (train, val or test), resized to the model's input size "
    "(default: %(default)s"
)
_OUT_HELP = "folder for the PNG files, created if needed (default: %(default)s)"


def _add_out(parser, default=pathlib.Path("out"), help=_OUT_HELP):
    parser.add_argument(
        "--out", type=pathlib.Path, default=default, metavar="DIR", help=help
    )


def _add_model_image_out(parser, *, model, image, image_reason):
    parser.add_argument("--model", default=model, metavar="MODEL", help=_MODEL_HELP)
    if image is not None:
        parser.add_argument(
            "--image",
            default=image,
            metavar="IMAGE",
            help=f"{_IMAGE_HELP}, {image_reason})",
        )
    _add_out(parser)


def _add_classifier_and_layer(parser, layer_help):
    """``--model`` (a shipped classifier or a .keras file) and one ``--layer``."""
    parser.add_argument("--model", default=DEFAULT_CLASSIFIER, help=_MODEL_HELP)
    parser.add_argument("--layer", metavar="LAYER", help=layer_help)


def _add_classifier_image_out(parser):
    """The options of a command that explains a classifier's class for an image."""
    _add_model_image_out(
        parser,
        model=DEFAULT_CLASSIFIER,
        image=DEFAULT_SHAPES_IMAGE,
        image_reason="a disc like those the shipped classifiers were trained on",
    )


def _add_class_and_score(parser, score, score_help):
    """``--class-index`` and ``--score`` (``score`` is its default)."""
    parser.add_argument(
        "--class-index",
        type=int,
        metavar="I",
        help="the class to explain (default: the predicted class)",
    )
    parser.add_argument(
        "--score",
        choices=SCORES,
        default=score,
        help=f"{score_help} (default: %(default)s)",
    )


class Subcommand(NamedTuple):
    """One ``convviz`` subcommand: its ``--help``, arguments and run function."""

    options: dict
    add_arguments: object
    run: object


SUBCOMMANDS = {}
"""Every subcommand by name, in ``convviz --help``'s order (see :func:`subcommand`)."""


def subcommand(name, add_arguments, **options):
    """Declare the decorated ``run(args)`` as subcommand ``name``, its one listing.

    ``add_arguments(parser)`` adds its arguments (it is written just above
    the run function); ``options`` (``help``, ``description``) go to ``add_parser``.
    """

    def register(run):
        SUBCOMMANDS[name] = Subcommand(options, add_arguments, run)
        return run

    return register


def build_parser():
    """The ``convviz`` parser: one subparser per entry of :data:`SUBCOMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="convviz", description="The convviz course's reference tools."
    )
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, entry in SUBCOMMANDS.items():
        entry.add_arguments(commands.add_parser(name, **entry.options))
    return parser


# --------------------------------------------------------------------------
# Helpers of the subcommands
# --------------------------------------------------------------------------


def _filename(*parts):
    """A PNG file name from layer and class names.

    Anything but letters, digits, ``.``, ``-`` and ``_`` becomes ``_``.
    """
    return re.sub(r"[^\w.-]", "_", "_".join(str(part) for part in parts)) + ".png"


def _report(path):
    write(f"wrote {path}")  # on stdout, without breaking a progress bar


def _make_out(folder):
    """Create ``folder`` and its parents; a ValueError if a file is in the way."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ValueError(f"--out {folder} is a file, not a folder") from None
    except OSError as error:
        raise ValueError(
            f"cannot create the folder {folder}: {error.strerror or error}"
        ) from None


def _model_and_image(args, *, output_rank=None):
    """``--model`` and ``--image`` loaded: ``(model, class names, picture)``.

    The image is resized to the model's input; ``output_rank`` (2 for a
    classifier, 4 for a segmenter), if given, is checked first.
    """
    from convviz_ref import inputs

    model, class_names = inputs.load_model(args.model)
    if output_rank is not None:
        inputs.require_output_rank(model, output_rank, args.command)
    picture = inputs.load_image(args.image, inputs.input_size(model))
    return model, class_names, picture


def _save_figure(figure, path):
    figure.savefig(path, dpi=100)
    _report(path)


def _save_picture(picture, path):
    from convviz_ref import plotting

    plotting.save_picture(path, picture)
    _report(path)


# --------------------------------------------------------------------------
# The subcommands
# --------------------------------------------------------------------------


def _evaluate_arguments(parser):
    _add_out(parser, None, "folder for the example figures (none written if omitted)")
    parser.add_argument(
        "--num-images",
        type=_positive_int,
        metavar="N",
        help="measure on the first N images of each split (default: all of them)",
    )


@subcommand(
    "evaluate",
    _evaluate_arguments,
    help="measure the shipped models on test images and write example figures",
)
def run_evaluate(args):
    from convviz_ref.evaluate import evaluate_all

    if args.out is not None:
        _make_out(args.out)  # before the minute of evaluation, not after
    evaluate_all(args.out, num_images=args.num_images)
    return 0


def _train_arguments(parser):
    parser.add_argument(
        "args", nargs=argparse.REMAINDER, help="arguments for convviz-train"
    )


@subcommand(
    "train",
    _train_arguments,
    help="retrain shipped models from scratch (see convviz-train)",
)
def run_train(args):
    from convviz_ref.train import main as train_main

    return train_main(args.args)


def _data_arguments(parser):
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)


@subcommand(
    "data",
    _data_arguments,
    help="print the summary of the shapes dataset and of its crossed sets",
)
def run_data(args):
    from convviz_ref import crossed
    from convviz_ref.evaluate import summarize_data

    summarize_data(args.image_size, seed=args.seed)
    crossed.describe(seed=args.seed)
    return 0


def _benchmark_arguments(parser):
    parser.add_argument(
        "--repeats",
        type=_positive_int,
        default=3,
        metavar="N",
        help="timed repeats per measurement, the median is printed "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--concepts",
        action="store_true",
        help="instead: dissection and the new feature pictures against the "
        "64-filter regularized grid, side by side",
    )


@subcommand(
    "benchmark",
    _benchmark_arguments,
    help="speed: batched vs one-at-a-time filter ascent, "
    "Grad-CAM vs a forward+backward pass",
)
def run_benchmark(args):
    if args.concepts:
        from convviz_ref.concept_benchmark import run_concept_benchmark

        run_concept_benchmark(repeats=args.repeats)
        return 0
    from convviz_ref.benchmark import run_benchmarks

    run_benchmarks(repeats=args.repeats)
    return 0


def _activations_arguments(parser):
    _add_model_image_out(
        parser,
        model=DEFAULT_CLASSIFIER,
        image=DEFAULT_PHOTO,
        image_reason="the book's cat; shapes:test:0 shows an image like the training "
        "ones",
    )
    parser.add_argument(
        "--layer",
        action="append",
        metavar="LAYER",
        help="a layer to show; repeat for several (default: every conv and pooling "
        "layer)",
    )


@subcommand(
    "activations",
    _activations_arguments,
    help="what each conv and pooling layer makes of one image",
    description="Run one image through the model and write one picture per layer, "
    "every channel of the layer's output side by side: DIR/activations_LAYER.png.",
)
def run_activations(args):
    from convviz_ref import activations, plotting

    model, _, picture = _model_and_image(args)
    grids = activations.layer_grids(model, picture.batch, args.layer)
    _make_out(args.out)
    bar = progress(grids.items(), desc="layers", unit="layer", disable=len(grids) < 2)
    for name, grid in bar:
        figure = plotting.plot_channel_grid(grid, name)
        _save_figure(figure, args.out / _filename("activations", name))
    return 0


EXAMPLE_UNITS = 8
"""Units ``convviz filters --examples`` shows by default: a figure of 8 rows reads."""

EXAMPLE_IMAGES = 300
"""Test images ``convviz filters --examples`` takes the crops from by default."""


def _filters_arguments(parser):
    _add_classifier_and_layer(
        parser,
        "the layer (default: the first conv layer at the model's middle "
        "resolution, block2_sepconv1 for xception_like, conv3 for small_convnet)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--filters",
        type=_positive_int,
        metavar="N",
        help="show filters 0..N-1 (default: 64, or all of the layer's filters if it "
        "has fewer)",
    )
    which.add_argument(
        "--filter-index",
        type=int,
        metavar="I",
        help="show filter I alone (written to DIR/filters_LAYER_I.png)",
    )
    parser.add_argument(
        "--iterations",
        type=_positive_int,
        metavar="N",
        help="gradient ascent steps (default: 30 for the book's plain ascent, 40 with "
        "--fourier; not used with --regularized)",
    )
    method = parser.add_mutually_exclusive_group()
    method.add_argument(
        "--regularized",
        action="store_true",
        help="ascent with octaves, jitter and clipping, for patterns that are easier "
        "to read (files end in _regularized); default: the book's plain ascent",
    )
    method.add_argument(
        "--fourier",
        action="store_true",
        help="ascent on a Fourier, colour-decorrelated picture seen through random "
        "shifts, scalings and rotations (Olah et al. 2017): whole pictures in the "
        "colours the model saw (files end in _fourier)",
    )
    parser.add_argument(
        "--band",
        action="store_true",
        help="with --fourier: hold each picture to the periods the data draws "
        "(5.76 to 19.2 pixels at 96; files end in _fourier_band): which of the "
        "data's textures the unit prefers, rather than what excites it most",
    )
    parser.add_argument(
        "--examples",
        nargs="?",
        const=EXAMPLE_UNITS,
        type=_positive_int,
        metavar="N",
        help="also write DIR/filters_LAYER[_METHOD]_examples.png: the pictures of "
        f"the first N units shown (N: {EXAMPLE_UNITS} if omitted; a row per unit), "
        "each beside the unit's 8 top-activating crops from the test split",
    )
    parser.add_argument(
        "--example-images",
        type=_positive_int,
        metavar="N",
        help="with --examples: the first N test images the crops come from, 8 to "
        f"1000 (default: {EXAMPLE_IMAGES})",
    )
    _add_out(parser)


def _check_filters_options(args):
    """One line for an option ``convviz filters`` would otherwise ignore."""
    if args.iterations is not None and args.regularized:
        raise ValueError(
            "--iterations is not used with --regularized (its octaves set the steps)"
        )
    if args.band and not args.fourier:
        raise ValueError("--band holds Fourier pictures: use it with --fourier")
    if args.example_images is not None and args.examples is None:
        raise ValueError("--example-images needs --examples (the crops it sets)")


def _input_side(model):
    """The model's input side in pixels, or the data's default for any size."""
    from convviz_ref import inputs

    shape = inputs.input_size(model)
    return inputs.DEFAULT_IMAGE_SIZE if shape is None else shape[0]


def _data_band(model):
    """The data's band of periods at the model's input size, 2 pixels at least."""
    from convviz_ref import picture_trial

    shortest, longest = picture_trial.data_band(_input_side(model))
    return max(shortest, 2.0), longest  # no picture holds a period under 2 pixels


def _example_images(model, count):
    """The first ``count`` test images at the model's input size, for the crops."""
    from convviz_ref import data, dataset_examples

    size = data.SPLIT_SIZES["test"]
    if not dataset_examples.COUNT <= count <= size:
        raise ValueError(
            f"--example-images must be between {dataset_examples.COUNT} (the crops "
            f"per unit) and {size} (the test split), got {count}"
        )
    return data.load_shapes("test", count, image_size=_input_side(model)).images


@subcommand(
    "filters",
    _filters_arguments,
    help="input patterns that filters of one layer respond to strongly",
    description="Gradient ascent from a grey, noisy image to a pattern that makes "
    "each filter respond strongly; writes DIR/filters_LAYER.png (the patterns, 8 to a "
    "row) and DIR/filters_LAYER_titled.png (the same with a title), with "
    "_regularized or _fourier before .png for those methods. Needs no image; "
    "--examples also shows what excites the units in the test split.",
)
def run_filters(args):
    from convviz_ref import (
        dataset_examples,
        feature_pictures,
        filters,
        inputs,
        plotting,
    )

    _check_filters_options(args)
    model, _ = inputs.load_model(args.model)
    method = "fourier" if args.fourier else "regularized" if args.regularized else None
    method = "fourier_band" if args.band else method
    if args.examples is not None:  # a mistake here before the minutes of ascent
        images = _example_images(
            model,
            EXAMPLE_IMAGES if args.example_images is None else args.example_images,
        )
    if args.fourier:
        made = feature_pictures.feature_picture_grid(
            model,
            args.layer,
            filters=args.filters,
            filter_index=args.filter_index,
            steps=feature_pictures.STEPS
            if args.iterations is None
            else args.iterations,
            band=_data_band(model) if args.band else None,
        )
    else:
        made = filters.filter_grid(
            model,
            args.layer,
            filters=args.filters,
            filter_index=args.filter_index,
            iterations=30 if args.iterations is None else args.iterations,
            regularized=args.regularized,
        )
    layer, indices = made.layer_name, made.indices
    if args.filter_index is not None:  # plot_filter_grid is 3 inches wide: short
        name, title = (layer, indices[0]), f"{layer}: filter {indices[0]}"
    else:
        name, title = (layer,), f"{layer}: filters {indices[0]}..{indices[-1]}"
    if method is not None:
        name, title = (*name, method), f"{title} ({method})"
    _make_out(args.out)
    _save_picture(made.grid, args.out / _filename("filters", *name))
    figure = plotting.plot_filter_grid(made.grid, title)
    _save_figure(figure, args.out / _filename("filters", *name, "titled"))
    if args.examples is not None:
        units = indices[: args.examples]
        examples = dataset_examples.top_activating_crops(model, layer, units, images)
        figure = plotting.plot_pictures_and_examples(
            filters.unstitch(
                made.grid, len(units), n_cols=min(filters.GRID_COLUMNS, len(indices))
            ),
            examples,
            units,
            title=f"{model.name}, {layer}: {method or 'plain'} pictures and top crops "
            f"of the first {len(images)} test images",
        )
        _save_figure(figure, args.out / _filename("filters", *name, "examples"))
    return 0


def _gradcam_arguments(parser):
    _add_classifier_image_out(parser)
    parser.add_argument(
        "--layer",
        metavar="LAYER",
        help="the layer whose feature maps are weighed (default: the last layer with a "
        "spatial output, last_conv_act for xception_like)",
    )
    _add_class_and_score(
        parser,
        "output",
        "differentiate the softmax output, as in the book, or the pre-softmax "
        "logit, as in the Grad-CAM paper",
    )


@subcommand(
    "gradcam",
    _gradcam_arguments,
    help="Grad-CAM: which parts of the image made a classifier choose a class",
    description="Print the predicted class and its probability, and write the image, "
    "the Grad-CAM heatmap and their overlay to DIR/gradcam_CLASS.png.",
)
def run_gradcam(args):
    from convviz_ref import data, gradcam, plotting

    model, class_names, picture = _model_and_image(args, output_rank=2)
    result = gradcam.gradcam_prediction(
        model, picture.batch, args.layer, args.class_index, score=args.score
    )
    top, explained, probabilities = result.top, result.explained, result.probabilities
    print(
        f"predicted: {class_names[top]} (class {top}), "
        f"probability {probabilities[top]:.3f}"
    )
    if explained != top:
        print(
            f"explained: {class_names[explained]} (class {explained}), "
            f"probability {probabilities[explained]:.3f}"
        )
    if picture.label is not None and class_names == data.CLASS_NAMES:
        print(f"true class: {class_names[picture.label]} (class {picture.label})")
    image = picture.batch[0]
    figure = plotting.plot_gradcam(
        image,
        result.heatmap,
        gradcam.overlay(image, result.heatmap),
        title=f"{model.name}, {result.layer_name}: {class_names[explained]} "
        f"({probabilities[explained]:.1%})"
        + (", logit score" if args.score == "logit" else ""),
    )
    _make_out(args.out)
    _save_figure(figure, args.out / _filename("gradcam", class_names[explained]))
    return 0


def _segment_arguments(parser):
    _add_model_image_out(
        parser,
        model=DEFAULT_SEGMENTER,
        image=DEFAULT_SHAPES_IMAGE,
        image_reason="a synthetic image, which has a true trimap to compare with",
    )


@subcommand(
    "segment",
    _segment_arguments,
    help="predict the trimap of one image with a segmentation model",
    description="Write the image and its predicted trimap (object, background, "
    "contour) to DIR/segment.png; for a shapes:SPLIT:INDEX image also the true "
    "trimap, and print the intersection over union.",
)
def run_segment(args):
    from convviz_ref import plotting, segmentation

    model, class_names, picture = _model_and_image(args, output_rank=4)
    result = segmentation.segment_image(model, picture.batch, picture.mask)
    shares = zip(class_names, result.fractions)
    print(
        "predicted pixels: "
        + ", ".join(f"{name} {share:.1%}" for name, share in shares)
    )
    title = f"{model.name} on {args.image}"
    if result.ious is not None:
        ious = ", ".join(
            f"{name} {iou:.3f}" for name, iou in zip(class_names, result.ious)
        )
        print(f"mean IoU {result.mean_iou:.3f}; per class {ious}")
        title += f": mean IoU {result.mean_iou:.3f}"
    truth = None if picture.mask is None else picture.mask[None]
    figure = plotting.plot_segmentation(
        picture.batch, truth, result.predicted, num_images=1
    )
    figure.suptitle(title)
    _make_out(args.out)
    _save_figure(figure, args.out / "segment.png")
    return 0


def _method_options(args):
    """The methods' options (``--patch``, ``--steps`` ...) the user gave, by name."""
    return {
        name: getattr(args, name)
        for name in methods.cli_options()
        if getattr(args, name) is not None
    }


def _explain_arguments(parser):
    _add_classifier_image_out(parser)
    parser.add_argument(
        "--method",
        required=True,
        metavar="METHOD",
        help=f"one of: {', '.join(methods.METHODS)}; or all",
    )
    parser.add_argument(
        "--layer",
        metavar="LAYER",
        help="the layer of a CAM method "
        "(default: the last layer with a spatial output)",
    )
    _add_class_and_score(
        parser, "logit", "explain the pre-softmax logit or the softmax output"
    )
    for name, (helps, type_) in methods.cli_options().items():
        what = "; ".join(helps).replace("%", "%%")
        parser.add_argument(
            f"--{name}",
            dest=name,
            type=type_,
            default=None,
            metavar="N",
            help=f"{what} (default: the method's own)",
        )


@subcommand(
    "explain",
    _explain_arguments,
    help="one attribution method (or all of them) on one image: "
    "which pixels made the class",
    description="Explain the model's class for one image with an attribution "
    "method and write the image, the map and their overlay to "
    "DIR/explain_METHOD_CLASS.png; with --method all, every method side by side "
    "in DIR/explain_all_CLASS.png.",
)
def run_explain(args):
    from convviz_ref import attribution, gradcam, plotting

    model, class_names, picture = _model_and_image(args, output_rank=2)
    result = attribution.explain_image(
        model,
        picture.batch,
        args.method,
        args.class_index,
        layer_name=args.layer,
        score=args.score,
        **_method_options(args),
    )
    name = class_names[result.class_index]
    print(
        f"explained: {name} (class {result.class_index}), "
        f"probability {result.probability:.3f}"
    )
    _make_out(args.out)
    if args.method == "all":
        titles = {method: methods.METHODS[method].title for method in result.maps}
        figure = plotting.plot_method_maps(picture.batch, result.maps, titles)
        figure.suptitle(f"{model.name}: {name}, {args.score}", fontsize=9)
        _save_figure(figure, args.out / _filename("explain", "all", name))
        return 0
    image, heatmap = picture.batch[0], result.maps[args.method][0]
    figure = plotting.plot_gradcam(
        image,
        heatmap,
        gradcam.overlay(image, heatmap),
        title=f"{methods.METHODS[args.method].title}, {model.name}: "
        f"{name} ({result.probability:.1%}), {args.score}",
    )
    _save_figure(figure, args.out / _filename("explain", args.method, name))
    return 0


def _add_classifier_and_images(parser):
    """``--model``, one of the classifiers the course measures, and ``--num-images``."""
    parser.add_argument("--model", default=DEFAULT_CLASSIFIER, choices=CLASSIFIERS)
    parser.add_argument("--num-images", type=_positive_int, default=200, metavar="N")


def _faithfulness_arguments(parser):
    _add_classifier_and_images(parser)
    parser.add_argument(
        "--methods",
        default=None,
        metavar="LIST",
        help="all, or attribution methods separated by commas: measure each against "
        "the masks, print the leaderboard and the cascading randomization, and "
        "write them (CSV, Markdown, two figures) to --out",
    )
    parser.add_argument(
        "--num-pairs",
        type=_positive_int,
        default=50,
        metavar="N",
        help="two-object images for the own-object pointing (with --methods; "
        "default: %(default)s)",
    )
    parser.add_argument(
        "--num-sanity",
        type=_positive_int,
        default=12,
        metavar="N",
        help="images for the cascading randomization "
        "(with --methods; default: %(default)s)",
    )
    parser.add_argument(
        "--out",
        type=pathlib.Path,
        default=pathlib.Path("out"),
        metavar="DIR",
        help="folder for the leaderboard files (with --methods; default: %(default)s)",
    )


@subcommand(
    "faithfulness",
    _faithfulness_arguments,
    help="pointing game, sanity check and filter-ascent check on held-out images; "
    "with --methods, the leaderboard of attribution methods",
)
def run_faithfulness(args):
    if args.methods is None:
        from convviz_ref.faithfulness import evaluate_faithfulness

        evaluate_faithfulness(args.model, num_images=args.num_images)
        return 0
    from convviz_ref import compare

    names = compare.parse_methods(args.methods)
    _make_out(args.out)  # before the minutes of computing, not after
    print(
        f"Attribution methods on {args.model}, {args.num_images} held-out test "
        "images, logit score:"
    )
    board = compare.compare_methods(
        args.model,
        names,
        num_images=args.num_images,
        num_pairs=args.num_pairs,
        num_sanity=args.num_sanity,
    )
    print(compare.format_report(board))
    for path in compare.write_results(board, args.out):
        _report(path)
    return 0


def _completeness_arguments(parser):
    _add_classifier_and_images(parser)
    parser.add_argument(
        "--steps",
        default="32,64,128,256",
        metavar="LIST",
        help="numbers of trapezoid intervals, separated by commas, each dividing "
        "the largest (default: %(default)s)",
    )


@subcommand(
    "completeness",
    _completeness_arguments,
    help="Integrated Gradients' completeness gap on held-out images "
    "at several numbers of steps",
)
def run_completeness(args):
    from convviz_ref import compare

    steps = compare.parse_steps(args.steps)
    print(compare.completeness_report(args.model, steps, num_images=args.num_images))
    return 0


def _shortcut_arguments(parser):
    parser.add_argument(
        "--methods",
        default="all",
        metavar="LIST",
        help="all, or attribution methods separated by commas (default: %(default)s)",
    )
    parser.add_argument(
        "--num-images",
        type=_positive_int,
        default=100,
        metavar="N",
        help="marked test images the methods explain (default: %(default)s)",
    )
    parser.add_argument(
        "--score",
        choices=SCORES,
        default="logit",
        help="the score every method explains (default: %(default)s)",
    )


@subcommand(
    "shortcut",
    _shortcut_arguments,
    help="the planted shortcut: the shortcut model's accuracy with markers as in "
    "training, none and swapped, and how often each method's map points at the "
    "marker",
)
def run_shortcut(args):
    from convviz_ref import compare, shortcut

    shortcut.evaluate_shortcut(
        compare.parse_methods(args.methods),
        num_images=args.num_images,
        score=args.score,
    )
    return 0


def _dissect_arguments(parser):
    _add_classifier_and_layer(
        parser,
        "a layer with a spatial output (default: the middle layer, as for "
        "convviz filters: block2_sepconv1 for xception_like)",
    )
    parser.add_argument(
        "--num-images",
        type=_positive_int,
        default=400,
        metavar="N",
        help="the first N images of the crossed probe set, every shape with every "
        "texture (default: %(default)s, at most 1000)",
    )
    parser.add_argument(
        "--permutations",
        type=_positive_int,
        default=200,
        metavar="N",
        help="shuffles of the concept masks across images in the null "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--rotate",
        action="store_true",
        help="also dissect the layer with its unit basis rotated at random",
    )
    parser.add_argument(
        "--reinit",
        action="store_true",
        help="also dissect the layer of the model with re-initialized weights",
    )
    parser.add_argument(
        "--planted",
        action="store_true",
        help="sanity check: plant hand-set dot and check kernels in entry_conv and "
        "a stripe circuit ending in block2_sepconv2 (xception_like), dissect those "
        "layers, and print whether each planted unit is found with its concept",
    )
    parser.add_argument("--seed", type=int, default=0, metavar="S")
    _add_out(parser)


@subcommand(
    "dissect",
    _dissect_arguments,
    help="Network Dissection: which units of a layer detect which shape, texture "
    "or region, on exact masks",
    description="Score every unit of one layer against the crossed probe set's "
    "concept masks (IoU at each unit's top 0.5 %%, Bau et al. 2017), against Bau's "
    "0.04 cut-off and a null of masks shuffled across images; print the unique "
    "detectors and each unit's best concept, and write DIR/dissect_LAYER.png.",
)
def run_dissect(args):
    from convviz_ref import dissection_report, inputs, planted, plotting

    if args.planted and (args.rotate or args.reinit):
        raise ValueError(
            "--planted dissects the planted layer only; drop --rotate/--reinit"
        )
    if args.planted and args.layer is not None:
        raise ValueError(
            f"--planted plants and dissects {planted.PLANTED_LAYER!r} and "
            f"{planted.CIRCUIT_LAYER!r}; drop --layer"
        )
    model, _ = inputs.load_model(args.model)
    _make_out(args.out)  # before the minutes of dissecting, not after
    if args.planted:
        results, rows = planted.plant_and_dissect(
            model,
            num_images=args.num_images,
            num_permutations=args.permutations,
            seed=args.seed,
        )
        print(
            planted.format_planted(
                rows, planted.PLANTED_KERNELS + planted.CIRCUIT_UNITS
            )
        )
        for layer, result in results.items():
            figure = plotting.plot_dissection(layer, {"trained": result})
            _save_figure(figure, args.out / _filename("dissect", layer, "planted"))
        return 0
    layer, results = dissection_report.dissect_layer(
        model,
        args.layer,
        num_images=args.num_images,
        num_permutations=args.permutations,
        rotate=args.rotate,
        reinit=args.reinit,
        seed=args.seed,
    )
    print(dissection_report.format_dissection(layer, results))
    figure = plotting.plot_dissection(layer, results)
    _save_figure(figure, args.out / _filename("dissect", layer))
    return 0


def _shape_bias_arguments(parser):
    parser.add_argument(
        "--models",
        nargs="+",
        metavar="MODEL",
        help="shipped classifiers to measure (default: every shipped model that "
        "classifies the shapes)",
    )
    parser.add_argument(
        "--num-images",
        type=_positive_int,
        metavar="N",
        help="the first N cue-conflict images of the split (default: all)",
    )
    parser.add_argument("--split", choices=("train", "val", "test"), default="test")


@subcommand(
    "shape-bias",
    _shape_bias_arguments,
    help="shape bias (Geirhos et al. 2019): on cue-conflict images, how often "
    "each classifier follows the shape rather than the texture",
)
def run_shape_bias(args):
    from convviz_ref import shape_bias

    known = shape_bias.shipped_classifiers()
    unknown = [name for name in args.models or () if name not in known]
    if unknown:
        raise ValueError(
            f"unknown classifier {unknown[0]!r}; choose among {', '.join(known)}"
        )
    shape_bias.report(args.models, n=args.num_images, split=args.split)
    return 0


def _tcav_arguments(parser):
    _add_classifier_and_layer(
        parser,
        "a layer with a spatial output (default: the middle layer, as for "
        "convviz filters)",
    )
    parser.add_argument(
        "--num-random",
        type=_positive_int,
        default=10,
        metavar="N",
        help="random image sets: CAVs per concept and random CAVs, at least 10 "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--set-size",
        type=_positive_int,
        default=50,
        metavar="N",
        help="images per concept set and per random set (default: %(default)s)",
    )
    parser.add_argument(
        "--num-class-images",
        type=_positive_int,
        default=50,
        metavar="N",
        help="test images of each class whose logit is differentiated "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--pooled",
        action="store_true",
        help="CAVs over each unit's mean over the positions (one direction of the "
        "units at every position) instead of the paper's flattened layer",
    )
    parser.add_argument("--seed", type=int, default=0, metavar="S")
    _add_out(parser)


@subcommand(
    "tcav",
    _tcav_arguments,
    help="TCAV (Kim et al. 2018): does each class's logit rise along each "
    "texture's direction in a layer, tested against random directions",
    description="Train concept activation vectors for the four textures (crossed "
    "images of that texture against random images), count each class's test images "
    "whose logit rises along them, test the scores against random CAVs (two-sided "
    "t-test); print the table and write DIR/tcav_LAYER.png.",
)
def run_tcav(args):
    from convviz_ref import inputs, plotting, tcav

    model, _ = inputs.load_model(args.model)
    inputs.require_output_rank(model, 2, args.command)
    _make_out(args.out)
    result = tcav.texture_tcav(
        model,
        args.layer,
        num_random=args.num_random,
        set_size=args.set_size,
        num_class_images=args.num_class_images,
        pooled=args.pooled,
        seed=args.seed,
    )
    print(tcav.format_report(result))
    figure = plotting.plot_tcav(result)
    name = ("tcav", result.layer_name) + (("pooled",) if result.pooled else ())
    _save_figure(figure, args.out / _filename(*name))
    return 0


def _picture_trial_arguments(parser):
    parser.add_argument("--model", default=DEFAULT_CLASSIFIER, help=_MODEL_HELP)
    parser.add_argument(
        "--layers",
        nargs="+",
        metavar="LAYER",
        help="layers whose periodic-texture detectors are tried (default: "
        "block1_sepconv1 block1_sepconv2 block2_sepconv1 block2_sepconv2, the early "
        "and middle layers of xception_like)",
    )
    parser.add_argument(
        "--num-images",
        type=_positive_int,
        default=400,
        metavar="N",
        help="crossed probe images the layers are dissected on (default: "
        "%(default)s, at most 1000)",
    )
    parser.add_argument(
        "--permutations",
        type=_positive_int,
        default=200,
        metavar="N",
        help="shuffles in the dissection's null (default: %(default)s)",
    )
    parser.add_argument(
        "--max-units",
        type=_positive_int,
        metavar="N",
        help="measure only the first N chosen units of each layer (default: all)",
    )
    parser.add_argument("--seed", type=int, default=0, metavar="S")
    _add_out(parser)


@subcommand(
    "picture-trial",
    _picture_trial_arguments,
    help="are the feature pictures faithful? texture recovery and a two-choice "
    "score of the Fourier pictures, the book's ascents and the natural crops",
    description="Dissect the layers and fix their periodic-texture detectors "
    "(dots, checks, stripes; Bau's 0.04 and the null), print their number; then "
    "for each, compare the period and orientation of its Fourier pictures (free, "
    "and held to the periods the data draws), plain and regularized pictures "
    "with its top test crops', and score each picture and "
    "the crops as the only reference of a two-choice task (which of a strong and "
    "a weak query excites the unit more); print both with 95 % intervals and "
    "write DIR/picture_trial.png.",
)
def run_picture_trial(args):
    import time

    from convviz_ref import inputs, picture_trial

    start = time.perf_counter()
    model, _ = inputs.load_model(args.model)
    _make_out(args.out)
    unit_sets = picture_trial.select_units(
        model,
        args.layers or picture_trial.LAYERS,
        num_images=args.num_images,
        num_permutations=args.permutations,
        seed=args.seed,
    )
    print(picture_trial.format_unit_set(unit_sets), flush=True)
    if args.max_units is not None:
        print(f"Measuring the first {args.max_units} units of each layer")
        unit_sets = [
            unit_set._replace(
                units=unit_set.units[: args.max_units],
                textures=unit_set.textures[: args.max_units],
            )
            for unit_set in unit_sets
        ]
    trials, examples = [], []
    for unit_set in progress(unit_sets, desc="layers"):
        if len(unit_set.units) == 0:
            continue
        layer_trials, pictures, crops = picture_trial.try_pictures(
            model, unit_set, seed=args.seed
        )
        trials.extend(layer_trials)
        examples.append(
            (
                layer_trials[0],
                crops[0],
                {method: images[0] for method, images in pictures.items()},
            )
        )
    print(picture_trial.format_unit_trials(trials))
    print(picture_trial.format_trials(trials, seed=args.seed))
    figure = picture_trial.plot_trial(examples)
    _save_figure(figure, args.out / "picture_trial.png")
    print(f"wall time {time.perf_counter() - start:.0f} s")
    return 0


# What ``make demo`` runs: the main job on the embedded default, step by step.
DEMO_STEPS = (
    ("evaluate", "--out", "{out}"),
    ("activations", "--model", "small_convnet", "--image", "chelsea", "--out", "{out}"),
    ("filters", "--out", "{out}"),
    ("filters", "--regularized", "--out", "{out}"),
    ("gradcam", "--image", "shapes:test:1", "--score", "logit", "--out", "{out}"),
    ("segment", "--image", "shapes:test:2", "--out", "{out}"),
    ("faithfulness",),
)


def _demo_arguments(parser):
    _add_out(parser)


@subcommand(
    "demo",
    _demo_arguments,
    help="the whole course on the embedded default: evaluate, every visualization, "
    "faithfulness",
    description="Run, one after another, the commands it prints (each can be run "
    "alone the same way); one process, so TensorFlow starts once. Stops at the first "
    "that fails.",
)
def run_demo(args):
    for step in DEMO_STEPS:
        argv = [part.format(out=args.out) for part in step]
        print(f"\n$ convviz {' '.join(argv)}", flush=True)
        code = main(argv)
        if code != 0:
            return code
    return 0


def _one_line(error):
    return (
        " ".join(line.strip() for line in str(error).splitlines() if line.strip())
        or type(error).__name__
    )


def main(argv=None):
    """Run ``convviz COMMAND ...``; returns the exit code (2 for a user's mistake)."""
    args = build_parser().parse_args(argv)
    start_tensorflow_quietly()
    try:
        return SUBCOMMANDS[args.command].run(args)
    except (ValueError, OSError) as error:  # the library's; PIL's are OSErrors
        print(f"convviz: error: {_one_line(error)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
