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
    "MIXED_MARGINALS",
    "checksum",
    "decorrelated_latents",
    "digits_latents",
    "dsprites_like",
    "dsprites_like_latents",
    "factor_case",
    "factor_case_latents",
    "gaussian_latents",
    "gaussian_with_covariance",
    "independent_mixed_marginals",
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


# ---- mmd branch worlds

#: The marginals of :func:`independent_mixed_marginals`, cycled over the columns.
MIXED_MARGINALS = ("normal", "uniform", "bimodal", "exponential", "student_t5", "five_levels")


def independent_mixed_marginals(n: int = 3000, d: int = 6, *, seed: int = 0) -> np.ndarray:
    """Independent columns with different marginals (:data:`MIXED_MARGINALS`, cycled).

    Every companion statistic's population value is its independence value (TC, W2 and
    MI 0); the sample values are the statistics' null levels at this n and d, so the
    null intervals of :func:`lps_eval.independence.companion_nulls` must hold them at
    their nominal rate. ``five_levels`` has ties (5 equally likely values).
    """
    rng = _rng(seed)
    draws = {
        "normal": lambda: rng.standard_normal(n),
        "uniform": lambda: rng.uniform(-1.0, 1.0, n),
        "bimodal": lambda: rng.choice([-2.0, 2.0], n) + 0.5 * rng.standard_normal(n),
        "exponential": lambda: rng.exponential(1.0, n),
        "student_t5": lambda: rng.standard_t(5, n),
        "five_levels": lambda: rng.integers(0, 5, n).astype(float),
    }
    return np.column_stack([draws[MIXED_MARGINALS[j % len(MIXED_MARGINALS)]]() for j in range(d)])


def decorrelated_latents(
    n: int = 3000, d: int = 6, *, seed: int = 0, dtype: type = np.float64
) -> np.ndarray:
    """Dependent latents rotated onto their principal axes: sample covariance diagonal.

    The columns of ``x - mean`` times the eigenvectors of its covariance are uncorrelated
    in exact arithmetic (what PCA codes are), so the computed off-diagonal covariance is
    floating-point round-off, at the level of ``dtype`` (the rotation runs in ``dtype``).
    The columns are far from independent (a quadratic dependence).
    """
    rng = _rng(seed)
    base = rng.standard_normal((n, d))
    base[:, 1:] += 0.8 * base[:, :1] ** 2  # dependence that no rotation removes
    x = (base - base.mean(axis=0)).astype(dtype)
    _, vecs = np.linalg.eigh(np.cov(x.astype(np.float64), rowvar=False))
    return x @ vecs.astype(dtype)


# ---- metrics branch worlds
#
# Known answers for the metrics of the peers (Z-diff / Z-min-var / Z-max-var, DMIG / XMIG /
# DLIG, InfoMEC, DCI-ES, MED, the probe ladder): factors on a product grid of equal sizes
# (so that mixing two of them is symmetric) mapped to latents under a named structure.

#: Structures of :func:`metric_world`, with what a disentanglement metric should make of
#: them: ``identity`` (one clean latent per factor: high), ``rotated`` (factors mixed in
#: pairs at 45 degrees: every latent carries two factors equally, low), ``mixed`` (mild
#: dense mixing: in between), ``nonlinear`` (each factor on a circle, two latents per
#: factor: decodable, but not linearly), ``nuisance`` (identity plus pure-noise latents),
#: ``dead`` (identity plus exactly constant latents), ``dependent`` (identity codes of
#: interdependent factors: factor 1 copies factor 0 70% of the time) and ``random``
#: (latents independent of the factors: chance).
METRIC_WORLDS = (
    "identity",
    "rotated",
    "mixed",
    "nonlinear",
    "nuisance",
    "dead",
    "dependent",
    "random",
)
METRIC_WORLD_SIZES = (6, 6, 6, 6)
METRIC_WORLD_NOISE = 0.05

__all__ += ["METRIC_WORLDS", "METRIC_WORLD_SIZES", "metric_world", "metric_world_latents"]


def _rotate_pairs(s: np.ndarray) -> np.ndarray:
    """Mix columns (0, 1), (2, 3), ... at 45 degrees: (a + b, a - b) / sqrt(2)."""
    out = s.copy()
    for j in range(0, s.shape[1] - 1, 2):
        a, b = s[:, j], s[:, j + 1]
        out[:, j], out[:, j + 1] = (a + b) / np.sqrt(2), (a - b) / np.sqrt(2)
    return out


