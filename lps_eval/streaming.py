r"""Row-chunked passes over latents that need not fit in memory.

Latents may be an in-memory array, a memory-mapped ``.npy`` (``np.load(mmap_mode="r")``)
or a ``dask.array``. Every helper here reads them in blocks of :data:`CHUNK_ROWS` rows,
converts each block to float64, and combines the blocks in a fixed order, so the result
depends only on the values and the (constant) block size: an in-memory array, a memmap
and a dask array with the same values give bit-identical numbers, and memory is
O(CHUNK_ROWS x d) whatever the number of rows.

Moments are merged with the pairwise update of Chan, Golub and LeVeque (1979, "Updating
formulae and a pairwise algorithm for computing sample variances"): for blocks A and B
with counts :math:`n_A, n_B`, means :math:`\mu_A, \mu_B` and centred cross-products
:math:`M_A, M_B`,

.. math::
   M = M_A + M_B + \frac{n_A n_B}{n_A + n_B} (\mu_B - \mu_A)(\mu_B - \mu_A)^\top,

which stays accurate where the one-pass :math:`\sum x x^\top - n \mu \mu^\top` loses
digits (latents with a large mean).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "CHUNK_ROWS",
    "STREAM_ELEMENTS",
    "Moments",
    "column_moments",
    "column_range",
    "is_dask",
    "iter_chunks",
    "map_rows",
    "read_all",
    "streams",
    "take_rows",
]

#: Rows per block (16 MiB of float64 at d = 32): memory per pass is O(CHUNK_ROWS x d).
CHUNK_ROWS = 1 << 16
#: Scattered rows read from a memmap between two page releases (see :func:`take_rows`).
TAKE_BATCH = 2048
#: Sections that use every row switch to their streamed form above this many values
#: (n x d; 2**24 float64 = 128 MiB). The switch depends on the shape only, never on the
#: array type, so a memmap and the same values in memory take the same path.
STREAM_ELEMENTS = 1 << 24


def is_dask(z: Any) -> bool:
    """True for a ``dask.array.Array`` (checked without importing dask)."""
    return type(z).__module__.split(".")[0] == "dask" and hasattr(z, "compute")


def streams(shape: tuple[int, ...]) -> bool:
    """Whether an array of this shape takes the streamed (chunked) path."""
    return int(shape[0]) * int(np.prod(shape[1:], dtype=np.int64)) > STREAM_ELEMENTS


def _as_float64(block: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(block), dtype=np.float64)


def _release(z: Any, first: int, stop: int) -> None:
    """Drop the pages of rows ``first:stop`` of a memmap from this process (madvise).

    Pages of a read-only file mapping stay in the OS page cache, but while mapped they
    count in the process's resident memory: without this, one pass over a 5 GB file
    would show 5 GB resident. Best effort: a no-op where madvise is unavailable.
    """
    handle = getattr(z, "_mmap", None)  # numpy keeps the mmap object on the memmap
    if handle is None or not hasattr(handle, "madvise") or not hasattr(mmap, "MADV_DONTNEED"):
        return
    if not z.flags.c_contiguous:
        return
    row_bytes = int(z.strides[0])
    start_of_data = int(z.offset) % mmap.ALLOCATIONGRANULARITY  # where row 0 sits in the map
    lo = start_of_data + first * row_bytes
    hi = min(start_of_data + stop * row_bytes, len(handle))
    lo -= lo % mmap.PAGESIZE
    if hi > lo:
        with contextlib.suppress(OSError, ValueError):
            handle.madvise(mmap.MADV_DONTNEED, lo, hi - lo)


def iter_chunks(
    z: Any, *, rows: int | None = None, start: int = 0, stop: int | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """``(first_row, block)`` for blocks of ``rows`` (default :data:`CHUNK_ROWS`) as float64."""
    stop = int(z.shape[0]) if stop is None else stop
    rows = CHUNK_ROWS if rows is None else rows
    for first in range(start, stop, rows):
        last = min(first + rows, stop)
        block = _as_float64(z[first:last])
        if isinstance(z, np.memmap):
            _release(z, first, last)
        yield first, block


def read_all(z: Any) -> np.ndarray:
    """The whole array as a C-contiguous float64 ndarray (one copy at most)."""
    if isinstance(z, np.ndarray) and not isinstance(z, np.memmap):
        return np.ascontiguousarray(z, dtype=np.float64)
    out = np.empty(z.shape, dtype=np.float64)
    for first, block in iter_chunks(z):
        out[first : first + block.shape[0]] = block
    return out


def take_rows(z: Any, index: np.ndarray) -> np.ndarray:
    """Rows ``z[index]`` (in the order of ``index``) as float64, reading only those rows.

    A memmap or dask array is read at the sorted positions (sequential access), then the
    rows are put back in the requested order.
    """
    index = np.asarray(index, dtype=np.int64)
    if isinstance(z, np.ndarray) and not isinstance(z, np.memmap):
        return np.ascontiguousarray(z[index], dtype=np.float64)
    order = np.argsort(index, kind="stable")
    sorted_index = index[order]
    out = np.empty((index.size, *z.shape[1:]), dtype=np.float64)
    # Scattered rows of a memmap: the kernel maps neighbouring cached pages on each fault
    # (fault-around), so release after every small batch, not after a whole block.
    step = TAKE_BATCH if isinstance(z, np.memmap) else CHUNK_ROWS
    for lo in range(0, index.size, step):
        part = sorted_index[lo : lo + step]
        out[order[lo : lo + step]] = _as_float64(z[part])
        if isinstance(z, np.memmap) and part.size:
            _release(z, int(part[0]), int(part[-1]) + 1)
    return out


def map_rows(z: Any, func: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``func`` applied to every block (a per-row value, e.g. a sort key), concatenated."""
    return np.concatenate([np.asarray(func(block)) for _, block in iter_chunks(z)])


