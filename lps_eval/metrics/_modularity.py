"""Modularity and explicitness (Ridgeway & Mozer, NeurIPS 2018), disentanglement_lib variant."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import check_positive_int
from lps_eval.information import histogram_discretize, mutual_info_matrix
from lps_eval.metrics.common import SupervisedResult, discrete_factor_codes, prepare, warn
from lps_eval.metrics.registry import register_metric
from lps_eval.options import renamed_keywords
from lps_eval.results import indexed_rows, make_row

__all__ = ["ModularityExplicitnessResult", "modularity_explicitness"]


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


def _auc_macro(y_test: np.ndarray, proba: np.ndarray, classes: np.ndarray) -> tuple[float, list]:
    """Mean one-vs-rest ROC-AUC over the training classes that the test rows can score."""
    from sklearn.metrics import roc_auc_score

    aucs, skipped = [], []
    for c_idx, c in enumerate(classes):
        positive = y_test == c
        if positive.all() or not positive.any():
            skipped.append(int(c))
            continue
        aucs.append(roc_auc_score(positive, proba[:, c_idx]))
    return (float(np.mean(aucs)) if aucs else float("nan")), skipped


def _explicitness(x, y, x_test, y_test, *, factor: int):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    if np.unique(y).size < 2:
        warn(f"explicitness: factor {factor} takes a single value in the training rows; NaN")
        return float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression().fit(x, y)
    train, _ = _auc_macro(y, clf.predict_proba(x), clf.classes_)
    test, skipped = _auc_macro(y_test, clf.predict_proba(x_test), clf.classes_)
    unseen = np.setdiff1d(np.unique(y_test), clf.classes_)
    if skipped or unseen.size:
        warn(
            f"explicitness: factor {factor}: value(s) {skipped} missing from the test split "
            f"(left out of the AUC average), value(s) {unseen.tolist()} unseen in training "
            "(counted as negatives); disentanglement_lib fails or mismatches columns here"
        )
    return train, test


@register_metric(
    rows=("modularity", "explicitness"),
    properties=("unit_interval", "exact_sample_order", "exact_latent_order", "uses_test_split"),
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

    Returns
    -------
    ModularityExplicitnessResult
        Rows ``modularity`` (overall and per dim) and ``explicitness`` (overall and per
        factor). ``value`` is the modularity.

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
    mi = mutual_info_matrix(histogram_discretize(data.z, n_bins), f)
    per_dim = modularity_scores(mi)

    mean = data.z.mean(axis=0)
    std = data.z.std(axis=0)
    if np.any(std == 0):
        warn(
            f"explicitness: latent(s) {np.flatnonzero(std == 0).tolist()} are constant; "
            "standardized to 0 (disentanglement_lib returns NaN here)"
        )
        std = np.where(std == 0, 1.0, std)
    x = (data.z - mean) / std
    x_test = (data.z_test - mean) / std
    scores = [_explicitness(x, f[:, k], x_test, ft[:, k], factor=k) for k in range(f.shape[1])]
    train = np.array([s[0] for s in scores])
    test = np.array([s[1] for s in scores])
    modularity = float(np.mean(per_dim))
    return ModularityExplicitnessResult(
        value=modularity,
        settings=data.settings,
        metric="modularity",
        modularity=modularity,
        explicitness=float(np.nanmean(test)) if np.isfinite(test).any() else float("nan"),
        explicitness_train=float(np.nanmean(train)) if np.isfinite(train).any() else float("nan"),
        modularity_per_dim=per_dim,
        explicitness_per_factor=test,
        mutual_info=mi,
    )
