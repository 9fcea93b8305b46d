"""The LPS learning curve: does the score still move when the sample grows?

Nonlinear LPS estimates ``mean_i Var(E[z_i | z_-i]) / Var(z_i)`` with a regressor
fitted on finite data, so it rises with the number of training rows until the
regressor has learned the dependence (on dSprites, AE + MMD went from 0.43 at 500 rows
to 0.84 at 10,000 while linear LPS stayed 0). A reported LPS is a property of the latent
space only once this curve has flattened; :func:`lps_curve` measures the curve and
:func:`curve_converged` applies the rule of :func:`lps_eval.lps.doubling_converged`:
the last doubling of the training rows moved LPS by less than its interval half-width.

Design: one held-out set is fixed (a ``test_size`` share of the capped rows) and the
predictor is trained on nested subsets of the remaining rows (each size contains the
smaller ones), so points differ only by the amount of training data and their
bootstrap intervals resample the same held-out rows (paired across sizes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lps_eval._random import make_rng, subsample_rows
from lps_eval._validation import (
    LpsInputError,
    check_fraction,
    check_latents,
    check_positive_int,
    constant_columns,
)
from lps_eval.options import renamed_keywords
from lps_eval.predictability._lps import (
    SINGLE_SPLIT_TEST_SIZE,
    bootstrap_r2,
    canonical_order,
    doubling_converged,
    r2_per_column,
    resolve_max_samples,
)
from lps_eval.predictors import get_predictor
from lps_eval.results import library_versions

__all__ = ["curve_converged", "default_sizes", "lps_curve"]

#: Fewest training rows a curve point may use.
MIN_TRAIN = 50


def default_sizes(n_train: int, *, points: int = 5, minimum: int = MIN_TRAIN) -> list[int]:
    """Geometric grid of training sizes ending at ``n_train``: n, n/2, n/4, ... (ascending)."""
    sizes = []
    size = int(n_train)
    while size >= minimum and len(sizes) < points:
        sizes.append(size)
        size //= 2
    return sorted(sizes) or [int(n_train)]


def _standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train.mean(axis=0), train.std(axis=0)
    std[std == 0] = 1.0
    return (train - mean) / std, (test - mean) / std


def _predict(model: Any, train: np.ndarray, test: np.ndarray, targets: np.ndarray, seed: int):
    columns = getattr(model, "fit_predict_columns", None)
    if columns is not None:  # per-dimension models: fit only the requested targets
        return columns(train, test, targets, seed=seed)
    return model.fit_predict(train, test, seed=seed)[:, targets]


@renamed_keywords(max_dims="target_dims")  # max_dims means "refuse wider input" in lps()
def lps_curve(
    z: Any,
    *,
    sizes: Any = None,
    predictor: Any = "hgb",
    predictor_params: dict[str, Any] | None = None,
    seed: int = 0,
    test_size: float = SINGLE_SPLIT_TEST_SIZE,
    max_samples: int | str | None = "auto",
    n_boot: int = 200,
    confidence: float = 0.95,
    null: bool = True,
    target_dims: int | None = None,
    null_dims: int | None = 8,
) -> pd.DataFrame:
    """LPS as a function of the number of training rows.

    Parameters
    ----------
    z : array-like of shape (n_samples, n_dims)
    sizes : sequence of int, optional
        Training-row counts. Default: :func:`default_sizes` of the training pool
        (``n_train, n_train/2, ...``, at most 5 points of at least 50 rows).
    predictor, predictor_params
        As in :func:`lps_eval.lps`.
    seed : int, default 0
        Seeds the subsample, the split, the nested order, targets, bootstrap, predictor.
    test_size : float, default 0.25
        Share of the (capped) rows held out, the same held-out rows for every size.
    max_samples : int, None or "auto", default "auto"
        Row cap, as in :func:`lps_eval.lps` (every row for ``"linear"``, 10,000 for the
        others), so the largest point matches its setting.
    n_boot : int, default 200
        Bootstrap resamples of the held-out rows per point (the same resamples for every
        size, so differences between sizes are paired).
    confidence : float, default 0.95
    null : bool, default True
        Also the null level at each size (columns shuffled independently; doubles the cost).
    target_dims : int, optional
        Score only this many randomly chosen target dimensions (the same at every size),
        each still predicted from all others: a cheaper curve on a random subset of the
        per-dimension R2 values. None: every dimension.
    null_dims : int or None, default 8
        Fit the null level for at most this many of the target dimensions (a random
        subset, the same at every size; None = all), as :func:`lps_eval.lps` does: under
        the null every dimension plays the same role.

    Returns
    -------
    pandas.DataFrame
        One row per size: ``n`` (training + held-out rows), ``n_train``, ``n_test``,
        ``value``, ``ci_low``, ``ci_high``, ``null``, ``null_ci_low``, ``null_ci_high``.
        ``attrs`` records every setting, the target dimensions and versions.

    Examples
    --------
    >>> import numpy as np, lps_eval
    >>> z = np.random.default_rng(0).normal(size=(1000, 3))
    >>> curve = lps_eval.lps_curve(z, predictor="linear", null=False, n_boot=50)
    >>> list(curve.columns[:4])
    ['n', 'n_train', 'n_test', 'value']
    """
    z = check_latents(z, min_samples=20, min_dims=2)
    test_size = check_fraction(test_size, name="test_size")
    n_boot = check_positive_int(n_boot, name="n_boot", minimum=0)
    confidence = check_fraction(confidence, name="confidence")
    if target_dims is not None:
        target_dims = check_positive_int(target_dims, name="target_dims")
    if null_dims is not None:
        null_dims = check_positive_int(null_dims, name="null_dims")
    model = get_predictor(predictor, **(predictor_params or {}))
    max_samples = resolve_max_samples(max_samples, model)
    design = _design(z, sizes, seed, test_size, max_samples, target_dims, null_dims)
    rows = [
        _size_row(model, design, size, n_boot=n_boot, confidence=confidence, null=null)
        for size in design.sizes
    ]
    frame = pd.DataFrame(rows)
    frame.attrs = {
        "metric": "lps_curve",
        **model.settings(),
        "seed": seed,
        "test_size": test_size,
        "max_samples": max_samples,
        "n_samples_total": design.n_total,
        "n_boot": n_boot,
        "confidence": confidence,
        "null": null,
        "target_dims": design.active[design.targets].tolist(),
        "null_dims": null_dims,
        "null_target_dims": design.active[design.null_targets].tolist() if null else None,
        "constant_dims": design.const.tolist(),
        "design": "fixed held-out rows; nested training subsets; paired bootstrap over sizes",
        "versions": library_versions(),
    }
    return frame


@dataclass(frozen=True)
class _Design:
    """The curve's rows: one fixed held-out set, a nested training pool, the sizes, the
    scored dimensions and the seeds every point shares."""

    n_total: int
    z: np.ndarray  # canonical order, after the max_samples subsample
    test_rows: np.ndarray
    pool: np.ndarray
    sizes: list[int]
    const: np.ndarray
    active: np.ndarray
    targets: np.ndarray  # positions into ``active``
    null_targets: np.ndarray  # positions into ``active``: a subset of ``targets``
    model_seed: int
    boot_seed: int
    null_seed: int

    @property
    def n_test(self) -> int:
        return int(self.test_rows.size)


def _design(z, sizes, seed, test_size, max_samples, target_dims, null_dims) -> _Design:
    rng = make_rng(seed)
    n_total, d = z.shape
    z = z[canonical_order(z)]
    keep = subsample_rows(n_total, max_samples, rng)
    if keep is not None:
        z = z[keep]
    n = z.shape[0]
    order = rng.permutation(n)
    n_test = int(round(test_size * n))
    test_rows, pool = order[:n_test], order[n_test:]
    if sizes is None:
        sizes = default_sizes(pool.size)
    sizes = sorted({check_positive_int(s, name="size", minimum=10) for s in sizes})
    if sizes[-1] > pool.size or n_test < 5:
        raise LpsInputError(
            f"curve sizes up to {sizes[-1]} training rows need more data: {n} rows leave "
            f"{pool.size} for training and {n_test} held out (test_size={test_size}): "
            + _more_rows_fix(n, n_total, max_samples)
        )
    const = np.union1d(constant_columns(z[pool[: sizes[0]]]), constant_columns(z[test_rows]))
    active = np.setdiff1d(np.arange(d), const)
    if active.size < 2:
        raise LpsInputError("the learning curve needs at least 2 non-constant dimensions")
    targets = np.arange(active.size)
    if target_dims is not None and target_dims < active.size:
        targets = np.sort(rng.choice(active.size, size=target_dims, replace=False))
    model_seed = int(rng.integers(2**31 - 1))
    boot_seed = int(rng.integers(2**63 - 1))
    null_seed = int(rng.integers(2**63 - 1))
    null_targets = targets
    if null_dims is not None and null_dims < targets.size:  # its own stream: values unchanged
        pick = np.random.default_rng([null_seed, 1]).choice(targets.size, null_dims, False)
        null_targets = targets[np.sort(pick)]
    return _Design(
        n_total=int(n_total),
        z=z,
        test_rows=test_rows,
        pool=pool,
        sizes=sizes,
        const=const,
        active=active,
        targets=targets,
        null_targets=null_targets,
        model_seed=model_seed,
        boot_seed=boot_seed,
        null_seed=null_seed,
    )


def _more_rows_fix(n: int, n_total: int, max_samples: int | None) -> str:
    if n < n_total:
        return (
            f"pass smaller sizes, or use every row with max_samples=None (max_samples="
            f"{max_samples} keeps {n} of the {n_total} rows)"
        )
    return "pass smaller sizes or encode more samples"


def _size_row(model, design: _Design, size: int, *, n_boot, confidence, null) -> dict[str, Any]:
    """One point of the curve: LPS (and the null level) after ``size`` training rows."""
    test_all = design.z[design.test_rows][:, design.active]
    train_all = design.z[design.pool[:size]][:, design.active]
    seeds = (design.model_seed, n_boot, design.boot_seed, confidence)
    point = _point(model, train_all, test_all, design.targets, *seeds)
    null_point = (math.nan, math.nan, math.nan)
    if null:
        shuffled = _shuffle_columns(np.vstack([train_all, test_all]), design.null_seed)
        null_point = _point(model, shuffled[:size], shuffled[size:], design.null_targets, *seeds)
    return {
        "n": size + design.n_test,
        "n_train": size,
        "n_test": design.n_test,
        "value": point[0],
        "ci_low": point[1],
        "ci_high": point[2],
        "null": null_point[0],
        "null_ci_low": null_point[1],
        "null_ci_high": null_point[2],
    }


def _point(model, train, test, targets, model_seed, n_boot, boot_seed, confidence):
    train, test = _standardize(train, test)
    pred = _predict(model, train, test, targets, model_seed)
    y = test[:, targets]
    value = float(np.nanmean(r2_per_column(y, pred)))
    low = high = math.nan
    if n_boot:
        boot = bootstrap_r2(y, pred, n_boot=n_boot, rng=np.random.default_rng(boot_seed))
        with np.errstate(all="ignore"):
            means = np.nanmean(boot, axis=1)
        alpha = (1.0 - confidence) / 2.0
        low, high = (float(v) for v in np.nanquantile(means, [alpha, 1.0 - alpha]))
    return value, low, high


def _shuffle_columns(x: np.ndarray, seed: int) -> np.ndarray:
    """Permute every column independently (keeps marginals, destroys dependence)."""
    rng = np.random.default_rng(seed)
    idx = rng.permuted(np.tile(np.arange(x.shape[0])[:, None], (1, x.shape[1])), axis=0)
    return np.take_along_axis(x, idx, axis=0)


def curve_converged(curve: pd.DataFrame) -> dict[str, Any]:
    """Apply the doubling rule to the last two points of a curve.

    Returns
    -------
    dict
        ``converged`` (bool), ``change`` (LPS(last) - LPS(previous)), ``half_width`` (of
        the last point's interval), ``n_train`` and ``n_train_previous``. ``converged`` is
        False when the curve has fewer than two points or no interval.
    """
    if len(curve) < 2:
        return {"converged": False, "change": math.nan, "half_width": math.nan}
    last, prev = curve.iloc[-1], curve.iloc[-2]
    return {
        "converged": doubling_converged(
            float(last["value"]),
            (float(last["ci_low"]), float(last["ci_high"])),
            float(prev["value"]),
        ),
        "change": float(last["value"] - prev["value"]),
        "half_width": float(last["ci_high"] - last["ci_low"]) / 2.0,
        "n_train": int(last["n_train"]),
        "n_train_previous": int(prev["n_train"]),
    }
