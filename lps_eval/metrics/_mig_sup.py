"""MIG-sup (Li et al., ICLR 2020): the MIG gap taken per latent instead of per factor."""

from __future__ import annotations

from typing import Any

import numpy as np

from lps_eval.information import entropy, mutual_info_matrix
from lps_eval.metrics.common import SupervisedResult, prepare_discretized, top_two_gap
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.registry import register_metric
from lps_eval.options import renamed_keywords

__all__ = ["mig_sup"]


@register_metric(
    rows=("mig_sup",),
    properties=(
        "unit_interval",
        "exact_sample_order",
        "exact_latent_order",
        "exact_latent_affine",
        "rotation_sensitive",
        "nuisance_penalized",
    ),
    needs=("two_factors",),
    interval=IntervalPlan(unit="rows", n_boot=200),
    reference="Li et al., ICLR 2020; Zaidi et al., arXiv 2012.09276",
)
@renamed_keywords(num_bins="n_bins")
def mig_sup(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    n_bins: int = 20,
    num_train: int | None = 10000,
) -> SupervisedResult:
    """MIG-sup: does each latent encode at most one factor?

    .. math::
        \\mathrm{MIG\\text{-}sup} = \\frac{1}{d} \\sum_{j=1}^{d}
        \\left(\\tilde I_{j k^{(1)}_j} - \\tilde I_{j k^{(2)}_j}\\right), \\qquad
        \\tilde I_{jk} = \\frac{I(z_j; v_k)}{H(v_k)}

    with :math:`k^{(1)}_j, k^{(2)}_j` the factors most and second most informative about
    latent :math:`j` (the second is 0 with a single factor). Same discretization and MI
    estimator as :func:`~lps_eval.metrics.mig` (20 equal-width bins per latent, plug-in,
    nats). Complements MIG, which rewards compactness (one latent per factor), by
    rewarding modularity (one factor per latent). Factors with a single value
    (:math:`H = 0`) are left out.

    Parameters
    ----------
    z, factors : array-like, rows = samples
    z_test, factors_test : ignored
    seed : int
        Seed of the subsample when there are more than ``num_train`` rows.
    n_bins : int, default 20
    num_train : int or None, default 10000
    n_boot, confidence : int, float, default 200, 0.95
        Interval (registry): bootstrap of the rows, basic interval; 0 = none.

    Returns
    -------
    SupervisedResult
        ``value``; ``per_dim`` gaps (rows with scope ``"dim"``). NaN with a reason when
        fewer than two factors are usable (a gap between factors needs two).

    References
    ----------
    Li, Murkute, Gyawali, Wang, "Progressive Learning and Disentanglement of Hierarchical
    Representations", ICLR 2020; Zaidi et al., "Measuring Disentanglement: A Review of
    Metrics", arXiv:2012.09276.
    """
    data, codes, fac = prepare_discretized(
        "mig_sup",
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        num_train=num_train,
        n_bins=n_bins,
    )
    h = entropy(fac)
    ok = data.usable() & (h > 0)
    mi = mutual_info_matrix(codes, fac[:, ok])
    per_dim = top_two_gap(mi / h[ok], axis=1) if ok.any() else np.zeros(data.z.shape[1])
    return SupervisedResult(
        value=float(np.mean(per_dim)), settings=data.settings, metric="mig_sup", per_dim=per_dim
    )
