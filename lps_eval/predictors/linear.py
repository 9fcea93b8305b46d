"""All d leave-one-out linear regressions from one covariance matrix and one inverse.

For standardized training data with correlation matrix ``C`` and precision
``P = (C + lambda I)^-1``, the regression of column ``i`` on all other columns has
coefficients ``beta_ij = -P_ij / P_ii`` (j != i): the Schur-complement identity. The
residual of every column at once is therefore

    r = X P / diag(P)            (column-wise division)

so the d regressions cost one ``d x d`` eigendecomposition and one matrix product.
With ``lambda > 0`` this is exactly ridge regression of each column on the others with
penalty ``lambda * n`` on standardized inputs, which keeps near-singular (collinear)
latents well defined. The population value is ``R2_i = 1 - 1 / (S_ii P_ii)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["LinearPredictor", "precision_from_correlation"]


def precision_from_correlation(corr: np.ndarray, ridge: float) -> np.ndarray:
    """``(C + ridge * I)^-1`` by a symmetric eigendecomposition (stable for singular ``C``)."""
    corr = 0.5 * (corr + corr.T)
    eigvals, eigvecs = np.linalg.eigh(corr)
    eigvals = np.clip(eigvals, 0.0, None) + ridge
    return (eigvecs / eigvals) @ eigvecs.T


class LinearPredictor:
    """Closed-form linear (ridge) regression of every column on the others.

    Parameters
    ----------
    ridge : float, default 1e-8
        Ridge added to the correlation matrix. Tiny by default: it only matters when a
        column is (almost) an exact linear combination of the others, where plain least
        squares is undefined.
    """

    name = "linear"

    def __init__(self, *, ridge: float = 1e-8) -> None:
        if not ridge >= 0:
            raise ValueError(f"ridge must be >= 0, got {ridge}")
        self.ridge = float(ridge)

    def settings(self) -> dict[str, Any]:
        return {"predictor": self.name, "ridge": self.ridge}

    def precision(self, train: np.ndarray) -> np.ndarray:
        """Precision matrix of the (standardized) training data."""
        n = train.shape[0]
        centered = train - train.mean(axis=0)
        return self.precision_from_covariance(centered.T @ centered / max(n - 1, 1))

    def precision_from_covariance(self, cov: np.ndarray) -> np.ndarray:
        """Ridge precision from a covariance matrix: the ridge acts on the correlation."""
        scale = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        scale[scale == 0] = 1.0
        corr = cov / np.outer(scale, scale)
        return precision_from_correlation(corr, self.ridge) / np.outer(scale, scale)

    def fit_predict(self, train: np.ndarray, test: np.ndarray, *, seed: int = 0) -> np.ndarray:
        mean = train.mean(axis=0)
        prec = self.precision(train)
        residual = (test - mean) @ prec / np.diag(prec)
        return test - residual
