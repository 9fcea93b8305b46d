"""The predictor contract used by LPS.

A predictor turns a train and a test matrix (already standardized by the caller) into
held-out predictions for every column, each column predicted **only from the other
columns**. Implementations may loop over the d target columns (nonlinear models) but
never over samples.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = ["Predictor"]


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
