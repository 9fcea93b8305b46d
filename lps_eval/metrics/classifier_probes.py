"""Classifier probes and row pools shared by the downstream, fairness and OOD metrics.

A *probe* predicts one discrete factor from the latent codes. Three are named:

- ``"logistic"``: disentanglement_lib's ``logistic_regression_cv``,
  ``LogisticRegressionCV(Cs=10, cv=KFold(n_splits=5))`` (unshuffled folds, lbfgs,
  scikit-learn defaults otherwise; deterministic);
- ``"gbt"``: disentanglement_lib's ``gradient_boosting_classifier``,
  ``GradientBoostingClassifier()`` with scikit-learn defaults (100 depth-3 trees per class,
  learning rate 0.1), seeded here (disentanglement_lib leaves it unseeded: its only
  randomness is the order in which features are tried, which breaks ties between equal
  split gains). Slow: minutes per factor with dozens of classes and 10,000 rows;
- ``"fast_gbt"``: ``HistGradientBoostingClassifier`` with trees of the same size (8
  leaves, one row per leaf allowed as in ``gbt``), learning rate 0.1, at most 100
  iterations, early stopping on 10% of the training rows when there are at least 1,000
  and every class has 10; seeded. Not disentanglement_lib's; many times faster.

A factor with one class among the training rows makes both scikit-learn probes raise (and
disentanglement_lib with them); here the probe then predicts that class, with a warning.
Probes fit with one BLAS / OpenMP thread.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError, check_positive_int
from lps_eval.metrics.common import (
    LpsMetricWarning,
    Prepared,
    discrete_factor_codes,
    is_integer_valued,
    prepare,
    widen_factors,
)
from lps_eval.metrics.interventions import intervention_support

__all__ = [
    "PROBES",
    "SAMPLES",
    "Pools",
    "check_probe",
    "check_sizes",
    "fit_probe",
    "probe_accuracies",
    "row_order",
    "split_pools",
]

#: How training and test rows are drawn from the pools (see :func:`split_pools`).
SAMPLES = ("random", "prefix")

PROBES = {
    "logistic": "LogisticRegressionCV(Cs=10, cv=KFold(5)) (disentanglement_lib)",
    "gbt": "GradientBoostingClassifier() (disentanglement_lib; seeded)",
    "fast_gbt": "HistGradientBoostingClassifier, 8 leaves, early stopping (fast)",
}

FAST_GBT_PARAMS = {
    "learning_rate": 0.1,
    "max_iter": 100,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 1,
    "early_stopping": True,
    "validation_fraction": 0.1,
    "n_iter_no_change": 10,
}


def check_probe(probe: Any) -> str:
    if probe not in PROBES:
        raise LpsInputError(f"probe must be one of {tuple(PROBES)}, got {probe!r}")
    return str(probe)


class _Constant:
    """The one class seen in training, predicted for every row."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full(x.shape[0], self.value)


def _make(probe: str, seed: int) -> Any:
    if probe == "logistic":
        from sklearn.linear_model import LogisticRegressionCV
        from sklearn.model_selection import KFold

        # scoring="accuracy": the default disentanglement_lib ran with (scikit-learn 1.11
        # changes it to the log loss)
        return LogisticRegressionCV(
            Cs=10, cv=KFold(n_splits=5), scoring="accuracy", random_state=seed
        )
    if probe == "gbt":
        from sklearn.ensemble import GradientBoostingClassifier

        return GradientBoostingClassifier(random_state=seed)
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(**FAST_GBT_PARAMS, random_state=seed)


def fit_probe(probe: str, x: np.ndarray, y: np.ndarray, seed: int, *, metric: str) -> Any:
    """A fitted probe (anything with ``predict``) of labels ``y`` from codes ``x``."""
    classes = np.unique(y)
    if classes.size < 2:
        warnings.warn(
            f"{metric}: the training rows hold one value of a factor ({classes[0]}); the "
            "probe predicts it for every row (disentanglement_lib's probes raise here)",
            LpsMetricWarning,
            stacklevel=3,
        )
        return _Constant(classes[0])
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    model = _make(probe, seed)
    if probe == "fast_gbt":
        # early stopping holds out a stratified 10%: only when every class can spare rows
        counts = np.unique(y, return_counts=True)[1]
        model.set_params(early_stopping=bool(y.shape[0] >= 1000 and counts.min() >= 10))
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        # One BLAS / OpenMP thread: deterministic, and many times faster than spinning
        # threads on a shared machine (the probes are small; parallelize across models).
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)  # sklearn: "least populated class"
        warnings.simplefilter("ignore", FutureWarning)  # LogisticRegressionCV attributes
        return model.fit(x, y)


