"""Probes of growing capacity for the capacity-based metrics (DCI-ES explicitness, the probe
ladder): closed-form ridge fits on the latents and on seeded random Fourier features.

Every fit is one linear solve for all factors at once (multi-output least squares), so a
whole ladder of capacities costs a few matrix products. Random Fourier features
(Rahimi & Recht 2007) approximate a Gaussian-kernel regression whose capacity grows with
the number of features; the ladder's rung of width ``m`` uses the latents plus the first
``m`` features of one seeded draw, so the rungs are nested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError

__all__ = [
    "FeatureLadder",
    "int_sequence",
    "one_hot",
    "r2_loss",
    "ridge_fit_predict",
    "standardize_pair",
]

#: Ridge strength relative to the mean diagonal of the Gram matrix (a numerical guard,
#: not a regularizer: it keeps the solve stable when features are nearly collinear).
RIDGE = 1e-6


def int_sequence(value: Any, *, name: str, minimum: int = 0) -> tuple[int, ...]:
    """A tuple of integers from a sequence, a single integer or the CLI's comma-separated
    text (``-O dci_es.widths=0,16,256``); anything else is refused with one clear line."""
    items = value.split(",") if isinstance(value, str) else np.atleast_1d(value).tolist()
    out = []
    for item in items:
        try:
            number = int(str(item).strip()) if isinstance(item, str) else item
        except ValueError:
            number = None
        if (
            isinstance(number, bool)
            or not isinstance(number, (int, np.integer))
            or number < minimum
        ):
            raise LpsInputError(
                f"{name} must be integers >= {minimum} (a list, or comma-separated text such "
                f"as '0,16,256'), got {value!r}"
            )
        out.append(int(number))
    return tuple(out)


def standardize_pair(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale both arrays with the training rows' mean and std (constant
    columns are centred only)."""
    mean = train.mean(axis=0)
    std = train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return (train - mean) / std, (test - mean) / std


def ridge_fit_predict(
    train: np.ndarray, targets: np.ndarray, test: np.ndarray, *, ridge: float = RIDGE
) -> np.ndarray:
    """Least squares with an intercept (centred features, tiny ridge), all targets at once.

    Returns the predictions for ``test`` (n_test, n_targets).
    """
    mean_x = train.mean(axis=0)
    mean_y = targets.mean(axis=0)
    xc = train - mean_x
    gram = xc.T @ xc
    scale = np.trace(gram) / max(gram.shape[0], 1)
    gram[np.diag_indices_from(gram)] += ridge * (scale if scale > 0 else 1.0)
    try:
        coef = np.linalg.solve(gram, xc.T @ (targets - mean_y))
    except np.linalg.LinAlgError:  # pragma: no cover - singular despite the ridge
        coef = np.linalg.lstsq(xc, targets - mean_y, rcond=None)[0]
    return (test - mean_x) @ coef + mean_y


def r2_loss(truth: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """``1 - R^2`` per column (test-set variance in the denominator, as ``r2_score``);
    NaN for a constant column."""
    sse = np.sum((truth - prediction) ** 2, axis=0)
    sst = np.sum((truth - truth.mean(axis=0)) ** 2, axis=0)
    return np.where(sst > 0, sse / np.where(sst > 0, sst, 1.0), np.nan)


def one_hot(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Indicator matrix of integer codes ``0..n_classes-1``."""
    out = np.zeros((codes.size, n_classes))
    out[np.arange(codes.size), codes] = 1.0
    return out


@dataclass(frozen=True)
class FeatureLadder:
    """Nested feature maps: rung ``m`` = standardized latents + the first ``m`` random
    Fourier features :math:`\\sqrt{2/m}\\cos(zW + b)`, :math:`W \\sim N(0, \\sigma^{-2})`,
    :math:`b \\sim U(0, 2\\pi)`, :math:`\\sigma` the median distance between training rows."""

    widths: tuple[int, ...]
    weights: np.ndarray
    offsets: np.ndarray
    bandwidth: float

    @classmethod
    def draw(
        cls, train: np.ndarray, widths: tuple[int, ...], rng: np.random.Generator
    ) -> FeatureLadder:
        n, d = train.shape
        rows = rng.choice(n, size=min(n, 1000), replace=False)
        sample = train[rows]
        sq = (sample**2).sum(axis=1)
        dist2 = sq[:, None] + sq[None, :] - 2.0 * sample @ sample.T  # no (n, n, d) array
        upper = np.sqrt(np.maximum(dist2[np.triu_indices(len(rows), k=1)], 0.0))
        median = float(np.median(upper)) if upper.size else 0.0
        bandwidth = median if median > 0 else 1.0
        width = max(widths)
        weights = rng.standard_normal((d, width)) / bandwidth
        offsets = rng.uniform(0.0, 2 * np.pi, size=width)
        return cls(tuple(widths), weights, offsets, bandwidth)

    def features(self, z: np.ndarray, width: int) -> np.ndarray:
        if width == 0:
            return z
        proj = z @ self.weights[:, :width] + self.offsets[:width]
        return np.hstack([z, np.sqrt(2.0 / width) * np.cos(proj)])

    def n_parameters(self, n_dims: int, width: int) -> int:
        """Weights and intercept of one output of the rung's linear read-out."""
        return n_dims + width + 1
