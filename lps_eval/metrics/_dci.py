"""DCI: Disentanglement, Completeness, Informativeness (Eastwood & Williams, ICLR 2018).

The probe that produces the (dims x factors) importance matrix is the option
``importance`` (peers disagree on it; :data:`IMPORTANCES`): ``"gbt"`` (default,
disentanglement_lib's gradient-boosted trees), ``"lasso"`` and ``"random_forest"`` (the
regressors of Eastwood & Williams' original code) and ``"lightgbm"``. For ``"gbt"`` two
implementations exist (``mode``):

* ``mode="parity"``: disentanglement_lib's probe, one ``GradientBoostingClassifier`` with
  scikit-learn defaults per factor (seeded here; disentanglement_lib leaves it unseeded),
  importance = ``abs(feature_importances_)``. About a minute on 10,000 x 10 latents with
  dSprites-like factors.
* ``mode="fast"`` (default): one ``HistGradientBoostingClassifier`` per factor with trees of
  the same size (8 leaves, the size of the depth-3 trees above, at least 20 rows per leaf),
  learning rate 0.1, at most 100 iterations with early stopping on 10% of the training
  rows (seeded), one thread; importance = total split gain of each latent over all trees,
  normalized. Histogram split finding and early stopping make it more than 10x faster; D
  and C stay within 0.05 of the parity values on the synthetic cases (measured table in
  docs/metrics.md).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError
from lps_eval.metrics.common import (
    SupervisedResult,
    discrete_factor_codes,
    masked_mean,
    prepare,
    seed_int,
)
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.registry import register_metric
from lps_eval.options import renamed_keywords
from lps_eval.results import indexed_rows, make_row

__all__ = ["IMPORTANCES", "DCIResult", "dci", "dci_from_importance"]

_EPS = 1e-11
MODES = ("fast", "parity")
#: ``importance`` choices and their peer.
IMPORTANCES = {
    "gbt": "gradient-boosted trees, one classifier per factor (disentanglement_lib; `mode` "
    "picks its exact GradientBoostingClassifier or the fast histogram version)",
    "lasso": "Lasso(alpha=0.02) regressor per factor on standardized latents and factor "
    "values, importance |coef| (Eastwood & Williams' original code)",
    "random_forest": "RandomForestRegressor(n_estimators=10) per factor, impurity importance "
    "(Eastwood & Williams' original code)",
    "lightgbm": "LGBMClassifier (LightGBM defaults, one thread) per factor, gain importance",
}
#: Eastwood & Williams' Lasso penalty and forest size (qedr, quantify.ipynb).
LASSO_ALPHA = 0.02
RF_TREES = 10
#: The fast probe: trees of the size of GradientBoostingClassifier's depth-3 trees, at least
#: 20 rows per leaf, at most 100 iterations with early stopping on 10% of the training rows
#: (so the number of trees adapts to the data). Chosen by measuring D/C against the parity
#: probe on the golden cases (1,500 rows) and on the 10,000-row benchmark (docs/metrics.md).
FAST_PARAMS = {
    "learning_rate": 0.1,
    "max_iter": 100,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 20,
    "early_stopping": True,
    "validation_fraction": 0.1,
    "n_iter_no_change": 10,
}


@dataclass(frozen=True, eq=False)
class DCIResult(SupervisedResult):
    """DCI scores, per-dim disentanglement, per-factor completeness and accuracy, and the
    (dims x factors) importance matrix. ``value`` is the disentanglement score."""

    disentanglement: float = float("nan")
    completeness: float = float("nan")
    informativeness: float = float("nan")
    informativeness_train: float = float("nan")
    disentanglement_per_dim: np.ndarray | None = None
    completeness_per_factor: np.ndarray | None = None
    informativeness_per_factor: np.ndarray | None = None
    importance: np.ndarray | None = None

    def rows(self) -> list[dict[str, Any]]:
        rows = [
            make_row("dci_disentanglement", self.disentanglement),
            make_row("dci_completeness", self.completeness),
            make_row("dci_informativeness", self.informativeness),
        ]
        rows += indexed_rows("dci_disentanglement", self.disentanglement_per_dim, scope="dim")
        rows += indexed_rows("dci_completeness", self.completeness_per_factor, scope="factor")
        rows += indexed_rows("dci_informativeness", self.informativeness_per_factor, scope="factor")
        if self.importance is None:
            return rows
        d, k = self.importance.shape
        rows += [
            make_row("dci_importance", self.importance[i, j], scope="dim", dim=i, factor=j)
            for i in range(d)
            for j in range(k)
        ]
        return rows


def _entropy_base(p: np.ndarray, base: int, axis: int) -> np.ndarray:
    """Entropy of the (renormalized) columns/rows of ``p + 1e-11`` in the given base, like
    ``scipy.stats.entropy(p + 1e-11, base=base)``; a base of 1 (single factor or dim) gives 0."""
    q = p + _EPS
    q = q / q.sum(axis=axis, keepdims=True)
    h = -np.sum(q * np.log(q), axis=axis)
    return h / np.log(base) if base > 1 else np.zeros_like(h)


def dci_from_importance(importance: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Disentanglement and completeness from a (dims x factors) importance matrix R.

    .. math::
        D = \\sum_i \\rho_i \\left(1 - H_K(P_{i\\cdot})\\right), \\quad
        \\rho_i = \\frac{\\sum_k R_{ik}}{\\sum_{ik} R_{ik}}, \\qquad
        C = \\sum_k \\tilde\\rho_k \\left(1 - H_d(\\tilde P_{\\cdot k})\\right)

    with :math:`P_{i\\cdot}` row i of R normalized, :math:`\\tilde P_{\\cdot k}` column k
    normalized, entropies in base K (factors) and d (dims) of ``R + 1e-11`` exactly as
    disentanglement_lib computes them; an all-zero R gets uniform weights.

    Returns
    -------
    D, C, per-dim disentanglement, per-factor completeness
    """
    r = np.abs(np.asarray(importance, dtype=np.float64))
    d, k = r.shape
    per_dim = 1.0 - _entropy_base(r, k, axis=1)
    per_factor = 1.0 - _entropy_base(r, d, axis=0)
    w = r if r.sum() > 0 else np.ones_like(r)
    dis = float(np.sum(per_dim * w.sum(axis=1) / w.sum()))
    com = float(np.sum(per_factor * w.sum(axis=0) / w.sum()))
    return dis, com, per_dim, per_factor


