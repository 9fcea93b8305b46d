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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval import information
from lps_eval._random import STREAM_INDEPENDENCE, canonical_row_order, shuffled_rows, stream
from lps_eval._validation import (
    LpsDeprecationWarning,
    LpsInputError,
    LpsInputWarning,
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
    "COMPANIONS",
    "NULL_DRAWS",
    "NULL_SHUFFLES",
    "NULL_SHUFFLE_ELEMENTS",
    "IndependenceResult",
    "companion_nulls",
    "covariance_ratio",
    "covariance_ratios_of",
    "covariance_statistics",
    "discretize",
    "expected_mean_mutual_info",
    "gaussian_total_correlation",
    "gaussian_wasserstein_correlation",
    "mean_pair_mutual_info",
    "mmd_independence",
    "mutual_info_matrix",
    "mutual_info_mean",
    "round_off_tolerance",
    "total_correlation_of",
    "wasserstein_correlation_of",
]


@dataclass(frozen=True)
class IndependenceResult(MetricResult):
    """One scalar independence measure (``metric`` names the ``metric`` column).

    A null level (``<metric>_null``, from :func:`companion_nulls`) also carries its
    interval (``ci_low``, ``ci_high``) and how it was found (``null_method``).
    """

    metric: str = ""
    ci_low: float = math.nan
    ci_high: float = math.nan
    null_method: str | None = None

    def rows(self) -> list[dict[str, Any]]:
        extra = {} if self.null_method is None else {"null_method": self.null_method}
        return [
            make_row(self.metric, self.value, ci_low=self.ci_low, ci_high=self.ci_high, **extra)
        ]


def _cov(z: Any, *, name: str = "z") -> tuple[Any, np.ndarray, list[int]]:
    """Validated latents, covariance of the non-constant dimensions, and the dropped ones."""
    z = check_latents(z, name=name, min_samples=3, min_dims=1, lazy=True)
    const = constant_columns(z)
    keep = np.setdiff1d(np.arange(z.shape[1]), const)
    if keep.size == 0:
        raise LpsInputError(f"every dimension of {name} is constant; nothing to measure")
    # one chunked pass (the same blocks for an array, a memmap or a dask array)
    cov = np.atleast_2d(column_moments(z, columns=keep).covariance(ddof=1))
    return z, cov, const.tolist()


def total_correlation_of(cov: np.ndarray) -> float:
    r"""Gaussian TC of a covariance matrix, :math:`\tfrac12(\sum_i \log S_{ii} - \log\det S)`.

    ``inf`` when ``cov`` is singular; never below 0 (round-off).
    """
    sign, logdet = np.linalg.slogdet(cov)
    value = math.inf if sign <= 0 else 0.5 * (float(np.sum(np.log(np.diag(cov)))) - logdet)
    return max(float(value), 0.0)


def wasserstein_correlation_of(cov: np.ndarray) -> tuple[float, float]:
    r"""Squared W2 between :math:`N(0,S)` and :math:`N(0,\mathrm{diag}\,S)`, and / tr S.

    :math:`\mathrm{tr}(S D)^{1/2} = \mathrm{tr}(D^{1/2} S D^{1/2})^{1/2}` (similar
    matrices), computed from the eigenvalues of the symmetric :math:`D^{1/2} S D^{1/2}`.
    """
    # scale out c = mean variance first: the eigenproblem holds 4th powers of the data's
    # scale (latents at 1e90 would overflow); tr (S D)^{1/2} scales exactly by c
    c = float(np.trace(cov)) / cov.shape[0]
    unit = cov / c
    sd = np.sqrt(np.diag(unit))
    eig = np.linalg.eigvalsh(unit * sd[:, None] * sd[None, :])
    tr = float(np.trace(cov))
    value = max(2.0 * tr - 2.0 * c * float(np.sum(np.sqrt(np.clip(eig, 0.0, None)))), 0.0)
    return value, value / tr


