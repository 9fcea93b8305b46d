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
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.registry import register_metric
from lps_eval.options import renamed_keywords

__all__ = ["IRSResult", "irs"]


@dataclass(frozen=True, eq=False)
class IRSResult(SupervisedResult):
    """IRS with per-dim scores (NaN for dropped constant dims) and the IRS matrix."""

    irs_matrix: np.ndarray | None = None
    parents: np.ndarray | None = None


def _lerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """numpy's quantile interpolation, operation for operation (``np.percentile``)."""
    diff = b - a
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def _empida(lat: np.ndarray, codes: np.ndarray, q: float) -> np.ndarray:
    """EMPIDA of every latent for one factor: the mean over its values v of the ``q``
    quantile of ``|z_j - E[z_j | v]|`` among the rows with value v (linear interpolation,
    as ``np.percentile``), all values and latents in one sort."""
    counts = np.bincount(codes)
    sizes = counts[counts > 0]
    order = np.argsort(codes, kind="stable")
    grouped = np.ascontiguousarray(lat[order].T)  # (latents, rows): sorts run along rows
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    means = np.add.reduceat(grouped, starts, axis=1) / sizes
    dev = np.abs(grouped - np.repeat(means, sizes, axis=1))
    # sort within groups: offset each group above the previous one's largest deviation
    span = float(dev.max()) * 2.0 + 1.0
    offset = np.repeat(np.arange(sizes.size) * span, sizes)
    ranked = np.sort(dev + offset, axis=1) - offset
    virt = q * (sizes - 1)
    low = np.floor(virt).astype(np.int64)
    high = np.minimum(low + 1, sizes - 1)
    quantiles = _lerp(ranked[:, starts + low], ranked[:, starts + high], virt - low)
    return quantiles.mean(axis=1)


@register_metric(
    rows=("irs",),
    properties=(
        "unit_interval",
        "exact_sample_order",
        "exact_latent_order",
        "rotation_sensitive",
        "nuisance_penalized",
    ),
    interval=IntervalPlan(unit="rows", n_boot=200),
    reference="Suter et al., ICML 2019; disentanglement_lib 1.5 (irs)",
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
    Exactly constant latents are dropped first (disentanglement_lib's convention); if all
    are, or if no factor can be intervened on (every factor constant, or an ID whose
    values each occur once, where every group is one row and IRS would be 1), the result
    is NaN with a reason (disentanglement_lib returns 0, resp. 1). Quantiles use linear
    interpolation (``np.percentile``). Rescaling a single latent changes its weight, so
    IRS is not invariant to it (Suter et al.'s weighting).

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
    n_boot, confidence : int, float, default 200, 0.95
        Interval (registry): bootstrap of the rows, basic interval; 0 = none.
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
    use = np.flatnonzero(data.usable())
    fac = to_codes(fac[:, use])[0]
    n_dims = data.z.shape[1]
    active = data.z.var(axis=0) > 0  # prepare() refused all-constant latents
    per_dim = np.full(n_dims, np.nan)
    matrix = np.full((n_dims, data.factors.shape[1]), np.nan)
    parents = np.full(n_dims, -1)
    lat = data.z[:, active]
    max_dev = np.max(np.abs(lat - lat.mean(axis=0)), axis=0)
    cum = np.stack([_empida(lat, fac[:, k], diff_quantile) for k in range(fac.shape[1])], 1)
    irs_active = 1.0 - cum / max_dev[:, None]
    scores = irs_active.max(axis=1)
    value = (
        float(np.average(scores, weights=max_dev)) if max_dev.sum() > 0 else float(np.mean(scores))
    )
    per_dim[active] = scores
    matrix[np.ix_(active, use)] = irs_active
    parents[active] = use[irs_active.argmax(axis=1)]
    return IRSResult(
        value=value,
        settings=data.settings,
        metric="irs",
        per_dim=per_dim,
        irs_matrix=matrix,
        parents=parents,
    )
