"""The benchmark's synthetic data: 10,000 x 10 latents, 5 dSprites-sized factors."""

from __future__ import annotations

import numpy as np

#: dSprites factor sizes without colour: shape, scale, orientation, x, y.
FACTOR_SIZES = (3, 6, 40, 32, 32)
N_DIMS = 10


def latent_map(factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Five noisy, mildly mixed factor dims plus five nuisance dims (rows = samples)."""
    sizes = np.asarray(FACTOR_SIZES, dtype=float)
    s = (np.asarray(factors, dtype=float) - (sizes - 1) / 2) / (sizes / 2)
    mix = np.eye(5) + 0.2 * np.roll(np.eye(5), 1, axis=1)
    n = len(s)
    return np.concatenate([s @ mix + 0.1 * rng.normal(size=(n, 5)), rng.normal(size=(n, 5))], 1)


def make(n_train: int = 10000, n_test: int = 5000, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    f = np.stack([rng.integers(0, k, n) for k in FACTOR_SIZES], axis=1)
    z = latent_map(f, rng)
    return {
        "z": z[:n_train],
        "factors": f[:n_train],
        "z_test": z[n_train:],
        "factors_test": f[n_train:],
    }
