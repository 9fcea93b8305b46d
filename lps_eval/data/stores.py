"""Where a dataset's pixels live, read by index with bounded memory.

A *store* holds ``n`` images of one shape and returns any rows as float32 (n, C, H, W)
in [0, 1] (:meth:`PixelStore.read`). Big files stay on disk:

* :class:`RawFileStore`: a C-order uint8 array at a byte offset of a file (a ``.npy``, or
  a stored member of an ``.npz`` such as MPI3D), read with positioned reads of only the
  requested rows; nothing is memory-mapped, so the resident memory is the rows asked for;
* :class:`H5Store`: an HDF5 dataset (3D Shapes' ``images``), read row runs by slice;
* :class:`ArrayStore`: an in-memory array (small sets, caches);
* :class:`PackedBitsStore`: binary images packed 8 pixels per byte (dSprites: 377 MB in
  memory instead of 3 GB).

Derived files (images resized or decoded once from the official files) are written with
:func:`write_npy_cache`: chunk by chunk, to a temporary name, fsynced and renamed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError
from lps_eval.data.base import FactorDataset, ImageSource

__all__ = [
    "ArrayStore",
    "H5Store",
    "PackedBitsStore",
    "PixelStore",
    "RawFileStore",
    "StoredFactorDataset",
    "StoredImages",
    "area_resize",
    "cache_file",
    "npy_store",
    "row_runs",
    "write_npy_cache",
]


def row_runs(index: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Sorted unique rows of ``index``, the inverse map, and their contiguous runs.

    Returns ``(unique, inverse, runs)`` with ``unique[inverse] == index`` and ``runs`` a
    list of ``(start, stop)`` row ranges covering ``unique``.
    """
    index = np.asarray(index, dtype=np.int64).ravel()
    unique, inverse = np.unique(index, return_inverse=True)
    if unique.size == 0:
        return unique, inverse, []
    breaks = np.flatnonzero(np.diff(unique) != 1) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [unique.size]])
    return (
        unique,
        inverse,
        [(int(unique[a]), int(unique[b - 1]) + 1) for a, b in zip(starts, stops, strict=True)],
    )


def _to_float(pixels: np.ndarray, layout: str) -> np.ndarray:
    """uint8 rows in ``layout`` ("NHWC", "NCHW" or "NHW") -> float32 (n, C, H, W) / 255."""
    if layout == "NHWC":
        pixels = pixels.transpose(0, 3, 1, 2)
    elif layout == "NHW":
        pixels = pixels[:, None]
    out = np.empty(pixels.shape, dtype=np.float32)
    np.multiply(pixels, np.float32(1.0 / 255.0), out=out, casting="unsafe")
    return out


