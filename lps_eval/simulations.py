"""Latent worlds with known answers, shared by tests, benchmarks, examples and docs.

Nothing is downloaded: data are simulated from a seed, or derived from scikit-learn's
bundled digits. Two families:

- *unsupervised worlds* with a known LPS: independent Gaussians (LPS = 0), Gaussians with
  a given covariance (linear R2 ``1 - 1 / (S_ii P_ii)``), a sine dependence with a
  closed-form optimal R2, and PCA codes of digits (linearly uncorrelated, not independent);
- *factor worlds* for the supervised metrics: factors on a product grid mapped to latents
  under a named structure (:data:`FACTOR_CASES`: identity, rotation, entanglement, dead
  dimensions, ...), the cases behind the disentanglement_lib golden numbers, and a
  dSprites-sized world for benchmarks (:func:`dsprites_like`).

This module imports only numpy (scikit-learn lazily, for the digits), so the reference
scripts that run inside a disentanglement_lib environment load this one file by path.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DSPRITES_FACTOR_SIZES",
    "FACTOR_CASES",
    "FACTOR_CASE_SIZES",
    "checksum",
    "digits_latents",
    "dsprites_like",
    "dsprites_like_latents",
    "factor_case",
    "factor_case_latents",
    "gaussian_latents",
    "gaussian_with_covariance",
    "nonlinear_pair",
    "sample_grid_factors",
]


def _rng(seed: int) -> np.random.Generator:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.default_rng(int(seed))


def gaussian_latents(n: int = 5000, d: int = 8, *, seed: int = 0) -> np.ndarray:
    """Independent standard normal latents: population LPS = 0."""
    return _rng(seed).standard_normal((n, d))


def gaussian_with_covariance(cov: np.ndarray, n: int = 5000, *, seed: int = 0) -> np.ndarray:
    """Zero-mean Gaussian latents with covariance ``cov``.

    Population linear (and optimal) R2 of dimension ``i``: ``1 - 1 / (S_ii P_ii)``.
    """
    cov = np.asarray(cov, dtype=float)
    return _rng(seed).multivariate_normal(np.zeros(len(cov)), cov, size=n, method="cholesky")


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
    rng = _rng(seed)
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


# ---------------------------------------------------------------- factor worlds

#: Number of values of each ground-truth factor (a product grid).
FACTOR_CASE_SIZES = (4, 5, 6)
FACTOR_CASE_N_TRAIN = 1500
FACTOR_CASE_N_TEST = 750
FACTOR_CASE_NOISE = 0.3

FACTOR_CASES = (
    "identity",
    "identity_noisy",
    "permutation",
    "rotation",
    "monotone_warp",
    "entanglement",
    "redundancy",
    "nuisance",
    "dead_dims",
    "random",
    "heavy_noise",
)

#: Factor cases with an exactly constant latent dimension (disentanglement_lib fails on them).
CONSTANT_FACTOR_CASES = ("dead_dims",)


def sample_grid_factors(
    n: int, rng: np.random.Generator, sizes: tuple[int, ...] = FACTOR_CASE_SIZES
) -> np.ndarray:
    """``n`` rows drawn uniformly from the product grid of ``sizes`` (int64)."""
    return np.stack([rng.integers(0, k, size=n) for k in sizes], axis=1)


def _standardize(factors: np.ndarray) -> np.ndarray:
    sizes = np.asarray(FACTOR_CASE_SIZES, dtype=float)
    return (factors - (sizes - 1) / 2) / (sizes / 2)


def factor_case_latents(case: str, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Latent codes (rows = samples) for factor rows under the named structure."""
    f = np.asarray(factors, dtype=float)
    n = f.shape[0]
    s = _standardize(f)
    k = s.shape[1]

    def noise(d: int) -> np.ndarray:
        return FACTOR_CASE_NOISE * rng.normal(size=(n, d))

    if case == "identity":
        return f.copy()
    if case == "identity_noisy":
        return s + noise(k)
    if case == "permutation":
        scale = np.array([2.0, -0.5, 1.5])
        return (s * scale)[:, [2, 0, 1]] + noise(k)
    if case == "rotation":
        q = np.linalg.qr(np.random.default_rng(7).normal(size=(k, k)))[0]
        return s @ q + noise(k)
    if case == "monotone_warp":
        warped = np.stack([np.exp(s[:, 0]), np.tanh(2 * s[:, 1]), s[:, 2] ** 3], axis=1)
        return warped + noise(k)
    if case == "entanglement":
        mix = np.array([[1.0, 0.6, 0.0], [0.0, 1.0, 0.6], [0.6, 0.0, 1.0]])
        return s @ mix + noise(k)
    if case == "redundancy":
        return np.concatenate([s + noise(k), s + noise(k)], axis=1)
    if case == "nuisance":
        return np.concatenate([s + noise(k), rng.normal(size=(n, 3))], axis=1)
    if case == "dead_dims":
        z = s + noise(k)
        return np.concatenate([z[:, :2], np.zeros((n, 1)), z[:, 2:], np.full((n, 1), 3.0)], axis=1)
    if case == "heavy_noise":  # BetaVAE / FactorVAE well below 1
        mix = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.5], [0.5, 0.0, 1.0]])
        return s @ mix + 5 * noise(k)
    if case == "random":
        return rng.normal(size=(n, 4))
    raise ValueError(f"unknown case {case!r}")


