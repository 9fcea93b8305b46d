"""Load latent arrays and factors from files, safely.

Formats: ``.npy``, ``.npz`` (one array, or the one named by ``key``), ``.csv`` (header
optional), ``.parquet`` (needs pyarrow) and ``.pt`` / ``.pth`` (tensors only, needs torch).
Pickles are never loaded: ``allow_pickle=False`` and ``torch.load(weights_only=True)``.
Every failure is an :class:`~lps_eval.LpsInputError` naming the file and the fix.

A ``.npy`` is memory-mapped: nothing is read until a section asks for rows, and memory
does not grow with the file, so its size is not capped. For the other formats, sizes are
checked before anything is read or inflated: the file size on disk, the
uncompressed sizes an ``.npz`` / ``.pt`` archive declares in its zip headers, and the
row x column count a parquet footer declares, each against ``max_bytes``
(:data:`DEFAULT_MAX_BYTES`, 4 GiB; CLI ``--max-bytes``).

A pandas index written by ``df.to_csv(path)`` (an unnamed first column, or a first
column holding exactly 0..n-1) is dropped with a warning; ``index_col`` says explicitly
which column is the index (or ``False``: none).
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError, LpsInputWarning, as_numpy
from lps_eval.archives import human_bytes, member_names, read_member, read_npy_header

__all__ = [
    "DEFAULT_MAX_BYTES",
    "SUPPORTED_SUFFIXES",
    "check_npz_members",
    "load_array",
    "load_factors",
    "load_npz_arrays",
    "load_table",
    "load_tensors",
]

SUPPORTED_SUFFIXES = (".npy", ".npz", ".csv", ".parquet", ".pt", ".pth")
#: Largest array (in bytes, as stored or declared) a file may hold: 4 GiB.
DEFAULT_MAX_BYTES = 4 * 2**30
#: Array names listed in a message at most (a 5000-key .npz must not print 34 KB).
MAX_LISTED = 10

IndexCol = int | str | bool | None


def load_array(
    path: str | Path,
    key: str | None = None,
    *,
    index_col: IndexCol = None,
    max_bytes: int | None = None,
) -> np.ndarray:
    """Load a 2-D numeric array from a file.

    Parameters
    ----------
    path : str or Path
        File in one of :data:`SUPPORTED_SUFFIXES`.
    key : str, optional
        Array name inside an ``.npz`` file or a dict-of-tensors ``.pt`` file; required when
        the file holds more than one array.
    index_col : int, str, False or None
        CSV / parquet only. None: drop a pandas index column (unnamed first column, or a
        first column equal to 0..n-1) with a warning; False: keep every column; a name or
        position: drop that column.
    max_bytes : int, optional
        Refuse files (and archive members, declared sizes) above this many bytes
        (default :data:`DEFAULT_MAX_BYTES`). Giving it explicitly also accepts ``.npz``
        members with an absurd compression ratio (:mod:`lps_eval.archives`) up to it.

    Returns
    -------
    numpy.ndarray
        The array as stored (dtype preserved); validation happens in the metric.
    """
    array, _ = load_table(path, key=key, index_col=index_col, max_bytes=max_bytes)
    return array


def load_table(
    path: str | Path,
    key: str | None = None,
    *,
    index_col: IndexCol = None,
    max_bytes: int | None = None,
) -> tuple[np.ndarray, list[str] | None]:
    """Load an array plus column names when the file carries them (CSV header, parquet).

    Parameters are those of :func:`load_array`.

    Returns
    -------
    (array, names)
        ``names`` is None when the format has no column names.
    """
    path = Path(path)
    if not str(path).strip() or str(path) == ".":
        raise LpsInputError("no file given; pass the path of an array file")
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
    explicit = max_bytes is not None
    max_bytes = _check_max_bytes(DEFAULT_MAX_BYTES if max_bytes is None else max_bytes)
    if suffix not in (".npz", ".pt", ".pth") and key is not None:
        raise LpsInputError(f"--key is only meaningful for .npz and .pt files, not {suffix}")
    if suffix not in (".csv", ".parquet") and index_col not in (None, False):
        raise LpsInputError(f"--index-col is only meaningful for .csv and .parquet, not {suffix}")
    size = path.stat().st_size
    # npz: members checked one by one; npy: memory-mapped, never loaded whole
    if size > max_bytes and suffix not in (".npz", ".npy"):
        raise LpsInputError(
            f"{path} is {human_bytes(size)} on disk, above the limit of {human_bytes(max_bytes)}; "
            "raise --max-bytes (max_bytes=) if you have the memory"
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
        array, names = loader(
            path, key, index_col=index_col, max_bytes=max_bytes, explicit=explicit
        )
    except LpsInputError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError) as exc:
        raise LpsInputError(f"could not read {path} as {suffix}: {_first_line(exc)}") from None
    return _plain(array, path), names


def load_factors(
    path: str | Path,
    key: str | None = None,
    *,
    index_col: IndexCol = None,
    max_bytes: int | None = None,
) -> tuple[np.ndarray, list[str] | None]:
    """Load ground-truth factors and their names.

    Names come from a CSV header, parquet columns, or, for an ``.npz`` holding several
    1-D arrays of equal length (one per factor) and no ``key``, from the array names.
    """
    path = Path(path)
    if path.suffix.lower() == ".npz" and key is None and path.is_file():
        arrays = load_npz_arrays(path, max_bytes=max_bytes)
        if len(arrays) > 1:
            lengths = {a.shape[0] if a.ndim else -1 for a in arrays.values()}
            if all(a.ndim == 1 for a in arrays.values()) and len(lengths) == 1:
                names = list(arrays)
                return np.column_stack([arrays[k] for k in names]), names
    return load_table(path, key=key, index_col=index_col, max_bytes=max_bytes)


# --------------------------------------------------------------------------- helpers


def _check_max_bytes(max_bytes: Any) -> int:
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)):
        raise LpsInputError(f"max_bytes must be a positive integer, got {max_bytes!r}")
    if max_bytes < 1:
        raise LpsInputError(f"max_bytes must be a positive integer, got {max_bytes}")
    return int(max_bytes)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _listing(names: list[str]) -> str:
    shown = ", ".join(map(str, names[:MAX_LISTED]))
    more = len(names) - MAX_LISTED
    return shown + (f", ... and {more} more" if more > 0 else "")


def _plain(array: Any, path: Path) -> np.ndarray:
    """The loaded object as a plain numeric numpy array, with messages that say what it is."""
    if isinstance(array, np.ndarray) and array.dtype.names:
        raise LpsInputError(
            f"{path} holds a structured array (fields {_listing(list(array.dtype.names))}); "
            "save a plain numeric array, e.g. "
            "numpy.lib.recfunctions.structured_to_unstructured(a)"
        )
    if isinstance(array, np.ndarray) and array.ndim == 0:
        raise LpsInputError(f"{path} holds a scalar, not an array (n_samples, n_dims)")
    if isinstance(array, np.memmap):
        return array  # as_numpy would drop the memmap type (no copy either way)
    return as_numpy(array, name=str(path))


def _load_npy(path: Path, key: str | None, **_: Any):
    with open(path, "rb") as handle:
        if handle.read(6) != b"\x93NUMPY":
            raise LpsInputError(
                f"could not read {path} as .npy: no NumPy header; save with np.save"
            )
        handle.seek(0)
        header = read_npy_header(handle, str(path))
    stored = path.stat().st_size - header.offset
    if header.nbytes > stored:  # memory-mapped, so only a forged or cut file can do this
        raise LpsInputError(
            f"{path} declares shape {header.shape} of {header.dtype} "
            f"({human_bytes(header.nbytes)}) but holds {human_bytes(stored)} of data: the "
            "file is truncated or its header was altered; save the array again"
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
    except Exception as exc:  # a damaged header raises tokenize / syntax errors
        raise LpsInputError(
            f"could not read {path} as .npy: damaged header ({type(exc).__name__}); "
            "save the array again with np.save"
        ) from None


def check_npz_members(
    archive: Any, names: list[str], path: Path, max_bytes: int = DEFAULT_MAX_BYTES
) -> None:
    """Refuse ``.npz`` members whose declared (uncompressed) size in the zip headers is
    above ``max_bytes``, before inflating anything."""
    infos = {i.filename: i for i in archive.zip.infolist()}
    for name in names:
        info = infos.get(f"{name}.npy") or infos.get(name)
        if info is not None and info.file_size > max_bytes:
            raise LpsInputError(
                f"array {name!r} in {path} is {human_bytes(info.file_size)} uncompressed, above "
                f"the limit of {human_bytes(max_bytes)}; raise --max-bytes (max_bytes=) if you "
                "have the memory"
            )


def load_npz_arrays(path: str | Path, *, max_bytes: int | None = None) -> dict[str, np.ndarray]:
    """Every member of an ``.npz`` (e.g. a run's ``latents.npz``), never unpickling.

    Each member is checked before inflating and read into one allocation
    (:func:`lps_eval.archives.read_member`); ``max_bytes`` as in :func:`load_array`.
    """
    path = Path(path)
    explicit = max_bytes is not None
    max_bytes = _check_max_bytes(DEFAULT_MAX_BYTES if max_bytes is None else max_bytes)
    try:
        with zipfile.ZipFile(path) as archive:
            names = member_names(archive)
        return {
            name: read_member(path, name, max_bytes=max_bytes, explicit=explicit) for name in names
        }
    except LpsInputError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as exc:
        raise LpsInputError(f"could not read {path} as .npz: {_first_line(exc)}") from None


def _load_npz(path: Path, key: str | None, *, max_bytes: int, explicit: bool, **_: Any):
    with zipfile.ZipFile(path) as archive:
        names = member_names(archive)
    if not names:
        raise LpsInputError(f"{path} contains no arrays")
    if key is None:
        if len(names) > 1:
            raise LpsInputError(
                f"{path} holds {len(names)} arrays ({_listing(names)}); choose one with --key NAME"
            )
        key = names[0]
    if key not in names:
        raise LpsInputError(f"{path} has no array {key!r}; available: {_listing(names)}")
    value = read_member(path, key, max_bytes=max_bytes, explicit=explicit)
    if value.ndim == 0:
        raise LpsInputError(
            f"array {key!r} in {path} is a scalar, not an array (n_samples, n_dims)"
        )
    return value, None


def _drop_index(frame: Any, path: Path, index_col: IndexCol) -> Any:
    """Drop a pandas index column: explicit (``index_col``) or detected (with a warning)."""
    import pandas as pd

    columns = [str(c) for c in frame.columns]
    if index_col is False:
        return frame
    if index_col is not None:
        position = None
        if isinstance(index_col, str) and index_col in columns:
            position = columns.index(index_col)
        else:
            text = str(index_col)
            if not isinstance(index_col, bool) and text.isdigit() and int(text) < len(columns):
                position = int(text)
        if position is None:
            raise LpsInputError(
                f"--index-col {index_col!r} names no column of {path}; columns: {_listing(columns)}"
            )
        return frame.drop(columns=frame.columns[position])
    if frame.shape[1] < 2:
        return frame
    first = frame.iloc[:, 0]
    name = columns[0]
    unnamed = name == "" or name.startswith("Unnamed: 0") or name == "index"
    as_range = (
        pd.api.types.is_integer_dtype(first)
        and len(first) > 1
        and bool(np.array_equal(first.to_numpy(), np.arange(len(first))))
    )
    if not (unnamed or as_range):
        return frame
    reason = "an unnamed column" if unnamed else "it holds exactly 0..n-1"
    warnings.warn(
        f"{path}: dropped the first column {name!r} as a pandas index ({reason}); pass "
        "--index-col none (index_col=False) to keep it",
        LpsInputWarning,
        stacklevel=4,
    )
    return frame.drop(columns=frame.columns[0])


def _frame_array(frame: Any, path: Path) -> np.ndarray:
    """Numeric frame -> float array; booleans read as 0/1 and missing cells as NaN."""
    import pandas as pd

    if frame.shape[0] == 0:
        raise LpsInputError(f"{path} has a header but no data rows")
    bools = [str(c) for c in frame.columns if pd.api.types.is_bool_dtype(frame[c])]
    non_numeric = [
        str(c)
        for c in frame.columns
        if not (pd.api.types.is_numeric_dtype(frame[c]) or str(c) in bools)
    ]
    if non_numeric:
        raise LpsInputError(
            f"{path} has non-numeric column(s) {non_numeric[:5]}; keep only numeric columns"
        )
    if bools:
        warnings.warn(
            f"{path}: boolean column(s) {bools[:5]} read as 0/1", LpsInputWarning, stacklevel=4
        )
    return frame.to_numpy(dtype=np.float64, na_value=np.nan)


def _csv_parsed_bytes(path: Path) -> int:
    """Size of a CSV once parsed to float64: lines x (fields of the first line) x 8.

    Counted in 16 MiB blocks (no memory beyond one block): a file of short numbers
    ("1,0,1,...") grows about 4x when parsed, so the size on disk alone is not the bound.
    """
    lines = 0
    with open(path, "rb") as handle:
        fields = handle.readline(2**20).count(b",") + 1
        handle.seek(0)
        while block := handle.read(2**24):
            lines += block.count(b"\n")
    return (lines + 1) * fields * 8


def _load_csv(path: Path, key: str | None, *, index_col: IndexCol, max_bytes: int, **_: Any):
    import pandas as pd

    if path.stat().st_size * 4 > max_bytes:  # only files that could parse above the limit
        parsed = _csv_parsed_bytes(path)
        if parsed > max_bytes:
            raise LpsInputError(
                f"{path} parses to about {human_bytes(parsed)} of float64, above the limit of "
                f"{human_bytes(max_bytes)}; raise --max-bytes (max_bytes=) if you have the memory"
            )
    frame = pd.read_csv(path)
    header_is_data = len(frame.columns) > 0 and all(_is_number(c) for c in frame.columns)
    if header_is_data:
        frame = pd.read_csv(path, header=None)
    frame = _drop_index(frame, path, index_col)
    names = None if header_is_data else [str(c) for c in frame.columns]
    return _frame_array(frame, path), names


def _load_parquet(path: Path, key: str | None, *, index_col: IndexCol, max_bytes: int, **_: Any):
    import pandas as pd

    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise LpsInputError("reading .parquet needs pyarrow: pip install 'lps-eval[io]'") from None
    meta = pq.ParquetFile(path).metadata
    declared = meta.num_rows * meta.num_columns * 8
    if declared > max_bytes:
        raise LpsInputError(
            f"{path} declares {meta.num_rows} x {meta.num_columns} values "
            f"({human_bytes(declared)} as float64), above the limit of {human_bytes(max_bytes)}; raise "
            "--max-bytes (max_bytes=) if you have the memory"
        )
    frame = _drop_index(pd.read_parquet(path), path, index_col)
    return _frame_array(frame, path), [str(c) for c in frame.columns]


_PICKLE_HINT = (
    "holds pickled Python objects, which lps-eval will not load (it reads tensors only); "
    "save plain tensors, e.g. torch.save({'z': z.detach().cpu()}, path)"
)


def load_tensors(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, map_location: str = "cpu"):
    """``torch.load(path, weights_only=True)`` with one-line messages and a size check.

    Refuses files that are not ``torch.save`` archives, archives whose declared
    (uncompressed) size is above ``max_bytes``, and pickled objects other than tensors
    (without repeating torch's advice to load them unsafely).
    """
    import torch

    path = Path(path)
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            declared = sum(i.file_size for i in archive.infolist())
        if declared > max_bytes:
            raise LpsInputError(
                f"{path} holds {human_bytes(declared)} uncompressed, above the limit of "
                f"{human_bytes(max_bytes)}; raise --max-bytes (max_bytes=) if you have the memory"
            )
    else:
        with open(path, "rb") as handle:
            magic = handle.read(2)
        if not magic.startswith(b"\x80"):  # neither a torch zip archive nor a legacy pickle
            raise LpsInputError(
                f"could not read {path} as .pt: not a complete file written by torch.save "
                "(truncated or another format)"
            )
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols are noise here
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError / RuntimeError for unsafe content
        text = str(exc)
        if "Weights only load failed" in text or "pickle" in type(exc).__name__.lower():
            raise LpsInputError(f"{path} {_PICKLE_HINT}") from None
        first = _first_line(exc).split(". ")[0]
        raise LpsInputError(f"could not read {path} as .pt: {first}") from None


def _load_torch(path: Path, key: str | None, *, max_bytes: int, **_: Any):
    try:
        import torch
    except ImportError:
        raise LpsInputError("reading .pt needs PyTorch: pip install 'lps-eval[torch]'") from None
    obj = load_tensors(path, max_bytes=max_bytes)
    if isinstance(obj, dict):
        tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
        names = list(map(str, tensors))
        if key is None:
            if len(tensors) != 1:
                raise LpsInputError(
                    f"{path} holds {len(tensors)} tensors ({_listing(names)}); "
                    "choose one with --key NAME"
                )
            key = next(iter(tensors))
        if key not in tensors:
            raise LpsInputError(f"{path} has no tensor {key!r}; available: {_listing(names)}")
        obj = tensors[key]
    if not isinstance(obj, torch.Tensor):
        raise LpsInputError(f"{path} holds a {type(obj).__name__}, not a tensor; save a tensor")
    if obj.layout != torch.strided:
        raise LpsInputError(
            f"{path} holds a sparse tensor ({obj.layout}); save a dense one: "
            "torch.save(t.to_dense(), path)"
        )
    if obj.dtype == torch.bfloat16:
        warnings.warn(
            f"{path} holds bfloat16; converting to float32", LpsInputWarning, stacklevel=4
        )
        obj = obj.float()
    return obj.detach().cpu().numpy(), None


def _is_number(text: object) -> bool:
    try:
        float(str(text))
    except ValueError:
        return False
    return True
