"""Input validation, done once at the boundary.

Every public entry point passes user arrays through :func:`check_latents` (and
:func:`check_factors` when factors are involved). Problems raise
:class:`LpsInputError`, a :class:`ValueError` whose message names the problem and the
fix in one line, so the CLI can print it verbatim and exit with status 2.
Recoverable oddities (integer or float16 dtypes) are converted with a warning.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

__all__ = [
    "LpsInputError",
    "LpsInputWarning",
    "as_numpy",
    "check_factors",
    "check_fraction",
    "check_latents",
    "check_positive_int",
]


class LpsInputError(ValueError):
    """Bad input: the message names the problem and how to fix it."""


class LpsInputWarning(UserWarning):
    """Input was accepted after a well-defined conversion or adjustment."""


def as_numpy(x: Any, *, name: str = "z") -> np.ndarray:
    """Convert lists, pandas objects and torch tensors to a numpy array (no copy if possible)."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch tensor, without importing torch
        x = x.detach().cpu().numpy()
    elif hasattr(x, "to_numpy"):  # pandas DataFrame / Series
        x = x.to_numpy()
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise LpsInputError(
            f"{name} could not be read as a rectangular array ({exc}); pass a 2-D numeric "
            "array with one row per sample"
        ) from None
    if arr.dtype == object:
        raise LpsInputError(
            f"{name} is an object array; pass a numeric array (float32 or float64), "
            "e.g. np.asarray(z, dtype=float)"
        )
    return arr


def _to_float(arr: np.ndarray, *, name: str) -> np.ndarray:
    kind = arr.dtype.kind
    if kind == "b" or kind in "iu":
        warnings.warn(
            f"{name} has dtype {arr.dtype}; converting to float64",
            LpsInputWarning,
            stacklevel=4,
        )
        return arr.astype(np.float64)
    if kind == "f":
        if arr.dtype.itemsize < 4:
            warnings.warn(
                f"{name} has dtype {arr.dtype}; converting to float64 (float16 is too coarse "
                "for covariance and kernel sums)",
                LpsInputWarning,
                stacklevel=4,
            )
            return arr.astype(np.float64)
        return arr.astype(np.float64, copy=False)
    if kind == "c":
        raise LpsInputError(f"{name} is complex; pass real-valued latents (e.g. np.real(z))")
    raise LpsInputError(f"{name} has non-numeric dtype {arr.dtype}; pass a numeric array of floats")


def check_latents(
    z: Any,
    *,
    name: str = "z",
    min_samples: int = 2,
    min_dims: int = 1,
    lazy: bool = False,
) -> Any:
    """Validate latent codes and return them as a C-contiguous float64 array.

    Parameters
    ----------
    z : array-like of shape (n_samples, n_dims)
        Rows are samples, columns are latent dimensions.
    name : str
        Name used in error messages.
    min_samples : int
        Fewest rows the caller can work with.
    min_dims : int
        Fewest columns the caller can work with (LPS needs 2).
    lazy : bool, default False
        Validate in row chunks and return the array itself (a memmap or ``dask.array``
        stays one; nothing is copied wholesale). For callers that read rows through
        :mod:`lps_eval.streaming`.

    Raises
    ------
    LpsInputError
        NaN or inf values, wrong number of dimensions, empty input, too few samples or
        dimensions, object / non-numeric dtypes.
    """
    if lazy:
        return _check_lazy(z, name=name, min_samples=min_samples, min_dims=min_dims)
    arr = as_numpy(z, name=name)
    if arr.ndim == 1:
        raise LpsInputError(
            f"{name} is 1-D with shape {arr.shape}; pass a 2-D array (n_samples, n_dims), "
            "e.g. z.reshape(-1, 1) for a single dimension"
        )
    if arr.ndim != 2:
        raise LpsInputError(
            f"{name} has {arr.ndim} dimensions with shape {arr.shape}; pass a 2-D array "
            "(n_samples, n_dims), e.g. z.reshape(len(z), -1)"
        )
    if arr.size == 0:
        raise LpsInputError(f"{name} is empty (shape {arr.shape}); pass at least one sample")
    arr = _to_float(arr, name=name)
    finite = np.isfinite(arr)
    if not finite.all():
        bad_rows = np.flatnonzero(~finite.all(axis=1))
        raise LpsInputError(
            f"{name} contains NaN or inf in {bad_rows.size} row(s) (first: row {bad_rows[0]}); "
            f"drop or impute them, e.g. {name}[np.isfinite({name}).all(axis=1)]"
        )
    _check_size(arr.shape, name=name, min_samples=min_samples, min_dims=min_dims)
    return np.ascontiguousarray(arr)


