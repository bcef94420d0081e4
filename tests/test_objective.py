import math

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from infogan.latent import LatentBatch
from infogan.model import InfoGAN
from infogan.networks import build_pair_classifier
from infogan.objective import ContrastivePairs, Objective
from infogan.properties import slant


def _objective(config):
    """The objective of ``config`` over fresh networks, with InfoGAN-CR's H when it asks for CR."""
    model = InfoGAN(config.model, device="cpu")
    h = build_pair_classifier(config.model.network, model.spec.continuous) if config.cr_weight else None
    return Objective(config, model.nets, model.spec, pair_classifier=h)


def _rng(seed=0):
    return torch.Generator().manual_seed(seed)


def _fake_batch(objective, n=8, seed=0):
    latents = objective.spec.sample(n, generator=_rng(seed))
    return latents, objective.nets.generate(objective.spec.generator_input(latents))


def _d_losses(objective, real, fake, latents, *, step=0, seed=0):
    return objective.discriminator_losses(real, fake.detach(), latents, step=step, generator=_rng(seed))


def _g_losses(objective, fake, latents, pairs=None, *, step=0):
    return objective.generator_losses(fake, latents, pairs, step=step, generator=_rng())


def _params_with_grad(module):
    return {id(p) for p in module.parameters() if p.grad is not None and p.grad.abs().sum() > 0}


def _ids(params):
    return {id(p) for p in params}


# ----- D's and Q's losses ------------------------------------------------------------------------
@pytest.mark.parametrize("reaches", ["head", "body"])
def test_information_loss_in_d_step_reaches_exactly_q_and_maybe_body(tiny_config, tiny_data, reaches):
    objective = _objective(tiny_config.replace(info_reaches=reaches))
    nets = objective.nets
    latents, fake = _fake_batch(objective)
    _d_losses(objective, tiny_data.images[:8], fake, latents).info.backward()
    expected = _ids(nets.q_head.parameters())
    if reaches == "body":
        expected |= _ids(nets.body.parameters())
    assert _params_with_grad(nets) == expected


def test_gan_loss_in_d_step_reaches_exactly_d(tiny_config, tiny_data):
    objective = _objective(tiny_config)
    latents, fake = _fake_batch(objective)
    _d_losses(objective, tiny_data.images[:8], fake, latents).gan.backward()
    assert _params_with_grad(objective.nets) == _ids(objective.nets.discriminator_parameters())


def test_plain_gan_still_trains_q_but_not_body_through_info(tiny_config, tiny_data):
    objective = _objective(tiny_config.replace(plain_gan=True, info_reaches="body"))
    latents, fake = _fake_batch(objective)
    _d_losses(objective, tiny_data.images[:8], fake, latents).info.backward()
    assert _params_with_grad(objective.nets) == _ids(objective.nets.q_head.parameters())


def test_label_smoothing_lowers_only_the_real_target(tiny_config, tiny_data):
    smoothed = _objective(tiny_config.replace(label_smoothing=0.2))
    exact = Objective(tiny_config, smoothed.nets, smoothed.spec)
    latents, fake = _fake_batch(smoothed)
    real = tiny_data.images[:8]
    a, b = _d_losses(smoothed, real, fake, latents), _d_losses(exact, real, fake, latents)
    # BCE(x, t) = softplus(x) - t·x: a target of 0.8 instead of 1 adds 0.2 × the mean real logit
    real_logits, _ = smoothed.nets.discriminate(real)
    assert_close(a.gan - b.gan, 0.2 * real_logits.mean(), rtol=1e-4, atol=1e-5)
    assert_close(a.info, b.info)


# ----- G's losses --------------------------------------------------------------------------------
@pytest.mark.parametrize("plain", [False, True])
def test_generator_losses_reach_only_g_while_only_the_generator_learns(tiny_config, plain):
    objective = _objective(tiny_config.replace(plain_gan=plain))
    latents, fake = _fake_batch(objective)
    with objective.only_generator_learns():
        _g_losses(objective, fake, latents).total.backward()
    assert _params_with_grad(objective.nets) == _ids(objective.nets.generator.parameters())
    assert all(p.requires_grad for p in objective.nets.parameters())


def test_without_freezing_g_losses_would_reach_d_and_q(tiny_config):
    objective = _objective(tiny_config)
    latents, fake = _fake_batch(objective)
    _g_losses(objective, fake, latents).total.backward()
    reached = _params_with_grad(objective.nets)
    assert _ids(objective.nets.discriminator_parameters()) & reached
    assert _ids(objective.nets.q_head.parameters()) <= reached


def test_generator_info_term_present_unless_plain(tiny_config):
    info_gan = _objective(tiny_config)
    latents, fake = _fake_batch(info_gan)
    assert _g_losses(info_gan, fake, latents).info is not None
    plain = Objective(tiny_config.replace(plain_gan=True), info_gan.nets, info_gan.spec)
    assert _g_losses(plain, fake, latents).info is None


