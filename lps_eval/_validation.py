"""Input validation, done once at the boundary.

Every public entry point passes user arrays through :func:`check_latents` (and
:func:`check_factors` when factors are involved). Problems raise
:class:`LpsInputError`, a :class:`ValueError` whose message names the problem and the
fix in one line, so the CLI can print it verbatim and exit with status 2.
Recoverable oddities (integer or float16 dtypes) are converted with a warning.
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Any

import numpy as np

__all__ = [
    "LpsDeprecationWarning",
    "LpsInputError",
    "LpsInputWarning",
    "as_numpy",
    "check_bool",
    "check_factors",
    "check_fraction",
    "check_latents",
    "check_permutations",
    "check_positive_int",
    "check_scale",
]


class LpsInputError(ValueError):
    """Bad input: the message names the problem and how to fix it."""


class LpsInputWarning(UserWarning):
    """Input was accepted after a well-defined conversion or adjustment."""


class LpsDeprecationWarning(FutureWarning):
    """A renamed option or moved name was used; it keeps working for one more release.

    A ``FutureWarning`` (shown by default), because the people who must act on it are
    the users of scripts and CI configurations, not only library developers.
    """


def _unmasked(x: np.ma.MaskedArray, name: str) -> np.ndarray:
    """The data of a masked array whose mask hides nothing; otherwise refuse.

    A mask can mean missing, censored or invalid: lps-eval does not guess which, and
    scoring the hidden values as if they were data would be silent garbage.
    """
    mask = np.ma.getmaskarray(x)
    if mask.any():
        rows = int(mask.reshape(mask.shape[0], -1).any(axis=1).sum()) if mask.ndim else 1
        raise LpsInputError(
            f"{name} is a masked array with {int(mask.sum())} masked value(s) in {rows} "
            f"row(s); drop those rows ({name}[~np.ma.getmaskarray({name}).any(axis=1)].data) "
            f"or fill them ({name}.filled(value)) first"
        )
    return np.ma.getdata(x)


def as_numpy(x: Any, *, name: str = "z") -> np.ndarray:
    """Convert lists, pandas objects and torch tensors to a numpy array (no copy if possible).

    A masked array is accepted only when its mask hides nothing (see :func:`_unmasked`).
    """
    if isinstance(x, np.ma.MaskedArray):
        x = _unmasked(x, name)
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch tensor, without importing torch
        if str(getattr(x, "layout", "torch.strided")) != "torch.strided":
            raise LpsInputError(f"{name} is a sparse tensor; pass a dense one (t.to_dense())")
        if str(getattr(x, "dtype", "")) == "torch.bfloat16":  # numpy has no bfloat16
            warnings.warn(
                f"{name} has dtype bfloat16; converting to float32", LpsInputWarning, stacklevel=3
            )
            x = x.float()
        x = x.detach().cpu().numpy()
    elif hasattr(x, "to_numpy"):  # pandas DataFrame / Series
        arr = x.to_numpy()
        if arr.dtype == object:  # nullable Int64 / boolean columns: pd.NA becomes NaN
            # text columns stay object and are reported as non-numeric below
            with contextlib.suppress(TypeError, ValueError):
                arr = x.to_numpy(dtype=np.float64, na_value=np.nan)
        x = arr
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise LpsInputError(
            f"{name} could not be read as a rectangular array ({exc}); pass a 2-D numeric "
            "array with one row per sample"
        ) from None
    if arr.dtype.names:
        raise LpsInputError(
            f"{name} is a structured array (fields {', '.join(arr.dtype.names[:10])}); pass a "
            "plain numeric array, e.g. numpy.lib.recfunctions.structured_to_unstructured(a)"
        )
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
    check_scale(arr, name=name)
    _check_size(arr.shape, name=name, min_samples=min_samples, min_dims=min_dims)
    return np.ascontiguousarray(arr)


def _check_lazy(z: Any, *, name: str, min_samples: int, min_dims: int) -> Any:
    """:func:`check_latents` without a wholesale copy: shape and dtype, then finiteness by chunk."""
    from lps_eval.streaming import column_range, is_dask, iter_chunks

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
    # One streamed pass (remembered per file): a NaN or inf shows in the column ranges.
    low, high = column_range(arr)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        bad_rows, first_bad = 0, -1
        for first, block in iter_chunks(arr):  # only on the error path: count the rows
            bad = np.flatnonzero(~np.isfinite(block).all(axis=1))
            if bad.size:
                first_bad = first + int(bad[0]) if first_bad < 0 else first_bad
                bad_rows += bad.size
        raise LpsInputError(
            f"{name} contains NaN or inf in {bad_rows} row(s) (first: row {first_bad}); "
            f"drop or impute them, e.g. {name}[np.isfinite({name}).all(axis=1)]"
        )
    check_ranges(np.asarray(low, float), np.asarray(high, float), name=name)
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


#: Largest magnitude accepted in latents: squared distances and variances (about the
#: square times d) must stay far from float64 overflow (1.8e308).
MAX_MAGNITUDE = 1e100
#: Smallest non-zero spread (max - min) of a latent dimension: below it, squares
#: underflow to 0 and kernel widths, variances and R2 become 0 / 0.
MIN_SPREAD = 1e-100


def check_scale(arr: np.ndarray, *, name: str = "z") -> None:
    """Refuse finite values whose squares overflow or underflow float64.

    Values above :data:`MAX_MAGNITUDE` in magnitude, or a non-constant dimension whose
    spread is below :data:`MIN_SPREAD`, would turn kernel sums, covariances and R2 into
    inf / NaN (or a division by zero); the fix is a rescaling, which only the user can
    choose because the prior-matching numbers depend on the scale.
    """
    if arr.size == 0:
        return
    check_ranges(arr.min(axis=0), arr.max(axis=0), name=name)


def check_ranges(low: np.ndarray, high: np.ndarray, *, name: str = "z") -> None:
    """:func:`check_scale` from per-column minima and maxima (streamed inputs)."""
    peak = max(float(high.max()), -float(low.min()))
    if peak > MAX_MAGNITUDE:
        raise LpsInputError(
            f"{name} has values up to {peak:.3g} in magnitude, above {MAX_MAGNITUDE:g}: "
            f"squared distances would overflow; rescale it (e.g. {name} / {name}.std(axis=0))"
        )
    spread = high - low
    tiny = np.flatnonzero((spread > 0) & (spread < MIN_SPREAD))
    if tiny.size:
        raise LpsInputError(
            f"{name} has dimension(s) with a spread below {MIN_SPREAD:g} (dimension "
            f"{tiny[0]}: {spread[tiny[0]]:.3g}): squares underflow to 0; rescale it "
            f"(e.g. {name} / {name}.std(axis=0))"
        )


def check_bool(value: Any, *, name: str) -> bool:
    """Validate a flag: True/False only (a string such as 'abc' is not silently True)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise LpsInputError(f"{name} must be true or false, got {value!r}")


def constant_columns(z: Any) -> np.ndarray:
    """Indices of columns whose values are all equal (streamed for a memmap or dask array)."""
    from lps_eval.streaming import column_range

    low, high = column_range(z)
    return np.flatnonzero(high - low == 0)


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


def check_positive_int(
    value: Any, *, name: str, minimum: int = 1, maximum: int | None = None
) -> int:
    """Validate an integer option such as ``n_boot`` or ``max_samples`` (optionally capped)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise LpsInputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise LpsInputError(f"{name} must be an integer >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise LpsInputError(f"{name} must be at most {maximum}, got {value}")
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


#: Largest permutation count accepted (p-values resolve 1e-5; more is wasted time).
MAX_PERMUTATIONS = 100_000


def check_permutations(permutations: Any) -> int:
    """A permutation-test size: an integer in [0, :data:`MAX_PERMUTATIONS`] (0 skips it)."""
    if (
        isinstance(permutations, bool)
        or not isinstance(permutations, (int, np.integer))
        or not 0 <= permutations <= MAX_PERMUTATIONS
    ):
        raise LpsInputError(
            f"permutations must be an integer in [0, {MAX_PERMUTATIONS}] (0 skips the test), "
            f"got {permutations!r}"
        )
    return int(permutations)
