import copy
import errno
import json
import math
import os

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from infogan import checkpoint, files
from infogan.calibration import UnitMap
from infogan.data import deskewed, mutual_neighbours, nearest_neighbours, pixel_neighbours
from infogan.errors import InfoGANError, InfoGANWarning
from infogan.evaluation import real_data_information
from infogan.model import InfoGAN
from infogan.run import CHECKPOINT_NAME, SELECTED_NAME, read_metrics
from infogan.training import Trainer, TrainingDiverged

CPU = torch.device("cpu")


def _trainer(config, tmp_path, data, **kwargs):
    return Trainer(config, tmp_path / "run", data, device=CPU, progress=False, tensorboard=False, **kwargs)


def _params_with_grad(module):
    return {id(p) for p in module.parameters() if p.grad is not None and p.grad.abs().sum() > 0}


def _ids(params):
    return {id(p) for p in params}


def _optimized(optimizer):
    return {id(p) for group in optimizer.param_groups for p in group["params"]}


def test_each_optimizer_steps_its_own_players_weights(cr_config, tiny_sprites, tmp_path):
    trainer = _trainer(cr_config, tmp_path, tiny_sprites)
    nets = trainer.nets
    assert _optimized(trainer.opt_d) == _ids(nets.discriminator_parameters()) | _ids(nets.q_parameters())
    assert _optimized(trainer.opt_g) == _ids(nets.generator.parameters())
    assert _optimized(trainer.opt_h) == _ids(trainer.pair_classifier.parameters())


def test_fit_smoke_changes_every_parameter_and_writes_files(tiny_config, tiny_data, tmp_path):
    trainer = _trainer(tiny_config, tmp_path, tiny_data, eval_data=tiny_data)
    before = {n: p.clone() for n, p in trainer.nets.named_parameters()}
    trainer.fit()
    unchanged = [n for n, p in trainer.nets.named_parameters() if torch.equal(p, before[n])]
    assert unchanged == []
    run = tmp_path / "run"
    assert (run / "checkpoint.safetensors").is_file() and (run / "config.json").is_file()
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_0000002.png", "step_0000004.png"]
    records = read_metrics(run)
    assert [r["step"] for r in records if "loss/D" in r] == [2, 4]
    assert {"loss/G", "loss/info", "mi/c1", "mi/c2", "mi/c3"} <= set(records[0])
    assert any("eval/c1_accuracy" in r for r in records)
    assert json.loads((run / "config.json").read_text())["steps"] == 4


@pytest.mark.slow
def test_training_is_deterministic_under_a_seed(tiny_config, tiny_data, tmp_path):
    runs = []
    for name in ("a", "b"):
        trainer = Trainer(tiny_config, tmp_path / name, tiny_data, device=CPU, progress=False, tensorboard=False)
        trainer.fit()
        runs.append(trainer.nets.state_dict())
    for key in runs[0]:
        assert_close(runs[0][key], runs[1][key])


@pytest.mark.slow
@pytest.mark.parametrize("data_mode", ["resident", "stream"])
def test_resume_continues_exactly(tiny_config, tiny_data, tmp_path, data_mode):
    straight = Trainer(tiny_config, tmp_path / "straight", tiny_data, device=CPU, progress=False, tensorboard=False)
    straight.fit()

    # The split run streams its data in one case: the batches, and so the weights, must not differ.
    split = {"device": CPU, "progress": False, "tensorboard": False, "data_mode": data_mode, "workers": 0}
    first = Trainer(tiny_config.replace(steps=2), tmp_path / "split", tiny_data, **split)
    first.fit()
    torch.manual_seed(999)  # a resumed process starts with other global RNG state
    second = Trainer(tiny_config, tmp_path / "split", tiny_data, **split)
    second.restore(tmp_path / "split")
    assert second.step == 2
    assert second.opt_g.param_groups[0]["lr"] == tiny_config.lr_g
    state = second.opt_d.state_dict()["state"]
    assert_close(state[0]["step"], torch.tensor(2.0))
    second.fit()
    assert second.step == 4
    for key, value in straight.nets.state_dict().items():
        assert_close(second.nets.state_dict()[key], value)
    resumed = second.opt_d.state_dict()["state"]
    for key, value in straight.opt_d.state_dict()["state"].items():
        assert_close(resumed[key]["exp_avg"], value["exp_avg"])
        assert_close(resumed[key]["exp_avg_sq"], value["exp_avg_sq"])


@pytest.mark.slow
def test_resume_refuses_other_settings(tiny_config, tiny_data, tmp_path):
    _trainer(tiny_config.replace(steps=2), tmp_path, tiny_data).fit()
    other = _trainer(tiny_config.replace(lr_g=0.01), tmp_path, tiny_data)
    with pytest.raises(InfoGANError, match="lr_g"):
        other.restore(tmp_path / "run")
    longer = _trainer(tiny_config.replace(steps=10, log_every=5), tmp_path, tiny_data)
    longer.restore(tmp_path / "run")
    assert longer.step == 2


