"""Modularity and explicitness (Ridgeway & Mozer, NeurIPS 2018), disentanglement_lib variant."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import check_positive_int
from lps_eval.information import histogram_discretize, mutual_info_matrix
from lps_eval.metrics.common import (
    SupervisedResult,
    current_call,
    discrete_factor_codes,
    masked_mean,
    prepare,
    warn,
)
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.registry import register_metric
from lps_eval.options import renamed_keywords
from lps_eval.results import indexed_rows, make_row

__all__ = ["ModularityExplicitnessResult", "modularity_explicitness", "weighted_auc"]


@dataclass(frozen=True, eq=False)
class ModularityExplicitnessResult(SupervisedResult):
    """``value`` is modularity; explicitness (test ROC-AUC) and per-dim / per-factor parts."""

    modularity: float = float("nan")
    explicitness: float = float("nan")
    explicitness_train: float = float("nan")
    modularity_per_dim: np.ndarray | None = None
    explicitness_per_factor: np.ndarray | None = None
    mutual_info: np.ndarray | None = None

    def rows(self) -> list[dict[str, Any]]:
        rows = [
            make_row("modularity", self.modularity),
            make_row("explicitness", self.explicitness),
        ]
        rows += indexed_rows("modularity", self.modularity_per_dim, scope="dim")
        rows += indexed_rows("explicitness", self.explicitness_per_factor, scope="factor")
        return rows


def modularity_scores(mi: np.ndarray) -> np.ndarray:
    """Per-latent modularity from a (dims x factors) mutual information matrix.

    .. math::
        \\delta_i = \\frac{\\sum_k m_{ik}^2 - \\theta_i^2}{\\theta_i^2 (K - 1)}, \\quad
        \\theta_i = \\max_k m_{ik}, \\qquad \\mathrm{modularity}_i = 1 - \\delta_i

    A latent carrying no information (``theta_i = 0``) scores 0, as in disentanglement_lib.
    """
    sq = np.square(mi)
    top = sq.max(axis=1)
    k = mi.shape[1]
    out = np.zeros(mi.shape[0])
    ok = top > 0
    if k > 1:
        out[ok] = 1.0 - (sq[ok].sum(axis=1) - top[ok]) / (top[ok] * (k - 1.0))
    else:  # one factor: every informative latent is perfectly modular
        out[ok] = 1.0
    return out


def weighted_auc(scores: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ROC-AUC of ``scores`` for the boolean labels ``positive`` under row weights.

    .. math:: \\mathrm{AUC} = \frac{\\sum_{i \\in +} \\sum_{j \\in -} w_i w_j
        \\left([s_i > s_j] + \tfrac12 [s_i = s_j]\right)}{W_+ W_-}

    (the Mann-Whitney form of ``sklearn.metrics.roc_auc_score``), for every row of
    ``weights`` (shape (B, n): bootstrap multiplicities; ones give the plain AUC) in one
    sort. NaN where a row of weights leaves no positive or no negative.
    """
    order = np.argsort(scores, kind="stable")
    s, pos, w = scores[order], positive[order], np.atleast_2d(weights)[:, order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    wp = np.add.reduceat(w * pos, starts, axis=1)
    wn = np.add.reduceat(w * ~pos, starts, axis=1)
    below = np.cumsum(wn, axis=1) - wn
    num = np.sum(wp * (below + 0.5 * wn), axis=1)
    denom = wp.sum(axis=1) * wn.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, num / denom, np.nan)


def _auc_macro(y_test, proba, classes, weights=None) -> tuple[np.ndarray, list]:
    """Mean one-vs-rest ROC-AUC over the training classes that the test rows can score,
    for every row of ``weights`` (default: the plain rows); skipped classes listed."""
    w = np.ones((1, y_test.size)) if weights is None else weights
    aucs, skipped = [], []
    for c_idx, c in enumerate(classes):
        positive = y_test == c
        if positive.all() or not positive.any():
            skipped.append(int(c))
            continue
        aucs.append(weighted_auc(proba[:, c_idx], positive, w))
    if not aucs:
        return np.full(w.shape[0], np.nan), skipped
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a resample without some class
        return np.nanmean(np.stack(aucs), axis=0), skipped


