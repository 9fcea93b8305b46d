r"""Unsupervised independence companions to LPS: are the latent dimensions independent?

All take latents ``z`` of shape (n, d), rows = samples, with ``S`` the sample covariance
(``ddof=1``) and ``R`` the correlation matrix.

- :func:`gaussian_total_correlation`:
  :math:`TC = \tfrac12 (\sum_i \log S_{ii} - \log\det S)` nats, the total correlation
  of a Gaussian with covariance ``S`` (disentanglement_lib
  ``gaussian_total_correlation``). 0 iff ``S`` is diagonal.
- :func:`gaussian_wasserstein_correlation`:
  :math:`W = 2\,\mathrm{tr}\,S - 2\,\mathrm{tr}\,(S\,\mathrm{diag}(S))^{1/2}`, the squared
  2-Wasserstein distance between :math:`N(0, S)` and :math:`N(0, \mathrm{diag}\,S)`,
  and its scale-free version :math:`W / \mathrm{tr}\,S`.
- :func:`covariance_ratio` (Fruytier et al. 2025, App. A.2):
  :math:`\sum_i S_{ii} / \sum_{i \ne j} |S_{ij}|`, both triangles of the off-diagonal
  (the paper does not say; we state it). Higher = more linearly independent; it is
  scale dependent and unbounded, so :func:`covariance_ratio` also returns the same ratio
  on the correlation matrix, :math:`d / \sum_{i\ne j} |R_{ij}|`
  (= 1 / ((d-1) * mean |r_ij|)).
- :func:`mutual_info_mean`: mean over pairs ``i != j`` of the mutual information (nats)
  of the dimensions discretized into 20 equal-width bins over their sample range
  (disentanglement_lib ``mutual_info_score`` / ``histogram_discretize``).
- :func:`mmd_independence`: a joint independence test: MMD between ``z`` and samples from
  the product of its marginals (rows of a disjoint half with each column permuted
  independently), with the permutation p-value of :mod:`lps_eval.mmd`.

Constant dimensions are independent of everything and have no defined correlation: the
covariance-based measures drop them (recorded as ``constant_dims``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._random import subsample_rows
from lps_eval._validation import LpsInputError, check_latents, check_positive_int
from lps_eval.kernels import make_kernel
from lps_eval.mmd import (
    _INDEPENDENCE_STREAM,
    BLOCK,
    MmdResult,
    _check_permutations,
    _stream,
    permutation_test,
)
from lps_eval.results import MetricResult, make_row
from lps_eval.streaming import column_moments, column_range, iter_chunks, read_all, take_rows

__all__ = [
    "IndependenceResult",
    "covariance_ratio",
    "discretize",
    "gaussian_total_correlation",
    "gaussian_wasserstein_correlation",
    "histogram_edges",
    "mmd_independence",
    "mutual_info_from_counts",
    "mutual_info_matrix",
    "mutual_info_mean",
    "pair_counts",
]


@dataclass(frozen=True)
class IndependenceResult(MetricResult):
    """One scalar independence measure (``metric`` names the ``metric`` column)."""

    metric: str = ""

    def rows(self) -> list[dict[str, Any]]:
        return [make_row(self.metric, self.value)]


def _cov(z: Any, *, name: str = "z") -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Validated latents, covariance of the non-constant dimensions, and the dropped ones."""
    z = check_latents(z, name=name, min_samples=3, min_dims=1, lazy=True)
    const = _constant_columns(z)
    keep = np.setdiff1d(np.arange(z.shape[1]), const)
    if keep.size == 0:
        raise LpsInputError(f"every dimension of {name} is constant; nothing to measure")
    # one chunked pass (the same blocks for an array, a memmap or a dask array)
    cov = np.atleast_2d(column_moments(z, columns=keep).covariance(ddof=1))
    return z, cov, const.tolist()


def _constant_columns(z: Any) -> np.ndarray:
    low, high = column_range(z)
    return np.flatnonzero(high == low)


def _settings(metric: str, z: np.ndarray, const: list[int], **extra: Any) -> dict[str, Any]:
    return {
        "metric": metric,
        "n_samples": int(z.shape[0]),
        "n_dims": int(z.shape[1]),
        "constant_dims": const,
        **extra,
    }