def covariance_ratios_of(cov: np.ndarray) -> tuple[float, float]:
    r"""Covariance ratio and its correlation twin of a covariance matrix (no noise rule).

    :math:`\sum_i S_{ii} / \sum_{i \ne j} |S_{ij}|` and :math:`d / \sum_{i \ne j} |R_{ij}|`;
    ``inf`` when the off-diagonal sum is 0, NaN below 2 dimensions.
    """
    d = cov.shape[0]
    if d < 2:
        return math.nan, math.nan
    off = ~np.eye(d, dtype=bool)
    sd = np.sqrt(np.diag(cov))
    corr = cov / sd[:, None] / sd[None, :]
    values = []
    for mat, diag_sum in ((cov, float(np.trace(cov))), (corr, float(d))):
        denom = float(np.abs(mat[off]).sum())
        values.append(math.inf if denom == 0 else diag_sum / denom)
    return values[0], values[1]


def round_off_tolerance(n: int, dtype: Any) -> float:
    r"""Largest correlation that floating-point round-off alone can produce.

    A sample covariance is a length-``n`` sum of products: its computed value carries an
    error of at most about :math:`n\,\varepsilon\,\sqrt{S_{ii} S_{jj}}` (Higham 2002,
    *Accuracy and Stability of Numerical Algorithms*, Sec. 3.1, the bound of a dot
    product), with :math:`\varepsilon` the machine epsilon of the dtype the latents were
    computed and stored in (float32: 1.2e-7; float64, integers: 2.2e-16). So when every
    :math:`|R_{ij}| \le n\varepsilon`, the off-diagonal cannot be told from round-off.
    The tolerance is capped at :math:`10^{-3}/\sqrt{n}`, a thousandth of the sampling
    standard deviation of a correlation, so that genuinely independent columns (whose
    correlations are of order :math:`1/\sqrt n`) are never mistaken for round-off; the
    cap matters only for float32 beyond about 10,000 rows.
    """
    kind = np.dtype(dtype).kind
    eps = float(np.finfo(dtype).eps) if kind == "f" else float(np.finfo(np.float64).eps)
    return min(n * eps, 1e-3 / math.sqrt(n))


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
    linear dependence). Its level on independent columns at this N and d is
    :func:`companion_nulls` (about :math:`d(d-1) / (4(n-1))`).
    """
    z, cov, const = _cov(z)
    return IndependenceResult(
        value=total_correlation_of(cov),
        settings=_settings("gaussian_tc", z, const, units="nats"),
        metric="gaussian_tc",
    )


def gaussian_wasserstein_correlation(z: Any) -> tuple[IndependenceResult, IndependenceResult]:
    r"""Squared W2 between :math:`N(0,S)` and :math:`N(0,\mathrm{diag}\,S)`, raw and / tr S.

    See :func:`wasserstein_correlation_of`; the null level is :func:`companion_nulls`.
    """
    z, cov, const = _cov(z)
    value, norm_value = wasserstein_correlation_of(cov)
    raw = IndependenceResult(
        value=value,
        settings=_settings("gaussian_wasserstein_correlation", z, const),
        metric="gaussian_wasserstein_correlation",
    )
    norm = IndependenceResult(
        value=norm_value,
        settings=_settings("gaussian_wasserstein_correlation_norm", z, const),
        metric="gaussian_wasserstein_correlation_norm",
    )
    return raw, norm


def covariance_ratio(z: Any) -> tuple[IndependenceResult, IndependenceResult]:
    r"""The paper's Covariance Ratio and its scale-free correlation version.

    :math:`CR = \sum_i S_{ii} / \sum_{i \ne j} |S_{ij}|` (both off-diagonal triangles) and
    :math:`CR_R = d / \sum_{i \ne j} |R_{ij}|`; NaN with fewer than 2 non-constant
    dimensions. Both divide by the off-diagonal, so they are ``inf`` when it is 0 *or
    indistinguishable from floating-point round-off*: every
    :math:`|R_{ij}| \le` :func:`round_off_tolerance` (decorrelated latents such as PCA
    codes). Then ``settings["off_diagonal"]`` says so and an
    :class:`~lps_eval.LpsInputWarning` is emitted: a ratio of round-off would print a
    number such as 5e14 decided by the last bits. Independent columns give about
    :math:`\sqrt{\pi (n-1) / 2} / (d - 1)` (:func:`companion_nulls`).
    """
    z, cov, const = _cov(z)
    values = list(covariance_ratios_of(cov))
    d = cov.shape[0]
    note = None
    if d >= 2:
        sd = np.sqrt(np.diag(cov))
        largest = float(np.max(np.abs(cov / sd[:, None] / sd[None, :])[~np.eye(d, dtype=bool)]))
        tol = round_off_tolerance(z.shape[0], z.dtype)
        if largest <= tol:
            values = [math.inf, math.inf]
            note = (
                f"off-diagonal at floating-point round-off: max |r_ij| = {largest:.3g} <= "
                f"{tol:.3g} = min(n eps, 1e-3 / sqrt(n)) for n = {z.shape[0]}, "
                f"{np.dtype(z.dtype).name}; both ratios reported as inf"
            )
            warnings.warn(
                f"covariance_ratio: {note} (decorrelated latents, e.g. PCA codes)",
                LpsInputWarning,
                stacklevel=2,
            )
    convention = "sum of diagonal / sum of |off-diagonal|, both triangles (i != j)"
    extra = {} if note is None else {"off_diagonal": note}
    return (
        IndependenceResult(
            value=values[0],
            settings=_settings(
                "covariance_ratio", z, const, convention=convention + ", covariance", **extra
            ),
            metric="covariance_ratio",
        ),
        IndependenceResult(
            value=values[1],
            settings=_settings(
                "covariance_ratio_corr", z, const, convention=convention + ", correlation", **extra
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
    value = math.nan
    if d >= 2:
        edges = information.bin_edges(*column_range(z), n_bins)
        value = mean_pair_mutual_info(
            lambda: (information.digitize(block, edges) for _, block in iter_chunks(z)),
            n,
            d,
            n_bins,
        )
    return IndependenceResult(
        value=value,
        settings=_settings("mutual_info_mean", z, [], n_bins=n_bins, units="nats"),
        metric="mutual_info_mean",
    )


def mean_pair_mutual_info(
    code_blocks: Callable[[], Iterable[np.ndarray]], n: int, d: int, n_bins: int
) -> float:
    """Mean plug-in MI (nats) over the pairs ``i != j`` of binned codes.

    ``code_blocks()`` yields the codes (``0 .. n_bins - 1``) block by block, ``n`` rows in
    all; it is called once per batch of pairs (wide latents: the joint histograms of a
    batch hold at most :data:`lps_eval.information.MAX_PAIR_CELLS` cells).
    """
    upper = np.zeros((d, d))
    batch = max(1, information.MAX_PAIR_CELLS // (d * n_bins * n_bins))
    for first in range(0, d - 1, batch):
        rows = range(first, min(first + batch, d - 1))
        joint = marginal = None
        for codes in code_blocks():
            j_block, m_block = information.pair_counts(codes, n_bins=n_bins, rows=rows)
            joint = j_block if joint is None else joint + j_block
            marginal = m_block if marginal is None else marginal + m_block
        part = information.mutual_info_from_counts(joint, marginal, n)
        upper[first : rows.stop] = np.triu(part, k=1)[first : rows.stop]
    mi = upper + upper.T
    np.fill_diagonal(mi, np.diag(part))  # entropies: from the marginals, every pass
    return float((mi.sum() - np.trace(mi)) / (d * d - d))


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


# --------------------------------------------------------------------------- null levels

#: The companion statistics that get a ``<metric>_null`` row, in table order.
COMPANIONS = (
    "gaussian_tc",
    "gaussian_wasserstein_correlation",
    "gaussian_wasserstein_correlation_norm",
    "covariance_ratio",
    "covariance_ratio_corr",
    "mutual_info_mean",
)
#: Column-shuffled copies behind a shuffled null: the observed statistic on independent
#: columns falls inside their [min, max] with probability (B - 1) / (B + 1) = 95 %.
NULL_SHUFFLES = 39
#: Shuffle up to this many values (n x d); larger inputs get the asymptotic null.
NULL_SHUFFLE_ELEMENTS = 1 << 18
#: Draws of the asymptotic correlation null for the covariance statistics.
NULL_DRAWS = 2000
#: Tag of the null levels' random stream (never change it: the numbers would move).
STREAM_INDEPENDENCE_NULL = 0x6E756C
NULL_METHODS = ("auto", "shuffle", "asymptotic")


def companion_nulls(
    z: Any,
    *,
    n_bins: int = 20,
    seed: int = 0,
    method: str = "auto",
    shuffles: int = NULL_SHUFFLES,
) -> list[IndependenceResult]:
    r"""The level every companion statistic reaches on independent columns, at this N and d.

    A companion statistic is not 0 on independent data: Gaussian TC and the Wasserstein
    correlation are sums of squared sample correlations (each about :math:`1/(n-1)`),
    the binned MI has the plug-in bias of Miller (1955) and Madow, and the covariance
    ratios divide by sums of :math:`|r_{ij}| \approx \sqrt{2/(\pi (n-1))}`. This function
    gives that level with an interval, one ``<metric>_null`` result per statistic of
    :data:`COMPANIONS`; a value is evidence of dependence only outside its interval
    (above it for TC, W2 and MI; below it for the ratios, where higher means more
    independent).

    ``method``:

    ``"shuffle"``
        The statistic on ``shuffles`` copies of the latents with every column permuted
        independently (seeded; rows first put in the canonical order, so the row order
        of the input does not matter): exactly "independent columns with these
        marginals". ``value`` = the mean, interval = [min, max] of the copies, which
        holds the statistic of independent data with probability
        :math:`(B - 1)/(B + 1)` (95 % at :data:`NULL_SHUFFLES` = 39, exchangeability).
    ``"asymptotic"``
        Large N: the sample correlations of independent columns are asymptotically
        independent :math:`N(0, 1/(n-1))` (the permutation variance is exactly
        :math:`1/(n-1)`); the covariance statistics are evaluated on :data:`NULL_DRAWS`
        covariance matrices :math:`D^{1/2}(I + E)D^{1/2}` drawn from that limit (mean,
        2.5 and 97.5 % quantiles), and the MI from its closed form: :math:`2n\,\hat I_{ij}`
        is asymptotically :math:`\chi^2` with :math:`(K_i - 1)(K_j - 1)` degrees of
        freedom (:math:`K` = occupied bins; the G-test), so the mean over the
        :math:`p = d(d-1)/2` pairs is :math:`\chi^2_{\sum df} / (2np)`, mean
        :math:`\sum df / (2np)`: the Miller-Madow first-order bias.
    ``"auto"`` (default)
        ``"shuffle"`` up to :data:`NULL_SHUFFLE_ELEMENTS` values (n x d), else
        ``"asymptotic"``.

    ``settings["closed_forms"]`` of each result holds the first-order closed forms,
    whatever the method: Gaussian TC (Bartlett 1954):
    :math:`-(n - 1 - (2d+5)/6) \log\det R \sim \chi^2_p`, so the level is
    :math:`p / (2(n - 1 - (2d + 5)/6))`; Wasserstein:
    :math:`\sum_{i<j} \sigma_i^2\sigma_j^2 / ((\sigma_i^2 + \sigma_j^2)(n-1))`;
    correlation ratio: :math:`\sqrt{\pi (n-1)/2} / (d - 1)`; MI: Miller-Madow.

    Parameters
    ----------
    z : array-like (n, d), d >= 2
    n_bins : int, default 20
        Bins of ``mutual_info_mean``.
    seed : int, default 0
    method : {"auto", "shuffle", "asymptotic"}
    shuffles : int, default 39
        Column-shuffled copies of the shuffled null (at least 2).

    Returns
    -------
    list of IndependenceResult
        ``gaussian_tc_null``, ..., ``mutual_info_mean_null`` (value, ``ci_low``,
        ``ci_high``, ``null_method``).
    """
    z = check_latents(z, min_samples=3, min_dims=2, lazy=True)
    if method not in NULL_METHODS:
        raise LpsInputError(f"null method must be one of {', '.join(NULL_METHODS)}, got {method!r}")
    n_bins = check_positive_int(n_bins, name="n_bins", minimum=2, maximum=1000)
    shuffles = check_positive_int(shuffles, name="shuffles", minimum=2)
    n, d = z.shape
    if method == "auto":
        method = "shuffle" if n * d <= NULL_SHUFFLE_ELEMENTS else "asymptotic"
    rng = stream(seed, STREAM_INDEPENDENCE_NULL)
    const = constant_columns(z)
    keep = np.setdiff1d(np.arange(d), const)
    if keep.size == 0:
        raise LpsInputError("every dimension of z is constant; nothing to measure")
    cov = np.atleast_2d(column_moments(z, columns=keep).covariance(ddof=1))
    counts = _bin_counts(z, n_bins)
    closed = _closed_forms(cov, n, counts)
    if method == "shuffle":
        levels, extra = _shuffled_levels(z, keep, n_bins, shuffles, rng)
    else:
        mi_mean, pairs = closed["mutual_info_mean"], d * (d - 1) // 2
        levels, extra = _asymptotic_levels(np.diag(cov), n, mi_mean, pairs, rng)
    out = []
    for metric, (value, low, high) in zip(COMPANIONS, levels, strict=True):
        settings = _settings(
            f"{metric}_null",
            z,
            const.tolist(),
            null_method=method,
            seed=seed,
            closed_forms=closed,
            **extra,
        )
        out.append(
            IndependenceResult(
                value=value,
                settings=settings,
                metric=f"{metric}_null",
                ci_low=low,
                ci_high=high,
                null_method=method,
            )
        )
    return out


def covariance_statistics(covs: np.ndarray) -> np.ndarray:
    """The five covariance statistics of a stack of covariance matrices, shape (B, 5).

    Columns: Gaussian TC, Wasserstein correlation, its normalized form, covariance ratio,
    correlation ratio (the functions above, vectorized; no round-off rule).
    """
    covs = np.asarray(covs, dtype=np.float64)
    d = covs.shape[1]
    diag = np.diagonal(covs, axis1=1, axis2=2)
    sign, logdet = np.linalg.slogdet(covs)
    tc = np.where(sign > 0, 0.5 * (np.log(diag).sum(axis=1) - logdet), np.inf)
    c = diag.sum(axis=1) / d
    unit = covs / c[:, None, None]
    sd = np.sqrt(diag / c[:, None])
    eig = np.linalg.eigvalsh(unit * sd[:, :, None] * sd[:, None, :])
    tr = diag.sum(axis=1)
    w2 = np.maximum(2.0 * tr - 2.0 * c * np.sqrt(np.clip(eig, 0.0, None)).sum(axis=1), 0.0)
    off = ~np.eye(d, dtype=bool)
    full_sd = np.sqrt(diag)
    corr = covs / full_sd[:, :, None] / full_sd[:, None, :]
    with np.errstate(divide="ignore"):
        cr = tr / np.abs(covs[:, off]).sum(axis=1)
        crc = d / np.abs(corr[:, off]).sum(axis=1)
    if d < 2:  # no off-diagonal: the ratios are undefined, as in covariance_ratios_of
        cr, crc = np.full_like(tr, np.nan), np.full_like(tr, np.nan)
    return np.column_stack([np.maximum(tc, 0.0), w2, w2 / tr, cr, crc])


def _shuffled_levels(
    z: Any, keep: np.ndarray, n_bins: int, shuffles: int, rng: np.random.Generator
) -> tuple[list[tuple[float, float, float]], dict[str, Any]]:
    """Mean and [min, max] of each statistic over column-shuffled copies."""
    x = take_rows(z, canonical_row_order(z))  # row-order invariant, in memory (small input)
    n, d = x.shape
    codes = information.digitize(x, information.bin_edges(x.min(axis=0), x.max(axis=0), n_bins))
    stats = np.empty((shuffles, len(COMPANIONS)))
    rows = np.tile(np.arange(n)[:, None], (1, d))
    covs = np.empty((shuffles, keep.size, keep.size))
    for b in range(shuffles):
        idx = rng.permuted(rows, axis=0)  # each column its own permutation
        xs = np.take_along_axis(x, idx, axis=0)[:, keep]
        covs[b] = np.atleast_2d(column_moments(xs).covariance(ddof=1))
        shuffled = np.take_along_axis(codes, idx, axis=0)
        stats[b, 5] = mean_pair_mutual_info(lambda s=shuffled: [s], n, d, n_bins)
    stats[:, :5] = covariance_statistics(covs)
    levels = [(float(np.mean(col)), float(np.min(col)), float(np.max(col))) for col in stats.T]
    interval = "[min, max] of the shuffled copies: coverage (B - 1) / (B + 1)"
    return levels, {"shuffles": shuffles, "interval": interval}


def _asymptotic_levels(
    var: np.ndarray, n: int, mi_mean: float, mi_pairs: int, rng: np.random.Generator
) -> tuple[list[tuple[float, float, float]], dict[str, Any]]:
    """Covariance statistics on draws from the correlations' Gaussian limit; MI closed form.

    ``var``: the variances of the non-constant columns (a shuffle keeps them); ``mi_mean``:
    the exact null mean of the MI over its ``mi_pairs`` pairs
    (:func:`expected_mean_mutual_info`).
    """
    from scipy.stats import chi2

    k = var.size
    sd = np.sqrt(var)
    iu = np.triu_indices(k, 1)
    stats = np.empty((NULL_DRAWS, 5))
    per_batch = max(1, (1 << 22) // (k * k))
    for lo in range(0, NULL_DRAWS, per_batch):
        hi = min(lo + per_batch, NULL_DRAWS)
        e = np.zeros((hi - lo, k, k))
        e[:, iu[0], iu[1]] = rng.standard_normal((hi - lo, iu[0].size)) / math.sqrt(n - 1)
        r = e + e.transpose(0, 2, 1) + np.eye(k)
        stats[lo:hi] = covariance_statistics(r * sd[:, None] * sd[None, :])
    levels = [
        (
            float(np.mean(col)),
            float(np.quantile(col, 0.025)),
            float(np.quantile(col, 0.975)),
        )
        for col in stats.T
    ]
    mean = mi_mean
    # 2 n p x (mean MI) is a sum of p G statistics: chi-square with as many degrees of
    # freedom as its mean (the exact mean, so sparse tail bins do not inflate it)
    df = 2.0 * n * mean * mi_pairs
    low, high = chi2.ppf([0.025, 0.975], df) if df > 0 else (0.0, 0.0)
    scale = df / mean if mean > 0 else 1.0
    levels.append((mean, float(low) / scale, float(high) / scale))
    interval = "2.5 and 97.5 % quantiles of the asymptotic null"
    return levels, {"draws": NULL_DRAWS, "interval": interval}


def _bin_counts(z: Any, n_bins: int) -> np.ndarray:
    """Counts of every column's bins (the histogram_discretize bins), one pass: (d, n_bins)."""
    edges = information.bin_edges(*column_range(z), n_bins)
    counts = np.zeros((z.shape[1], n_bins), dtype=np.int64)
    for _, block in iter_chunks(z):
        codes = information.digitize(block, edges)
        for j in range(z.shape[1]):
            counts[j] += np.bincount(codes[:, j], minlength=n_bins)
    return counts