def _gain_importance(model, n_features: int) -> np.ndarray:
    """Total split gain per feature over all trees of a fitted HistGradientBoosting model."""
    try:
        predictors = model._predictors
        imp = np.zeros(n_features)
        for per_iteration in predictors:
            for tree in per_iteration:
                nodes = tree.nodes
                split = nodes[nodes["is_leaf"] == 0]
                np.add.at(imp, split["feature_idx"].astype(np.int64), split["gain"])
    except (AttributeError, KeyError, ValueError) as exc:  # pragma: no cover - sklearn internals
        raise RuntimeError(
            "dci(mode='fast') could not read split gains from this scikit-learn version "
            f"({exc}); use mode='parity'"
        ) from None
    return imp


def _check_repeated_values(codes: np.ndarray) -> None:
    """Every factor value must occur at least twice among the training rows.

    A classifier probe on a factor whose values are nearly all distinct (a float or ID-like
    integer column) cannot be trained or stratified; say so instead of failing inside
    scikit-learn.
    """
    for k in range(codes.shape[1]):
        _, counts = np.unique(codes[:, k], return_counts=True)
        if counts.min() < 2:
            raise LpsInputError(
                f"dci: factor column {k} has {counts.size} distinct values and "
                f"{int(np.sum(counts < 2))} of them occur only once in the {codes.shape[0]} "
                "training rows; classifier probes need discrete factors with repeated values "
                "(pass integer codes, e.g. np.digitize a continuous factor into a few bins)"
            )


def _gbt_probe(x, y, x_test, y_test, *, mode: str, random_state: int):
    """One factor's gradient-boosted probe: (importance, train accuracy, test accuracy)."""
    if mode == "parity":
        from sklearn.ensemble import GradientBoostingClassifier

        model = GradientBoostingClassifier(random_state=random_state).fit(x, y)
        imp = np.abs(model.feature_importances_)
        train_acc = float(np.mean(model.predict(x) == y))
        test_acc = float(np.mean(model.predict(x_test) == y_test))
    else:
        from sklearn.ensemble import HistGradientBoostingClassifier
        from threadpoolctl import threadpool_limits

        # One OpenMP thread: deterministic, and immune to the catastrophic slow-down of
        # spinning OpenMP threads on an oversubscribed machine.
        with threadpool_limits(limits=1, user_api="openmp"):
            model = HistGradientBoostingClassifier(**FAST_PARAMS, random_state=random_state)
            model.fit(x, y)
            train_acc = float(np.mean(model.predict(x) == y))
            test_acc = float(np.mean(model.predict(x_test) == y_test))
        imp = _gain_importance(model, x.shape[1])
        total = imp.sum()
        imp = imp / total if total > 0 else imp
    return imp, train_acc, test_acc