@pytest.mark.slow
def test_nan_stops_and_keeps_last_good_checkpoint(tiny_config, tiny_data, tmp_path):
    trainer = _trainer(tiny_config.replace(steps=6), tmp_path, tiny_data)
    original_step = trainer.train_step

    def poisoned(real):
        if trainer.step >= 2:
            with torch.no_grad():
                trainer.nets.d_head.weight.fill_(float("nan"))
        return original_step(real)

    trainer.train_step = poisoned
    with pytest.raises(TrainingDiverged, match="last good checkpoint"):
        trainer.fit()
    _, meta = checkpoint.read(tmp_path / "run" / "checkpoint.safetensors")
    assert meta["step"] == 2


def test_wrong_image_shape_is_refused(tiny_config, tmp_path):
    from infogan.data import ImageDataset

    with pytest.raises(InfoGANError, match="need"):
        _trainer(tiny_config, tmp_path, ImageDataset(torch.rand(16, 3, 32, 32)))


@pytest.mark.parametrize("settings", [{"precision": "bf16"}, {"channels_last": True}])
def test_speed_settings_match_fp32_on_a_first_step(tiny_config, tiny_data, tmp_path, settings):
    reference = _trainer(tiny_config, tmp_path / "ref", tiny_data).train_step(tiny_data.images[:8])
    fast_trainer = _trainer(tiny_config.replace(**settings), tmp_path / "fast", tiny_data)
    fast = fast_trainer.train_step(tiny_data.images[:8])
    tolerance = 0.05 if settings.get("precision") == "bf16" else 1e-4
    for name in ("loss/D", "loss/G", "loss/info"):
        assert_close(fast[name], reference[name], atol=tolerance, rtol=tolerance)
    assert all(p.dtype == torch.float32 for p in fast_trainer.nets.parameters())


@pytest.mark.slow
def test_speed_settings_may_change_on_resume(tiny_config, tiny_data, tmp_path):
    _trainer(tiny_config.replace(steps=2), tmp_path, tiny_data).fit()
    resumed = _trainer(tiny_config.replace(precision="bf16", channels_last=True), tmp_path, tiny_data)
    resumed.restore(tmp_path / "run")
    resumed.fit()
    assert resumed.step == 4


@pytest.mark.slow
def test_sigterm_stops_at_a_step_boundary_with_a_checkpoint(tiny_config, tiny_data, tmp_path):
    import os
    import signal

    from infogan.training import TrainingInterrupted

    trainer = _trainer(tiny_config.replace(steps=50, checkpoint_every=50), tmp_path, tiny_data)
    original_step = trainer.train_step

    def step_then_signal(real):
        scalars = original_step(real)
        if trainer.step == 2:  # the 3rd step
            os.kill(os.getpid(), signal.SIGTERM)
        return scalars

    trainer.train_step = step_then_signal
    with pytest.raises(TrainingInterrupted, match="step 3"):
        trainer.fit()
    _, meta = checkpoint.read(tmp_path / "run" / "checkpoint.safetensors")
    assert meta["step"] == 3
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_a_step_without_categorical_codes_trains_with_the_consistency_option_on(tiny_config, tiny_data, tmp_path):
    config = tiny_config.replace(consistency=1.0, latent={"categorical": ()}, eval_every=0)
    scalars = _trainer(config, tmp_path, tiny_data).train_step(tiny_data.images[:8])
    assert {"loss/D", "loss/G", "loss/info"} <= set(scalars)


@pytest.mark.parametrize(
    "bad", [{"instance_noise": -0.1}, {"consistency": -1.0}, {"label_smoothing": 0.5}, {"label_smoothing": -0.1}]
)
def test_remedy_settings_are_validated(tiny_config, bad):
    with pytest.raises(InfoGANError):
        tiny_config.replace(**bad)


@pytest.mark.slow
def test_every_remedy_together_trains_and_logs_the_label_free_score(tiny_config, tiny_data, tmp_path):
    config = tiny_config.replace(
        instance_noise=0.1, label_smoothing=0.1, consistency=1.0, network={"spectral_norm": True}
    )
    trainer = _trainer(config, tmp_path, tiny_data, eval_data=tiny_data)
    trainer.fit()
    evals = [r for r in read_metrics(trainer.run_dir) if "eval/c1_real_mi" in r]
    assert [r["step"] for r in evals] == [2, 4]
    assert all(0 <= r["eval/c1_real_mi"] <= np.log(10) + 1e-6 and "eval/c1_accuracy" in r for r in evals)


@pytest.mark.slow
def test_the_weights_where_the_label_free_score_peaked_are_kept(tiny_config, tiny_data, tmp_path):
    trainer = _trainer(tiny_config.replace(steps=8, eval_every=1), tmp_path, tiny_data)
    trainer.fit()
    evals = [r for r in read_metrics(trainer.run_dir) if "eval/c1_real_mi" in r]
    best = max(evals, key=lambda r: r["eval/c1_real_mi"])  # the first of equal peaks, as the sweep reads it
    path = trainer.run_dir / SELECTED_NAME
    assert checkpoint.read_metadata(path)["selected"] == {
        "step": best["step"],
        "code": "c1",
        "real_mi": best["eval/c1_real_mi"],
    }
    kept = InfoGAN.load(path, device="cpu")
    score = real_data_information(kept, trainer._selection_images, "c1")
    assert score == pytest.approx(best["eval/c1_real_mi"], abs=1e-6)


