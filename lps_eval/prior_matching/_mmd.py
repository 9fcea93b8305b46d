r"""Maximum mean discrepancy between latent codes and a prior, with a permutation test.

For samples :math:`x_{1..n} \sim q` and :math:`y_{1..m} \sim p` and a kernel :math:`k`
(Gretton et al. 2012, "A Kernel Two-Sample Test", JMLR 13):

- unbiased U-statistic (default for evaluation; expectation exactly MMD^2):

  .. math::
     \widehat{\mathrm{MMD}}^2_u = \tfrac{1}{n(n-1)}\sum_{i\ne j} k(x_i,x_j)
       + \tfrac{1}{m(m-1)}\sum_{i\ne j} k(y_i,y_j) - \tfrac{2}{nm}\sum_{i,j} k(x_i,y_j)

- biased V-statistic (the paper's training loss): the same with all pairs, diagonals
  included, divided by :math:`n^2` and :math:`m^2`;
- linear-time statistic: the mean over :math:`\lfloor\min(n,m)/2\rfloor` disjoint pairs of
  :math:`h = k(x_1,x_2) + k(y_1,y_2) - k(x_1,y_2) - k(x_2,y_1)`.

Kernel sums are chunked (memory O(block^2), never N x N). For priors with closed-form
RBF expectations (see :mod:`lps_eval.prior_matching.priors`) the prior terms are exact, so the value has
no prior sampling noise.

Two engines, said plainly. The *tiled in-place numpy engine* (``_pooled_sums``,
:meth:`Kernel.inplace <lps_eval.prior_matching.kernels.Kernel.inplace>`) computes every
numpy statistic and all permutation replicates in one pass over cache-sized tiles without
temporaries; the *backend engine* (``_kernel_sum`` over
:mod:`~lps_eval.prior_matching.backend`) serves torch tensors with autograd (the trainer's
loss) and the linear-time statistic. They compute the same formulas;
``tests/test_backend.py`` holds them together for every kernel and estimator.

Streamed linear-time statistic: in :func:`mmd`, when the rows used hold more than
:data:`lps_eval.streaming.STREAM_ELEMENTS` values (a shape rule, never an array-type rule),
``estimator="linear"`` walks over the rows in blocks of :data:`LINEAR_BLOCK`: latent rows
are read in the seeded canonical order (pairs ``2i, 2i + 1``, as in memory), prior rows
are drawn block by block from per-block seeds, and only the count, mean and squared
deviations of :math:`h` are kept, so memory is O(block x d) plus the row order (a few
8-byte values a row while it is sorted). Its test is the asymptotic one of Gretton et al. (2012, Sec. 6, Corollary 16),
:math:`p = 1 - \Phi(\sqrt{m_2}\,\bar h / s_h)`, with no permutations.

Permutation test: pool the two samples, relabel them ``B`` times with a seeded
generator, :math:`p = (1 + \#\{T_b \ge T\}) / (1 + B)` (never exactly 0). All ``B``
relabelings share one pass over the pooled kernel matrix: with :math:`e` the 0/1
indicator of the first sample, every within/between sum is a function of
:math:`e^\top K e`, :math:`e^\top K 1` and :math:`1^\top K 1`, and the quadratic forms of
all permutations are one matrix product per block, :math:`\mathrm{diag}(E^\top K E)`.

Per-dimension tests (:func:`_per_dim_tests`): column ``j`` alone decides its row. Its
values at seeded random ranks (the same ranks for every column;
:mod:`~lps_eval.prior_matching.subsample`) are tested against a sample of the prior's
``j``-th marginal, and every dimension starts from the same generator state, so a
dimension's statistic and p-value do not depend on its position or on the other columns.
The ``d`` p-values are one family: the rows carry Holm's adjustment
(:func:`lps_eval.multiple_testing.holm`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtr

from lps_eval import streaming
from lps_eval._random import STREAM_MMD, make_rng, shuffled_rows, stream
from lps_eval._validation import (
    LpsInputError,
    check_bool,
    check_latents,
    check_permutations,
    check_positive_int,
)
from lps_eval.multiple_testing import holm
from lps_eval.prior_matching.backend import NUMPY, namespace
from lps_eval.prior_matching.kernels import Kernel, make_kernel
from lps_eval.prior_matching.priors import Prior, parse_prior
from lps_eval.prior_matching.subsample import column_order_statistics
from lps_eval.results import MetricResult, make_row
from lps_eval.streaming import streams, take_rows

__all__ = ["ESTIMATORS", "MmdResult", "mmd", "mmd2", "permutation_test"]

ESTIMATORS = ("unbiased", "biased", "linear")
#: Rows per kernel block: a tile is BLOCK x BLOCK float64 (2 MiB at 512, cache-sized).
BLOCK = 512
#: Default row cap of :func:`mmd` (None = every row).
DEFAULT_MAX_SAMPLES = 5000


def _check_estimator(estimator: str) -> str:
    if estimator not in ESTIMATORS:
        raise LpsInputError(
            f"unknown estimator {estimator!r}; choose one of: {', '.join(ESTIMATORS)}"
        )
    return estimator


def _kernel_sum(a: Any, b: Any, kern: Kernel, xp: Any, *, same: bool, block: int) -> Any:
    """sum_{i,j} k(a_i, b_j), excluding i == j when ``same`` (a is b). Chunked over rows of a."""
    total = xp.zero(a)
    for start in range(0, a.shape[0], block):
        d2 = xp.sqdist(a[start : start + block], b)
        if same:
            d2 = xp.zero_diagonal(d2, start)
        total = total + xp.sum(kern.from_sqdist(d2, xp))
    if same:
        total = total - kern.diag_value * a.shape[0]
    return total


def _paired(a: Any, b: Any, kern: Kernel, xp: Any) -> Any:
    diff = a - b
    return kern.from_sqdist(xp.rowsum(diff * diff), xp)


def _linear_terms(x: Any, y: Any, kern: Kernel, xp: Any) -> Any:
    """h over the disjoint pairs (rows 2i, 2i + 1) of x and of y (the shorter decides)."""
    half = min(x.shape[0], y.shape[0]) // 2
    x1, x2 = x[0 : 2 * half : 2], x[1 : 2 * half : 2]
    y1, y2 = y[0 : 2 * half : 2], y[1 : 2 * half : 2]
    h = _paired(x1, x2, kern, xp) + _paired(y1, y2, kern, xp)
    return h - _paired(x1, y2, kern, xp) - _paired(x2, y1, kern, xp)


def _linear(x: Any, y: Any, kern: Kernel, xp: Any) -> Any:
    return xp.mean(_linear_terms(x, y, kern, xp))


def _check_pair(x: Any, y: Any, estimator: str) -> None:
    if len(x.shape) != 2 or len(y.shape) != 2:
        raise LpsInputError(
            "x and y must be 2-D (n, d) and (m, d), got shapes "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
    if x.shape[1] != y.shape[1]:
        raise LpsInputError(
            f"x has {x.shape[1]} columns but y has {y.shape[1]}; both need the same dimension"
        )
    need = 2
    if x.shape[0] < need or y.shape[0] < need:
        raise LpsInputError(f"x and y need at least {need} rows each for the {estimator} estimator")


def mmd2(
    x: Any,
    y: Any,
    *,
    kernel: str | Kernel = "rbf_multiscale",
    bandwidth: float | None = None,
    estimator: str = "biased",
    seed: int = 0,
    block: int = BLOCK,
) -> Any:
    r"""Squared MMD between two samples: numpy in, float out; torch in, differentiable scalar out.

    Parameters
    ----------
    x, y : numpy arrays or torch tensors of shape (n, d) and (m, d)
        Both of the same library. Torch tensors keep their autograd graph (use this as
        the training loss: latents ``x``, fresh prior samples ``y``).
    kernel : str or Kernel, default "rbf_multiscale"
        ``"rbf"``, ``"rbf_multiscale"`` (paper), ``"imq"`` (WAE), ``"distance"``; see
        :mod:`lps_eval.prior_matching.kernels`.
    bandwidth : float, optional
        Base width (RBF) or constant ``C_0`` (IMQ). None: the median pairwise distance of
        the pooled samples (computed without gradient) for RBF kernels, ``2 d var`` for IMQ.
    estimator : {"biased", "unbiased", "linear"}, default "biased"
        V-statistic (the paper's training loss), U-statistic, or linear-time statistic.
    seed : int, default 0
        Seed for the median heuristic's random pairs (used only for large samples).
    block : int
        Rows per kernel block (memory is O(block x m)).

    Returns
    -------
    float or torch scalar tensor
        :math:`\widehat{\mathrm{MMD}}^2` (see the module docstring for the formulas).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.normal(size=(500, 3)), rng.normal(size=(500, 3))
    >>> abs(mmd2(x, y, estimator="unbiased")) < 0.01
    True
    """
    _check_estimator(estimator)
    xp = namespace(x, y)
    if xp is NUMPY:
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
    _check_pair(x, y, estimator)
    block = check_positive_int(block, name="block")
    pooled = None
    if bandwidth is None and not isinstance(kernel, Kernel):
        pooled = np.vstack([xp.to_numpy(x), xp.to_numpy(y)])
    kern = make_kernel(kernel, bandwidth=bandwidth, pooled=pooled, rng=seed)
    if xp is NUMPY and estimator != "linear":
        # the tiled in-place engine (same formulas, a fraction of the time and memory)
        with _single_blas_thread():
            stat, _, _ = _test(x, y, kern, estimator, None, make_rng(seed), 0, block)
        return stat
    x, y = xp.center(x, y)
    if estimator == "linear":
        out = _linear(x, y, kern, xp)
        return xp.as_float(out) if xp is NUMPY else out
    n, m = x.shape[0], y.shape[0]
    kxx = _kernel_sum(x, x, kern, xp, same=True, block=block)
    kyy = _kernel_sum(y, y, kern, xp, same=True, block=block)
    kxy = _kernel_sum(x, y, kern, xp, same=False, block=block)
    if estimator == "unbiased":
        out = kxx / (n * (n - 1)) + kyy / (m * (m - 1)) - 2.0 * kxy / (n * m)
    else:
        k0 = kern.diag_value
        out = (kxx + n * k0) / (n * n) + (kyy + m * k0) / (m * m) - 2.0 * kxy / (n * m)
    return xp.as_float(out) if xp is NUMPY else out


# --------------------------------------------------------------------------- numpy engine


def _single_blas_thread() -> Any:
    """Context manager: one BLAS thread while the tile loop runs.

    Tiles are small products; a multi-threaded BLAS spends more time synchronizing than
    computing on them (measured 10x slower on a busy 2-core machine).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _pooled_sums(
    w: np.ndarray, kern: Kernel, labels: np.ndarray | None, *, block: int
) -> tuple[float, np.ndarray, np.ndarray | None]:
    """One pass over the upper tile triangle of the pooled kernel matrix K0 (zero diagonal).

    Returns ``S = 1' K0 1``, ``r = K0 1`` and, when ``labels`` (N, C) is given,
    ``A_c = labels[:, c]' K0 labels[:, c]`` for every column ``c`` (one matrix product
    per tile serves all C labelings). Tiles are ``block x block`` and evaluated in place,
    so memory is O(block^2 + N C) whatever N is.
    """
    n = w.shape[0]
    sq = np.einsum("ij,ij->i", w, w)
    starts = list(range(0, n, block))
    total = 0.0
    r = np.zeros(n)
    quad = None if labels is None else np.zeros(labels.shape[1])
    buffers: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    for bi, i0 in enumerate(starts):
        i1 = min(i0 + block, n)
        # labels are stored as uint8 (N x C bytes); one float copy per tile row/column
        li = None if labels is None else labels[i0:i1].astype(np.float64)
        for j0 in starts[bi:]:
            j1 = min(j0 + block, n)
            shape = (i1 - i0, j1 - j0)
            if shape not in buffers:
                buffers[shape] = (np.empty(shape), np.empty(shape))
            k, buf = buffers[shape]
            np.matmul(w[i0:i1], w[j0:j1].T, out=k)
            k *= -2.0
            k += sq[i0:i1, None]
            k += sq[None, j0:j1]
            np.maximum(k, 0.0, out=k)
            diag = i0 == j0
            if diag:
                np.fill_diagonal(k, 0.0)
            kern.inplace(k, buf)
            if diag:
                np.fill_diagonal(k, 0.0)
            weight = 1.0 if diag else 2.0
            rows = k.sum(axis=1)
            total += weight * rows.sum()
            r[i0:i1] += rows
            if not diag:
                r[j0:j1] += k.sum(axis=0)
            if labels is not None:
                ke = k @ (li if diag else labels[j0:j1].astype(np.float64))
                quad += weight * np.einsum("ic,ic->c", li, ke)
    return total, r, quad


def _labels_dot(labels: np.ndarray, r: np.ndarray, block: int) -> np.ndarray:
    """``labels.T @ r`` for uint8 labels, converted block by block (no N x C float copy)."""
    out = np.zeros(labels.shape[1])
    for i0 in range(0, labels.shape[0], block):
        out += r[i0 : i0 + block] @ labels[i0 : i0 + block].astype(np.float64)
    return out


def _stat_from_sums(
    quad: np.ndarray, er: np.ndarray, total: float, n: int, m: int, k0: float, estimator: str
) -> np.ndarray:
    """MMD^2 for each labeling from A = e'K0e, e'K0 1 and 1'K0 1 (K0: zero diagonal)."""
    xx = quad
    xy = er - quad
    yy = total - 2.0 * er + quad
    if estimator == "unbiased":
        return xx / (n * (n - 1)) + yy / (m * (m - 1)) - 2.0 * xy / (n * m)
    return (xx + n * k0) / (n * n) + (yy + m * k0) / (m * m) - 2.0 * xy / (n * m)


def _label_matrix(n: int, m: int, permutations: int, rng: np.random.Generator) -> np.ndarray:
    """uint8 (N, B + 1): column 0 the observed labels (1 = first sample), then B relabelings."""
    base = np.zeros(n + m, dtype=np.uint8)
    base[:n] = 1
    perms = rng.permuted(np.tile(base, (permutations, 1)), axis=1)
    labels = np.empty((n + m, permutations + 1), dtype=np.uint8)
    labels[:, 0] = base
    labels[:, 1:] = perms.T
    return labels


def _p_value(stat: float, null: np.ndarray) -> float:
    """(1 + #{T_b >= T}) / (1 + B); near-ties (rounding) count as exceedances."""
    if null.size == 0:
        return math.nan
    tol = 1e-9 * (abs(stat) + 1e-12) + 1e-13
    return float((1.0 + np.count_nonzero(null >= stat - tol)) / (1.0 + null.size))


def _test(
    x: np.ndarray,
    y: np.ndarray,
    kern: Kernel,
    estimator: str,
    labels: np.ndarray | None,
    gen: np.random.Generator,
    permutations: int,
    block: int,
) -> tuple[float, np.ndarray, float]:
    """Statistic, permuted statistics and sum_{i != j} k(x_i, x_j) (NaN for linear)."""
    n, m = x.shape[0], y.shape[0]
    w = np.vstack([x, y]).astype(np.float64, copy=False)
    w = w - w.mean(axis=0)
    if estimator == "linear":
        stat = float(_linear(w[:n], w[n:], kern, NUMPY))
        null = np.empty(permutations)
        for b in range(permutations):  # B linear-time statistics, O(B N d)
            p = gen.permutation(n + m)
            null[b] = _linear(w[p[:n]], w[p[n:]], kern, NUMPY)
        return stat, null, math.nan
    if labels is None:
        labels = _label_matrix(n, m, permutations, gen)
    total, r, quad = _pooled_sums(w, kern, labels, block=block)
    er = _labels_dot(labels, r, block)
    stats = _stat_from_sums(quad, er, total, n, m, kern.diag_value, estimator)
    return float(stats[0]), stats[1:], float(quad[0])


def permutation_test(
    x: Any,
    y: Any,
    kern: Kernel,
    *,
    estimator: str = "unbiased",
    permutations: int = 200,
    rng: np.random.Generator | int = 0,
    block: int = BLOCK,
) -> tuple[float, float, np.ndarray]:
    """Two-sample MMD^2 and its permutation p-value, all relabelings in one kernel pass.

    Parameters
    ----------
    x, y : array-like (n, d), (m, d)
    kern : Kernel
        A resolved kernel (see :func:`lps_eval.prior_matching.kernels.make_kernel`).
    estimator : {"unbiased", "biased", "linear"}
    permutations : int
        Number ``B`` of relabelings; 0 returns the statistic with a NaN p-value.
    rng : Generator or int
        Seed of the relabelings.

    Returns
    -------
    (statistic, p_value, null)
        ``p = (1 + #{T_b >= T}) / (1 + B)``; ``null`` holds the ``B`` permuted statistics.
    """
    _check_estimator(estimator)
    permutations = check_permutations(permutations)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    _check_pair(x, y, estimator)
    _check_labels_size(x.shape[0] + y.shape[0], permutations)
    gen = make_rng(rng)
    with _single_blas_thread():
        stat, null, _ = _test(x, y, kern, estimator, None, gen, permutations, block)
    return stat, _p_value(stat, null), null


def _closed_form_value(
    x: np.ndarray, prior: Prior, kern: Kernel, estimator: str, kxx: float
) -> float:
    """MMD^2 with exact prior terms: ``kxx`` = sum_{i != j} k(x_i, x_j), the rest closed form."""
    n, d = x.shape
    cross = sum(float(np.mean(prior.rbf_cross(x, s))) for s in kern.scales)
    self_term = sum(prior.rbf_self(d, s) for s in kern.scales)
    unbiased = estimator == "unbiased"
    xx = kxx / (n * (n - 1)) if unbiased else (kxx + n * kern.diag_value) / (n * n)
    return float(xx + self_term - 2.0 * cross)


def _x_only_sum(x: np.ndarray, kern: Kernel, block: int) -> float:
    total, _, _ = _pooled_sums(x - x.mean(axis=0), kern, None, block=block)
    return total


# --------------------------------------------------------------------------- streamed linear

#: Rows per block of the streamed linear-time statistic (even, so a pair never straddles
#: two blocks; memory O(LINEAR_BLOCK x d)). The prior sample is drawn per block of this
#: size, so it belongs to the result's definition: never change it (the numbers would move).
LINEAR_BLOCK = 1 << 13
#: Latent rows (and as many prior rows) the streamed path pools for a data-driven
#: bandwidth: the median heuristic then draws its random pairs among these rows.
BANDWIDTH_ROWS = 1 << 12


def _prior_prefix(draw: Any, rows: int) -> np.ndarray:
    """The first ``rows`` rows of a block-drawn prior sample (see ``Prior.block_sampler``)."""
    parts, got, b = [], 0, 0
    while got < rows:
        part = draw(b)[: rows - got]
        parts.append(part)
        got += part.shape[0]
        b += 1
    return np.concatenate(parts)


def _streamed_linear(
    z: Any, order: np.ndarray, draw: Any, m: int, kern: Kernel
) -> tuple[float, float, int]:
    r"""Mean and standard deviation of :math:`h` over the pairs, one block of rows at a time.

    Pair ``i`` is latent rows ``order[2i], order[2i + 1]`` and prior rows ``2i, 2i + 1``
    (the same pairing as the in-memory statistic). Latent rows are read with
    :func:`~lps_eval.streaming.take_rows` (a memmap at sorted positions), a streaming chunk
    of whole blocks at a time; :math:`h` is computed per block of :data:`LINEAR_BLOCK`
    rows and the blocks are merged in order with the pairwise update of Chan, Golub and
    LeVeque (count, mean, sum of squared deviations), so the result depends on the values
    only, never on the array type or the chunk size, and memory is O(CHUNK_ROWS x d).

    Returns
    -------
    (mean, std, pairs)
        :math:`\widehat{\mathrm{MMD}}^2_l`, the sample standard deviation of :math:`h`
        (ddof 1) and the number of pairs :math:`m_2`.
    """
    pairs = min(order.size, m) // 2
    # Latent rows are gathered a streaming chunk at a time (whole blocks): more rows per
    # sorted read means more of them per page of a memmap (measured 3x faster than one
    # block at a time at 2e6 x 32). The numbers do not depend on it.
    span = max(1, streaming.CHUNK_ROWS // LINEAR_BLOCK) * LINEAR_BLOCK
    count, mean, sq = 0, 0.0, 0.0
    for g0 in range(0, 2 * pairs, span):
        g1 = min(g0 + span, 2 * pairs)
        rows = take_rows(z, order[g0:g1])
        for lo in range(g0, g1, LINEAR_BLOCK):
            hi = min(lo + LINEAR_BLOCK, g1)
            x = rows[lo - g0 : hi - g0]
            h = _linear_terms(x, draw(lo // LINEAR_BLOCK)[: hi - lo], kern, NUMPY)
            c, mu = h.size, float(np.mean(h))
            dev = h - mu
            total = count + c
            delta = mu - mean
            mean += delta * c / total
            # numpy's pairwise sum, not a BLAS dot: the same bits for any thread count
            sq += float(np.sum(dev * dev)) + delta * delta * count * c / total
            count = total
    std = math.sqrt(sq / (count - 1)) if count > 1 else math.nan
    return mean, std, count


def _normal_p_value(mean: float, std: float, pairs: int) -> float:
    r"""One-sided p-value of the linear-time test under its Gaussian null.

    Under :math:`H_0` (p = q), :math:`\sqrt{m_2}\,\widehat{\mathrm{MMD}}^2_l / \sigma_h`
    tends to N(0, 1) (Gretton et al. 2012, JMLR 13, Sec. 6, Corollary 16), so
    :math:`p = 1 - \Phi(\sqrt{m_2}\,\bar h / s_h)` with :math:`s_h` the sample standard
    deviation of the :math:`h` values. Degenerate ``s_h = 0`` (every pair gives the same
    :math:`h`): p = 0 when that value is positive, else 1.
    """
    if not math.isfinite(std):
        return math.nan
    if std == 0.0:
        return 0.0 if mean > 0 else 1.0
    return float(ndtr(-math.sqrt(pairs) * mean / std))


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class MmdResult(MetricResult):
    """MMD^2 of latents against a prior (or any two-sample MMD test).

    Attributes
    ----------
    value : float
        MMD^2 (closed-form prior terms when available, else the two-sample statistic).
    p_value : float
        Permutation p-value of the two-sample test (NaN when ``permutations=0``).
    per_dim : numpy.ndarray or None
        Marginal MMD^2 of each latent dimension against the prior's marginal.
    per_dim_p_value : numpy.ndarray or None
        Permutation p-values of the marginal tests, unadjusted. The rows add
        ``p_value_holm``, the Holm (1979) step-down adjustment over the ``d`` of them
        (also :attr:`per_dim_p_value_holm`).
    statistic : float
        The two-sample statistic the p-value refers to.
    metric : str
        The ``metric`` column (``"mmd"`` or ``"mmd_independence"``).
    kernel : Kernel or None
        The resolved kernel (family, scales, bandwidth) the value was computed with.
    prior : Prior or None
        The parsed prior.
    centre : numpy.ndarray or None
        The shift applied to latents and prior sample before the kernel sums (the pooled
        mean; zeros on the streamed path). With ``kernel`` and ``prior`` it is what a
        resampling of the statistic needs (:func:`lps_eval.prior_matching.mmd_replicates`).
    """

    p_value: float = math.nan
    per_dim: np.ndarray | None = field(default=None, repr=False)
    per_dim_p_value: np.ndarray | None = field(default=None, repr=False)
    statistic: float = math.nan
    metric: str = "mmd"
    kernel: Kernel | None = field(default=None, repr=False, compare=False)
    prior: Prior | None = field(default=None, repr=False, compare=False)
    centre: np.ndarray | None = field(default=None, repr=False, compare=False)

    def rows(self) -> list[dict[str, Any]]:
        extra = {
            "estimator": self.settings.get("estimator"),
            "kernel": self.settings.get("kernel"),
        }
        out = [
            make_row(
                self.metric, self.value, p_value=self.p_value, statistic=self.statistic, **extra
            )
        ]
        if self.per_dim is not None:
            raw = np.full(len(self.per_dim), math.nan)
            if self.per_dim_p_value is not None:
                raw = np.asarray(self.per_dim_p_value, dtype=np.float64)
            adjusted = holm(raw)
            for j, v in enumerate(self.per_dim):
                out.append(
                    make_row(
                        self.metric,
                        float(v),
                        scope="dim",
                        dim=j,
                        p_value=float(raw[j]),
                        p_value_holm=float(adjusted[j]),
                        **extra,
                    )
                )
        return out

    @property
    def per_dim_p_value_holm(self) -> np.ndarray | None:
        """Holm-adjusted per-dimension p-values (:func:`lps_eval.multiple_testing.holm`).

        The ``d`` marginal tests are one family: rejecting where the adjusted value is at
        most ``alpha`` keeps the chance of any false rejection at most ``alpha``. NaN where
        the raw p-value is NaN; None without per-dimension tests.
        """
        if self.per_dim_p_value is None:
            return None
        return holm(self.per_dim_p_value)


#: Tag of the per-dimension tests' random stream (never change it: the numbers would move).
STREAM_MMD_DIMS = 0x6D6D6464
#: How the per-dimension tests choose their rows (recorded in the settings).
PER_DIM_ROWS = (
    "each column on its own: its values at seeded random ranks, the same ranks for every "
    "column; a function of the column, its prior marginal and the seed only"
)

#: Largest relabeling matrix (rows x (permutations + 1) bytes) the tests may allocate.
MAX_LABEL_BYTES = 2**31


def _check_labels_size(rows: int, permutations: int) -> None:
    """Refuse a relabeling matrix above :data:`MAX_LABEL_BYTES` before allocating it."""
    size = rows * (permutations + 1)
    if size > MAX_LABEL_BYTES:
        raise LpsInputError(
            f"{rows} rows x {permutations} permutations needs {size / 2**30:.1f} GiB of "
            f"relabelings (limit {MAX_LABEL_BYTES / 2**30:.0f} GiB); lower permutations or "
            "max_samples"
        )


def mmd(
    z: Any,
    prior: Any = "gaussian",
    *,
    kernel: str = "rbf_multiscale",
    bandwidth: float | None = None,
    estimator: str = "unbiased",
    permutations: int = 200,
    max_samples: int | None = DEFAULT_MAX_SAMPLES,
    per_dim: bool = True,
    per_dim_max_samples: int | None = 1000,
    closed_form: str | bool = "auto",
    seed: int = 0,
    block: int = BLOCK,
) -> MmdResult:
    r"""Does the aggregate posterior match the prior? MMD^2 with a permutation test.

    Parameters
    ----------
    z : array-like (n_samples, n_dims)
        Latent codes (the aggregate posterior sample).
    prior : str, Prior or object with ``sample(n, d, rng)``, default "gaussian"
        Prior spec, see :mod:`lps_eval.prior_matching.priors`.
    kernel : {"rbf_multiscale", "rbf", "imq", "distance"}
        See :mod:`lps_eval.prior_matching.kernels`.
    bandwidth : float, optional
        Base width (RBF) or ``C_0`` (IMQ); None = median heuristic / WAE default on the
        pooled latent and prior sample. Per-dimension tests always use their own
        per-dimension default.
    estimator : {"unbiased", "biased", "linear"}, default "unbiased"
        ``"linear"`` streams above the switch (see Notes): every row in one pass, memory
        O(block x d), an asymptotic normal test instead of permutations.
    permutations : int, default 200
        Permutation-test size ``B``; 0 skips the test (p-value NaN). The streamed linear
        statistic needs no permutations for its own test (any ``B > 0`` asks for it); its
        per-dimension tests still use ``B``.
    max_samples : int or None, default 5000
        Random subsample of rows (seeded); None = every row (exact statistic; memory stays
        bounded by chunking). The prior sample has the same size.
    per_dim : bool, default True
        Also compute the marginal MMD^2 of every dimension against the prior's marginal
        (with raw and Holm-adjusted p-values when ``permutations > 0``). Each dimension's
        row is a function of its column, its prior marginal and the seed only (the column
        is subsampled on its own, at seeded random ranks): permuting the columns permutes
        the rows exactly.
    per_dim_max_samples : int or None, default 1000
        Rows per column used by the per-dimension statistics and tests, at most the rows
        of the joint test (a number is required on the streamed path: None would read
        every row).
    closed_form : "auto", True or False
        Use closed-form prior expectations when the prior and kernel allow it (RBF
        kernels; gaussian, uniform, bimodal, hybrid and mixture priors). ``True`` raises
        when unavailable.
    seed : int, default 0
        Seeds the subsample, prior samples, median pairs and permutations.

    Returns
    -------
    MmdResult
        ``.value`` (MMD^2), ``.p_value``, ``.per_dim``, ``.per_dim_p_value`` and
        ``.per_dim_p_value_holm``, ``.to_frame()`` (``dim`` rows carry ``p_value_holm``).

    Notes
    -----
    The value uses the closed-form prior terms when available (no prior sampling noise);
    the p-value always comes from the two-sample test of ``z`` against an equally sized
    prior sample, :math:`p = (1 + \#\{T_b \ge T\}) / (1 + B)`. A small p-value says the
    latents are distinguishable from the prior at this sample size; a large one says
    they are not (it does not prove a match). MMD compares distributions, so any rotation
    of an isotropic Gaussian latent matches ``gaussian`` equally well.

    Bigger than memory: with ``estimator="linear"``, when the rows used hold more than
    :data:`lps_eval.streaming.STREAM_ELEMENTS` values (``n x d > 2**24``), the statistic
    streams over ``z`` (a memmap or ``dask.array`` is read block by block; an in-memory
    array with the same values gives identical numbers). The pairs are consecutive rows of
    the seeded canonical order, as in memory; the prior rows are drawn per block of
    :data:`LINEAR_BLOCK` from seeds derived from ``seed``; a data-driven bandwidth comes
    from :data:`BANDWIDTH_ROWS` latent and as many prior rows. The p-value is the
    asymptotic one, :math:`p = 1 - \Phi(\sqrt{m_2}\,\bar h / s_h)` over the
    :math:`m_2` pairs (Gretton et al. 2012, Sec. 6, Corollary 16). ``settings`` records
    ``test`` (``"permutation"``, ``"asymptotic_normal"`` or ``"none"``), ``streamed``,
    and on the streamed path ``n_pairs`` and ``h_std`` (a standard error of the value is
    ``h_std / sqrt(n_pairs)``).

    Examples
    --------
    >>> import numpy as np
    >>> z = np.random.default_rng(0).normal(size=(1000, 4))
    >>> r = mmd(z, "gaussian", permutations=100)
    >>> r.p_value > 0.01
    True
    """
    plan = _plan(
        z,
        prior,
        kernel=kernel,
        bandwidth=bandwidth,
        estimator=estimator,
        permutations=permutations,
        max_samples=max_samples,
        per_dim=per_dim,
        per_dim_max_samples=per_dim_max_samples,
        closed_form=closed_form,
        seed=seed,
        block=block,
    )
    joint = _joint_streamed(plan) if plan.streamed else _joint_in_memory(plan)
    dims = _per_dim_tests(plan) if plan.per_dim else None
    return MmdResult(
        value=float(joint.value),
        settings=_settings(plan, joint, dims),
        p_value=joint.p_value,
        per_dim=None if dims is None else dims.values,
        per_dim_p_value=None if dims is None else dims.p_values,
        statistic=joint.statistic,
        kernel=joint.kern,
        prior=plan.prior,
        centre=joint.centre,
    )


@dataclass(frozen=True)
class _Plan:
    """The validated inputs of :func:`mmd` and the choices made before any kernel sum.

    ``order`` holds the rows used (seeded canonical order, truncated to ``n``); ``rng`` is
    the MMD stream of ``seed``, already advanced past the row shuffle: the steps consume
    it in a fixed order (joint statistic first, per-dimension tests after).
    """

    z: Any
    prior: Prior
    kernel: str
    bandwidth: float | None
    estimator: str
    permutations: int
    max_samples: int | None
    per_dim: bool
    per_dim_max_samples: int | None
    closed_form: str | bool
    seed: Any
    block: int
    n: int
    d: int
    m: int
    rows_policy: str
    streamed: bool
    order: np.ndarray
    rng: np.random.Generator


@dataclass(frozen=True)
class _Joint:
    """The joint statistic and its test."""

    kern: Kernel
    value: float
    statistic: float
    p_value: float
    test: str
    centre: np.ndarray
    use_closed: bool
    extra: dict[str, Any]


@dataclass(frozen=True)
class _PerDim:
    """Marginal MMD^2 of every dimension, their p-values and the widths used."""

    values: np.ndarray
    p_values: np.ndarray | None
    bandwidths: list[float]


def _plan(
    z: Any,
    prior: Any,
    *,
    kernel: str,
    bandwidth: float | None,
    estimator: str,
    permutations: int,
    max_samples: int | None,
    per_dim: bool,
    per_dim_max_samples: int | None,
    closed_form: str | bool,
    seed: Any,
    block: int,
) -> _Plan:
    """Validate the options and latents, parse the prior, fix the rows and the path."""
    _check_estimator(estimator)
    permutations = check_permutations(permutations)
    if closed_form not in ("auto", True, False):
        raise LpsInputError(f"closed_form must be 'auto', True or False, got {closed_form!r}")
    per_dim = check_bool(per_dim, name="per_dim")
    if per_dim_max_samples is not None:
        per_dim_max_samples = check_positive_int(
            per_dim_max_samples, name="per_dim_max_samples", minimum=2
        )
    if max_samples is not None:
        max_samples = check_positive_int(max_samples, name="max_samples", minimum=2)
    z = check_latents(z, min_samples=4, lazy=True)  # a memmap stays one: read only used rows
    n_total, d = z.shape
    prior_obj = parse_prior(prior, n_dims=d)
    n = n_total if max_samples is None else min(n_total, max_samples)
    # the switch depends on the shape only (never the array type): same path, same numbers
    streamed = estimator == "linear" and streams((n, d))
    if streamed and per_dim and per_dim_max_samples is None:
        raise LpsInputError(
            f"per_dim_max_samples=None would read all {n} rows into memory for the "
            f"per-dimension tests, but {n} x {d} values stream (above "
            f"{streaming.STREAM_ELEMENTS}); "
            "give per_dim_max_samples a row count (e.g. 1000) or pass per_dim=False"
        )
    rng = stream(seed, STREAM_MMD)
    # canonical row order before the seeded subsample: exactly invariant to row order
    order = shuffled_rows(z, max_samples, rng)
    m, rows_policy = _prior_rows(prior_obj, n)
    return _Plan(
        z, prior_obj, kernel, bandwidth, estimator, permutations, max_samples, per_dim,
        per_dim_max_samples, closed_form, seed, block, n, d, m, rows_policy, streamed,
        order, rng,
    )  # fmt: skip


def _prior_rows(prior: Prior, n: int) -> tuple[int, str]:
    """Prior rows ``m`` for ``n`` latent rows, and the policy that chose them.

    A finite-sample prior (``samples:``) is never resampled with replacement: with fewer
    stored rows than latents, all of them enter an unbalanced (``m < n``) statistic.
    """
    if prior.n_rows is None:
        return n, "fresh prior samples, m = n"
    m = min(n, prior.n_rows)
    if m == n:
        return m, "stored rows without replacement, m = n"
    return m, "all stored rows without replacement, unbalanced statistic (m < n)"


def _joint_streamed(plan: _Plan) -> _Joint:
    """The linear-time statistic over every row, one block at a time, asymptotic test.

    Latent rows are read in the seeded pair order, prior rows drawn block by block from
    their own seeds; a data-driven bandwidth pools :data:`BANDWIDTH_ROWS` of each.
    """
    z, order, rng, m = plan.z, plan.order, plan.rng, plan.m
    draw = plan.prior.block_sampler(m, plan.d, rng, LINEAR_BLOCK)
    k = min(BANDWIDTH_ROWS, plan.n, m)
    pooled = None
    if plan.bandwidth is None:
        pooled = np.vstack([take_rows(z, order[:k]), _prior_prefix(draw, k)])
    kern = make_kernel(plan.kernel, bandwidth=plan.bandwidth, pooled=pooled, rng=rng)
    use_closed = _use_closed_form(plan.closed_form, plan.prior, kern, plan.estimator)  # False
    value, h_std, pairs = _streamed_linear(z, order, draw, m, kern)
    tested = plan.permutations > 0
    extra = {
        "streamed": True,
        "n_pairs": pairs,
        "h_std": h_std,
        "bandwidth_rows": None if pooled is None else 2 * k,
        "linear_block": LINEAR_BLOCK,
    }
    return _Joint(
        kern=kern,
        value=value,
        statistic=value,
        p_value=_normal_p_value(value, h_std, pairs) if tested else math.nan,
        test="asymptotic_normal" if tested else "none",
        centre=np.zeros(plan.d),  # the linear-time terms are computed on the raw rows
        use_closed=use_closed,
        extra=extra,
    )


def _joint_in_memory(plan: _Plan) -> _Joint:
    """The statistic on the rows in memory, its permutation test, closed-form prior terms.

    With closed-form prior terms and no test only the latent-latent sum is computed; with
    a test the closed-form value reuses the test's latent-latent sum.
    """
    x = take_rows(plan.z, plan.order)
    estimator, rng, kern_name = plan.estimator, plan.rng, plan.kernel
    if estimator != "linear":  # the linear test draws its relabelings one at a time
        _check_labels_size(plan.n + plan.m, plan.permutations)
    y = plan.prior.sample(plan.m, plan.d, rng)
    kern = make_kernel(kern_name, bandwidth=plan.bandwidth, pooled=np.vstack([x, y]), rng=rng)
    centre = np.vstack([x, y]).mean(axis=0)  # as _test centres the pooled sample
    use_closed = _use_closed_form(plan.closed_form, plan.prior, kern, estimator)
    with _single_blas_thread():
        if use_closed and plan.permutations == 0:
            statistic = p_value = math.nan  # the closed form needs only the x-x sum
            kxx = _x_only_sum(x, kern, plan.block)
            value = _closed_form_value(x, plan.prior, kern, estimator, kxx)
        else:
            statistic, null, kxx = _test(
                x, y, kern, estimator, None, rng, plan.permutations, plan.block
            )
            p_value = _p_value(statistic, null)
            value = (
                _closed_form_value(x, plan.prior, kern, estimator, kxx) if use_closed else statistic
            )
    return _Joint(
        kern=kern,
        value=value,
        statistic=statistic,
        p_value=p_value,
        test="permutation" if plan.permutations > 0 else "none",
        centre=centre,
        use_closed=use_closed,
        extra={"streamed": False},
    )


def _per_dim_tests(plan: _Plan) -> _PerDim:
    """The marginal test of every dimension, each a function of its own column only.

    Column ``j`` is subsampled on its own: its values at seeded random ranks (the same
    ranks for every column; :func:`~lps_eval.prior_matching.subsample.column_order_statistics`),
    so the rows of the other columns, and the position of the column, play no part. Every
    dimension then starts from the same generator state (drawn from the seed alone) for
    its prior-marginal sample, median pairs and relabelings: the statistic and p-value of
    a column depend on its values, its prior marginal and the seed only, and permuting
    the columns permutes the results exactly.
    """
    d = plan.d
    rows = plan.n if plan.per_dim_max_samples is None else min(plan.n, plan.per_dim_max_samples)
    rows_y = min(plan.m, rows)
    key = int(stream(plan.seed, STREAM_MMD_DIMS).integers(0, 2**63))
    ranks = np.random.default_rng([key, 0]).choice(plan.z.shape[0], size=rows, replace=False)
    xs = column_order_statistics(plan.z, ranks)
    labels = None
    if plan.estimator != "linear":  # the linear test draws its relabelings one at a time
        labels = _label_matrix(rows, rows_y, plan.permutations, np.random.default_rng([key, 1]))
    values, p_values, widths = np.empty(d), np.full(d, math.nan), []
    with _single_blas_thread():
        for j in range(d):
            values[j], p_values[j], width = _one_dim(
                xs[:, [j]], plan.prior.marginal(j, d), rows_y, labels,
                np.random.default_rng([key, 2]), plan,
            )  # fmt: skip
            widths.append(width)
    return _PerDim(values, p_values if plan.permutations > 0 else None, widths)


def _one_dim(
    xj: np.ndarray,
    marginal: Prior,
    rows_y: int,
    labels: np.ndarray | None,
    gen: np.random.Generator,
    plan: _Plan,
) -> tuple[float, float, float]:
    """Marginal MMD^2 of one column against its prior marginal, p-value, kernel width.

    The width is the column's own (median heuristic on this column and its prior
    sample, over at most 2**14 pairs); the value uses closed-form prior terms when the
    marginal and kernel allow it.
    """
    yj = marginal.sample(rows_y, 1, gen)
    kern = make_kernel(plan.kernel, pooled=np.vstack([xj, yj]), rng=gen, max_pairs=2**14)
    stat, null, kxx = _test(
        xj, yj, kern, plan.estimator, labels, gen, plan.permutations, plan.block
    )
    use = _use_closed_form(plan.closed_form, marginal, kern, plan.estimator)
    value = _closed_form_value(xj, marginal, kern, plan.estimator, kxx) if use else stat
    return value, _p_value(stat, null), kern.base


def _settings(plan: _Plan, joint: _Joint, dims: _PerDim | None) -> dict[str, Any]:
    """The record of what produced the numbers (``MmdResult.settings``)."""
    return {
        "metric": "mmd",
        "prior": plan.prior.spec,
        **joint.kern.describe(),
        "estimator": plan.estimator,
        "test": joint.test,
        "permutations": plan.permutations,
        "max_samples": plan.max_samples,
        "n_samples_used": plan.n,
        "n_prior_samples": plan.m,
        "prior_rows_policy": plan.rows_policy,
        "row_order": "canonical (fixed projection), then seeded shuffle",
        "prior_terms": "closed_form" if joint.use_closed else "samples",
        "per_dim_max_samples": plan.per_dim_max_samples if plan.per_dim else None,
        "per_dim_bandwidths": dims.bandwidths if dims is not None else None,
        "per_dim_rows": PER_DIM_ROWS if plan.per_dim else None,
        # Holm multiplies the smallest of d p-values by d: with B relabelings no adjusted
        # p-value can fall below d / (B + 1) (alpha = 0.05, d = 32 needs B >= 639)
        "per_dim_smallest_holm_p": (
            min(1.0, plan.d / (plan.permutations + 1))
            if plan.per_dim and plan.permutations > 0
            else None
        ),
        "seed": plan.seed,
        **joint.extra,
    }


def _use_closed_form(closed_form: str | bool, prior: Prior, kern: Kernel, estimator: str) -> bool:
    available = prior.closed_form and kern.closed_form_priors and estimator != "linear"
    if closed_form is True and not available:
        raise LpsInputError(
            f"closed_form=True needs an RBF kernel, a non-linear estimator and a closed-form prior "
            f"(gaussian, uniform, bimodal, hybrid of those, mixture); got kernel {kern.name!r}, "
            f"estimator {estimator!r}, prior {prior.spec!r}"
        )
    return bool(available and closed_form in ("auto", True))