@dataclass(frozen=True)
class Moments:
    """Count, column means and centred cross-product matrix of a set of rows."""

    n: int
    mean: np.ndarray
    cross: np.ndarray

    def covariance(self, ddof: int = 1) -> np.ndarray:
        """``cross / (n - ddof)``."""
        return self.cross / max(self.n - ddof, 1)

    def variance(self, ddof: int = 0) -> np.ndarray:
        """Diagonal of :meth:`covariance`."""
        return np.diag(self.cross) / max(self.n - ddof, 1)

    def merge(self, other: Moments) -> Moments:
        """Moments of the union of two disjoint row sets (Chan et al. 1979)."""
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / n)
        cross = self.cross + other.cross + np.outer(delta, delta) * (self.n * other.n / n)
        return Moments(n, mean, cross)

    @staticmethod
    def of(block: np.ndarray) -> Moments:
        """Moments of one in-memory block."""
        n = block.shape[0]
        if n == 0:
            d = block.shape[1]
            return Moments(0, np.zeros(d), np.zeros((d, d)))
        mean = block.mean(axis=0)
        centred = block - mean
        return Moments(n, mean, centred.T @ centred)


#: Whole-array summaries kept for arrays that cannot change (see :func:`_memo_key`).
_MEMO: OrderedDict[Hashable, Any] = OrderedDict()
_MEMO_SIZE = 32
_MEMO_LOCK = threading.Lock()


def _memo_key(z: Any) -> Hashable | None:
    """Identity of the *contents* of a read-only memmap or a dask array, else None.

    A read-only memmap is identified by its file (device, inode, size, modification time)
    and by where and how its rows sit in the mapping; a dask array by its graph token,
    which dask derives from its inputs. An in-memory array can be changed in place, so
    nothing is remembered for it (its passes are fast anyway).
    """
    if isinstance(z, np.memmap) and not z.flags.writeable and z.filename:
        try:
            st = os.stat(z.filename)
        except OSError:
            return None
        address = z.__array_interface__["data"][0]
        return ("memmap", st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, address,
                z.shape, z.strides, z.dtype.str)  # fmt: skip
    if is_dask(z):
        return ("dask", z.name)
    return None


def _memoized(z: Any, what: Hashable, compute: Callable[[], Any]) -> Any:
    """``compute()``, remembered per array for read-only memmaps and dask arrays.

    Several sections of one ``score`` need the same column ranges and moments; on a file
    larger than memory every recomputation is a full read of the file.
    """
    key = _memo_key(z)
    if key is None:
        return compute()
    key = (key, CHUNK_ROWS)  # the blocks fix the rounding of moments
    with _MEMO_LOCK:
        if (key, what) in _MEMO:
            _MEMO.move_to_end((key, what))
            return _MEMO[(key, what)]
    value = compute()
    with _MEMO_LOCK:
        _MEMO[(key, what)] = value
        while len(_MEMO) > _MEMO_SIZE:
            _MEMO.popitem(last=False)
    return value


def column_moments(z: Any, *, columns: np.ndarray | None = None) -> Moments:
    """Means and centred cross-products of ``z`` in one chunked pass.

    Parameters
    ----------
    z : array-like (n, d)
    columns : array of int, optional
        Only these columns.

    Returns
    -------
    Moments
        Remembered for a read-only memmap or a dask array (one pass per file).
    """
    what = ("moments", None if columns is None else tuple(int(c) for c in columns))
    moments = _memoized(z, what, lambda: _column_moments(z, columns))
    return Moments(moments.n, moments.mean.copy(), moments.cross.copy())


def _column_moments(z: Any, columns: np.ndarray | None) -> Moments:
    total: Moments | None = None
    for _, block in iter_chunks(z):
        if columns is not None:
            block = block[:, columns]
        part = Moments.of(block)
        total = part if total is None else total.merge(part)
    assert total is not None  # at least one row (validated by the caller)
    return total


def column_range(z: Any) -> tuple[np.ndarray, np.ndarray]:
    """Per-column minimum and maximum in one chunked pass.

    A NaN anywhere in a column makes its minimum and maximum NaN, and an infinity shows
    as one of them, so the range also tells whether every value is finite. Remembered
    for a read-only memmap or a dask array (one pass per file).
    """
    low, high = _memoized(z, "range", lambda: _column_range(z))
    return low.copy(), high.copy()


def _column_range(z: Any) -> tuple[np.ndarray, np.ndarray]:
    low = high = None
    for _, block in iter_chunks(z):
        b_low, b_high = block.min(axis=0), block.max(axis=0)
        low = b_low if low is None else np.minimum(low, b_low)
        high = b_high if high is None else np.maximum(high, b_high)
    return low, high