@pytest.mark.slow
def test_resume_keeps_choosing_against_the_score_already_kept(tiny_config, tiny_data, tmp_path):
    config = tiny_config.replace(steps=8, eval_every=1)
    straight = _trainer(config, tmp_path / "straight", tiny_data)
    straight.fit()
    _trainer(config.replace(steps=4), tmp_path / "split", tiny_data).fit()
    kept_before = checkpoint.read_metadata(tmp_path / "split" / "run" / SELECTED_NAME)["selected"]
    second = _trainer(config, tmp_path / "split", tiny_data)
    second.restore(tmp_path / "split" / "run")
    assert second._selected_score == kept_before["real_mi"]
    second.fit()
    read = [checkpoint.read_metadata(t.run_dir / SELECTED_NAME) for t in (straight, second)]
    assert read[0]["selected"] == read[1]["selected"]


@pytest.mark.slow
def test_no_selected_weights_without_evaluation(tiny_config, tiny_data, tmp_path):
    trainer = _trainer(tiny_config.replace(eval_every=0), tmp_path, tiny_data)
    trainer.fit()
    assert not (trainer.run_dir / SELECTED_NAME).exists()


def test_resume_carries_names_and_units_into_its_checkpoints_and_selection(tiny_config, tiny_data, tmp_path):
    config = tiny_config.replace(steps=2)  # evaluates and checkpoints every 2 steps
    _trainer(config, tmp_path, tiny_data).fit()
    named = InfoGAN.load(tmp_path / "run", device="cpu")
    named.set_names("c1", ["zero", "one", *[None] * 8])
    named.calibration = {"c2": UnitMap("c2", "slant", "deg", 0.9, (-2.0, 2.0), (-10.0, 10.0))}
    named.save_annotations()
    (tmp_path / "run" / SELECTED_NAME).unlink()  # the evaluation at step 4 then writes a new one
    resumed = _trainer(config.replace(steps=4), tmp_path, tiny_data)
    with pytest.warns(InfoGANWarning, match=r"^the class names and units were set at step 2 and may no longer fit"):
        resumed.restore(tmp_path / "run")
    resumed.fit()
    for name in (CHECKPOINT_NAME, SELECTED_NAME):
        meta = checkpoint.read_metadata(tmp_path / "run" / name)
        assert meta["names"] == {"c1": ["zero", "one", *[None] * 8]}
        assert meta["calibration"] == {"c2": named.calibration["c2"].as_dict()}
        assert meta["annotated_at"] == {"names": 2, "calibration": 2}  # when they were set, not the step now
    assert checkpoint.read_metadata(tmp_path / "run" / CHECKPOINT_NAME)["step"] == 4
    loaded = InfoGAN.load(tmp_path / "run", device="cpu")
    assert loaded.names["c1"][:2] == ["zero", "one"] and loaded.calibration["c2"].property == "slant"


# ----- InfoGAN-CR's contrastive regulariser -------------------------------------------------------
def test_the_pair_classifier_trains_from_cr_start(cr_config, tiny_sprites, tmp_path):
    trainer = _trainer(cr_config, tmp_path, tiny_sprites)
    before = trainer.train_step(trainer.real_batch(0))
    trainer.step = 2
    after = trainer.train_step(trainer.real_batch(2))
    assert "loss/cr" not in before and {"loss/cr", "cr/accuracy"} <= set(after)
    assert _trainer(cr_config.replace(cr_weight=0.0), tmp_path / "off", tiny_sprites).pair_classifier is None


@pytest.mark.slow
def test_resume_with_cr_continues_exactly(cr_config, tiny_sprites, tmp_path):
    straight = _trainer(cr_config, tmp_path / "straight", tiny_sprites)
    straight.fit()
    first = _trainer(cr_config.replace(steps=3), tmp_path / "split", tiny_sprites)  # stops after CR's start
    first.fit()
    torch.manual_seed(999)
    second = _trainer(cr_config, tmp_path / "split", tiny_sprites)
    second.restore(tmp_path / "split" / "run")
    assert second.step == 3
    assert_close(second.opt_h.state_dict()["state"][0]["step"], torch.tensor(1.0))  # H trained at step 2 only
    second.fit()
    for key, value in straight.nets.state_dict().items():
        assert_close(second.nets.state_dict()[key], value)
    for key, value in straight.pair_classifier.state_dict().items():
        assert_close(second.pair_classifier.state_dict()[key], value)
    resumed = second.opt_h.state_dict()["state"]
    for key, value in straight.opt_h.state_dict()["state"].items():
        assert_close(resumed[key]["exp_avg_sq"], value["exp_avg_sq"])
    records = read_metrics(tmp_path / "straight" / "run")
    assert [r["step"] for r in records if "loss/cr" in r] == [3, 4]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cr_weight": -1.0}, ">= 0"),
        ({"cr_start": 4}, "cr-start 4"),
        ({"latent": {"continuous": 1}}, "2 continuous codes"),
        ({"cr_gap": 2.5}, "cr-gap"),
    ],
)
def test_bad_cr_settings_are_refused(cr_config, changes, message):
    with pytest.raises(InfoGANError, match=message):
        cr_config.replace(**changes)


