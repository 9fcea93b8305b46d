"""Mutual Information Gap (Chen et al., NeurIPS 2018), disentanglement_lib's discrete estimator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError, check_positive_int
from lps_eval.information import (
    entropy,
    histogram_discretize,
    ksg_mutual_info_matrix,
    mutual_info_matrix,
    row_rank,
    to_codes,
)
from lps_eval.metrics.common import (
    SupervisedResult,
    discrete_factor_codes,
    masked_mean,
    prepare,
    top_two_gap,
)
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.registry import register_metric
from lps_eval.options import renamed_keywords

__all__ = ["DISCRETIZERS", "MIGResult", "mig"]

#: ``discretizer`` choices and their peer: how the latents enter the mutual information.
DISCRETIZERS = {
    "histogram": "20 equal-width bins over each latent's range (disentanglement_lib's default)",
    "identity": "latents taken as already-discrete codes (disentanglement_lib's "
    "identity_discretizer)",
    "ksg": "no discretization: kNN estimator (Kraskov et al. 2004 family; Ross 2014 for "
    "a continuous latent and a discrete factor; scikit-learn's mutual_info_classif)",
}
#: Tag of the tie-breaking noise stream of the kNN estimator.
STREAM_KSG = 0x6B7367


@dataclass(frozen=True, eq=False)
class MIGResult(SupervisedResult):
    """MIG with its per-factor gaps, the (dims x factors) MI matrix and factor entropies."""

    mutual_info: np.ndarray | None = None
    factor_entropy: np.ndarray | None = None


def _identity_codes(z: np.ndarray) -> np.ndarray:
    """Latents as given codes; refuses a latent whose values are nearly all distinct."""
    for j in range(z.shape[1]):
        _, counts = np.unique(z[:, j], return_counts=True)
        if 2 * int(counts[counts == 1].sum()) > z.shape[0]:
            raise LpsInputError(
                f"mig: discretizer='identity' takes the latents as already-discrete codes, but "
                f"latent {j} has {counts.size} distinct values in {z.shape[0]} rows (each "
                "would be its own class); use discretizer='histogram' (default) or 'ksg'"
            )
    return to_codes(z)[0]


def _int_seed(seed: Any) -> int:
    """The tie-breaking noise's seed: the metric's integer seed (0 for a Generator)."""
    return int(seed) if isinstance(seed, (int, np.integer)) else 0


def _mutual_info(data, fac, *, discretizer: str, n_bins: int, n_neighbors: int, seed: int):
    if discretizer == "histogram":
        return mutual_info_matrix(histogram_discretize(data.z, n_bins), fac)
    if discretizer == "identity":
        return mutual_info_matrix(_identity_codes(data.z), fac)
    # tie-breaking noise follows the values and the factors, not the row order
    return ksg_mutual_info_matrix(
        data.z, fac, discrete=True, k=n_neighbors, seed=_int_seed(seed), row_keys=row_rank(fac)
    )


@register_metric(
    rows=("mig",),
    properties=(
        "unit_interval",
        "exact_sample_order",
        "exact_latent_order",
        "exact_latent_affine",
        "rotation_sensitive",
        "nuisance_invariant",
    ),
    needs=("two_latents",),
    interval=IntervalPlan(
        unit=lambda o: "half_rows" if o.get("discretizer") == "ksg" else "rows", n_boot=200
    ),
    reference="Chen et al., NeurIPS 2018; disentanglement_lib 1.5 (_compute_mig)",
)
@renamed_keywords(num_bins="n_bins")
def mig(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    n_bins: int = 20,
    num_train: int | None = 10000,
    discretizer: str = "histogram",
    n_neighbors: int = 3,
) -> MIGResult:
    """Mutual Information Gap.

    .. math::
        \\mathrm{MIG} = \\frac{1}{K} \\sum_{k=1}^{K}
        \\frac{I(z_{j^{(1)}_k}; v_k) - I(z_{j^{(2)}_k}; v_k)}{H(v_k)}

    where :math:`j^{(1)}_k, j^{(2)}_k` are the latents with the largest and second
    largest mutual information with factor :math:`v_k`. By default latents are discretized
    into ``n_bins`` equal-width bins over their sample range; integer factors are used as
    given; MI and entropy are plug-in estimates in nats (disentanglement_lib's
    ``_compute_mig``; identical numbers on identical arrays).

    Parameters
    ----------
    z : array-like of shape (n_samples, n_dims)
        Latent codes, rows = samples.
    factors : array-like of shape (n_samples, n_factors)
        Ground-truth factors. Non-integer factors are binned like the latents (warning).
    z_test, factors_test : ignored
        MIG has no test split (a warning says so when they are passed).
    seed : int
        Seed of the subsample when there are more than ``num_train`` rows (and of the
        kNN estimator's tie-breaking noise).
    n_bins : int, default 20
        Histogram bins per latent (study default).
    num_train : int or None, default 10000
        Rows used (study default); None uses all.
    discretizer : {"histogram", "identity", "ksg"}, default "histogram"
        How the latents enter :math:`I(z_j; v_k)` (:data:`DISCRETIZERS`): disentanglement_lib's
        20-bin histogram; the latents as already-discrete codes (its
        ``identity_discretizer``; a latent with nearly all values distinct is refused); or
        the kNN estimator :func:`lps_eval.information.ksg_mutual_info_matrix` (no bins,
        ``n_neighbors`` neighbours; scikit-learn's ``mutual_info_classif``). :math:`H(v_k)`
        is the plug-in entropy of the factor codes in every case.
    n_neighbors : int, default 3
        Neighbours of the kNN estimator (scikit-learn's default); ``"ksg"`` only.
    n_boot, confidence : int, float, default 200, 0.95
        Interval (registry): bootstrap of the rows (half-samples for ``"ksg"``, whose
        distances duplicated rows would zero), basic interval; 0 = none.

    Returns
    -------
    MIGResult
        ``value`` = MIG; ``per_factor`` = normalized gap of each factor (rows with scope
        ``"factor"``); a factor with a single value (``H(v_k) = 0``) gets NaN and is left
        out of the mean, with a warning (disentanglement_lib returns NaN overall). NaN with
        a reason when fewer than two latents vary (there is no gap to take).

    References
    ----------
    Chen, Li, Grosse, Duvenaud, "Isolating Sources of Disentanglement in VAEs",
    NeurIPS 2018. Locatello et al., "Challenging Common Assumptions...", ICML 2019
    (disentanglement_lib). Kraskov, Stögbauer, Grassberger, "Estimating mutual
    information", Phys. Rev. E 69, 2004; Ross, "Mutual Information between Discrete and
    Continuous Data Sets", PLoS ONE 9(2), 2014.

    Notes
    -----
    Finite-sample bias: perfectly aligned latents score slightly below 1 (about 0.996
    on 10,000 samples of dSprites-like factors).
    """
    if discretizer not in DISCRETIZERS:
        raise LpsInputError(
            f"mig: discretizer must be one of {sorted(DISCRETIZERS)}, got {discretizer!r}"
        )
    n_bins = check_positive_int(n_bins, name="n_bins", minimum=2)
    n_neighbors = check_positive_int(n_neighbors, name="n_neighbors")
    params = {"n_bins": n_bins, "discretizer": discretizer}
    if discretizer == "ksg":
        params["n_neighbors"] = n_neighbors
    data = prepare(
        "mig",
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        needs_test=False,
        num_train=num_train,
        params=params,
    )
    fac, _, _ = discrete_factor_codes(data.factors, None, n_bins=n_bins, metric="mig")
    mi = _mutual_info(
        data, fac, discretizer=discretizer, n_bins=n_bins, n_neighbors=n_neighbors, seed=seed
    )
    h = entropy(fac)
    gap = top_two_gap(mi, axis=0)
    ok = data.usable() & (h > 0)
    per_factor = np.full(h.shape, np.nan)
    per_factor[ok] = gap[ok] / h[ok]
    return MIGResult(
        value=masked_mean(per_factor, ok),
        settings=data.settings,
        metric="mig",
        per_factor=per_factor,
        mutual_info=mi,
        factor_entropy=h,
    )
