"""Each setting is declared once (infogan/options.py): the configs' checks, train's flags and the keys a
resume may change all come from that declaration."""

import argparse
import dataclasses
import math
from pathlib import Path

import pytest

from infogan.cli import _CONFIG_GROUPS, build_parser, main
from infogan.config import RESUMABLE_KEYS, TrainConfig, preset
from infogan.errors import InfoGANError
from infogan.latent import LatentSpec
from infogan.networks import NetworkConfig
from infogan.options import Option, declared, int_list, is_internal
from infogan.run import ensure_compatible

DECLARED = [(group, name, o) for group, config in _CONFIG_GROUPS.items() for name, o in declared(config).items()]
FLAGGED = [(group, name, o) for group, name, o in DECLARED if o.cli]


def _train_parser() -> argparse.ArgumentParser:
    commands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices["train"]


def _with(group: str, name: str, value) -> TrainConfig:
    """The mnist preset (train's default base) with one option changed through the Python API."""
    base = preset("mnist")
    return base.replace(**{name: value}) if group == "train" else base.replace(**{group: {name: value}})


@pytest.mark.parametrize("config", [TrainConfig, LatentSpec, NetworkConfig])
def test_every_field_is_declared_once_or_internal(config):
    options = declared(config)
    for field in dataclasses.fields(config):
        if field.init:  # derived fields such as LatentSpec.codes are neither
            assert (field.name in options) != is_internal(field), field.name
    assert {f.name for f in dataclasses.fields(TrainConfig) if is_internal(f)} == {"model", "dataset", "data_path"}


def test_flags_and_names_are_unique_across_the_configs():
    names = [name for _, name, _ in DECLARED]
    flags = [o.flag_for(name) for _, name, o in FLAGGED]
    assert len(set(names)) == len(names) and len(set(flags)) == len(flags)


@pytest.mark.parametrize(("group", "name", "declaration"), FLAGGED, ids=[name for _, name, _ in FLAGGED])
def test_train_flag_is_the_declaration(group, name, declaration):
    actions = [a for a in _train_parser()._actions if declaration.flag_for(name) in a.option_strings]
    assert len(actions) == 1
    action = actions[0]
    assert action.dest == name and action.help == declaration.help and action.default is None
    assert action.choices is declaration.choices  # the very collection the config checks against
    if declaration.parse is bool:
        assert action.const is declaration.sets and action.nargs == 0
    else:
        assert action.type is declaration.parse


def _refused_values(declaration: Option) -> list:
    """Values just outside the declared bounds, and NaN for a float setting."""
    bad = []
    if declaration.low is not None:
        bad.append(declaration.low - 1)
    if declaration.high is not None:
        bad.append(declaration.high + 1)
    bad += [v for v in (declaration.above, declaration.below) if v is not None]
    return bad


_BOUNDED = [
    (group, name, (10, value) if o.parse is int_list else value)  # a list is refused element by element
    for group, name, o in FLAGGED
    for value in _refused_values(o) + ([math.nan] if o.parse is float else [])
]


@pytest.mark.parametrize(("group", "name", "value"), _BOUNDED, ids=[f"{n}={v}" for _, n, v in _BOUNDED])
def test_a_value_out_of_bounds_gives_one_error_via_cli_and_api(group, name, value, tmp_path, capsys):
    with pytest.raises(InfoGANError) as refused:
        _with(group, name, value)
    flag = declared(_CONFIG_GROUPS[group])[name].flag_for(name)
    text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
    assert main(["train", flag, text, "--out", str(tmp_path / "r"), "--device", "cpu"]) == 2
    assert capsys.readouterr().err == f"infogan: error: {refused.value}\n"
    assert not (tmp_path / "r").exists()


_CHOICES = [(group, name, o) for group, name, o in FLAGGED if o.choices is not None]


@pytest.mark.parametrize(("group", "name", "declaration"), _CHOICES, ids=[name for _, name, _ in _CHOICES])
def test_a_value_outside_the_choices_is_refused_by_both(group, name, declaration, capsys):
    with pytest.raises(InfoGANError):
        _with(group, name, 2 if declaration.parse is int else "other")
    with pytest.raises(InfoGANError, match="invalid choice"):
        build_parser().parse_args(["train", declaration.flag_for(name), "2" if declaration.parse is int else "other"])