def _straight_and_resumed(config, tmp_path, data):
    """Two finished runs of ``config``: one straight through, one stopped at step 2 and resumed."""
    straight = _trainer(config, tmp_path / "straight", data)
    straight.fit()
    _trainer(config.replace(steps=2), tmp_path / "split", data).fit()
    resumed = _trainer(config, tmp_path / "split", data)
    resumed.restore(tmp_path / "split" / "run")
    resumed.fit()
    for key, value in straight.nets.state_dict().items():
        assert_close(resumed.nets.state_dict()[key], value)
    return straight, resumed


def test_neighbour_batches_hold_a_drawn_neighbour_of_each_image_and_replay_by_step(tiny_config, tiny_data, tmp_path):
    trainer = _trainer(tiny_config.replace(iic=1.0, iic_neighbours=3), tmp_path, tiny_data)
    assert torch.equal(trainer.neighbours, pixel_neighbours(tiny_data.images, 3))
    indices, drawn = trainer.batches.indices(5), trainer.neighbour_batch(5)
    for index, image in zip(indices.tolist(), drawn, strict=True):
        candidates = tiny_data.images[trainer.neighbours[index]]
        assert any(torch.equal(image, candidate) for candidate in candidates)
    assert torch.equal(trainer.neighbour_batch(5), drawn)
    assert _trainer(tiny_config, tmp_path / "off", tiny_data).neighbour_batch(5) is None


def test_deskewed_neighbours_are_the_pixel_neighbours_of_the_deskewed_images(tiny_config, tiny_data, tmp_path):
    config = tiny_config.replace(iic=1.0, iic_neighbours=3, iic_neighbours_space="deskewed")
    trainer = _trainer(config, tmp_path, tiny_data)
    assert torch.equal(trainer.neighbours, pixel_neighbours(deskewed(tiny_data.images), 3))
    assert not torch.equal(trainer.neighbours, pixel_neighbours(tiny_data.images, 3))
    drawn = trainer.neighbour_batch(2)
    for index, image in zip(trainer.batches.indices(2).tolist(), drawn, strict=True):
        assert any(torch.equal(image, tiny_data.images[j]) for j in trainer.neighbours[index])


def test_a_mutual_neighbour_pair_draws_from_the_mutual_table(tiny_config, tiny_data, tmp_path):
    trainer = _trainer(tiny_config.replace(iic=1.0, iic_neighbours=3, iic_neighbours_mutual=True), tmp_path, tiny_data)
    assert torch.equal(trainer.neighbours, mutual_neighbours(pixel_neighbours(tiny_data.images, 3)))
    indices, drawn = trainer.batches.indices(2), trainer.neighbour_batch(2)
    for index, image in zip(indices.tolist(), drawn, strict=True):
        assert any(torch.equal(image, tiny_data.images[j]) for j in trainer.neighbours[index])


def test_the_neighbour_pair_stops_after_its_steps(tiny_config, tiny_data, tmp_path):
    config = tiny_config.replace(iic=1.0, iic_neighbours=3, iic_neighbours_steps=2, steps=4, log_every=1)
    trainer = _trainer(config, tmp_path, tiny_data)
    assert trainer.neighbour_batch(1) is not None
    assert trainer.neighbour_batch(2) is None
    trainer.fit()
    logged = [r["step"] for r in read_metrics(trainer.run_dir) if "iic_neighbours/c1" in r]
    assert logged == [1, 2]  # a record's step counts the steps done: steps 0 and 1 had the pair


def test_a_run_resumed_past_the_neighbour_pair_never_searches(tiny_config, tiny_data, tmp_path, monkeypatch):
    config = tiny_config.replace(iic=1.0, iic_neighbours=3, iic_neighbours_steps=2, steps=2)
    first = _trainer(config, tmp_path, tiny_data)
    assert first._neighbour_table is None  # not searched while the trainer is built
    first.fit()
    assert first._neighbour_table is not None  # searched by the first step that drew a neighbour
    monkeypatch.setattr("infogan.training.neighbours_in", lambda *args, **kwargs: pytest.fail("searched"))
    resumed = _trainer(config.replace(steps=4), tmp_path, tiny_data)
    resumed.restore(first.run_dir)
    resumed.fit()
    assert resumed.step == 4 and resumed._neighbour_table is None


def _feature_neighbours(trainer, images, k):
    body = copy.deepcopy(trainer.nets.body).eval()
    with torch.no_grad():
        features = torch.nn.functional.normalize(body(images), dim=1)
    return nearest_neighbours(features, k)


