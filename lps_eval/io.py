"""Load latent arrays and factors from files, safely.

Formats: ``.npy``, ``.npz`` (one array, or the one named by ``key``), ``.csv`` (header
optional), ``.parquet`` (needs pyarrow) and ``.pt`` / ``.pth`` (tensors only, needs torch).
Pickles are never loaded: ``allow_pickle=False`` and ``torch.load(weights_only=True)``.
Every failure is an :class:`~lps_eval.LpsInputError` naming the file and the fix.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from lps_eval._validation import LpsInputError, as_numpy

__all__ = ["SUPPORTED_SUFFIXES", "load_array", "load_factors", "load_table"]

SUPPORTED_SUFFIXES = (".npy", ".npz", ".csv", ".parquet", ".pt", ".pth")


def load_array(path: str | Path, key: str | None = None) -> np.ndarray:
    """Load a 2-D numeric array from a file.

    Parameters
    ----------
    path : str or Path
        File in one of :data:`SUPPORTED_SUFFIXES`.
    key : str, optional
        Array name inside an ``.npz`` file or a dict-of-tensors ``.pt`` file; required when
        the file holds more than one array.

    Returns
    -------
    numpy.ndarray
        The array as stored (dtype preserved); validation happens in the metric.
    """
    array, _ = load_table(path, key=key)
    return array


def load_table(path: str | Path, key: str | None = None) -> tuple[np.ndarray, list[str] | None]:
    """Load an array plus column names when the file carries them (CSV header, parquet).

    Returns
    -------
    (array, names)
        ``names`` is None when the format has no column names.
    """
    path = Path(path)
    if not path.exists():
        raise LpsInputError(f"file not found: {path}; check the path")
    if path.is_dir():
        raise LpsInputError(
            f"{path} is a directory; pass an array file ({', '.join(SUPPORTED_SUFFIXES)})"
        )
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise LpsInputError(
            f"unsupported file type {suffix or '(none)'!r} for {path}; "
            f"use one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    loader = {
        ".npy": _load_npy,
        ".npz": _load_npz,
        ".csv": _load_csv,
        ".parquet": _load_parquet,
        ".pt": _load_torch,
        ".pth": _load_torch,
    }[suffix]
    try:
        array, names = loader(path, key)
    except LpsInputError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LpsInputError(f"could not read {path} as {suffix}: {first}") from None
    if suffix not in (".npz", ".pt", ".pth") and key is not None:
        raise LpsInputError(f"--key is only meaningful for .npz and .pt files, not {suffix}")
    if isinstance(array, np.memmap):
        return array, names  # as_numpy would drop the memmap type (no copy either way)
    return as_numpy(array, name=str(path)), names


def load_factors(path: str | Path, key: str | None = None) -> tuple[np.ndarray, list[str] | None]:
    """Load ground-truth factors and their names.

    Names come from a CSV header, parquet columns, or, for an ``.npz`` holding several
    1-D arrays of equal length (one per factor) and no ``key``, from the array names.
    """
    path = Path(path)
    if path.suffix.lower() == ".npz" and key is None and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except (OSError, ValueError, zipfile.BadZipFile) as exc:
            raise LpsInputError(f"could not read {path} as .npz: {exc}") from None
        if len(arrays) > 1:
            lengths = {a.shape[0] if a.ndim else -1 for a in arrays.values()}
            if all(a.ndim == 1 for a in arrays.values()) and len(lengths) == 1:
                names = list(arrays)
                return np.column_stack([arrays[k] for k in names]), names
    return load_table(path, key=key)


def _load_npy(path: Path, key: str | None):
    with open(path, "rb") as handle:
        if handle.read(6) != b"\x93NUMPY":
            raise LpsInputError(
                f"could not read {path} as .npy: no NumPy header; save with np.save"
            )
    try:
        # Memory-mapped: sections read only the rows they use, or stream in chunks.
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False), None
        except ValueError as exc:
            if "pickle" in str(exc).lower():
                raise
            # an empty array cannot be mapped: read it normally (its own checks apply)
            return np.load(path, allow_pickle=False), None
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise LpsInputError(
                f"{path} holds Python objects (a pickle); save a numeric array instead "
                "(np.save(path, np.asarray(z, dtype=np.float32)))"
            ) from None
        raise


def _load_npz(path: Path, key: str | None):
    with np.load(path, allow_pickle=False) as archive:
        names = list(archive.files)
        if not names:
            raise LpsInputError(f"{path} contains no arrays")
        if key is None:
            if len(names) > 1:
                raise LpsInputError(
                    f"{path} holds several arrays ({', '.join(names)}); choose one with --key NAME"
                )
            key = names[0]
        if key not in names:
            raise LpsInputError(f"{path} has no array {key!r}; available: {', '.join(names)}")
        try:
            return archive[key], None
        except ValueError as exc:
            if "pickle" in str(exc).lower():
                raise LpsInputError(
                    f"array {key!r} in {path} holds Python objects; save numeric arrays"
                ) from None
            raise


def _load_csv(path: Path, key: str | None):
    import pandas as pd

    frame = pd.read_csv(path)
    header_is_data = all(_is_number(c) for c in frame.columns)
    if header_is_data:
        frame = pd.read_csv(path, header=None)
        names = None
    else:
        names = [str(c) for c in frame.columns]
    non_numeric = [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise LpsInputError(
            f"{path} has non-numeric column(s) {non_numeric[:5]}; keep only numeric columns"
        )
    return frame.to_numpy(), names


def _load_parquet(path: Path, key: str | None):
    import pandas as pd

    try:
        frame = pd.read_parquet(path)
    except ImportError:
        raise LpsInputError("reading .parquet needs pyarrow: pip install 'lps-eval[io]'") from None
    non_numeric = [str(c) for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise LpsInputError(
            f"{path} has non-numeric column(s) {non_numeric[:5]}; keep only numeric columns"
        )
    return frame.to_numpy(), [str(c) for c in frame.columns]


def _load_torch(path: Path, key: str | None):
    try:
        import torch
    except ImportError:
        raise LpsInputError("reading .pt needs PyTorch: pip install 'lps-eval[torch]'") from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError / RuntimeError for unsafe content
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LpsInputError(
            f"could not read {path} as tensors only (weights_only=True): {first[:200]}; "
            "save a tensor or a dict of tensors with torch.save"
        ) from None
    if isinstance(obj, dict):
        tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        if key is None:
            if len(tensors) != 1:
                raise LpsInputError(
                    f"{path} holds {len(tensors)} tensors ({', '.join(map(str, tensors))}); "
                    "choose one with --key NAME"
                )
            key = next(iter(tensors))
        if key not in tensors:
            raise LpsInputError(
                f"{path} has no tensor {key!r}; available: {', '.join(map(str, tensors))}"
            )
        obj = tensors[key]
    if not isinstance(obj, torch.Tensor):
        raise LpsInputError(f"{path} holds a {type(obj).__name__}, not a tensor; save a tensor")
    return obj.detach().cpu().numpy(), None


def _is_number(text: object) -> bool:
    try:
        float(str(text))
    except ValueError:
        return False
    return True