def _lightgbm_probe(x, y, x_test, y_test, *, random_state: int):
    """LightGBM classifier with its defaults (one thread, seeded); gain importance."""
    try:
        from lightgbm import LGBMClassifier
    except ImportError:  # pragma: no cover - depends on the environment
        raise LpsInputError(
            "dci(importance='lightgbm') needs LightGBM: pip install 'lps-eval[lightgbm]'"
        ) from None
    model = LGBMClassifier(
        importance_type="gain", random_state=random_state, n_jobs=1, verbose=-1, deterministic=True
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # feature-name notices
        model.fit(x, y)
        train_acc = float(np.mean(model.predict(x) == y))
        test_acc = float(np.mean(model.predict(x_test) == y_test))
    imp = np.asarray(model.feature_importances_, dtype=np.float64)
    total = imp.sum()
    return (imp / total if total > 0 else imp), train_acc, test_acc


def _standardized(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, std = train.mean(axis=0), train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (train - mean) / std, (test - mean) / std


def _regression_probe(x, v, x_test, v_test, *, importance: str, random_state: int):
    """Eastwood & Williams' regression probe on standardized latents and factor values:
    ``Lasso(alpha=0.02)`` (importance ``|coef_|``) or ``RandomForestRegressor(
    n_estimators=10)`` (``feature_importances_``). Informativeness = ``max(0, 1 - NRMSE)``
    with NRMSE = RMSE / std of the standardized test factor (their error, as a score)."""
    y, y_test = _standardized(v[:, None], v_test[:, None])
    y, y_test = y[:, 0], y_test[:, 0]
    if importance == "lasso":
        from sklearn.linear_model import Lasso

        model = Lasso(alpha=LASSO_ALPHA).fit(x, y)
        imp = np.abs(model.coef_)
    else:
        from sklearn.ensemble import RandomForestRegressor

        model = RandomForestRegressor(n_estimators=RF_TREES, random_state=random_state, n_jobs=1)
        imp = np.abs(model.fit(x, y).feature_importances_)

    def score(target, pred):
        spread = target.std()
        return (
            max(0.0, 1.0 - float(np.sqrt(np.mean((pred - target) ** 2))) / spread)
            if spread
            else 0.0
        )

    return imp, score(y, model.predict(x)), score(y_test, model.predict(x_test))


def _importances(data, f, ft, columns, *, importance: str, mode: str):
    """(dims x factors) importance, train and test informativeness of the factors in
    ``columns`` (NaN elsewhere); one probe per factor, seeded in factor order."""
    n_dims, n_factors = data.z.shape[1], f.shape[1]
    imp = np.full((n_dims, n_factors), np.nan)
    train, test = np.full(n_factors, np.nan), np.full(n_factors, np.nan)
    if importance in ("gbt", "lightgbm"):
        # Canonical row order (lexicographic in each row's sorted values): the probes'
        # internal randomness (early-stopping split, feature shuffling on ties) then
        # depends neither on the order of the rows nor on the order of the latent columns.
        canon = np.lexsort(np.sort(data.z, axis=1).T[::-1])
        x, fc = data.z[canon], f[canon]
        if importance == "gbt" and mode == "fast":  # early stopping holds out a stratified split
            _check_repeated_values(fc[:, columns])
    else:
        x, x_test = _standardized(data.z, data.z_test)
    for k in np.flatnonzero(columns):
        seed = seed_int(data.rng)
        if importance == "gbt":
            out = _gbt_probe(x, fc[:, k], data.z_test, ft[:, k], mode=mode, random_state=seed)
        elif importance == "lightgbm":
            out = _lightgbm_probe(x, fc[:, k], data.z_test, ft[:, k], random_state=seed)
        else:
            v, v_test = data.factors[:, k].astype(float), data.factors_test[:, k].astype(float)
            out = _regression_probe(x, v, x_test, v_test, importance=importance, random_state=seed)
        imp[:, k], train[k], test[k] = out
    return imp, train, test


@register_metric(
    rows=("dci_disentanglement", "dci_completeness", "dci_informativeness"),
    properties=(
        "unit_interval",
        "approx_sample_order",
        "approx_latent_order",
        "approx_latent_affine",
        "uses_test_split",
        "nuisance_invariant",
    ),
    row_properties={
        "dci_disentanglement": ("rotation_sensitive",),
        "dci_completeness": ("rotation_sensitive",),
    },
    needs={
        "dci_disentanglement": ("two_factors",),
        "dci_completeness": ("two_latents",),
        "dci_informativeness": ("test_split",),
    },
    interval=IntervalPlan(unit="half_rows", n_boot=10),
    reference="Eastwood & Williams, ICLR 2018; disentanglement_lib 1.5 (dci); qedr (lasso, RF)",
)
@renamed_keywords(num_bins="n_bins")
def dci(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    mode: str = "fast",
    num_train: int | None = 10000,
    num_test: int | None = 5000,
    test_size: float = 1 / 3,
    n_bins: int = 20,
    importance: str = "gbt",
) -> DCIResult:
    """DCI disentanglement, completeness and informativeness from per-factor probes.

    For each factor a probe predicts it from all latents; the importance of latent i for
    factor k forms :math:`R_{ik}`. Disentanglement and completeness follow
    :func:`dci_from_importance`; informativeness is the mean test accuracy of the probes
    (disentanglement_lib's ``informativeness_test``).

    Parameters
    ----------
    z, factors : array-like, rows = samples
        Latent codes and discrete factors (non-integer factors are binned, warning).
    z_test, factors_test : array-like, optional
        Held-out rows; when omitted a seeded random fraction ``test_size`` is held out.
    seed : int
        Seed of the split, subsamples and probes.
    mode : {"fast", "parity"}, default "fast"
        Implementation of ``importance="gbt"``: ``"parity"`` = disentanglement_lib's
        GradientBoostingClassifier (slow); ``"fast"`` = HistGradientBoostingClassifier
        (8 leaves, >= 20 rows per leaf, early stopping) with split-gain importances (see
        the module docstring). Ignored by the other importances.
    num_train, num_test : int or None, default 10000 / 5000
        Study sample sizes (None: all rows).
    importance : {"gbt", "lasso", "random_forest", "lightgbm"}, default "gbt"
        The probe (:data:`IMPORTANCES`). ``"lasso"`` / ``"random_forest"`` are Eastwood &
        Williams' regressors on standardized latents and factor values (``Lasso(alpha=
        0.02)``, ``RandomForestRegressor(n_estimators=10)``); their informativeness is
        ``max(0, 1 - NRMSE)`` on the test rows, their error turned into a score.
        ``"lightgbm"``: ``LGBMClassifier`` with LightGBM's defaults, gain importance.
    n_boot, confidence : int, float, default 10, 0.95
        Interval (registry): the probes refit on ``n_boot`` half-samples of the training
        and test rows (duplicated rows would leak into the early-stopping split), with
        fresh probe seeds; the estimate plus the replicates' spread (normal-t below 100
        replicates). Each replicate costs most of a fit (about 8 s at 10,000 x 10 on one
        busy core); 0 = none.

    Returns
    -------
    DCIResult
        Rows ``dci_disentanglement``, ``dci_completeness``, ``dci_informativeness``
        (overall), per-dim disentanglement, per-factor completeness and accuracy, and
        ``dci_importance`` rows (scope ``"dim"`` with both ``dim`` and ``factor`` set).
        Constant or ID-like factors get no probe (NaN); disentanglement is NaN with a
        reason when fewer than two factors are usable, completeness when fewer than two
        latents vary (an entropy over one entry is 0 by construction).

    References
    ----------
    Eastwood, Williams, "A Framework for the Quantitative Evaluation of Disentangled
    Representations", ICLR 2018 (code: github.com/cianeastwood/qedr); disentanglement_lib
    ``dci``.
    """
    if mode not in MODES:
        raise LpsInputError(f"mode must be one of {MODES}, got {mode!r}")
    if importance not in IMPORTANCES:
        raise LpsInputError(
            f"dci: importance must be one of {sorted(IMPORTANCES)}, got {importance!r}"
        )
    probe = {
        "gbt": "GradientBoostingClassifier"
        if mode == "parity"
        else f"HistGradientBoostingClassifier({FAST_PARAMS})",
        "lasso": f"Lasso(alpha={LASSO_ALPHA}) on standardized latents and factors",
        "random_forest": f"RandomForestRegressor(n_estimators={RF_TREES})",
        "lightgbm": "LGBMClassifier(importance_type='gain')",
    }[importance]
    data = prepare(
        "dci",
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        needs_test=True,
        num_train=num_train,
        num_test=num_test,
        test_size=test_size,
        params={"mode": mode, "importance": importance, "probe": probe},
    )
    f, ft, _ = discrete_factor_codes(data.factors, data.factors_test, n_bins=n_bins, metric="dci")
    use = data.usable()
    importance_matrix, acc_train, acc_test = _importances(
        data, f, ft, use, importance=importance, mode=mode
    )
    dis, com, per_dim, part = dci_from_importance(importance_matrix[:, use])
    per_factor = np.full(f.shape[1], np.nan)
    per_factor[use] = part
    undefined = data.undefined_rows
    if "dci_disentanglement" in undefined:
        dis, per_dim = float("nan"), np.full_like(per_dim, np.nan)
    if "dci_completeness" in undefined:
        com, per_factor = float("nan"), np.full_like(per_factor, np.nan)
    scored = data.scorable()
    acc_test[~scored] = np.nan
    return DCIResult(
        value=dis,
        settings=data.settings,
        metric="dci_disentanglement",
        disentanglement=dis,
        completeness=com,
        informativeness=masked_mean(acc_test, scored),
        informativeness_train=masked_mean(acc_train, use),
        disentanglement_per_dim=per_dim,
        completeness_per_factor=per_factor,
        informativeness_per_factor=acc_test,
        importance=importance_matrix,
    )