def test_feature_neighbours_are_searched_in_ds_features_at_their_first_step(tiny_config, tiny_data, tmp_path):
    config = tiny_config.replace(iic=1.0, iic_neighbours=3, iic_neighbours_space="features", iic_neighbours_from=2)
    trainer = _trainer(config.replace(steps=2), tmp_path, tiny_data)
    assert trainer.neighbour_batch(1) is None and trainer._neighbour_table is None
    trainer.fit()  # steps 0 and 1 train D, so its features are not those it started with
    expected = _feature_neighbours(trainer, tiny_data.images, 3)
    indices, drawn = trainer.batches.indices(2), trainer.neighbour_batch(2)
    assert torch.equal(trainer.neighbours, expected) and trainer.nets.body.training
    for index, image in zip(indices.tolist(), drawn, strict=True):
        assert any(torch.equal(image, tiny_data.images[j]) for j in expected[index])
    logged = [r["step"] for r in read_metrics(trainer.run_dir) if "iic_neighbours/c1" in r]
    assert logged == []  # no pair before iic_neighbours_from


def test_a_run_resumed_after_the_feature_search_draws_from_the_same_table(tiny_config, tiny_data, tmp_path):
    config = tiny_config.replace(
        iic=1.0, iic_neighbours=3, iic_neighbours_space="features", iic_neighbours_from=1, checkpoint_every=1
    )
    straight = _trainer(config, tmp_path / "straight", tiny_data)
    straight.fit()
    first = _trainer(config.replace(steps=3), tmp_path / "split", tiny_data)
    first.fit()
    resumed = _trainer(config, tmp_path / "split", tiny_data)
    resumed.restore(first.run_dir)
    assert torch.equal(resumed.neighbours, straight.neighbours)
    resumed.fit()
    for key, value in straight.nets.state_dict().items():
        assert torch.equal(resumed.nets.state_dict()[key], value), key


def test_a_checkpoint_without_the_feature_table_cannot_be_resumed_inside_the_pair(tiny_config, tiny_data, tmp_path):
    config = tiny_config.replace(iic=1.0, iic_neighbours=3, iic_neighbours_space="features", iic_neighbours_from=1)
    first = _trainer(config.replace(steps=2), tmp_path, tiny_data)
    first.fit()
    tensors, meta = checkpoint.read(first.run.checkpoint)
    assert tensors.pop("train.neighbours").shape == (32, 3)
    checkpoint.write(first.run.checkpoint, tensors, meta)
    with pytest.raises(InfoGANError, match="holds no neighbour table \\(searched at step 1\\)"):
        _trainer(config, tmp_path, tiny_data).restore(first.run_dir)
    checkpoint.write(first.run.checkpoint, tensors | {"train.neighbours": torch.full((32, 3), 32)}, meta)
    with pytest.raises(InfoGANError, match="the neighbour table does not index this run's 32 images"):
        _trainer(config, tmp_path, tiny_data).restore(first.run_dir)


def test_learned_prior_trains_resumes_exactly_and_travels_with_the_model(tiny_config, tiny_data, tmp_path):
    config = tiny_config.replace(latent={"categorical_prior": "learned"}, iic=1.0)
    straight, _ = _straight_and_resumed(config, tmp_path, tiny_data)
    prior = straight.nets.category_prior
    assert not torch.equal(prior, straight.spec.uniform_prior())  # it moved towards Q's readings
    assert_close(prior.sum(), torch.tensor(1.0))
    model = InfoGAN.load(straight.run_dir, device="cpu")
    assert torch.equal(model.nets.category_prior, prior)
    bounds = model.information_bounds(64)  # H(c1) of the learned prior, not ln 10
    assert bounds["c1"] <= model.spec.entropy(model.spec.code("c1"), prior) + 1e-6


def test_patience_stops_once_the_label_free_score_stops_rising(tiny_config, tiny_data, tmp_path, monkeypatch):
    scores = iter([0.5, 0.9, 0.8, 0.7, 0.95, 0.1, 0.1, 0.1])  # best at evaluation 2, then 2 without a rise
    monkeypatch.setattr("infogan.training.real_data_information", lambda *args, **kwargs: next(scores))
    trainer = _trainer(tiny_config.replace(steps=8, eval_every=1, patience=2), tmp_path, tiny_data)
    trainer.fit()
    assert trainer.stopped_early and trainer.step == 4
    assert checkpoint.read_metadata(trainer.run_dir / CHECKPOINT_NAME)["step"] == 4


def test_patience_needs_evaluation(tiny_config):
    with pytest.raises(InfoGANError, match="patience"):
        tiny_config.replace(eval_every=0, patience=3)


# ----- the run directory: its lock, killed writes, fresh starts ------------------------------------
def test_fit_refuses_a_run_directory_that_another_process_holds(tiny_config, tiny_data, tmp_path):
    trainer = _trainer(tiny_config, tmp_path, tiny_data)
    refused = pytest.raises(InfoGANError, match=rf"in use by another infogan process \(pid {os.getpid()}\)")
    with trainer.run.locked(), refused:  # held as a concurrent `infogan train --resume` would
        trainer.fit()
    assert not (trainer.run_dir / "metrics.jsonl").exists()
    assert not (trainer.run_dir / CHECKPOINT_NAME).exists()


