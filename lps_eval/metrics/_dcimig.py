"""DCIMIG (Sepliarskaia et al., 2019): MIG gaps per latent, assigned to factors."""

from __future__ import annotations

from typing import Any

import numpy as np

from lps_eval.information import entropy, mutual_info_matrix
from lps_eval.metrics.common import SupervisedResult, prepare_discretized, top_two_gap
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.registry import register_metric
from lps_eval.options import renamed_keywords

__all__ = ["dcimig"]


@register_metric(
    rows=("dcimig",),
    properties=(
        "unit_interval",
        "exact_sample_order",
        "exact_latent_order",
        "exact_latent_affine",
        "rotation_sensitive",
        "nuisance_invariant",
    ),
    needs=("two_factors",),
    interval=IntervalPlan(unit="rows", n_boot=200),
    reference="Sepliarskaia et al., arXiv 1910.05587; Zaidi et al., arXiv 2012.09276",
)
@renamed_keywords(num_bins="n_bins")
def dcimig(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    n_bins: int = 20,
    num_train: int | None = 10000,
) -> SupervisedResult:
    """DCIMIG: disentanglement, completeness and informativeness in one MI-gap score.

    For each latent :math:`j`, the gap between its two largest (unnormalized) mutual
    informations with the factors, :math:`R_j = I(z_j; v_{k^{(1)}_j}) - I(z_j;
    v_{k^{(2)}_j})`, is credited to its best factor :math:`k^{(1)}_j`. Each factor keeps its
    largest credit :math:`S_k = \\max_{j: k^{(1)}_j = k} R_j` (0 if no latent prefers it):

    .. math:: \\mathrm{DCIMIG} = \\frac{\\sum_k S_k}{\\sum_k H(v_k)}

    Same discretization and MI estimator as :func:`~lps_eval.metrics.mig`. The interval
    (``n_boot=200``, ``confidence=0.95``) bootstraps the rows (basic interval).

    Returns
    -------
    SupervisedResult
        ``value``; ``per_factor`` = :math:`S_k / H(v_k)` (rows with scope ``"factor"``;
        NaN for a single-valued or ID-like factor, which is left out). NaN with a reason
        when fewer than two factors are usable (a latent's gap between factors needs two).

    References
    ----------
    Sepliarskaia, Kiseleva, de Rijke, "How to Not Measure Disentanglement",
    arXiv:1910.05587; Zaidi et al., arXiv:2012.09276.
    """
    data, codes, fac = prepare_discretized(
        "dcimig",
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        num_train=num_train,
        n_bins=n_bins,
    )
    use = np.flatnonzero(data.usable())
    h = entropy(fac)[use]
    mi = mutual_info_matrix(codes, fac[:, use])  # (d, usable K)
    gap = top_two_gap(mi, axis=1)
    best = np.argmax(mi, axis=1)
    credit = np.zeros(use.size)
    np.maximum.at(credit, best, gap)
    per_factor = np.full(fac.shape[1], np.nan)
    per_factor[use] = credit / h
    value = float(credit.sum() / h.sum())
    return SupervisedResult(
        value=value, settings=data.settings, metric="dcimig", per_factor=per_factor
    )
