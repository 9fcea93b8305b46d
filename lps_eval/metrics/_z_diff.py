"""Z-diff (the BetaVAE score as the Ubisoft La Forge reference computes it, from binned
arrays): accuracy of a linear classifier naming the fixed factor from latent differences."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import check_positive_int
from lps_eval.metrics.batches import (
    binned_factor_codes,
    draw_pairs,
    scaled_accuracy,
    value_groups,
)
from lps_eval.metrics.common import SupervisedResult, not_computable, prepare, seed_int
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.registry import register_metric

__all__ = ["ZDiffResult", "z_diff"]

#: Feature points built at once (bounds memory at _CHUNK * batch_size * n_dims floats).
_CHUNK = 256


@dataclass(frozen=True, eq=False)
class ZDiffResult(SupervisedResult):
    """``value`` = evaluation accuracy, rescaled to chance 0 / perfect 1 when ``scale``."""

    accuracy: float = float("nan")
    train_accuracy: float = float("nan")


def _features(z, groups, n_points, batch_size, rng):
    """``n_points`` Z-diff feature vectors (mean |z1 - z2| over ``batch_size`` pairs, each
    pair sharing the value of the point's factor) and their labels (the factor)."""
    n_factors = len(groups)
    labels = rng.integers(n_factors, size=n_points)
    feats = np.empty((n_points, z.shape[1]))
    for lo in range(0, n_points, _CHUNK):
        hi = min(lo + _CHUNK, n_points)
        first = np.empty((hi - lo, batch_size), dtype=np.int64)
        second = np.empty_like(first)
        for k in range(n_factors):  # vectorized over the points of one factor
            mine = np.flatnonzero(labels[lo:hi] == k)
            if mine.size == 0:
                continue
            chosen = rng.integers(len(groups[k]), size=(mine.size * batch_size))
            a, b = draw_pairs(groups[k], chosen, rng)
            first[mine], second[mine] = a.reshape(-1, batch_size), b.reshape(-1, batch_size)
        feats[lo:hi] = np.abs(z[first] - z[second]).mean(axis=1)
    return feats, labels


@register_metric(
    rows=("z_diff",),
    properties=(
        "interventional",
        "approx_sample_order",
        "exact_latent_order",
        "nuisance_invariant",
    ),
    needs=("two_factors",),  # it names which factor a batch fixed: one factor is no choice
    interval=IntervalPlan(unit="seeds", n_boot=20),
)
def z_diff(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    batch_size: int = 200,
    num_train: int = 10000,
    num_eval: int = 5000,
    max_iter: int = 10000,
    continuous_factors: str | bool = "auto",
    n_bins: int = 10,
    scale: bool = True,
) -> ZDiffResult:
    """Z-diff: the BetaVAE score computed from (binned) factor arrays.

    Each point: pick a factor :math:`k` uniformly; ``batch_size`` times, pick a value of
    :math:`v_k` uniformly among the values with at least two rows and two distinct rows
    with that value; the feature is :math:`\\frac{1}{B}\\sum_b |z^{(b,1)} - z^{(b,2)}|`, the
    label :math:`k`. A ``LogisticRegression(max_iter=max_iter)`` learns ``num_train``
    points; the score is its accuracy on ``num_eval`` fresh points, rescaled as
    :math:`(\\mathrm{acc} - 1/K) / (1 - 1/K)` when ``scale`` (0 = chance, 1 = perfect).

    Differences from :func:`~lps_eval.metrics.beta_vae` (disentanglement_lib's variant):
    the fixed value is uniform over the usable values (not proportional to their
    frequency), the pair's rows are distinct, batches hold 200 pairs, and the accuracy is
    rescaled.

    Parameters
    ----------
    z, factors : array-like, rows = samples
    z_test, factors_test : ignored (fresh points are drawn for evaluation)
    seed : int
        Seed of every draw and of the classifier.
    batch_size, num_train, num_eval, max_iter : int, default 200 / 10000 / 5000 / 10000
        The reference's defaults (``num_train``/``num_eval`` count feature vectors).
    continuous_factors : {"auto", True, False}, default "auto"
        ``"auto"`` bins only non-integer factors (warning); ``True`` bins every factor
        into ``n_bins`` (the reference's default); ``False`` uses integer codes as given.
    n_bins : int, default 10
        Bins of a binned factor (the reference's default for Z-diff).
    scale : bool, default True
        Rescale the accuracy so that chance is 0.

    Returns
    -------
    ZDiffResult
        ``value`` in [-1/(K-1), 1] when scaled (below 0 = worse than chance), ``accuracy``
        unscaled. NaN with ``reason`` for fewer than 2 factors or a factor without any
        value that two rows share.

    References
    ----------
    Higgins et al., "beta-VAE: Learning Basic Visual Concepts with a Constrained
    Variational Framework", ICLR 2017. Carbonneau, Zaidi, Boilard, Gagnon, "Measuring
    Disentanglement: A Review of Metrics", IEEE TNNLS 2022 (Z-diff; reference code
    ``ubisoft-laforge-disentanglement-metrics``).
    """
    batch_size = check_positive_int(batch_size, name="batch_size")
    num_train = check_positive_int(num_train, name="num_train", minimum=2)
    num_eval = check_positive_int(num_eval, name="num_eval")
    max_iter = check_positive_int(max_iter, name="max_iter")
    n_bins = check_positive_int(n_bins, name="n_bins", minimum=2)
    data = prepare(
        "z_diff",
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
            "max_iter": max_iter,
            "continuous_factors": continuous_factors,
            "n_bins": n_bins,
            "scale": bool(scale),
            "classifier": f"LogisticRegression(max_iter={max_iter})",
        },
    )
    settings = data.settings
    codes = binned_factor_codes(
        data.factors[:, data.usable()],  # constant / ID-like factors left out
        continuous_factors=continuous_factors,
        n_bins=n_bins,
        metric="z_diff",
    )
    k = codes.shape[1]
    if k < 2:
        return not_computable(
            "z_diff", "needs at least 2 factors to classify", settings, ZDiffResult
        )
    groups = [value_groups(codes[:, j]) for j in range(k)]
    empty = [j for j, g in enumerate(groups) if len(g) == 0]
    if empty:
        return not_computable(
            "z_diff",
            f"factor(s) {empty} have no value shared by two rows (too fine a binning: lower "
            "n_bins, or pass more rows)",
            settings,
            ZDiffResult,
        )
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    x, y = _features(data.z, groups, num_train, batch_size, data.rng)
    x_eval, y_eval = _features(data.z, groups, num_eval, batch_size, data.rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(max_iter=max_iter, random_state=seed_int(data.rng))
        model.fit(x, y)
    accuracy = float(np.mean(model.predict(x_eval) == y_eval))
    train_accuracy = float(np.mean(model.predict(x) == y))
    value = scaled_accuracy(accuracy, k) if scale else accuracy
    return ZDiffResult(
        value=value,
        settings=settings,
        metric="z_diff",
        accuracy=accuracy,
        train_accuracy=scaled_accuracy(train_accuracy, k) if scale else train_accuracy,
    )
