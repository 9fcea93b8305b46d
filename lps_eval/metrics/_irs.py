"""Interventional Robustness Score (Suter et al., ICML 2019), disentanglement_lib variant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError, check_positive_int
from lps_eval.information import histogram_discretize, to_codes
from lps_eval.metrics.common import (
    SupervisedResult,
    discrete_factor_codes,
    prepare,
    warn,
)
from lps_eval.metrics.registry import register_metric
from lps_eval.options import renamed_keywords

__all__ = ["IRSResult", "irs"]


@dataclass(frozen=True, eq=False)
class IRSResult(SupervisedResult):
    """IRS with per-dim scores (NaN for dropped constant dims) and the IRS matrix."""

    irs_matrix: np.ndarray | None = None
    parents: np.ndarray | None = None


@register_metric(
    rows=("irs",),
    properties=("unit_interval", "exact_sample_order", "exact_latent_order"),
)
@renamed_keywords(num_bins="n_bins")
def irs(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    diff_quantile: float = 0.99,
    num_train: int | None = 10000,
    n_bins: int = 20,
    factor_bins: int | None = None,
) -> IRSResult:
    """Interventional Robustness Score.

    For latent :math:`z_j` and factor :math:`v_k`, with :math:`q` the ``diff_quantile``:

    .. math::
        \\mathrm{EMPIDA}_{jk} = \\frac{1}{|V_k|} \\sum_{v \\in V_k}
            Q_q\\big(|z_j - E[z_j \\mid v_k = v]| \\;\\big|\\; v_k = v\\big), \\qquad
        \\mathrm{IRS}_{jk} = 1 - \\frac{\\mathrm{EMPIDA}_{jk}}{\\max |z_j - E z_j|}

    Per latent :math:`\\mathrm{IRS}_j = \\max_k \\mathrm{IRS}_{jk}`; the score is their
    average weighted by :math:`\\max|z_j - E z_j|` (plain mean if all weights are 0).
    Exactly constant latents are dropped first; if all are, the score is 0
    (disentanglement_lib's conventions). Quantiles use linear interpolation
    (``np.percentile``).

    Parameters
    ----------
    z, factors : array-like, rows = samples
    z_test, factors_test : ignored (IRS has no test split)
    seed : int
        Seed of the subsample when there are more than ``num_train`` rows.
    diff_quantile : float, default 0.99
    num_train : int or None, default 10000
    n_bins : int, default 20
        Bins for non-integer (continuous) factors.
    factor_bins : int or None, default None
        disentanglement_lib bins every factor into 20 equal-width histogram bins. For
        integer factors with at most 20 values (most datasets) this changes nothing; with
        more values it merges neighbouring values into one "intervention". By default
        factor values are used as given (with a warning when that differs from
        disentanglement_lib); pass ``factor_bins=20`` to reproduce its binning.

    Returns
    -------
    IRSResult
        ``value``; ``per_dim`` = :math:`\\mathrm{IRS}_j` (NaN for dropped constant dims);
        ``irs_matrix`` (dims x factors).

    References
    ----------
    Suter, Miladinovic, Schölkopf, Bauer, "Robustly Disentangled Causal Mechanisms:
    Validating Deep Representations for Interventional Robustness", ICML 2019.
    """
    if not 0.0 <= float(diff_quantile) <= 1.0:
        raise LpsInputError(f"diff_quantile must be in [0, 1], got {diff_quantile}")
    if factor_bins is not None:
        factor_bins = check_positive_int(factor_bins, name="factor_bins", minimum=2)
    data = prepare(
        "irs",
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        needs_test=False,
        num_train=num_train,
        params={"diff_quantile": float(diff_quantile), "factor_bins": factor_bins},
    )
    if factor_bins is not None:
        fac = histogram_discretize(data.factors.astype(np.float64), factor_bins)
    else:
        fac, _, sizes = discrete_factor_codes(data.factors, None, n_bins=n_bins, metric="irs")
        many = [k for k, s in enumerate(sizes) if s > 20]
        if many:
            warn(
                f"irs: factor(s) {many} have more than 20 values; each value is one "
                "intervention here, while disentanglement_lib merges them into 20 bins "
                "(pass factor_bins=20 to reproduce it)"
            )
    fac = to_codes(fac)[0]
    n_dims = data.z.shape[1]
    active = data.z.var(axis=0) > 0
    per_dim = np.full(n_dims, np.nan)
    matrix = np.full((n_dims, fac.shape[1]), np.nan)
    parents = np.full(n_dims, -1)
    if not active.any():
        warn("irs: every latent is constant; score 0 (disentanglement_lib's convention)")
        return IRSResult(
            value=0.0,
            settings=data.settings,
            metric="irs",
            per_dim=per_dim,
            irs_matrix=matrix,
            parents=parents,
        )
    lat = data.z[:, active]
    max_dev = np.max(np.abs(lat - lat.mean(axis=0)), axis=0)
    cum = np.zeros((lat.shape[1], fac.shape[1]))
    for k in range(fac.shape[1]):
        values = np.unique(fac[:, k])
        for v in values:  # one vectorized pass per intervention value
            group = lat[fac[:, k] == v]
            dev = np.abs(group - group.mean(axis=0))
            cum[:, k] += np.percentile(dev, q=diff_quantile * 100, axis=0)
        cum[:, k] /= values.size
    irs_active = 1.0 - cum / max_dev[:, None]
    scores = irs_active.max(axis=1)
    value = (
        float(np.average(scores, weights=max_dev)) if max_dev.sum() > 0 else float(np.mean(scores))
    )
    per_dim[active] = scores
    matrix[active] = irs_active
    parents[active] = irs_active.argmax(axis=1)
    return IRSResult(
        value=value,
        settings=data.settings,
        metric="irs",
        per_dim=per_dim,
        irs_matrix=matrix,
        parents=parents,
    )
