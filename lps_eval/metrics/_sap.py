"""Separated Attribute Predictability (Kumar et al., ICLR 2018), disentanglement_lib variant."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval.metrics.common import (
    SupervisedResult,
    current_call,
    discrete_factor_codes,
    masked_mean,
    prepare,
    top_two_gap,
)
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.registry import register_metric
from lps_eval.options import renamed_keywords

__all__ = ["SAPResult", "sap"]


@dataclass(frozen=True, eq=False)
class SAPResult(SupervisedResult):
    """SAP with per-factor gaps and the (dims x factors) score matrix."""

    score_matrix: np.ndarray | None = None


def _r2_matrix(z: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Squared Pearson correlation of every (latent, factor) pair; 0 for a latent with
    variance <= 1e-12 (and for a constant factor)."""
    zc = z - z.mean(axis=0)
    fc = f - f.mean(axis=0)
    n1 = z.shape[0] - 1
    cov = zc.T @ fc / n1
    var_z = np.einsum("ij,ij->j", zc, zc) / n1
    var_f = np.einsum("ij,ij->j", fc, fc) / n1
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = cov**2 / np.outer(var_z, var_f)
    r2[var_z <= 1e-12, :] = 0.0
    return np.nan_to_num(r2, nan=0.0)


def _svc_matrix(z, f, zt, ft, *, C: float, columns: np.ndarray):
    """Test accuracy of a one-latent LinearSVC for every (latent, factor in ``columns``);
    NaN for the other factors. Also returns the test rows' correctness, shape
    (n_test, d, K), for the interval's test-row bootstrap."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    out = np.full((z.shape[1], f.shape[1]), np.nan)
    correct = np.zeros((zt.shape[0], z.shape[1], f.shape[1]), dtype=bool)
    for i in range(z.shape[1]):
        for k in np.flatnonzero(columns):
            clf = LinearSVC(C=C, class_weight="balanced")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                clf.fit(z[:, i : i + 1], f[:, k])
            correct[:, i, k] = clf.predict(zt[:, i : i + 1]) == ft[:, k]
            out[i, k] = np.mean(correct[:, i, k])
    return out, correct


def _test_row_replicates(request, zt, ft, correct, columns) -> dict:
    """SAP on bootstrap resamples of the test rows, the one-latent probes held fixed."""
    counts = request.counts(zt, ft).astype(np.float64)  # (B, n_test)
    n_test, d, k = correct.shape
    acc = (counts @ correct.reshape(n_test, d * k)).reshape(-1, d, k) / n_test
    gaps = np.full((counts.shape[0], k), np.nan)
    gaps[:, columns] = top_two_gap(acc[:, :, columns], axis=1)
    reps = {("sap", "overall", None, None): gaps[:, columns].mean(axis=1)}
    for j in np.flatnonzero(columns):
        reps[("sap", "factor", None, int(j))] = gaps[:, j]
    return reps


@register_metric(
    rows=("sap",),
    properties=(
        "unit_interval",
        "exact_sample_order",
        "exact_latent_order",
        "uses_test_split",
        "rotation_sensitive",
        "nuisance_invariant",
    ),
    needs=("two_latents", "test_split"),
    interval=IntervalPlan(unit=lambda o: "rows" if o.get("continuous") else "test_rows"),
    reference="Kumar et al., ICLR 2018; disentanglement_lib 1.5 (sap_score)",
)
@renamed_keywords(num_bins="n_bins")
def sap(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    continuous: bool = False,
    C: float = 0.01,
    num_train: int | None = 10000,
    num_test: int | None = 5000,
    test_size: float = 1 / 3,
    n_bins: int = 20,
) -> SAPResult:
    """SAP score: mean over factors of the gap between the two most predictive latents.

    .. math::
        \\mathrm{SAP} = \\frac{1}{K} \\sum_k \\left(S_{j^{(1)}_k k} - S_{j^{(2)}_k k}\\right)

    Discrete variant (default, study setting): :math:`S_{jk}` is the test accuracy of a
    ``LinearSVC(C=0.01, class_weight="balanced")`` predicting factor :math:`k` from latent
    :math:`j` alone. Continuous variant (``continuous=True``): :math:`S_{jk}` is the squared
    Pearson correlation on the training rows (0 for a latent with variance <= 1e-12).

    Parameters
    ----------
    z, factors : array-like, rows = samples
    z_test, factors_test : array-like, optional
        Held-out rows for the discrete variant; when omitted a seeded random fraction
        ``test_size`` of the rows is held out. The continuous variant uses no test split.
    seed : int
        Seed of the split and subsamples.
    continuous : bool, default False
    C : float, default 0.01
        LinearSVC regularization (study default).
    num_train, num_test : int or None, default 10000 / 5000
        Study sample sizes (None: all rows).
    n_bins : int, default 20
        Bins for non-integer factors in the discrete variant.
    n_boot, confidence : int, float, default 200, 0.95
        Interval (registry): discrete variant, bootstrap of the test rows with the fitted
        one-latent probes held fixed; continuous variant, bootstrap of the rows; basic
        interval; 0 = none.

    Returns
    -------
    SAPResult
        ``value``; ``per_factor`` gaps; ``score_matrix`` (dims x factors). Factors that are
        constant, ID-like or (discrete variant) single-valued in the test split are NaN and
        left out; NaN overall with a reason when fewer than two latents vary (no gap).

    Notes
    -----
    The discrete variant is low for factors with many values even for perfect latents
    (about 0.37 on dSprites-like factors): a linear classifier on one latent can only
    threshold it, so accuracy is far from 1 while the second-best latent is at chance.

    References
    ----------
    Kumar, Sattigeri, Balakrishnan, "Variational Inference of Disentangled Latent
    Concepts from Unlabeled Observations", ICLR 2018; disentanglement_lib ``sap_score``.
    """
    data = prepare(
        "sap",
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        needs_test=not continuous,
        num_train=num_train,
        num_test=num_test,
        test_size=test_size,
        params={"continuous": bool(continuous), "C": float(C)},
    )
    if continuous:
        columns = data.usable()
        matrix = _r2_matrix(data.z, data.factors.astype(np.float64))
        matrix[:, ~columns] = np.nan
    else:
        columns = data.scorable()
        f, ft, _ = discrete_factor_codes(
            data.factors, data.factors_test, n_bins=n_bins, metric="sap"
        )
        matrix, correct = _svc_matrix(data.z, f, data.z_test, ft, C=C, columns=columns)
        call = current_call()
        if call is not None and call.request is not None:
            call.replicates = _test_row_replicates(call.request, data.z_test, ft, correct, columns)
    per_factor = np.full(matrix.shape[1], np.nan)
    per_factor[columns] = top_two_gap(matrix[:, columns], axis=0)
    return SAPResult(
        value=masked_mean(per_factor, columns),
        settings=data.settings,
        metric="sap",
        per_factor=per_factor,
        score_matrix=matrix,
    )
