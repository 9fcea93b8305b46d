"""Nonlinear predictors built from scikit-learn (and LightGBM) regressors.

One regressor per target dimension, each fitted on the other d-1 columns. The loop runs
over the d dimensions only; each fit is vectorized inside the library.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError
from lps_eval.predictors.base import ColumnwisePredictor

__all__ = [
    "CORES_PER_MODEL",
    "SklearnPredictor",
    "cores_per_model",
    "hgb",
    "knn",
    "mlp",
    "resolve_n_jobs",
]


#: Cores that ``n_jobs=-1`` means in this context (None: every core of the machine). A
#: sweep that runs several models at once sets it to 1 around each model: models are then
#: the unit of parallel work. The numbers never depend on it (every fit is seeded alike).
CORES_PER_MODEL: ContextVar[int | None] = ContextVar("lps_eval_cores_per_model", default=None)


@contextmanager
def cores_per_model(cores: int | None) -> Iterator[None]:
    """Within the block, ``n_jobs=-1`` uses ``cores`` worker threads (None: every core)."""
    token = CORES_PER_MODEL.set(cores)
    try:
        yield
    finally:
        CORES_PER_MODEL.reset(token)


def resolve_n_jobs(n_jobs: Any) -> int:
    """Worker threads for the per-dimension fits: ``-1`` = every core, else a count >= 1."""
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or (n_jobs < 1 and n_jobs != -1):
        raise LpsInputError(f"n_jobs must be -1 (all cores) or an integer >= 1, got {n_jobs!r}")
    if n_jobs != -1:
        return n_jobs
    return CORES_PER_MODEL.get() or os.cpu_count() or 1


class SklearnPredictor(ColumnwisePredictor):
    """Wrap any scikit-learn regressor: clone it once per target dimension.

    Parameters
    ----------
    estimator : sklearn regressor
        Unfitted estimator; cloned for every dimension. If it has a ``random_state``
        parameter it is set from the seed (seed + dimension index), so fits are reproducible.
    name : str, optional
        Name recorded in the results (default: the estimator's class name).
    threads : int or None, default 1
        Native (OpenMP / BLAS) threads per fit. The d fits are small, and OpenMP on busy
        or oversubscribed cores slows HistGradientBoosting and LightGBM down by 10-20x
        (measured on 2 cores), so one thread per fit is the robust default. None leaves
        the libraries' own defaults.
    rollback : bool, default False
        For early-stopped boosting (``validation_score_``): predict with the iteration that
        scored best on the validation rows, not the last one (scikit-learn keeps the
        ``n_iter_no_change`` iterations after the best, which fit noise).
    n_jobs : int, default 1
        Per-dimension fits run in this many threads at once (-1: one per core). Every fit
        is seeded by the seed alone and runs single-threaded, so the numbers do not
        depend on ``n_jobs``.
    """

    def __init__(
        self,
        estimator: Any,
        *,
        name: str | None = None,
        threads: int | None = 1,
        n_jobs: int = 1,
        rollback: bool = False,
    ) -> None:
        if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
            raise LpsInputError(
                f"predictor {estimator!r} has no fit/predict; pass a predictor name "
                "(linear, hgb, mlp, knn, lightgbm, torch) or a scikit-learn regressor"
            )
        self.estimator = estimator
        self.name = name or type(estimator).__name__
        self.threads = threads
        self.n_jobs = n_jobs
        self.rollback = rollback
        resolve_n_jobs(n_jobs)

    def check_params(self) -> None:
        """Validate the estimator's parameters now (one clear line), not at the first fit.

        Uses scikit-learn's own parameter constraints when the estimator declares them.
        """
        validate = getattr(self.estimator, "_validate_params", None)
        # LightGBM inherits _validate_params from scikit-learn but declares no constraints
        if not callable(validate) or not hasattr(self.estimator, "_parameter_constraints"):
            return
        try:
            validate()
        except (TypeError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise LpsInputError(f"predictor {self.name!r}: {first}") from None

    def settings(self) -> dict[str, Any]:
        params = {
            k: v
            for k, v in self.estimator.get_params(deep=False).items()
            if isinstance(v, (int, float, str, bool, type(None)))
        }
        return {
            "predictor": self.name,
            "estimator": type(self.estimator).__name__,
            "predictor_params": params,
            "threads": self.threads,
            "n_jobs": self.n_jobs,
            **({"rollback_to_best_iteration": True} if self.rollback else {}),
        }

    def fit_predict_columns(
        self, train: np.ndarray, test: np.ndarray, targets: np.ndarray, *, seed: int = 0
    ) -> np.ndarray:
        """Predictions for the ``targets`` columns only, shape (n_test, len(targets))."""
        from sklearn.base import clone
        from threadpoolctl import threadpool_limits

        d = train.shape[1]
        jobs = min(resolve_n_jobs(self.n_jobs), len(targets))
        if self.threads is None and jobs > 1:
            jobs = 1  # library threads and our threads would oversubscribe the cores

        def fit_one(i: int) -> np.ndarray:
            others = np.delete(np.arange(d), i)
            model = clone(self.estimator)
            if "random_state" in model.get_params(deep=False):
                # One seed for every target: results depend neither on which targets are
                # fitted nor on the order of the dimensions.
                model.set_params(random_state=seed % (2**31 - 1))
            limit = nullcontext()
            if self.threads is not None and jobs > 1:  # OpenMP limits are per thread
                limit = threadpool_limits(limits=self.threads, user_api="openmp")
            try:
                with limit:
                    model.fit(train[:, others], train[:, i])
                    if self.rollback:
                        return _best_iteration_predict(model, test[:, others], train[:, i].mean())
                    return model.predict(test[:, others])
            except ValueError as exc:  # options that do not fit this data (n_neighbors > n)
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else "ValueError"
                raise LpsInputError(f"predictor {self.name!r} could not fit: {first}") from None

        limit = nullcontext() if self.threads is None else threadpool_limits(limits=self.threads)
        with limit:
            if jobs == 1:
                columns = [fit_one(int(i)) for i in targets]
            else:
                with ThreadPoolExecutor(max_workers=jobs) as pool:
                    columns = list(pool.map(fit_one, [int(i) for i in targets]))
        predictions = np.empty((test.shape[0], len(targets)))
        for k, column in enumerate(columns):
            predictions[:, k] = column
        return predictions


def _best_iteration_predict(model: Any, x: np.ndarray, y_mean: float) -> np.ndarray:
    """Predictions of a boosted model truncated at its best validation iteration.

    When no iteration beats the constant start, the prediction is the training mean.
    """
    scores = getattr(model, "validation_score_", None)
    if scores is None or len(scores) < 2:
        return model.predict(x)
    best = int(np.argmax(scores))  # scores[0] is the constant baseline, before iteration 1
    if best == len(scores) - 1:
        return model.predict(x)
    if best == 0:
        return np.full(x.shape[0], float(y_mean))
    for stage, pred in enumerate(model.staged_predict(x), start=1):
        if stage == best:
            return pred
    return model.predict(x)


def hgb(
    *,
    max_iter: int = 100,
    learning_rate: float = 0.1,
    max_leaf_nodes: int = 31,
    min_samples_leaf: int = 20,
    early_stopping: bool = True,
    validation_fraction: float = 0.1,
    n_iter_no_change: int = 10,
    n_jobs: int = -1,
) -> SklearnPredictor:
    """Histogram gradient boosting (``HistGradientBoostingRegressor``): the default nonlinear
    predictor.

    Chosen from measurements (``python benchmarks/bench_lps.py --part predictors``, docs/lps.md): with early
    stopping on an internal validation split it is the fastest accurate option, and it
    overfits least on independent data (null level closest to 0). Trees are invariant to
    monotone rescaling of inputs.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor

    est = HistGradientBoostingRegressor(
        max_iter=max_iter,
        learning_rate=learning_rate,
        max_leaf_nodes=max_leaf_nodes,
        min_samples_leaf=min_samples_leaf,
        early_stopping=early_stopping,
        validation_fraction=validation_fraction,
        n_iter_no_change=n_iter_no_change,
    )
    return SklearnPredictor(est, name="hgb", n_jobs=n_jobs, rollback=early_stopping)


def mlp(
    *,
    hidden_layer_sizes: tuple[int, ...] = (64, 64),
    max_iter: int = 200,
    early_stopping: bool = True,
    alpha: float = 1e-4,
    n_jobs: int = -1,
) -> SklearnPredictor:
    """A small multilayer perceptron per dimension (the paper's LPS-mlp variant)."""
    from sklearn.neural_network import MLPRegressor

    est = MLPRegressor(
        hidden_layer_sizes=hidden_layer_sizes,
        max_iter=max_iter,
        early_stopping=early_stopping,
        alpha=alpha,
    )
    return SklearnPredictor(est, name="mlp", n_jobs=n_jobs)


def knn(*, n_neighbors: int = 20, weights: str = "distance", n_jobs: int = -1) -> SklearnPredictor:
    """k-nearest-neighbour regression: assumption-free but weak in high dimension."""
    from sklearn.neighbors import KNeighborsRegressor

    return SklearnPredictor(
        KNeighborsRegressor(n_neighbors=n_neighbors, weights=weights), name="knn", n_jobs=n_jobs
    )
