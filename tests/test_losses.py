import math

import torch
from torch.testing import assert_close

from infogan.losses import discriminator_loss, generator_loss


def test_known_values_at_zero_logits():
    zeros = torch.zeros(4)
    assert_close(discriminator_loss(zeros, zeros), torch.tensor(2 * math.log(2)))
    assert_close(generator_loss(zeros), torch.tensor(math.log(2)))


def test_hand_computed_values():
    real, fake = torch.tensor([2.0]), torch.tensor([-1.0])
    d_expected = -math.log(torch.sigmoid(real).item()) - math.log(1 - torch.sigmoid(fake).item())
    assert_close(discriminator_loss(real, fake), torch.tensor(d_expected))
    assert_close(generator_loss(fake), torch.tensor(-math.log(torch.sigmoid(fake).item())))


def test_non_saturating_gradient_is_strong_when_d_wins():
    fake = torch.tensor([-8.0], requires_grad=True)
    generator_loss(fake).backward()
    assert fake.grad.item() < -0.99  # -(1 - sigmoid(-8))


def test_one_sided_label_smoothing_moves_only_the_real_target():
    real, fake = torch.tensor([1.5]), torch.tensor([-0.5])
    p_real, p_fake = torch.sigmoid(real).item(), torch.sigmoid(fake).item()
    expected = -(0.9 * math.log(p_real) + 0.1 * math.log(1 - p_real)) - math.log(1 - p_fake)
    assert_close(discriminator_loss(real, fake, real_target=0.9), torch.tensor(expected))
