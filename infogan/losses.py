"""GAN losses on discriminator logits (the non-saturating form of Goodfellow et al., 2014)."""

import torch
import torch.nn.functional as F
from torch import Tensor


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor, *, real_target: float = 1.0) -> Tensor:
    """-log D(x) - log(1 - D(G(z))), averaged over each batch.

    ``real_target`` below 1 is one-sided label smoothing: D is never pushed to certainty on real
    images, while fakes keep the target 0.
    """
    real_logits, fake_logits = real_logits.float(), fake_logits.float()  # stable under bf16 autocast
    real = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_target))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def generator_loss(fake_logits: Tensor) -> Tensor:
    """-log D(G(z)): the non-saturating generator loss, strong gradients early in training."""
    fake_logits = fake_logits.float()
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def paired_cluster_information(
    probs: Tensor, probs_other: Tensor, *, balance: float = 1.0, eps: float = 1e-8
) -> Tensor:
    """I(y; y') between the cluster assignments of two views of the same images (IIC, Ji et al., 2019, Eq. 3).

    ``probs`` and ``probs_other`` are (B, k) soft assignments of an image and of its augmented
    copy. Their joint is estimated over the batch and symmetrised; the result is at most ln k,
    reached when the two views always agree and every cluster is used equally often, so maximising
    it asks for consistent and balanced clusters at once (no collapse into one class).

    ``balance`` weighs the marginals' part: the value is 2·balance·H(y) - H(y, y'), the mutual
    information at 1; above 1, a cluster that grows beyond its share costs more (IIC's code calls
    this weight lamb).
    """
    joint = probs.float().T @ probs_other.float() / probs.shape[0]  # (k, k)
    joint = ((joint + joint.T) / 2).clamp_min(eps)
    marginal = joint.sum(dim=1)
    # Two log nodes, as before the balance existed: one shared node sums its gradients in another
    # order, and the default's weights would change in their last bits.
    row, column = marginal.log()[:, None], marginal.log()[None, :]
    if balance != 1.0:
        row, column = balance * row, balance * column
    return (joint * (joint.log() - row - column)).sum()
