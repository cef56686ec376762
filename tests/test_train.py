"""Retraining: deterministic by seed, writes the file that ships and its manifest."""

import json

import keras
import numpy as np
import pytest

from convviz_ref import train


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    runs = []
    for attempt in ("first", "second"):
        folder = tmp_path_factory.mktemp(attempt)
        model, history = train.train_model(
            "xception_like", epochs=1, seed=3, output_dir=folder, num_train=64, progress=False
        )
        runs.append((folder, model, history))
    return runs


def test_same_seed_gives_the_same_weights(two_runs):
    (_, first, _), (_, second, _) = two_runs
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_training_writes_a_loadable_model_and_its_manifest(two_runs):
    folder, model, history = two_runs[0]
    loaded = keras.saving.load_model(folder / "xception_like.keras", compile=False)
    assert loaded.optimizer is None, "the shipped file carries no optimizer state"
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    manifest = json.loads((folder / "manifest.json").read_text())
    entry = manifest["xception_like"]
    assert entry["class_names"] == ["disc", "square", "triangle", "star"]
    assert entry["num_train"] == 64 and entry["epochs"] == 1 and entry["seed"] == 3
    assert set(history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_another_seed_gives_other_weights(tmp_path, two_runs):
    other, _ = train.train_model(
        "xception_like", epochs=1, seed=4, output_dir=tmp_path, num_train=64, progress=False
    )
    first = two_runs[0][1]
    assert not np.array_equal(other.get_weights()[0], first.get_weights()[0])


def test_unknown_model_name_lists_the_choices():
    with pytest.raises(ValueError, match="choose one of"):
        train.train_model("resnet")


def test_command_line_shows_a_progress_bar_and_the_result(tmp_path, capsys):
    code = train.main(["segmenter", "--epochs", "1", "--output-dir", str(tmp_path), "--num-train", "32"])
    assert code == 0
    out, err = capsys.readouterr()
    assert "segmenter: val_accuracy" in out and str(tmp_path / "segmenter.keras") in out
    assert "1/1" in err, "tqdm's progress bar counts the epochs"
    assert (tmp_path / "segmenter.keras").exists()