def probe_accuracies(
    probe: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    seed: int,
    *,
    metric: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Train and test accuracy of one probe per factor column (disentanglement_lib's
    ``_compute_loss``: ``mean(predict(x) == y)``)."""
    k = y_train.shape[1]
    train, test = np.empty(k), np.empty(k)
    for j in range(k):
        model = fit_probe(probe, x_train, y_train[:, j], seed, metric=metric)
        train[j] = np.mean(model.predict(x_train) == y_train[:, j])
        test[j] = np.mean(model.predict(x_test) == y_test[:, j])
    return train, test


def row_order(z: np.ndarray, factors: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A seeded random order of the rows that depends only on the *set* of rows.

    Rows are first sorted by their factor values, then by their latent values sorted
    within the row (so neither the order of the rows nor the order of the latent columns
    changes which rows a prefix of the result selects), then permuted with ``rng``.
    """
    keys = (*np.sort(z, axis=1).T[::-1], *np.asarray(factors).T[::-1])
    canonical = np.lexsort(keys)  # the last key is the primary one: factor 0 first
    return canonical[rng.permutation(z.shape[0])]


def check_sizes(num_train: Any, *, name: str = "num_train") -> tuple[int, ...]:
    """Training sizes: an int, a sequence of ints, or a comma list such as ``"10,100"``
    (how ``-O downstream.num_train=10,100`` arrives from the command line); sorted, unique.
    """
    sizes = [num_train] if isinstance(num_train, (int, np.integer)) else num_train
    if isinstance(sizes, str):
        parts = [p.strip() for p in sizes.strip("[]() ").split(",") if p.strip()]
        if not parts or not all(p.isdigit() for p in parts):
            raise LpsInputError(
                f"{name} must be an integer or a list of integers such as 10,100, got {num_train!r}"
            )
        sizes = [int(p) for p in parts]
    if isinstance(sizes, bytes) or not isinstance(sizes, Sequence) or not sizes:
        raise LpsInputError(f"{name} must be an integer or a list of integers, got {num_train!r}")
    return tuple(sorted({check_positive_int(s, name=name, minimum=2) for s in sizes}))


@dataclass(frozen=True)
class Pools:
    """Training and test rows in their draw order, factors as integer codes.

    ``x``/``y``: training codes and factor codes; ``xt``/``yt``: test ones; ``sizes``:
    number of values of each factor; ``continuous``: input indices of the factors that
    were not integer-valued (binned into 20 bins, or left unbinned for an interventional
    metric, which then refuses them); ``columns``: the input column of each latent column
    here. Only the factors the rows can score are here (a constant or ID-like factor is
    left out, :func:`~lps_eval.metrics.common.degenerate_checks`): ``factor_ids`` is the
    input index of each factor column, ``n_factors`` the input's count; :meth:`widen`
    puts per-factor results back at the input indices, NaN at the factors left out.
    """

    data: Prepared
    x: np.ndarray
    y: np.ndarray
    xt: np.ndarray
    yt: np.ndarray
    sizes: list[int]
    continuous: list[int]
    columns: np.ndarray
    factor_ids: np.ndarray
    n_factors: int

    def widen(self, values: np.ndarray, *, axes: tuple[int, ...] = (-1,), fill=np.nan):
        """``values`` (one entry per factor here along ``axes``) at the input's factors."""
        return widen_factors(values, self.factor_ids, self.n_factors, axes=axes, fill=fill)

    def intervention_reason(self, min_rows: int) -> str | None:
        """Why the test rows cannot support interventions on every factor (or None);
        records what :func:`intervention_support` finds in the settings."""
        if self.continuous:
            return (
                f"factor(s) {self.continuous} are continuous (non-integer), so rows sharing a "
                "fixed factor value cannot be drawn; pass discrete factor codes from a "
                "product grid"
            )
        if self.y.shape[1] < 2:
            return "needs at least 2 factors (one to predict, one to intervene on)"
        reason, info = intervention_support(self.yt, min_rows=min_rows)
        self.data.settings.update(info)
        counts = [np.bincount(self.yt[:, j], minlength=k) for j, k in enumerate(self.sizes)]
        ids = self.factor_ids
        short = [(int(ids[j]), int(np.argmin(c)), int(c.min())) for j, c in enumerate(counts)]
        short = [s for s in short if s[2] < min_rows]
        if reason is None and short:
            j, code, count = short[0]
            reason = (
                f"factor {j} value code {code} has {count} held-out row(s) but an "
                f"intervention needs at least {min_rows}; pass more rows (e.g. the full grid)"
            )
        return None if reason is None else f"held-out rows: {reason}"


def split_pools(
    metric: str,
    z: Any,
    factors: Any,
    z_test: Any,
    factors_test: Any,
    *,
    seed: int,
    sample: str,
    params: dict[str, Any],
    test_size: float = 1 / 3,
    interventional: bool = False,
) -> Pools:
    """Validated training and test pools, each in its draw order (see ``sample``).

    ``sample="random"``: a seeded order that depends only on the set of rows (and, when
    no test rows are given, a seeded split of the same kind), so the result is invariant
    to the order of the rows. ``"prefix"``: the rows as given (the first ``n`` training rows
    for size ``n``; what disentanglement_lib sees when its dataset hands out the rows in
    order). ``interventional``: continuous factors are not binned (the metric refuses them).
    The latent columns are put in a canonical order (the probes see the same matrix
    whatever the column order of the input).
    """
    if sample not in SAMPLES:
        raise LpsInputError(f"sample must be one of {SAMPLES}, got {sample!r}")
    data = prepare(
        metric,
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        needs_test=z_test is not None,
        num_train=None,
        min_samples=2,
        params=params,
    )
    rng = data.rng
    zt, ft = data.z_test, data.factors_test
    ztr, ftr = data.z, data.factors
    if zt is None:  # seeded split, invariant to the order of the rows
        n = ztr.shape[0]
        n_test = int(round(n * test_size))
        if n_test < 1 or n - n_test < 2:
            raise LpsInputError(
                f"{metric} needs a test split but {n} samples leave too few rows; pass more "
                "samples or z_test/factors_test explicitly"
            )
        order = row_order(ztr, ftr, rng)
        test_idx, train_idx = order[:n_test], order[n_test:]
        zt, ft, ztr, ftr = ztr[test_idx], ftr[test_idx], ztr[train_idx], ftr[train_idx]
        data.settings.update(split="random", test_size=test_size, n_test_used=int(n_test))
    if sample == "random":
        a, b = row_order(ztr, ftr, rng), row_order(zt, ft, rng)
        ztr, ftr, zt, ft = ztr[a], ftr[a], zt[b], ft[b]
    # A canonical column order (lexicographic in the first rows): tree probes break ties
    # between equal split gains by feature position, so this makes every probe, and the
    # result, exactly invariant to the order of the latent columns.
    columns = np.lexsort(ztr[:64][::-1])
    ztr, zt = ztr[:, columns], zt[:, columns]
    # Only the factors the rows can score: a constant factor would change every probe's
    # draws and its own accuracy would be a trivial 1 (the result is NaN there instead).
    factor_ids = np.flatnonzero(data.scorable())
    ftr, ft = ftr[:, factor_ids], ft[:, factor_ids]
    stacked = np.concatenate([ftr, ft])
    continuous = [
        int(factor_ids[j]) for j in range(stacked.shape[1]) if not is_integer_valued(stacked[:, j])
    ]
    data.settings.update(sample=sample, n_train_used=int(ztr.shape[0]))
    wide = (factor_ids, int(data.factors.shape[1]))
    if interventional and continuous:
        return Pools(data, ztr, ftr, zt, ft, [], continuous, columns, *wide)
    codes, codes_test, sizes = discrete_factor_codes(ftr, ft, n_bins=20, metric=metric)
    return Pools(data, ztr, codes, zt, codes_test, sizes, continuous, columns, *wide)
