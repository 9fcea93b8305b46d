"""Which dimensions does the LPS predictor rely on? Permutation importance with a null.

LPS says *how* predictable each dimension is; :func:`lps_importance` says *from what*.
For every target ``i`` the LPS predictor is fitted once on the training rows (from all
other dimensions, as in :func:`lps_eval.lps`); then, on the held-out rows, predictor
column ``j`` is shuffled and the loss of held-out R2 is recorded:

    importance[i, j] = R2_i(held-out rows) - R2_i(held-out rows, column j shuffled)

(model reliance, Fisher, Rudin & Dominici, JMLR 2019; permutation importance, Breiman
2001). It is what the *nonlinear* predictor uses, so a dependence such as
``z4 = z2 z3``, invisible to every linear and every pairwise view, shows up in row 4.
One fit serves every ``j``: the held-out rows are stacked once per shuffled column and
predicted in one call, so the cost is one LPS fold plus ``k + 1`` predictions.

**The null level.** ``importance[i, j]`` is the mean over held-out rows of
``(e_perm^2 - e^2) / mean (y - ybar)^2``; with ``se`` its standard error over rows, the
one-sided ``p = 1 - Phi(importance / se)`` tests "the predictor does not rely on j"
(null level 0: when ``z_j`` is independent of the rest, shuffling it leaves the held-out
distribution unchanged). P-values are Holm-adjusted over all ``k (k - 1)`` cells, and a
cell is *above its null level* when the adjusted p is below ``alpha``.

**The linear companion** is :func:`~lps_eval.predictability.linear_structure` on every
row: the drop in linear R2 of ``i`` when ``j`` is removed from its predictors, with the
t-test of the partial correlation (``df = n - k``, two-sided, Holm over the
``k (k - 1) / 2`` pairs; the drop is zero exactly when the partial correlation is).

Pitfalls: with two interchangeable predictors (``z_j`` a copy of ``z_l``) a model may
rely on one where the other would serve as well, and shuffling ``j`` alone also breaks
its link to the other predictors; permutation importance measures reliance of this
fitted predictor, not unique information (the linear drop-column companion does that,
linearly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lps_eval._random import make_rng, subsample_rows
from lps_eval._validation import (
    LpsInputError,
    check_fraction,
    check_latents,
    check_positive_int,
    constant_columns,
)
from lps_eval.multiple_testing import holm
from lps_eval.predictability._lps import (
    MIN_TEST_ROWS,
    MIN_TRAIN_ROWS,
    SINGLE_SPLIT_TEST_SIZE,
    canonical_order,
    linear_structure_from_covariance,
    resolve_max_samples,
)
from lps_eval.predictors import get_predictor
from lps_eval.predictors.linear import LinearPredictor
from lps_eval.results import MetricResult, make_row
from lps_eval.streaming import column_moments

__all__ = ["MAX_IMPORTANCE_DIMS", "LpsImportance", "lps_importance"]

#: Dimensions shown by default (targets and shuffled sources); each target is still
#: predicted from every other dimension.
MAX_IMPORTANCE_DIMS = 12


@dataclass(frozen=True)
class LpsImportance(MetricResult):
    """Result of :func:`lps_importance` (square matrices over ``dims``).

    Attributes
    ----------
    value : float
        Number of (target, source) cells whose reliance is above its null level.
    dims : numpy.ndarray of int
        The latent dimensions shown, rows (targets ``i``) and columns (sources ``j``).
    importance, p_value, p_value_holm : numpy.ndarray (k, k)
        Held-out R2 lost by target ``i`` when source ``j`` is shuffled, its one-sided
        p-value and the Holm-adjusted one (NaN on the diagonal).
    linear, linear_p_value, linear_p_value_holm : numpy.ndarray (k, k)
        Drop in linear R2 of ``i`` without ``j`` (every row), partial-correlation test.
    alpha : float
        Level of the marks (:attr:`above_null`, :attr:`linear_above_null`).
    """

    dims: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=int), repr=False)
    importance: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)
    p_value: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)
    p_value_holm: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)
    linear: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)
    linear_p_value: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)
    linear_p_value_holm: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)
    alpha: float = 0.05
    metric: str = "lps_importance"

    @property
    def above_null(self) -> np.ndarray:
        """Cells where the predictor's reliance is above its null level (Holm p < alpha)."""
        return np.nan_to_num(self.p_value_holm, nan=1.0) < self.alpha

    @property
    def linear_above_null(self) -> np.ndarray:
        """Cells whose linear R2 drop is above its null level (Holm p < alpha)."""
        return np.nan_to_num(self.linear_p_value_holm, nan=1.0) < self.alpha

    def rows(self) -> list[dict[str, Any]]:
        predictor = self.settings.get("predictor", "")
        out = []
        for name, mat, p, adjusted, by in (
            ("lps_importance", self.importance, self.p_value, self.p_value_holm, predictor),
            (
                "lps_structure",
                self.linear,
                self.linear_p_value,
                self.linear_p_value_holm,
                "linear",
            ),
        ):
            for a, i in enumerate(self.dims):
                for b, j in enumerate(self.dims):
                    if a != b:
                        out.append(
                            make_row(
                                name,
                                mat[a, b],
                                scope="dim",
                                dim=int(i),
                                p_value=p[a, b],
                                source_dim=int(j),
                                p_value_holm=adjusted[a, b],
                                predictor=by,
                            )
                        )
        return out


