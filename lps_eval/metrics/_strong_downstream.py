r"""Strong (out-of-distribution) downstream generalization: train where one factor is fixed,
test where it takes every other value.

For each target factor :math:`v_i` and each of ``n_experiment`` repetitions, pick another
factor :math:`v_j` and a value :math:`c` at random; train a probe of :math:`v_i` on
:math:`n` rows with :math:`v_j = c` (the intervention that fixes :math:`v_j` in the
whole training set) and test it on rows with :math:`v_j \ne c`. With the i.i.d. test
accuracy of ordinary probes (:func:`~lps_eval.metrics.downstream`) at the same size,

.. math::
    \mathrm{gap} = 1 - \frac{\overline{\mathrm{acc}}_{\text{strong}}}
                            {\overline{\mathrm{acc}}_{\text{iid}}}.

A code that keeps :math:`v_i` readable wherever :math:`v_j` is (a disentangled one)
keeps the strong accuracy near the i.i.d. one: gap near 0. Lower gap = better
out-of-distribution generalization.

Interventional: factors must be discrete and every value of every factor needs at least
:math:`n` training rows; on a full product grid, selecting rows with :math:`v_j = c` is
the intervention, otherwise it is conditioning. disentanglement_lib renders counterfactual
observations instead (same other factors, :math:`v_j` set to :math:`c`) and draws its
choices from numpy's global, unseeded RNG; here every choice comes from the seed.

Reference: disentanglement_lib ``evaluation/metrics/strong_downstream_task.py``
(out-of-distribution downstream task of Locatello et al.'s follow-up studies).
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
from lps_eval.metrics.common import SupervisedResult, not_computable, seed_int, warn
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.registry import register_metric
from lps_eval.results import make_row

__all__ = ["StrongDownstreamResult", "strong_downstream"]


@dataclass(frozen=True, eq=False)
class StrongDownstreamResult(SupervisedResult):
    """Strong (OOD) and i.i.d. test accuracies per training size.

    Attributes
    ----------
    value : float
        Mean strong test accuracy at ``headline_size``.
    gap : float
        ``1 - strong / iid`` at ``headline_size``.
    sizes : tuple of int
    iid_test, strong_test, strong_train : ndarray of shape (n_sizes,)
        Means over factors (and repetitions); NaN where a size does not fit.
    strong_test_per_factor : ndarray of shape (n_sizes, n_factors)
        NaN for a factor left out (constant or ID-like).
    experiments : list of (target, fixed factor, fixed value)
    """

    probe: str = ""
    gap: float = math.nan
    sizes: tuple[int, ...] = ()
    iid_test: np.ndarray | None = None
    strong_test: np.ndarray | None = None
    strong_train: np.ndarray | None = None
    strong_test_per_factor: np.ndarray | None = None
    headline_size: int | None = None
    experiments: tuple[tuple[int, int, int], ...] = ()

    def rows(self) -> list[dict[str, Any]]:
        extra = {"probe": self.probe, "num_train": self.headline_size}
        reason = {"reason": self.reason} if self.reason else {}
        rows = [
            make_row("strong_downstream", self.value, **extra, **reason),
            make_row("strong_downstream_gap", self.gap, **extra, **reason),
        ]
        if self.sizes and self.strong_test_per_factor is not None:
            for s, size in reversed(list(enumerate(self.sizes))):  # largest first
                rows += [
                    make_row(
                        "strong_downstream_test_accuracy",
                        v,
                        scope="factor",
                        factor=k,
                        probe=self.probe,
                        num_train=size,
                        iid_test_accuracy=self.iid_test[s],
                    )
                    for k, v in enumerate(self.strong_test_per_factor[s])
                ]
        return rows


def _experiments(sizes_per_factor, n_experiment, rng):
    """(target i, fixed factor j != i, fixed value c) for every target and repetition."""
    k = len(sizes_per_factor)
    out = []
    for i in range(k):
        others = [j for j in range(k) if j != i]
        for _ in range(n_experiment):
            j = others[int(rng.integers(len(others)))]
            out.append((i, j, int(rng.integers(sizes_per_factor[j]))))
    return tuple(out)


def _strong_at(pools, n, experiments, probe, seed, num_test):
    """(mean train acc, per-target mean test acc) of the experiments at training size n."""
    k = pools.y.shape[1]
    test_sum, test_count, train = np.zeros(k), np.zeros(k), []
    for i, j, c in experiments:
        rows = np.flatnonzero(pools.y[:, j] == c)[:n]
        held = np.flatnonzero(pools.yt[:, j] != c)[:num_test]
        model = fit_probe(probe, pools.x[rows], pools.y[rows, i], seed, metric="strong_downstream")
        train.append(np.mean(model.predict(pools.x[rows]) == pools.y[rows, i]))
        test_sum[i] += np.mean(model.predict(pools.xt[held]) == pools.yt[held, i])
        test_count[i] += 1
    return float(np.mean(train)), test_sum / test_count


@register_metric(
    rows=("strong_downstream", "strong_downstream_gap"),
    properties=(
        "interventional",
        "exact_sample_order",
        "exact_latent_order",
        "uses_test_split",
        # pure-noise latents lower it: each probe is fit on the rows of one fixed value,
        # a small sample in which tree splits on noise latents look useful and then fail
        # out of distribution (0.81 -> 0.69 on the registry's nuisance world)
        "nuisance_penalized",
    ),
    default=False,
    interval=IntervalPlan(unit="half_rows", n_boot=10),
    row_properties={"strong_downstream_gap": ("companion",)},
    needs=("two_factors", "test_split"),
)
def strong_downstream(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    probe: str = "gbt",
    num_train: Sequence[int] | int = (10, 100, 1000),
    num_test: int = 1000,
    n_experiment: int = 10,
) -> StrongDownstreamResult:
    """Out-of-distribution accuracy of factor probes trained with another factor fixed.

    Parameters
    ----------
    z, factors : array-like, rows = samples
        Factors must be discrete (integer-valued), ideally a full product grid.
    z_test, factors_test : array-like, optional
        Test rows (without them a seeded third is held out).
    seed : int
        Seed of every choice, draw and probe.
    probe : {"gbt", "logistic", "fast_gbt"}, default "gbt"
        disentanglement_lib's test configuration uses the GBT probe.
    num_train : int or sequence of int, default (10, 100, 1000)
        Training sizes; a size larger than the rows of some fixed value gets NaN.
    num_test : int, default 1000
        Test rows per experiment (and for the i.i.d. reference).
    n_experiment : int, default 10
        Repetitions per target factor (disentanglement_lib's default).

    Returns
    -------
    StrongDownstreamResult
        Rows ``strong_downstream`` (mean strong test accuracy) and
        ``strong_downstream_gap`` at the largest size that fits (``num_train`` column),
        and per-factor ``strong_downstream_test_accuracy`` rows for every size (with the
        i.i.d. accuracy beside). NaN with ``reason`` for continuous factors or a single
        factor.
    """
    probe = check_probe(probe)
    sizes = check_sizes(num_train)
    num_test = check_positive_int(num_test, name="num_test")
    n_experiment = check_positive_int(n_experiment, name="n_experiment")
    params = {
        "probe": probe,
        "num_train": list(sizes),
        "num_test": num_test,
        "n_experiment": n_experiment,
    }
    pools = split_pools(
        "strong_downstream",
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        sample="random",
        params=params,
        interventional=True,
    )
    settings = pools.data.settings
    reason = pools.intervention_reason(min_rows=1)
    if reason:
        return not_computable("strong_downstream", reason, settings, StrongDownstreamResult)
    rng = pools.data.rng
    experiments = _experiments(pools.sizes, n_experiment, rng)
    probe_seed = seed_int(rng)
    fewest = min(int(np.sum(pools.y[:, j] == c)) for _, j, c in experiments)
    nan = np.full(len(sizes), math.nan)
    iid, strong, train = nan.copy(), nan.copy(), nan.copy()
    per_factor = np.full((len(sizes), pools.y.shape[1]), math.nan)
    xt, yt = pools.xt[:num_test], pools.yt[:num_test]
    fitted = [n for n in sizes if n <= fewest]
    for n in fitted:
        s = sizes.index(n)
        iid[s] = probe_accuracies(
            probe, pools.x[:n], pools.y[:n], xt, yt, probe_seed, metric="strong_downstream"
        )[1].mean()
        train[s], per_factor[s] = _strong_at(pools, n, experiments, probe, probe_seed, num_test)
        strong[s] = per_factor[s].mean()
    headline = fitted[-1] if fitted else None
    settings.update(headline_size=headline, fewest_fixed_rows=fewest)
    if headline is None:
        why = f"the smallest size {sizes[0]} exceeds the {fewest} training rows of a fixed value"
        return not_computable("strong_downstream", why, settings, StrongDownstreamResult)
    if headline < sizes[-1]:
        warn(
            f"strong_downstream: sizes above {headline} exceed the {fewest} training rows of "
            "a fixed factor value (NaN rows)"
        )
    at = sizes.index(headline)
    ids = pools.factor_ids  # experiments and per-factor rows at the input's factor indices
    experiments = tuple((int(ids[i]), int(ids[j]), c) for i, j, c in experiments)
    return StrongDownstreamResult(
        value=float(strong[at]),
        settings=settings,
        metric="strong_downstream",
        probe=probe,
        gap=float(1 - strong[at] / iid[at]),
        sizes=sizes,
        iid_test=iid,
        strong_test=strong,
        strong_train=train,
        strong_test_per_factor=pools.widen(per_factor),
        headline_size=headline,
        experiments=experiments,
    )
