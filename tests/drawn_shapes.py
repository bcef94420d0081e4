"""A model whose generator draws known shapes, so that calibration has known answers."""

import numpy as np
import torch

from infogan import InfoGAN

DEGREES_PER_UNIT = 15.0  # the drawn model: slant = 15° × c2


def draw_bars(slant_deg: np.ndarray, stroke: np.ndarray, shift: np.ndarray, size: int = 28) -> np.ndarray:
    """Antialiased upright bars (N, 1, size, size), sheared by ``slant_deg``, ``stroke`` pixels wide."""
    xs = np.arange(size) + 0.5
    up = size / 2 - (np.arange(size) + 0.5)  # (rows,), y pointing up
    middle = size / 2 + shift[:, None] + up[None, :] * np.tan(np.radians(slant_deg))[:, None]  # (N, rows)
    cover = np.clip(stroke[:, None, None] / 2 + 0.5 - np.abs(xs[None, None, :] - middle[:, :, None]), 0, 1)
    cover[:, np.abs(up) > 10] = 0.0
    return cover[:, None]


class BarModel(InfoGAN):
    """A model whose G draws a bar: c2 sets its slant, c3 its stroke width, the noise shifts it."""

    def render(self, latents):
        c2, c3 = latents.continuous[:, 0].numpy(), latents.continuous[:, 1].numpy()
        images = draw_bars(DEGREES_PER_UNIT * c2, 3.0 + c3, 2.0 * latents.noise[:, 0].numpy())
        return torch.from_numpy(images).float()
