"""The ``convviz`` command line: one subcommand per job, each calling one library function.

TensorFlow is imported inside the commands, so ``convviz --help`` is instant.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import convviz_ref


def _version():
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"convviz {convviz_ref.__version__}"]
    for package in ("keras", "tensorflow"):
        try:
            parts.append(f"{package} {version(package)}")
        except PackageNotFoundError:  # pragma: no cover - both are dependencies
            parts.append(f"{package} (not installed)")
    return ", ".join(parts)


def build_parser():
    parser = argparse.ArgumentParser(prog="convviz", description="The convviz course's reference tools.")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    evaluate = commands.add_parser(
        "evaluate", help="measure the shipped models on test images and write example figures"
    )
    evaluate.add_argument("--output-dir", type=pathlib.Path, default=None,
                          help="folder for the example figures (none written if omitted)")

    train = commands.add_parser("train", help="retrain shipped models from scratch (see convviz-train)")
    train.add_argument("args", nargs=argparse.REMAINDER, help="arguments for convviz-train")

    data = commands.add_parser("data", help="print the summary of the shapes dataset")
    data.add_argument("--image-size", type=int, default=96)
    data.add_argument("--seed", type=int, default=0)
    return parser


def main(argv=None):
    """Run ``convviz COMMAND ...``; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "evaluate":
        from convviz_ref.evaluate import evaluate_all

        evaluate_all(args.output_dir)
    elif args.command == "train":
        from convviz_ref.train import main as train_main

        return train_main(args.args)
    elif args.command == "data":
        from convviz_ref.evaluate import summarize_data

        summarize_data(args.image_size, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