def test_a_resume_of_a_run_that_moved_on_since_it_was_read_is_refused(tiny_config, tiny_data, tmp_path):
    _trainer(tiny_config.replace(steps=2), tmp_path, tiny_data).fit()
    first, second = _trainer(tiny_config, tmp_path, tiny_data), _trainer(tiny_config, tmp_path, tiny_data)
    first.restore(tmp_path / "run")
    second.restore(tmp_path / "run")
    first.fit()
    with pytest.raises(InfoGANError, match=r"changed since step 2 was restored \(its checkpoint is now at step 4"):
        second.fit()
    assert checkpoint.read_metadata(tmp_path / "run" / CHECKPOINT_NAME)["step"] == 4


def test_a_start_clears_killed_writes_and_does_not_append_to_a_dead_attempts_metrics(tiny_config, tiny_data, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / ".checkpoint.safetensors.0a1b2c3d4e5f.tmp").write_bytes(b"\0" * 4096)  # a kill mid-write
    (run / ".checkpoint.safetensors.x9y8z7.tmp").write_bytes(b"")
    dead = [{"step": s, "time": 0.0, "loss/D": 1.0} for s in (2, 4)]  # killed before its first checkpoint
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in dead))
    _trainer(tiny_config, tmp_path, tiny_data).fit()
    assert sorted(p.name for p in run.iterdir() if p.name.endswith(".tmp")) == []
    assert [r["step"] for r in read_metrics(run) if "loss/D" in r] == [2, 4]
    assert all(r["loss/D"] != 1.0 for r in read_metrics(run) if "loss/D" in r)


def test_divergence_before_the_first_checkpoint_says_that_none_is_kept(tiny_config, tiny_data, tmp_path):
    trainer = _trainer(tiny_config.replace(steps=8, checkpoint_every=4), tmp_path, tiny_data)
    with torch.no_grad():
        trainer.nets.d_head.weight.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="no checkpoint had been written yet") as stopped:
        trainer.fit()
    assert "kept" not in str(stopped.value)
    assert not (tmp_path / "run" / CHECKPOINT_NAME).exists()


@pytest.mark.parametrize(
    "option", ["lr_d", "lr_g", "lr_q", "instance_noise", "label_smoothing", "consistency", "cr_weight", "cr_gap"]
)
@pytest.mark.parametrize("value", [math.nan, math.inf])
def test_non_finite_float_settings_are_refused(tiny_config, option, value):
    with pytest.raises(InfoGANError, match=f"{option.replace('_', '-')} must be a finite number"):
        tiny_config.replace(**{option: value})


@pytest.mark.parametrize("latent", [{"lambda_cat": math.nan}, {"lambda_cont": math.inf}])
def test_non_finite_information_weights_are_refused(tiny_config, latent):
    with pytest.raises(InfoGANError, match="must be finite"):
        tiny_config.replace(latent=latent)


# ----- what a resume accepts ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A run two steps long (config, data, run directory) to resume from, or to craft files from."""
    from infogan.config import preset
    from infogan.data import ImageDataset

    config = preset("mnist").replace(steps=2, batch_size=8, log_every=2, sample_every=2, checkpoint_every=2)
    config = config.replace(eval_every=0)
    images = torch.rand(32, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    data = ImageDataset(images, torch.arange(32) % 4)
    run = tmp_path_factory.mktemp("finished") / "run"
    Trainer(config, run, data, device=CPU, progress=False, tensorboard=False).fit()
    return config, data, run


def _first_weight(tensors):
    return next(k for k, v in tensors.items() if k.startswith("model.") and v.is_floating_point())


def _crafted(run, tmp_path, change):
    """A copy of ``run`` whose checkpoint ``change(tensors, meta)`` edited."""
    tensors, meta = checkpoint.read(run / CHECKPOINT_NAME)
    change(tensors, meta)
    copy = tmp_path / "crafted"
    copy.mkdir()
    checkpoint.write(copy / CHECKPOINT_NAME, tensors, meta)
    return copy


def _set_meta(key, value):
    return lambda tensors, meta: meta.__setitem__(key, value)


def _strip_optimizer(tensors, meta):
    for key in [k for k in tensors if k.startswith("optim.")]:
        del tensors[key]


def _misshape_adam(tensors, meta):
    tensors["optim.d.0.exp_avg"] = torch.zeros(3)


def _retype(dtype):
    def change(tensors, meta):
        key = _first_weight(tensors)
        tensors[key] = tensors[key].to(dtype)

    return change


def _poison(tensors, meta):
    key = _first_weight(tensors)
    tensors[key] = torch.full_like(tensors[key], float("nan"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set_meta("step", "abc"), 'malformed step \\("abc"\\)'),
        (lambda tensors, meta: meta.pop("train_config"), "holds no training configuration"),
        (lambda tensors, meta: tensors.pop("rng.cpu"), "holds no RNG state"),
        (lambda tensors, meta: meta["train_config"].__setitem__("betas", "ab"), "malformed configuration"),
        (_strip_optimizer, "lacks optimizer d's state"),
        (_misshape_adam, "optimizer d's exp_avg for parameter 0 is \\[3\\]"),
        (lambda tensors, meta: meta.__setitem__("optim_g", "x"), "holds no state of optimizer g"),
        (_retype(torch.float16), "is F16"),
        (_retype(torch.bool), "is BOOL"),
        (_poison, "holds NaN or infinite values"),
    ],
)
def test_a_resume_refuses_a_crafted_checkpoint_in_one_line(finished_run, tmp_path, change, message):
    config, data, run = finished_run
    crafted = _crafted(run, tmp_path, change)
    trainer = Trainer(config.replace(steps=4), crafted, data, device=CPU, progress=False, tensorboard=False)
    with pytest.raises(InfoGANError, match=message):
        trainer.restore(crafted)