def _explicitness(x, y, x_test, y_test, *, factor: int, test_weights=None):
    """(train AUC, test AUC, test AUC on each resample of ``test_weights`` or None)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression().fit(x, y)
    train, _ = _auc_macro(y, clf.predict_proba(x), clf.classes_)
    proba = clf.predict_proba(x_test)
    test, skipped = _auc_macro(y_test, proba, clf.classes_)
    unseen = np.setdiff1d(np.unique(y_test), clf.classes_)
    if skipped or unseen.size:
        warn(
            f"explicitness: factor {factor}: value(s) {skipped} missing from the test split "
            f"(left out of the AUC average), value(s) {unseen.tolist()} unseen in training "
            "(counted as negatives); disentanglement_lib fails or mismatches columns here"
        )
    reps = None
    if test_weights is not None:
        reps = _auc_macro(y_test, proba, clf.classes_, test_weights)[0]
    return float(train[0]), float(test[0]), reps


def _modularity_replicates(request, z, f, codes, columns, n_bins) -> np.ndarray:
    """Per-dim modularity on bootstrap resamples of the training rows (rebinned)."""
    counts = request.counts(z, f, tag=1)
    rows = np.arange(z.shape[0])
    out = np.empty((counts.shape[0], z.shape[1]))
    for b, c in enumerate(counts):
        idx = np.repeat(rows, c)
        mi = mutual_info_matrix(histogram_discretize(z[idx], n_bins), codes[idx][:, columns])
        out[b] = modularity_scores(mi)
    return out


def _replicates(request, data, f, ft, columns, scored, n_bins, reps_expl) -> dict:
    """Replicate values by tidy row key: modularity (training rows resampled) and
    explicitness (test rows resampled, the fitted probes held fixed)."""
    mod = _modularity_replicates(request, data.z, data.factors, f, columns, n_bins)
    out = {("modularity", "overall", None, None): mod.mean(axis=1)}
    out.update({("modularity", "dim", int(i), None): mod[:, i] for i in range(mod.shape[1])})
    expl = np.full((request.n_boot, f.shape[1]), np.nan)
    for k, values in reps_expl.items():
        expl[:, k] = values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out[("explicitness", "overall", None, None)] = np.nanmean(expl[:, scored], axis=1)
    out.update({("explicitness", "factor", None, int(k)): expl[:, k] for k in reps_expl})
    return out


@register_metric(
    rows=("modularity", "explicitness"),
    properties=("unit_interval", "exact_sample_order", "exact_latent_order", "uses_test_split"),
    row_properties={
        "modularity": ("exact_latent_affine", "rotation_sensitive", "nuisance_penalized"),
        "explicitness": ("approx_latent_affine", "nuisance_invariant"),
    },
    needs={"modularity": ("two_factors",), "explicitness": ("test_split",)},
    interval=IntervalPlan(unit="test_rows", n_boot=200),
    reference="Ridgeway & Mozer, NeurIPS 2018; disentanglement_lib 1.5 (modularity_explicitness)",
)
@renamed_keywords(num_bins="n_bins")
def modularity_explicitness(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    n_bins: int = 20,
    num_train: int | None = 10000,
    num_test: int | None = 5000,
    test_size: float = 1 / 3,
) -> ModularityExplicitnessResult:
    """Modularity (from discretized mutual information) and explicitness (linear probe AUC).

    Modularity: mean over latents of :func:`modularity_scores` applied to the
    (dims x factors) plug-in MI matrix of the training rows (latents binned into
    ``n_bins`` equal-width bins). Explicitness: latents standardized with the training
    mean and standard deviation, one ``LogisticRegression()`` (scikit-learn defaults) per
    factor, macro one-vs-rest ROC-AUC of ``predict_proba`` on the test rows, averaged
    over factors.

    Parameters
    ----------
    z, factors : array-like, rows = samples
    z_test, factors_test : array-like, optional
        Held-out rows for explicitness; when omitted a seeded fraction ``test_size`` of
        the rows is held out (modularity then uses the remaining training rows).
    seed : int
    n_bins : int, default 20
    num_train, num_test : int or None, default 10000 / 5000
    n_boot, confidence : int, float, default 200, 0.95
        Interval (registry): modularity on bootstrap resamples of the training rows
        (rebinned), explicitness on bootstrap resamples of the test rows with the fitted
        probes held fixed; basic interval; 0 = none.

    Returns
    -------
    ModularityExplicitnessResult
        Rows ``modularity`` (overall and per dim) and ``explicitness`` (overall and per
        factor). ``value`` is the modularity. Constant or ID-like factors are left out
        (NaN explicitness); modularity is NaN with a reason when fewer than two factors
        are usable (one factor makes every informative latent trivially modular).

    Notes
    -----
    Differences from disentanglement_lib, only where it fails: an exactly constant latent
    has standard deviation 0 and makes disentanglement_lib's explicitness NaN/raise; here it
    is standardized to 0 (it carries no information), with a warning. A factor value that
    is missing from the test split makes disentanglement_lib's label binarizer produce a
    different number of columns than ``predict_proba`` (error or misaligned AUC); here
    that class is left out of the macro average, with a warning.

    References
    ----------
    Ridgeway, Mozer, "Learning Deep Disentangled Embeddings With the F-Statistic Loss",
    NeurIPS 2018; disentanglement_lib ``modularity_explicitness``.
    """
    n_bins = check_positive_int(n_bins, name="n_bins", minimum=2)
    data = prepare(
        "modularity_explicitness",
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        needs_test=True,
        num_train=num_train,
        num_test=num_test,
        test_size=test_size,
        params={"n_bins": n_bins, "probe": "LogisticRegression()"},
    )
    f, ft, _ = discrete_factor_codes(
        data.factors, data.factors_test, n_bins=n_bins, metric="modularity_explicitness"
    )
    use, scored = data.usable(), data.scorable()
    mi = np.full((data.z.shape[1], f.shape[1]), np.nan)
    mi[:, use] = mutual_info_matrix(histogram_discretize(data.z, n_bins), f[:, use])
    per_dim = modularity_scores(mi[:, use])
    x, x_test = _standardized_latents(data.z, data.z_test)
    call = current_call()
    request = call.request if call is not None else None
    weights = None if request is None else request.counts(data.z_test, data.factors_test)
    train, test = np.full(f.shape[1], np.nan), np.full(f.shape[1], np.nan)
    reps_expl = {}
    for k in np.flatnonzero(scored):
        train[k], test[k], reps = _explicitness(
            x, f[:, k], x_test, ft[:, k], factor=int(k), test_weights=weights
        )
        if reps is not None:
            reps_expl[int(k)] = reps
    if request is not None:
        call.replicates = _replicates(request, data, f, ft, use, scored, n_bins, reps_expl)
    modularity = float(np.mean(per_dim))
    if "modularity" in data.undefined_rows:
        modularity, per_dim = float("nan"), np.full_like(per_dim, np.nan)
    return ModularityExplicitnessResult(
        value=modularity,
        settings=data.settings,
        metric="modularity",
        modularity=modularity,
        explicitness=masked_mean(test, scored),
        explicitness_train=masked_mean(train, scored),
        modularity_per_dim=per_dim,
        explicitness_per_factor=test,
        mutual_info=mi,
    )


def _standardized_latents(z: np.ndarray, z_test: np.ndarray):
    """Latents standardized with the training mean and std (a constant one to 0, warning)."""
    mean = z.mean(axis=0)
    std = z.std(axis=0)
    if np.any(std == 0):
        warn(
            f"explicitness: latent(s) {np.flatnonzero(std == 0).tolist()} are constant; "
            "standardized to 0 (disentanglement_lib returns NaN here)"
        )
        std = np.where(std == 0, 1.0, std)
    return (z - mean) / std, (z_test - mean) / std
