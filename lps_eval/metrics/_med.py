"""MED and top-k MED (Cao et al., NeurIPS 2022): DCI disentanglement on a mutual-information
importance matrix, and on the k most disentangled latents of each factor."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import check_positive_int
from lps_eval.information import entropy, mutual_info_matrix
from lps_eval.metrics._dci import dci_from_importance
from lps_eval.metrics.common import (
    SupervisedResult,
    not_computable,
    prepare_discretized,
    warn,
)
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.registry import register_metric
from lps_eval.results import indexed_rows, make_row

__all__ = ["MEDResult", "med", "top_k_dims"]


@dataclass(frozen=True, eq=False)
class MEDResult(SupervisedResult):
    """MED (``value``), top-k MED, per-dim disentanglement, the importance matrix and the
    latents top-k MED kept."""

    med_topk: float = math.nan
    completeness: float = math.nan
    importance: np.ndarray | None = None
    topk_dims: tuple[int, ...] = ()

    def rows(self) -> list[dict[str, Any]]:
        rows = [make_row("med", self.value), make_row("med_topk", self.med_topk)]
        if self.per_dim is not None:
            rows += indexed_rows("med", self.per_dim, scope="dim")
        return rows


def top_k_dims(importance: np.ndarray, per_dim: np.ndarray, k: int) -> list[int]:
    """Top-k MED's selection: walk the latents from most to least disentangled, give each
    to the factor it matters most for, keep at most ``k`` per factor.

    The reference stops once every factor has been offered a latent beyond its ``k``;
    stopping or not keeps the same latents (a full factor takes no more), so the walk
    here simply visits every latent. Ties in disentanglement go to the lower index.
    """
    n_factors = importance.shape[1]
    owner = np.argmax(importance, axis=1)
    kept = [[] for _ in range(n_factors)]
    for dim in np.argsort(-per_dim, kind="stable"):
        if len(kept[owner[dim]]) < k:
            kept[owner[dim]].append(int(dim))
    return sorted(d for dims in kept for d in dims)


@register_metric(
    rows=("med", "med_topk"),
    properties=("unit_interval", "exact_sample_order", "exact_latent_order", "nuisance_invariant"),
    interval=IntervalPlan(unit="rows", n_boot=200),
)
def med(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    n_bins: int = 20,
    num_train: int | None = 10000,
    topk: int = 1,
) -> MEDResult:
    """Mutual-information-based Entropy Disentanglement (MED) and top-k MED.

    The importance of latent :math:`i` for factor :math:`j` is its share of the factor's
    mutual information, :math:`R_{ij} = I(z_i; v_j) / \\sum_{i'} I(z_{i'}; v_j)` (latents
    discretized into ``n_bins`` equal-width bins, plug-in MI, as MIG); MED is the DCI
    disentanglement of :math:`R` (:func:`~lps_eval.metrics.dci_from_importance`). Top-k
    MED keeps, for each factor, the ``topk`` most disentangled latents that matter most for
    it (:func:`top_k_dims`) and scores the disentanglement of those rows of :math:`R`:
    the measure meant for wide codes (hundreds of dimensions) where a few latents carry
    the factors and the rest dilute plain MED.

    Parameters
    ----------
    z, factors : array-like, rows = samples
    z_test, factors_test : ignored
    seed : int
        Seed of the subsample (more than ``num_train`` rows).
    n_bins : int, default 20
    num_train : int or None, default 10000
    topk : int, default 1
        Latents kept per factor by top-k MED (the reference's configuration).

    Returns
    -------
    MEDResult
        Rows ``med`` and ``med_topk`` (overall) and per-dim disentanglement. A factor with
        a single value, or that no latent shares information with, is left out (warning):
        its column of :math:`R` is 0/0 in the reference.

    References
    ----------
    Cao, Nai, Yang, Huang, Gao, "An Empirical Study on Disentanglement of Negative-free
    Contrastive Learning", NeurIPS 2022 (code ``noahcao/disentanglement_lib_med``).
    """
    topk = check_positive_int(topk, name="topk")
    data, codes, fac = prepare_discretized(
        "med", z, factors, z_test, factors_test, seed=seed, num_train=num_train, n_bins=n_bins
    )
    data.settings["topk"] = topk
    mi = mutual_info_matrix(codes, fac)
    total = mi.sum(axis=0)
    ok = (entropy(fac) > 0) & (total > 0)
    if not ok.any():
        return not_computable(
            "med", "no factor shares information with any latent", data.settings, MEDResult
        )
    if not ok.all():
        warn(
            f"med: factor(s) {np.flatnonzero(~ok).tolist()} share no information with any "
            "latent (or take a single value); left out"
        )
    importance = mi[:, ok] / total[ok]
    dis, com, per_dim, _ = dci_from_importance(importance)
    kept = top_k_dims(importance, per_dim, topk)
    top, _, _, _ = dci_from_importance(importance[kept])
    data.settings["topk_dims"] = kept
    data.settings["factors_used"] = np.flatnonzero(ok).tolist()
    return MEDResult(
        value=dis,
        settings=data.settings,
        metric="med",
        per_dim=per_dim,
        med_topk=top,
        completeness=com,
        importance=importance,
        topk_dims=tuple(kept),
    )
