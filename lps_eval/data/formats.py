"""Readers of the published binary formats, written from their specifications.

Nothing here unpickles: ``.npz`` members are parsed from their ``.npy`` headers and any
member with an object dtype (a pickle) is refused before a byte of it is read.

* ``.npy`` / ``.npz``: the NumPy format (``numpy.lib.format``): magic, header dict,
  raw data. A *stored* (uncompressed) npz member is read in place by file offset; a
  deflated one is streamed.
* IDX (MNIST, LeCun et al.): big-endian; two zero bytes, a type byte (0x08 uint8,
  0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64), the number of
  dimensions, one uint32 size per dimension, then the data in C order.
* NYU binary matrix (SmallNORB ``*-dat.mat``, ``*-cat.mat``, ``*-info.mat``; not MATLAB):
  little-endian int32 magic (0x1E3D4C55 uint8, 0x1E3D4C54 int32, 0x1E3D4C56 int16,
  0x1E3D4C51 float32, 0x1E3D4C53 float64), int32 ndim, ``max(3, ndim)`` int32 sizes
  (the unused ones are 1), then the data in C order.
* CIFAR-10 binary version: records of 1 label byte + 3,072 pixel bytes (1,024 red,
  1,024 green, 1,024 blue, each 32 x 32 row-major).

Every reader accepts a gzip-compressed file (``.gz``) as well.
"""

from __future__ import annotations

import gzip
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from lps_eval._validation import LpsInputError

__all__ = [
    "CIFAR_RECORD",
    "NORB_MAGIC",
    "NpzMember",
    "iter_norb_rows",
    "iter_npy_rows",
    "norb_header",
    "norb_shape",
    "npz_members",
    "open_maybe_gzip",
    "read_cifar_records",
    "read_idx",
    "read_norb",
    "read_npy_header",
    "read_npz_array",
]

#: Bytes of one CIFAR-10 binary record: the label, then 3 x 32 x 32 pixels.
CIFAR_RECORD = 1 + 3 * 32 * 32
#: NYU binary-matrix magic numbers -> dtype.
NORB_MAGIC = {
    0x1E3D4C55: np.dtype(np.uint8),
    0x1E3D4C54: np.dtype("<i4"),
    0x1E3D4C56: np.dtype("<i2"),
    0x1E3D4C51: np.dtype("<f4"),
    0x1E3D4C53: np.dtype("<f8"),
}
_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def open_maybe_gzip(path: str | Path) -> IO[bytes]:
    """Open ``path`` for reading bytes, decompressing on the fly when it is gzip."""
    path = Path(path)
    with open(path, "rb") as fh:
        magic = fh.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _read_exact(fh: IO[bytes], n: int, what: str) -> bytes:
    data = fh.read(n)
    if len(data) != n:
        raise LpsInputError(f"{what} is truncated: expected {n} bytes, got {len(data)}")
    return data


# ----------------------------------------------------------------------------- npy / npz


