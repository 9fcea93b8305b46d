"""Latent Predictability Score (LPS): how well each latent dimension is predicted by the others.

For each dimension ``i`` a regressor ``f_i`` is fitted on a training split to predict
``z_i`` from ``z_{-i}`` and scored on the held-out split by

    R2_i = 1 - sum (z_i - f_i(z_{-i}))^2 / sum (z_i - mean(z_i))^2

and ``LPS = mean_i R2_i`` (plain mean, not clipped, so it can be slightly negative).
Lower is more mutually independent; with the optimal regressor ``R2_i`` is the
nonlinear correlation ratio ``Var(E[z_i | z_{-i}]) / Var(z_i)``.

Reference: Fruytier et al., "Sculpting Latent Spaces With MMD: Disentanglement With
Programmable Priors", arXiv:2510.11953 (2025). Related: Schmidhuber (1992),
predictability minimization; Yeats et al. (ECCV 2022), NashAE.

Beyond the paper, every result carries how far it can be trusted: K-fold cross-fitting
with intervals that include the fits' own variability, the *null level* (LPS of the same data with each column shuffled
independently: the estimator's bias at this N and d), and the linear predictability
structure (which dimensions explain which).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from lps_eval._random import make_rng, subsample_rows
from lps_eval._validation import (
    LpsInputError,
    LpsInputWarning,
    check_fraction,
    check_latents,
    check_positive_int,
)
from lps_eval.predictors import get_predictor
from lps_eval.predictors.linear import LinearPredictor
from lps_eval.results import MetricResult, make_row
from lps_eval.streaming import (
    column_moments,
    column_range,
    iter_chunks,
    read_all,
    streams,
    take_rows,
)

__all__ = [
    "DEFAULT_FOLDS",
    "MAX_SAMPLES_NONLINEAR",
    "SINGLE_SPLIT_TEST_SIZE",
    "LpsResult",
    "bootstrap_r2",
    "canonical_order",
    "doubling_converged",
    "expected_null_r2",
    "linear_structure",
    "lps",
    "r2_per_column",
    "resolve_max_samples",
]

#: Fewest held-out and training rows LPS accepts.
MIN_TEST_ROWS = 5
MIN_TRAIN_ROWS = 10
#: Cross-fitting folds used unless ``test_size`` or ``folds`` is given.
DEFAULT_FOLDS = 5
#: Held-out fraction wherever one fixed split is needed instead of folds (a paired
#: comparison's shared split, the learning curve's fixed held-out set).
SINGLE_SPLIT_TEST_SIZE = 0.25
MAX_FOLDS = 100
#: Upper bound on bootstrap resamples (memory is bounded anyway; this bounds time).
MAX_BOOT = 100_000
#: Resample counts held in memory at once by the bootstrap (float64: 8 MiB).
BOOT_CHUNK = 2**20
#: ``interval="auto"`` bootstraps while evaluation rows x resamples stay below this
#: (10,000 rows at 200 resamples); the delta method is as accurate beyond and O(n d).
BOOT_MAX_WORK = 2_000_000
#: Matrix elements per chunk of rows in the streamed passes (8 MiB of float64).
ROW_CHUNK = 2**20
#: Widest inputs accepted by default (``max_dims``), linear and other predictors.
MAX_DIMS_LINEAR = 2048
MAX_DIMS_NONLINEAR = 256
#: Rows a nonlinear predictor uses by default (``max_samples="auto"``); the closed-form
#: linear predictor streams and uses every row.
MAX_SAMPLES_NONLINEAR = 10_000


@dataclass(frozen=True)
class LpsResult(MetricResult):
    """Result of :func:`lps`.

    Attributes
    ----------
    value : float
        LPS, the mean held-out R2 over non-constant dimensions.
    per_dim : numpy.ndarray of shape (d,)
        Held-out R2 of every dimension (NaN for constant dimensions).
    ci_low, ci_high : float
        Interval of LPS (NaN when ``n_boot=0``): two-stage bootstrap or delta method under
        cross-fitting, so it includes the fits' variability; ``settings["interval"]``
        says which, and the upper end allows for the null level's bias (never above 1).
    per_dim_ci : numpy.ndarray of shape (d, 2)
        The same interval for every per-dimension R2.
    null_value : float
        LPS of the column-shuffled data (NaN when ``null=False``).
    null_ci : tuple of float
        Bootstrap interval of the null level.
    structure : numpy.ndarray of shape (d, d) or None
        ``structure[i, j]`` = drop in linear R2 of dimension ``i`` when dimension ``j`` is
        removed from its predictors (unique linear contribution of ``j``; 0 on the diagonal).
    heldout : tuple of numpy.ndarray or None
        ``(rows, y_true, y_pred)``: the original row index of every evaluated row, and the
        standardized targets and out-of-fold predictions of the non-constant dimensions
        (one column each). Lets callers resample the rows themselves, e.g. a paired
        bootstrap of two models scored on the same ``split``.
    """

    per_dim: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    ci_low: float = math.nan
    ci_high: float = math.nan
    per_dim_ci: np.ndarray = field(default_factory=lambda: np.empty((0, 2)), repr=False)
    null_value: float = math.nan
    null_ci: tuple[float, float] = (math.nan, math.nan)
    structure: np.ndarray | None = field(default=None, repr=False)
    heldout: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    metric: str = "lps"

    def rows(self) -> list[dict[str, Any]]:
        predictor = self.settings.get("predictor", "")
        name = self.metric
        out = [
            make_row(
                name, self.value, ci_low=self.ci_low, ci_high=self.ci_high, predictor=predictor
            )
        ]
        out += [
            make_row(name, r2, scope="dim", dim=i, ci_low=lo, ci_high=hi, predictor=predictor)
            for i, (r2, (lo, hi)) in enumerate(zip(self.per_dim, self.per_dim_ci, strict=True))
        ]
        if not math.isnan(self.null_value):
            out.append(
                make_row(
                    f"{name}_null",
                    self.null_value,
                    ci_low=self.null_ci[0],
                    ci_high=self.null_ci[1],
                    predictor=predictor,
                )
            )
        if self.structure is not None:
            d = self.structure.shape[0]
            out += [
                make_row(
                    "lps_structure",
                    self.structure[i, j],
                    scope="dim",
                    dim=i,
                    source_dim=j,
                    predictor="linear",
                )
                for i in range(d)
                for j in range(d)
                if i != j
            ]
        return out


def r2_per_column(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Held-out ``R2 = 1 - SS_res / SS_tot`` for every column (NaN where ``SS_tot = 0``)."""
    ss_res = ((y_true - y_pred) ** 2).sum(axis=0)
    ss_tot = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.nan)


def _resample_counts(
    n: int, n_boot: int, rng: np.random.Generator, groups: list[np.ndarray] | None
) -> np.ndarray:
    """Resampling counts, shape (n_boot, n): how often each row enters each resample.

    Without ``groups`` every resample draws ``n`` rows uniformly with replacement. With
    groups (the cross-fitting folds) the bootstrap is two-stage: the folds are resampled
    with replacement (multinomial counts ``F``), then the rows within every fold, and a
    row's count is ``F[fold] * (its count within the fold)``. The fold stage carries the
    variability of the fitted models (each fold has its own fit) into the interval.
    """
    if groups is None:
        draws = rng.integers(0, n, size=(n_boot, n))
        draws += n * np.arange(n_boot)[:, None]
        counts = np.bincount(draws.ravel(), minlength=n_boot * n)
        del draws
        return counts.reshape(n_boot, n).astype(np.float64)
    k = len(groups)
    fold_mult = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot).astype(np.float64)
    counts = np.empty((n_boot, n))
    for j, pos in enumerate(groups):
        m = pos.size
        draws = rng.integers(0, m, size=(n_boot, m))
        draws += m * np.arange(n_boot)[:, None]
        within = np.bincount(draws.ravel(), minlength=n_boot * m).reshape(n_boot, m)
        counts[:, pos] = within * fold_mult[:, j : j + 1]
    return counts


