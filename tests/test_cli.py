import csv
import io
import json

import numpy as np
import pytest
from PIL import Image

from infogan import InfoGAN
from infogan.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, mnist_root):
    run = tmp_path_factory.mktemp("cli") / "run"
    code = main(
        [
            "train",
            "--steps",
            "3",
            "--batch-size",
            "16",
            "--out",
            str(run),
            "--data-root",
            str(mnist_root),
            "--eval-every",
            "0",
            "--log-every",
            "1",
            "--no-progress",
            "--device",
            "cpu",
        ]
    )
    assert code == 0
    return run


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("infogan: error:"), err
    return err[0]


def test_train_writes_a_run(run_dir, capsys):
    assert (run_dir / "checkpoint.safetensors").is_file()
    assert json.loads((run_dir / "config.json").read_text())["batch_size"] == 16
    assert InfoGAN.load(run_dir, device="cpu").spec.categorical == (10,)


def test_train_refuses_to_overwrite_and_resumes(run_dir, mnist_root, capsys):
    base = ["--data-root", str(mnist_root), "--no-progress", "--device", "cpu", "--eval-every", "0"]
    assert main(["train", "--out", str(run_dir), *base]) == 2
    assert "already holds a run" in _error_line(capsys)
    assert main(["train", "--resume", str(run_dir), "--lr-d", "0.1", *base]) == 2
    assert "lr_d" in _error_line(capsys)
    assert main(["train", "--resume", str(run_dir), "--steps", "4", *base]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["step"] == 4


def test_sample_and_traverse(run_dir, tmp_path):
    out = tmp_path / "grid.png"
    assert (
        main(
            [
                "sample",
                str(run_dir),
                "--code",
                "c1=3",
                "--code",
                "c2=0.5",
                "-n",
                "12",
                "--columns",
                "4",
                "--out",
                str(out),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    assert Image.open(out).size == (4 * 30 + 2, 3 * 30 + 2)
    assert main(["traverse", str(run_dir), "--all", "--out", str(tmp_path / "t"), "--steps", "5"]) == 0
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == [
        "traverse_c1.png",
        "traverse_c2.png",
        "traverse_c3.png",
    ]
    assert Image.open(tmp_path / "t" / "traverse_c2.png").size == (5 * 30 + 2, 10 * 30 + 2)


def test_encode_files_and_dataset(run_dir, tmp_path, mnist_root, capsys):
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(tmp_path / "a.png")
    assert main(["encode", str(run_dir), str(tmp_path / "a.png"), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["image"].endswith("a.png") and 0 <= rows[0]["c1"] < 10
    out = tmp_path / "codes.csv"
    assert (
        main(
            [
                "encode",
                str(run_dir),
                "--dataset",
                "mnist",
                "--split",
                "test",
                "--limit",
                "5",
                "--data-root",
                str(mnist_root),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    table = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(table) == 5 and table[0]["label"] == "7" and "c1_p0" in table[0]


def test_evaluate(run_dir, tmp_path, mnist_root, capsys):
    out = tmp_path / "eval.json"
    assert main(["evaluate", str(run_dir), "--data-root", str(mnist_root), "--samples", "256", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["images"] == 10000
    assert 0 <= report["c1"]["accuracy"] <= 1 and len(report["c1"]["confusion"]) == 10
    assert set(report["mutual_information"]) == {"c1", "c2", "c3"}
    assert json.loads(capsys.readouterr().out) == report


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sample", "{run}", "--code", "c7=1"], "unknown code"),
        (["sample", "{run}", "--code", "c1=12"], "0..9"),
        (["sample", "{run}", "--code", "c2"], "NAME=NUMBER"),
        (["sample", "{missing}"], "no checkpoint"),
        (["sample", "{corrupt}"], "corrupt"),
        (["encode", "{run}", "{badimage}"], "cannot read image"),
        (["encode", "{run}"], "not both"),
        (["traverse", "{run}", "--code", "c9"], "unknown code"),
        (["train", "--steps", "0"], "positive integer"),
        (["train", "--preset", "cifar"], "unknown preset"),
        (["train", "--data-root", "{missing}", "--steps", "1", "--out", "{missing}/r"], "MNIST/raw"),
        (["train", "--device", "cuda:7", "--out", "{missing}/r"], "CUDA"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_gives_one_line_and_nonzero_exit(argv, message, run_dir, tmp_path, capsys, monkeypatch):
    import torchvision.datasets.mnist as tv

    monkeypatch.setattr(tv.MNIST, "download", lambda self: (_ for _ in ()).throw(RuntimeError("offline")))
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes((run_dir / "checkpoint.safetensors").read_bytes()[:5000])
    (tmp_path / "bad.png").write_text("not a png")
    paths = {"run": run_dir, "missing": tmp_path / "missing", "corrupt": corrupt, "badimage": tmp_path / "bad.png"}
    assert main([a.format(**paths) for a in argv]) != 0
    assert message in _error_line(capsys)


def test_presets_lists_mnist(capsys):
    assert main(["presets"]) == 0
    assert capsys.readouterr().out.startswith("mnist:")
