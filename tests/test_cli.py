"""The convviz command line."""

import re

import pytest

from convviz_ref import cli


def test_version_names_convviz_keras_and_tensorflow(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert re.fullmatch(
        r"convviz \S+, keras 3\.\S+, tensorflow 2\.\S+\n", capsys.readouterr().out
    )


def test_a_command_is_required(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def _record_runs(monkeypatch, fail=None):
    """Replace each demo step's run function by one recording its arguments.

    The step named ``fail`` raises a ValueError instead.
    """
    ran = []
    for name in {step[0] for step in cli.DEMO_STEPS}:

        def run(args, name=name):
            ran.append((name, vars(args)))
            if name == fail:
                raise ValueError(f"{name} went wrong")
            return 0

        monkeypatch.setitem(
            cli.SUBCOMMANDS, name, cli.SUBCOMMANDS[name]._replace(run=run)
        )
    return ran


def test_demo_runs_each_step_in_order_as_its_printed_command(
    monkeypatch, capsys, tmp_path
):
    ran = _record_runs(monkeypatch)
    assert cli.main(["demo", "--out", str(tmp_path)]) == 0
    assert [name for name, _ in ran] == [step[0] for step in cli.DEMO_STEPS]
    out = capsys.readouterr().out
    for (_name, args), step in zip(ran, cli.DEMO_STEPS):
        command = " ".join(part.format(out=tmp_path) for part in step)
        assert f"$ convviz {command}\n" in out
        assert vars(cli.build_parser().parse_args(command.split())) == args, (
            "the printed command is what ran"
        )
    assert ("filters", "--regularized", "--out", "{out}") in cli.DEMO_STEPS
    assert all(args["out"] == tmp_path for name, args in ran if name != "faithfulness")


def test_demo_stops_at_the_first_failing_step_with_its_one_line_error(
    monkeypatch, capsys, tmp_path
):
    ran = _record_runs(monkeypatch, fail="filters")
    assert cli.main(["demo", "--out", str(tmp_path)]) == 2
    assert [name for name, _ in ran] == ["evaluate", "activations", "filters"]
    assert capsys.readouterr().err == "convviz: error: filters went wrong\n"


@pytest.mark.slow
def test_data_prints_the_summary_with_the_centre_baseline(capsys):
    assert cli.main(["data", "--image-size", "32"]) == 0
    out = capsys.readouterr().out
    assert "centre on object" in out
    rows = [
        line
        for line in out.splitlines()
        if line.strip().startswith(("train", "val", "test"))
    ]
    assert len(rows) == 6  # three splits, one and two objects
    for row in rows:
        assert float(row.split()[-1].rstrip("%")) <= 100 / 3


@pytest.mark.slow
def test_evaluate_prints_every_figure_and_writes_the_examples(tmp_path, capsys):
    # The first 100 images of each split: the command and its figures, not the figures'
    # values (`make demo` runs it on every image).
    assert cli.main(["evaluate", "--num-images", "100", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for expected in (
        "test accuracy",
        "mean IoU",
        "object",
        "contour",
        "Shipped models",
        "parameters",
        "markers marked: ",
        "markers none: ",
        "markers swapped: ",
        "independent textures ",
    ):
        assert expected in out
    rows = [
        line.split()
        for line in out.splitlines()
        if line.strip().startswith(("train", "val", "test"))
    ]
    assert [row[3] for row in rows] == [
        "100"
    ] * 6  # "train (1 obj) 100 ...": the first 100 of every split
    written = sorted(path.name for path in tmp_path.glob("*.png"))
    assert written == [
        "segmentation_pairs.png",
        "segmentation_test.png",
        "shapes_pairs.png",
        "shapes_samples.png",
    ]
    assert all(path.stat().st_size > 10_000 for path in tmp_path.glob("*.png"))


def test_evaluate_takes_out_and_no_longer_output_dir(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["evaluate", "--output-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --output-dir" in capsys.readouterr().err


def test_evaluate_refuses_a_file_as_out_before_evaluating(tmp_path, capsys):
    in_the_way = tmp_path / "figures"
    in_the_way.write_text("not a folder")
    assert cli.main(["evaluate", "--out", str(in_the_way)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing was evaluated
    assert (
        captured.err == f"convviz: error: --out {in_the_way} is a file, not a folder\n"
    )


def test_data_with_a_too_small_image_size_is_a_one_line_error(capsys):
    assert cli.main(["data", "--image-size", "10"]) == 2
    assert (
        capsys.readouterr().err
        == "convviz: error: image_size must be at least 32 pixels, got 10\n"
    )


def run_convviz(args, tmp_path, **env_changes):
    """``convviz ARGS`` in a fresh process (no TensorFlow yet), as a user runs it."""
    import os
    import subprocess
    import sys

    env = {
        key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"
    }
    env.update(env_changes)
    return subprocess.run(
        [sys.executable, "-m", "convviz_ref.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )


@pytest.mark.slow
def test_a_fresh_cli_run_prints_no_tensorflow_start_up_lines(tmp_path):
    quiet = run_convviz(["gradcam", "--out", "out"], tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert quiet.stdout.splitlines()[-1] == "wrote out/gradcam_disc.png"
    # The control: a user who chooses a log level sees the lines (on this machine:
    # oneDNN and CUDA notices). The same command up to its first use of the model (the
    # class check follows it) shows them all: TensorFlow prints them when it is imported
    # and when the model is loaded.
    loud = run_convviz(
        ["gradcam", "--class-index", "9"], tmp_path, TF_CPP_MIN_LOG_LEVEL="0"
    )
    assert loud.returncode == 2 and "I0000" in loud.stderr, loud.stderr
    assert loud.stderr.splitlines()[-1].startswith(
        "convviz: error: class_index 9 is out of range"
    ), loud.stderr


def test_a_user_s_mistake_in_a_fresh_process_is_exactly_one_line_on_stderr(tmp_path):
    result = run_convviz(["gradcam", "--class-index", "9"], tmp_path)
    assert result.returncode == 2
    assert re.fullmatch(
        r"convviz: error: class_index 9 is out of range[^\n]*\n", result.stderr
    ), result.stderr


def test_completeness_prints_a_row_per_number_of_steps(capsys):
    assert (
        cli.main(
            [
                "completeness",
                "--model",
                "small_convnet",
                "--num-images",
                "3",
                "--steps",
                "4,2",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if re.match(r"\| \d+ \|", line)]
    assert [row.split("|")[1].strip() for row in rows] == ["2", "4"]
    assert all(row.endswith(" of 3 |") for row in rows), rows
    assert "one path of 4 steps per image" in out


@pytest.mark.parametrize(
    "steps, message",
    [
        (
            "32,48",
            "--steps 32,48: every number of steps must divide the largest, 48; "
            "[32] do not",
        ),
        ("4,x", "--steps takes whole numbers separated by commas, got '4,x'"),
        ("0", "--steps 0: steps must be numbers of at least 1"),
    ],
)
def test_completeness_refuses_steps_in_one_line_before_loading_anything(
    steps, message, capsys, monkeypatch
):
    from convviz_ref import models

    monkeypatch.setattr(
        models, "load_pretrained", lambda *args: pytest.fail("loaded a model")
    )
    assert cli.main(["completeness", "--steps", steps]) == 2
    err = capsys.readouterr().err
    assert (
        err.startswith("convviz: error: ") and err.count("\n") == 1 and message in err
    ), err