def bootstrap_r2(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    *,
    n_boot: int,
    rng: np.random.Generator,
    groups: list[np.ndarray] | None = None,
) -> np.ndarray:
    """R2 of every column on ``n_boot`` bootstrap resamples of the evaluation rows.

    Vectorized with resampling counts: with the count matrix ``W`` (resamples x rows,
    see :func:`_resample_counts`), ``SS_res_b = W r^2`` and
    ``SS_tot_b = W y^2 - (W y)^2 / sum(W_b)``, so no resample is materialized. ``W`` is
    built in chunks of resamples holding at most :data:`BOOT_CHUNK` counts, so memory is
    ``O(n d)`` plus a constant whatever ``n_boot`` is.

    Parameters
    ----------
    groups : list of index arrays, optional
        Row positions of every cross-fitting fold: resample folds, then rows within folds.

    Returns
    -------
    numpy.ndarray of shape (n_boot, d)
    """
    n, d = y_true.shape
    centered = y_true - y_true.mean(axis=0)  # shift for numerical stability; R2 unchanged
    sq_res = (y_true - y_pred) ** 2
    sq_tot = centered**2
    out = np.empty((n_boot, d))
    step = max(1, BOOT_CHUNK // n)
    for start in range(0, n_boot, step):
        b = min(step, n_boot - start)
        counts = _resample_counts(n, b, rng, groups)
        total = counts.sum(axis=1)[:, None]
        s1 = counts @ centered
        ss_tot = counts @ sq_tot - s1**2 / total
        ss_res = counts @ sq_res
        with np.errstate(divide="ignore", invalid="ignore"):
            out[start : start + b] = np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.nan)
    return out


def linear_structure_from_covariance(cov: np.ndarray, *, ridge: float = 1e-8) -> np.ndarray:
    """:func:`linear_structure` from a covariance matrix (see there).

    Computed on the correlation matrix: R2 and partial correlations do not depend on the
    scale of a dimension, and latents of magnitude 1e95 would overflow ``prec**2``.
    """
    sd = np.sqrt(np.diag(cov))
    sd[sd == 0] = 1.0
    cov = cov / np.outer(sd, sd)
    prec = LinearPredictor(ridge=ridge).precision_from_covariance(cov)
    diag = np.diag(prec)
    r2 = 1.0 - 1.0 / (np.diag(cov) * diag)
    partial_sq = prec**2 / np.outer(diag, diag)
    np.fill_diagonal(partial_sq, 0.0)
    partial_sq = np.clip(partial_sq, 0.0, 1.0 - 1e-15)
    return (1.0 - r2)[:, None] * partial_sq / (1.0 - partial_sq)


def linear_structure(train: np.ndarray, *, ridge: float = 1e-8) -> np.ndarray:
    """Unique linear contribution of every dimension to every other.

    With precision ``P`` and partial correlation ``rho_ij = -P_ij / sqrt(P_ii P_jj)``,
    dropping predictor ``j`` from the regression of ``i`` lowers its R2 by
    ``(1 - R2_i) rho_ij^2 / (1 - rho_ij^2)``, with ``R2_i = 1 - 1 / (S_ii P_ii)``.

    Returns
    -------
    numpy.ndarray of shape (d, d), zero diagonal.
    """
    return linear_structure_from_covariance(np.cov(train, rowvar=False), ridge=ridge)


def canonical_order(z: np.ndarray) -> np.ndarray:
    """A row order that depends only on the set of rows, not on their given order.

    The key of a row is ``sum_j s_j^2`` with ``s_j = (z_j - mid_j) / range_j`` its value
    rescaled by the column's midrange and range: minimum and maximum are exact whatever
    the order of the samples (a mean or standard deviation is not, in the last bits), and
    a sign flip only changes the sign of ``s_j``. Every term is rounded to a fixed-point
    grid first (an integer held exactly in float64; the grid keeps ``d`` terms below
    ``2^53``), so the sum is exact in any order and the key is unchanged by reordering
    dimensions, by affine rescaling of any dimension (up to rounding of ``s_j`` itself)
    and by reordering samples. Ties are broken by ``sum_j s_j^4`` on the same kind of
    grid, then by the row values themselves (only rows tied on both keys, such as
    ``[a, b]`` and ``[b, a]`` in a column-symmetric sample, depend on the column order
    there). ``O(n d)`` time in two streamed passes, memory ``O(d)`` plus a chunk of rows
    (no per-row sort). Splits drawn on this order make LPS exactly invariant to all three.
    """
    return _canonical_order_and_copies(z)[0]


