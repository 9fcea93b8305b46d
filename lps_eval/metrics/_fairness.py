r"""Fairness (Locatello et al., NeurIPS 2019): do predictions of one factor move when another
factor is intervened on?

A probe :math:`\hat y_i` of *target* factor :math:`v_i` is trained on the codes. For every
other factor :math:`v_j` (the *sensitive* one) and each of its values :math:`c`, rows with
:math:`v_j = c` are drawn (the intervention :math:`do(v_j = c)` on a product grid) and the
distribution :math:`P_c` of the probe's predictions is compared with the pooled one
:math:`\bar P = \sum_c w_c P_c` by total variation:

.. math::
    \mathrm{TV}_c = \tfrac12 \sum_y |P_c(y) - \bar P(y)|, \qquad
    U_{ij} = \sum_c w_c \mathrm{TV}_c \ (\text{mean}), \quad
    U^{\max}_{ij} = \max_c \mathrm{TV}_c,

with :math:`w_c` the share of draws of value :math:`c` (equal here). The headline
``fairness`` is :math:`\frac1K \sum_i \frac{1}{K-1}\sum_{j \ne i} U_{ij}`
(disentanglement_lib's ``mean_fairness:mean_pred:mean_sens``, the score of the paper's
section 4); ``fairness_max`` the same average of :math:`U^{\max}_{ij}`. **Lower is fairer**;
0 when no prediction depends on the sensitive factor. The numbers are unfairness scores
in [0, 1].

Interventional: it needs discrete factors and enough rows per value
(:func:`~lps_eval.metrics.interventions.intervention_support`); on a full product grid
drawing rows with :math:`v_j = c` is exactly the intervention (other factors uniform), on
dependent factors it is conditioning. It cannot be computed from continuous factors.

Reference: Locatello, Abbati, Rainforth, Bauer, Schölkopf, Bachem, "On the Fairness of
Disentangled Representations", NeurIPS 2019 (arXiv 1905.13662); disentanglement_lib
``evaluation/metrics/fairness.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import check_positive_int
from lps_eval.metrics.classifier_probes import check_probe, fit_probe, split_pools
from lps_eval.metrics.common import SupervisedResult, finite_mean, not_computable, seed_int
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.interventions import GroupSampler
from lps_eval.metrics.registry import register_metric
from lps_eval.results import make_row

__all__ = ["FairnessResult", "aggregate_fairness", "fairness", "inter_group_fairness"]


@dataclass(frozen=True, eq=False)
class FairnessResult(SupervisedResult):
    """Unfairness of probes of each factor under interventions on each other factor.

    Attributes
    ----------
    value : float
        ``fairness``: mean over targets of the mean over sensitive factors of the mean TV.
    fairness_max : float
        The same average of the worst sensitive value's TV.
    fairness_null : float
        ``fairness`` of the same probes on draws that ignore the sensitive factor: what a
        perfectly fair probe scores with these draws (0 for noise-free codes on a full grid;
        the sampling noise of the draws otherwise). Read ``fairness`` against it.
    mean_tv, max_tv, null_tv : ndarray of shape (K, K)
        ``[i, j]``: target ``i``, sensitive ``j`` (diagonal 0, never computed); ``null_tv``
        the mean TV of the null draws. NaN rows and columns for a factor left out
        (constant or ID-like).
    accuracy : ndarray of shape (K,)
        Test accuracy of each target's probe: a probe that predicts one class is
        perfectly fair and useless; read the two together.
    """

    fairness_max: float = math.nan
    fairness_null: float = math.nan
    mean_tv: np.ndarray | None = None
    max_tv: np.ndarray | None = None
    null_tv: np.ndarray | None = None
    accuracy: np.ndarray | None = None
    scores: dict[str, float] | None = None

    def rows(self) -> list[dict[str, Any]]:
        reason = {"reason": self.reason} if self.reason else {}
        rows = [
            make_row("fairness", self.value, **reason),
            make_row("fairness_max", self.fairness_max, **reason),
            make_row("fairness_null", self.fairness_null, **reason),
        ]
        if self.mean_tv is None:
            return rows
        k = self.mean_tv.shape[0]
        off = ~np.eye(k, dtype=bool)
        rows += [  # over the sensitive factors that have a value (a left-out one has none)
            make_row("fairness", finite_mean(self.mean_tv[i][off[i]]), scope="factor", factor=i)
            for i in range(k)
        ]
        for name, mat in (("fairness_pair", self.mean_tv), ("fairness_pair_max", self.max_tv)):
            rows += [
                make_row(name, mat[i, j], scope="factor", factor=i, sensitive_factor=j)
                for i in range(k)
                for j in range(k)
                if i != j
            ]
        rows += [
            make_row("fairness_probe_accuracy", a, scope="factor", factor=i)
            for i, a in enumerate(self.accuracy)
        ]
        return rows


def inter_group_fairness(counts: np.ndarray) -> tuple[float, float]:
    """Mean (weighted by the draws of each sensitive value) and max TV distance of each
    sensitive value's prediction distribution to the pooled one.

    ``counts[y, c]``: predictions of class ``y`` among the rows drawn with sensitive value
    ``c``. disentanglement_lib's ``inter_group_fairness`` operation for operation (it
    normalizes in float32; so does this, to agree to the last digit).
    """
    overall = np.sum(counts, axis=1, dtype=np.float32)
    overall /= overall.sum()
    normalized = np.array(counts, dtype=np.float32)
    per_class = np.sum(counts, axis=0)
    normalized /= np.expand_dims(per_class, 0)
    tv = np.sum(np.abs(normalized - np.expand_dims(overall, 1)), 0) / 2.0
    mean = tv * per_class
    mean /= per_class.sum()
    return float(np.sum(mean)), float(np.amax(tv))


def aggregate_fairness(
    matrix: np.ndarray, prefix: str, labels: Sequence[int] | None = None
) -> dict[str, float]:
    """disentanglement_lib's ``compute_scores_dict``: every pair, every target's and every
    sensitive factor's mean and max, and the eight mean/max combinations, keyed as there
    (``{prefix}:mean_pred:mean_sens`` is the paper's score). ``labels``: the factor index
    each row / column stands for in the keys (default 0, 1, ...)."""
    k = matrix.shape[0]
    labels = list(range(k)) if labels is None else [int(v) for v in labels]
    off = ~np.eye(k, dtype=bool)
    out = {
        f"{prefix}:pred{labels[i]}:sens{labels[j]}": float(matrix[i, j])
        for i in range(k)
        for j in range(k)
        if i != j
    }
    rows = [matrix[i][off[i]] for i in range(k)]
    cols = [matrix[:, j][off[:, j]] for j in range(k)]
    for i, r in enumerate(rows):
        out[f"{prefix}:pred{labels[i]}:mean_sens"] = float(np.mean(r))
        out[f"{prefix}:pred{labels[i]}:max_sens"] = float(np.amax(r))
    for j, c in enumerate(cols):
        out[f"{prefix}:sens{labels[j]}:mean_pred"] = float(np.mean(c))
        out[f"{prefix}:sens{labels[j]}:max_pred"] = float(np.amax(c))
    col_mean, col_max = [np.mean(c) for c in cols], [np.amax(c) for c in cols]
    row_mean, row_max = [np.mean(r) for r in rows], [np.amax(r) for r in rows]
    for key, value in (
        ("mean_sens:mean_pred", np.mean(col_mean)),
        ("mean_sens:max_pred", np.mean(col_max)),
        ("max_sens:mean_pred", np.amax(col_mean)),
        ("max_sens:max_pred", np.amax(col_max)),
        ("mean_pred:mean_sens", np.mean(row_mean)),
        ("mean_pred:max_sens", np.mean(row_max)),
        ("max_pred:mean_sens", np.amax(row_mean)),
        ("max_pred:max_sens", np.amax(row_max)),
    ):
        out[f"{prefix}:{key}"] = float(value)
    return out


class _Draws:
    """Rows that realize ``do(v_j = c)`` for every sensitive factor ``j`` and value ``c``.

    *Paired* (every factor combination is among the rows: a full product grid): the
    ``draws`` rows sampled once per ``j`` are moved to ``v_j = c`` by looking up a row of
    the same cell with ``v_j`` replaced (disentanglement_lib's counterfactual design: the
    other factors are the same for every ``c``, so a prediction that ignores ``v_j`` moves
    only with the codes' own noise within a cell). *Unpaired* otherwise: ``draws`` rows
    with ``v_j = c`` drawn uniformly (on a uniform grid the same distribution, with more
    noise). The null draws leave ``v_j`` alone: a fresh row of each base row's own cell
    (paired) or rows from the whole pool (unpaired), once per value ``c``: the unfairness
    a probe that ignores ``v_j`` shows with these draws.
    """

    def __init__(self, codes: np.ndarray, sizes: list[int], draws: int, rng) -> None:
        self.codes, self.sizes, self.draws, self.rng = codes, sizes, draws, rng
        self.cell = np.ravel_multi_index(codes.T, sizes)
        self.order = np.argsort(self.cell, kind="stable")
        self.sorted_cells = self.cell[self.order]
        self.paired = bool(np.unique(self.cell).size == int(np.prod(sizes, dtype=np.float64)))
        self.sampler = GroupSampler.from_factors(codes)

    def _in_cells(self, cells: np.ndarray) -> np.ndarray:
        lo = np.searchsorted(self.sorted_cells, cells, side="left")
        hi = np.searchsorted(self.sorted_cells, cells, side="right")
        return self.order[lo + (self.rng.random(cells.shape) * (hi - lo)).astype(np.int64)]

    def rows(self, j: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(intervened rows per value of ``j``, null rows per value of ``j``)."""
        n, k = self.codes.shape[0], self.sizes[j]
        if self.paired:
            base = self.rng.integers(n, size=self.draws)
            moved = []
            for c in range(k):
                target = self.codes[base].copy()
                target[:, j] = c
                moved.append(self._in_cells(np.ravel_multi_index(target.T, self.sizes)))
            own = np.ravel_multi_index(self.codes[base].T, self.sizes)
            return moved, [self._in_cells(own) for _ in range(k)]
        s = self.sampler
        moved = [
            s.order[j, s.start[j, c] + (self.rng.random(self.draws) * s.count[j, c]).astype(int)]
            for c in range(k)
        ]
        return moved, [self.rng.integers(n, size=self.draws) for _ in range(k)]


def _tv_matrices(models, z, codes, sizes, draws, rng):
    """(K x K) mean TV, max TV and the null's mean TV, and whether the draws were paired."""
    sampler = _Draws(codes, sizes, draws, rng)
    k = codes.shape[1]
    mean_tv, max_tv, null_tv = np.zeros((k, k)), np.zeros((k, k)), np.zeros((k, k))
    predictions = [m.predict(z) for m in models]  # every row once; draws index into them
    for j in range(k):
        moved, null = sampler.rows(j)  # the same draws for every target
        for i in range(k):
            if i == j:
                continue

            def counts(sets, i=i):
                return np.stack(
                    [np.bincount(predictions[i][r], minlength=sizes[i]) for r in sets], axis=1
                )

            mean_tv[i, j], max_tv[i, j] = inter_group_fairness(counts(moved))
            null_tv[i, j] = inter_group_fairness(counts(null))[0]
    return mean_tv, max_tv, null_tv, sampler.paired


@register_metric(
    rows=("fairness", "fairness_max", "fairness_null"),
    properties=(
        "unit_interval",
        "interventional",
        "exact_sample_order",
        "exact_latent_order",
        "uses_test_split",
        "nuisance_invariant",
    ),
    default=False,
    interval=IntervalPlan(unit="half_rows", n_boot=10),
    row_properties={
        "fairness": ("companion",),
        "fairness_max": ("companion",),
        "fairness_null": ("companion",),
    },
    needs=("two_factors", "test_split"),
)
def fairness(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    probe: str = "gbt",
    num_train: int = 10000,
    num_test_points_per_class: int = 100,
    min_rows: int = 10,
) -> FairnessResult:
    """Unfairness of factor probes under interventions on the other factors (lower = fairer).

    Parameters
    ----------
    z, factors : array-like, rows = samples
        Factors must be discrete (integer-valued), ideally a full product grid.
    z_test, factors_test : array-like, optional
        Rows the interventions are drawn from (without them, a seeded third of the rows
        is held out); the probes train on the other rows.
    seed : int
    probe : {"gbt", "logistic", "fast_gbt"}, default "gbt"
        The fairness study's probe is ``"gbt"`` (disentanglement_lib's
        ``gradient_boosting_classifier``); see :mod:`lps_eval.metrics.classifier_probes`.
    num_train : int, default 10000
        Training rows of each probe (the study's; fewer if fewer are given).
    num_test_points_per_class : int, default 100
        Rows drawn (with replacement) for each value of each sensitive factor.
    min_rows : int, default 10
        Fewest held-out rows every factor value needs.

    Returns
    -------
    FairnessResult
        NaN with ``reason`` when the factors cannot support interventions (continuous
        factors, a value with fewer than ``min_rows`` held-out rows, a single factor).
        Rows: ``fairness``, ``fairness_max``; per target factor ``fairness``; per (target,
        sensitive) pair ``fairness_pair`` / ``fairness_pair_max`` (scope ``factor``,
        ``factor`` = target, ``sensitive_factor`` column); ``fairness_probe_accuracy``.
        ``scores`` holds every aggregate disentanglement_lib reports, under its keys.

    References
    ----------
    Locatello et al., "On the Fairness of Disentangled Representations", NeurIPS 2019;
    disentanglement_lib ``compute_fairness``.
    """
    probe = check_probe(probe)
    num_train = check_positive_int(num_train, name="num_train", minimum=2)
    draws = check_positive_int(num_test_points_per_class, name="num_test_points_per_class")
    min_rows = check_positive_int(min_rows, name="min_rows")
    params = {
        "probe": probe,
        "num_train": num_train,
        "num_test_points_per_class": draws,
        "min_rows": min_rows,
    }
    pools = split_pools(
        "fairness",
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        sample="random",
        params=params,
        interventional=True,
    )
    data, settings = pools.data, pools.data.settings
    reason = pools.intervention_reason(min_rows)
    if reason:
        return not_computable("fairness", reason, settings, FairnessResult)
    x, y, xt, yt, sizes = pools.x[:num_train], pools.y[:num_train], pools.xt, pools.yt, pools.sizes
    settings["n_train_used"] = int(x.shape[0])
    probe_seed = seed_int(data.rng)
    models = [
        fit_probe(probe, x, y[:, i], probe_seed, metric="fairness") for i in range(len(sizes))
    ]
    accuracy = np.array([np.mean(m.predict(xt) == yt[:, i]) for i, m in enumerate(models)])
    mean_tv, max_tv, null_tv, paired = _tv_matrices(models, xt, yt, sizes, draws, data.rng)
    settings["paired"] = paired
    ids = pools.factor_ids  # the keys and matrices at the input's factor indices
    scores = {
        **aggregate_fairness(mean_tv, "mean_fairness", ids),
        **aggregate_fairness(max_tv, "max_fairness", ids),
    }
    both = (0, 1)
    return FairnessResult(
        value=scores["mean_fairness:mean_pred:mean_sens"],
        settings=settings,
        metric="fairness",
        fairness_max=scores["max_fairness:mean_pred:mean_sens"],
        fairness_null=aggregate_fairness(null_tv, "null")["null:mean_pred:mean_sens"],
        mean_tv=pools.widen(mean_tv, axes=both),
        max_tv=pools.widen(max_tv, axes=both),
        null_tv=pools.widen(null_tv, axes=both),
        accuracy=pools.widen(accuracy),
        scores=scores,
    )
