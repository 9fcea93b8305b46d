"""FactorVAE score (Kim & Mnih, ICML 2018) on arrays, disentanglement_lib variant."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import check_positive_int
from lps_eval.metrics.common import (
    MetricUndefined,
    SupervisedResult,
    current_call,
    not_computable,
    prepare,
)
from lps_eval.metrics.intervals import IntervalPlan
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
    """(factors x active dims) vote counts of ``n_points`` fixed-factor batches, and every
    vote as ``(factor, latent)`` in the order it was drawn."""
    votes = np.zeros((n_factors, z.shape[1]), dtype=np.int64)
    drawn = np.empty((n_points, 2), dtype=np.int64)
    for lo in range(0, n_points, _CHUNK):
        m = min(_CHUNK, n_points - lo)
        k = rng.integers(n_factors, size=m)
        anchor = rng.integers(z.shape[0], size=m)
        kk = np.repeat(k[:, None], batch_size - 1, axis=1)
        others = sampler.same_value(kk, np.repeat(anchor[:, None], batch_size - 1, 1), rng)
        rows = np.concatenate([anchor[:, None], others], axis=1)
        local = z[rows].var(axis=1, ddof=1)
        choice = np.argmin(local / scale, axis=1)
        np.add.at(votes, (k, choice), 1)
        drawn[lo : lo + m, 0], drawn[lo : lo + m, 1] = k, choice
    return votes, drawn


def _resampled_tables(request, drawn: np.ndarray, shape: tuple, tag: int) -> np.ndarray:
    """Vote tables ``(B, factors, latents)`` of bootstrap resamples of the drawn votes
    (resampled by draw, so a permutation of the latents permutes the tables only)."""
    weights = request.multiplicities(len(drawn), tag=tag)
    cell = drawn[:, 0] * shape[1] + drawn[:, 1]
    size = shape[0] * shape[1]
    tables = np.stack([np.bincount(cell, weights=w, minlength=size) for w in weights])
    return tables.reshape(-1, *shape)


def _vote_replicates(request, train, evaluation, shape) -> np.ndarray:
    """Accuracy on bootstrap resamples of the training and evaluation votes, the majority
    classifier rebuilt from each resampled training table."""
    tb = _resampled_tables(request, train, shape, 0)
    eb = _resampled_tables(request, evaluation, shape, 1)
    classifier = tb.argmax(axis=1)  # (B, latents)
    hits = np.take_along_axis(eb, classifier[:, None, :], axis=1)[:, 0, :].sum(axis=1)
    return hits / len(evaluation)


@register_metric(
    rows=("factor_vae",),
    properties=(
        "unit_interval",
        "interventional",
        "approx_sample_order",
        "exact_latent_order",
        "exact_latent_affine",
        "rotation_sensitive",
        "nuisance_invariant",
    ),
    needs=("two_factors", "two_latents"),
    interval=IntervalPlan(unit="draws", n_boot=200),
    reference="Kim & Mnih, ICML 2018; disentanglement_lib 1.5 (factor_vae)",
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
    n_boot, confidence : int, float, default 200, 0.95
        Interval (registry): bootstrap of the drawn votes on the same rows (on a full grid
        the sampler is the only randomness): training and evaluation votes resampled, the
        majority classifier rebuilt; basic interval; 0 = none.

    Returns
    -------
    FactorVAEResult
        NaN with ``reason`` when the factors cannot support interventions, when fewer than
        two factors are usable, or when fewer than two latents survive pruning (the vote
        then has no choice: disentanglement_lib returns 0 when every latent is pruned).

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
    factors_used = data.factors[:, data.usable()]
    reason, info = intervention_support(factors_used, min_rows=min_rows)
    settings.update(info)
    if reason:
        return not_computable("factor_vae", reason, settings, FactorVAEResult)
    rng = data.rng
    rows = rng.integers(data.z.shape[0], size=num_variance_estimate)
    global_var = data.z[rows].var(axis=0, ddof=1)
    active = np.sqrt(global_var) >= prune_threshold
    settings["active_dims"] = np.flatnonzero(active).tolist()
    if active.sum() < 2:
        raise MetricUndefined(
            f"{int(active.sum())} latent(s) have a standard deviation of at least "
            f"prune_threshold={prune_threshold:g}, so the vote has no latent to choose "
            "between; rescale the codes (e.g. z / z.std(axis=0)) or lower prune_threshold",
            settings,
        )
    sampler = GroupSampler.from_factors(factors_used)
    k = factors_used.shape[1]
    z_act = data.z[:, active]
    scale = global_var[active]
    train, train_votes = _votes(z_act, sampler, num_train, batch_size, k, scale, rng)
    classifier = np.argmax(train, axis=0)
    cols = np.arange(train.shape[1])
    evaluation, eval_votes = _votes(z_act, sampler, num_eval, batch_size, k, scale, rng)
    call = current_call()
    if call is not None and call.request is not None:
        reps = _vote_replicates(call.request, train_votes, eval_votes, train.shape)
        call.replicates = {("factor_vae", "overall", None, None): reps}
    return FactorVAEResult(
        value=float(evaluation[classifier, cols].sum() / evaluation.sum()),
        settings=settings,
        metric="factor_vae",
        train_accuracy=float(train[classifier, cols].sum() / train.sum()),
        active_dims=active,
        votes=train,
    )