def _check_lazy(z: Any, *, name: str, min_samples: int, min_dims: int) -> Any:
    """:func:`check_latents` without a wholesale copy: shape and dtype, then finiteness by chunk."""
    from lps_eval.streaming import is_dask, iter_chunks

    arr = z if isinstance(z, np.memmap) or is_dask(z) else as_numpy(z, name=name)
    if arr.ndim != 2 or arr.size == 0:
        return check_latents(np.empty(arr.shape, dtype=arr.dtype), name=name)  # its message
    kind = arr.dtype.kind
    if kind == "b" or kind in "iu" or (kind == "f" and arr.dtype.itemsize < 4):
        warnings.warn(
            f"{name} has dtype {arr.dtype}; converting to float64", LpsInputWarning, stacklevel=3
        )
    elif kind != "f":
        _to_float(np.empty((0, 0), dtype=arr.dtype), name=name)  # raises with its message
    bad_rows, first_bad = 0, -1
    for first, block in iter_chunks(arr):
        rows_ok = np.isfinite(block).all(axis=1)
        if not rows_ok.all():
            bad = np.flatnonzero(~rows_ok)
            first_bad = first + int(bad[0]) if first_bad < 0 else first_bad
            bad_rows += bad.size
    if bad_rows:
        raise LpsInputError(
            f"{name} contains NaN or inf in {bad_rows} row(s) (first: row {first_bad}); "
            f"drop or impute them, e.g. {name}[np.isfinite({name}).all(axis=1)]"
        )
    _check_size(arr.shape, name=name, min_samples=min_samples, min_dims=min_dims)
    return arr


def _check_size(shape: tuple[int, ...], *, name: str, min_samples: int, min_dims: int) -> None:
    n, d = shape
    if n < min_samples:
        raise LpsInputError(
            f"{name} has {n} samples but at least {min_samples} are needed; encode more data"
        )
    if d < min_dims:
        raise LpsInputError(
            f"{name} has {d} dimension(s) but at least {min_dims} are needed "
            "(predicting a dimension from the others needs 2 or more)"
        )


def constant_columns(z: np.ndarray) -> np.ndarray:
    """Indices of columns whose values are all equal."""
    return np.flatnonzero(np.ptp(z, axis=0) == 0)


def check_factors(factors: Any, *, n_samples: int, name: str = "factors") -> np.ndarray:
    """Validate ground-truth factors: shape (n_samples, n_factors), finite, numeric.

    A 1-D array is taken as a single factor. Integer-valued floats are kept as floats;
    callers that need discrete codes discretize them explicitly.
    """
    arr = as_numpy(factors, name=name)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise LpsInputError(
            f"{name} has shape {arr.shape}; pass a 2-D array (n_samples, n_factors)"
        )
    if arr.size == 0:
        raise LpsInputError(f"{name} is empty (shape {arr.shape}); pass at least one factor")
    if arr.shape[0] != n_samples:
        raise LpsInputError(
            f"{name} has {arr.shape[0]} rows but the latents have {n_samples}; pass one row "
            "of factors per latent sample, in the same order"
        )
    if arr.dtype.kind not in "biuf":
        raise LpsInputError(f"{name} has non-numeric dtype {arr.dtype}; pass numeric factors")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise LpsInputError(f"{name} contains NaN or inf; drop those rows from both arrays")
    return np.ascontiguousarray(arr)


def check_positive_int(value: Any, *, name: str, minimum: int = 1) -> int:
    """Validate an integer option such as ``n_boot`` or ``max_samples``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise LpsInputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise LpsInputError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_fraction(value: Any, *, name: str) -> float:
    """Validate a fraction in the open interval (0, 1), such as ``test_size``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise LpsInputError(f"{name} must be a number in (0, 1), got {value!r}") from None
    if not 0.0 < v < 1.0:
        raise LpsInputError(f"{name} must be in (0, 1), got {value}")
    return v
