"""The name and calibrate verbs, and how sample, encode and traverse use names and units."""

import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from infogan import InfoGAN, checkpoint
from infogan.cli import main
from infogan.run import CHECKPOINT_NAME, SELECTED_NAME

DIGITS = "zero,one,two,three,four,five,six,seven,eight,nine"


@pytest.fixture
def run(vivid_model, tmp_path):
    """A run directory holding the vivid model as its checkpoint and as its selected weights."""
    folder = tmp_path / "run"
    vivid_model.save(folder / CHECKPOINT_NAME)
    vivid_model.save(folder / SELECTED_NAME)
    return folder


def _last_error(capsys) -> str:
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_name_by_hand_and_use_the_names(run, tmp_path, capsys):
    assert main(["name", str(run), "--names", f"c1={DIGITS}", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert f"names stored in {run / CHECKPOINT_NAME}" in out and "c1: 0=zero, 1=one" in out
    assert checkpoint.read_metadata(run / CHECKPOINT_NAME)["names"]["c1"][7] == "seven"
    assert "names" not in checkpoint.read_metadata(run / SELECTED_NAME)  # only the file named

    by_name, by_index = tmp_path / "a.png", tmp_path / "b.png"
    assert main(["sample", str(run), "--code", "c1=seven", "-n", "4", "--out", str(by_name)]) == 0
    assert main(["sample", str(run), "--code", "c1=7", "-n", "4", "--out", str(by_index)]) == 0
    assert by_name.read_bytes() == by_index.read_bytes()

    Image.fromarray(np.full((28, 28), 200, np.uint8)).save(tmp_path / "digit.png")
    capsys.readouterr()
    assert main(["encode", str(run), str(tmp_path / "digit.png")]) == 0
    row = next(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["c1_name"] == DIGITS.split(",")[int(row["c1"])]

    assert main(["traverse", str(run), "--code", "c2", "--steps", "3", "--out", str(tmp_path / "t")]) == 0
    figure = Image.open(tmp_path / "t" / "traverse_c2.png")
    assert figure.height == 10 * 30 + 2 and figure.width > 3 * 30 + 2  # a margin with the rows' names


def test_name_the_selected_weights_and_clear(run, capsys):
    selected = run / SELECTED_NAME
    assert main(["name", str(selected), "--names", "c1=,,,,,,,seven,,", "--device", "cpu"]) == 0
    assert checkpoint.read_metadata(selected)["names"] == {"c1": [None] * 7 + ["seven", None, None]}
    assert "model_config" in checkpoint.read_metadata(selected)
    assert main(["name", str(selected), "--clear", "c1"]) == 0
    assert "names" not in checkpoint.read_metadata(selected)
    assert "c1: 0=0, 1=1" in capsys.readouterr().out


def test_name_from_examples(run, vivid_model, tmp_path, capsys):
    examples = tmp_path / "examples"
    for name, k in (("zero", 0), ("seven", 7), ("nine", 9)):
        (examples / name).mkdir(parents=True)
        for i, image in enumerate(vivid_model.generate(3, codes={"c1": k}, seed=k)):
            Image.fromarray((image[0].numpy() * 255).astype(np.uint8)).save(examples / name / f"{i}.png")
    (examples / "nine" / "broken.png").write_bytes(b"oops")
    assert main(["name", str(run), "--examples", str(examples), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert "skipped 1 unreadable example file(s)" in captured.err
    expected = InfoGAN.load(run, device="cpu")
    expected.names = {}
    match = expected.name_from_examples(examples)
    stored = checkpoint.read_metadata(run / CHECKPOINT_NAME)["names"]["c1"]
    assert {stored.index(name): name for name in ("zero", "seven", "nine")} == {
        k: name for name, k in match.classes.items()
    }
    assert f"c1 class {match.classes['seven']} = seven: Q puts" in captured.out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--names", "c1=" + ",".join("0123456789")], "a class name must be a word"),
        (["--names", "c1=a,b"], "c1 has 10 classes"),
        (["--names", "c2=a"], "c2 is continuous"),
        (["--names", "zero"], "expected CODE=NAME"),
        (["--code", "c1"], "give --examples FOLDER too"),
        (["--examples", "missing-folder"], "no such folder"),
    ],
)
def test_name_errors_are_one_line(run, argv, message, capsys):
    assert main(["name", str(run), *argv]) == 2
    assert message in _last_error(capsys)


def test_calibrate_then_ask_and_read_in_units(run, tmp_path, capsys):
    argv = ["calibrate", str(run), "--steps", "5", "--draws", "4", "--use", "c2=slant", "--use", "c3=thickness"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "slant_deg" in out and "thickness_px" in out and "c2 -> slant:" in out
    stored = checkpoint.read_metadata(run / CHECKPOINT_NAME)["calibration"]
    assert stored["c2"]["property"] == "slant" and stored["c3"]["property"] == "thickness"
    report = json.loads((run / "calibration.json").read_text())
    assert report["grid"] == [-2.0, -1.0, 0.0, 1.0, 2.0] and set(report["correlation"]) == {"c2", "c3"}

    low, high = min(stored["c2"]["value"]), max(stored["c2"]["value"])
    middle = (low + high) / 2
    out_png = tmp_path / "slanted.png"
    assert main(["sample", str(run), "--set", f"slant={middle}", "-n", "2", "--out", str(out_png)]) == 0
    assert out_png.is_file()
    assert main(["sample", str(run), "--set", f"slant={high + 100}", "-n", "2"]) == 2
    assert f"is out of reach: c2 spans {low:.4g}..{high:.4g} deg" in _last_error(capsys)

    Image.fromarray(np.full((28, 28), 200, np.uint8)).save(tmp_path / "digit.png")
    assert main(["encode", str(run), str(tmp_path / "digit.png"), "--format", "json"]) == 0
    reading = json.loads(capsys.readouterr().out)[0]
    assert low <= reading["slant_deg"] <= high and "thickness_px" in reading


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sample", "--set", "slant=20"], "no code of this model is calibrated in 'slant'"),
        (["sample", "--set", "slant"], "expected PROPERTY=NUMBER"),
        (["sample", "--code", "c1=ten"], "c1 has no class named 'ten'"),
        (["sample", "--code", "c2=wide"], "c2 is continuous: give a number"),
        (["calibrate", "--use", "c2=hue"], "hue does not apply to these images"),
        (["calibrate", "--use", "c1=slant"], "only continuous codes take units"),
        (["calibrate", "--properties", "curl"], "unknown property 'curl'"),
        (["calibrate", "--steps", "2"], "at least 3 steps"),
    ],
)
def test_unit_errors_are_one_line(run, argv, message, capsys):
    assert main([argv[0], str(run), *argv[1:]]) == 2
    assert message in _last_error(capsys)
