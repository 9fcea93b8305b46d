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

Beyond the paper, every result carries how far it can be trusted: bootstrap intervals
over the held-out rows, the *null level* (LPS of the same data with each column shuffled
independently: the estimator's bias at this N and d), and the linear predictability
structure (which dimensions explain which).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lps_eval import streaming
from lps_eval._random import make_rng, subsample_rows
from lps_eval._validation import (
    LpsInputError,
    LpsInputWarning,
    check_fraction,
    check_latents,
    check_positive_int,
    constant_columns,
)
from lps_eval.predictors import get_predictor
from lps_eval.predictors.linear import LinearPredictor, precision_from_correlation
from lps_eval.results import MetricResult, make_row
from lps_eval.streaming import (
    Moments,
    column_moments,
    iter_chunks,
    map_rows,
    poisson_weights,
    read_all,
    streams,
    take_rows,
)

__all__ = [
    "LpsResult",
    "bootstrap_r2",
    "canonical_order",
    "doubling_converged",
    "linear_structure",
    "lps",
    "r2_per_column",
    "structure_from_precision",
]

#: Consecutive rows read together by the streamed null level (see ``_lps_linear_streamed``).
NULL_RUN = 64
#: Fewest held-out and training rows LPS accepts.
MIN_TEST_ROWS = 5
MIN_TRAIN_ROWS = 10


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
        Bootstrap percentile interval of LPS (NaN when ``n_boot=0``).
    per_dim_ci : numpy.ndarray of shape (d, 2)
        Bootstrap interval of every per-dimension R2.
    null_value : float
        LPS of the column-shuffled data (NaN when ``null=False``).
    null_ci : tuple of float
        Bootstrap interval of the null level.
    structure : numpy.ndarray of shape (d, d) or None
        ``structure[i, j]`` = drop in linear R2 of dimension ``i`` when dimension ``j`` is
        removed from its predictors (unique linear contribution of ``j``; 0 on the diagonal).
    heldout : tuple of numpy.ndarray or None
        ``(rows, y_true, y_pred)``: the original row index of every held-out row, and the
        standardized held-out targets and predictions of the non-constant dimensions
        (one column each). Lets callers resample the held-out rows themselves, e.g. a
        paired bootstrap of two models scored on the same ``split``.
    """

    per_dim: np.ndarray = field(default_factory=lambda: np.empty(0), repr=False)
    ci_low: float = math.nan
    ci_high: float = math.nan
    per_dim_ci: np.ndarray = field(default_factory=lambda: np.empty((0, 2)), repr=False)
    null_value: float = math.nan
    null_ci: tuple[float, float] = (math.nan, math.nan)
    structure: np.ndarray | None = field(default=None, repr=False)
    metric: str = "lps"
    heldout: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)

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


def bootstrap_r2(
    y_true: np.ndarray, y_pred: np.ndarray, *, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """R2 of every column on ``n_boot`` bootstrap resamples of the held-out rows.

    Vectorized with resampling counts: resample ``b`` draws ``n`` row indices uniformly
    with replacement (``rng.integers``); with the count matrix ``W`` (n_boot x n, one
    ``bincount``), ``SS_res_b = W r^2`` and ``SS_tot_b = W y^2 - (W y)^2 / n``, so no
    resample is materialized.

    Returns
    -------
    numpy.ndarray of shape (n_boot, d)
    """
    n = y_true.shape[0]
    draws = rng.integers(0, n, size=(n_boot, n))
    flat = (draws + n * np.arange(n_boot)[:, None]).ravel()
    counts = np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n).astype(np.float64)
    centered = y_true - y_true.mean(axis=0)  # shift for numerical stability; R2 unchanged
    ss_res = counts @ (y_true - y_pred) ** 2
    s1 = counts @ centered
    ss_tot = counts @ centered**2 - s1**2 / n
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.nan)


def linear_structure(train: np.ndarray, *, ridge: float = 1e-8) -> np.ndarray:
    """Unique linear contribution of every dimension to every other.

    With precision ``P`` and partial correlation ``rho_ij = -P_ij / sqrt(P_ii P_jj)``,
    dropping predictor ``j`` from the regression of ``i`` lowers its R2 by
    ``(1 - R2_i) rho_ij^2 / (1 - rho_ij^2)``, with ``R2_i = 1 - 1 / (S_ii P_ii)``.

    Returns
    -------
    numpy.ndarray of shape (d, d), zero diagonal.
    """
    cov = np.cov(train, rowvar=False)
    prec = LinearPredictor(ridge=ridge).precision(train)
    return structure_from_precision(cov, prec)


def structure_from_precision(cov: np.ndarray, prec: np.ndarray) -> np.ndarray:
    """:func:`linear_structure` from the covariance and precision of the training rows."""
    diag = np.diag(prec)
    r2 = 1.0 - 1.0 / (np.diag(cov) * diag)
    partial_sq = prec**2 / np.outer(diag, diag)
    np.fill_diagonal(partial_sq, 0.0)
    partial_sq = np.clip(partial_sq, 0.0, 1.0 - 1e-15)
    return (1.0 - r2)[:, None] * partial_sq / (1.0 - partial_sq)


#: Most bootstrap resamples accepted (percentile intervals settle long before).
MAX_N_BOOT = 100_000


def canonical_order(z: np.ndarray) -> np.ndarray:
    """A row order that depends only on the set of rows, not on their given order.

    Rows are sorted by their sum of squared per-column z-scores (summed in sorted order),
    a key unchanged by reordering dimensions, affine rescaling of any dimension, and
    reordering samples. Splits drawn on this order make LPS exactly invariant to all three.
    """
    if streams(z.shape) or type(z) is not np.ndarray:  # big or lazy: two chunked passes
        stats = column_moments(z)
        mean, std = stats.mean, np.sqrt(stats.variance(ddof=0))
        std[std == 0] = 1.0
        return np.argsort(map_rows(z, lambda block: _order_key(block, mean, std)), kind="stable")
    std = z.std(axis=0)
    std[std == 0] = 1.0
    return np.argsort(_order_key(z, z.mean(axis=0), std), kind="stable")


def _order_key(z: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    sq = ((z - mean) / std) ** 2
    return np.sort(sq, axis=1).sum(axis=1)


def _percentile_ci(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1.0 - confidence) / 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns (constant dims)
        low, high = np.nanquantile(samples, [alpha, 1.0 - alpha], axis=0)
    return low, high


def _standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std[std == 0] = 1.0
    return (train - mean) / std, (test - mean) / std


def _shuffle_columns(z: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Permute every column independently: keeps marginals, destroys all dependence."""
    idx = rng.permuted(np.tile(np.arange(z.shape[0])[:, None], (1, z.shape[1])), axis=0)
    return np.take_along_axis(z, idx, axis=0)


def lps(
    z: Any,
    *,
    predictor: Any = "hgb",
    predictor_params: dict[str, Any] | None = None,
    test_size: float = 0.25,
    max_samples: int | None = 10_000,
    n_boot: int = 200,
    confidence: float = 0.95,
    null: bool = True,
    null_dims: int | None = 8,
    structure: bool = True,
    seed: int = 0,
    split: tuple[Any, Any] | None = None,
) -> LpsResult:
    """Latent Predictability Score with intervals, null level and structure.

    Parameters
    ----------
    z : array-like of shape (n_samples, n_dims)
        Latent codes, rows are samples; at least 2 dimensions. A numpy memmap or a
        ``dask.array`` is read by rows (the subsample only, or in chunks), with the same
        numbers as the array in memory.
    predictor : str or object, default "hgb"
        ``"linear"`` (closed form, all d regressions from one inverse), ``"hgb"``
        (HistGradientBoosting, the default nonlinear predictor), ``"mlp"``, ``"knn"``,
        ``"lightgbm"`` (paper's LPS-lgbm), ``"torch"`` (one batched network for all d),
        a scikit-learn regressor instance, or any object with ``fit_predict``.
    predictor_params : dict, optional
        Options for a predictor given by name (e.g. ``{"max_iter": 50}``).
    test_size : float, default 0.25
        Held-out fraction.
    max_samples : int or None, default 10_000
        Random subsample of rows used (None = all). The linear predictor is cheap enough
        for ``None`` at any size.
    n_boot : int, default 200
        Bootstrap resamples of the held-out rows for the intervals (0 = none).
    confidence : float, default 0.95
        Interval coverage.
    null : bool, default True
        Also compute the null level: LPS of the same rows with each column shuffled
        independently (same split, same predictor).
    null_dims : int or None, default 8
        Fit the null for at most this many randomly chosen target dimensions (None = all);
        under the null every dimension's R2 has the same role, so a subset estimates the
        level at a fraction of the cost.
    structure : bool, default True
        Compute the d x d linear predictability structure (see :func:`linear_structure`).
    seed : int, default 0
        Seeds the subsample, the split, the bootstrap, the shuffles and the predictor.
    split : (train_rows, test_rows), optional
        Use exactly this split: two disjoint integer arrays of row indices into ``z``.
        The canonical reordering and the ``max_samples`` subsample are then skipped (the
        caller chose the rows). Several models given the same split are scored on the
        same rows, so their per-row held-out errors can be compared pairwise
        (see :attr:`LpsResult.heldout` and :func:`lps_eval.compare`).

    Returns
    -------
    LpsResult
        ``.value``, ``.per_dim``, intervals, ``.null_value``, ``.structure``,
        ``.to_frame()``; ``.settings`` records every choice.

    Notes
    -----
    Inputs are standardized with training-split statistics. Rows are put in a canonical
    order before the seeded split, so the result does not depend on the order of samples
    or dimensions, nor on affine rescaling of a dimension (exactly so for the linear
    predictor; the null level is one random column shuffle, so it is exactly invariant
    to sample order only). Constant dimensions carry no information: they get R2 = NaN, are left out
    of the mean and of every other dimension's predictors, with a warning.

    Above :data:`lps_eval.streaming.STREAM_ELEMENTS` values (n x d), the linear
    predictor on every row runs streamed: the same split and closed-form fit from
    chunked moments, a Poisson bootstrap of the held-out rows, and a null level that
    shuffles columns within blocks of random rows (recorded in ``settings``).

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
    z = check_latents(z, min_samples=MIN_TRAIN_ROWS + MIN_TEST_ROWS, min_dims=2, lazy=True)
    if not streams(z.shape):
        z = read_all(z)  # small: in memory, exactly as before
    test_size = check_fraction(test_size, name="test_size")
    n_boot = check_positive_int(n_boot, name="n_boot", minimum=0, maximum=MAX_N_BOOT)
    confidence = check_fraction(confidence, name="confidence")
    for flag_name, flag in (("null", null), ("structure", structure)):
        if not isinstance(flag, (bool, np.bool_)):
            raise LpsInputError(f"{flag_name} must be True or False, got {flag!r}")
    if predictor_params is not None and not isinstance(predictor_params, dict):
        raise LpsInputError(
            f"predictor_params must be a dict of predictor options, got {predictor_params!r}"
            " (CLI: -P KEY=VALUE)"
        )
    if null_dims is not None:
        null_dims = check_positive_int(null_dims, name="null_dims")
    model = get_predictor(predictor, **(predictor_params or {}))
    rng = make_rng(seed)
    n_total, d = z.shape

    if split is not None:
        train_idx, test_idx = _check_split(split, n_total)
        n_test = test_idx.size
        n = n_test + train_idx.size
        original_rows = np.arange(n_total)
        z = take_rows(z, original_rows)
    else:
        original_rows = canonical_order(z)
        keep = subsample_rows(n_total, max_samples, rng)
        if keep is None and streams(z.shape) and isinstance(model, LinearPredictor):
            return _lps_linear_streamed(
                z,
                original_rows,
                rng,
                model=model,
                test_size=test_size,
                max_samples=max_samples,
                n_boot=n_boot,
                confidence=confidence,
                null=null,
                null_dims=null_dims,
                structure=structure,
                seed=seed,
            )
        if keep is not None:
            original_rows = original_rows[keep]
        # only the rows used are read (a memmap or dask array is never loaded whole)
        z = take_rows(z, original_rows)
        n = z.shape[0]
        n_test = int(round(test_size * n))
    if n_test < MIN_TEST_ROWS or n - n_test < MIN_TRAIN_ROWS:
        raise LpsInputError(
            f"{n} samples with test_size={test_size} leave {n_test} held-out and {n - n_test} "
            f"training rows; LPS needs >= {MIN_TEST_ROWS} and >= {MIN_TRAIN_ROWS}: encode more "
            "samples or change test_size"
        )
    if split is None:
        order = rng.permutation(n)
        test_idx, train_idx = np.sort(order[:n_test]), np.sort(order[n_test:])

    const = np.union1d(constant_columns(z[train_idx]), constant_columns(z[test_idx]))
    active = np.setdiff1d(np.arange(d), const)
    if const.size:
        warnings.warn(
            f"constant latent dimension(s) {const.tolist()} (in the training or held-out "
            "split) have no R2; they are left out of LPS and of the other predictors",
            LpsInputWarning,
            stacklevel=2,
        )
    if active.size < 2:
        raise LpsInputError(
            f"only {active.size} non-constant dimension(s); LPS needs at least 2 varying dimensions"
        )
    train, test = _standardize(z[train_idx][:, active], z[test_idx][:, active])
    model_seed = int(rng.integers(2**31 - 1))
    pred = model.fit_predict(train, test, seed=model_seed)
    r2_active = r2_per_column(test, pred)

    per_dim = np.full(d, np.nan)
    per_dim[active] = r2_active
    value = float(np.nanmean(r2_active))
    per_dim_ci = np.full((d, 2), np.nan)
    ci = (math.nan, math.nan)
    boot_rng = np.random.default_rng(rng.integers(2**63 - 1))
    if n_boot:
        boot = bootstrap_r2(test, pred, n_boot=n_boot, rng=boot_rng)
        low, high = _percentile_ci(boot, confidence)
        per_dim_ci[active] = np.column_stack([low, high])
        ci = tuple(float(v) for v in _percentile_ci(np.nanmean(boot, axis=1), confidence))

    null_value, null_ci, null_targets = math.nan, (math.nan, math.nan), None
    null_rng = np.random.default_rng(rng.integers(2**63 - 1))
    if null:
        null_value, null_ci, null_targets = _null_level(
            train, test, model, null_dims, null_rng, model_seed, n_boot, confidence
        )

    struct = None
    if structure:
        struct = np.full((d, d), np.nan)
        struct[np.ix_(active, active)] = linear_structure(train)

    settings = {
        "metric": "lps",
        **model.settings(),
        "test_size": test_size,
        "max_samples": max_samples,
        "n_samples_total": int(n_total),
        "n_samples_used": int(n),
        "n_train": int(n - n_test),
        "n_test": int(n_test),
        "n_dims": int(d),
        "constant_dims": const.tolist(),
        "standardize": True,
        "n_boot": n_boot,
        "confidence": confidence,
        "interval": "bootstrap percentile over held-out rows (predictions fixed)",
        "null": null,
        "null_dims": null_dims,
        "null_target_dims": None if null_targets is None else active[null_targets].tolist(),
        "split": "given by the caller" if split is not None else "seeded, canonical row order",
        "seed": seed,
    }
    fit_info = getattr(model, "fit_info_", None)  # e.g. the device a torch model ran on
    if fit_info:
        settings["fit_info"] = {k: v for k, v in fit_info.items() if not isinstance(v, list)}
    return LpsResult(
        value=value,
        settings=settings,
        per_dim=per_dim,
        ci_low=ci[0],
        ci_high=ci[1],
        per_dim_ci=per_dim_ci,
        null_value=null_value,
        null_ci=null_ci,
        structure=struct,
        heldout=(original_rows[test_idx], test, pred),
    )


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


def doubling_converged(value: float, ci: tuple[float, float], half_value: float) -> bool:
    """Has LPS converged in N? True when the last doubling of the sample moved it less
    than the half-width of its interval: ``|LPS(n) - LPS(n/2)| < (ci_high - ci_low) / 2``.
    False when any input is NaN (no interval, no verdict).
    """
    half_width = (ci[1] - ci[0]) / 2.0
    change = abs(value - half_value)
    return bool(np.isfinite(change) and np.isfinite(half_width) and change < half_width)


# --- streamed linear LPS (every row of a big or memory-mapped array) ----------------


def _lps_linear_streamed(
    z,
    order,
    rng,
    *,
    model,
    test_size,
    max_samples,
    n_boot,
    confidence,
    null,
    null_dims,
    structure,
    seed,
):
    """Linear LPS over every row in chunked passes: memory O(n) for the split, not O(n d).

    The same split, standardization and closed-form regressions as :func:`lps`: training
    moments (mean, centred Gram matrix) accumulated block by block (pass 1), then the
    held-out residuals ``r = t P / diag(P)`` of standardized held-out rows ``t`` block by
    block (pass 2), with ``SS_tot`` from the held-out moments. The interval is a Poisson
    bootstrap of the held-out rows (independent Poisson(1) weights per row, drawn per
    block from ``(seed, block)``), so no resample is ever stored. The null level shuffles
    every column independently within blocks of randomly chosen rows, which samples the
    product of the marginals as a full shuffle does, without random access per value
    (blocks are built from random runs of ``NULL_RUN`` consecutive rows).
    """
    n, d = z.shape
    n_test = int(round(test_size * n))
    if n_test < MIN_TEST_ROWS or n - n_test < MIN_TRAIN_ROWS:
        raise LpsInputError(f"test_size={test_size} leaves too few held-out or training rows")
    perm = rng.permutation(n)
    is_test = np.zeros(n, dtype=bool)
    is_test[order[perm[:n_test]]] = True  # split drawn on the canonical order, as in lps()
    del perm, order
    rng.integers(2**31 - 1)  # the model seed of lps(): keeps the later draws aligned
    boot_seed = int(rng.integers(2**63 - 1))
    null_seed = int(rng.integers(2**63 - 1))

    def file_blocks():
        for first, block in iter_chunks(z):
            yield block, is_test[first : first + block.shape[0]]

    fit = _streamed_linear_fit(file_blocks, d, model.ridge, n_boot, boot_seed, None)
    const, active = fit["const"], fit["active"]
    if const.size:
        warnings.warn(
            f"constant latent dimension(s) {const.tolist()} (in the training or held-out "
            "split) have no R2; they are left out of LPS and of the other predictors",
            LpsInputWarning,
            stacklevel=3,
        )
    if active.size < 2:
        raise LpsInputError(
            f"only {active.size} non-constant dimension(s); LPS needs at least 2 varying dimensions"
        )
    per_dim = np.full(d, np.nan)
    per_dim[active] = fit["r2"]
    value = float(np.nanmean(fit["r2"]))
    per_dim_ci = np.full((d, 2), np.nan)
    ci = (math.nan, math.nan)
    if n_boot:
        low, high = _percentile_ci(fit["boot"], confidence)
        per_dim_ci[active] = np.column_stack([low, high])
        ci = tuple(float(v) for v in _percentile_ci(np.nanmean(fit["boot"], axis=1), confidence))

    null_value, null_ci, null_targets = math.nan, (math.nan, math.nan), None
    if null:
        null_rng = np.random.default_rng(null_seed)
        targets = np.arange(active.size)
        if null_dims is not None and null_dims < active.size:
            targets = np.sort(null_rng.choice(active.size, size=null_dims, replace=False))
        null_targets = targets
        # Blocks of random runs of NULL_RUN consecutive rows: reads stay sequential
        # within a run, while file position (e.g. latents stored class by class) is
        # scattered over the whole file, so the shuffle pairs values of unrelated rows.
        run_perm = null_rng.permutation(-(-n // NULL_RUN))
        runs_per_block = max(1, streaming.CHUNK_ROWS // NULL_RUN)

        def shuffled_blocks():
            for k, first in enumerate(range(0, run_perm.size, runs_per_block)):
                starts = np.sort(run_perm[first : first + runs_per_block]) * NULL_RUN
                rows = (starts[:, None] + np.arange(NULL_RUN)).ravel()
                rows = rows[rows < n]
                block = take_rows(z, rows)[:, active]
                shuffle = np.random.default_rng([null_seed, k])
                yield shuffle.permuted(block, axis=0), is_test[rows]

        null_fit = _streamed_linear_fit(
            shuffled_blocks, active.size, model.ridge, n_boot, null_seed + 1, fit
        )
        null_value = float(np.nanmean(null_fit["r2"][targets]))
        if n_boot:
            boot = null_fit["boot"][:, targets]
            null_ci = tuple(float(v) for v in _percentile_ci(np.nanmean(boot, axis=1), confidence))

    struct = None
    if structure:
        struct = np.full((d, d), np.nan)
        struct[np.ix_(active, active)] = structure_from_precision(fit["cov"], fit["prec"])
    settings = {
        "metric": "lps",
        **model.settings(),
        "test_size": test_size,
        "max_samples": max_samples,
        "n_samples_total": int(n),
        "n_samples_used": int(n),
        "n_train": int(n - n_test),
        "n_test": int(n_test),
        "n_dims": int(d),
        "constant_dims": const.tolist(),
        "standardize": True,
        "n_boot": n_boot,
        "confidence": confidence,
        "interval": "Poisson bootstrap over held-out rows (predictions fixed; streamed)",
        "null": null,
        "null_dims": null_dims,
        "null_target_dims": None if null_targets is None else active[null_targets].tolist(),
        "null_shuffle": (
            f"each column within blocks of {streaming.CHUNK_ROWS} rows made of random runs "
            f"of {NULL_RUN} consecutive rows"
        ),
        "streamed": {"chunk_rows": streaming.CHUNK_ROWS},
        "seed": seed,
    }
    return LpsResult(
        value=value,
        settings=settings,
        per_dim=per_dim,
        ci_low=ci[0],
        ci_high=ci[1],
        per_dim_ci=per_dim_ci,
        null_value=null_value,
        null_ci=null_ci,
        structure=struct,
    )


def _streamed_linear_fit(blocks, d, ridge, n_boot, boot_seed, reference):
    """Two passes over ``blocks()`` (``(rows, is_test)`` pairs): moments, then residuals.

    ``reference``: the real data's fit, whose standardization (training mean and std) and
    active columns the null reuses, as :func:`lps` shuffles the standardized split.
    """
    train_m = test_m = Moments(0, np.zeros(d), np.zeros((d, d)))
    bounds = [np.full(d, np.inf), np.full(d, -np.inf), np.full(d, np.inf), np.full(d, -np.inf)]
    for block, test_mask in blocks():  # pass 1: moments and ranges of both splits
        for which, part in ((0, block[~test_mask]), (2, block[test_mask])):
            if part.shape[0]:
                bounds[which] = np.minimum(bounds[which], part.min(axis=0))
                bounds[which + 1] = np.maximum(bounds[which + 1], part.max(axis=0))
        train_m = train_m.merge(Moments.of(block[~test_mask]))
        test_m = test_m.merge(Moments.of(block[test_mask]))
    if reference is None:
        const = np.flatnonzero((bounds[0] == bounds[1]) | (bounds[2] == bounds[3]))
        active = np.setdiff1d(np.arange(d), const)
        mean = train_m.mean[active]
        std = np.sqrt(train_m.variance(ddof=0)[active])
        std[std == 0] = 1.0
    else:  # the null: the real split's standardization, columns already the active ones
        const, active = np.empty(0, dtype=np.int64), np.arange(d)
        mean, std = reference["mean"], reference["std"]
    if active.size < 2:
        return {"const": const, "active": active}
    # standardized training moments: t = (x - mean) / std is affine, so the Gram scales
    t_mean = (train_m.mean[active] - mean) / std
    cross = train_m.cross[np.ix_(active, active)] / np.outer(std, std)
    cov = cross / max(train_m.n - 1, 1)
    scale = np.sqrt(np.diag(cov))
    scale[scale == 0] = 1.0
    prec = precision_from_correlation(cov / np.outer(scale, scale), ridge) / np.outer(scale, scale)
    test_mean = (test_m.mean[active] - mean) / std
    ss_tot = np.diag(test_m.cross)[active] / std**2
    k = active.size
    ss_res = np.zeros(k)
    sums = np.zeros((n_boot, 3 * k))
    weight_total = np.zeros(n_boot)
    for b, (block, test_mask) in enumerate(blocks()):  # pass 2: held-out residuals
        t = (block[test_mask][:, active] - mean) / std
        if t.shape[0] == 0:
            continue
        resid = (t - t_mean) @ prec / np.diag(prec)  # y - prediction, every column at once
        ss_res += (resid**2).sum(axis=0)
        if n_boot:
            w = poisson_weights(np.random.default_rng([boot_seed, b]), n_boot, t.shape[0])
            c = t - test_mean
            sums += w @ np.hstack([resid**2, c, c**2])
            weight_total += w.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.nan)
        boot = None
        if n_boot:
            s_res, s1, s2 = sums[:, :k], sums[:, k : 2 * k], sums[:, 2 * k :]
            tot = s2 - s1**2 / weight_total[:, None]
            boot = np.where(tot > 0, 1.0 - s_res / tot, np.nan)
    return {
        "const": const,
        "active": active,
        "mean": mean,
        "std": std,
        "r2": r2,
        "boot": boot,
        "cov": cov,
        "prec": prec,
    }
