"""Built-in latent codes with known dependence, for demos, tests and benchmarks.

Nothing is downloaded: data are simulated from a seed, or derived from scikit-learn's
bundled digits.
"""

from __future__ import annotations

import numpy as np

from lps_eval._random import make_rng

__all__ = [
    "digits_latents",
    "gaussian_latents",
    "gaussian_with_covariance",
    "nonlinear_pair",
]


def gaussian_latents(n: int = 5000, d: int = 8, *, seed: int = 0) -> np.ndarray:
    """Independent standard normal latents: population LPS = 0."""
    return make_rng(seed).standard_normal((n, d))


def gaussian_with_covariance(cov: np.ndarray, n: int = 5000, *, seed: int = 0) -> np.ndarray:
    """Zero-mean Gaussian latents with covariance ``cov``.

    Population linear (and optimal) R2 of dimension ``i``: ``1 - 1 / (S_ii P_ii)``.
    """
    cov = np.asarray(cov, dtype=float)
    return make_rng(seed).multivariate_normal(np.zeros(len(cov)), cov, size=n, method="cholesky")


def nonlinear_pair(
    n: int = 5000, *, noise: float = 0.3, extra_dims: int = 2, seed: int = 0
) -> tuple[np.ndarray, float]:
    """``z1 = sin(2 z0) + noise * e`` plus independent dimensions.

    Linearly z1 is almost unpredictable from z0, nonlinearly highly predictable.

    Returns
    -------
    z : numpy.ndarray of shape (n, 2 + extra_dims)
    r2_z1 : float
        Optimal-predictor R2 of z1, ``v / (v + noise^2)`` with
        ``v = Var(sin 2 z0) = (1 - exp(-8)) / 2`` for ``z0 ~ N(0, 1)``.
    """
    rng = make_rng(seed)
    z0 = rng.standard_normal(n)
    z1 = np.sin(2 * z0) + noise * rng.standard_normal(n)
    z = np.column_stack([z0, z1, rng.standard_normal((n, extra_dims))])
    var_signal = (1 - np.exp(-8.0)) / 2
    return z, float(var_signal / (var_signal + noise**2))


def digits_latents(n_components: int = 8, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """PCA codes of scikit-learn's bundled 8x8 digits, and the digit labels as a factor.

    PCA scores are linearly uncorrelated by construction, so linear LPS is ~0, yet they
    are far from independent: the nonlinear LPS exposes the gap.
    """
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA

    digits = load_digits()
    codes = PCA(n_components=n_components, random_state=seed).fit_transform(digits.data)
    return codes, digits.target.reshape(-1, 1)
