"""The benchmark and profile scripts: tiny real runs that print and write what docs/speed.md reports."""

import json
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def scripts(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import bench
    import profile_step

    return bench, profile_step


def _event(name, parent=None):
    return SimpleNamespace(name=name, cpu_parent=parent)


def test_ops_are_grouped_by_kind_and_optimizer_steps_claim_their_ops(scripts):
    _, profile_step = scripts
    step = _event("Optimizer.step#Adam.step")
    assert profile_step.kind_of(_event("aten::_fused_adam_", _event("aten::something", step))) == "optimizer"
    assert profile_step.kind_of(_event("aten::convolution_backward")) == "convolution"
    assert profile_step.kind_of(_event("aten::addmm")) == "matmul"
    assert profile_step.kind_of(_event("aten::native_batch_norm_backward")) == "batch norm"
    assert profile_step.kind_of(_event("aten::leaky_relu")) == "other ops"


def test_bench_and_profile_run_and_write_their_tables(scripts, tmp_path, monkeypatch, capsys):
    bench, profile_step = scripts
    tiny = ["--batches", "8", "--warmup", "1", "--steps", "1", "--matmul-size", "64"]
    bench_args = [*tiny, "--settings", "fp32", "--windows", "1", "--inference-batch", "16"]
    bench_args += ["--out", str(tmp_path / "bench.json")]
    monkeypatch.setattr(sys, "argv", ["bench.py", *bench_args])
    bench.main()
    result = json.loads((tmp_path / "bench.json").read_text())
    assert result["ceilings"]["size"] == 64 and result["inference"]["batch"] == 16
    rows = result["training"]
    assert [r["setting"] for r in rows] == ["reference", "fp32"]
    assert all(r["images_per_s"] > 0 and r["flops_per_image"] > 1e6 for r in rows)

    out = tmp_path / "profile.json"
    monkeypatch.setattr(sys, "argv", ["profile_step.py", *tiny, "--settings", "reference", "fp32", "--out", str(out)])
    profile_step.main()
    rows = json.loads(out.read_text())["rows"]
    assert [r["setting"] for r in rows] == ["reference", "fp32"]
    for row in rows:
        spent = row["seconds_per_step"]
        assert spent["convolution"] > 0 and spent["optimizer"] > 0
        assert sum(spent.values()) == pytest.approx(row["step_s"], rel=0.1)
    assert "conv+mm GFLOP/s" in capsys.readouterr().out


def test_without_native_bf16_its_ceiling_is_a_tiny_product_and_bf16_rows_are_left_out(scripts, monkeypatch, capsys):
    bench, _ = scripts
    monkeypatch.setattr(bench, "native_bf16", lambda device: (False, "no native bfloat16 here"))
    products = []
    monkeypatch.setattr(bench, "matmul_gflops", lambda dtype, size: products.append((dtype, size)) or 1.0)
    ceilings = bench.matmul_ceilings(2048)
    assert products == [(torch.float32, 2048), (torch.bfloat16, bench.EMULATED_BF16_SIZE)]
    assert f"not native, {bench.EMULATED_BF16_SIZE}² product only" in bench.ceilings_line(ceilings)
    kept = bench.default_settings(bench.DEFAULT_SETTINGS, ceilings)
    assert kept == ["fp32", "fp32+channels_last", "fp32+consistency", "fp32+iic"]
    assert "bf16 settings left out (no native bfloat16 here)" in capsys.readouterr().out
    monkeypatch.setattr(bench, "native_bf16", lambda device: (True, "native"))
    assert bench.matmul_ceilings(512)["bf16_size"] == 512
    assert bench.default_settings(bench.DEFAULT_SETTINGS, bench.matmul_ceilings(512)) == bench.DEFAULT_SETTINGS


# ----- names and units ----------------------------------------------------------------------
@pytest.fixture
def annotation_scripts(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import calibration_error
    import naming_agreement

    return naming_agreement, calibration_error


def test_few_shot_agreement_has_known_answers(annotation_scripts):
    naming_agreement, _ = annotation_scripts
    import numpy as np

    labels = np.repeat([0, 1, 2], 4)
    clear = np.log(np.full((12, 3), 0.05) + 0.85 * np.eye(3)[[2, 0, 1]].repeat(4, axis=0))  # label l reads as (l+2)%3
    right, wrong = {0: 2, 1: 0, 2: 1}, {0: 0, 1: 1, 2: 2}
    row = naming_agreement.few_shot_agreement(clear, labels, right, k=2, draws=5, seed=0)
    assert row == {"k": 2, "draws": 5, "agreement": 1.0, "classes_agreeing": 1.0}
    row = naming_agreement.few_shot_agreement(clear, labels, wrong, k=1, draws=3, seed=0)
    assert row["agreement"] == 0.0 and row["classes_agreeing"] == 0.0
    half = clear.copy()
    half[[4, 5]] = clear[[0, 1]]  # two of label 1's four examples read as label 0's class
    rows = [naming_agreement.few_shot_agreement(half, labels, right, k=4, draws=1, seed=s) for s in range(3)]
    assert all(r["agreement"] == 1.0 for r in rows)  # with all four, the match still sorts it out


def test_naming_agreement_runs_on_a_run_dir(annotation_scripts, vivid_model, mnist_root, tmp_path, monkeypatch):
    naming_agreement, _ = annotation_scripts
    vivid_model.save(tmp_path / "run" / "checkpoint.safetensors")
    out = tmp_path / "agreement.json"
    argv = ["--data-root", str(mnist_root), "--k", "1", "3", "--draws", "4", "--pool", "500", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", ["naming_agreement.py", str(tmp_path / "run"), *argv])
    naming_agreement.main()
    (result,) = json.loads(out.read_text())["results"]
    assert sorted(result["reference"].values()) == sorted(set(result["reference"].values()))  # one class per digit
    assert [r["k"] for r in result["rows"]] == [1, 3]
    assert all(0.0 <= r["agreement"] <= r["classes_agreeing"] <= 1.0 and r["draws"] == 4 for r in result["rows"])


def test_calibration_error_is_small_on_a_model_that_draws_known_slants(annotation_scripts):
    _, calibration_error = annotation_scripts
    from drawn_shapes import BarModel

    from infogan import ModelConfig

    model = BarModel(ModelConfig())
    model.calibrate(draws=8, candidates=["slant", "thickness"])
    slant = calibration_error.request_errors(model, model.calibration["c2"], [-40.0, -20.0, 0.0, 25.0], images=8)
    assert slant["unreachable"] == [-40.0] and slant["reach"] == pytest.approx([-30.0, 30.0], abs=0.3)
    assert slant["median_abs_error"] < 0.3 and slant["image_median_abs_error"] < 0.3
    assert [r["requested"] for r in slant["requests"]] == [-20.0, 0.0, 25.0]


def test_calibration_error_runs_on_a_run_dir(annotation_scripts, vivid_model, tmp_path, monkeypatch):
    _, calibration_error = annotation_scripts
    vivid_model.save(tmp_path / "run" / "checkpoint.safetensors")
    out = tmp_path / "calibration.json"
    argv = ["--draws", "4", "--steps", "3", "--images", "4", "--slant", "-5", "0", "5", "--out", str(out)]
    monkeypatch.setattr(sys, "argv", ["calibration_error.py", str(tmp_path / "run"), *argv])
    calibration_error.main()
    (result,) = json.loads(out.read_text())["results"]
    for prop in ("slant", "thickness"):
        answer = result[prop]
        assert len(answer["requests"]) + len(answer["unreachable"]) == (3 if prop == "slant" else 6)
        assert answer["reach"][0] <= answer["reach"][1]


@pytest.mark.parametrize("averaged", [True, False])
def test_average_vs_live_scores_the_two_generators_of_an_averaged_run(
    tiny_config, tiny_data, mnist_root, tmp_path, monkeypatch, averaged
):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import average_vs_live

    from infogan.training import Trainer

    monkeypatch.setenv("INFOGAN_DATA_ROOT", str(mnist_root))
    config = tiny_config.replace(g_average=0.5 if averaged else 0.0, eval_every=0)
    Trainer(config, tmp_path / "run", tiny_data, device=torch.device("cpu"), progress=False, tensorboard=False).fit()
    if not averaged:
        with pytest.raises(SystemExit, match="no live G"):
            average_vs_live.quality_of_both(tmp_path / "run", "mnist", 64)
        return
    scores = average_vs_live.quality_of_both(tmp_path / "run", "mnist", 64)
    assert set(scores) == {"average", "live"}
    assert scores["average"]["fid"] != scores["live"]["fid"]  # two generators drew the images


def test_misread_coverage_is_one_where_g_draws_the_data_and_far_where_it_draws_other_digits(
    vivid_model, mnist_root, monkeypatch
):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import misread_coverage

    from infogan.data import load_dataset

    test, train = (
        load_dataset("mnist", "test", mnist_root).subset(500, seed=1),
        load_dataset("mnist", "train", mnist_root),
    )
    reference = train.subset(200, seed=0).images
    monkeypatch.setattr(misread_coverage, "generated", lambda model, n: reference[:n])  # G draws the data itself
    same = misread_coverage.misread_coverage(vivid_model, test, train, 7, "mnist", 200)
    assert same["images"] == int((test.labels == 7).sum())
    ratios = [same[k] for k in ("read_right_median_ratio", "misread_median_ratio") if not np.isnan(same[k])]
    assert ratios and all(r == pytest.approx(1.0) for r in ratios)
    for part in ("read_right", "misread"):  # a largest probability of 10 classes lies in [0.1, 1]
        assert np.isnan(same[f"{part}_median_confidence"]) or 0.1 <= same[f"{part}_median_confidence"] <= 1.0
        assert np.isnan(same[f"{part}_sure_share"]) or 0.0 <= same[f"{part}_sure_share"] <= 1.0
    ones = train.images[train.labels == 1][:200]
    monkeypatch.setattr(misread_coverage, "generated", lambda model, n: ones[:n])  # G draws only 1s
    apart = misread_coverage.misread_coverage(vivid_model, test, train, 7, "mnist", 200)
    far = [apart[k] for k in ("read_right_far_share", "misread_far_share") if not np.isnan(apart[k])]
    assert far and all(share > 0.8 for share in far)


def test_code_edge_labels_finds_a_digit_drawn_only_beyond_the_prior(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import code_edge_labels

    def generate(n, *, codes, seed):  # class k draws k inside the prior, and 7s beyond c2 = -1
        return torch.full((n, 1, 28, 28), 7.0 if codes["c2"] < -1 else float(codes["c1"]))

    model = SimpleNamespace(spec=SimpleNamespace(code=lambda name: SimpleNamespace(num_classes=3)), generate=generate)
    net = SimpleNamespace(head=SimpleNamespace(out_features=10))
    monkeypatch.setattr(code_edge_labels, "predicted_labels", lambda net, images: images[:, 0, 0, 0].long().numpy())
    values = [-2.0, -1.75, -1.5, -1.25, 0.0, 1.0]  # 7s are the most drawn label over all six values
    shares = code_edge_labels.label_shares(model, net, "c1", "c2", values, samples=10)
    assert shares.shape == (3, 6, 10) and np.allclose(shares.sum(axis=2), 1.0)
    assert (shares[:, :4, 7] == 1.0).all() and not shares[:, 4:, 7].any()
    assert code_edge_labels.class_digits(shares, values) == [0, 1, 2]  # named inside the prior only


def test_neighbour_purity_counts_shares_of_kept_entries_and_finds_the_images_q_misreads(
    vivid_model, mnist_root, monkeypatch
):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import neighbour_purity

    from infogan.evaluation import categorical_score

    labels = torch.tensor([0, 0, 1, 1])
    table = torch.tensor([[1, 2], [0, 3], [3, 0], [2, 1]])
    kept = torch.tensor([[True, True], [True, False], [True, True], [False, False]])
    shares = neighbour_purity.purity(table, labels, [(0, 1)], kept)
    assert shares["same_label"] == pytest.approx(3 / 5)  # of (0→1, 0→2, 1→0, 2→3, 2→0), 1, 0 and 3 share a label
    assert shares["per_label"] == {0: pytest.approx(2 / 3), 1: pytest.approx(1 / 2)}
    assert shares["strays"] == {"0->1": pytest.approx(1 / 3)}
    from infogan.data import load_dataset

    data = load_dataset("mnist", "test", mnist_root).subset(300, seed=0).resident()
    read_as = neighbour_purity.labels_read(vivid_model, data)
    accuracy = categorical_score(vivid_model, data).accuracy
    assert read_as.shape == (300,) and (read_as == data.labels).float().mean().item() == pytest.approx(accuracy)