def metric_world_latents(
    world: str, factors: np.ndarray, rng: np.random.Generator, *, sizes: tuple[int, ...]
) -> np.ndarray:
    """Latent codes (rows = samples) of factor rows under the named structure
    (:data:`METRIC_WORLDS`)."""
    f = np.asarray(factors, dtype=float)
    n, k = f.shape
    size = np.asarray(sizes, dtype=float)
    s = (f - (size - 1) / 2) / (size / 2)  # each factor centred, in [-1, 1)

    def noisy(x: np.ndarray) -> np.ndarray:
        return x + METRIC_WORLD_NOISE * rng.normal(size=x.shape)

    if world in ("identity", "dependent"):
        return noisy(s)
    if world == "rotated":
        return noisy(_rotate_pairs(s))
    if world == "mixed":
        mix = np.eye(k) + 0.4 * np.roll(np.eye(k), 1, axis=1)
        return noisy(s @ mix)
    if world == "nonlinear":
        angle = np.pi * (f + 0.5) / size  # half a turn: one-to-one, far from linear
        return noisy(np.concatenate([np.cos(2 * angle), np.sin(2 * angle)], axis=1))
    if world == "nuisance":
        return np.concatenate([noisy(s), rng.normal(size=(n, 4))], axis=1)
    if world == "dead":
        return np.concatenate([noisy(s), np.zeros((n, 1)), np.full((n, 1), 2.0)], axis=1)
    if world == "random":
        return rng.normal(size=(n, k))
    raise ValueError(f"unknown world {world!r}; choose from {METRIC_WORLDS}")


def metric_world(
    world: str,
    n_train: int = 3000,
    n_test: int = 1500,
    *,
    seed: int = 0,
    sizes: tuple[int, ...] = METRIC_WORLD_SIZES,
) -> dict[str, np.ndarray]:
    """Train and test arrays of one known-answer world: ``z``, ``factors``, ``z_test``,
    ``factors_test`` (factors drawn uniformly from the grid of ``sizes``; in ``dependent``,
    factor 1 equals factor 0 with probability 0.7)."""
    rng = _rng(seed)
    n = n_train + n_test
    factors = sample_grid_factors(n, rng, tuple(sizes))
    if world == "dependent":
        copy = rng.random(n) < 0.7
        factors[copy, 1] = factors[copy, 0] % sizes[1]
    z = metric_world_latents(world, factors, rng, sizes=tuple(sizes))
    return {
        "z": z[:n_train],
        "factors": factors[:n_train],
        "z_test": z[n_train:],
        "factors_test": factors[n_train:],
    }


# ---- report worlds (lps branch)
# Worlds whose verdicts are known: what the report, the learning curve and the
# predictability figures must say about them (tests/reporting, tests/predictability).

__all__ += [
    "SINE_PRODUCT_CONDITIONAL",
    "SINE_PRODUCT_MARGINAL",
    "expected_linear_lps",
    "paired_linear_latents",
    "sine_product_latents",
    "slow_dependence_latents",
]

#: Ordered pairs ``(target, source)`` of :func:`sine_product_latents` where the best
#: prediction of the target uses the source (conditional dependence given the others).
SINE_PRODUCT_CONDITIONAL = frozenset(
    {(1, 0), (0, 1), (4, 2), (4, 3), (2, 3), (2, 4), (3, 2), (3, 4)}
)
#: Unordered pairs of :func:`sine_product_latents` that are dependent on their own
#: (``z2`` and ``z3`` are marginally independent: only ``z4`` ties them).
SINE_PRODUCT_MARGINAL = frozenset({(0, 1), (2, 4), (3, 4)})


