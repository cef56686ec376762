"""Retraining: deterministic by seed, writes the file that ships and its manifest."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from convviz_ref import crossed, data, models, train


def retrain_in_fresh_processes(runs):
    """What a user runs: ``python -m convviz_ref.train``, each run in its own process.

    ``runs`` is a list of ``(model name, num_train, folder, extra environment)``; every
    run trains one epoch with seed 3, with no ``TF_CPP_MIN_LOG_LEVEL`` and TensorFlow's
    default threads unless the extra environment sets them (a user who has chosen none).
    The processes run side by side (op determinism makes the result independent of how
    they share the cores); returns the weights each wrote and what each printed (stdout
    and stderr together).
    """
    # A user's environment: no log level, and TensorFlow's own thread pools
    # (tests/conftest.py gives the test workers fewer threads).
    environment = {
        key: value
        for key, value in os.environ.items()
        if key
        not in (
            "TF_CPP_MIN_LOG_LEVEL",
            "TF_NUM_INTRAOP_THREADS",
            "TF_NUM_INTEROP_THREADS",
        )
    }
    processes = []
    for name, num_train, folder, env in runs:
        data.load_shapes(
            "train", num_train
        )  # drawn once into the cache, not once per process
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "convviz_ref.train",
                    name,
                    "--epochs",
                    "1",
                    "--seed",
                    "3",
                    "--num-train",
                    str(num_train),
                    "--num-val",
                    "32",
                    "--output-dir",
                    str(folder),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env={**environment, **env},
            )
        )
    outputs = []
    for process in processes:
        output, _ = process.communicate()
        outputs.append(output.decode(errors="replace"))
        assert process.returncode == 0, outputs[-1][-2000:]
    weights = [
        keras.saving.load_model(folder / f"{name}.keras", compile=False).get_weights()
        for name, _, folder, _ in runs
    ]
    return weights, outputs


@pytest.mark.slow
def test_same_seed_gives_the_same_weights_in_a_fresh_process(tmp_path):
    # Bit for bit. A prefix of the training split proves what the full split would: the
    # seeds, the shuffling, the initialization and the ops are the same code whatever
    # the number of images, and 200 images at batch 32 make 7 steps, a partial batch
    # included, so the shuffle order and every optimizer step take part.
    # - small_convnet with TensorFlow's default threads, as a user trains it;
    # - xception_like with one intra-op thread: with two, its short trials differ by
    #   about 1e-4 between runs (a CPU kernel that reduces in thread order), and
    #   TF_NUM_INTRAOP_THREADS=1 is the documented way to make it bit for bit. On the
    #   AVX-512 kind one thread was not enough: about half the runs differed by up to
    #   6e-5 in the first conv's kernel until oneDNN's custom ops were off too
    #   (TensorFlow's own notice: they change the order of floating-point sums); with
    #   both, 4 runs of 4 agreed.
    # Of each pair, the first run starts TensorFlow quietly (no log level chosen: no C++
    # start-up lines, op determinism enabled before the device exists) and the second
    # as a user who chose TF_CPP_MIN_LOG_LEVEL=0 (every line, no quiet start): the quiet
    # start must not change a single weight, and only the second run shows the lines.
    one_thread = {
        "TF_NUM_INTRAOP_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "1",
        "TF_ENABLE_ONEDNN_OPTS": "0",
    }
    loud = {"TF_CPP_MIN_LOG_LEVEL": "0"}
    runs = [
        ("small_convnet", 200, tmp_path / "small-1", {}),
        ("small_convnet", 200, tmp_path / "small-2", loud),
        ("xception_like", 64, tmp_path / "xception-1", one_thread),
        ("xception_like", 64, tmp_path / "xception-2", {**one_thread, **loud}),
    ]
    (small_1, small_2, xception_1, xception_2), outputs = retrain_in_fresh_processes(
        runs
    )
    for first, second in ((small_1, small_2), (xception_1, xception_2)):
        assert len(first) == len(second) > 0
        for a, b in zip(first, second):
            np.testing.assert_array_equal(a, b)
    for quiet, chosen in (outputs[0:2], outputs[2:4]):
        assert "I0000" not in quiet and "E0000" not in quiet, (
            quiet
        )  # tqdm's bar and the result only
        assert "val_accuracy" in quiet
        assert "I0000" in chosen, chosen  # the control: the lines are there to hide


# The in-process runs below train small_convnet: train_model seeds, fits and saves every
# classifier with the same code (only the segmenter differs), and small_convnet takes a
# third of xception_like's time. xception_like itself is retrained above, in fresh
# processes.
QUICK_TRIAL = {"num_train": 64, "num_val": 32, "progress": False}


def train_small_convnet(folder, seed):
    """One quiet epoch of small_convnet on 64 images (32 validate), into ``folder``."""
    return train.train_model(
        "small_convnet", epochs=1, seed=seed, output_dir=folder, **QUICK_TRIAL
    )


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    model, history = train_small_convnet(folder, seed=3)
    return folder, model, history


@pytest.mark.slow
def test_training_writes_a_loadable_model_and_its_manifest(one_run):
    folder, model, history = one_run
    loaded = keras.saving.load_model(folder / "small_convnet.keras", compile=False)
    assert getattr(loaded, "optimizer", None) is None, (
        "the shipped file carries no optimizer state"
    )
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    manifest = json.loads((folder / "manifest.json").read_text())
    entry = manifest["small_convnet"]
    assert entry["class_names"] == ["disc", "square", "triangle", "star"]
    assert entry["num_train"] == 64 and entry["epochs"] == 1 and entry["seed"] == 3
    assert set(history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}


@pytest.mark.slow
def test_another_seed_gives_other_weights(tmp_path, one_run):
    other, _ = train_small_convnet(tmp_path, seed=4)
    assert not np.array_equal(other.get_weights()[0], one_run[1].get_weights()[0])


def test_unknown_model_name_lists_the_choices():
    with pytest.raises(ValueError, match="choose one of"):
        train.train_model("resnet")


@pytest.mark.slow
def test_command_line_shows_a_progress_bar_and_the_result(tmp_path, capsys):
    code = train.main(
        [
            "segmenter",
            "--epochs",
            "1",
            "--output-dir",
            str(tmp_path),
            "--num-train",
            "32",
            "--num-val",
            "16",
        ]
    )
    assert code == 0
    out, err = capsys.readouterr()
    assert "segmenter: val_accuracy" in out and str(tmp_path / "segmenter.keras") in out
    assert "1/1" in err, "tqdm's progress bar counts the epochs"
    assert (tmp_path / "segmenter.keras").exists()


def test_reading_the_module_starts_no_tensorflow():
    # So `convviz-train --help` is instant, and main() can start TensorFlow quietly
    # (the fresh runs of the same-seed test above check what it prints).
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, convviz_ref.train; print('tensorflow' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.stdout.strip() == "False", probe.stdout + probe.stderr


def test_the_shape_trained_recipe_reads_texture_independent_scenes():
    recipe = train.RECIPES["shape_trained"]
    split = train.load_split(recipe, "val", 12)
    independent = crossed.load_crossed("val", 12, textures="independent")
    np.testing.assert_array_equal(split.images, independent.images)
    np.testing.assert_array_equal(split.labels, independent.labels)
    plain = train.load_split(train.RECIPES["xception_like"], "val", 12)
    np.testing.assert_array_equal(plain.images, data.load_shapes("val", 12).images)
    assert not np.array_equal(split.images, plain.images)


def test_a_recipe_with_train_seeds_trains_on_each_seeds_scenes():
    recipe = {**train.RECIPES["shape_trained"], "train_seeds": (0, 1)}
    images, labels, masks = train.load_training_split(recipe, 4)
    assert images.shape == (8, 96, 96, 3) and labels.shape == (8,)
    for seed, part in ((0, slice(0, 4)), (1, slice(4, 8))):
        drawn = crossed.load_crossed("train", 4, textures="independent", seed=seed)
        np.testing.assert_array_equal(images[part], drawn.images)
        np.testing.assert_array_equal(masks[part], drawn.masks)


def test_the_manifest_records_which_textures_a_model_saw(tmp_path):
    recipe = train.RECIPES["shape_trained"]
    model = models.build_xception_like(
        image_size=train.IMAGE_SIZE, name="shape_trained"
    )
    train.save_model(
        model, "shape_trained", tmp_path, recipe=recipe, epochs=1, seed=0, num_train=8
    )
    entry = json.loads((tmp_path / "manifest.json").read_text())["shape_trained"]
    assert entry["textures"] == "independent" and "markers" not in entry
    assert entry["train_seeds"] == [0, 1] and entry["num_train"] == 8
    loaded = keras.saving.load_model(tmp_path / "shape_trained.keras", compile=False)
    assert loaded.name == "shape_trained"
