"""Train the shipped models from scratch, deterministically by seed.

Usage::

    python -m convviz_ref.train xception_like      # writes convviz_ref/pretrained/
    python -m convviz_ref.train all --output-dir /tmp/models

Every recipe trains on the ``train`` split of the shapes dataset and watches
the ``val`` split; the ``test`` split is left for :mod:`convviz_ref.evaluate`.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import time

import numpy as np

# NumPy and SciPy only: Keras is imported where it is used, after main() has
# started TensorFlow without its start-up lines.
from convviz_ref import crossed, data
from convviz_ref.progress import progress

RECIPES = {
    "segmenter": {
        "builder_args": {"widths": (32, 64)},
        "epochs": 20,
        "batch_size": 32,
        "learning_rate": 2e-3,
    },
    "small_convnet": {
        "builder_args": {},
        "epochs": 20,
        "batch_size": 32,
        "learning_rate": 1e-3,
    },
    "xception_like": {
        "builder_args": {},
        "epochs": 15,
        "batch_size": 32,
        "learning_rate": 2e-3,
    },
    "shortcut": {
        "builder_args": {"name": "shortcut"},
        "epochs": 5,
        "batch_size": 32,
        "learning_rate": 2e-3,
        "markers": "marked",
    },
    "shape_trained": {
        "builder_args": {"name": "shape_trained"},
        "epochs": 8,
        "batch_size": 32,
        "learning_rate": 2e-3,
        "textures": "independent",
        "train_seeds": (0, 1),
    },
}
"""How each shipped model is trained: builder arguments, epochs, batch size, peak
learning rate, and the version of the data if not the plain one: ``markers``
(the shortcut data, see :func:`convviz_ref.data.load_shapes`) or ``textures``
(the same scenes with other textures, see :func:`convviz_ref.crossed.load_crossed`;
``"independent"`` draws each image's texture independently of its class), and
``train_seeds``, the dataset seeds whose train splits it trains on (default:
:data:`DATA_SEED`'s alone; see :func:`load_training_split`)."""

IMAGE_SIZE = 96
DATA_SEED = 0


def load_split(recipe, split, n=None, *, seed=DATA_SEED):
    """The images, labels and trimaps a recipe trains (``train``) or validates on.

    The plain shapes data, its shortcut version (the recipe's ``markers``) or
    its crossed version (the recipe's ``textures``) drawn with dataset seed
    ``seed``; ``n`` takes a prefix.
    """
    if "textures" in recipe:
        return crossed.load_crossed(
            split, n, textures=recipe["textures"], image_size=IMAGE_SIZE, seed=seed
        )
    return data.load_shapes(
        split, n, image_size=IMAGE_SIZE, seed=seed, markers=recipe.get("markers")
    )


def load_training_split(recipe, n=None):
    """``(images, labels, masks)`` a recipe trains on: its ``train`` split.

    A recipe with ``train_seeds`` trains on the train splits drawn with each
    of those dataset seeds, one after another (``n`` images of each), so on
    more scenes of the same generator; the others on seed :data:`DATA_SEED`'s.
    """
    parts = [
        load_split(recipe, "train", n, seed=seed)
        for seed in recipe.get("train_seeds", (DATA_SEED,))
    ]
    return tuple(
        np.concatenate([getattr(part, field) for part in parts])
        for field in ("images", "labels", "masks")
    )


def make_callbacks(epochs, description):
    """A progress bar over epochs, showing the latest metrics.

    The bar is :func:`convviz_ref.progress.progress`'s: live on a terminal,
    one line at the end anywhere else.
    """
    import keras

    class EpochProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = progress(total=epochs, desc=description, unit="epoch")

        def on_epoch_end(self, epoch, logs=None):
            self.bar.set_postfix(
                {key: f"{value:.3f}" for key, value in (logs or {}).items()}
            )
            self.bar.update(1)

        def on_train_end(self, logs=None):
            self.bar.close()

    return [EpochProgress()]


def train_model(
    name,
    *,
    epochs=None,
    seed=0,
    output_dir=None,
    num_train=None,
    num_val=None,
    progress=True,
):
    """Train one shipped model from scratch and save it as ``output_dir/NAME.keras``.

    The learning rate follows a cosine decay from the recipe's peak to zero,
    with Adam. Seeds fix the weights' initialization, the shuffling and
    dropout, and TensorFlow's op determinism is switched on, so a rerun with
    the same seed on the same kind of CPU gives the same weights (the
    README says where that holds and which threads and flags it needs).

    Args:
        name: a key of ``RECIPES``.
        epochs: int, overrides the recipe's number of epochs.
        seed: int, seed for initialization, shuffling and dropout.
        output_dir: folder to write ``NAME.keras`` and ``manifest.json`` to;
            None is the package's ``pretrained/`` folder (the shipped files).
        num_train: int, use only the first images of the train split (for
            quick tests); None for all of it.
        num_val: int, validate on only the first images of the validation
            split (for quick tests; validation never changes the weights);
            None for all of it.
        progress: bool, show a progress bar.

    Returns:
        ``(model, history)``: the trained model and the Keras history dict.
    """
    import keras
    import tensorflow as tf

    from convviz_ref.models import BUILDERS, PRETRAINED_DIR

    if name not in RECIPES:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(RECIPES)}")
    recipe = RECIPES[name]
    epochs = recipe["epochs"] if epochs is None else epochs
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()

    train_images, train_labels, train_masks = load_training_split(recipe, num_train)
    val = load_split(recipe, "val", num_val)
    segmenting = name == "segmenter"
    train_targets, val_targets = (
        (train_masks, val.masks) if segmenting else (train_labels, val.labels)
    )

    model = BUILDERS[name](image_size=IMAGE_SIZE, **recipe["builder_args"])
    steps = epochs * -(-len(train_images) // recipe["batch_size"])
    schedule = keras.optimizers.schedules.CosineDecay(
        recipe["learning_rate"], decay_steps=steps
    )
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    history = model.fit(
        x=train_images,
        y=train_targets,
        validation_data=(val.images, val_targets),
        epochs=epochs,
        batch_size=recipe["batch_size"],
        shuffle=True,
        verbose=0,
        callbacks=make_callbacks(epochs, name) if progress else [],
    )
    save_model(
        model,
        name,
        PRETRAINED_DIR if output_dir is None else output_dir,
        recipe=recipe,
        epochs=epochs,
        seed=seed,
        num_train=len(train_images),
    )
    return model, history.history


def save_model(model, name, output_dir, *, recipe, epochs, seed, num_train):
    """Write the weights without optimizer state; record the recipe in the manifest.

    The manifest is ``output_dir/manifest.json``; other models' entries stay.
    """
    from convviz_ref.models import BUILDERS

    output_dir = pathlib.Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    # A fresh, uncompiled copy saves only the weights a user needs: the
    # optimizer's state would triple the file size.
    clean = BUILDERS[name](image_size=IMAGE_SIZE, **recipe["builder_args"])
    clean.set_weights(model.get_weights())
    clean.save(output_dir / f"{name}.keras")

    manifest_path = output_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest[name] = {
        "class_names": list(
            data.TRIMAP_NAMES if name == "segmenter" else data.CLASS_NAMES
        ),
        "image_size": IMAGE_SIZE,
        "builder_args": {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in recipe["builder_args"].items()
        },
        "epochs": epochs,
        "batch_size": recipe["batch_size"],
        "learning_rate": recipe["learning_rate"],
        "seed": seed,
        "data_seed": DATA_SEED,
        "num_train": num_train,
    }
    for version in ("markers", "textures", "train_seeds"):
        value = recipe.get(version)
        if value:
            manifest[name][version] = list(value) if isinstance(value, tuple) else value
    manifest_path.write_text(
        json.dumps(dict(sorted(manifest.items())), indent=2) + "\n"
    )


def main(argv=None):
    """Command line: ``python -m convviz_ref.train NAME [NAME ...] | all``."""
    parser = argparse.ArgumentParser(
        prog="convviz-train", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "names", nargs="+", choices=[*RECIPES, "all"], help="models to train"
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help="override the recipe's epochs"
    )
    parser.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    parser.add_argument(
        "--output-dir",
        type=pathlib.Path,
        default=None,
        help="where to write NAME.keras (default: the package's pretrained/ folder)",
    )
    parser.add_argument(
        "--num-train",
        type=int,
        default=None,
        help="train on the first N training images only (a quick trial)",
    )
    parser.add_argument(
        "--num-val",
        type=int,
        default=None,
        help="validate on the first N validation images only (a quick trial)",
    )
    args = parser.parse_args(argv)
    import convviz_ref
    from convviz_ref.quiet_start import start_tensorflow_quietly

    if not convviz_ref.TF_LOG_LEVEL_CHOSEN:
        # Keras's input pipeline makes TensorFlow 2.21 log "E0000 ... NodeDef
        # mentions attribute use_unbounded_threadpool ... will be ignored" at every
        # fit, an ERROR-level notice about its own versions that changes nothing;
        # level 3 (set before TensorFlow reads it) hides it. Python errors still
        # stop the run; TF_CPP_MIN_LOG_LEVEL=0 shows every line.
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    # As `convviz` does: no C++ start-up lines before the progress bar; op
    # determinism enabled first.
    start_tensorflow_quietly(deterministic=True)
    from convviz_ref.models import PRETRAINED_DIR  # Keras: after the quiet start

    output_dir = PRETRAINED_DIR if args.output_dir is None else args.output_dir
    names = list(RECIPES) if "all" in args.names else args.names
    total_start = time.perf_counter()
    for name in names:
        start = time.perf_counter()
        _, history = train_model(
            name,
            epochs=args.epochs,
            seed=args.seed,
            output_dir=output_dir,
            num_train=args.num_train,
            num_val=args.num_val,
        )
        minutes = (time.perf_counter() - start) / 60
        print(
            f"{name}: val_accuracy {history['val_accuracy'][-1]:.4f}, "
            f"trained in {minutes:.1f} min -> {output_dir / (name + '.keras')}"
        )
    if len(names) > 1:
        minutes = (time.perf_counter() - total_start) / 60
        print(f"all {len(names)} models retrained in {minutes:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