#: Cells with an expected count above this use a fourth-order expansion; below, the
#: hypergeometric sum is exact.
MI_EXACT_BELOW = 100.0


def expected_mean_mutual_info(counts: np.ndarray, n: int) -> float:
    r"""Exact mean of the plug-in MI over pairs when columns are independent (permutations).

    With the bin counts of every column fixed (a column shuffle keeps them), the joint
    count of cell :math:`(a, b)` of pair :math:`(i, j)` is hypergeometric:
    :math:`n_{ab} \sim \mathrm{Hyp}(n, n_a, n_b)`. The marginal entropies are fixed, so
    :math:`E[\hat I_{ij}] = \hat H_i + \hat H_j - E[\hat H_{ij}]` with
    :math:`E[\hat H_{ij}] = -\sum_{a,b} E[g(n_{ab})]`, :math:`g(k) = (k/n)\log(k/n)`:
    summed exactly over the support for cells with mean count below
    :data:`MI_EXACT_BELOW`, by a fourth-order Taylor expansion above (error
    :math:`O(1/(n\mu^2))` per cell). Unlike the Miller-Madow first order,
    :math:`\sum_{i<j} (K_i - 1)(K_j - 1) / (2np)` (:math:`K` occupied bins), this stays
    right where tail bins are sparse (at n = 50,000, 20 bins, Gaussian columns,
    Miller-Madow is about 17 % too high).
    """
    counts = np.asarray(counts, dtype=np.float64)
    d, bins = counts.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        p = counts / n
        entropy = -np.sum(np.where(counts > 0, p * np.log(p), 0.0), axis=1)
    iu = np.triu_indices(d, 1)
    na = np.repeat(counts[iu[0]][:, :, None], bins, axis=2).reshape(-1)
    nb = np.repeat(counts[iu[1]][:, None, :], bins, axis=1).reshape(-1)
    cells = (na > 0) & (nb > 0)
    pair_of = np.repeat(np.arange(iu[0].size), bins * bins)
    combos, inverse = np.unique(
        np.column_stack([na[cells], nb[cells]]), axis=0, return_inverse=True
    )
    eg = _expected_g(combos[:, 0], combos[:, 1], n)
    joint = -np.bincount(pair_of[cells], weights=eg[inverse.reshape(-1)], minlength=iu[0].size)
    return float(np.mean(entropy[iu[0]] + entropy[iu[1]] - joint))