@dataclass(frozen=True)
class PixelStore:
    """``n`` uint8 images of shape ``row_shape`` in ``layout``; :meth:`read` by index."""

    n: int
    row_shape: tuple[int, ...]
    layout: str  # "NHWC", "NCHW" or "NHW"

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of the images :meth:`read` returns."""
        if self.layout == "NHWC":
            h, w, c = self.row_shape
            return (c, h, w)
        if self.layout == "NHW":
            return (1, *self.row_shape)
        return tuple(self.row_shape)  # type: ignore[return-value]

    def _rows(self, start: int, stop: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def read(self, index: np.ndarray) -> np.ndarray:
        """Images ``index`` as float32 (n, C, H, W) in [0, 1] (any order, repeats allowed)."""
        index = np.asarray(index, dtype=np.int64)
        if index.size and (index.min() < 0 or index.max() >= self.n):
            raise LpsInputError(f"image index outside 0..{self.n - 1}")
        _, inverse, runs = row_runs(index)
        if not runs:
            return np.zeros((0, *self.image_shape), dtype=np.float32)
        pixels = np.concatenate([self._rows(a, b) for a, b in runs])
        return _to_float(pixels[inverse], self.layout)


@dataclass(frozen=True)
class ArrayStore(PixelStore):
    """An in-memory uint8 array."""

    array: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 1), np.uint8))

    def _rows(self, start: int, stop: int) -> np.ndarray:
        return self.array[start:stop]


@dataclass(frozen=True)
class PackedBitsStore(PixelStore):
    """Binary images packed along the last axis with :func:`numpy.packbits`."""

    packed: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 1), np.uint8))

    def _rows(self, start: int, stop: int) -> np.ndarray:
        width = self.row_shape[-1]
        bits = np.unpackbits(self.packed[start:stop], axis=-1, count=width)
        return bits * np.uint8(255)  # 0/1 pixels as 0/255, like every other store


@dataclass(frozen=True)
class RawFileStore(PixelStore):
    """A C-order uint8 array at byte ``offset`` of ``path``, read with positioned reads."""

    path: Path = Path()
    offset: int = 0

    def _rows(self, start: int, stop: int) -> np.ndarray:
        row_bytes = int(np.prod(self.row_shape))
        size = (stop - start) * row_bytes
        buf = bytearray(size)
        with open(self.path, "rb", buffering=0) as fh:
            fh.seek(self.offset + start * row_bytes)
            view, got = memoryview(buf), 0
            while got < size:
                n = fh.readinto(view[got:])
                if not n:
                    raise LpsInputError(
                        f"{self.path} ends early (rows {start}..{stop}); the file is truncated, "
                        "download it again"
                    )
                got += n
        return np.frombuffer(buf, dtype=np.uint8).reshape((stop - start, *self.row_shape))


@dataclass(frozen=True)
class H5Store(PixelStore):
    """An HDF5 dataset read by row runs (h5py, an optional dependency)."""

    path: Path = Path()
    key: str = "images"
    _handle: list[Any] = field(default_factory=list, repr=False, compare=False)

    def _dataset(self) -> Any:
        if not self._handle:
            import h5py

            self._handle.append(h5py.File(self.path, "r")[self.key])
        return self._handle[0]

    def _rows(self, start: int, stop: int) -> np.ndarray:
        return np.asarray(self._dataset()[start:stop], dtype=np.uint8)

    def __getstate__(self) -> dict[str, Any]:  # an open HDF5 handle does not travel
        state = dict(self.__dict__)
        state["_handle"] = []
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def npy_store(path: Path, layout: str) -> RawFileStore:
    """A :class:`RawFileStore` over a uint8 C-order ``.npy`` file (header parsed, no pickle)."""
    from lps_eval.data.formats import read_npy_header

    with open(path, "rb") as fh:
        shape, fortran, dtype = read_npy_header(fh, str(path))
        offset = fh.tell()
    if dtype != np.uint8 or fortran or len(shape) < 3:
        raise LpsInputError(f"{path}: expected a C-order uint8 image array, got {dtype} {shape}")
    return RawFileStore(shape[0], tuple(shape[1:]), layout, path=path, offset=offset)


def write_npy_cache(path: Path, shape: tuple[int, ...], chunks: Iterable[np.ndarray]) -> Path:
    """Write a uint8 ``.npy`` of ``shape`` from row ``chunks``: temporary name, fsync, rename.

    Plain writes, no memory map: the resident memory is one chunk.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part{os.getpid()}")
    written = 0
    try:
        with open(tmp, "wb") as fh:
            header = {"descr": "|u1", "fortran_order": False, "shape": tuple(shape)}
            np.lib.format.write_array_header_1_0(fh, header)
            for chunk in chunks:
                chunk = np.ascontiguousarray(chunk, dtype=np.uint8)
                fh.write(chunk.tobytes())
                written += chunk.shape[0]
            fh.flush()
            os.fsync(fh.fileno())
        if written != shape[0]:
            raise LpsInputError(f"{path.name}: wrote {written} rows, expected {shape[0]}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of box (area) resampling: overlap of output and input pixels."""
    edges = np.linspace(0.0, n_in, n_out + 1)
    lo, hi = edges[:-1, None], edges[1:, None]
    pix = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, pix + 1) - np.maximum(lo, pix), 0.0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def area_resize(images: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize uint8 images (n, H, W) or (n, H, W, C) by area averaging, vectorized.

    Each output pixel is the mean of the input area it covers (Pillow's ``BOX`` filter):
    ``out = A_h @ img @ A_w^T`` with ``A`` the overlap matrices. Rounded to uint8.
    """
    a_h = _area_matrix(images.shape[1], size[0])
    a_w = _area_matrix(images.shape[2], size[1])
    spec = "oh,nhw...,pw->nop..."
    out = np.einsum(spec, a_h, images.astype(np.float32), a_w, optimize=True)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def cache_file(cache_dir: Path, stem: str, sources: Iterable[Path]) -> Path:
    """Name of a derived file, fingerprinted by the sources' sizes and modification times
    (a re-downloaded source gets a new cache instead of a stale one)."""
    import hashlib

    digest = hashlib.sha256()
    for src in sorted(Path(s) for s in sources):
        st = src.stat()
        digest.update(f"{src.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return Path(cache_dir) / f"{stem}-{digest.hexdigest()[:12]}.npy"


@dataclass(frozen=True)
class StoredImages(ImageSource):
    """A set of images without generative factors (class ``labels`` kept, not factors)."""

    store: PixelStore | None = None
    labels: np.ndarray | None = None
    files: tuple[str, ...] = ()

    def images(self, index: np.ndarray) -> np.ndarray:
        return self.store.read(index)


@dataclass(frozen=True)
class StoredFactorDataset(FactorDataset):
    """A factor dataset whose image ``i`` (grid cell ``i``) is row ``i`` of ``store``."""

    store: PixelStore | None = None
    files: tuple[str, ...] = ()

    def images(self, index: np.ndarray) -> np.ndarray:
        return self.store.read(index)