def test_the_declared_bounds_hold_at_their_edges():
    config = preset("mnist").replace(seed=2**32 - 1, label_smoothing=0.0, eval_every=0, lr_d=1e-12)
    assert config.seed == 2**32 - 1
    with pytest.raises(InfoGANError, match=r"label-smoothing must lie in \[0, 0.5\)"):
        config.replace(label_smoothing=0.5)


def _another(value, declaration: Option):
    """A valid value other than ``value``."""
    if declaration.choices is not None:
        return next(c for c in declaration.choices if c != value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, tuple):
        return tuple(v * 0.9 for v in value)
    return value + 1 if isinstance(value, int) else value * 0.5 + 0.1


@pytest.mark.parametrize("name", list(declared(TrainConfig)))
def test_a_resume_may_change_exactly_the_resumable_options(name):
    # with IIC and its neighbour pair on, so that every IIC option may take another value
    neighbours = {"iic_neighbours": 3, "iic_neighbours_space": "features", "iic_neighbours_from": 1}
    stored = preset("mnist-iic").replace(**neighbours, iic_neighbours_steps=10)
    requested = stored.replace(**{name: _another(getattr(stored, name), declared(TrainConfig)[name])})
    if name in RESUMABLE_KEYS:
        ensure_compatible(stored, requested, Path("run"))
    else:
        with pytest.raises(InfoGANError, match=f"{name}: run has"):
            ensure_compatible(stored, requested, Path("run"))


def test_the_resumable_options_are_length_cadence_and_speed():
    cadence = {"steps", "patience", "log_every", "sample_every", "checkpoint_every", "eval_every"}
    assert cadence | {"precision", "channels_last", "compile"} == RESUMABLE_KEYS


def test_every_verb_with_a_seed_takes_the_run_seeds_bounds():
    for verb in ("sample", "traverse", "evaluate", "select", "calibrate"):
        with pytest.raises(InfoGANError, match=r"--seed: expected an integer in 0\.\.4294967295, got '-1'"):
            build_parser().parse_args([verb, "run", "--seed", "-1"])


def test_feature_neighbours_need_a_step_to_search_at_and_the_pair_must_start_before_it_stops(tmp_path, capsys):
    with pytest.raises(InfoGANError, match="it needs iic-neighbours-from > 0"):
        TrainConfig(iic=1.0, iic_neighbours=3, iic_neighbours_space="features")
    with pytest.raises(InfoGANError, match=r"pair stops \(iic-neighbours-steps 500\) before it starts"):
        TrainConfig(iic=1.0, iic_neighbours=3, iic_neighbours_from=500, iic_neighbours_steps=500)
    config = TrainConfig(iic=1.0, iic_neighbours=3, iic_neighbours_space="features", iic_neighbours_from=500)
    assert (config.iic_neighbours_from, config.iic_neighbours_steps) == (500, 0)
    argv = ["train", "--preset", "mnist-iic", "--iic-neighbours", "3", "--iic-neighbours-space", "voxels"]
    assert main([*argv, "--out", str(tmp_path / "r"), "--device", "cpu"]) == 2
    assert "invalid choice: 'voxels'" in capsys.readouterr().err and not (tmp_path / "r").exists()


def test_neighbour_pairs_need_the_iic_term(tmp_path, capsys):
    with pytest.raises(InfoGANError, match="iic-neighbours adds a pair to the IIC term: it needs iic > 0"):
        TrainConfig(iic_neighbours=3)
    assert TrainConfig(iic=1.0, iic_neighbours=3).iic_neighbours == 3
    with pytest.raises(InfoGANError, match="iic-neighbours-steps schedules the neighbour pair: it needs"):
        TrainConfig(iic=1.0, iic_neighbours_steps=100)
    with pytest.raises(InfoGANError, match="iic-neighbours-mutual filters the neighbour pair: it needs"):
        TrainConfig(iic=1.0, iic_neighbours_mutual=True)
    with pytest.raises(InfoGANError, match="iic-neighbours-from and -space shape the neighbour pair: they need"):
        TrainConfig(iic=1.0, iic_neighbours_from=100)
    argv = ["train", "--paper-objective", "--iic-neighbours", "3", "--out", str(tmp_path / "r"), "--device", "cpu"]
    assert main(argv) == 2
    assert "needs iic > 0" in capsys.readouterr().err and not (tmp_path / "r").exists()