def paired_linear_latents(
    n: int = 20_000, d: int = 256, *, r2: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, float]:
    """Gaussian dimensions in correlated pairs ``(2k, 2k + 1)``, correlation ``sqrt(r2)``.

    Every dimension is linearly predictable from its partner only, so the population
    R2 of each (linear = nonlinear, the world is Gaussian) and LPS are ``r2``; ``d`` must
    be even. A wide world: with ``p = d - 1`` predictors a fit on ``m`` training rows falls
    short of ``r2`` by a known amount (:func:`expected_linear_lps`), so a row cap biases
    the value visibly.

    Returns
    -------
    z : numpy.ndarray of shape (n, d)
    lps : float
        The population LPS, ``r2``.
    """
    if d % 2:
        raise ValueError(f"d must be even (dimensions come in pairs), got {d}")
    rng = _rng(seed)
    a = rng.standard_normal((n, d // 2))
    b = np.sqrt(r2) * a + np.sqrt(1.0 - r2) * rng.standard_normal((n, d // 2))
    z = np.empty((n, d))
    z[:, 0::2], z[:, 1::2] = a, b
    return z, float(r2)


def expected_linear_lps(r2: float, n_train: float, p: int) -> float:
    """Expected held-out R2 of least squares (with intercept) on ``p`` Gaussian predictors
    fitted on ``n_train`` rows, when the population R2 is ``r2``.

    The expected squared prediction error at a new point is
    ``(1 - r2) (1 + 1/m) (m - 2) / (m - p - 2)`` (Stein 1960) in units of the target's
    variance, for ``m = n_train``; one minus it is the expected held-out R2.
    """
    m = float(n_train)
    return 1.0 - (1.0 - r2) * (1.0 + 1.0 / m) * (m - 2.0) / (m - p - 2.0)


def sine_product_latents(n: int = 3000, *, noise: float = 0.3, seed: int = 0) -> np.ndarray:
    """Six dimensions: ``z1 = sin(2 z0) + noise e``, ``z4 = z2 z3 + noise e``, the rest N(0, 1).

    The issue-17 ``strong`` world. ``z1`` is nonlinearly predictable from ``z0`` (optimal
    R2 ``v / (v + noise^2)``, ``v = (1 - exp(-8)) / 2``); ``z4`` from the product of
    ``z2`` and ``z3`` (optimal R2 ``1 / (1 + noise^2)``), a dependence no single pair and
    no linear fit shows: ``z2`` and ``z3`` are independent on their own
    (:data:`SINE_PRODUCT_MARGINAL`), dependent given ``z4``
    (:data:`SINE_PRODUCT_CONDITIONAL`). ``z5`` is independent of everything.
    """
    rng = _rng(seed)
    z = rng.standard_normal((n, 6))
    z[:, 1] = np.sin(2 * z[:, 0]) + noise * rng.standard_normal(n)
    z[:, 4] = z[:, 2] * z[:, 3] + noise * rng.standard_normal(n)
    return z


def slow_dependence_latents(n: int = 4000, *, d: int = 4, seed: int = 0) -> np.ndarray:
    """``z_{d-1} = z0 z1 z2 + 0.1 e`` (a three-way product) and independent N(0, 1) others.

    A dependence with no pairwise or two-way signal: a regressor needs many rows to find
    it, so its held-out R2 still rises with the number of training rows at a few
    thousand rows (the learning curve has not converged there).
    """
    if d < 4:
        raise ValueError(f"d must be at least 4, got {d}")
    rng = _rng(seed)
    z = rng.standard_normal((n, d))
    z[:, d - 1] = z[:, 0] * z[:, 1] * z[:, 2] + 0.1 * rng.standard_normal(n)
    return z


# ---- udr branch worlds
#
# Several models' codes of the same inputs (UDR), and factor worlds for the downstream,
# fairness and out-of-distribution probes. numpy only, like the rest of this module.

#: Worlds of :func:`udr_models`.
UDR_CASES = ("aligned", "rotated", "unrelated", "inactive", "threshold", "dead_latent", "mixed")
UDR_N = 1000
UDR_DIMS = 5
UDR_MODELS = 4
UDR_NOISE = 0.1
#: KL (nats) of an informative latent, of a collapsed one, and of one between 0.01 and 0.05.
UDR_KL_ACTIVE, UDR_KL_COLLAPSED, UDR_KL_WEAK = 1.0, 1e-4, 0.03


def _rotation(d: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(d, d)))
    return q * np.sign(np.diag(r))


def _aligned_copy(s: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The sources, permuted, sign-flipped and rescaled, plus independent noise."""
    d = s.shape[1]
    scale = rng.uniform(0.5, 2.0, size=d) * rng.choice([-1.0, 1.0], size=d)
    return (s * scale)[:, rng.permutation(d)] + UDR_NOISE * rng.normal(size=s.shape)


def udr_models(
    case: str, *, n: int = UDR_N, n_models: int = UDR_MODELS, seed: int = 0
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Codes of ``n_models`` models of the same ``n`` inputs and their per-dimension KL.

    Known answers (``d = 5`` sources ``s ~ N(0, I)``, noise ``0.1``):

    - ``aligned``: every model is a permuted, sign-flipped, rescaled copy of ``s`` plus
      noise: UDR high (Lasso: the matched coefficient is ``rho - alpha`` with ``rho =
      1 / (1 + 0.01)``, so about 0.89; Spearman close to 1);
    - ``rotated``: every model is ``s`` times its own random rotation: UDR low;
    - ``unrelated``: independent codes: Lasso UDR exactly 0 (every sample correlation is
      below ``alpha``), Spearman small;
    - ``inactive``: ``aligned`` on 3 sources plus 2 collapsed latents (tiny values, KL
      1e-4): high with the KL filter; without it the collapsed latents count 0;
    - ``threshold``: ``aligned`` on 3 sources plus 2 weak, noisy duplicates of two of them
      with KL 0.03, between disentanglement_lib's fixed zeroing threshold (0.01) and a
      filter of 0.05 (counted, they lower the score: a duplicate is not one-to-one);
    - ``dead_latent``: ``aligned`` on 4 sources plus one exactly constant latent (KL 0):
      Spearman gives it NaN correlations;
    - ``mixed``: every model but the last aligned, the last rotated: the aligned models
      score as in ``aligned`` (the median of their pairs is an aligned pair), the rotated
      one ranks last (UDR's premise: good models are alike, each bad one is bad in its own
      way).
    """
    if case not in UDR_CASES:
        raise ValueError(f"unknown case {case!r}; choose from {UDR_CASES}")
    rng = _rng(seed + 3000 + UDR_CASES.index(case))
    d = UDR_DIMS
    active = np.full(d, UDR_KL_ACTIVE)
    if case in ("aligned", "mixed", "rotated"):
        s = rng.normal(size=(n, d))
        zs = []
        for m in range(n_models):
            rotate = case == "rotated" or (case == "mixed" and m == n_models - 1)
            zs.append(
                s @ _rotation(d, rng) + UDR_NOISE * rng.normal(size=s.shape)
                if rotate
                else _aligned_copy(s, rng)
            )
        return zs, [active.copy() for _ in zs]
    if case == "unrelated":
        return [rng.normal(size=(n, d)) for _ in range(n_models)], [active.copy()] * n_models
    k, extra = (4, 1) if case == "dead_latent" else (3, 2)
    s = rng.normal(size=(n, k))
    zs, kls = [], []
    for _ in range(n_models):
        z = _aligned_copy(s, rng)
        if case == "inactive":
            tail, kl_tail = 1e-3 * rng.normal(size=(n, extra)), UDR_KL_COLLAPSED
        elif case == "threshold":
            tail, kl_tail = s[:, :extra] + rng.normal(size=(n, extra)), UDR_KL_WEAK
        else:
            tail, kl_tail = np.full((n, extra), 0.25), 0.0
        order = rng.permutation(d)  # informative and uninformative latents interleaved
        zs.append(np.concatenate([z, tail], axis=1)[:, order])
        kls.append(np.concatenate([np.full(k, UDR_KL_ACTIVE), np.full(extra, kl_tail)])[order])
    return zs, kls


#: Worlds of :func:`fairness_latents` (factors on the :data:`FACTOR_CASE_SIZES` grid).
FAIRNESS_CASES = ("identity", "identity_noisy", "summed", "random")


def fairness_latents(case: str, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Codes of grid factors whose probes are fair, or not, under interventions.

    - ``identity``: the factor codes themselves: a probe of ``v_i`` reads only ``v_i``, so
      intervening on another factor moves no prediction (unfairness exactly 0 with paired
      draws);
    - ``identity_noisy``: :func:`factor_case_latents` ``identity_noisy``: fair up to the
      noise, about the null level;
    - ``summed``: ``v_0`` and ``v_1`` only through their sum ``v_0 + v_1`` (plus ``v_2``,
      small noise): a probe of ``v_0`` must guess from the sum, so its predictions follow
      ``v_1``: unfair for the pairs (0, 1) and (1, 0);
    - ``random``: codes independent of the factors: the predictions move with nothing
      (the null level).
    """
    if case in ("identity", "identity_noisy", "random"):
        return factor_case_latents(case, factors, rng)
    if case == "summed":
        f = np.asarray(factors, dtype=float)
        return np.column_stack([f[:, 0] + f[:, 1], f[:, 2]]) + 0.05 * rng.normal(size=(len(f), 2))
    raise ValueError(f"unknown case {case!r}; choose from {FAIRNESS_CASES}")


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
