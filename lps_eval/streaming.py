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
import itertools
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
#: Scattered rows of a memmap read per batch (see :func:`take_rows`): the pread spans of a
#: batch, or in the fallback through the map, the rows read between two page releases.
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


# ----------------------------------------------------------------- reading a memmap
#
# A memory-mapped file's pages count in the process's resident memory (RSS) for as long as
# they are mapped, and the kernel maps far more than the bytes asked for: a scattered row
# faults in its whole page-cache folio (measured: 120-500 KiB per 256-byte row on Linux
# 6.x), so 2,048 scattered rows of a 5 GB file showed 1 GB resident. Reading the rows with
# pread() into our own buffers gives the same bytes (so the same numbers) and leaves
# nothing mapped: RSS then holds only the arrays we allocate, whatever the kernel's folio
# and readahead policy. Mappings we cannot read that way (a view whose rows are not
# contiguous in the file, a copy-on-write map, no pread) fall back to the mapping, with
# the pages released after each block (madvise).

#: Rows closer than this many bytes apart in the file are read by one pread (span).
MERGE_GAP_BYTES = 4096


@dataclass(frozen=True)
class _FileRows:
    """Where the rows of a C-contiguous memmap lie in its file."""

    path: str
    row0: int  # byte position of row 0 in the file
    row_bytes: int
    dtype: np.dtype
    row_shape: tuple[int, ...]


def _file_rows(z: Any) -> _FileRows | None:
    """How to read ``z``'s rows with pread, or None when it must be read through its map."""
    if not isinstance(z, np.memmap) or not hasattr(os, "preadv") or z.ndim < 1:
        return None
    handle, path = getattr(z, "_mmap", None), getattr(z, "filename", None)
    # "c" is copy-on-write: changes live in the map only, never in the file
    if handle is None or not path or getattr(z, "mode", "r") == "c" or not z.flags.c_contiguous:
        return None
    try:
        probe = np.frombuffer(handle, dtype=np.uint8, count=1)  # the map's first byte
        map_address = probe.__array_interface__["data"][0]
        del probe  # a live export would keep the map from being closed
        size = os.stat(path).st_size
    except (ValueError, TypeError, OSError):
        return None
    map_start = int(z.offset) - int(z.offset) % mmap.ALLOCATIONGRANULARITY  # numpy's rule
    row0 = map_start + (z.__array_interface__["data"][0] - map_address)
    row_bytes = int(z.dtype.itemsize * np.prod(z.shape[1:], dtype=np.int64))
    if row0 < 0 or row0 + int(z.shape[0]) * row_bytes > size:
        return None
    return _FileRows(str(path), row0, row_bytes, z.dtype, tuple(z.shape[1:]))


def _pread_exactly(fd: int, buffer: memoryview, position: int) -> None:
    done = 0
    while done < len(buffer):
        got = os.preadv(fd, [buffer[done:]], position + done)
        if got == 0:
            raise OSError(f"unexpected end of file at byte {position + done}")
        done += got


def _read_span(fd: int, layout: _FileRows, first: int, stop: int) -> np.ndarray:
    """Rows ``first:stop`` of the file as an array of the file's dtype (a fresh buffer)."""
    raw = np.empty((stop - first) * layout.row_bytes, dtype=np.uint8)
    _pread_exactly(fd, memoryview(raw), layout.row0 + first * layout.row_bytes)
    return raw.view(layout.dtype).reshape((stop - first, *layout.row_shape))


def _read_rows(layout: _FileRows, sorted_index: np.ndarray) -> np.ndarray:
    """Rows at ascending positions ``sorted_index`` as float64, one pread per span.

    Rows closer than :data:`MERGE_GAP_BYTES` are read together (the bytes between them
    are read and dropped), so a span costs one system call, and a span never holds more
    than ``len(sorted_index) * (row_bytes + MERGE_GAP_BYTES)`` bytes.
    """
    gap_rows = np.diff(sorted_index) - 1
    breaks = np.flatnonzero(gap_rows * layout.row_bytes > MERGE_GAP_BYTES) + 1
    bounds = np.concatenate([[0], breaks, [sorted_index.size]])
    out = np.empty((sorted_index.size, *layout.row_shape), dtype=np.float64)
    fd = os.open(layout.path, os.O_RDONLY)
    try:
        for lo, hi in itertools.pairwise(bounds):
            first, last = int(sorted_index[lo]), int(sorted_index[hi - 1]) + 1
            span = _read_span(fd, layout, first, last)
            out[lo:hi] = span[sorted_index[lo:hi] - first]
    finally:
        os.close(fd)
    return out