@pytest.mark.parametrize("selected", [b"not a checkpoint", "weights without a selection"])
def test_an_unreadable_selected_file_is_ignored_with_a_warning(finished_run, tmp_path, selected):
    config, data, run = finished_run
    crafted = _crafted(run, tmp_path, lambda tensors, meta: None)
    if isinstance(selected, bytes):
        (crafted / SELECTED_NAME).write_bytes(selected)
    else:
        InfoGAN.load(run, device="cpu").save(crafted / SELECTED_NAME)  # no "selected" key
    trainer = Trainer(config.replace(steps=3), crafted, data, device=CPU, progress=False, tensorboard=False)
    with pytest.warns(InfoGANWarning, match="ignoring .*selected.safetensors"):
        trainer.restore(crafted)
    assert trainer._selected_score == -math.inf
    trainer.fit()
    assert trainer.step == 3


def _config_disk_full(monkeypatch, run):
    def disk_full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(files, "_write_all", disk_full)  # config.json is the first file written
    return run / "config.json"


def _device_that_is_full(run, name):
    run.mkdir(parents=True, exist_ok=True)
    (run / name).parent.mkdir(exist_ok=True)
    (run / name).symlink_to("/dev/full")  # every write to it fails with ENOSPC
    return run / name


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full, the device that is always full")
@pytest.mark.parametrize("where", ["config", "metrics", "samples"])
def test_a_full_disk_anywhere_training_writes_is_one_line(tiny_config, tiny_data, tmp_path, monkeypatch, where):
    run = tmp_path / "run"
    if where == "config":
        path = _config_disk_full(monkeypatch, run)
    else:
        name = "metrics.jsonl" if where == "metrics" else "samples/step_0000002.png"
        path = _device_that_is_full(run, name)
    with pytest.raises(InfoGANError) as stopped:
        _trainer(tiny_config, tmp_path, tiny_data).fit()
    assert str(stopped.value) == f"could not write {path}: No space left on device"


def test_auto_precision_is_resolved_per_start_and_recorded_beside_the_request(
    tiny_config, tiny_data, tmp_path, monkeypatch
):
    from infogan import hardware
    from infogan.run import RunDir

    monkeypatch.setattr(hardware, "cpu_info", lambda: hardware.CPUInfo("native", frozenset({"amx_bf16"}), "x86_64"))
    monkeypatch.setitem(hardware.BF16_ACCURACY_CHECKED, "cpu", True)
    trainer = _trainer(tiny_config.replace(precision="auto", steps=1, eval_every=0), tmp_path, tiny_data)
    assert trainer.precision.precision == "bf16"
    with trainer._autocast():
        assert torch.is_autocast_enabled("cpu")
    trainer.fit()
    run = tmp_path / "run"
    record = json.loads((run / "config.json").read_text())
    assert record["precision"] == "auto" and record["resolved"]["precision"] == "bf16"
    assert "amx_bf16" in record["resolved"]["precision_reason"]
    # The run moves to a CPU without native bf16: a resume asks for auto again, and gets fp32.
    monkeypatch.setattr(hardware, "cpu_info", lambda: hardware.CPUInfo("avx2", frozenset({"avx2"}), "x86_64"))
    stored = RunDir(run).read_config()
    assert stored == tiny_config.replace(precision="auto", steps=1, eval_every=0)
    resumed = _trainer(stored, tmp_path, tiny_data)
    with resumed._autocast():
        assert not torch.is_autocast_enabled("cpu")
    resumed._write_config()
    assert json.loads((run / "config.json").read_text())["resolved"]["precision"] == "fp32"


def test_cpu_training_keeps_freed_memory_for_the_next_step(tiny_config, tiny_data, tmp_path, monkeypatch):
    from infogan import hardware, training

    calls = []
    monkeypatch.setattr(training, "keep_freed_memory", lambda: calls.append(True) or True)
    _trainer(tiny_config, tmp_path, tiny_data)
    assert calls == [True]
    glibc_linux = hardware.platform.system() == "Linux" and hardware.platform.libc_ver()[0] == "glibc"
    assert hardware.keep_freed_memory() == glibc_linux
    monkeypatch.setattr(hardware.platform, "libc_ver", lambda: ("musl", ""))
    assert hardware.keep_freed_memory() is False


