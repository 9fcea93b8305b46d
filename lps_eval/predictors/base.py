"""The predictor contract used by LPS.

A predictor turns a train and a test matrix (already standardized by the caller) into
held-out predictions for every column, each column predicted **only from the other
columns**. Implementations may loop over the d target columns (nonlinear models) but
never over samples.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["ColumnwisePredictor", "Predictor"]


@runtime_checkable
class Predictor(Protocol):
    """Predicts every column of ``test`` from its other columns, after fitting on ``train``."""

    name: str

    def settings(self) -> dict[str, Any]:
        """Hyper-parameters to record in results (JSON-serializable)."""

    def fit_predict(self, train: np.ndarray, test: np.ndarray, *, seed: int) -> np.ndarray:
        """Return predictions of shape ``test.shape``.

        Column ``i`` of the output must not depend on column ``i`` of the inputs.
        ``seed`` seeds every random choice of the fit.
        """


class ColumnwisePredictor:
    """Base for predictors that fit one model per target column.

    Subclasses implement ``fit_predict_columns(train, test, targets, *, seed)``;
    :meth:`fit_predict` predicts every column, and LPS's null level can ask for a subset.
    """

    def fit_predict(self, train: np.ndarray, test: np.ndarray, *, seed: int = 0) -> np.ndarray:
        return self.fit_predict_columns(train, test, np.arange(train.shape[1]), seed=seed)

    def fit_predict_columns(
        self, train: np.ndarray, test: np.ndarray, targets: np.ndarray, *, seed: int = 0
    ) -> np.ndarray:  # pragma: no cover - abstract
        """Predictions for the ``targets`` columns only, shape (n_test, len(targets))."""
        raise NotImplementedError
