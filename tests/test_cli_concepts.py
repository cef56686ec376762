"""The concept commands: convviz dissect, shape-bias and tcav, on small inputs."""

import re

import pytest

from convviz_ref import cli


@pytest.mark.parametrize(
    "argv, message",
    [
        (["tcav", "--model", "nope"], "unknown model 'nope'"),
        (["tcav", "--model", "small_convnet", "--layer", "nope"], "nope"),
        (["tcav", "--model", "small_convnet", "--num-random", "9"], "num_random"),
        (["tcav", "--model", "segmenter"], "segmenter"),
        (["dissect", "--model", "small_convnet", "--num-images", "1001"], "1..1000"),
        (["dissect", "--model", "small_convnet", "--layer", "nope"], "nope"),
        (["shape-bias", "--models", "segmenter"], "unknown classifier 'segmenter'"),
    ],
)
def test_a_mistake_is_one_line_and_exit_2(argv, message, capsys, tmp_path):
    assert (
        cli.main(
            [*argv, *(["--out", str(tmp_path)] if argv[0] != "shape-bias" else [])]
        )
        == 2
    )
    captured = capsys.readouterr()
    assert captured.out == "" and not list(tmp_path.iterdir())
    assert re.fullmatch(r"convviz: error: [^\n]+\n", captured.err), captured.err
    assert message in captured.err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--planted", "--rotate"], "drop --rotate/--reinit"),
        (["--planted", "--layer", "block2_sepconv1"], "drop --layer"),
        (["--planted", "--model", "small_convnet"], "'entry_conv'"),
    ],
)
def test_dissect_planted_mistakes_are_one_line(argv, message, capsys, tmp_path):
    assert cli.main(["dissect", *argv, "--out", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and not list(tmp_path.iterdir())
    assert re.fullmatch(r"convviz: error: [^\n]+\n", captured.err), captured.err
    assert message in captured.err


@pytest.mark.slow
def test_dissect_tcav_and_shape_bias_print_their_tables_and_draw(capsys, tmp_path):
    model = ["--model", "small_convnet", "--out", str(tmp_path)]
    assert (
        cli.main(
            [
                "dissect",
                *model,
                "--num-images",
                "16",
                "--permutations",
                "5",
                "--rotate",
                "--reinit",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    for variant in ("trained", "rotated", "reinitialized"):
        row = rf"^  {variant} +\d+ +\d+ +\d+ +\d+ +\d+/\d+/\d+ +\d\.\d{{4}}$"
        assert re.search(row, out, re.M), out
    assert len(re.findall(r"^ +\d+  \w+ +\d\.\d{3}", out, re.M)) >= 8  # a unit each
    assert (
        cli.main(
            ["tcav", *model, "--set-size", "3", "--num-class-images", "2", "--pooled"]
        )
        == 0
    )
    out = capsys.readouterr().out
    for row in ("dotted", "checked", "striped", "solid", "random"):
        assert re.search(rf"^  {row} +\d\.\d\d", out, re.M), out
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "dissect_conv3.png",
        "tcav_conv3_pooled.png",
    ]
    assert (
        cli.main(["shape-bias", "--models", "small_convnet", "--num-images", "12"]) == 0
    )
    assert re.search(r"^  small_convnet +\d+ +\d+ +\d+ ", capsys.readouterr().out, re.M)
