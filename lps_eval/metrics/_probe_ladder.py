"""The probe ladder (latentverse's probing test): how well a linear probe, a small MLP and a
deeper MLP read each factor from the code, i.e. how linearly the factors are encoded."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import check_positive_int
from lps_eval.metrics.common import (
    SupervisedResult,
    discrete_factor_codes,
    finite_mean,
    prepare,
    seed_int,
    widen_factors,
)
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.probes import int_sequence, r2_loss, ridge_fit_predict, standardize_pair
from lps_eval.metrics.registry import register_metric
from lps_eval.results import indexed_rows, make_row

__all__ = ["RUNGS", "ProbeLadderResult", "probe_ladder"]

#: The rungs, in order of capacity (the metric names of their rows).
RUNGS = ("probe_linear", "probe_mlp_small", "probe_mlp_deep")


@dataclass(frozen=True, eq=False)
class ProbeLadderResult(SupervisedResult):
    """Test R^2 of each rung (overall = mean over factors; ``value`` = the linear rung),
    per factor, and the nonlinear gap ``max(MLP rungs) - linear``."""

    r2: dict[str, np.ndarray] | None = None
    gap_per_factor: np.ndarray | None = None

    def rows(self) -> list[dict[str, Any]]:
        rows = [make_row(rung, finite_mean(self.r2[rung])) for rung in RUNGS]
        rows.append(make_row("probe_nonlinear_gap", finite_mean(self.gap_per_factor)))
        for rung in RUNGS:
            rows += indexed_rows(rung, self.r2[rung], scope="factor")
        rows += indexed_rows("probe_nonlinear_gap", self.gap_per_factor, scope="factor")
        return rows


def _mlp_r2(x, y, x_test, y_test, hidden, *, alpha, max_iter, random_state):
    """Test R^2 per target column of one multi-output MLP; and whether it converged."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    model = MLPRegressor(
        hidden_layer_sizes=tuple(int(h) for h in hidden),
        alpha=alpha,
        max_iter=max_iter,
        early_stopping=False,
        tol=1e-4,
        random_state=random_state,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, y)
    pred = model.predict(x_test).reshape(y_test.shape)
    return 1.0 - r2_loss(y_test, pred), bool(model.n_iter_ < max_iter)


@register_metric(
    rows=("probe_linear", "probe_mlp_small", "probe_mlp_deep", "probe_nonlinear_gap"),
    properties=(
        "approx_sample_order",
        "approx_latent_order",
        "uses_test_split",
        "nuisance_invariant",
    ),
    default=False,  # two MLP fits: seconds to tens of seconds at 10,000 rows
    interval=IntervalPlan(unit="half_rows", n_boot=10),
    row_properties={"probe_nonlinear_gap": ("companion",)},
    needs=("test_split",),
)
def probe_ladder(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    small: tuple[int, ...] = (32,),
    deep: tuple[int, ...] = (64, 32, 32, 16, 8),
    alpha: float = 1e-3,
    max_iter: int = 200,
    num_train: int | None = 10000,
    num_test: int | None = 5000,
    test_size: float = 1 / 3,
    n_bins: int = 20,
) -> ProbeLadderResult:
    """Held-out R^2 of probes of growing capacity predicting the factors from the code.

    Rungs: ``probe_linear`` (least squares on the standardized latents), ``probe_mlp_small``
    (one hidden layer of 32 ReLU units) and ``probe_mlp_deep`` (64-32-32-16-8), the
    lineup of latentverse's probing test; each MLP is one scikit-learn ``MLPRegressor``
    (Adam, L2 ``alpha``, at most ``max_iter`` epochs, seeded) predicting every
    standardized factor at once. ``probe_nonlinear_gap`` is
    :math:`\\max(R^2_{\\text{small}}, R^2_{\\text{deep}}) - R^2_{\\text{linear}}`: near 0
    when a factor is linearly decodable, large when only a nonlinear probe finds it.

    Parameters
    ----------
    z, factors : array-like, rows = samples
        Factors are read as numbers (integer codes: their order matters; real-valued
        factors are binned into ``n_bins``, warning).
    z_test, factors_test : array-like, optional
        Held-out rows; when omitted a seeded random fraction ``test_size`` is held out.
    seed : int
    small, deep : tuple of int
        Hidden-layer widths of the two MLP rungs.
    alpha : float, default 1e-3
    max_iter : int, default 200
    num_train, num_test : int or None, default 10000 / 5000

    Returns
    -------
    ProbeLadderResult
        Overall rows (means over factors) and per-factor rows of every rung and of the
        gap. R^2 can be negative (a probe worse than the mean). Settings record each
        MLP's convergence.

    References
    ----------
    Alain, Bengio, "Understanding intermediate layers using linear classifier probes",
    ICLR 2017 workshop. latentverse (``broadinstitute/ml4h-latentverse``), probing test.
    """
    max_iter = check_positive_int(max_iter, name="max_iter")
    small = int_sequence(small, name="small", minimum=1)
    deep = int_sequence(deep, name="deep", minimum=1)
    data = prepare(
        "probe_ladder",
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        needs_test=True,
        num_train=num_train,
        num_test=num_test,
        test_size=test_size,
        min_samples=4,
        params={"small": list(small), "deep": list(deep), "alpha": alpha, "max_iter": max_iter},
    )
    # Only the factors the test split can score: a constant target column would still
    # shape the shared hidden layers of the multi-output MLPs (its rows are NaN instead).
    kept = np.flatnonzero(data.scorable())
    f, ft, _ = discrete_factor_codes(
        data.factors[:, kept], data.factors_test[:, kept], n_bins=n_bins, metric="probe_ladder"
    )
    x, x_test = standardize_pair(data.z, data.z_test)
    y, y_test = standardize_pair(f.astype(float), ft.astype(float))
    r2 = {"probe_linear": 1.0 - r2_loss(y_test, ridge_fit_predict(x, y, x_test))}
    converged = {}
    for rung, hidden in (("probe_mlp_small", small), ("probe_mlp_deep", deep)):
        r2[rung], converged[rung] = _mlp_r2(
            x,
            y,
            x_test,
            y_test,
            hidden,
            alpha=alpha,
            max_iter=max_iter,
            random_state=seed_int(data.rng),
        )
    data.settings["converged"] = converged
    gap = np.maximum(r2["probe_mlp_small"], r2["probe_mlp_deep"]) - r2["probe_linear"]
    n_factors = data.factors.shape[1]
    r2 = {rung: widen_factors(v, kept, n_factors) for rung, v in r2.items()}
    return ProbeLadderResult(
        value=finite_mean(r2["probe_linear"]),
        settings=data.settings,
        metric="probe_linear",
        r2=r2,
        gap_per_factor=widen_factors(gap, kept, n_factors),
    )