# ----- the consistency term ----------------------------------------------------------------------
def test_consistency_adds_a_term_for_q_and_g(tiny_config, tiny_data):
    plain = _objective(tiny_config.replace(consistency=0.0))
    warped = Objective(tiny_config.replace(consistency=1.0), plain.nets, plain.spec)
    latents, fake = _fake_batch(plain)
    real = tiny_data.images[:8]
    d_plain = _d_losses(plain, real, fake, latents)
    d_warped = _d_losses(warped, real, fake, latents)
    assert d_warped.info > d_plain.info  # the same NLLs plus a positive consistency term
    assert_close(d_warped.gan, d_plain.gan)
    warped.nets.zero_grad()
    _g_losses(warped, fake, latents).info.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in warped.nets.generator.parameters())


def test_consistency_is_a_no_op_without_categorical_codes(tiny_config, tiny_data):
    config = tiny_config.replace(latent={"categorical": ()})
    objective = _objective(config.replace(consistency=1.0))
    latents, fake = _fake_batch(objective)
    assert objective.warped_fakes(fake, _rng()) is None
    off = Objective(config.replace(consistency=0.0), objective.nets, objective.spec)
    real = tiny_data.images[:8]
    assert_close(_d_losses(objective, real, fake, latents).info, _d_losses(off, real, fake, latents).info)


# ----- instance noise ----------------------------------------------------------------------------
def test_instance_noise_decays_linearly_to_zero(tiny_config):
    objective = _objective(tiny_config.replace(instance_noise=0.2, steps=10))
    assert [objective.instance_noise_sigma(step) for step in (0, 5, 10)] == pytest.approx([0.2, 0.1, 0.0])
    images = torch.zeros(8, 1, 28, 28)
    assert objective.with_instance_noise(images, step=0, generator=_rng()).std() == pytest.approx(0.2, rel=0.1)
    assert torch.equal(objective.with_instance_noise(images, step=10, generator=_rng()), images)


def test_instance_noise_reaches_d_in_both_players_losses(tiny_config, tiny_data):
    noisy = _objective(tiny_config.replace(instance_noise=0.5))
    clean = Objective(tiny_config, noisy.nets, noisy.spec)
    latents, fake = _fake_batch(noisy)
    real = tiny_data.images[:8]
    assert not torch.equal(_d_losses(noisy, real, fake, latents).gan, _d_losses(clean, real, fake, latents).gan)
    assert not torch.equal(_g_losses(noisy, fake, latents).gan, _g_losses(clean, fake, latents).gan)
    late = tiny_config.steps  # σ has decayed to 0
    assert_close(_g_losses(noisy, fake, latents, step=late).gan, _g_losses(clean, fake, latents, step=late).gan)


# ----- IIC on real images ------------------------------------------------------------------------
@pytest.mark.parametrize("reaches", ["head", "body"])
def test_iic_term_learns_from_real_images(tiny_config, tiny_data, reaches):
    objective = _objective(tiny_config.replace(iic=2.0, info_reaches=reaches))
    nets = objective.nets
    latents, fake = _fake_batch(objective)
    real = tiny_data.images[:8]
    losses = _d_losses(objective, real, fake, latents, seed=1)
    assert "iic/c1" in losses.scalars
    # the term's only input besides the fakes' is the real batch: other real images, another loss
    other = _d_losses(objective, 1 - real, fake, latents, seed=1)
    assert not torch.equal(losses.scalars["iic/c1"], other.scalars["iic/c1"])
    losses.info.backward()
    expected = _ids(nets.q_head.parameters()) | (_ids(nets.body.parameters()) if reaches == "body" else set())
    assert _params_with_grad(nets) == expected


@pytest.mark.parametrize("head_only", [False, True])
def test_iic_head_only_keeps_the_iic_term_out_of_ds_body(tiny_config, tiny_data, head_only):
    config = tiny_config.replace(iic=2.0, info_reaches="body", iic_head_only=head_only)
    objective = _objective(config)
    latents, fake = _fake_batch(objective)
    losses = _d_losses(objective, tiny_data.images[:8], fake, latents, seed=1)
    losses.scalars["iic/c1"].backward()
    body = _ids(objective.nets.body.parameters())
    assert _params_with_grad(objective.nets) == _ids(objective.nets.q_head.parameters()) | (
        set() if head_only else body
    )


def test_neighbour_pairs_add_a_second_iic_term_at_the_same_weight(tiny_config, tiny_data):
    objective = _objective(tiny_config.replace(iic=2.0, iic_neighbours=3))
    latents, fake = _fake_batch(objective)
    real, neighbours = tiny_data.images[:8], tiny_data.images[8:16]

    def losses(paired):
        return objective.discriminator_losses(
            real, fake.detach(), latents, step=0, generator=_rng(1), neighbours=paired
        )

    alone, paired = losses(None), losses(neighbours)
    assert "iic_neighbours/c1" not in alone.scalars
    # the real images' own pair draws the same warps first, so it is the same with or without neighbours
    assert_close(paired.scalars["iic/c1"], alone.scalars["iic/c1"])
    assert_close(paired.info, alone.info - 2.0 * paired.scalars["iic_neighbours/c1"])
    assert not torch.equal(losses(1 - neighbours).scalars["iic_neighbours/c1"], paired.scalars["iic_neighbours/c1"])