def gaussian_total_correlation(z: Any) -> IndependenceResult:
    r"""Gaussian total correlation :math:`\tfrac12(\sum_i \log S_{ii} - \log\det S)` (nats).

    ``inf`` when the covariance of the non-constant dimensions is singular (an exact
    linear dependence).
    """
    z, cov, const = _cov(z)
    sign, logdet = np.linalg.slogdet(cov)
    value = math.inf if sign <= 0 else 0.5 * (float(np.sum(np.log(np.diag(cov)))) - logdet)
    return IndependenceResult(
        value=max(float(value), 0.0),
        settings=_settings("gaussian_tc", z, const, units="nats"),
        metric="gaussian_tc",
    )


def gaussian_wasserstein_correlation(z: Any) -> tuple[IndependenceResult, IndependenceResult]:
    r"""Squared W2 between :math:`N(0,S)` and :math:`N(0,\mathrm{diag}\,S)`, raw and / tr S.

    :math:`\mathrm{tr}(S D)^{1/2} = \mathrm{tr}(D^{1/2} S D^{1/2})^{1/2}` (similar
    matrices), computed from the eigenvalues of the symmetric :math:`D^{1/2} S D^{1/2}`.
    """
    z, cov, const = _cov(z)
    sd = np.sqrt(np.diag(cov))
    eig = np.linalg.eigvalsh(cov * sd[:, None] * sd[None, :])
    tr = float(np.trace(cov))
    value = max(2.0 * tr - 2.0 * float(np.sum(np.sqrt(np.clip(eig, 0.0, None)))), 0.0)
    raw = IndependenceResult(
        value=value,
        settings=_settings("gaussian_wasserstein_correlation", z, const),
        metric="gaussian_wasserstein_correlation",
    )
    norm = IndependenceResult(
        value=value / tr,
        settings=_settings("gaussian_wasserstein_correlation_norm", z, const),
        metric="gaussian_wasserstein_correlation_norm",
    )
    return raw, norm


def covariance_ratio(z: Any) -> tuple[IndependenceResult, IndependenceResult]:
    r"""The paper's Covariance Ratio and its scale-free correlation version.

    :math:`CR = \sum_i S_{ii} / \sum_{i \ne j} |S_{ij}|` (both off-diagonal triangles) and
    :math:`CR_R = d / \sum_{i \ne j} |R_{ij}|`. ``inf`` when every off-diagonal entry is 0;
    NaN with fewer than 2 non-constant dimensions.
    """
    z, cov, const = _cov(z)
    d = cov.shape[0]
    off = ~np.eye(d, dtype=bool)
    sd = np.sqrt(np.diag(cov))
    corr = cov / sd[:, None] / sd[None, :]
    values = []
    for mat, diag_sum in ((cov, float(np.trace(cov))), (corr, float(d))):
        denom = float(np.abs(mat[off]).sum())
        if d < 2:
            values.append(math.nan)
        else:
            values.append(math.inf if denom == 0 else diag_sum / denom)
    convention = "sum of diagonal / sum of |off-diagonal|, both triangles (i != j)"
    return (
        IndependenceResult(
            value=values[0],
            settings=_settings(
                "covariance_ratio", z, const, convention=convention + ", covariance"
            ),
            metric="covariance_ratio",
        ),
        IndependenceResult(
            value=values[1],
            settings=_settings(
                "covariance_ratio_corr", z, const, convention=convention + ", correlation"
            ),
            metric="covariance_ratio_corr",
        ),
    )


def discretize(z: np.ndarray, *, n_bins: int = 20) -> np.ndarray:
    """Equal-width histogram bins per column over its sample range (codes 0..n_bins-1).

    Matches disentanglement_lib ``histogram_discretize`` (``np.digitize`` with the
    ``np.histogram`` edges minus the last, shifted to start at 0).
    """
    edges = histogram_edges(*column_range(z), n_bins=n_bins)
    return np.concatenate([_digitize(block, edges) for _, block in iter_chunks(z)])


def histogram_edges(low: np.ndarray, high: np.ndarray, *, n_bins: int) -> list[np.ndarray]:
    """The edges ``np.histogram(column, bins=n_bins)`` uses: they depend on the range only."""
    return [
        np.histogram(np.array([lo, hi]), bins=n_bins)[1] for lo, hi in zip(low, high, strict=True)
    ]


def _digitize(block: np.ndarray, edges: list[np.ndarray]) -> np.ndarray:
    codes = np.empty(block.shape, dtype=np.int64)
    for j, col_edges in enumerate(edges):  # one column at a time (d loops, not n)
        codes[:, j] = np.digitize(block[:, j], col_edges[:-1]) - 1
    return codes


#: Most joint-histogram cells held at once by :func:`mutual_info_mean` (int64: 256 MiB).
MAX_PAIR_CELLS = 1 << 25


