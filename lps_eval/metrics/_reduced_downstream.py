r"""Reduced downstream: how much is left of a factor once its most important latents are
removed, and how much the other factors suffer.

For each training size :math:`n` and each factor of interest :math:`v_k`: remove from the
codes the latent with the largest DCI importance for :math:`v_k` (``num_remove`` times,
recomputing the importance after each removal, as disentanglement_lib does); train one
probe per factor on the reduced codes and score it on held-out rows. Two numbers:

- ``reduced_downstream``: mean over :math:`k` of the test accuracy of :math:`v_k` itself
  after the removal. Low when each factor lives in few latents (a compact, disentangled
  code); high when it leaks into many.
- ``reduced_downstream_other``: mean over :math:`k` of the mean test accuracy of the other
  factors after the removal. High when removing :math:`v_k`'s latents leaves the others
  intact (a modular code).

Importance: ``abs(feature_importances_)`` of one ``GradientBoostingClassifier`` per factor
(disentanglement_lib's ``compute_importance_gbt``, seeded here). Arrays only: no
interventions needed.

Reference: disentanglement_lib ``evaluation/metrics/reduced_downstream_task.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import check_positive_int
from lps_eval.metrics.classifier_probes import (
    check_probe,
    check_sizes,
    fit_probe,
    probe_accuracies,
    split_pools,
)
from lps_eval.metrics.common import (
    SupervisedResult,
    finite_mean,
    not_computable,
    seed_int,
    warn,
)
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.registry import register_metric
from lps_eval.results import make_row

__all__ = ["ReducedDownstreamResult", "gbt_importance", "reduced_downstream"]


@dataclass(frozen=True, eq=False)
class ReducedDownstreamResult(SupervisedResult):
    """Accuracies after removing each factor's most important latents.

    Attributes
    ----------
    value : float
        ``reduced_downstream`` at ``headline_size``: mean accuracy of the reduced factor.
    other : float
        ``reduced_downstream_other`` at ``headline_size``.
    sizes : tuple of int
    accuracy : ndarray of shape (n_sizes, K, K)
        ``[s, k, j]``: test accuracy of factor ``j`` with factor ``k``'s latents removed
        (NaN for a factor left out: constant or ID-like).
    removed : ndarray of shape (n_sizes, K, num_remove)
        Original indices of the removed latents.
    """

    probe: str = ""
    other: float = math.nan
    sizes: tuple[int, ...] = ()
    accuracy: np.ndarray | None = None
    removed: np.ndarray | None = None
    headline_size: int | None = None

    def rows(self) -> list[dict[str, Any]]:
        extra = {"probe": self.probe, "num_train": self.headline_size}
        reason = {"reason": self.reason} if self.reason else {}
        rows = [
            make_row("reduced_downstream", self.value, **extra, **reason),
            make_row("reduced_downstream_other", self.other, **extra, **reason),
        ]
        if self.accuracy is None:
            return rows
        k = self.accuracy.shape[1]
        for s, size in reversed(list(enumerate(self.sizes))):  # largest first
            acc = self.accuracy[s]
            rows += [
                make_row(
                    "reduced_downstream_test_accuracy",
                    acc[f, f],
                    scope="factor",
                    factor=f,
                    probe=self.probe,
                    num_train=size,
                    other_factors_accuracy=finite_mean(np.delete(acc[f], f)),
                )
                for f in range(k)
            ]
        return rows


def gbt_importance(x: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """(latents x factors) ``abs(feature_importances_)`` of one GBT per factor column."""
    out = np.zeros((x.shape[1], y.shape[1]))
    for j in range(y.shape[1]):
        model = fit_probe("gbt", x, y[:, j], seed, metric="reduced_downstream")
        out[:, j] = np.abs(getattr(model, "feature_importances_", 0.0))
    return out


def _reduced_at(x, y, xt, yt, *, probe, num_remove, seed, first_importance):
    """(K x K accuracies, K x num_remove removed latent indices) at one training size."""
    k = y.shape[1]
    acc = np.zeros((k, k))
    removed = np.zeros((k, num_remove), dtype=np.int64)
    for f in range(k):
        keep = np.arange(x.shape[1])
        importance = first_importance
        for r in range(num_remove):
            if r:  # disentanglement_lib recomputes the importance on the reduced codes
                importance = gbt_importance(x[:, keep], y, seed)
            drop = int(np.argmax(importance[:, f]))
            removed[f, r] = keep[drop]
            keep = np.delete(keep, drop)
        acc[f] = probe_accuracies(
            probe, x[:, keep], y, xt[:, keep], yt, seed, metric="reduced_downstream"
        )[1]
    return acc, removed


@register_metric(
    rows=("reduced_downstream", "reduced_downstream_other"),
    properties=(
        "unit_interval",
        "exact_sample_order",
        "exact_latent_order",
        "uses_test_split",
        "nuisance_invariant",
    ),
    default=False,
    interval=IntervalPlan(unit="half_rows", n_boot=10),
    # Lower is more compact, but codes that carry nothing are low too (chance): the row
    # qualifies the score, which is "other" (high only when the other factors survive).
    row_properties={"reduced_downstream": ("companion",)},
    needs={
        "reduced_downstream": ("two_latents", "test_split"),
        "reduced_downstream_other": ("two_factors", "two_latents", "test_split"),
    },
)
def reduced_downstream(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    probe: str = "gbt",
    num_train: Sequence[int] | int = (100, 1000),
    num_test: int = 5000,
    num_remove: int = 1,
) -> ReducedDownstreamResult:
    """Factor accuracies after removing each factor's most important latents.

    Parameters
    ----------
    z, factors : array-like, rows = samples
    z_test, factors_test : array-like, optional
        Held-out rows (without them a seeded third is held out).
    seed : int
    probe : {"gbt", "logistic", "fast_gbt"}, default "gbt"
        Probe of the reduced codes (disentanglement_lib's test configuration: GBT). The
        importance is always GBT's.
    num_train : int or sequence of int, default (100, 1000)
        Training sizes (nested prefixes of one seeded draw order); a size larger than the
        training rows gets NaN.
    num_test : int, default 5000
    num_remove : int, default 1
        Latents removed per factor (fewer than the number of latents).

    Returns
    -------
    ReducedDownstreamResult
        Rows ``reduced_downstream``, ``reduced_downstream_other`` at the largest size that
        fits (``num_train`` column), and per factor and size
        ``reduced_downstream_test_accuracy`` rows (with ``other_factors_accuracy``).
    """
    probe = check_probe(probe)
    sizes = check_sizes(num_train)
    num_test = check_positive_int(num_test, name="num_test")
    num_remove = check_positive_int(num_remove, name="num_remove")
    params = {
        "probe": probe,
        "num_train": list(sizes),
        "num_test": num_test,
        "num_remove": num_remove,
    }
    pools = split_pools(
        "reduced_downstream",
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        sample="random",
        params=params,
    )
    settings = pools.data.settings
    d = pools.x.shape[1]
    if num_remove >= d:
        why = f"num_remove={num_remove} would remove all {d} latents; pass at most {d - 1}"
        return not_computable("reduced_downstream", why, settings, ReducedDownstreamResult)
    k = pools.y.shape[1]
    acc = np.full((len(sizes), k, k), math.nan)
    removed = np.full((len(sizes), k, num_remove), -1, dtype=np.int64)
    xt, yt = pools.xt[:num_test], pools.yt[:num_test]
    seed_probe = seed_int(pools.data.rng)
    fitted = [n for n in sizes if n <= pools.x.shape[0]]
    for n in fitted:
        s = sizes.index(n)
        x, y = pools.x[:n], pools.y[:n]
        first = gbt_importance(x, y, seed_probe)  # the same for every factor of interest
        acc[s], removed[s] = _reduced_at(
            x,
            y,
            xt,
            yt,
            probe=probe,
            num_remove=num_remove,
            seed=seed_probe,
            first_importance=first,
        )
        removed[s] = pools.columns[removed[s]]
    headline = fitted[-1] if fitted else None
    settings["headline_size"] = headline
    if headline is None:
        why = f"the smallest size {sizes[0]} exceeds the {pools.x.shape[0]} training rows"
        return not_computable("reduced_downstream", why, settings, ReducedDownstreamResult)
    if headline < sizes[-1]:
        warn(f"reduced_downstream: sizes above {headline} exceed the training rows (NaN rows)")
    at = acc[sizes.index(headline)]
    off = ~np.eye(k, dtype=bool)
    other = float(np.mean([at[f][off[f]].mean() for f in range(k)])) if k > 1 else math.nan
    return ReducedDownstreamResult(
        value=float(np.mean(np.diag(at))),
        settings=settings,
        metric="reduced_downstream",
        probe=probe,
        other=other,
        sizes=sizes,
        accuracy=pools.widen(acc, axes=(1, 2)),
        removed=pools.widen(removed, axes=(1,), fill=-1),
        headline_size=headline,
    )
