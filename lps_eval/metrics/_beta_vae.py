"""BetaVAE score (Higgins et al., ICLR 2017) on arrays, disentanglement_lib's sklearn variant."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import check_positive_int
from lps_eval.metrics.common import (
    SupervisedResult,
    current_call,
    not_computable,
    prepare,
    seed_int,
)
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.interventions import GroupSampler, intervention_support
from lps_eval.metrics.registry import register_metric

__all__ = ["BetaVAEResult", "beta_vae"]

_CHUNK = 1024


@dataclass(frozen=True, eq=False)
class BetaVAEResult(SupervisedResult):
    """``value`` = evaluation accuracy (NaN with ``reason`` when not computable)."""

    train_accuracy: float = float("nan")


def _features(z, sampler, n_points, batch_size, n_factors, rng):
    """``n_points`` BetaVAE feature vectors and their labels (the fixed factor)."""
    labels = rng.integers(n_factors, size=n_points)
    feats = np.empty((n_points, z.shape[1]))
    for lo in range(0, n_points, _CHUNK):
        hi = min(lo + _CHUNK, n_points)
        k = np.repeat(labels[lo:hi, None], batch_size, axis=1)
        rows1 = rng.integers(z.shape[0], size=k.shape)
        rows2 = sampler.same_value(k, rows1, rng)
        feats[lo:hi] = np.abs(z[rows1] - z[rows2]).mean(axis=1)
    return feats, labels


def _draw_replicates(request, model, x, y, x_eval, y_eval) -> np.ndarray:
    """Accuracy on bootstrap resamples of the drawn points: the classifier refit on
    resampled training points (sample weights = multiplicities; warm-started from the
    estimate's coefficients, the same convex optimum), scored on resampled evaluation
    points."""
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    w_train = request.multiplicities(len(y), tag=0)
    w_eval = request.multiplicities(len(y_eval), tag=1)
    out = np.empty(request.n_boot)
    with threadpool_limits(limits=1), warnings.catch_warnings():  # small fits: one thread
        warnings.simplefilter("ignore", ConvergenceWarning)
        for b in range(request.n_boot):
            refit = clone(model).set_params(warm_start=True)
            refit.coef_, refit.intercept_ = model.coef_.copy(), model.intercept_.copy()
            refit.fit(x, y, sample_weight=w_train[b])
            out[b] = float(w_eval[b] @ (refit.predict(x_eval) == y_eval)) / len(y_eval)
    return out


@register_metric(
    rows=("beta_vae",),
    properties=(
        "unit_interval",
        "interventional",
        "approx_sample_order",
        "exact_latent_order",
        "nuisance_invariant",
    ),
    needs=("two_factors",),
    interval=IntervalPlan(unit="draws", n_boot=100),
    reference="Higgins et al., ICLR 2017; disentanglement_lib 1.5 (beta_vae sklearn)",
)
def beta_vae(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    batch_size: int = 64,
    num_train: int = 10000,
    num_eval: int = 5000,
    min_rows: int = 2,
) -> BetaVAEResult:
    """BetaVAE disentanglement score: accuracy of a linear classifier that identifies the
    fixed factor from latent differences.

    Each training point: pick a factor :math:`k` uniformly; draw ``batch_size`` pairs of
    rows that share the value of :math:`v_k` (first row uniform, second uniform among the
    rows with the same :math:`v_k`); the feature is
    :math:`\\frac{1}{B}\\sum_b |z^{(b,1)} - z^{(b,2)}|` and the label is :math:`k`. A
    ``LogisticRegression`` (scikit-learn defaults, seeded) is trained on ``num_train``
    points; the score is its accuracy on ``num_eval`` fresh points.

    Parameters
    ----------
    z, factors : array-like, rows = samples
        Factors must be discrete (integer-valued), ideally a full product grid.
    z_test, factors_test : ignored (fresh points are drawn for evaluation)
    seed : int
        Seed of every draw and of the classifier.
    batch_size, num_train, num_eval : int, default 64 / 10000 / 5000
        Study defaults (``num_train``/``num_eval`` count feature vectors, not rows).
    min_rows : int, default 2
        Fewest rows each factor value needs.
    n_boot, confidence : int, float, default 100, 0.95
        Interval (registry): bootstrap of the drawn points on the same rows (on a full
        grid the sampler is the only randomness): the classifier refit on resampled
        training points (warm-started from the estimate's, same optimum) and scored on
        resampled evaluation points; basic interval; 0 = none.

    Returns
    -------
    BetaVAEResult
        NaN with ``reason`` (and a warning) when the factors cannot support
        interventions: continuous factors, a factor value with fewer than ``min_rows``
        rows, or fewer than two usable factors (constant and ID-like factors are left
        out: fixing a factor that never varies is no intervention). Settings record
        ``full_grid``: whether every factor combination is present (drawing rows is then an
        exact intervention; otherwise it conditions on the value).

    References
    ----------
    Higgins et al., "beta-VAE: Learning Basic Visual Concepts with a Constrained
    Variational Framework", ICLR 2017; disentanglement_lib ``beta_vae``.
    """
    batch_size = check_positive_int(batch_size, name="batch_size")
    num_train = check_positive_int(num_train, name="num_train")
    num_eval = check_positive_int(num_eval, name="num_eval")
    min_rows = check_positive_int(min_rows, name="min_rows")
    data = prepare(
        "beta_vae",
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
            "min_rows": min_rows,
        },
    )
    settings = data.settings
    use = np.flatnonzero(data.usable())
    factors_used = data.factors[:, use]
    reason, info = intervention_support(factors_used, min_rows=min_rows)
    settings.update(info)
    if reason:
        return not_computable("beta_vae", reason, settings, BetaVAEResult)
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    sampler = GroupSampler.from_factors(factors_used)
    k = factors_used.shape[1]
    x, y = _features(data.z, sampler, num_train, batch_size, k, data.rng)
    x_eval, y_eval = _features(data.z, sampler, num_eval, batch_size, k, data.rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(random_state=seed_int(data.rng)).fit(x, y)
    call = current_call()
    if call is not None and call.request is not None:
        call.replicates = {
            ("beta_vae", "overall", None, None): _draw_replicates(
                call.request, model, x, y, x_eval, y_eval
            )
        }
    return BetaVAEResult(
        value=float(np.mean(model.predict(x_eval) == y_eval)),
        settings=settings,
        metric="beta_vae",
        train_accuracy=float(np.mean(model.predict(x) == y)),
    )