def factor_case(case: str) -> dict[str, np.ndarray]:
    """Train and test arrays of one case: ``z``, ``factors``, ``z_test``, ``factors_test``."""
    seed = 1000 + FACTOR_CASES.index(case)
    rng = np.random.default_rng(seed)
    factors = sample_grid_factors(FACTOR_CASE_N_TRAIN + FACTOR_CASE_N_TEST, rng)
    z = factor_case_latents(case, factors, rng)
    return {
        "z": z[:FACTOR_CASE_N_TRAIN],
        "factors": factors[:FACTOR_CASE_N_TRAIN],
        "z_test": z[FACTOR_CASE_N_TRAIN:],
        "factors_test": factors[FACTOR_CASE_N_TRAIN:],
    }


def checksum(arrays: dict[str, np.ndarray]) -> float:
    """A float fingerprint of the generated arrays."""
    return float(sum(np.abs(a).sum() for a in arrays.values()))


#: dSprites factor sizes without colour: shape, scale, orientation, x, y.
DSPRITES_FACTOR_SIZES = (3, 6, 40, 32, 32)
DSPRITES_LIKE_DIMS = 10


def dsprites_like_latents(factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Five noisy, mildly mixed factor dims plus five nuisance dims (rows = samples)."""
    sizes = np.asarray(DSPRITES_FACTOR_SIZES, dtype=float)
    s = (np.asarray(factors, dtype=float) - (sizes - 1) / 2) / (sizes / 2)
    mix = np.eye(5) + 0.2 * np.roll(np.eye(5), 1, axis=1)
    n = len(s)
    return np.concatenate([s @ mix + 0.1 * rng.normal(size=(n, 5)), rng.normal(size=(n, 5))], 1)


def dsprites_like(n_train: int = 10000, n_test: int = 5000, seed: int = 0) -> dict[str, np.ndarray]:
    """The benchmark world: 10 latents (5 noisy, mildly mixed factor dims + 5 nuisance)
    over 5 dSprites-sized factors; train and test rows."""
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    f = np.stack([rng.integers(0, k, n) for k in DSPRITES_FACTOR_SIZES], axis=1)
    z = dsprites_like_latents(f, rng)
    return {
        "z": z[:n_train],
        "factors": f[:n_train],
        "z_test": z[n_train:],
        "factors_test": f[n_train:],
    }


# ---- intervals branch worlds
#
# Known-answer worlds that every registered supervised metric is checked on by
# tests/metrics/test_registry_common.py (through the properties and needs it declares), the
# coverage world of the intervals, and the integer-code world of the MIG discretizer's
# disentanglement_lib cross-check (tools/dlib/make_golden_options.py).

#: Factor sizes of the known-answer worlds.
KNOWN_WORLD_SIZES = (3, 4, 5)
#: Known-answer worlds: aligned codes (one noisy latent per factor), the same codes mixed by
#: a reflection (every latent dominated by the other factors), aligned codes plus two
#: pure-noise latents, and latents independent of the factors.
KNOWN_WORLDS = ("identity", "rotated", "nuisance", "random")
#: Inputs on which some or all supervised numbers cannot mean anything.
DEGENERATE_WORLDS = (
    "all_factors_constant",
    "one_factor_constant",
    "unique_factor_values",
    "single_latent",
    "single_factor",
    "constant_latents",
    "fewer_test_rows_than_classes",
    "one_test_class",
)
#: The mixing of the "rotated" world: the Householder reflection I - 2 u u^T, u = 1/sqrt(3).
MIXING_REFLECTION = np.eye(3) - 2.0 / 3.0


def _aligned_codes(factors: np.ndarray, sizes, noise: float, rng) -> np.ndarray:
    """Factors scaled into (-1, 1) plus Gaussian noise: one latent per factor."""
    sizes = np.asarray(sizes, dtype=float)
    s = (np.asarray(factors, dtype=float) - (sizes - 1) / 2) / (sizes / 2)
    return s + noise * rng.normal(size=s.shape)


def known_world(kind: str, n: int = 600, *, seed: int = 0, noise: float = 0.1) -> dict:
    """``{"z", "factors"}`` of one known-answer world (:data:`KNOWN_WORLDS`).

    The same factor rows and the same noise underlie every kind for a given seed, so
    ``identity`` and ``rotated`` differ only by the mixing, and ``nuisance`` only by its
    two extra N(0, 0.5^2) latents.
    """
    if kind not in KNOWN_WORLDS:
        raise ValueError(f"unknown world {kind!r}; known: {KNOWN_WORLDS}")
    rng = _rng(seed)
    factors = sample_grid_factors(n, rng, KNOWN_WORLD_SIZES)
    z = _aligned_codes(factors, KNOWN_WORLD_SIZES, noise, rng)
    extra = 0.5 * rng.normal(size=(n, 2))
    if kind == "rotated":
        z = z @ MIXING_REFLECTION
    elif kind == "nuisance":
        z = np.concatenate([z, extra], axis=1)
    elif kind == "random":
        z = rng.normal(size=z.shape) * 0.5
    return {"z": z, "factors": factors}


def degenerate_world(kind: str, n: int = 240, *, seed: int = 0) -> dict:
    """Arrays of one degenerate input (:data:`DEGENERATE_WORLDS`); ``z_test`` /
    ``factors_test`` are included for the two test-split worlds."""
    if kind not in DEGENERATE_WORLDS:
        raise ValueError(f"unknown world {kind!r}; known: {DEGENERATE_WORLDS}")
    rng = _rng(seed)
    sizes = (3, 4)
    factors = sample_grid_factors(n, rng, sizes)
    z = np.concatenate([_aligned_codes(factors, sizes, 0.1, rng), rng.normal(size=(n, 1))], 1)
    out = {"z": z, "factors": factors}
    if kind == "all_factors_constant":
        out["factors"] = np.tile([2, 0], (n, 1))
    elif kind == "one_factor_constant":
        out["factors"] = np.concatenate([factors, np.full((n, 1), 7)], axis=1)
    elif kind == "unique_factor_values":
        out["factors"] = np.stack([np.arange(n), rng.permutation(n)], axis=1)
    elif kind == "single_latent":
        out["z"] = z[:, :1]
    elif kind == "single_factor":
        out["factors"] = factors[:, :1]
    elif kind == "constant_latents":
        out["z"] = np.tile([0.0, 1.5, -2.0], (n, 1))
    elif kind == "fewer_test_rows_than_classes":
        many = sample_grid_factors(n + 4, rng, (8, 6))
        zz = np.concatenate(
            [_aligned_codes(many, (8, 6), 0.1, rng), rng.normal(size=(n + 4, 1))], 1
        )
        out = {"z": zz[:n], "factors": many[:n], "z_test": zz[n:], "factors_test": many[n:]}
    elif kind == "one_test_class":
        m = 40
        test_f = np.zeros((m, 2), dtype=np.int64)
        test_z = np.concatenate(
            [_aligned_codes(test_f, sizes, 0.1, rng), rng.normal(size=(m, 1))], 1
        )
        out.update(z_test=test_z, factors_test=test_f)
    return out


def coverage_world(n: int, *, seed: int = 0) -> dict:
    """``{"z", "factors"}`` with bounded (uniform) noise, so the histogram bins and MIG have
    a population limit (Gaussian noise would widen the range, and the bins, with n):
    two factors of 4 and 5 values, two mildly mixed latents and a nuisance latent."""
    rng = _rng(seed)
    factors = sample_grid_factors(n, rng, (4, 5))
    s = factors / np.array([4.0, 5.0])
    mix = np.array([[1.0, 0.4], [0.0, 1.0]])
    z = np.concatenate([s @ mix + 0.25 * rng.uniform(size=(n, 2)), rng.uniform(size=(n, 1))], 1)
    return {"z": z, "factors": factors}


def integer_codes_world(n: int = 1500, *, seed: int = 11) -> dict:
    """``{"z", "factors"}`` whose latents are integers with 30-45 distinct values each (more
    than the 20 histogram bins): the case where disentanglement_lib's identity and
    histogram discretizers give different MIG."""
    rng = _rng(seed)
    factors = sample_grid_factors(n, rng, FACTOR_CASE_SIZES)
    codes = _aligned_codes(factors, FACTOR_CASE_SIZES, 0.25, rng)
    return {"z": np.round(15 * codes).astype(np.float64), "factors": factors}


__all__ += [
    "DEGENERATE_WORLDS",
    "KNOWN_WORLDS",
    "KNOWN_WORLD_SIZES",
    "MIXING_REFLECTION",
    "coverage_world",
    "degenerate_world",
    "integer_codes_world",
    "known_world",
]
