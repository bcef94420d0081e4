import csv
import io
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from infogan import InfoGAN
from infogan.checkpoint import read_metadata
from infogan.cli import main
from infogan.config import DEFAULT_PRESET, PRESETS


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
    width, height = Image.open(tmp_path / "t" / "traverse_c2.png").size
    assert height == 10 * 30 + 2 and width > 5 * 30 + 2  # with a margin for the rows' labels


def test_another_checkpoint_files_outputs_do_not_overwrite_the_runs(run_dir, tmp_path):
    shutil.copy(run_dir / "checkpoint.safetensors", tmp_path / "checkpoint.safetensors")
    shutil.copy(run_dir / "checkpoint.safetensors", tmp_path / "selected.safetensors")
    assert main(["sample", str(tmp_path / "selected.safetensors"), "--num", "4", "--device", "cpu"]) == 0
    assert (tmp_path / "selected_samples.png").is_file() and not (tmp_path / "samples.png").exists()
    assert main(["sample", str(tmp_path / "checkpoint.safetensors"), "--num", "4", "--device", "cpu"]) == 0
    assert (tmp_path / "samples.png").is_file()


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
    argv = ["evaluate", str(run_dir), "--data-root", str(mnist_root), "--samples", "256", "--quality-samples", "300"]
    assert main([*argv, "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["images"] == 10000
    assert 0 <= report["c1"]["accuracy"] <= 1 and len(report["c1"]["confusion"]) == 10
    assert set(report["mutual_information"]) == {"c1", "c2", "c3"}
    assert report["quality"]["feature_net"] == "mnist-v1" and report["quality"]["samples"] == 300
    assert report["quality"]["fid"] > 0 and "kid" in report["quality"]
    drawn = report["generated"]["c1"]
    assert drawn["samples_per_class"] == 1000 and np.sum(drawn["confusion"]) == 10 * 1000
    assert json.loads(capsys.readouterr().out) == report


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sample", "{run}", "--code", "c7=1"], "unknown code"),
        (["sample", "{run}", "--code", "c1=12"], "0..9"),
        (["sample", "{run}", "--code", "c2"], "NAME=VALUE"),
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
        # odd inputs that ended in "internal error: ..." (issue 15)
        (["train", "--epochs", "nan", "--out", "{missing}/r"], "expected a finite number, got 'nan'"),
        (["train", "--seed", "99999999999999999999", "--out", "{missing}/r"], "0..4294967295"),
        (["sample", "{run}", "--code", "c2=1e308"], "c2 must be a finite number within ±1000"),
        (["sample", "{run}", "-n", "1000000000"], "1..1024"),
        (["sample", "{run}", "--seed", "-1"], "0..4294967295"),
        (["sample", "{run}", "--out", "{tmp}/a.txt"], "give a file name ending in .png"),
        (["sample", "{run}", "--out", "{tmp}/noext"], "give a file name ending in .png"),
        (["sample", "{run}", "--out", "{tmp}"], "is a folder"),
        (["train", "--workers", "-1", "--data-mode", "stream", "--out", "{missing}/r"], "0..1024"),
        (["train", "--device", "meta", "--out", "{missing}/r"], "unknown device 'meta'"),
        (["traverse", "{run}", "--code", "c2", "--span", "nan", "nan"], "expected a finite number"),
        (["traverse", "{run}", "--code", "c2", "--span", "-1e300", "2"], "within ±1000"),
        # conflicts that let one flag win silently
        (["train", "--resume", "{run}", "--preset", "svhn"], "was trained with other settings (batch_size: run has 16"),
        (["train", "--epochs", "1", "--steps", "3", "--out", "{missing}/r"], "--steps or as --epochs, not both"),
        (["sample", "{run}", "--code", "c1=1", "--code", "c1=2"], "--code c1 was given 2 times"),
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
    assert main([a.format(**paths, tmp=tmp_path) for a in argv]) != 0
    assert message in _error_line(capsys)


@pytest.mark.parametrize(
    "flag",
    [
        ["--lr-d", "nan"],
        ["--lr-g", "inf"],
        ["--lr-g", "nan"],
        ["--consistency", "inf"],
        ["--lambda-cat", "nan"],
        ["--instance-noise", "nan"],
        ["--cr-weight", "nan"],
    ],
)
def test_non_finite_settings_are_refused_before_training(flag, tmp_path, capsys):
    assert main(["train", *flag, "--steps", "1", "--out", str(tmp_path / "r"), "--device", "cpu"]) == 2
    assert "finite" in _error_line(capsys)
    assert not (tmp_path / "r").exists()


def test_a_span_in_scientific_notation_is_read_as_numbers(run_dir, tmp_path):
    out = tmp_path / "t"
    assert (
        main(["traverse", str(run_dir), "--code", "c2", "--span", "-2e0", "2", "--steps", "3", "--out", str(out)]) == 0
    )
    assert (out / "traverse_c2.png").is_file()


def _copy_run(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("tensorboard", "samples"))
    return copy


def test_a_torn_last_metrics_line_does_not_block_a_resume(run_dir, mnist_root, tmp_path, capsys):
    run = _copy_run(run_dir, tmp_path)
    with (run / "metrics.jsonl").open("a") as metrics:
        metrics.write('{"step": 13, "time": 17')  # what a full disk or a kill mid-line leaves
    (run / "selected.safetensors").write_bytes(b"torn too")  # optional: ignored, with one warning line
    step = read_metadata(run / "checkpoint.safetensors")["step"]
    # --preset with --resume is checked against the run like any other option: this one matches it
    argv = ["train", "--resume", str(run), "--preset", DEFAULT_PRESET, "--batch-size", "16", "--steps", str(step + 1)]
    argv += ["--data-root", str(mnist_root)]
    assert main([*argv, "--no-progress", "--device", "cpu", "--eval-every", "0", "--log-every", "1"]) == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss/D" in r][-1] == step + 1
    warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(warned) == 1 and warned[0].startswith(f"infogan: warning: ignoring {run / 'selected.safetensors'}")


def test_a_resume_keeps_the_names_and_units_and_warns_once(run_dir, mnist_root, tmp_path, capsys):
    run = _copy_run(run_dir, tmp_path)
    step = read_metadata(run / "checkpoint.safetensors")["step"]
    assert main(["name", str(run), "--names", "c1=zero,one,,,,,,,,", "--device", "cpu"]) == 0
    calibrate = ["calibrate", str(run), "--steps", "3", "--draws", "2", "--use", "c2=slant", "--device", "cpu"]
    assert main([*calibrate, "--out", str(tmp_path / "calibration.json")]) == 0
    capsys.readouterr()
    base = ["--data-root", str(mnist_root), "--no-progress", "--device", "cpu", "--eval-every", "0"]
    assert main(["train", "--resume", str(run), "--steps", str(step + 2), *base]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warned == [
        f"infogan: warning: the class names and units were set at step {step} and may no longer fit once G "
        "trains further; they are kept in this run's new checkpoints: check them after training "
        "(infogan name, infogan calibrate)"
    ]
    assert main(["train", "--resume", str(run), "--steps", str(step + 3), *base]) == 0
    meta = read_metadata(run / "checkpoint.safetensors")
    assert meta["step"] == step + 3 and meta["annotated_at"] == {"names": step, "calibration": step}
    model = InfoGAN.load(run, device="cpu")
    assert model.names["c1"][:3] == ["zero", "one", None] and model.calibration["c2"].property == "slant"


def test_a_config_json_claiming_other_sizes_is_refused_before_a_model_is_built(run_dir, tmp_path, capsys, monkeypatch):
    run = _copy_run(run_dir, tmp_path)
    config = json.loads((run / "config.json").read_text())
    config["model"]["latent"]["noise_dim"] = 1_000_000
    (run / "config.json").write_text(json.dumps(config))

    def build(*args, **kwargs):
        raise AssertionError("a trainer was built at config.json's sizes before they were checked")

    monkeypatch.setattr("infogan.training.Trainer.__init__", build)
    assert main(["train", "--resume", str(run), "--steps", "100", "--device", "cpu"]) == 2
    assert "model.latent.noise_dim: run has 62, asked for 1000000" in _error_line(capsys)


_FULL_DISK = """
import resource, signal, sys
from infogan.cli import main
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
sys.exit(main(sys.argv[1:]))
"""


def test_a_write_failing_mid_training_is_the_documented_line(mnist_root, tmp_path):
    # A 1 MB file-size limit fails the checkpoint's write() the way a full disk does (EFBIG for ENOSPC),
    # for real: no monkeypatching between training and the kernel.
    run = tmp_path / "run"
    argv = ["train", "--steps", "2", "--batch-size", "8", "--out", str(run), "--data-root", str(mnist_root)]
    argv += ["--eval-every", "0", "--no-progress", "--device", "cpu", "--precision", "fp32"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", _FULL_DISK, *argv], env=env, capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"infogan: error: could not write {run / 'checkpoint.safetensors'}: File too large\n"
    assert not [p.name for p in run.iterdir() if p.name.endswith(".tmp")]


def test_presets_lists_mnist(capsys):
    assert main(["presets"]) == 0
    assert capsys.readouterr().out.startswith("mnist:")


# ----- an image folder, end to end ---------------------------------------------------------------
@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """Two classes of 16 PNGs (dark and light), one corrupt file and one empty file."""
    root = tmp_path_factory.mktemp("pngs") / "digits"
    rng = np.random.default_rng(0)
    for label, (low, high) in enumerate([(0, 100), (150, 256)]):
        (root / str(label)).mkdir(parents=True)
        for i in range(16):
            Image.fromarray(rng.integers(low, high, (28, 28), dtype=np.uint8)).save(root / str(label) / f"{i}.png")
    (root / "1" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    (root / "0" / "empty.png").write_bytes(b"")
    return root


@pytest.fixture(scope="module")
def folder_run(folder, tmp_path_factory):
    run = tmp_path_factory.mktemp("folder") / "run"
    argv = ["train", "--preset", "mnist", "--data", str(folder), "--steps", "3", "--batch-size", "8"]
    argv += ["--out", str(run), "--eval-every", "3", "--log-every", "1", "--no-progress", "--device", "cpu"]
    assert main(argv) == 0
    return run


def test_folder_run_trains_resumes_traverses_encodes_and_evaluates(folder, folder_run, tmp_path, capsys):
    config = json.loads((folder_run / "config.json").read_text())
    assert config["dataset"] == "folder" and config["data_path"] == str(folder.resolve())
    records = [json.loads(line) for line in (folder_run / "metrics.jsonl").read_text().splitlines()]
    assert any("eval/c1_accuracy" in r for r in records)  # class subfolders are labels
    capsys.readouterr()
    # the folder comes from the run; the batches arrive through a DataLoader this time
    resume = ["train", "--resume", str(folder_run), "--steps", "4", "--data-mode", "stream", "--workers", "0"]
    assert main([*resume, "--no-progress", "--device", "cpu"]) == 0
    out, err = capsys.readouterr()
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["step"] == 4 and summary["data_mode"] == "stream"
    assert summary["images"] == 32 and summary["skipped_images"] == 2
    assert "skipped 2 unreadable image file(s) of 34" in err
    assert main(["traverse", str(folder_run), "--all", "--steps", "3", "--out", str(tmp_path / "t")]) == 0
    assert len(list((tmp_path / "t").glob("traverse_c*.png"))) == 3
    capsys.readouterr()
    encode_folder = ["encode", str(folder_run), str(folder / "0"), "--format", "json", "--device", "cpu"]
    assert main(encode_folder) == 0  # the empty file found in the folder is skipped and counted
    out, err = capsys.readouterr()
    assert len(json.loads(out)) == 16 and "skipped 1 unreadable image file(s) of 17" in err
    assert main([*encode_folder, "--strict-images"]) != 0
    assert "cannot read image" in _error_line(capsys)
    assert main(["encode", str(folder_run), str(folder / "0" / "empty.png")]) != 0  # named outright: an error
    assert "cannot read image" in _error_line(capsys)
    assert main(["encode", str(folder_run), str(folder / "1" / "0.png"), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["image"].endswith("0.png")
    report = tmp_path / "eval.json"
    assert main(["evaluate", str(folder_run), "--samples", "64", "--out", str(report), "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    assert "sample quality skipped: no feature net for folder" in err and "generated classes skipped" in err
    evaluation = json.loads(report.read_text())
    assert evaluation["generated"]["skipped"].startswith("no feature net for folder")
    assert evaluation["quality"]["skipped"].startswith("no feature net for folder 1×28×28 images")
    assert evaluation["dataset"] == str(folder.resolve()) and evaluation["images"] == 32
    assert evaluation["skipped_images"] == 2 and len(evaluation["c1"]["confusion"]) == 2  # labels × classes


def test_folder_runs_on_other_networks_and_sizes(folder, tmp_path, capsys):
    for extra in (["--preset", "svhn"], ["--arch", "dcgan", "--image-size", "32", "--channels", "1"]):
        argv = ["train", *extra, "--data", str(folder), "--steps", "1", "--batch-size", "4", "--eval-every", "0"]
        assert main([*argv, "--out", str(tmp_path / extra[1]), "--no-progress", "--device", "cpu"]) == 0
    assert InfoGAN.load(tmp_path / "svhn", device="cpu").image_shape == (3, 32, 32)
    assert InfoGAN.load(tmp_path / "dcgan", device="cpu").image_shape == (1, 32, 32)


@pytest.mark.parametrize(
    ("precision", "said"),
    [
        ([], "infogan: precision fp32 (auto: this CPU has no native bfloat16"),
        (["--precision", "bf16"], "infogan: warning: precision bf16 as asked, but this CPU has no native bfloat16"),
    ],
)
def test_train_says_once_which_precision_it_trains_in(precision, said, folder, tmp_path, capsys, monkeypatch):
    from infogan import hardware

    monkeypatch.setattr(hardware, "cpu_info", lambda: hardware.CPUInfo("AMD EPYC", frozenset({"avx2"}), "x86_64"))
    argv = ["train", "--data", str(folder), "--steps", "1", "--batch-size", "4", "--eval-every", "0", *precision]
    assert main([*argv, "--out", str(tmp_path / "run"), "--no-progress", "--device", "cpu"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "precision" in line]
    assert len(lines) == 1 and lines[0].startswith(said), lines


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--data", "{folder}", "--strict-images"], "cannot read image"),
        (["--preset", "chairs"], "--data FOLDER"),
        (["--data", "{missing}"], "no such folder"),
        (["--preset", "svhn", "--image-size", "64"], "--arch dcgan"),
    ],
)
def test_bad_data_options_give_one_line(argv, message, folder, tmp_path, capsys):
    paths = {"folder": folder, "missing": tmp_path / "missing"}
    base = ["train", "--steps", "1", "--out", str(tmp_path / "r"), "--no-progress", "--device", "cpu"]
    assert main([*base, *(a.format(**paths) for a in argv)]) == 2
    assert message in _error_line(capsys)


def test_presets_and_train_help_list_every_preset(capsys):
    assert main(["presets"]) == 0
    listing = capsys.readouterr().out
    for name in PRESETS:
        assert f"\n{name}: " in f"\n{listing}" and f"infogan train --preset {name}" in listing
    assert "2)" in listing  # svhn states the text's other count of continuous codes
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = capsys.readouterr().out
    assert all(f"--preset {name}" in help_text for name in PRESETS)


# ----- dSprites: the preset with CR, traversals and the disentanglement metrics ------------------
@pytest.fixture(scope="module")
def tiny_dsprites():
    """DSprites.load answers with a tiny factor grid (1,536 sprites) instead of rendering 737,280."""
    from infogan.data.dsprites import DSprites

    tiny = DSprites.generate((3, 2, 4, 8, 8))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DSprites, "load", classmethod(lambda cls, cache_dir=None, **kwargs: tiny))
        yield tiny


@pytest.fixture(scope="module")
def sprites_run(tiny_dsprites, tmp_path_factory):
    run = tmp_path_factory.mktemp("sprites") / "run"
    argv = ["train", "--preset", "dsprites", "--steps", "3", "--batch-size", "8", "--cr-weight", "2"]
    argv += ["--cr-start", "1", "--cr-gap", "0.1", "--out", str(run), "--no-progress", "--device", "cpu"]
    assert main(argv) == 0
    return run


def test_dsprites_preset_trains_with_cr_and_traverses(sprites_run, tmp_path, capsys):
    config = json.loads((sprites_run / "config.json").read_text())
    assert (config["dataset"], config["cr_weight"], config["cr_start"], config["cr_gap"]) == ("dsprites", 2.0, 1, 0.1)
    records = [json.loads(line) for line in (sprites_run / "metrics.jsonl").read_text().splitlines()]
    assert any("loss/cr" in r for r in records)
    assert Image.open(sprites_run / "samples" / "step_0000003.png").size == (10 * 66 + 2, 5 * 66 + 2)  # 5 codes
    assert main(["traverse", str(sprites_run), "--all", "--steps", "3", "--out", str(tmp_path / "t")]) == 0
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == [f"traverse_c{i}.png" for i in range(1, 6)]
    model = InfoGAN.load(sprites_run, device="cpu")
    assert model.spec.categorical == () and model.image_shape == (1, 64, 64)


def test_evaluate_disentanglement_prints_and_saves_the_five_metrics(sprites_run, tmp_path, capsys):
    out = tmp_path / "eval.json"
    argv = ["evaluate", str(sprites_run), "--metrics", "disentanglement", "--num-train", "60", "--num-eval", "30"]
    assert main([*argv, "--group-size", "4", "--seed", "3", "--out", str(out), "--device", "cpu"]) == 0
    report = json.loads(out.read_text())
    assert json.loads(capsys.readouterr().out) == report and report["dataset"] == "dsprites"
    scores = report["disentanglement"]["scores"]
    families = {name.split("/")[0] for name in scores}
    assert families == {"beta_vae", "factor_vae", "mig", "dci", "sap"}
    assert {"dci/completeness", "dci/informativeness_test"} <= set(scores)
    assert all(math.isfinite(v) for v in scores.values())
    assert report["disentanglement"]["settings"] == {"seed": 3, "num_train": 60, "num_eval": 30, "batch_size": 4}
    assert "split" not in report and "mutual_information" not in report  # codes only when asked


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{mnist}", "--metrics", "disentanglement"], "1×64×64"),
        (["{sprites}", "--metrics", "disentanglement", "--dataset", "mnist"], "no generative factors"),
        (["{sprites}", "--metrics", "accuracy"], "expected one or more of codes,quality,generated,disentanglement"),
        (["{mnist}", "--quality-samples", "1"], "--quality-samples: expected at least 2"),
    ],
)
def test_evaluate_disentanglement_refuses_in_one_line(argv, message, run_dir, sprites_run, capsys):
    paths = {"mnist": run_dir, "sprites": sprites_run}
    assert main(["evaluate", *(a.format(**paths) for a in argv), "--device", "cpu"]) == 2
    assert message in _error_line(capsys)


def test_paper_objective_turns_every_remedy_off(tmp_path):
    from infogan.cli import _requested_config, build_parser
    from infogan.config import PAPER_OBJECTIVE, preset

    args = build_parser().parse_args(["train", "--paper-objective", "--out", str(tmp_path)])
    config = _requested_config(args, preset("mnist"))
    assert {key: getattr(config, key) for key in PAPER_OBJECTIVE} == PAPER_OBJECTIVE
    assert preset("mnist").consistency > 0  # the default has some on
    args = build_parser().parse_args(["train", "--paper-objective", "--iic", "2", "--out", str(tmp_path)])
    assert _requested_config(args, preset("mnist")).iic == 2.0  # an explicit option still wins


def test_info_shows_the_machine_and_estimates_a_run_from_a_measured_rate(capsys, monkeypatch):
    from infogan import cli, throughput

    for name, value in {"WARMUP_STEPS": 0, "MIN_TIMED_STEPS": 1, "ENCODE_IMAGES": 16}.items():
        monkeypatch.setattr(throughput, name, value)
    monkeypatch.setattr(cli, "preset", lambda name: PRESETS[name].replace(batch_size=4))
    assert main(["info", "--json", "--seconds", "0", "--device", "cpu"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["device"] == "cpu" and set(report["cpu_flags"]) >= {"avx2", "avx512_bf16", "amx_bf16"}
    assert report["precision"]["requested"] == "auto" and report["precision"]["precision"] in ("fp32", "bf16")
    train, estimate = report["training"], report["estimate"]
    assert (train["preset"], train["batch_size"], train["steps"]) == (DEFAULT_PRESET, 4, 1)
    default = PRESETS[DEFAULT_PRESET]
    steps, evaluations = default.steps, default.steps // default.eval_every
    assert estimate["train_s"] == pytest.approx(steps * 4 / train["images_per_s"])
    # each evaluation reads 5,000 training and 10,000 test images; make mnist's own evaluation 20,000
    assert estimate["evaluated_images"] == evaluations * (5000 + 10_000) + 20_000
    assert estimate["total_s"] == pytest.approx(estimate["train_s"] + estimate["evaluation_s"])
    assert main(["info", "--seconds", "0", "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "make mnist  about" in text and f"{default.steps:,} steps × 4 images" in text and "threads" in text


def test_info_times_the_precision_asked(capsys, monkeypatch):
    from infogan import cli, throughput

    for name, value in {"WARMUP_STEPS": 0, "MIN_TIMED_STEPS": 1, "ENCODE_IMAGES": 16}.items():
        monkeypatch.setattr(throughput, name, value)
    monkeypatch.setattr(cli, "preset", lambda name: PRESETS[name].replace(batch_size=4))
    for asked in ("fp32", "bf16"):
        assert main(["info", "--json", "--seconds", "0", "--device", "cpu", "--precision", asked]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["precision"]["requested"] == asked
        assert report["precision"]["precision"] == report["training"]["precision"] == asked