def read_npy_header(fh: IO[bytes], what: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Parse a ``.npy`` header; refuse object dtypes (pickles) before reading any data."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fh)
        reader = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = reader(fh)
    except ValueError as exc:
        raise LpsInputError(f"{what} is not a valid .npy array ({exc})") from None
    if dtype.hasobject:
        raise LpsInputError(
            f"{what} holds Python objects (a pickle); refusing to load it (pickles can run code)"
        )
    return tuple(int(s) for s in shape), bool(fortran), dtype


@dataclass(frozen=True)
class NpzMember:
    """One array of an ``.npz`` file, described by its header (no data read)."""

    path: Path
    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran: bool
    compressed: bool
    data_offset: int | None  # byte offset of the raw data in the file (stored members)


def _local_data_start(fh: IO[bytes], info: zipfile.ZipInfo) -> int:
    """Offset of a member's first byte: after its local file header (30 bytes + names)."""
    fh.seek(info.header_offset)
    header = _read_exact(fh, 30, f"zip header of {info.filename}")
    if header[:4] != b"PK\x03\x04":
        raise LpsInputError(f"{info.filename}: damaged zip local header")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_len + extra_len


def npz_members(path: str | Path, *, skip: tuple[str, ...] = ()) -> dict[str, NpzMember]:
    """Describe every array of an ``.npz`` by its header.

    Members named in ``skip`` are not opened at all (dSprites' pickled ``metadata``).
    Raises :class:`LpsInputError` for an object-dtype member among the others.
    """
    path = Path(path)
    out: dict[str, NpzMember] = {}
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise LpsInputError(f"{path} is not a valid .npz (zip) file: {exc}") from None
    with archive, open(path, "rb") as raw:
        for info in archive.infolist():
            name = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            if name in skip:
                continue
            with archive.open(info) as member:
                shape, fortran, dtype = read_npy_header(member, f"{path.name}:{name}")
                header_len = member.tell()
            stored = info.compress_type == zipfile.ZIP_STORED
            offset = _local_data_start(raw, info) + header_len if stored else None
            out[name] = NpzMember(path, name, shape, dtype, fortran, not stored, offset)
    return out


def read_npz_array(member: NpzMember) -> np.ndarray:
    """The whole array of one npz member (for the small ones: labels, factor codes)."""
    with zipfile.ZipFile(member.path) as archive, archive.open(member.name + ".npy") as fh:
        read_npy_header(fh, f"{member.path.name}:{member.name}")
        count = int(np.prod(member.shape, dtype=np.int64))
        data = np.frombuffer(
            _read_exact(fh, count * member.dtype.itemsize, member.name), dtype=member.dtype
        )
    order = "F" if member.fortran else "C"
    return data.reshape(member.shape, order=order)


def iter_npy_rows(member: NpzMember, rows_per_chunk: int) -> Iterator[np.ndarray]:
    """Stream the rows of a C-order npz member in chunks (bounded memory, any compression)."""
    if member.fortran and len(member.shape) > 1:
        raise LpsInputError(f"{member.name} is stored in Fortran order; cannot stream its rows")
    row_bytes = int(np.prod(member.shape[1:], dtype=np.int64)) * member.dtype.itemsize
    with zipfile.ZipFile(member.path) as archive, archive.open(member.name + ".npy") as fh:
        read_npy_header(fh, member.name)
        for lo in range(0, member.shape[0], rows_per_chunk):
            n = min(rows_per_chunk, member.shape[0] - lo)
            data = _read_exact(fh, n * row_bytes, f"{member.path.name}:{member.name}")
            yield np.frombuffer(data, dtype=member.dtype).reshape((n, *member.shape[1:]))


# ----------------------------------------------------------------------------- IDX, NORB


def read_idx(path: str | Path) -> np.ndarray:
    """An IDX file (MNIST), gzip or plain, as a native-endian array."""
    with open_maybe_gzip(path) as fh:
        head = _read_exact(fh, 4, f"IDX header of {path}")
        if head[:2] != b"\x00\x00" or head[2] not in _IDX_TYPES:
            raise LpsInputError(f"{path} is not an IDX file (magic {head.hex()})")
        dtype, ndim = _IDX_TYPES[head[2]], head[3]
        shape = struct.unpack(f">{ndim}I", _read_exact(fh, 4 * ndim, f"IDX sizes of {path}"))
        count = int(np.prod(shape, dtype=np.int64))
        data = _read_exact(fh, count * dtype.itemsize, f"IDX data of {path}")
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def norb_header(fh: IO[bytes], what: str) -> tuple[np.dtype, tuple[int, ...]]:
    """Parse an NYU binary-matrix header; the stream is left at the first data byte."""
    magic, ndim = struct.unpack("<iI", _read_exact(fh, 8, f"header of {what}"))
    if magic & 0xFFFFFFFF not in NORB_MAGIC or not 0 < ndim < 16:
        raise LpsInputError(f"{what} is not an NYU binary matrix (SmallNORB .mat) file")
    dims = struct.unpack(f"<{max(3, ndim)}i", _read_exact(fh, 4 * max(3, ndim), what))
    return NORB_MAGIC[magic & 0xFFFFFFFF], tuple(int(d) for d in dims[:ndim])


def read_norb(path: str | Path) -> np.ndarray:
    """An NYU binary matrix (SmallNORB ``-cat``/``-info``/``-dat``), gzip or plain."""
    with open_maybe_gzip(path) as fh:
        dtype, shape = norb_header(fh, str(path))
        count = int(np.prod(shape, dtype=np.int64))
        data = _read_exact(fh, count * dtype.itemsize, f"data of {path}")
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def iter_norb_rows(path: str | Path, rows_per_chunk: int) -> Iterator[np.ndarray]:
    """Stream the rows of an NYU binary matrix (the 448 MB ``-dat`` files) in chunks."""
    with open_maybe_gzip(path) as fh:
        dtype, shape = norb_header(fh, str(path))
        row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        for lo in range(0, shape[0], rows_per_chunk):
            n = min(rows_per_chunk, shape[0] - lo)
            data = _read_exact(fh, n * row_bytes, f"data of {path}")
            yield np.frombuffer(data, dtype=dtype).reshape((n, *shape[1:]))


def norb_shape(path: str | Path) -> tuple[int, ...]:
    """The shape declared by an NYU binary matrix's header."""
    with open_maybe_gzip(path) as fh:
        return norb_header(fh, str(path))[1]


# ----------------------------------------------------------------------------- CIFAR-10


def read_cifar_records(data: bytes, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Labels (n,) and images (n, 3, 32, 32) uint8 of a CIFAR-10 binary batch."""
    if len(data) % CIFAR_RECORD:
        raise LpsInputError(
            f"{what} has {len(data)} bytes, not a whole number of {CIFAR_RECORD}-byte records"
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, CIFAR_RECORD)
    labels = records[:, 0].astype(np.int64)
    if labels.size and labels.max() > 9:
        raise LpsInputError(f"{what}: label {labels.max()} outside 0..9; not CIFAR-10 binary")
    return labels, records[:, 1:].reshape(-1, 3, 32, 32).copy()