# ----- the moving average of G's weights ----------------------------------------------------------
def _ema_by_hand(live_weights, decay):
    """The average of a sequence of weights, as its definition has it: the first one copied, then
    after n updates a decay of min(decay, (1 + n) / (10 + n))."""
    average = {k: v.clone().float() for k, v in live_weights[0].items()}
    for n, weights in enumerate(live_weights[1:], start=1):
        d = min(decay, (1 + n) / (10 + n))
        for k, v in weights.items():
            average[k] = d * average[k] + (1 - d) * v.float()
    return average


def test_the_saved_generator_is_the_moving_average_of_the_live_one(tiny_config, tiny_data, tmp_path):
    config = tiny_config.replace(g_average=0.2, steps=3, checkpoint_every=3, eval_every=0)
    trainer = _trainer(config, tmp_path, tiny_data)
    step, seen_copies = trainer.train_step, []

    def step_and_record_g(real):
        scalars = step(real)
        seen_copies.append({k: v.clone() for k, v in trainer.nets.generator.state_dict().items()})
        return scalars

    trainer.train_step = step_and_record_g
    trainer.fit()
    expected = _ema_by_hand(seen_copies, 0.2)
    saved = InfoGAN.load(trainer.run_dir, device="cpu").nets.generator.state_dict()
    for key, value in saved.items():
        if value.is_floating_point():
            assert_close(value, expected[key])
    live = trainer.nets.generator.state_dict()  # training goes on with the live G, untouched by saving
    assert all(torch.equal(live[k], v) for k, v in seen_copies[-1].items())
    assert not torch.equal(saved["0.weight"], live["0.weight"])


# The IIC options are the default preset's: its 4,000-step figures were measured by resuming
# 2,500-step runs, which this makes the figures a straight run of 4,000 steps gives.
MNIST_IIC_OPTIONS = {"iic": 1.0, "iic_warp": 1.5, "iic_balance": 2.0, "iic_erase": 0.25}


@pytest.mark.slow
@pytest.mark.parametrize(
    "options",
    [{}, MNIST_IIC_OPTIONS, {**MNIST_IIC_OPTIONS, "iic_neighbours": 3}],
    ids=["average", "average-and-iic", "average-and-iic-with-neighbours"],
)
def test_resume_with_a_moving_average_continues_exactly(options, tiny_config, tiny_data, tmp_path):
    config = tiny_config.replace(g_average=0.7, **options)
    straight, second = _straight_and_resumed(config, tmp_path, tiny_data)
    for key, value in straight.g_average.state_dict().items():
        assert_close(second.g_average.state_dict()[key], value)
    saved = [checkpoint.read(t.run.checkpoint)[0] for t in (straight, second)]
    assert saved[0].keys() == saved[1].keys()
    for key, value in saved[0].items():
        if not key.startswith("rng."):
            assert_close(saved[1][key], value)


def _without_live_generator(tensors):
    return {k: v for k, v in tensors.items() if not k.startswith("train.")}


def _with_nan_live_generator(tensors):
    key = next(k for k in tensors if k.startswith("train.generator.") and tensors[k].is_floating_point())
    return tensors | {key: torch.full_like(tensors[key], float("nan"))}


@pytest.mark.parametrize(
    ("change", "message"), [(_without_live_generator, "no live G"), (_with_nan_live_generator, "live G holds NaN")]
)
def test_an_averaged_run_resumes_only_from_a_sound_live_generator(tiny_config, tiny_data, tmp_path, change, message):
    config = tiny_config.replace(g_average=0.7, steps=2)
    first = _trainer(config, tmp_path, tiny_data)
    first.fit()
    tensors, meta = checkpoint.read(first.run.checkpoint)
    checkpoint.write(first.run.checkpoint, change(tensors), meta)
    second = _trainer(config.replace(steps=4), tmp_path, tiny_data)
    with pytest.raises(InfoGANError, match=message):
        second.restore(tmp_path / "run")


def test_after_its_last_step_the_neighbour_pair_leaves_a_run_without_it(tiny_config, tiny_data, tmp_path):
    # what a run with the pair for its first 2 steps does next is what a run without it does
    config = tiny_config.replace(iic=1.0, iic_neighbours=3, steps=4)
    straight = _trainer(config.replace(iic_neighbours_steps=2), tmp_path / "straight", tiny_data)
    straight.fit()
    first = _trainer(config.replace(steps=2), tmp_path / "split", tiny_data)
    first.fit()
    # the run's settings rewritten without the pair, as a resume never allows
    stored = checkpoint.read_metadata(first.run.checkpoint)["train_config"]
    checkpoint.update_metadata(first.run.checkpoint, {"train_config": stored | {"iic_neighbours": 0}})
    without = _trainer(config.replace(iic_neighbours=0), tmp_path / "split", tiny_data)
    without.restore(first.run_dir)
    without.fit()
    for key, value in straight.nets.state_dict().items():
        assert_close(without.nets.state_dict()[key], value)
