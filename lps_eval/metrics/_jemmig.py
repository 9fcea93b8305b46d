"""JEMMIG (Do & Tran, ICLR 2020): joint-entropy-minus-MI gap, normalized as in Zaidi et al."""

from __future__ import annotations

from typing import Any

import numpy as np

from lps_eval.information import (
    entropy,
    joint_entropy,
    mutual_info_matrix,
)
from lps_eval.metrics.common import SupervisedResult, masked_mean, prepare_discretized
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.registry import register_metric
from lps_eval.options import renamed_keywords

__all__ = ["jemmig"]


@register_metric(
    rows=("jemmig",),
    properties=(
        "unit_interval",
        "exact_sample_order",
        "exact_latent_order",
        "exact_latent_affine",
        "rotation_sensitive",
        "nuisance_invariant",
    ),
    needs=("two_latents",),
    interval=IntervalPlan(unit="rows", n_boot=200),
    reference="Do & Tran, ICLR 2020 (normalized as Zaidi et al., arXiv 2012.09276)",
)
@renamed_keywords(num_bins="n_bins")
def jemmig(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    n_bins: int = 20,
    num_train: int | None = 10000,
) -> SupervisedResult:
    """Normalized JEMMIG (higher is better).

    For factor :math:`k` with best latent :math:`j^{(1)}` and second best :math:`j^{(2)}`
    (by mutual information):

    .. math::
        \\mathrm{JEMMIG}_k = 1 - \\frac{H(v_k, z_{j^{(1)}}) - I(v_k; z_{j^{(1)}})
            + I(v_k; z_{j^{(2)}})}{H(v_k) + \\log(\\mathrm{num\\_bins})}

    averaged over factors. The unnormalized numerator is Do & Tran's JEMMIG (lower is
    better); the normalization by :math:`H(v_k) + \\log B` follows Zaidi et al. Unlike MIG
    it also penalizes a best latent that carries information about other things
    (large :math:`H(z_{j^{(1)}} \\mid v_k)`). Entropies in nats, same discretization as
    :func:`~lps_eval.metrics.mig`. The interval (``n_boot=200``, ``confidence=0.95``)
    bootstraps the rows (basic interval).

    Returns
    -------
    SupervisedResult
        ``value``; ``per_factor`` scores (rows with scope ``"factor"``; NaN for a
        single-valued or ID-like factor, left out of the mean). NaN with a reason when
        fewer than two latents vary (there is no second latent to compare).

    References
    ----------
    Do, Tran, "Theory and Evaluation Metrics for Learning Disentangled Representations",
    ICLR 2020; Zaidi et al., arXiv:2012.09276.
    """
    data, codes, fac = prepare_discretized(
        "jemmig",
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        num_train=num_train,
        n_bins=n_bins,
    )
    mi = mutual_info_matrix(fac, codes)  # (K, d)
    je = joint_entropy(fac, codes)
    h = entropy(fac)
    order = np.argsort(mi, axis=1, kind="stable")
    rows = np.arange(mi.shape[0])
    best = order[:, -1]
    second = mi[rows, order[:, -2]] if mi.shape[1] > 1 else np.zeros(mi.shape[0])
    numer = je[rows, best] - mi[rows, best] + second
    per_factor = 1.0 - numer / (h + np.log(n_bins))
    ok = data.usable()
    per_factor[~ok] = np.nan
    return SupervisedResult(
        value=masked_mean(per_factor, ok),
        settings=data.settings,
        metric="jemmig",
        per_factor=per_factor,
    )
