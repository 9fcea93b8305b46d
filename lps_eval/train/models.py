"""One convolutional encoder/decoder pair for every objective.

The AE, AE+MMD and (beta-)VAE runs differ only in the loss: the encoder always outputs
``2 * latent_dim`` numbers (a mean and a log-variance); deterministic objectives use the
mean and ignore the log-variance head, so the parameter count is identical across
objectives and comparisons are architecture-fair.

Architecture (for a C x H x W input, k = number of stride-2 stages, chosen so the
smallest feature map is about 4 x 4):

    encoder: k x [Conv 4x4 stride 2, ReLU] (channels `width`, `width`, 2 `width`, ...)
             -> flatten -> Linear(hidden) -> ReLU -> Linear(2 d)
    decoder: Linear(hidden) -> ReLU -> Linear(flat) -> ReLU -> reshape
             -> k x [ConvTranspose 4x4 stride 2 (ReLU between)] -> logits

With the default ``width=32, hidden=256`` on 64x64 inputs this is the 4-stage
encoder/decoder of Higgins et al. (2017) / Burgess et al. (2018) used for dSprites.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ConvAutoencoder", "n_stages"]


def n_stages(height: int, width: int) -> int:
    """Number of stride-2 stages that brings min(H, W) down to about 4 pixels (at least 1)."""
    smallest = min(height, width)
    return max(1, math.floor(math.log2(smallest / 4.0))) if smallest >= 8 else 1


class ConvAutoencoder(nn.Module):
    """Convolutional encoder/decoder with a Gaussian-posterior head.

    Parameters
    ----------
    image_shape : tuple (C, H, W)
        Input image shape; any H, W >= 4 (odd sizes handled with output padding).
    latent_dim : int
        Latent dimension d.
    width : int
        Channels of the first conv stage; doubled every two stages.
    hidden : int
        Width of the fully connected layer.
    """

    def __init__(
        self,
        image_shape: tuple[int, int, int],
        latent_dim: int,
        *,
        width: int = 32,
        hidden: int = 256,
    ) -> None:
        super().__init__()
        c, h, w = (int(s) for s in image_shape)
        self.image_shape = (c, h, w)
        self.latent_dim = int(latent_dim)
        k = n_stages(h, w)
        chans = [c] + [width * 2 ** (i // 2) for i in range(k)]
        sizes = [(h, w)]
        for _ in range(k):
            sh, sw = sizes[-1]
            sizes.append((sh // 2, sw // 2))
        self._sizes = sizes
        enc: list[nn.Module] = []
        for i in range(k):
            enc += [nn.Conv2d(chans[i], chans[i + 1], 4, stride=2, padding=1), nn.ReLU()]
        self.encoder_conv = nn.Sequential(*enc)
        flat = chans[-1] * sizes[-1][0] * sizes[-1][1]
        self._feature_shape = (chans[-1], *sizes[-1])
        self.encoder_fc = nn.Sequential(
            nn.Flatten(), nn.Linear(flat, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent_dim)
        )
        self.decoder_fc = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, flat), nn.ReLU()
        )
        dec: list[nn.Module] = []
        for i in range(k, 0, -1):
            out_h, out_w = sizes[i - 1]
            in_h, in_w = sizes[i]
            pad = (out_h - 2 * in_h, out_w - 2 * in_w)  # 0 or 1 for odd sizes
            dec.append(
                nn.ConvTranspose2d(
                    chans[i],
                    chans[i - 1] if i > 1 else c,
                    4,
                    stride=2,
                    padding=1,
                    output_padding=pad,
                )
            )
            if i > 1:
                dec.append(nn.ReLU())
        self.decoder_conv = nn.Sequential(*dec)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance, each (n, d)."""
        out = self.encoder_fc(self.encoder_conv(x))
        mean, logvar = out.chunk(2, dim=1)
        return mean, logvar

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel logits (n, C, H, W); ``torch.sigmoid`` gives the reconstruction in [0, 1]."""
        feat = self.decoder_fc(z).view(z.shape[0], *self._feature_shape)
        return self.decoder_conv(feat)
