"""Clusterability of an unlabelled code (latentverse's clustering test, with a null): the best
k-means silhouette over a range of k, against the same procedure on a Gaussian twin."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._random import make_rng
from lps_eval._validation import LpsInputError, check_bool, check_latents, check_positive_int
from lps_eval.metrics.probes import int_sequence
from lps_eval.results import MetricResult, make_row

__all__ = ["ClusterabilityResult", "clusterability"]


@dataclass(frozen=True, eq=False)
class ClusterabilityResult(MetricResult):
    """``value`` = best silhouette; the chosen k, the Gaussian twin's best silhouette, their
    difference, the Davies-Bouldin index at the chosen k, and the silhouette of every k."""

    best_k: int = 0
    null: float = math.nan
    davies_bouldin: float = math.nan
    silhouettes: dict[int, float] | None = None

    def rows(self) -> list[dict[str, Any]]:
        return [
            make_row("clusterability", self.value),
            make_row("clusterability_k", float(self.best_k)),
            make_row("clusterability_null", self.null),
            make_row("clusterability_excess", self.value - self.null),
            make_row("clusterability_davies_bouldin", self.davies_bouldin),
        ]


def _best_silhouette(x: np.ndarray, k_values: list[int], seed: int, n_init: int):
    """(best silhouette, its k, Davies-Bouldin at that k, silhouette per k) of k-means."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import davies_bouldin_score, silhouette_score
    from threadpoolctl import threadpool_limits

    scores: dict[int, float] = {}
    labels: dict[int, np.ndarray] = {}
    for k in k_values:
        # one OpenMP thread: deterministic, and no spinning threads on a busy machine
        with threadpool_limits(limits=1, user_api="openmp"):
            fit = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(x)
        if np.unique(fit.labels_).size < 2:
            continue  # degenerate partition (duplicate rows): no silhouette
        scores[k] = float(silhouette_score(x, fit.labels_))
        labels[k] = fit.labels_
    if not scores:
        return math.nan, 0, math.nan, scores
    best = max(scores, key=lambda k: (scores[k], -k))  # ties: the smaller k
    return scores[best], best, float(davies_bouldin_score(x, labels[best])), scores


def clusterability(
    z: Any,
    *,
    seed: int = 0,
    k_values: tuple[int, ...] = tuple(range(2, 11)),
    max_samples: int = 2000,
    standardize: bool = True,
    null: bool = True,
    n_init: int = 3,
) -> ClusterabilityResult:
    """How clustered an unlabelled code is: the best k-means silhouette, and a null.

    On at most ``max_samples`` rows (a seeded subsample), standardized per dimension when
    ``standardize``, k-means (``n_init`` seeded restarts) runs for every k in ``k_values``;
    the score is the best mean silhouette

    .. math:: s = \\max_k \\frac{1}{n}\\sum_i \\frac{b_i - a_i}{\\max(a_i, b_i)}

    (:math:`a_i` the mean distance to the own cluster, :math:`b_i` to the nearest other
    one; in [-1, 1]). k-means finds some partition in any cloud, so a single Gaussian
    blob scores well above 0; ``clusterability_null`` repeats the procedure on a Gaussian
    sample with the code's mean and covariance (seeded), and ``clusterability_excess`` =
    score - null is the part due to actual clusters (about 0 for unclustered codes).

    Parameters
    ----------
    z : array-like of shape (n_samples, n_dims)
    seed : int
    k_values : tuple of int, default 2..10
    max_samples : int, default 2000
        The silhouette costs O(n^2): rows beyond this are subsampled.
    standardize : bool, default True
    null : bool, default True
        Compute the Gaussian twin (doubles the cost).
    n_init : int, default 3

    Returns
    -------
    ClusterabilityResult
        Rows ``clusterability``, ``clusterability_k``, ``clusterability_null``,
        ``clusterability_excess``, ``clusterability_davies_bouldin`` (lower = more
        separated clusters).

    References
    ----------
    Rousseeuw, "Silhouettes: a graphical aid to the interpretation and validation of
    cluster analysis", J. Comput. Appl. Math. 20, 1987. Davies, Bouldin, "A Cluster
    Separation Measure", IEEE TPAMI 1, 1979. latentverse
    (``broadinstitute/ml4h-latentverse``), clustering test.
    """
    rng = make_rng(seed)
    z = check_latents(z, min_samples=4, min_dims=1)
    max_samples = check_positive_int(max_samples, name="max_samples", minimum=4)
    n_init = check_positive_int(n_init, name="n_init")
    standardize = check_bool(standardize, name="standardize")
    null = check_bool(null, name="null")
    ks = sorted(set(int_sequence(k_values, name="k_values", minimum=2)))
    if not ks:
        raise LpsInputError("k_values needs at least one number of clusters >= 2")
    rows = np.sort(rng.permutation(z.shape[0])[:max_samples])
    x = z[rows]
    if standardize:
        std = x.std(axis=0)
        x = (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    ks = [k for k in ks if k < x.shape[0]]
    if not ks:
        raise LpsInputError(f"k_values must be below the number of rows used ({x.shape[0]})")
    inner = int(rng.integers(2**31 - 1))
    score, best_k, db, per_k = _best_silhouette(x, ks, inner, n_init)
    twin_score = math.nan
    if null:
        twin = rng.multivariate_normal(
            x.mean(axis=0),
            np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1]),
            size=x.shape[0],
            method="eigh",
        )
        twin_score = _best_silhouette(twin, ks, inner, n_init)[0]
    settings = {
        "metric": "clusterability",
        "seed": seed,
        "n_samples_used": int(x.shape[0]),
        "max_samples": max_samples,
        "k_values": ks,
        "standardize": standardize,
        "null": "gaussian twin (same mean and covariance)" if null else None,
        "n_init": n_init,
        "silhouette_per_k": per_k,
    }
    return ClusterabilityResult(
        value=score,
        settings=settings,
        best_k=best_k,
        null=twin_score,
        davies_bouldin=db,
        silhouettes=per_k,
    )
