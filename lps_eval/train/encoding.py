"""Encode images with a model and measure reconstruction error (shared by loop and monitor)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["encode_images", "encode_posterior", "nmse_db"]


def encode_images(
    model: Any, images: np.ndarray, *, device: str = "cpu", batch_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and sigmoid reconstructions of ``images`` (float32 N, C, H, W).

    Leaves the model in eval mode and consumes no random numbers.

    Returns
    -------
    (z, x_hat) : float32 arrays of shapes (N, d) and (N, C, H, W).
    """
    z, _, x_hat = encode_posterior(model, images, device=device, batch_size=batch_size)
    return z, x_hat


def encode_posterior(
    model: Any, images: np.ndarray, *, device: str = "cpu", batch_size: int = 1024
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Posterior means, log-variances and reconstructions sigmoid(dec(mean)) of ``images``.

    Leaves the model in eval mode and consumes no random numbers.

    Returns
    -------
    (mean, logvar, x_hat) : float32 arrays of shapes (N, d), (N, d) and (N, C, H, W).
    """
    import torch

    model.eval()
    means, logvars, xs = [], [], []
    with torch.no_grad():
        for start in range(0, images.shape[0], batch_size):
            x = torch.as_tensor(images[start : start + batch_size], device=device)
            mean, logvar = model.encode(x)
            means.append(mean.cpu().numpy())
            logvars.append(logvar.cpu().numpy())
            xs.append(torch.sigmoid(model.decode(mean)).cpu().numpy())
    return np.concatenate(means), np.concatenate(logvars), np.concatenate(xs)


def nmse_db(x: np.ndarray, x_hat: np.ndarray) -> float:
    """Normalized reconstruction error in dB: 10 log10(sum (x - x_hat)^2 / sum x^2)."""
    x = np.asarray(x, dtype=np.float64)
    err = np.sum((x - np.asarray(x_hat, dtype=np.float64)) ** 2)
    return float(10.0 * math.log10(err / np.sum(x**2)))
