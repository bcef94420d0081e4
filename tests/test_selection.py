import json

import numpy as np
import pytest
import torch

from infogan import InfoGAN
from infogan.cli import main
from infogan.config import preset
from infogan.errors import InfoGANError
from infogan.latent import LatentSpec
from infogan.model import Encoding
from infogan.selection import code_agreement, model_centrality

SPEC = LatentSpec(noise_dim=2, categorical=(4,), continuous=1)


def _draw(n=2000, seed=0):
    return SPEC.sample(n, generator=torch.Generator().manual_seed(seed))


def _one_hot(classes, k=4):
    return torch.nn.functional.one_hot(torch.as_tensor(classes), k).float()


def test_a_relabelled_and_rescaled_reading_agrees_fully():
    latents = _draw()
    permuted = torch.tensor([2, 0, 3, 1])[latents.categories[:, 0]]
    reading = Encoding({"c1": _one_hot(permuted)}, {"c2": -3 * latents.continuous[:, 0] + 1}, {})
    assert code_agreement(SPEC, latents, reading) == pytest.approx(1.0)


def test_a_random_or_constant_reading_agrees_little():
    latents = _draw()
    rng = torch.Generator().manual_seed(5)
    noise = Encoding({"c1": _one_hot(torch.randint(4, (2000,), generator=rng))}, {"c2": torch.rand(2000)}, {})
    constant = Encoding({"c1": _one_hot(torch.zeros(2000, dtype=torch.long))}, {"c2": torch.zeros(2000)}, {})
    assert code_agreement(SPEC, latents, noise) < 0.05
    assert code_agreement(SPEC, latents, constant) == pytest.approx(0.0)


def test_codes_can_be_scored_alone():
    latents = _draw()
    reading = Encoding({"c1": _one_hot(latents.categories[:, 0])}, {"c2": torch.zeros(2000)}, {})
    assert code_agreement(SPEC, latents, reading, codes=["c1"]) == pytest.approx(1.0)
    assert code_agreement(SPEC, latents, reading, codes=["c2"]) == pytest.approx(0.0)
    assert code_agreement(SPEC, latents, reading) == pytest.approx(0.5)
    with pytest.raises(InfoGANError, match="none of the codes"):
        code_agreement(SPEC, latents, reading, codes=["c7"])


class _CodeCarrier:
    """A stand-in run whose 'images' carry the codes in two pixels; Q reads them back
    relabelled (a faithful run) or ignores them (a run that found something else)."""

    image_shape = (1, 1, 2)
    spec = SPEC
    device = torch.device("cpu")

    def __init__(self, relabel, faithful=True):
        self.relabel, self.faithful = torch.tensor(relabel), faithful

    def sample_latents(self, n, *, seed=None):
        return _draw(n, seed or 0)

    def render(self, latents):
        pixels = torch.stack([latents.categories[:, 0].float(), latents.continuous[:, 0]], dim=1)
        return pixels.view(-1, 1, 1, 2)

    def encode(self, images):
        category, value = images[:, 0, 0, 0].long(), images[:, 0, 0, 1]
        if not self.faithful:  # reads a different partition: the class by the sign of the value
            category, value = (value > 0).long() * 2, value.abs()
        return Encoding({"c1": _one_hot(self.relabel[category])}, {"c2": value}, {})


def test_centrality_prefers_the_runs_that_agree():
    runs = [_CodeCarrier([0, 1, 2, 3]), _CodeCarrier([3, 2, 1, 0]), _CodeCarrier([1, 0, 3, 2], faithful=False)]
    ranking = model_centrality(runs, ["a", "b", "odd"], samples=1000)
    np.testing.assert_allclose(np.diag(ranking.agreement), 1.0)
    assert ranking.agreement[0, 1] == pytest.approx(1.0) and ranking.agreement[0, 2] < 0.5
    symmetric = (ranking.agreement + ranking.agreement.T) / 2
    np.testing.assert_allclose(ranking.scores, [(symmetric[i].sum() - 1) / 2 for i in range(3)])
    assert ranking.scores[2] < min(ranking.scores[:2]) and ranking.chosen in {"a", "b"}
    assert ranking.as_dict()["chosen"] == ranking.chosen


def test_centrality_needs_two_runs_of_one_image_shape():
    with pytest.raises(InfoGANError, match="at least 2"):
        model_centrality([_CodeCarrier([0, 1, 2, 3])], ["a"])
    mnist, sprites = InfoGAN(), InfoGAN(preset("dsprites").model)
    with pytest.raises(InfoGANError, match="different shapes"):
        model_centrality([mnist, sprites], ["m", "s"], samples=8)


def test_select_prints_the_ranking_and_saves_it(tmp_path, capsys):
    paths = []
    for seed in range(3):
        torch.manual_seed(seed)
        InfoGAN().save(tmp_path / f"run{seed}.safetensors")
        paths.append(str(tmp_path / f"run{seed}.safetensors"))
    out = tmp_path / "centrality.json"
    assert main(["select", *paths, "--samples", "64", "--code", "c1", "--device", "cpu", "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    saved = json.loads(out.read_text())
    assert len(printed) == 4 and sum("<- chosen" in line for line in printed) == 1
    assert saved["names"] == paths and saved["chosen"] in paths and len(saved["agreement"]) == 3


def test_select_refuses_a_single_run_in_one_line(tmp_path, capsys):
    InfoGAN().save(tmp_path / "only.safetensors")
    assert main(["select", str(tmp_path / "only.safetensors"), "--device", "cpu"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "at least 2" in err[0]
