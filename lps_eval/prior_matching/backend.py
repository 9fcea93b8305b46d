"""A tiny array-namespace layer: one implementation for numpy arrays and torch tensors.

The differentiable MMD (:func:`lps_eval.prior_matching.mmd2`) and the kernels'
:meth:`~lps_eval.prior_matching.kernels.Kernel.from_sqdist` are written once against the
operations listed in :data:`OPERATIONS` (as POT does); ``tests/test_backend.py`` checks
every one of them on torch against numpy. :func:`namespace` picks the backend from the inputs: numpy arrays
get :data:`NUMPY`, torch tensors get a torch backend, so a torch input keeps its autograd
graph and device. torch is imported lazily: the numpy core never imports it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError

__all__ = ["NUMPY", "OPERATIONS", "is_torch", "namespace"]

#: The interface every backend implements (and nothing more).
OPERATIONS = (
    "sqdist",
    "zero_diagonal",
    "exp",
    "sqrt",
    "sum",
    "mean",
    "rowsum",
    "zero",
    "to_numpy",
    "as_float",
    "center",
)


def is_torch(x: Any) -> bool:
    """True for a torch tensor, decided without importing torch."""
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


class _NumpyBackend:
    """numpy operations used by the kernels and the differentiable MMD."""

    name = "numpy"

    @staticmethod
    def sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Squared distances ``||a_i - b_j||^2`` clipped at 0, shape (len(a), len(b))."""
        d2 = a @ b.T
        d2 *= -2.0
        d2 += np.einsum("ij,ij->i", a, a)[:, None]
        d2 += np.einsum("ij,ij->i", b, b)[None, :]
        np.maximum(d2, 0.0, out=d2)
        return d2

    @staticmethod
    def zero_diagonal(d2: np.ndarray, offset: int) -> np.ndarray:
        """Set ``d2[i, i + offset] = 0`` (the block of a matrix against itself)."""
        rows = np.arange(min(d2.shape[0], d2.shape[1] - offset))
        d2[rows, rows + offset] = 0.0
        return d2

    exp = staticmethod(np.exp)
    sqrt = staticmethod(np.sqrt)

    @staticmethod
    def sum(a: np.ndarray) -> np.ndarray:
        return np.sum(a)

    @staticmethod
    def mean(a: np.ndarray, axis: int | None = None) -> np.ndarray:
        return np.mean(a, axis=axis)

    @staticmethod
    def rowsum(a: np.ndarray) -> np.ndarray:
        return np.sum(a, axis=1)

    @staticmethod
    def zero(like: np.ndarray) -> np.ndarray:
        return np.float64(0.0)

    @staticmethod
    def to_numpy(a: Any) -> np.ndarray:
        return np.asarray(a)

    @staticmethod
    def as_float(a: Any) -> float:
        return float(a)

    @staticmethod
    def center(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Subtract the pooled mean (translation invariance; fewer rounding errors)."""
        mu = (a.sum(axis=0) + b.sum(axis=0)) / (a.shape[0] + b.shape[0])
        return a - mu, b - mu


class _TorchBackend:
    """The same operations on torch tensors (autograd-friendly, device-preserving)."""

    name = "torch"

    def __init__(self) -> None:
        import torch

        self.torch = torch

    def sqdist(self, a: Any, b: Any) -> Any:
        d2 = (a * a).sum(dim=1)[:, None] + (b * b).sum(dim=1)[None, :] - 2.0 * (a @ b.T)
        return self.torch.clamp_min(d2, 0.0)

    def zero_diagonal(self, d2: Any, offset: int) -> Any:
        torch = self.torch
        n = min(d2.shape[0], d2.shape[1] - offset)
        rows = torch.arange(n, device=d2.device)
        mask = torch.ones(d2.shape, dtype=torch.bool, device=d2.device)
        mask[rows, rows + offset] = False
        return torch.where(mask, d2, torch.zeros((), dtype=d2.dtype, device=d2.device))

    def exp(self, a: Any) -> Any:
        return self.torch.exp(a)

    def sqrt(self, a: Any) -> Any:
        # clamp keeps the gradient finite at zero distance (the distance kernel's diagonal)
        return self.torch.sqrt(self.torch.clamp_min(a, 1e-30))

    def sum(self, a: Any) -> Any:
        return a.sum()

    def mean(self, a: Any, axis: int | None = None) -> Any:
        return a.mean() if axis is None else a.mean(dim=axis)

    def rowsum(self, a: Any) -> Any:
        return a.sum(dim=1)

    def zero(self, like: Any) -> Any:
        return self.torch.zeros((), dtype=like.dtype, device=like.device)

    @staticmethod
    def to_numpy(a: Any) -> np.ndarray:
        return a.detach().cpu().numpy()

    @staticmethod
    def as_float(a: Any) -> float:
        return float(a.detach().cpu()) if hasattr(a, "detach") else float(a)

    @staticmethod
    def center(a: Any, b: Any) -> tuple[Any, Any]:
        mu = (a.sum(dim=0) + b.sum(dim=0)) / (a.shape[0] + b.shape[0])
        return a - mu, b - mu


NUMPY = _NumpyBackend()
_TORCH: _TorchBackend | None = None


def namespace(*arrays: Any) -> Any:
    """The backend for ``arrays``: all numpy arrays or all torch tensors.

    Raises
    ------
    LpsInputError
        Mixed numpy and torch inputs.
    """
    flags = [is_torch(a) for a in arrays]
    if all(flags):
        global _TORCH
        if _TORCH is None:
            _TORCH = _TorchBackend()
        return _TORCH
    if any(flags):
        raise LpsInputError(
            "inputs mix torch tensors and numpy arrays; pass both as tensors (differentiable "
            "loss) or both as numpy arrays"
        )
    return NUMPY