def pair_counts(
    codes: np.ndarray, *, n_bins: int, rows: range | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Joint histogram counts of pairs ``i < j`` and the marginal counts of every column.

    Returns ``(joint, marginal)``: ``joint`` of shape (d, d, n_bins, n_bins) with the
    pair ``(i, j)``, ``i < j``, in ``joint[i, j]`` (one ``bincount`` per column ``i``,
    vectorized over samples; only ``i`` in ``rows`` when given, other entries 0),
    ``marginal`` of shape (d, n_bins). Counts of disjoint row blocks add up, so a file
    can be counted block by block with identical results.
    """
    d = codes.shape[1]
    cells = n_bins * n_bins
    joint = np.zeros((d, d, n_bins, n_bins), dtype=np.int64)
    marginal = np.stack([np.bincount(codes[:, j], minlength=n_bins) for j in range(d)])
    for i in range(d - 1) if rows is None else rows:
        rest = d - i - 1
        if rest < 1:
            continue
        flat = codes[:, i : i + 1] * n_bins + codes[:, i + 1 :] + cells * np.arange(rest)
        joint[i, i + 1 :] = np.bincount(flat.ravel(), minlength=cells * rest).reshape(
            rest, n_bins, n_bins
        )
    return joint, marginal


def mutual_info_from_counts(joint: np.ndarray, marginal: np.ndarray, n: int) -> np.ndarray:
    r""":math:`I(c_i; c_j) = \sum_{a,b} p_{ab} \log(p_{ab} / (p_a p_b))` from :func:`pair_counts`."""
    d = marginal.shape[0]
    mi = np.zeros((d, d))
    marg = marginal / n
    for i in range(d - 1):
        p = joint[i, i + 1 :] / n
        outer = marg[i][None, :, None] * marg[i + 1 :][:, None, :]
        ratio = np.divide(p, outer, out=np.ones_like(p), where=p > 0)
        mi[i, i + 1 :] = np.sum(p * np.log(ratio), axis=(1, 2))
    mi = mi + mi.T
    for j in range(d):  # I(c; c) = H(c)
        pj = marg[j][marg[j] > 0]
        mi[j, j] = -float(np.sum(pj * np.log(pj)))
    return mi


def mutual_info_matrix(codes: np.ndarray, *, n_bins: int) -> np.ndarray:
    r"""Pairwise mutual information (nats) of discrete columns: :math:`I(c_i; c_j)`.

    :math:`I = \sum_{a,b} p_{ab} \log(p_{ab} / (p_a p_b))` from the joint histogram of each
    pair (see :func:`pair_counts` and :func:`mutual_info_from_counts`).
    """
    return mutual_info_from_counts(*pair_counts(codes, n_bins=n_bins), codes.shape[0])


def mutual_info_mean(z: Any, *, n_bins: int = 20) -> IndependenceResult:
    """Mean pairwise discretized mutual information over pairs ``i != j`` (nats).

    Streams over the rows: bin edges from the column ranges (one pass), then the pair
    counts block by block (a second pass); memory does not grow with the rows.
    """
    z = check_latents(z, min_samples=2, min_dims=1, lazy=True)
    n_bins = check_positive_int(n_bins, name="n_bins", minimum=2)
    n, d = z.shape
    if d < 2:
        value = math.nan
    else:
        edges = histogram_edges(*column_range(z), n_bins=n_bins)
        upper = np.zeros((d, d))
        # wide latents: a few passes, each counting the pairs (i, j > i) of a batch of i
        batch = max(1, MAX_PAIR_CELLS // (d * n_bins * n_bins))
        for first in range(0, d - 1, batch):
            rows = range(first, min(first + batch, d - 1))
            joint = marginal = None
            for _, block in iter_chunks(z):
                j_block, m_block = pair_counts(_digitize(block, edges), n_bins=n_bins, rows=rows)
                joint = j_block if joint is None else joint + j_block
                marginal = m_block if marginal is None else marginal + m_block
            part = mutual_info_from_counts(joint, marginal, n)
            upper[first : rows.stop] = np.triu(part, k=1)[first : rows.stop]
        mi = upper + upper.T
        np.fill_diagonal(mi, np.diag(part))  # entropies: from the marginals, every pass
        value = float((mi.sum() - np.trace(mi)) / (d * d - d))
    return IndependenceResult(
        value=value,
        settings=_settings("mutual_info_mean", z, [], n_bins=n_bins, units="nats"),
        metric="mutual_info_mean",
    )


def mmd_independence(
    z: Any,
    *,
    kernel: str = "rbf_multiscale",
    bandwidth: float | None = None,
    estimator: str = "unbiased",
    permutations: int = 200,
    max_samples: int | None = 5000,
    seed: int = 0,
    block: int = BLOCK,
) -> MmdResult:
    r"""Joint independence test: MMD between ``z`` and the product of its marginals.

    The (subsampled) rows are split at random into halves ``A`` and ``B``; every column
    of ``B`` is permuted independently, which turns ``B`` into a sample of the product of
    the marginals, independent of ``A``. Then the two-sample MMD^2 of ``A`` vs permuted
    ``B`` with its permutation p-value: under independence both halves come from the same
    distribution, so the test is exact. Using disjoint halves costs power but keeps the
    p-value valid (a permuted copy of the same rows is not an independent sample).

    Parameters
    ----------
    z : array-like (n, d), d >= 2
    kernel, bandwidth, estimator, permutations, seed, block
        As in :func:`lps_eval.mmd`.
    max_samples : int or None, default 5000
        Rows used in total (both halves).

    Returns
    -------
    MmdResult
        ``metric = "mmd_independence"``, ``value`` = MMD^2, ``p_value``.
    """
    z = check_latents(z, min_samples=8, min_dims=2, lazy=True)
    permutations = _check_permutations(permutations)
    rng = _stream(seed, _INDEPENDENCE_STREAM)
    idx = subsample_rows(z.shape[0], max_samples, rng)
    x = read_all(z) if idx is None else take_rows(z, idx)
    order = rng.permutation(x.shape[0])
    half = x.shape[0] // 2
    a, b = x[order[:half]], x[order[half : 2 * half]]
    b = rng.permuted(b, axis=0)  # each column shuffled independently
    kern = make_kernel(kernel, bandwidth=bandwidth, pooled=np.vstack([a, b]), rng=rng)
    stat, p_value, _ = permutation_test(
        a, b, kern, estimator=estimator, permutations=permutations, rng=rng, block=block
    )
    settings = {
        "metric": "mmd_independence",
        **kern.describe(),
        "estimator": estimator,
        "permutations": permutations,
        "max_samples": max_samples,
        "n_samples_used": 2 * half,
        "split": "disjoint halves; second half column-permuted",
        "seed": seed,
    }
    return MmdResult(
        value=stat,
        settings=settings,
        p_value=p_value,
        statistic=stat,
        metric="mmd_independence",
    )


@dataclass(frozen=True)
class _Summary(MetricResult):
    """Several independence results as one (rows concatenated, settings keyed by metric)."""

    parts: tuple[MetricResult, ...] = ()

    def rows(self) -> list[dict[str, Any]]:
        return [row for part in self.parts for row in part.rows()]


#: Options of :func:`lps_eval.score` this section consumes (shared with the prior section).
SCORE_OPTIONS = (
    "kernel",
    "bandwidth",
    "estimator",
    "permutations",
    "max_samples",
    "mi_bins",
)


def _score_section(ctx: Any) -> list[MetricResult]:
    """The independence companions for :func:`lps_eval.score` (needs d >= 2)."""
    from lps_eval.mmd import SCORE_MAX_SAMPLES

    z = ctx.z
    if z.shape[1] < 2:
        return []
    opts = ctx.options
    if _constant_columns(z).size == z.shape[1]:
        return []
    parts: list[MetricResult] = []
    if z.shape[0] >= 8:  # two halves of at least 4 rows
        parts.append(
            mmd_independence(
                z,
                kernel=opts.get("kernel", "rbf_multiscale"),
                bandwidth=opts.get("bandwidth"),
                estimator=opts.get("estimator", "unbiased"),
                permutations=opts.get("permutations", 200),
                max_samples=opts.get("max_samples", SCORE_MAX_SAMPLES),
                seed=ctx.seed,
            )
        )
    parts += [
        gaussian_total_correlation(z),
        *gaussian_wasserstein_correlation(z),
        *covariance_ratio(z),
        mutual_info_mean(z, n_bins=opts.get("mi_bins", 20)),
    ]
    settings = {part.settings["metric"]: part.settings for part in parts}
    value = parts[0].value
    return [_Summary(value=value, settings=settings, parts=tuple(parts))]


def _register() -> None:
    from lps_eval.score import register_section

    register_section(
        "independence",
        _score_section,
        metrics=(
            "mmd_independence",
            "gaussian_tc",
            "gaussian_wasserstein_correlation",
            "gaussian_wasserstein_correlation_norm",
            "covariance_ratio",
            "covariance_ratio_corr",
            "mutual_info_mean",
        ),
        options=SCORE_OPTIONS,
    )


_register()