def lps_importance(
    z: Any,
    *,
    predictor: Any = "hgb",
    predictor_params: dict[str, Any] | None = None,
    test_size: float = SINGLE_SPLIT_TEST_SIZE,
    max_samples: int | str | None = "auto",
    max_dims: int | None = MAX_IMPORTANCE_DIMS,
    alpha: float = 0.05,
    seed: int = 0,
) -> LpsImportance:
    """Permutation importance of the LPS predictor, with a null level per cell.

    Parameters
    ----------
    z : array-like of shape (n_samples, n_dims)
    predictor, predictor_params
        As in :func:`lps_eval.lps` (default ``"hgb"``).
    test_size : float, default 0.25
        Held-out share of a single seeded split, drawn as :func:`lps_eval.lps` draws it
        for the same ``test_size``, ``max_samples`` and ``seed``.
    max_samples : int, None or "auto", default "auto"
        Row cap for the fit, as in :func:`lps_eval.lps`; the linear companion uses every
        row.
    max_dims : int or None, default 12
        Show the first ``max_dims`` non-constant dimensions (targets and shuffled
        sources; each target is still predicted from all others). None: all of them (the
        stacked held-out rows then grow as ``d^2``).
    alpha : float, default 0.05
        Level of the Holm-adjusted marks.
    seed : int, default 0
        Seeds the subsample, the split, the predictor and the shuffles.

    Returns
    -------
    LpsImportance

    Examples
    --------
    >>> import numpy as np, lps_eval
    >>> from lps_eval.predictability import lps_importance
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(2000, 3))
    >>> z[:, 2] = z[:, 0] * z[:, 1] + 0.1 * rng.normal(size=2000)
    >>> res = lps_importance(z, predictor="knn")
    >>> bool(res.above_null[2, 0] and res.above_null[2, 1] and not res.above_null[0, 1])
    True
    """
    z = check_latents(z, min_samples=MIN_TRAIN_ROWS + MIN_TEST_ROWS, min_dims=2)
    test_size = check_fraction(test_size, name="test_size")
    alpha = check_fraction(alpha, name="alpha")
    if max_dims is not None:
        max_dims = check_positive_int(max_dims, name="max_dims", minimum=2)
    model = get_predictor(predictor, **(predictor_params or {}))
    cap = resolve_max_samples(max_samples, model)
    split = _split(z, cap, test_size, seed)
    train_rows, test_rows, rng = split
    const = np.union1d(constant_columns(z[train_rows]), constant_columns(z[test_rows]))
    active = np.setdiff1d(np.arange(z.shape[1]), const)
    if active.size < 2:
        raise LpsInputError("importance needs at least 2 non-constant dimensions")
    shown = np.arange(active.size if max_dims is None else min(max_dims, active.size))
    model_seed = int(rng.integers(2**31 - 1))
    shuffle_rng = np.random.default_rng(rng.integers(2**63 - 1))
    imp, p = _reliance(
        model, z[train_rows][:, active], z[test_rows][:, active], shown, model_seed, shuffle_rng
    )
    linear, linear_p = _linear_companion(z, active, shown)
    p_holm = holm(p)
    settings = {
        "metric": "lps_importance",
        **model.settings(),
        "definition": "R2_i(held-out) - R2_i(held-out, column j shuffled); one fit per target",
        "null": "H0: no reliance (importance 0); one-sided z-test over held-out rows, Holm "
        "over every (target, source) cell",
        "linear": "drop in linear R2 without j (every row); partial-correlation t-test, Holm "
        "over pairs",
        "test_size": test_size,
        "max_samples": cap,
        "n_samples_total": int(z.shape[0]),
        "n_train": int(train_rows.size),
        "n_test": int(test_rows.size),
        "n_dims": int(z.shape[1]),
        "dims": active[shown].tolist(),
        "max_dims": max_dims,
        "constant_dims": const.tolist(),
        "alpha": alpha,
        "seed": seed,
    }
    return LpsImportance(
        value=float(np.sum(np.nan_to_num(p_holm, nan=1.0) < alpha)),
        settings=settings,
        dims=active[shown],
        importance=imp,
        p_value=p,
        p_value_holm=p_holm,
        linear=linear,
        linear_p_value=linear_p,
        linear_p_value_holm=_holm_pairs(linear_p),
        alpha=alpha,
    )


