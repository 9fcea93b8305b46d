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
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval import information
from lps_eval._random import STREAM_INDEPENDENCE, shuffled_rows, stream
from lps_eval._validation import (
    LpsDeprecationWarning,
    LpsInputError,
    check_latents,
    check_permutations,
    check_positive_int,
    constant_columns,
)
from lps_eval.information import histogram_discretize
from lps_eval.prior_matching import BLOCK, MmdResult, make_kernel, permutation_test
from lps_eval.results import MetricResult, make_row
from lps_eval.streaming import column_moments, column_range, iter_chunks, take_rows

__all__ = [
    "IndependenceResult",
    "covariance_ratio",
    "discretize",
    "gaussian_total_correlation",
    "gaussian_wasserstein_correlation",
    "mmd_independence",
    "mutual_info_matrix",
    "mutual_info_mean",
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
    const = constant_columns(z)
    keep = np.setdiff1d(np.arange(z.shape[1]), const)
    if keep.size == 0:
        raise LpsInputError(f"every dimension of {name} is constant; nothing to measure")
    # one chunked pass (the same blocks for an array, a memmap or a dask array)
    cov = np.atleast_2d(column_moments(z, columns=keep).covariance(ddof=1))
    return z, cov, const.tolist()


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
    # scale out c = mean variance first: the eigenproblem holds 4th powers of the data's
    # scale (latents at 1e90 would overflow); tr (S D)^{1/2} scales exactly by c
    c = float(np.trace(cov)) / cov.shape[0]
    unit = cov / c
    sd = np.sqrt(np.diag(unit))
    eig = np.linalg.eigvalsh(unit * sd[:, None] * sd[None, :])
    tr = float(np.trace(cov))
    value = max(2.0 * tr - 2.0 * c * float(np.sum(np.sqrt(np.clip(eig, 0.0, None)))), 0.0)
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
    """Deprecated alias of :func:`lps_eval.information.histogram_discretize` (removed in 0.3)."""
    warnings.warn(
        "lps_eval.independence.discretize moved to lps_eval.information.histogram_discretize",
        LpsDeprecationWarning,
        stacklevel=2,
    )
    return histogram_discretize(z, n_bins)


def mutual_info_matrix(codes: np.ndarray, *, n_bins: int | None = None) -> np.ndarray:
    """Deprecated: pairwise MI of the columns of ``codes`` (removed in 0.3).

    Use ``lps_eval.information.mutual_info_matrix(codes, codes)``; ``n_bins`` is not needed.
    """
    warnings.warn(
        "lps_eval.independence.mutual_info_matrix moved to "
        "lps_eval.information.mutual_info_matrix(codes, codes)",
        LpsDeprecationWarning,
        stacklevel=2,
    )
    return information.mutual_info_matrix(codes, codes)


def mutual_info_mean(z: Any, *, n_bins: int = 20) -> IndependenceResult:
    """Mean pairwise discretized mutual information over pairs ``i != j`` (nats).

    Streams over the rows: bin edges from the column ranges (one pass), then the pair
    counts block by block (a second pass); memory does not grow with the rows. The bins
    and the MI are those of :mod:`lps_eval.information` (disentanglement_lib's rule).
    """
    z = check_latents(z, min_samples=2, min_dims=1, lazy=True)
    # at most 1000 bins: the joint histograms hold n_bins^2 cells per pair of dimensions
    n_bins = check_positive_int(n_bins, name="n_bins", minimum=2, maximum=1000)
    n, d = z.shape
    if d < 2:
        value = math.nan
    else:
        edges = information.bin_edges(*column_range(z), n_bins)
        upper = np.zeros((d, d))
        # wide latents: a few passes, each counting the pairs (i, j > i) of a batch of i
        batch = max(1, information.MAX_PAIR_CELLS // (d * n_bins * n_bins))
        for first in range(0, d - 1, batch):
            rows = range(first, min(first + batch, d - 1))
            joint = marginal = None
            for _, block in iter_chunks(z):
                codes = information.digitize(block, edges)
                j_block, m_block = information.pair_counts(codes, n_bins=n_bins, rows=rows)
                joint = j_block if joint is None else joint + j_block
                marginal = m_block if marginal is None else marginal + m_block
            part = information.mutual_info_from_counts(joint, marginal, n)
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
    permutations = check_permutations(permutations)
    rng = stream(seed, STREAM_INDEPENDENCE)
    # canonical row order, then a seeded shuffle: exactly invariant to the given row order;
    # only the chosen rows are read from a memmap
    x = take_rows(z, shuffled_rows(z, max_samples, rng))
    half = x.shape[0] // 2
    a, b = x[:half], x[half : 2 * half]
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
        "row_order": "canonical (fixed projection), then seeded shuffle",
        "seed": seed,
    }
    return MmdResult(
        value=stat,
        settings=settings,
        p_value=p_value,
        statistic=stat,
        metric="mmd_independence",
    )