def _canonical_order_and_copies(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`canonical_order`, and the positions ``k`` of that order whose row is
    identical to the row at ``k + 1`` (duplicated rows; empty when every row is unique).

    Identical rows tie on both sort keys, so they are found among the tied rows only, and
    the final tie-break by value makes the copies of a row neighbours in the order.
    """
    n, d = z.shape
    low, high = column_range(z)  # streamed: a memmap is read once, pages released
    mean = 0.5 * (low + high)
    width = high - low
    width[width == 0] = 1.0
    inv = 1.0 / width
    # |s| <= 1/2: scale s by 2^e (exact) so that d * s^2 * 4^e < 2^53.
    exp2 = math.floor((53 + 2 - math.log2(max(d, 1)) - 1) / 2)
    scale = inv * 2.0**exp2
    key = np.empty(n)
    step = max(1, ROW_CHUNK // max(d, 1))

    def fill(start: int) -> None:
        # through iter_chunks: a memmap's pages are released once read (RSS stays flat)
        _, block = next(iter_chunks(z, rows=step, start=start, stop=min(start + step, n)))
        block = block - mean  # a new array: the chunk may be a view of the caller's z
        block *= scale
        block *= block
        np.rint(block, out=block)
        key[start : start + block.shape[0]] = block.sum(axis=1)

    _map_chunks(fill, range(0, n, step))
    order = np.argsort(key)  # without ties every sort gives this order; ties: lexsort below
    tied = np.flatnonzero(np.diff(key[order]) == 0)
    if tied.size:
        rows = np.unique(np.concatenate([order[tied], order[tied + 1]]))
        exp4 = math.floor((53 + 4 - math.log2(max(d, 1)) - 1) / 4)
        s = (z[rows] - mean) * (inv * 2.0**exp4)
        second = np.zeros(n)
        second[rows] = np.rint(s**4).sum(axis=1)
        order = np.lexsort((second, key))
        if np.any((np.diff(key[order]) == 0) & (np.diff(second[order]) == 0)):
            # Rows tied on both keys (e.g. [a, b] and [b, a] in a column-symmetric sample):
            # break the tie by their values, so sample order still never matters.
            order = np.lexsort((*z.T[::-1], second, key))
            both = np.flatnonzero((np.diff(key[order]) == 0) & (np.diff(second[order]) == 0))
            same = np.all(take_rows(z, order[both]) == take_rows(z, order[both + 1]), axis=1)
            return order, both[same]
    return order, np.empty(0, dtype=np.int64)


def _map_in_order(fn, items) -> Iterator[Any]:
    """``fn(i)`` for every item, on one thread per core (numpy and BLAS release the GIL).

    Results come back in item order, each as soon as it and those before it are done, so
    callers that add them up get numbers that never depend on the number of threads, and
    only a few results are held at once.
    """
    items = list(items)
    workers = min(os.cpu_count() or 1, len(items))
    if workers <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(fn, items)


def _map_chunks(fn, items) -> list:
    """``[fn(i) for i in items]`` on one thread per core (see :func:`_map_in_order`)."""
    return list(_map_in_order(fn, items))


def _percentile_ci(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1.0 - confidence) / 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (constant dims)
        low, high = np.nanquantile(samples, [alpha, 1.0 - alpha], axis=0)
    return low, high


def _standardize(train: np.ndarray, test: np.ndarray):
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std == 0] = 1.0
    return (train - mean) / std, (test - mean) / std, std


def _shuffle_columns(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Permute every column independently: keeps marginals, destroys all dependence."""
    idx = rng.permuted(np.tile(np.arange(z.shape[0])[:, None], (1, z.shape[1])), axis=0)
    return np.take_along_axis(z, idx, axis=0)


def _complement(n: int, pos: np.ndarray) -> np.ndarray:
    mask = np.ones(n, dtype=bool)
    mask[pos] = False
    return np.flatnonzero(mask)


def _constant_columns_of_rows(z: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """:func:`constant_columns` of ``z[idx]``, streamed over chunks of rows."""
    d = z.shape[1]
    step = max(1, ROW_CHUNK // max(d, 1))
    low, high = np.full(d, np.inf), np.full(d, -np.inf)
    for start in range(0, idx.size, step):
        block = take_rows(z, idx[start : start + step])
        low = np.minimum(low, block.min(axis=0))
        high = np.maximum(high, block.max(axis=0))
    return np.flatnonzero(high - low == 0)


def _rows_of(z: np.ndarray, idx: np.ndarray, active: np.ndarray | None) -> np.ndarray:
    block = take_rows(z, idx)  # in memory: z[idx]; a memmap: sorted reads, pages released
    return block if active is None else block[:, active]


def _linear_crossfit(
    z: np.ndarray,
    rows: np.ndarray,
    parts: list[np.ndarray],
    active: np.ndarray | None,
    ridge: float,
    mode: str,
) -> dict[str, Any]:
    """All d linear regressions for every fold, from per-fold sums and Gram matrices.

    One streamed pass accumulates every block's sum and Gram matrix (rows centred on the
    overall mean; blocks are the folds, or the held-out and training rows of a single
    split); a fold's training moments are the totals minus the fold's own, so K fits cost
    one pass over the data plus K ``d x d`` eigendecompositions. With the coefficients
    ``B = P / diag(P)`` of the training precision ``P`` and the held-out rows' Gram
    matrix ``A`` about the training mean, the residual sums of squares are
    ``diag(B^T A B)``: R2 of every dimension and every fold without forming a residual.
    ``mode`` asks for more: ``"bootstrap"`` returns the held-out rows and residuals
    (standardized), ``"delta"`` streams the influence-function variances
    (see :func:`_delta_from_rows`); ``"none"`` stops at R2. Memory is ``O(K d^2)`` plus a
    chunk of rows, whatever n is; BLAS runs on one thread (small products, busy cores).
    """
    from threadpoolctl import threadpool_limits

    d = z.shape[1] if active is None else active.size
    blocks = _moment_blocks(rows.size, parts)
    # Above the streaming switch (and unless the held-out rows themselves are kept for a
    # bootstrap) both passes read the file in its own order, labelling each row with its
    # block: sequential reads, never a random gather from a file larger than memory.
    in_file_order = streams(z.shape) and mode != "bootstrap"
    reader = _BlockReader(
        z=z,
        rows=rows,
        blocks=blocks,
        active=active,
        step=max(1, ROW_CHUNK // max(d, 1)),
        labels=_file_labels(z.shape[0], rows, blocks) if in_file_order else None,
    )
    with threadpool_limits(limits=1, user_api="blas"):
        # Centre on the first row of the canonical order (the row nearest the mean in
        # z-score norm): a data point, so the shift is the same whatever the sample order.
        reader = replace(reader, shift=_rows_of(z, rows[:1], active)[0].copy())
        folds = _fold_regressions(*_block_moments(reader, d), parts, rows.size, ridge)
        out: dict[str, Any] = {"r2": folds.r2, "fold_r2": folds.fold_r2, "cov": folds.cov}
        if mode == "bootstrap":
            out["y"], out["resid"] = _heldout_rows(reader, parts, folds)
        elif mode != "none":
            out["var_dim"], out["var_lps"] = _influence_variances(reader, parts, folds)
    return out


def _moment_blocks(n: int, parts: list[np.ndarray]) -> list[np.ndarray]:
    """The row blocks whose moments are summed: the folds, or for a single split the
    held-out rows and the training rows cut into blocks of about the same size."""
    blocks = list(parts)
    if sum(p.size for p in parts) < n:  # single split: the training rows as more blocks
        rest = _complement(n, parts[0])
        blocks.extend(np.array_split(rest, max(1, round(rest.size / max(parts[0].size, 1)))))
    return blocks


@dataclass(frozen=True)
class _BlockReader:
    """How the linear cross-fit reads its blocks of rows (gathered, or in file order).

    ``labels`` (the block of every row of the file) is set above the streaming switch:
    the file is then read in its own order and each chunk split by label; otherwise each
    block's rows are gathered in chunks of ``step`` rows. Every chunk is centred on
    ``shift``.
    """

    z: Any
    rows: np.ndarray
    blocks: list[np.ndarray]
    active: np.ndarray | None
    step: int
    labels: np.ndarray | None = None
    shift: np.ndarray | None = None

    @property
    def in_file_order(self) -> bool:
        return self.labels is not None

    def gathered(self, j: int) -> Iterator[np.ndarray]:
        """The rows of block ``j`` in chunks, in a fixed order."""
        pos = self.blocks[j]
        for start in range(0, pos.size, self.step):
            yield (
                _rows_of(self.z, self.rows[pos[start : start + self.step]], self.active)
                - self.shift
            )

    def in_order(self, start: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        """``(block, chunk)`` for the file's rows ``start:stop``, read in file order."""
        return _labelled_chunks(
            self.z, self.labels, start, stop, self.step, self.active, self.shift
        )


def _add_moments(block: np.ndarray, j: int, sums: np.ndarray, grams: np.ndarray) -> None:
    sums[j] += block.sum(axis=0)
    grams[j] += block.T @ block


def _block_moments(reader: _BlockReader, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Sum and Gram matrix of every block (rows centred on ``reader.shift``)."""
    k = len(reader.blocks)
    sums, grams = np.zeros((k, d)), np.zeros((k, d, d))
    if reader.in_file_order:

        def accumulate_segment(start: int, stop: int):
            part_sums, part_grams = np.zeros_like(sums), np.zeros_like(grams)
            for j, block in reader.in_order(start, stop):
                _add_moments(block, j, part_sums, part_grams)
            return part_sums, part_grams

        for part_sums, part_grams in _segments_in_order(reader.z.shape[0], accumulate_segment):
            sums += part_sums
            grams += part_grams
    else:

        def accumulate(j: int) -> None:  # one block per thread, chunks in a fixed order
            for block in reader.gathered(j):
                _add_moments(block, j, sums, grams)

        _map_chunks(accumulate, range(k))
    return sums, grams


@dataclass(frozen=True)
class _LinearFolds:
    """The K linear fits of the cross-fit and what the second pass needs of them."""

    r2: np.ndarray
    fold_r2: np.ndarray | None
    cov: np.ndarray
    coefs: list[np.ndarray]
    train_means: list[np.ndarray]
    scale: np.ndarray
    eval_mean: np.ndarray
    a_coef: np.ndarray
    b_coef: np.ndarray


def _fold_regressions(
    sums: np.ndarray, grams: np.ndarray, parts: list[np.ndarray], n: int, ridge: float
) -> _LinearFolds:
    """Each fold's regressions from the totals minus the fold's own moments, and R2."""
    s_all, g_all = sums.sum(axis=0), grams.sum(axis=0)
    d = s_all.size
    cov_all = (g_all - np.outer(s_all, s_all) / n) / max(n - 1, 1)
    ss_tot = np.diag(g_all) - s_all**2 / n
    scale = np.sqrt(np.diag(cov_all))
    scale[scale == 0] = 1.0
    model = LinearPredictor(ridge=ridge)
    coefs, train_means, ss_res, fold_r2 = [], [], np.zeros((len(parts), d)), []
    for j, pos in enumerate(parts):
        m, n_tr = pos.size, n - pos.size
        s_tr = s_all - sums[j]
        mean_tr = s_tr / n_tr
        cov_tr = (g_all - grams[j] - np.outer(s_tr, s_tr) / n_tr) / max(n_tr - 1, 1)
        prec = model.precision_from_covariance(cov_tr)
        coef = prec / np.diag(prec)
        held = grams[j] - np.outer(sums[j], mean_tr) - np.outer(mean_tr, sums[j])
        held += m * np.outer(mean_tr, mean_tr)
        ss_res[j] = ((held @ coef) * coef).sum(axis=0)
        fold_tot = np.diag(grams[j]) - sums[j] ** 2 / m
        with np.errstate(divide="ignore", invalid="ignore"):
            fold_r2.append(np.where(fold_tot > 0, 1.0 - ss_res[j] / fold_tot, np.nan))
        coefs.append(coef)
        train_means.append(mean_tr)
    single = len(grams) > len(parts)  # a single split: R2 over the held-out rows alone
    eval_tot = np.diag(grams[0]) - sums[0] ** 2 / parts[0].size if single else ss_tot
    n_eval = sum(p.size for p in parts)
    return _LinearFolds(
        r2=1.0 - ss_res.sum(axis=0) / eval_tot,
        fold_r2=np.array(fold_r2) if len(parts) > 1 else None,
        cov=cov_all,
        coefs=coefs,
        train_means=train_means,
        scale=scale,
        eval_mean=(sums[0] if single else s_all) / n_eval,
        a_coef=ss_res.sum(axis=0) / n_eval,  # mean squared residual
        b_coef=eval_tot / n_eval,  # mean squared deviation
    )


def _heldout_rows(
    reader: _BlockReader, parts: list[np.ndarray], folds: _LinearFolds
) -> tuple[np.ndarray, np.ndarray]:
    """Standardized held-out targets and residuals of every evaluated row (bootstrap)."""
    n_eval, d = sum(p.size for p in parts), folds.scale.size
    y, resid = np.empty((n_eval, d)), np.empty((n_eval, d))
    offsets = np.cumsum([0] + [p.size for p in parts])

    def fill(j: int) -> None:
        at = offsets[j]
        for block in reader.gathered(j):
            y[at : at + block.shape[0]] = (block - folds.eval_mean) / folds.scale
            r = (block - folds.train_means[j]) @ folds.coefs[j]
            resid[at : at + block.shape[0]] = r / folds.scale
            at += block.shape[0]

    _map_chunks(fill, range(len(parts)))
    return y, resid


def _add_influence(block: np.ndarray, j: int, folds: _LinearFolds, acc: np.ndarray) -> None:
    """Add the influence values of R2 for a chunk of fold ``j``'s held-out rows."""
    # influence -(r^2 - a) / b + a (yc^2 - b) / b^2 = a yc^2 / b^2 - r^2 / b
    a_coef, b_coef, d = folds.a_coef, folds.b_coef, folds.scale.size
    r = (block - folds.train_means[j]) @ folds.coefs[j]
    yc = block - folds.eval_mean
    r *= r
    r *= -1.0 / b_coef
    yc *= yc
    yc *= a_coef / b_coef**2
    r += yc
    row_mean = r.mean(axis=1)
    acc[0, :d] += r.sum(axis=0)
    acc[1, :d] += np.einsum("ij,ij->j", r, r)
    acc[0, d] += row_mean.sum()
    acc[1, d] += row_mean @ row_mean


def _influence_variances(
    reader: _BlockReader, parts: list[np.ndarray], folds: _LinearFolds
) -> tuple[np.ndarray, float]:
    """Delta-method variances of every R2 and of LPS, streamed over the held-out rows."""
    n_eval, d = sum(p.size for p in parts), folds.scale.size
    acc_parts = np.zeros((len(parts), 2, d + 1))
    if reader.in_file_order:

        def influence_segment(start: int, stop: int) -> np.ndarray:
            acc = np.zeros_like(acc_parts)
            for j, block in reader.in_order(start, stop):
                if j < len(parts):  # training-only rows of a single split: not evaluated
                    _add_influence(block, j, folds, acc[j])
            return acc

        for acc in _segments_in_order(reader.z.shape[0], influence_segment):
            acc_parts += acc
    else:

        def second_pass(j: int) -> None:
            for block in reader.gathered(j):
                _add_influence(block, j, folds, acc_parts[j])

        _map_chunks(second_pass, range(len(parts)))
    acc = acc_parts.sum(axis=0)
    var = (acc[1] - acc[0] ** 2 / n_eval) / max(n_eval - 1, 1) / n_eval
    return var[:d], float(var[d])


#: Rows per segment of the file-order passes of the linear cross-fit: segments run on
#: threads and their partial sums are added in file order, so the numbers do not depend
#: on the number of threads.
SEGMENT_ROWS = 1 << 20


def _file_labels(n_file: int, rows: np.ndarray, blocks: list[np.ndarray]) -> np.ndarray:
    """The block of every row of the file (-1: a row not used), ``rows[blocks[j]] -> j``."""
    labels = np.full(n_file, -1, dtype=np.int8 if len(blocks) < 127 else np.int32)
    for j, pos in enumerate(blocks):
        labels[rows[pos]] = j
    return labels


def _labelled_chunks(z, labels, start, stop, step, active, shift):
    """``(block_label, rows)`` for the rows ``start:stop`` of the file, read in order.

    Each chunk is read once and split by label (a stable sort keeps the file order within
    a label); unlabelled rows are skipped.
    """
    for first, chunk in iter_chunks(z, rows=step, start=start, stop=stop):
        lab = labels[first : first + chunk.shape[0]]
        order = np.argsort(lab, kind="stable")
        counts = np.bincount(lab.astype(np.int64) + 1)
        chunk = chunk[order] if active is None else chunk[np.ix_(order, active)]
        chunk -= shift
        bounds = np.cumsum(counts)
        for j in range(counts.size - 1):
            if counts[j + 1]:
                yield j, chunk[bounds[j] : bounds[j + 1]]


def _segments_in_order(n: int, fn) -> Iterator[Any]:
    """``fn(start, stop)`` over fixed segments of :data:`SEGMENT_ROWS` rows, in order."""
    starts = range(0, n, SEGMENT_ROWS)
    return _map_in_order(lambda start: fn(start, min(start + SEGMENT_ROWS, n)), starts)


def _delta_from_rows(y: np.ndarray, resid: np.ndarray) -> tuple[np.ndarray, float]:
    """Row-sampling variance of every R2 and of their mean, from the influence function.

    With ``a_i = mean r_i^2`` and ``b_i = mean (y_i - ybar_i)^2``, ``R2_i = 1 - a_i / b_i``
    has influence ``-(r_i^2 - a_i) / b_i + a_i ((y_i - ybar_i)^2 - b_i) / b_i^2`` (delta
    method); its variance over the rows, divided by n, is the sampling variance.
    """
    n = y.shape[0]
    yc = y - y.mean(axis=0)
    sq_tot, sq_res = yc * yc, resid * resid
    a, b = sq_res.mean(axis=0), sq_tot.mean(axis=0)
    infl = -(sq_res - a) / b + a * (sq_tot - b) / b**2
    return infl.var(axis=0, ddof=1) / n, float(infl.mean(axis=1).var(ddof=1)) / n


def _delta_halfwidths(
    var_dim: np.ndarray, var_lps: float, fold_r2: np.ndarray | None, confidence: float
) -> tuple[np.ndarray, float]:
    """Normal half-widths: row-sampling variance plus the variance of fold-wise R2 / K.

    The fold term carries the variability of the K fitted models into the interval.
    """
    from statistics import NormalDist

    quant = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    if fold_r2 is not None and len(fold_r2) > 1:
        k = len(fold_r2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            var_dim = var_dim + np.nanvar(fold_r2, axis=0, ddof=1) / k
            var_lps += float(np.nanvar(np.nanmean(fold_r2, axis=1), ddof=1)) / k
    return quant * np.sqrt(var_dim), quant * math.sqrt(var_lps)


def expected_null_r2(n_train: np.ndarray, n_test: np.ndarray, p: int) -> float:
    """Expected held-out R2 of least squares (with intercept) on independent data.

    For ``p`` Gaussian predictors independent of the target, the expected squared error
    of the least-squares prediction at a new point is
    ``sigma^2 (1 + 1/m) (m - 2) / (m - p - 2)`` with ``m`` training rows (Stein 1960;
    ``E[S^-1] = Sigma^-1 / (m - p - 2)`` for a Wishart matrix). Dividing the expected
    residual sum over the held-out rows by the expected total sum of squares,
    ``(N - 1) sigma^2`` over the ``N`` evaluation rows, gives the level that a
    column-shuffled copy of the data reaches on average: the linear LPS null, without
    shuffling or refitting. ``n_train`` and ``n_test`` hold one entry per fold (R2 pooled
    over the folds) or one for a single split. NaN when ``m <= p + 2``.
    """
    n_train = np.asarray(n_train, dtype=float)
    n_test = np.asarray(n_test, dtype=float)
    if np.any(n_train <= p + 2):
        return math.nan
    factor = (1.0 + 1.0 / n_train) * (n_train - 2.0) / (n_train - p - 2.0)
    ss_res = float((n_test * factor).sum())
    return 1.0 - ss_res / (float(n_test.sum()) - 1.0)


def _resolve_split(test_size, folds):
    if test_size is not None and folds is not None:
        raise LpsInputError(
            f"give test_size (one held-out split) or folds (cross-fitting), not both; got "
            f"test_size={test_size!r} and folds={folds!r}"
        )
    if test_size is not None:
        return check_fraction(test_size, name="test_size"), None
    if folds is None:
        return None, DEFAULT_FOLDS
    folds = check_positive_int(folds, name="folds", minimum=2)
    if folds > MAX_FOLDS:
        raise LpsInputError(f"folds must be at most {MAX_FOLDS}, got {folds}")
    return None, folds


def resolve_max_samples(max_samples: Any, predictor: Any) -> int | None:
    """The row cap one LPS call uses: ``"auto"`` is every row (None) for the closed-form
    linear predictor and :data:`MAX_SAMPLES_NONLINEAR` for any other; an int or None is
    returned as given.

    ``predictor`` is a name (``"linear"``) or a predictor object.
    """
    if isinstance(max_samples, str):
        if max_samples != "auto":
            raise LpsInputError(
                f"max_samples must be a row count, None (every row) or 'auto', got {max_samples!r}"
            )
        model = get_predictor(predictor) if isinstance(predictor, str) else predictor
        return None if type(model) is LinearPredictor else MAX_SAMPLES_NONLINEAR
    return max_samples


def _max_dims(max_dims, linear: bool) -> int:
    if max_dims is None:
        return MAX_DIMS_LINEAR if linear else MAX_DIMS_NONLINEAR
    return check_positive_int(max_dims, name="max_dims", minimum=2)


def lps(
    z: Any,
    *,
    predictor: Any = "hgb",
    predictor_params: dict[str, Any] | None = None,
    test_size: float | None = None,
    max_samples: int | str | None = "auto",
    n_boot: int = 200,
    confidence: float = 0.95,
    null: bool = True,
    null_dims: int | None = 8,
    structure: bool = True,
    seed: int = 0,
    folds: int | None = None,
    null_method: str = "auto",
    interval: str = "auto",
    max_dims: int | None = None,
    split: tuple[Any, Any] | None = None,
) -> LpsResult:
    """Latent Predictability Score with honest intervals, null level and structure.

    Parameters
    ----------
    z : array-like of shape (n_samples, n_dims)
        Latent codes, rows are samples; at least 2 dimensions.
    predictor : str or object, default "hgb"
        ``"linear"`` (closed form, all d regressions from one inverse), ``"hgb"``
        (HistGradientBoosting, the default nonlinear predictor), ``"mlp"``, ``"knn"``,
        ``"lightgbm"`` (paper's LPS-lgbm, binning shared by the d fits), ``"torch"`` (one
        batched network for all d), a scikit-learn regressor instance, or any object with
        ``fit_predict``.
    predictor_params : dict, optional
        Options for a predictor given by name (e.g. ``{"max_iter": 50, "n_jobs": 1}``).
    test_size : float or None, default None
        Held-out fraction of a **single** split (the 0.1 behaviour). Leave None for
        cross-fitting over ``folds``; give one or the other.
    max_samples : int, None or "auto", default "auto"
        Random subsample of rows used (None = every row). ``"auto"``: every row for
        ``"linear"`` (streamed passes of ``O(n d^2)``: 4.5 s at 20,000 x 1,024 on a quiet
        machine, 35 s on a loaded 2-core one; memory ``O(d^2)`` whatever n is), :data:`MAX_SAMPLES_NONLINEAR` (10,000) rows for
        every other predictor, whose d fits per fold grow with n.
    n_boot : int, default 200
        Bootstrap resamples for the intervals (0 = no interval). At most 100,000.
    confidence : float, default 0.95
        Interval coverage.
    null : bool, default True
        Also compute the null level: LPS of the same rows with each column shuffled
        independently.
    null_dims : int or None, default 8
        Fit the shuffled null for at most this many randomly chosen target dimensions
        (None = all); under the null every dimension's R2 has the same role.
    structure : bool, default True
        Compute the d x d linear predictability structure (see :func:`linear_structure`).
    seed : int, default 0
        Seeds the subsample, the folds, the bootstrap, the shuffles and the predictor.
    folds : int or None, default None (= 5)
        K-fold cross-fitting: every row is predicted once by the model fitted on the other
        K-1 folds and R2 is pooled over all rows. Used unless ``test_size`` is given.
    null_method : {"auto", "shuffle", "closed_form"}, default "auto"
        ``"shuffle"``: fit the predictor on a column-shuffled copy (one fold held out).
        ``"closed_form"`` (linear predictor only): the expected held-out R2 of least squares
        on independent data (:func:`expected_null_r2`), no refit. ``"auto"`` picks the
        closed form for ``"linear"`` and the shuffle otherwise.
    interval : {"auto", "bootstrap", "delta"}, default "auto"
        ``"bootstrap"``: percentile interval over ``n_boot`` resamples (two-stage, folds then
        rows, under cross-fitting). ``"delta"``: normal interval from the influence function
        of R2 plus the spread over folds, in ``O(n d)``. ``"auto"``: bootstrap while
        ``n_eval * n_boot <= 2e6`` resampled rows, the delta method beyond.
    max_dims : int or None, default None
        Refuse inputs with more dimensions (default 2048 for ``"linear"``, 256 otherwise)
        instead of running for hours: see docs/lps.md, "Wide inputs".
    split : (train_rows, test_rows), optional
        Use exactly this single split: two disjoint integer arrays of row indices into
        ``z`` (``test_size``, ``folds``, the canonical reordering and the ``max_samples``
        subsample are then not used: the caller chose the rows). Several models given the
        same split are scored on the same rows, so their per-row errors can be compared
        pairwise (see :attr:`LpsResult.heldout` and :func:`lps_eval.compare`).

    Returns
    -------
    LpsResult
        ``.value``, ``.per_dim``, intervals, ``.null_value``, ``.structure``,
        ``.to_frame()``; ``.settings`` records every choice (and a ``note`` when an
        interval needs a word of caution).

    Notes
    -----
    Rows are put in a canonical order before the seeded subsample and folds, so the
    result does not depend on the order of samples (any predictor) nor, for the linear
    predictor, on the order of dimensions or on affine rescaling of a dimension. Inputs
    are standardized with each fold's training statistics. Under cross-fitting the
    interval includes the variability of the fitted models (fold stage of the
    bootstrap, or the fold spread for the delta method); with a single ``test_size``
    split it covers held-out-row noise only. Constant dimensions get R2 = NaN, are left
    out of the mean and of every other dimension's predictors, with a warning. Held-out
    rows with an identical copy among their training rows (duplicated rows) are counted
    (``settings["n_heldout_with_copy_in_training"]``) and warned about: a flexible
    predictor recalls such a target instead of predicting it.

    Examples
    --------
    >>> import numpy as np, lps_eval
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(5000, 1))
    >>> z = np.hstack([x, x + 0.5 * rng.normal(size=(5000, 1)), rng.normal(size=(5000, 1))])
    >>> res = lps_eval.lps(z, predictor="linear")
    >>> np.round(res.per_dim, 1)
    array([0.8, 0.8, 0. ])
    """
    # lazy: a memmap or dask array stays one (rows are read when used); small inputs are
    # read into memory at once
    z = check_latents(z, min_samples=MIN_TRAIN_ROWS + MIN_TEST_ROWS, min_dims=2, lazy=True)
    if not streams(z.shape):
        z = read_all(z)
    opts = _validated_options(
        z,
        predictor=predictor,
        predictor_params=predictor_params,
        test_size=test_size,
        max_samples=max_samples,
        n_boot=n_boot,
        confidence=confidence,
        null=null,
        null_dims=null_dims,
        structure=structure,
        seed=seed,
        folds=folds,
        null_method=null_method,
        interval=interval,
        max_dims=max_dims,
        split=split,
    )
    plan = _plan(z, opts)
    fit = _fit(z, opts, plan)
    per_dim = np.full(plan.d, np.nan)
    per_dim[plan.active] = fit.r2
    value = float(np.nanmean(fit.r2))
    ci, per_dim_ci, interval_notes = _interval(opts, plan, fit, value, z.shape[0])
    null_value, null_ci, null_targets = _null(opts, plan, fit)
    ci, per_dim_ci, allowance = _allow_for_null_bias(opts, ci, per_dim_ci, null_value, null_ci)
    return LpsResult(
        value=value,
        settings=_settings(
            opts, plan, allowance, null_targets, notes=[*plan.notes, *interval_notes]
        ),
        per_dim=per_dim,
        ci_low=ci[0],
        ci_high=ci[1],
        per_dim_ci=per_dim_ci,
        null_value=null_value,
        null_ci=null_ci,
        structure=_structure(opts, plan, fit),
        heldout=_heldout(plan, fit),
    )


def _warn(message: str, *, depth: int = 0) -> None:
    """Warn at the line that called :func:`lps` (``depth``: calls between lps and the
    function that warns, 0 when lps calls it directly)."""
    warnings.warn(message, LpsInputWarning, stacklevel=depth + 4)


# ---------------------------------------------------------------- step 1: the plan


@dataclass(frozen=True)
class _Options:
    """The validated keyword options of one :func:`lps` call, and the predictor."""

    model: Any
    closed_form: bool
    test_size: float | None
    folds: int | None
    split: Any
    max_samples: int | None
    n_boot: int
    confidence: float
    null: bool
    null_dims: int | None
    null_method: str
    interval: str
    structure: bool
    seed: int


def _validated_options(z: Any, **kw: Any) -> _Options:
    """Check every option of :func:`lps` (one clear error each) and build the predictor."""
    split = kw["split"]
    if split is not None:
        test_size, folds = None, None
    else:
        test_size, folds = _resolve_split(kw["test_size"], kw["folds"])
    n_boot = check_positive_int(kw["n_boot"], name="n_boot", minimum=0)
    if n_boot > MAX_BOOT:
        raise LpsInputError(f"n_boot must be at most {MAX_BOOT}, got {n_boot}")
    confidence = check_fraction(kw["confidence"], name="confidence")
    for flag_name in ("null", "structure"):
        flag = kw[flag_name]
        if not isinstance(flag, (bool, np.bool_)):
            raise LpsInputError(f"{flag_name} must be True or False, got {flag!r}")
    for opt_name, choices in (
        ("null_method", ("auto", "shuffle", "closed_form")),
        ("interval", ("auto", "bootstrap", "delta")),
    ):
        if kw[opt_name] not in choices:
            raise LpsInputError(
                f"{opt_name} must be one of {', '.join(choices)}; got {kw[opt_name]!r}"
            )
    predictor_params = kw["predictor_params"]
    if predictor_params is not None and not isinstance(predictor_params, dict):
        raise LpsInputError(
            f"predictor_params must be a dict of predictor options, got {predictor_params!r}"
            " (CLI: -P KEY=VALUE)"
        )
    null_dims = kw["null_dims"]
    if null_dims is not None:
        null_dims = check_positive_int(null_dims, name="null_dims")
    model = get_predictor(kw["predictor"], **(predictor_params or {}))
    closed_form = type(model) is LinearPredictor
    if kw["null_method"] == "closed_form" and not closed_form:
        raise LpsInputError("null_method='closed_form' needs predictor='linear'")
    d = z.shape[1]
    limit = _max_dims(kw["max_dims"], closed_form)
    if d > limit:
        raise LpsInputError(
            f"z has {d} dimensions, more than max_dims={limit} for predictor "
            f"{model.name!r}; LPS fits d regressions on d-1 inputs each, so this would take "
            "hours and the d x d matrices gigabytes: score a subset of dimensions, reduce d "
            "first, or pass max_dims to accept the cost"
        )
    return _Options(
        model=model,
        closed_form=closed_form,
        test_size=test_size,
        folds=folds,
        split=split,
        max_samples=resolve_max_samples(kw["max_samples"], model),
        n_boot=n_boot,
        confidence=confidence,
        null=bool(kw["null"]),
        null_dims=null_dims,
        null_method=kw["null_method"],
        interval=kw["interval"],
        structure=bool(kw["structure"]),
        seed=kw["seed"],
    )


@dataclass(frozen=True)
class _Plan:
    """What one :func:`lps` call will do: rows, their split, scored dimensions, methods, seeds.

    ``rows`` are the original indices of the rows used (canonical order, after the
    ``max_samples`` subsample; or the caller's held-out rows then training rows);
    ``parts`` are the evaluation blocks as positions into ``rows`` (K folds, or the one
    held-out set of a single split). ``interval`` and ``null_method`` are resolved (never
    ``"auto"``); the seeds are drawn from the call's generator in a fixed order.
    """

    n_total: int
    d: int
    rows: np.ndarray
    parts: list[np.ndarray]
    test_size: float | None
    const: np.ndarray
    active: np.ndarray
    interval: str
    null_method: str
    model_seed: int
    boot_seed: int
    null_seed: int
    notes: tuple[str, ...] = ()
    n_heldout_copied: int = 0

    @property
    def n(self) -> int:
        return int(self.rows.size)

    @property
    def n_eval(self) -> int:
        return sum(p.size for p in self.parts)

    @property
    def cols(self) -> np.ndarray | None:
        """The scored columns, None when every column is (no copy needed)."""
        return None if self.active.size == self.d else self.active

    @property
    def groups(self) -> list[np.ndarray] | None:
        """Positions of every fold among the evaluated rows (cross-fitting only)."""
        if len(self.parts) == 1:
            return None
        bounds = np.cumsum([0] + [p.size for p in self.parts])
        return [np.arange(bounds[k], bounds[k + 1]) for k in range(len(self.parts))]

    @property
    def fold_seeds(self) -> list[int]:
        return [(self.model_seed + k) % (2**31 - 1) for k in range(len(self.parts))]


def _plan(z: Any, opts: _Options) -> _Plan:
    """Rows, split, active dimensions, methods and seeds (the Notes of :func:`lps`)."""
    n_total, d = z.shape
    rng = make_rng(opts.seed)
    order, copies = _canonical_order_and_copies(z)
    rows, parts, test_size = _split_rows(z, opts, rng, order)
    const, active = _active_dims(z, rows, parts, folds=opts.folds)
    fix = _more_rows_fix(opts, rows.size, n_total)
    notes = _size_notes(rows.size, sum(p.size for p in parts), d, fix)
    n_copied = _heldout_rows_with_copies(rows, parts, *_copy_classes(order, copies))
    if n_copied:
        notes.append(_copies_note(n_copied, sum(p.size for p in parts)))
    n_eval = sum(p.size for p in parts)
    method = opts.interval
    if method == "auto":
        method = "bootstrap" if n_eval * opts.n_boot <= BOOT_MAX_WORK else "delta"
    if opts.split is not None:
        method = "bootstrap"  # the caller resamples the evaluated rows: keep them
    null_method = opts.null_method
    if null_method == "auto":
        null_method = "closed_form" if opts.closed_form else "shuffle"
    model_seed = int(rng.integers(2**31 - 1))
    boot_seed = int(rng.integers(2**63 - 1))
    null_seed = int(rng.integers(2**63 - 1))
    return _Plan(
        n_total=int(n_total),
        d=int(d),
        rows=rows,
        parts=parts,
        test_size=test_size,
        const=const,
        active=active,
        interval=method,
        null_method=null_method,
        model_seed=model_seed,
        boot_seed=boot_seed,
        null_seed=null_seed,
        notes=tuple(notes),
        n_heldout_copied=n_copied,
    )


def _split_rows(
    z: Any, opts: _Options, rng: np.random.Generator, order: np.ndarray
) -> tuple[np.ndarray, list[np.ndarray], float | None]:
    """``(rows, parts, test_size)`` of the caller's split, a single split or K folds
    (``order``: the canonical order of the rows)."""
    n_total = z.shape[0]
    if opts.split is not None:
        train_idx, test_idx = _check_split(opts.split, n_total)
        rows = np.concatenate([test_idx, train_idx])
        if test_idx.size < MIN_TEST_ROWS or train_idx.size < MIN_TRAIN_ROWS:
            raise LpsInputError(
                f"split has {test_idx.size} held-out and {train_idx.size} training rows; LPS "
                f"needs >= {MIN_TEST_ROWS} and >= {MIN_TRAIN_ROWS}: give the split more rows"
            )
        return rows, [np.arange(test_idx.size)], test_idx.size / rows.size
    keep = subsample_rows(n_total, opts.max_samples, rng)
    rows = order if keep is None else order[keep]
    perm = rng.permutation(rows.size)
    fix = _more_rows_fix(opts, rows.size, n_total)
    if opts.folds is None:  # one seeded held-out split
        return rows, [_single_split(perm, opts.test_size, fix)], opts.test_size
    return rows, _fold_parts(perm, opts.folds, fix), None


def _more_rows_fix(opts: _Options, n: int, n_total: int) -> str:
    """How this call gets more rows: lift the ``max_samples`` cap, or encode more."""
    if opts.split is not None:
        return "give the split more held-out rows"
    if n < n_total:
        return (
            f"use every row with max_samples=None (max_samples={opts.max_samples} keeps "
            f"{n} of the {n_total} rows)"
        )
    return "encode more samples"


def _single_split(perm: np.ndarray, test_size: float, fix: str) -> np.ndarray:
    n = perm.size
    n_test = int(round(test_size * n))
    if n_test < MIN_TEST_ROWS or n - n_test < MIN_TRAIN_ROWS:
        raise LpsInputError(
            f"{n} samples with test_size={test_size} leave {n_test} held-out and "
            f"{n - n_test} training rows; LPS needs >= {MIN_TEST_ROWS} and >= "
            f"{MIN_TRAIN_ROWS}: {fix}, or change test_size"
        )
    return np.sort(perm[:n_test])


def _fold_parts(perm: np.ndarray, folds: int, fix: str) -> list[np.ndarray]:
    """K-fold cross-fitting: the fold of canonical position ``perm[i]`` is ``i mod K``."""
    n = perm.size
    if n // folds < MIN_TEST_ROWS or n - n // folds - 1 < MIN_TRAIN_ROWS:
        raise LpsInputError(
            f"{n} samples in {folds} folds leave {n // folds} held-out rows per fold; LPS "
            f"needs >= {MIN_TEST_ROWS}: {fix}, or use fewer folds"
        )
    # built in chunks as small ints (8 bytes per row of temporaries, not 24: 1e8 rows are
    # 0.8 GB, not 2.4 GB)
    fold_of = np.empty(n, dtype=np.int8)  # folds <= MAX_FOLDS = 100
    for start in range(0, n, ROW_CHUNK):
        stop = min(start + ROW_CHUNK, n)
        fold_of[perm[start:stop]] = np.arange(start, stop) % folds
    return [np.flatnonzero(fold_of == k) for k in range(folds)]


def _active_dims(
    z: Any, rows: np.ndarray, parts: list[np.ndarray], *, folds: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Constant dimensions (in the training or held-out rows) and the scored ones."""
    n, d = rows.size, z.shape[1]
    if folds is None:
        const = np.union1d(
            _constant_columns_of_rows(z, rows[parts[0]]),
            _constant_columns_of_rows(z, rows[_complement(n, parts[0])]),
        )
    elif n == z.shape[0]:  # every row: min and max need no gather
        low, high = column_range(z)  # streamed: a memmap's pages are released as read
        const = np.flatnonzero(high - low == 0)
    else:
        const = _constant_columns_of_rows(z, rows)
    active = np.setdiff1d(np.arange(d), const)
    if const.size:
        _warn(
            f"constant latent dimension(s) {const.tolist()} (in the training or held-out "
            "split) have no R2; they are left out of LPS and of the other predictors "
            "(drop them from z to silence this warning)",
            depth=1,
        )
    if active.size < 2:
        raise LpsInputError(
            f"only {active.size} non-constant dimension(s); LPS needs at least 2 varying dimensions"
        )
    return const, active


def _size_notes(n: int, n_eval: int, d: int, fix: str) -> list[str]:
    """A warning (and a settings note) when there are too few rows for stable R2;
    ``fix`` names what gives this call more rows."""
    if not (n < d or n_eval < 10 * d):
        return []
    msg = (
        f"only {n_eval} held-out rows for {d} dimensions (n = {n}); R2 needs >= 10 "
        f"held-out rows per dimension to be stable, so LPS and its interval are rough: {fix}"
        + (" (fewer samples than dimensions: every fit can interpolate)" if n < d else "")
    )
    _warn(msg, depth=1)
    return [msg]


def _copy_classes(order: np.ndarray, copies: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, group)`` of every row that has an identical copy, sorted by row; rows with
    the same ``group`` are identical (``copies`` from :func:`_canonical_order_and_copies`)."""
    if not copies.size:
        return copies, copies
    pos = np.union1d(copies, copies + 1)
    group = np.cumsum(~np.isin(pos - 1, copies)) - 1  # a group starts where a row differs
    rows = order[pos]
    by_row = np.argsort(rows)
    return rows[by_row], group[by_row]


def _heldout_rows_with_copies(
    rows: np.ndarray, parts: list[np.ndarray], copy_rows: np.ndarray, copy_group: np.ndarray
) -> int:
    """How many evaluated rows have an identical row among their own training rows."""
    at = np.flatnonzero(np.isin(rows, copy_rows)) if copy_rows.size else copy_rows
    if at.size < 2:
        return 0
    group = copy_group[np.searchsorted(copy_rows, rows[at])]
    label = np.full(at.size, -1)  # -1: a training-only row (single or caller's split)
    for j, pos in enumerate(parts):
        label[np.isin(at, pos)] = j
    total = np.bincount(group)
    _, inverse, counts = np.unique(
        group * (len(parts) + 1) + label + 1, return_inverse=True, return_counts=True
    )
    # a held-out row of part j sees a copy in training when its group has rows outside j
    return int(np.sum((label >= 0) & (total[group] > counts[inverse.ravel()])))


def _copies_note(n_copied: int, n_eval: int) -> str:
    msg = (
        f"{n_copied} of the {n_eval} held-out rows ({n_copied / n_eval:.0%}) "
        f"{'has' if n_copied == 1 else 'have'} an identical copy among their training rows "
        "(z has duplicated rows): a flexible "
        "predictor then recalls a held-out target from its copy instead of predicting it, "
        "so LPS measures how repeated the sample is as much as how dependent the "
        "dimensions are. If the copies are an artefact (an input encoded twice, a loader "
        "that repeats), deduplicate first (np.unique(z, axis=0)); if the latent "
        "distribution really has atoms, LPS near 1 says each dimension is a function of "
        "the others on those atoms"
    )
    _warn(msg, depth=1)
    return msg


# ---------------------------------------------------------------- step 2: the fit


@dataclass(frozen=True)
class _Fit:
    """Held-out R2 of the active dimensions and what the interval and null need.

    ``y`` and ``resid`` are the standardized held-out targets and residuals (None when
    the linear fit did not keep its rows); ``var_dim`` / ``var_lps`` the streamed
    delta-method variances of the linear fit; ``x`` (with ``mean`` and ``std``) the used
    rows in memory, when a nonlinear fit or a shuffled null needed them.
    """

    r2: np.ndarray
    fold_r2: np.ndarray | None
    cov: np.ndarray | None
    y: np.ndarray | None = None
    resid: np.ndarray | None = None
    var_dim: np.ndarray | None = None
    var_lps: float | None = None
    x: np.ndarray | None = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    def standardized(self) -> np.ndarray:
        return (self.x - self.mean) / self.std


def _fit(z: Any, opts: _Options, plan: _Plan) -> _Fit:
    """Out-of-fold predictions: closed-form linear cross-fit, or the predictor per fold."""
    x = mean = std = None
    if not opts.closed_form or (opts.null and plan.null_method == "shuffle"):
        x = _rows_of(z, plan.rows, plan.cols)  # the nonlinear fits need the rows in memory
        moments = column_moments(x)
        mean, std = moments.mean, np.sqrt(moments.variance(ddof=0))
        std[std == 0] = 1.0
    if not opts.closed_form:
        return _predictor_fit(opts.model, plan, _Fit(None, None, None, x=x, mean=mean, std=std))
    mode = plan.interval if (opts.n_boot or opts.split is not None) else "none"
    fit = _linear_crossfit(z, plan.rows, plan.parts, plan.cols, opts.model.ridge, mode)
    return _Fit(
        r2=fit["r2"],
        fold_r2=fit["fold_r2"],
        cov=fit["cov"],
        y=fit.get("y"),
        resid=fit.get("resid"),
        var_dim=fit.get("var_dim"),
        var_lps=fit.get("var_lps"),
        x=x,
        mean=mean,
        std=std,
    )


def _predictor_fit(model: Any, plan: _Plan, rows: _Fit) -> _Fit:
    """Fit the predictor on every fold's training rows, predict its held-out rows."""
    xs = rows.standardized()
    n = plan.n
    resid = np.empty((plan.n_eval, plan.active.size))
    at = 0
    for k, pos in enumerate(plan.parts):
        train, test, scale = _standardize(xs[_complement(n, pos)], xs[pos])
        pred = model.fit_predict(train, test, seed=plan.fold_seeds[k])
        resid[at : at + pos.size] = (test - pred) * scale
        at += pos.size
    y = xs[np.concatenate(plan.parts)]
    groups = plan.groups
    fold_r2 = None
    if groups is not None:
        fold_r2 = np.array([r2_per_column(y[g], y[g] - resid[g]) for g in groups])
    return replace(rows, r2=r2_per_column(y, y - resid), fold_r2=fold_r2, y=y, resid=resid)


# ---------------------------------------------------------------- step 3: the interval


def _interval(
    opts: _Options, plan: _Plan, fit: _Fit, value: float, n_total: int
) -> tuple[tuple[float, float], np.ndarray, list[str]]:
    """Interval of LPS and of every R2: bootstrap percentiles or the delta method."""
    per_dim_ci = np.full((plan.d, 2), np.nan)
    if not opts.n_boot:
        return (math.nan, math.nan), per_dim_ci, []
    y, resid, confidence = fit.y, fit.resid, opts.confidence
    if plan.interval == "bootstrap":
        boot_rng = np.random.default_rng(plan.boot_seed)
        boot = bootstrap_r2(y, y - resid, n_boot=opts.n_boot, rng=boot_rng, groups=plan.groups)
        low, high = _percentile_ci(boot, confidence)
        ci = tuple(float(v) for v in _percentile_ci(np.nanmean(boot, axis=1), confidence))
    else:
        var_dim, var_lps = fit.var_dim, fit.var_lps
        if var_dim is None:
            var_dim, var_lps = _delta_from_rows(y, resid)
        half_dim, half = _delta_halfwidths(var_dim, var_lps, fit.fold_r2, confidence)
        low, high = fit.r2 - half_dim, fit.r2 + half_dim
        ci = (value - half, value + half)
    per_dim_ci[plan.active] = np.column_stack([low, high])
    notes = []
    if not ci[0] <= value <= ci[1]:
        msg = (
            f"the {confidence:.0%} interval [{ci[0]:.4f}, {ci[1]:.4f}] excludes the "
            f"estimate {value:.4f}: the resampled R2 is skewed (few held-out rows per "
            "dimension or a few dominant rows), so the interval is unreliable here: "
            + _more_rows_fix(opts, plan.n, n_total)
        )
        _warn(msg)
        notes.append(msg)
    outside = np.flatnonzero(~((low <= fit.r2) & (fit.r2 <= high)))
    if outside.size:
        notes.append(
            f"per-dimension intervals of dims {plan.active[outside].tolist()} exclude their "
            "estimate (skewed resampling distribution): read them with caution"
        )
    return ci, per_dim_ci, notes


# ---------------------------------------------------------------- step 4: the null


def _null(opts: _Options, plan: _Plan, fit: _Fit):
    """``(null_value, null_ci, null_targets)``: LPS of independent data at this N and d."""
    if not opts.null:
        return math.nan, (math.nan, math.nan), None
    if plan.null_method == "closed_form":
        sizes = np.array([p.size for p in plan.parts])
        null_value = expected_null_r2(plan.n - sizes, sizes, plan.active.size - 1)
        return null_value, (math.nan, math.nan), None
    xs = fit.standardized()
    pos = plan.parts[0]
    train, test, _ = _standardize(xs[_complement(plan.n, pos)], xs[pos])
    null_rng = np.random.default_rng(plan.null_seed)
    return _null_level(
        train,
        test,
        opts.model,
        opts.null_dims,
        null_rng,
        plan.fold_seeds[0],
        opts.n_boot,
        opts.confidence,
    )


def _allow_for_null_bias(opts: _Options, ci, per_dim_ci: np.ndarray, null_value, null_ci):
    """Raise the upper ends by the null level's shortfall below 0.

    Held-out R2 of a fitted regressor is biased low (no fit beats ``E[z_i | z_-i]``); the
    null level measures that shortfall at zero dependence, so the interval for the
    population LPS extends its upper end by it: by the low end of the null's own interval
    when it has one (a shuffled null is itself an estimate).
    R2 cannot exceed 1, so no upper end (raised or not) is left above 1.
    """
    null_low = null_ci[0] if math.isfinite(null_ci[0]) else null_value
    allowance = 0.0
    if opts.n_boot and math.isfinite(null_low) and null_low < 0:
        allowance = -null_low
    per_dim_ci = per_dim_ci.copy()
    per_dim_ci[:, 1] = np.minimum(per_dim_ci[:, 1] + allowance, 1.0)
    return (ci[0], float(np.minimum(ci[1] + allowance, 1.0))), per_dim_ci, allowance


# ---------------------------------------------------------------- step 5: the record


def _structure(opts: _Options, plan: _Plan, fit: _Fit) -> np.ndarray | None:
    if not opts.structure:
        return None
    cov_all = fit.cov if fit.cov is not None else np.cov(fit.x, rowvar=False)
    struct = np.full((plan.d, plan.d), np.nan)
    struct[np.ix_(plan.active, plan.active)] = linear_structure_from_covariance(cov_all)
    return struct


def _heldout(plan: _Plan, fit: _Fit):
    if fit.y is None or fit.resid is None:
        return None
    return (plan.rows[np.concatenate(plan.parts)], fit.y, fit.y - fit.resid)


def _split_description(opts: _Options, plan: _Plan) -> tuple[str, str]:
    """One line each on the split and on what the interval covers."""
    if opts.split is not None:
        split_desc = f"given by the caller ({plan.test_size:.0%} held out)"
    elif opts.folds is not None:
        split_desc = f"{opts.folds}-fold cross-fitting (R2 pooled over all rows)"
    else:
        split_desc = f"single split, {plan.test_size:.0%} held out"
    if opts.folds is None:
        interval_desc = (
            "over held-out rows only (predictions fixed; excludes the fit's variability)"
        )
    elif plan.interval == "bootstrap":
        interval_desc = "two-stage bootstrap: folds (each with its own fit), then rows within folds"
    else:
        interval_desc = "delta method over rows + variance of fold-wise R2 / K"
    return split_desc, interval_desc


def _settings(
    opts: _Options, plan: _Plan, allowance: float, null_targets, *, notes: list[str]
) -> dict[str, Any]:
    """Every choice that produced the numbers (``LpsResult.settings``)."""
    split_desc, interval_desc = _split_description(opts, plan)
    n, method, folds = plan.n, plan.interval, opts.folds
    settings = {
        "metric": "lps",
        **opts.model.settings(),
        "split": split_desc,
        "folds": folds,
        "test_size": plan.test_size,
        "max_samples": opts.max_samples,
        "n_samples_total": plan.n_total,
        "n_samples_used": int(n),
        "n_train": int(n - plan.parts[0].size) if folds is None else int(n - n // folds),
        "n_test": int(plan.n_eval),
        "n_dims": plan.d,
        "constant_dims": plan.const.tolist(),
        "standardize": True,
        "n_boot": opts.n_boot,
        "confidence": opts.confidence,
        "interval_method": method if opts.n_boot else None,
        "interval_upper_bias_allowance": allowance,
        "interval": f"{method} percentile {interval_desc}"
        if method == "bootstrap"
        else f"{method}: {interval_desc}",
        "null": opts.null,
        "null_method": plan.null_method if opts.null else None,
        "null_dims": opts.null_dims,
        "null_target_dims": None if null_targets is None else plan.active[null_targets].tolist(),
        "seed": opts.seed,
        "n_heldout_with_copy_in_training": plan.n_heldout_copied,
    }
    if allowance:
        settings["interval"] += (
            f"; upper end raised by the null level's shortfall below 0 (low end of its "
            f"interval when it has one): {allowance:.4g}; no upper end above 1 (the "
            "largest possible R2)"
        )
    if notes:
        settings["note"] = " | ".join(notes)
    fit_info = getattr(opts.model, "fit_info_", None)  # e.g. the device a torch model ran on
    if fit_info:
        settings["fit_info"] = {k: v for k, v in fit_info.items() if not isinstance(v, list)}
    return settings


def _check_split(split: Any, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate an explicit ``(train_rows, test_rows)`` split; returns sorted index arrays."""
    try:
        train, test = (np.asarray(part) for part in split)
    except (TypeError, ValueError):
        raise LpsInputError(
            "split must be a pair (train_rows, test_rows) of integer index arrays"
        ) from None
    for name, part in (("train", train), ("test", test)):
        if part.ndim != 1 or not np.issubdtype(part.dtype, np.integer):
            raise LpsInputError(f"split: the {name} rows must be a 1-D array of integer indices")
        if part.size and (part.min() < 0 or part.max() >= n_rows):
            raise LpsInputError(f"split: {name} row indices must lie in [0, {n_rows})")
    train, test = np.unique(train), np.unique(test)
    if np.intersect1d(train, test).size:
        raise LpsInputError("split: the train and test rows overlap; they must be disjoint")
    return train, test


def doubling_converged(value: float, ci: tuple[float, float], half_value: float) -> bool:
    """Has LPS converged in N? True when the last doubling of the sample moved it less
    than the half-width of its interval: ``|LPS(n) - LPS(n/2)| < (ci_high - ci_low) / 2``.

    False when any input is NaN (no interval, no verdict).
    """
    half_width = (ci[1] - ci[0]) / 2.0
    change = abs(value - half_value)
    return bool(np.isfinite(change) and np.isfinite(half_width) and change < half_width)


def _null_level(train, test, model, null_dims, rng, model_seed, n_boot, confidence):
    """LPS of the column-shuffled split: what the estimator reports for independent data."""
    n_train = train.shape[0]
    shuffled = _shuffle_columns(np.vstack([train, test]), rng)
    s_train, s_test = shuffled[:n_train], shuffled[n_train:]
    d = train.shape[1]
    targets = np.arange(d)
    if null_dims is not None and null_dims < d:
        targets = np.sort(rng.choice(d, size=null_dims, replace=False))
    pred = _predict_targets(model, s_train, s_test, targets, model_seed)
    r2 = r2_per_column(s_test[:, targets], pred)
    value = float(np.nanmean(r2))
    ci = (math.nan, math.nan)
    if n_boot:
        boot = bootstrap_r2(s_test[:, targets], pred, n_boot=n_boot, rng=rng)
        ci = tuple(float(v) for v in _percentile_ci(np.nanmean(boot, axis=1), confidence))
    return value, ci, targets


def _predict_targets(model, train, test, targets, seed):
    """Predictions for a subset of target columns, each from all other columns.

    Per-dimension models (``fit_predict_columns``) fit only the requested targets;
    batched and closed-form predictors predict every column in one go anyway.
    """
    fit_columns = getattr(model, "fit_predict_columns", None)
    if fit_columns is not None:
        return fit_columns(train, test, targets, seed=seed)
    return model.fit_predict(train, test, seed=seed)[:, targets]