def _split(z: np.ndarray, cap: int | None, test_size: float, seed: int):
    """Training and held-out rows, drawn as :func:`lps_eval.lps` draws a single split."""
    rng = make_rng(seed)
    order = canonical_order(z)
    keep = subsample_rows(z.shape[0], cap, rng)
    rows = order if keep is None else order[keep]
    perm = rng.permutation(rows.size)
    n_test = int(round(test_size * rows.size))
    if n_test < MIN_TEST_ROWS or rows.size - n_test < MIN_TRAIN_ROWS:
        raise LpsInputError(
            f"{rows.size} rows with test_size={test_size} leave {n_test} held-out rows; "
            f"importance needs >= {MIN_TEST_ROWS} held-out and >= {MIN_TRAIN_ROWS} training "
            "rows: encode more samples or change test_size"
        )
    test_pos = np.sort(perm[:n_test])
    mask = np.ones(rows.size, dtype=bool)
    mask[test_pos] = False
    return rows[mask], rows[test_pos], rng


def _reliance(model, train, test, shown, seed, rng) -> tuple[np.ndarray, np.ndarray]:
    """Importance of every shown source for every shown target, and one-sided p-values."""
    mean, std = train.mean(axis=0), train.std(axis=0)
    std[std == 0] = 1.0
    train, test = (train - mean) / std, (test - mean) / std
    n_test, k = test.shape[0], shown.size
    stacked = np.empty(((k + 1) * n_test, test.shape[1]))
    stacked[:n_test] = test
    for b, j in enumerate(shown):
        block = stacked[(b + 1) * n_test : (b + 2) * n_test]
        block[:] = test
        block[:, j] = test[rng.permutation(n_test), j]
    columns = getattr(model, "fit_predict_columns", None)
    if columns is not None:  # per-dimension models: fit only the shown targets
        pred = columns(train, stacked, shown, seed=seed)
    else:
        pred = model.fit_predict(train, stacked, seed=seed)[:, shown]
    y = test[:, shown]
    sq = (np.tile(y, (k + 1, 1)) - pred) ** 2
    base = sq[:n_test]
    ss_tot = ((y - y.mean(axis=0)) ** 2).mean(axis=0)
    ss_tot[ss_tot == 0] = 1.0
    imp, p = np.full((k, k), np.nan), np.full((k, k), np.nan)
    for b in range(k):
        diff = (sq[(b + 1) * n_test : (b + 2) * n_test] - base) / ss_tot  # rows x targets
        value = diff.mean(axis=0)
        se = diff.std(axis=0, ddof=1) / math.sqrt(n_test)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = np.where(se > 0, value / np.where(se > 0, se, 1.0), -np.inf)
        imp[:, b], p[:, b] = value, _normal_sf(stat)
    np.fill_diagonal(imp, np.nan)
    np.fill_diagonal(p, np.nan)
    return imp, p


def _normal_sf(x: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(-x)


def _linear_companion(z: np.ndarray, active: np.ndarray, shown: np.ndarray):
    """Linear R2 drop of every shown pair on every row, and its partial-correlation test."""
    from scipy.stats import t as student_t

    moments = column_moments(z, columns=active)
    cov = moments.covariance(ddof=1)
    sd = np.sqrt(np.diag(cov))
    sd[sd == 0] = 1.0
    corr = cov / np.outer(sd, sd)
    prec = LinearPredictor(ridge=1e-8).precision_from_covariance(corr)
    diag = np.diag(prec)
    partial_sq = np.clip(prec**2 / np.outer(diag, diag), 0.0, 1.0 - 1e-15)
    drop = linear_structure_from_covariance(cov)
    df = max(moments.n - active.size, 1)
    t_stat = np.sqrt(df * partial_sq / (1.0 - partial_sq))
    p = 2.0 * student_t.sf(t_stat, df)
    sub = np.ix_(shown, shown)
    drop, p = drop[sub].copy(), p[sub].copy()
    np.fill_diagonal(drop, np.nan)
    np.fill_diagonal(p, np.nan)
    return drop, p


def _holm_pairs(p: np.ndarray) -> np.ndarray:
    """Holm over the unordered pairs of a symmetric p-value matrix (one test per pair)."""
    iu = np.triu_indices(p.shape[0], 1)
    out = np.full(p.shape, np.nan)
    adjusted = holm(p[iu])
    out[iu] = adjusted
    out[(iu[1], iu[0])] = adjusted
    return out