def test_iic_off_leaves_the_step_unchanged(tiny_config, tiny_data):
    objective = _objective(tiny_config.replace(iic=0.0))
    latents, fake = _fake_batch(objective)
    losses = _d_losses(objective, tiny_data.images[:8], fake, latents)
    assert not any(name.startswith("iic/") for name in losses.scalars)
    assert losses.real_reading is None  # nor is Q run on the real images


def test_a_learned_prior_gets_q_reading_of_the_real_batch(tiny_config, tiny_data):
    objective = _objective(tiny_config.replace(latent={"categorical_prior": "learned"}, iic=0.0))
    latents, fake = _fake_batch(objective)
    real = tiny_data.images[:8]
    reading = _d_losses(objective, real, fake, latents).real_reading
    expected = objective.spec.read_q(objective.nets.q_logits_of(real))
    assert_close(reading.logits[0], expected.logits[0])


# ----- InfoGAN-CR's contrastive regulariser -------------------------------------------------------
def test_contrastive_weight_follows_its_schedule(cr_config):
    objective = _objective(cr_config)
    assert [objective.contrastive_weight(s) for s in range(4)] == [0.0, 0.0, 2.0, 2.0]


def _pairs(objective, n=8):
    first, second, shared = objective.spec.contrastive_pairs(n, generator=_rng())
    images = objective.nets.generate(objective.spec.generator_input(LatentBatch.concat([first, second])))
    return ContrastivePairs(torch.cat(images.split(n), dim=1), shared)


def test_contrastive_loss_is_the_cross_entropy_of_naming_the_shared_code(cr_config):
    objective = _objective(cr_config.replace(network={"spectral_norm": False}))
    with torch.no_grad():
        objective.pair_classifier[-1].weight.zero_()  # every logit is H's bias, 0 at init: uniform over 5 codes
    pairs = _pairs(objective)
    assert pairs.images.shape == (8, 2, 64, 64)
    loss, accuracy = objective.contrastive_loss(pairs)
    assert_close(loss, torch.tensor(math.log(5.0)))
    assert_close(accuracy, (pairs.shared == 0).float().mean())  # argmax of equal logits is code 0


def test_contrastive_loss_reaches_g_and_h_and_each_players_loss_its_own(cr_config):
    objective = _objective(cr_config)
    nets, h = objective.nets, objective.pair_classifier

    def reached():
        ids = _params_with_grad(nets) | _params_with_grad(h)
        for p in [*nets.parameters(), *h.parameters()]:
            p.grad = None
        return ids

    objective.contrastive_loss(_pairs(objective))[0].backward()
    assert reached() == _ids(nets.generator.parameters()) | _ids(h.parameters())
    objective.contrastive_loss(_pairs(objective).detached())[0].backward()  # H's own step
    assert reached() == _ids(h.parameters())
    latents, fake = _fake_batch(objective)
    with objective.only_generator_learns():
        losses = _g_losses(objective, fake, latents, _pairs(objective), step=cr_config.cr_start)
        losses.total.backward()
    assert reached() == _ids(nets.generator.parameters())
    assert all(p.requires_grad for p in h.parameters())


def test_the_contrastive_term_joins_g_info_loss_with_its_weight(cr_config):
    objective = _objective(cr_config)
    latents, fake = _fake_batch(objective)
    pairs = _pairs(objective)
    without = _g_losses(objective, fake, latents).info
    before_start = _g_losses(objective, fake, latents, pairs, step=0).info  # weight 0 before cr_start
    on = _g_losses(objective, fake, latents, pairs, step=cr_config.cr_start).info
    assert_close(before_start, without)
    assert_close(on - without, cr_config.cr_weight * objective.contrastive_loss(pairs)[0], rtol=1e-5, atol=1e-6)


def test_iic_rotation_zero_keeps_the_real_pairs_slant(tiny_config):
    bar = torch.zeros(32, 1, 28, 28)
    bar[:, :, 6:22, 13:15] = 1.0  # upright strokes
    config = tiny_config.replace(iic=1.0, iic_warp=1.5)
    turned = _objective(config).warped_reals(bar, _rng())
    upright = _objective(config.replace(iic_rotation=0.0)).warped_reals(bar, _rng())
    assert np.abs(slant(upright.numpy())).max() < 1.0 < 10.0 < np.abs(slant(turned.numpy())).max()


def test_iic_erase_blanks_a_square_of_each_copy_and_nothing_without_it(tiny_config):
    ink = torch.ones(16, 1, 28, 28)
    config = tiny_config.replace(iic=1.0, iic_warp=0.0)  # no warp: only the erasing changes the copy
    assert torch.equal(_objective(config).warped_reals(ink, _rng()), ink)
    erased = _objective(config.replace(iic_erase=0.25)).warped_reals(ink, _rng())
    blank = (erased == 0).sum(dim=(1, 2, 3))
    assert ((blank >= 1) & (blank <= 49)).all()
