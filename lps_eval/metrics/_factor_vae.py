"""FactorVAE score (Kim & Mnih, ICML 2018) on arrays, disentanglement_lib variant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import check_positive_int
from lps_eval.metrics.common import SupervisedResult, not_computable, prepare, warn
from lps_eval.metrics.interventions import GroupSampler, intervention_support
from lps_eval.metrics.registry import register_metric

__all__ = ["FactorVAEResult", "factor_vae"]

_CHUNK = 1024


@dataclass(frozen=True, eq=False)
class FactorVAEResult(SupervisedResult):
    """``value`` = evaluation accuracy of the majority-vote classifier."""

    train_accuracy: float = float("nan")
    active_dims: np.ndarray | None = None
    votes: np.ndarray | None = None


def _votes(z, sampler, n_points, batch_size, n_factors, scale, rng):
    """(factors x active dims) vote counts of ``n_points`` fixed-factor batches."""
    votes = np.zeros((n_factors, z.shape[1]), dtype=np.int64)
    for lo in range(0, n_points, _CHUNK):
        m = min(_CHUNK, n_points - lo)
        k = rng.integers(n_factors, size=m)
        anchor = rng.integers(z.shape[0], size=m)
        kk = np.repeat(k[:, None], batch_size - 1, axis=1)
        others = sampler.same_value(kk, np.repeat(anchor[:, None], batch_size - 1, 1), rng)
        rows = np.concatenate([anchor[:, None], others], axis=1)
        local = z[rows].var(axis=1, ddof=1)
        np.add.at(votes, (k, np.argmin(local / scale, axis=1)), 1)
    return votes


@register_metric(
    rows=("factor_vae",),
    properties=("unit_interval", "interventional", "approx_sample_order", "exact_latent_order"),
)
def factor_vae(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    num_variance_estimate: int = 10000,
    prune_threshold: float = 0.05,
    min_rows: int = 2,
) -> FactorVAEResult:
    """FactorVAE disentanglement score: majority-vote accuracy of "which factor was fixed"
    from the latent with the smallest normalized variance.

    Global variances :math:`s_j^2` (ddof 1) come from ``num_variance_estimate`` rows drawn
    at random; latents with :math:`s_j <` ``prune_threshold`` are pruned. Each vote: pick a
    factor :math:`k` uniformly and a row; draw ``batch_size - 1`` more rows sharing its
    value of :math:`v_k`; vote for :math:`(k, \\arg\\min_j \\widehat{\\mathrm{Var}}(z_j)/s_j^2)`
    over active latents. The classifier maps each latent to its majority factor; the
    score is the fraction of ``num_eval`` fresh votes it gets right.

    Parameters
    ----------
    z, factors : array-like, rows = samples
        Factors must be discrete (integer-valued), ideally a full product grid.
    z_test, factors_test : ignored (fresh votes are drawn for evaluation)
    seed : int
    batch_size, num_train, num_eval, num_variance_estimate : int
        Study defaults 64 / 10000 / 5000 / 10000.
    prune_threshold : float, default 0.05
        Study default (disentanglement_lib's code default is 0; the study config sets 0.05).
    min_rows : int, default 2
        Fewest rows each factor value needs (a fixed-factor batch needs variance).

    Returns
    -------
    FactorVAEResult
        NaN with ``reason`` when the factors cannot support interventions; 0 when every
        latent is pruned (disentanglement_lib's convention, with a warning).

    References
    ----------
    Kim, Mnih, "Disentangling by Factorising", ICML 2018; disentanglement_lib
    ``factor_vae``.
    """
    for name, val in (
        ("batch_size", batch_size),
        ("num_train", num_train),
        ("num_eval", num_eval),
        ("num_variance_estimate", num_variance_estimate),
    ):
        check_positive_int(val, name=name, minimum=2)
    min_rows = check_positive_int(min_rows, name="min_rows")
    data = prepare(
        "factor_vae",
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        needs_test=False,
        num_train=None,
        params={
            "batch_size": batch_size,
            "num_train": num_train,
            "num_eval": num_eval,
            "num_variance_estimate": num_variance_estimate,
            "prune_threshold": float(prune_threshold),
            "min_rows": min_rows,
        },
    )
    settings = data.settings
    reason, info = intervention_support(data.factors, min_rows=min_rows)
    settings.update(info)
    if reason:
        return not_computable("factor_vae", reason, settings, FactorVAEResult)
    rng = data.rng
    rows = rng.integers(data.z.shape[0], size=num_variance_estimate)
    global_var = data.z[rows].var(axis=0, ddof=1)
    active = np.sqrt(global_var) >= prune_threshold
    settings["active_dims"] = np.flatnonzero(active).tolist()
    if not active.any():
        warn("factor_vae: every latent has std below prune_threshold; score 0")
        return FactorVAEResult(
            value=0.0,
            settings=settings,
            metric="factor_vae",
            train_accuracy=0.0,
            active_dims=active,
        )
    sampler = GroupSampler.from_factors(data.factors)
    k = data.factors.shape[1]
    z_act = data.z[:, active]
    scale = global_var[active]
    train = _votes(z_act, sampler, num_train, batch_size, k, scale, rng)
    classifier = np.argmax(train, axis=0)
    cols = np.arange(train.shape[1])
    evaluation = _votes(z_act, sampler, num_eval, batch_size, k, scale, rng)
    return FactorVAEResult(
        value=float(evaluation[classifier, cols].sum() / evaluation.sum()),
        settings=settings,
        metric="factor_vae",
        train_accuracy=float(train[classifier, cols].sum() / train.sum()),
        active_dims=active,
        votes=train,
    )