def _expected_g(na: np.ndarray, nb: np.ndarray, n: int) -> np.ndarray:
    """E[(k/n) log(k/n)] for k ~ Hypergeometric(n, na, nb), elementwise."""
    from scipy.special import gammaln

    mu = na * nb / n
    var = mu * (1.0 - na / n) * (n - nb) / max(n - 1, 1)
    out = np.empty(mu.size)
    big = mu >= MI_EXACT_BELOW
    m, v = mu[big], var[big]
    # Taylor to fourth order: g'' = 1/(n k), g''' = -1/(n k^2), g'''' = 2/(n k^3); the
    # hypergeometric's third central moment var (n - 2 na)(n - 2 nb) / (n (n - 2)) and
    # fourth about 3 var^2: the remainder is O(1/(n mu^2)) per cell
    mu3 = v * (n - 2 * na[big]) * (n - 2 * nb[big]) / (n * max(n - 2, 1))
    out[big] = (
        (m / n) * np.log(m / n) + v / (2 * n * m) - mu3 / (6 * n * m**2) + v * v / (4 * n * m**3)
    )
    # small cells: the exact sum over the support, the pmf by its ratio recursion from
    # the lowest count k0 = max(0, na + nb - n), in batches of similar means
    small = np.flatnonzero(~big)
    small = small[np.argsort(mu[small], kind="stable")]
    for lo in range(0, small.size, 2048):
        idx = small[lo : lo + 2048]
        a, b = na[idx][:, None], nb[idx][:, None]
        k0 = np.maximum(0.0, a + b - n)
        width = int(np.ceil(mu[idx].max() + 15.0 * np.sqrt(mu[idx].max()) + 30.0))
        k = k0 + np.arange(width, dtype=np.float64)[None, :]
        log_p0 = (
            gammaln(a + 1) - gammaln(k0 + 1) - gammaln(a - k0 + 1)
            + gammaln(n - a + 1) - gammaln(b - k0 + 1) - gammaln(n - a - b + k0 + 1)
            - gammaln(n + 1) + gammaln(b + 1) + gammaln(n - b + 1)
        )  # fmt: skip
        ratio = np.clip((a - k) * (b - k), 0.0, None) / ((k + 1) * (n - a - b + k + 1))
        pmf = np.exp(log_p0) * np.concatenate(
            [np.ones((idx.size, 1)), np.cumprod(ratio[:, :-1], axis=1)], axis=1
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(k > 0, (k / n) * np.log(k / n), 0.0)
        out[idx] = np.sum(pmf * g, axis=1)
    return out


def _mi_degrees_of_freedom(occupied: np.ndarray) -> float:
    """Sum over the pairs i < j of (K_i - 1)(K_j - 1)."""
    k = occupied.astype(np.float64) - 1.0
    return float((k.sum() ** 2 - (k * k).sum()) / 2.0)


def _closed_forms(cov: np.ndarray, n: int, counts: np.ndarray) -> dict[str, float]:
    """Closed-form null levels (see :func:`companion_nulls`)."""
    occupied = (counts > 0).sum(axis=1)
    k = cov.shape[0]
    pairs = k * (k - 1) / 2
    bartlett = n - 1 - (2 * k + 5) / 6
    var = np.diag(cov)
    iu = np.triu_indices(k, 1)
    prod, total = var[iu[0]] * var[iu[1]], var[iu[0]] + var[iu[1]]
    w2 = float(np.sum(prod / total)) / (n - 1)
    d = occupied.size
    return {
        "gaussian_tc": pairs / (2.0 * bartlett) if bartlett > 0 else math.nan,
        "gaussian_wasserstein_correlation": w2,
        "gaussian_wasserstein_correlation_norm": w2 / float(var.sum()),
        "covariance_ratio_corr": math.sqrt(math.pi * (n - 1) / 2.0) / (k - 1)
        if k > 1
        else math.nan,
        "mutual_info_mean": expected_mean_mutual_info(counts, n),
        "mutual_info_mean_miller_madow": _mi_degrees_of_freedom(occupied) / (n * d * (d - 1)),
    }