def _release(z: Any, first: int, stop: int) -> None:
    """Drop the pages of rows ``first:stop`` of a memmap from this process (madvise).

    The fallback for memmaps read through their map (see :func:`_file_rows`). Pages of a
    file mapping stay in the OS page cache, but while mapped they count in the process's
    resident memory. Never on a copy-on-write map (it would discard changes made in
    memory); best effort: a no-op where madvise is unavailable.
    """
    handle = getattr(z, "_mmap", None)  # numpy keeps the mmap object on the memmap
    if handle is None or not hasattr(handle, "madvise") or not hasattr(mmap, "MADV_DONTNEED"):
        return
    if getattr(z, "mode", "r") == "c" or z.strides[0] <= 0:
        return
    try:
        probe = np.frombuffer(handle, dtype=np.uint8, count=1)
        map_address = probe.__array_interface__["data"][0]
        del probe
    except (ValueError, TypeError):
        return
    start_of_rows = z.__array_interface__["data"][0] - map_address  # row 0, in the map
    row_bytes = int(z.strides[0])
    lo = start_of_rows + first * row_bytes
    hi = min(start_of_rows + stop * row_bytes, len(handle))
    lo -= lo % mmap.PAGESIZE
    if hi > lo:
        with contextlib.suppress(OSError, ValueError):
            handle.madvise(mmap.MADV_DONTNEED, lo, hi - lo)


def iter_chunks(
    z: Any, *, rows: int | None = None, start: int = 0, stop: int | None = None
) -> Iterator[tuple[int, np.ndarray]]:
    """``(first_row, block)`` for blocks of ``rows`` (default :data:`CHUNK_ROWS`) as float64.

    A memmap is read with pread (nothing stays mapped; see :func:`_file_rows`); each block
    is a new array, never a view of ``z``.
    """
    stop = int(z.shape[0]) if stop is None else stop
    rows = CHUNK_ROWS if rows is None else rows
    layout = _file_rows(z)
    for first in range(start, stop, rows):
        last = min(first + rows, stop)
        if layout is not None:
            fd = os.open(layout.path, os.O_RDONLY)  # per block: no descriptor outlives it
            try:
                block = _as_float64(_read_span(fd, layout, first, last))
            finally:
                os.close(fd)
        else:
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
    rows are put back in the requested order; a memmap's rows are read with pread, a few
    at a time (nothing of the file stays resident).
    """
    index = np.asarray(index, dtype=np.int64)
    if isinstance(z, np.ndarray) and not isinstance(z, np.memmap):
        return np.ascontiguousarray(z[index], dtype=np.float64)
    if index.size and (index.min() < -z.shape[0] or index.max() >= z.shape[0]):
        raise IndexError(f"row index out of range for {z.shape[0]} rows")
    index = np.where(index < 0, index + z.shape[0], index)
    order = np.argsort(index, kind="stable")
    sorted_index = index[order]
    out = np.empty((index.size, *z.shape[1:]), dtype=np.float64)
    layout = _file_rows(z)
    # Scattered rows of a map: the kernel maps a whole folio around each one, so pread (or
    # in the fallback, release after every small batch, not after a whole block).
    step = TAKE_BATCH if isinstance(z, np.memmap) else CHUNK_ROWS
    for lo in range(0, index.size, step):
        part = sorted_index[lo : lo + step]
        if layout is not None:
            out[order[lo : lo + step]] = _read_rows(layout, part)
            continue
        out[order[lo : lo + step]] = _as_float64(z[part])
        if isinstance(z, np.memmap) and part.size:
            _release(z, int(part[0]), int(part[-1]) + 1)
    return out


def map_rows(z: Any, func: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``func`` applied to every block (a per-row value, e.g. a sort key), in row order.

    The output is allocated once and filled block by block (no list of blocks to join).
    """
    out = None
    for first, block in iter_chunks(z):
        part = np.asarray(func(block))
        if out is None:
            out = np.empty((int(z.shape[0]), *part.shape[1:]), dtype=part.dtype)
        out[first : first + part.shape[0]] = part
    if out is None:  # no rows
        return np.asarray(func(np.empty((0, *z.shape[1:]))))
    return out


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
