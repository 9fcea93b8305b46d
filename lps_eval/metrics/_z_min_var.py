"""Z-min-var (the FactorVAE score as the Ubisoft La Forge reference computes it, from binned
arrays): majority vote on the latent with the smallest normalized variance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import check_positive_int
from lps_eval.metrics.batches import (
    binned_factor_codes,
    scaled_accuracy,
    value_groups,
    variance_votes,
    vote_accuracy,
)
from lps_eval.metrics.common import Prepared, SupervisedResult, not_computable, prepare
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.registry import register_metric

__all__ = ["VarianceVoteResult", "global_variance", "z_min_var"]


@dataclass(frozen=True, eq=False)
class VarianceVoteResult(SupervisedResult):
    """``value`` = majority-vote accuracy (rescaled to chance 0 / perfect 1 when ``scale``)."""

    accuracy: float = float("nan")
    train_accuracy: float = float("nan")
    active_dims: np.ndarray | None = None
    votes: np.ndarray | None = None


def global_variance(data: Prepared, num_variance_estimate: int) -> np.ndarray:
    """Per-latent variance (ddof 1) of ``num_variance_estimate`` rows drawn without
    replacement (all rows when there are fewer), as the reference estimates it."""
    n = data.z.shape[0]
    rows = data.rng.permutation(n)[: min(n, num_variance_estimate)]
    return data.z[rows].var(axis=0, ddof=1)


def check_vote_options(**options: int) -> None:
    """Validate the integer options shared by Z-min-var and Z-max-var."""
    for name, value in options.items():
        check_positive_int(value, name=name, minimum=2 if name != "num_eval" else 1)


def vote_result(metric, data, groups, *, pick, options) -> VarianceVoteResult:
    """The shared body of Z-min-var / Z-max-var after the groups are known."""
    settings = data.settings
    var = global_variance(data, options["num_variance_estimate"])
    active = np.sqrt(var) >= options["prune_threshold"]
    settings["active_dims"] = np.flatnonzero(active).tolist()
    if not active.any():
        return not_computable(
            metric, "every latent has std below prune_threshold", settings, VarianceVoteResult
        )
    z_act, var_act = data.z[:, active], var[active]
    counts = (options["num_train"], options["num_eval"])
    train, evaluation = variance_votes(
        z_act, groups, counts, options["batch_size"], var_act, data.rng, pick=pick
    )
    train_acc, acc = vote_accuracy(train, evaluation)
    k = len(groups)
    scale = options["scale"]
    return VarianceVoteResult(
        value=scaled_accuracy(acc, k) if scale else acc,
        settings=settings,
        metric=metric,
        accuracy=acc,
        train_accuracy=scaled_accuracy(train_acc, k) if scale else train_acc,
        active_dims=active,
        votes=train,
    )


@register_metric(
    rows=("z_min_var",),
    properties=(
        "interventional",
        "approx_sample_order",
        "exact_latent_order",
        "nuisance_invariant",
    ),
    needs=("two_factors",),  # it names which factor a batch fixed: one factor is no choice
    interval=IntervalPlan(unit="seeds", n_boot=50),
)
def z_min_var(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    batch_size: int = 200,
    num_train: int = 800,
    num_eval: int = 800,
    num_variance_estimate: int = 10000,
    prune_threshold: float = 0.05,
    continuous_factors: str | bool = "auto",
    n_bins: int = 10,
    scale: bool = True,
) -> VarianceVoteResult:
    """Z-min-var: the FactorVAE score computed from (binned) factor arrays.

    Global variances :math:`s_j^2` (ddof 1) come from ``num_variance_estimate`` rows drawn
    without replacement; latents with :math:`s_j <` ``prune_threshold`` are pruned. Each
    vote: a factor :math:`k` uniformly, a value of :math:`v_k` uniformly among those with
    at least two rows, ``batch_size`` rows with that value; it votes
    :math:`(\\arg\\min_j \\widehat{\\mathrm{Var}}(z_j) / s_j^2, k)` over active latents. Each
    latent is mapped to its majority factor over ``num_train`` votes; the score is the
    accuracy on ``num_eval`` fresh votes, rescaled as :math:`(\\mathrm{acc} - 1/K)/(1 - 1/K)`
    when ``scale``.

    Differences from :func:`~lps_eval.metrics.factor_vae` (disentanglement_lib's variant):
    the fixed value is uniform over the usable values, the batches of one value are
    filled from consecutive reshuffled passes over its rows (training batches first,
    :func:`~lps_eval.metrics.batches.stream_rows`), 200 rows per batch, 800 / 800 votes,
    and the accuracy is rescaled.

    Parameters
    ----------
    z, factors : array-like, rows = samples
    z_test, factors_test : ignored (fresh votes are drawn for evaluation)
    seed : int
    batch_size, num_train, num_eval, num_variance_estimate : int
        The reference's defaults 200 / 800 / 800 / 10000.
    prune_threshold : float, default 0.05
    continuous_factors : {"auto", True, False}, default "auto"
        As in :func:`~lps_eval.metrics.z_diff`.
    n_bins : int, default 10
    scale : bool, default True

    Returns
    -------
    VarianceVoteResult
        NaN with ``reason`` when a factor has no value shared by two rows or every latent
        is pruned.

    References
    ----------
    Kim, Mnih, "Disentangling by Factorising", ICML 2018. Carbonneau, Zaidi, Boilard,
    Gagnon, "Measuring Disentanglement: A Review of Metrics", IEEE TNNLS 2022 (Z-min
    Variance; reference code ``ubisoft-laforge-disentanglement-metrics``).
    """
    options = dict(
        batch_size=batch_size,
        num_train=num_train,
        num_eval=num_eval,
        num_variance_estimate=num_variance_estimate,
    )
    check_vote_options(**options)
    n_bins = check_positive_int(n_bins, name="n_bins", minimum=2)
    options.update(
        prune_threshold=float(prune_threshold),
        continuous_factors=continuous_factors,
        n_bins=n_bins,
        scale=bool(scale),
    )
    data = prepare(
        "z_min_var",
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        needs_test=False,
        num_train=None,
        params=dict(options),
    )
    codes = binned_factor_codes(
        data.factors[:, data.usable()],  # constant / ID-like factors left out
        continuous_factors=continuous_factors,
        n_bins=n_bins,
        metric="z_min_var",
    )
    if codes.shape[1] < 2:
        return not_computable(
            "z_min_var", "needs at least 2 factors to classify", data.settings, VarianceVoteResult
        )
    groups = [value_groups(codes[:, j]) for j in range(codes.shape[1])]
    empty = [j for j, g in enumerate(groups) if len(g) == 0]
    if empty:
        return not_computable(
            "z_min_var",
            f"factor(s) {empty} have no value shared by two rows (lower n_bins, or pass more rows)",
            data.settings,
            VarianceVoteResult,
        )
    return vote_result("z_min_var", data, groups, pick="min", options=options)
