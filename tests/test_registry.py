"""The registry of attribution methods (convviz_ref.methods) is the one list of them.

A throwaway method, added to the registry and nowhere else, is found by
``explain``, ``convviz explain`` and its help, the leaderboard and the
benchmark; and the help of ``convviz`` reads the registry without TensorFlow.
"""

import io
import subprocess
import sys

import numpy as np
import pytest
import tiny_models as tm

from convviz_ref import attribution, benchmark, cli, compare, methods, scoring
from convviz_ref.maps import normalize_maps


def brightness(model, images, class_index=None, *, score="logit"):
    """A toy method: each pixel's brightness (it looks at no model)."""
    return np.asarray(images, np.float32).mean(axis=-1)


@pytest.fixture
def registered(monkeypatch):
    """``brightness`` in the registry for one test: its entry and nothing else."""
    entry = methods.METHODS["saliency"]._replace(  # a pixel method, like saliency
        function=brightness,
        to_map="positive_part",
        passes="none",
        title="Brightness",
        many_passes=True,
    )
    monkeypatch.setitem(methods.METHODS, "brightness", entry)
    return entry


def test_a_new_method_is_explained_and_listed_by_name(registered):
    model = tm.linear_classifier(seed=0)
    images = np.random.default_rng(0).uniform(0, 255, (2, 6, 6, 3)).astype("float32")
    maps, _ = attribution.explain(model, images, "brightness")
    np.testing.assert_allclose(maps, normalize_maps(images.mean(axis=-1)), atol=1e-6)
    assert "brightness" in compare.parse_methods("all")
    assert compare.parse_methods("brightness") == ["brightness"]
    assert "brightness" in benchmark.many_pass_methods()
    with pytest.raises(ValueError, match="steps does not apply to method 'brightness'"):
        attribution.explain(model, images, "brightness", steps=4)


def test_the_explain_command_lists_and_runs_a_new_method(registered, tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["explain", "--help"])
    assert "brightness; or all" in " ".join(capsys.readouterr().out.split())
    argv = ["explain", "--method", "brightness", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("explained: disc (class 0)")
    assert f"wrote {tmp_path / 'explain_brightness_disc.png'}" in out
    assert (tmp_path / "explain_brightness_disc.png").stat().st_size > 0


def test_the_leaderboard_has_a_row_for_a_new_method(registered):
    board = compare.compare_methods(
        "small_convnet",
        ["brightness"],
        num_images=2,
        num_pairs=1,
        num_sanity=1,
        sanity_methods=[],
        stream=io.StringIO(),
    )
    [row] = [row for row in board.rows if row["method"] == "brightness"]
    assert row["family"] == "pixel" and 0 <= row["pointing"] <= 1
    assert set(board.examples) == {"brightness"}


def test_the_benchmark_times_a_new_many_pass_method(registered, monkeypatch):
    def brightness_of_copies(model, images, class_index=None, *, score="logit"):
        """Brightness, after scoring three copies of each image (three passes)."""
        scorer = scoring.cached_score_model(model, score=score)
        scoring.all_class_scores(scorer, np.repeat(images, 3, axis=0))
        return brightness(model, images)

    entry = registered._replace(function=brightness_of_copies)
    monkeypatch.setitem(methods.METHODS, "brightness", entry)
    model = tm.functional_convnet(seed=0)
    image = np.zeros((1, 12, 12, 3), np.float32)
    costs = benchmark.benchmark_attribution(model, "conv2", image, repeats=1)
    assert list(costs) == benchmark.many_pass_methods()
    assert list(costs)[-1] == "brightness"
    assert costs["brightness"]["images"] == 3 and not costs["brightness"]["backward"]
    assert costs["smoothgrad"]["images"] == 25 and costs["smoothgrad"]["backward"]


def test_the_help_of_convviz_and_explain_imports_no_tensorflow():
    program = (
        "import sys\n"
        "from convviz_ref import cli\n"
        "for argv in (['--help'], ['explain', '--help']):\n"
        "    try:\n"
        "        cli.main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'\n"
        "assert 'keras' not in sys.modules, 'keras imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "--samples N" in result.stdout and "--patch N" in result.stdout


def test_every_entry_is_of_a_known_family_and_its_function_exists():
    for name, entry in methods.METHODS.items():
        assert entry.family in methods.FAMILIES, name
        assert callable(methods.method_function(name)), name
        assert entry.resolution == ("layer" if entry.family == "cam" else "image")
