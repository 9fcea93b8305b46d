"""LightGBM for LPS with the binning shared by the d per-dimension fits.

The paper's procedure (LPS-lgbm) fits one LightGBM regressor per latent dimension on the
other d-1 columns, and every fit bins its d-1 input columns again. Here the training
matrix is binned **once**: one LightGBM ``Dataset`` over all d columns holds the bin
boundaries, every worker thread builds its own copy from it (``reference=``, so the bins
are identical), and fit ``i`` only swaps the label to column ``i``. Column ``i`` stays
in the dataset but cannot be split on: its split gains are multiplied by 0
(``feature_contri``), which is exactly the same model as dropping the column (tested
against a loop of ``LGBMRegressor`` fits).

The fits run in ``n_jobs`` threads (LightGBM releases the GIL), each fit on one thread:
OpenMP inside small fits on busy cores is slow, and single-threaded fits are
deterministic, so the numbers do not depend on ``n_jobs``.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError
from lps_eval.predictors.base import ColumnwisePredictor
from lps_eval.predictors.sklearn_models import resolve_n_jobs

__all__ = ["SharedBinLightgbm"]


def _import_lightgbm():
    try:
        import lightgbm
    except ImportError:
        raise LpsInputError(
            "predictor 'lightgbm' needs LightGBM: pip install 'lps-eval[lightgbm]'"
        ) from None
    return lightgbm


class SharedBinLightgbm(ColumnwisePredictor):
    """One LightGBM regressor per dimension on one shared binned dataset.

    Parameters
    ----------
    n_estimators, learning_rate, num_leaves, min_child_samples, max_bin
        LightGBM's own defaults (100, 0.1, 31, 20, 255), as in the paper's LPS-lgbm.
    early_stopping : bool, default True
        Hold out ``validation_fraction`` of the training rows (the same seeded rows for
        every dimension), stop after ``n_iter_no_change`` rounds without improvement and
        predict with the best round. The paper leaves this open; without it LightGBM's
        100 rounds fit noise (LPS on independent data about -0.05 at 10,000 rows) and take
        longer. ``False`` gives exactly the models of a loop of default ``LGBMRegressor``.
    validation_fraction : float, default 0.1
    n_iter_no_change : int, default 10
    n_jobs : int, default -1
        Fits run at once (-1: one per core), each single-threaded.
    """

    name = "lightgbm"

    def __init__(
        self,
        *,
        n_estimators: int = 100,
        learning_rate: float = 0.1,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        max_bin: int = 255,
        early_stopping: bool = True,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        n_jobs: int = -1,
    ) -> None:
        _import_lightgbm()
        for key, value, low in (
            ("n_estimators", n_estimators, 1),
            ("num_leaves", num_leaves, 2),
            ("min_child_samples", min_child_samples, 1),
            ("max_bin", max_bin, 2),
            ("n_iter_no_change", n_iter_no_change, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise LpsInputError(f"lightgbm {key} must be an integer >= {low}, got {value!r}")
        if not isinstance(learning_rate, (int, float)) or not learning_rate > 0:
            raise LpsInputError(f"lightgbm learning_rate must be > 0, got {learning_rate!r}")
        if not isinstance(validation_fraction, (int, float)) or not 0 < validation_fraction < 1:
            raise LpsInputError(
                f"lightgbm validation_fraction must be in (0, 1), got {validation_fraction!r}"
            )
        if not isinstance(early_stopping, bool):
            raise LpsInputError(
                f"lightgbm early_stopping must be True or False, got {early_stopping!r}"
            )
        resolve_n_jobs(n_jobs)
        self.params = {
            "n_estimators": n_estimators,
            "learning_rate": float(learning_rate),
            "num_leaves": num_leaves,
            "min_child_samples": min_child_samples,
            "max_bin": max_bin,
            "early_stopping": early_stopping,
            "validation_fraction": float(validation_fraction),
            "n_iter_no_change": n_iter_no_change,
        }
        self.n_jobs = n_jobs

    def settings(self) -> dict[str, Any]:
        lgb = _import_lightgbm()
        return {
            "predictor": self.name,
            "estimator": "lightgbm.train (one shared binned Dataset)",
            "predictor_params": dict(self.params),
            "threads": 1,
            "n_jobs": self.n_jobs,
            "lightgbm_version": lgb.__version__,
        }

    def fit_predict_columns(
        self, train: np.ndarray, test: np.ndarray, targets: np.ndarray, *, seed: int = 0
    ) -> np.ndarray:
        """Predictions for the ``targets`` columns only, shape (n_test, len(targets))."""
        lgb = _import_lightgbm()
        p = self.params
        d = train.shape[1]
        fit_rows, valid_rows = np.arange(train.shape[0]), None
        if p["early_stopping"]:
            rng = np.random.default_rng(seed)
            n_valid = max(1, int(round(p["validation_fraction"] * train.shape[0])))
            order = rng.permutation(train.shape[0])
            valid_rows, fit_rows = np.sort(order[:n_valid]), np.sort(order[n_valid:])
        x_fit = np.ascontiguousarray(train[fit_rows])
        x_valid = None if valid_rows is None else np.ascontiguousarray(train[valid_rows])
        data_params = {"max_bin": p["max_bin"], "verbose": -1, "feature_pre_filter": False}
        base = lgb.Dataset(x_fit, params=data_params, free_raw_data=False).construct()
        train_params = {
            **data_params,
            "objective": "regression",
            "learning_rate": p["learning_rate"],
            "num_leaves": p["num_leaves"],
            "min_child_samples": p["min_child_samples"],
            "num_threads": 1,
            "seed": int(seed) % (2**31 - 1),
            "deterministic": True,
            "force_col_wise": True,
        }
        local = threading.local()

        def datasets(i: int):
            if not hasattr(local, "fit"):  # one binned copy per worker thread
                local.fit = lgb.Dataset(
                    x_fit,
                    label=x_fit[:, i],
                    params=data_params,
                    reference=base,
                    free_raw_data=False,
                ).construct()
                local.valid = None
                if x_valid is not None:
                    local.valid = lgb.Dataset(
                        x_valid,
                        label=x_valid[:, i],
                        params=data_params,
                        reference=local.fit,
                        free_raw_data=False,
                    ).construct()
            local.fit.set_label(x_fit[:, i])
            if local.valid is not None:
                local.valid.set_label(x_valid[:, i])
            return local.fit, local.valid

        def fit_one(i: int) -> np.ndarray:
            fit_set, valid_set = datasets(i)
            contri = [1.0] * d
            contri[i] = 0.0  # column i never splits: the model of z_i uses z_{-i} only
            kwargs: dict[str, Any] = {}
            if valid_set is not None:
                kwargs = {
                    "valid_sets": [valid_set],
                    "callbacks": [lgb.early_stopping(p["n_iter_no_change"], verbose=False)],
                }
            booster = lgb.train(
                {**train_params, "feature_contri": contri},
                fit_set,
                num_boost_round=p["n_estimators"],
                **kwargs,
            )
            return booster.predict(test, num_threads=1)

        jobs = min(resolve_n_jobs(self.n_jobs), len(targets))
        if jobs == 1:
            columns = [fit_one(int(i)) for i in targets]
        else:
            with ThreadPoolExecutor(max_workers=jobs) as pool:
                columns = list(pool.map(fit_one, [int(i) for i in targets]))
        predictions = np.empty((test.shape[0], len(targets)))
        for k, column in enumerate(columns):
            predictions[:, k] = column
        return predictions
