"""Z-max-var (Kim, Wang, Sahu, Pavlovic 2019, as the Ubisoft La Forge reference computes it):
majority vote on the latent with the largest normalized variance when only one factor
varies."""

from __future__ import annotations

from typing import Any

from lps_eval._validation import check_positive_int
from lps_eval.metrics._z_min_var import VarianceVoteResult, check_vote_options, vote_result
from lps_eval.metrics.batches import binned_factor_codes, combination_groups
from lps_eval.metrics.common import not_computable, prepare
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.registry import register_metric

__all__ = ["z_max_var"]


@register_metric(
    rows=("z_max_var",),
    properties=(
        "interventional",
        "approx_sample_order",
        "exact_latent_order",
        # declaration fixed: a pure-noise latent keeps a normalized variance near 1 in every
        # batch, as the varying factor's latent does, so it wins votes (Kim et al. 2019 prune
        # such latents by relevance first): noise latents lower the score
        "nuisance_penalized",
    ),
    needs=("two_factors",),  # it names which factor a batch fixed: one factor is no choice
    interval=IntervalPlan(unit="seeds", n_boot=50),
)
def z_max_var(
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
    n_bins: int = 3,
    scale: bool = True,
) -> VarianceVoteResult:
    """Z-max-var: vary one factor, hold every other fixed, vote for the latent that moves most.

    As :func:`~lps_eval.metrics.z_min_var`, except that a batch for factor :math:`k` holds
    the *other* factors fixed: it is ``batch_size`` rows sharing one combination of the
    other factors' values (chosen uniformly among the combinations with at least two
    rows), and it votes :math:`(\\arg\\max_j \\widehat{\\mathrm{Var}}(z_j) / s_j^2, k)`.

    Parameters
    ----------
    z, factors : array-like, rows = samples
    z_test, factors_test : ignored
    seed : int
    batch_size, num_train, num_eval, num_variance_estimate : int
        The reference's defaults 200 / 800 / 800 / 10000.
    prune_threshold : float, default 0.05
    continuous_factors : {"auto", True, False}, default "auto"
    n_bins : int, default 3
        Bins of a binned factor (the reference's default for Z-max-var: combinations of
        several factors need coarse bins to repeat).
    scale : bool, default True

    Returns
    -------
    VarianceVoteResult
        NaN with ``reason`` when, for some factor, no combination of the other factors
        occurs twice (common for many factors sampled at random rather than on a grid),
        or every latent is pruned. A combination with fewer rows than ``batch_size`` is
        cycled through (its rows repeat in the batch), as the reference does.

    References
    ----------
    Kim, Wang, Sahu, Pavlovic, "Relevance Factor VAE: Learning and Identifying
    Disentangled Factors", arXiv:1902.01568, 2019. Carbonneau, Zaidi, Boilard, Gagnon,
    "Measuring Disentanglement: A Review of Metrics", IEEE TNNLS 2022.
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
        "z_max_var",
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
        metric="z_max_var",
    )
    if codes.shape[1] < 2:
        return not_computable(
            "z_max_var", "needs at least 2 factors to classify", data.settings, VarianceVoteResult
        )
    groups = [combination_groups(codes, j) for j in range(codes.shape[1])]
    empty = [j for j, g in enumerate(groups) if len(g) == 0]
    if empty:
        return not_computable(
            "z_max_var",
            f"for factor(s) {empty} no combination of the other factors' values occurs in "
            "two rows; pass rows from a factor grid, or lower n_bins for real-valued factors",
            data.settings,
            VarianceVoteResult,
        )
    return vote_result("z_max_var", data, groups, pick="max", options=options)
