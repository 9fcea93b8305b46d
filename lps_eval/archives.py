"""Read ``.npy`` headers and ``.npz`` members safely: sizes first, one allocation, no pickle.

An ``.npz`` is a zip of ``.npy`` files. Before a byte is inflated, :func:`read_member`
checks what the zip and the member's ``.npy`` header declare:

- the dtype holds no Python objects (those are pickles: never loaded);
- the declared array (shape x itemsize) is at most ``max_bytes``, and agrees with the
  member's uncompressed size in the zip directory (a forged header is refused by name,
  not reported as an allocation failure);
- the compression ratio is plausible: above :data:`MAX_COMPRESSION_RATIO` (a member
  declared as gigabytes of zeros that is a few megabytes compressed, a *zip bomb*) it is
  refused unless the caller raised ``max_bytes`` explicitly for it.

The member is then inflated straight into one array of its declared dtype, a chunk at a
time, so peak memory is the array plus one chunk (``numpy.load`` holds the inflated bytes
and the array at once).
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from lps_eval._validation import LpsInputError

__all__ = [
    "CHUNK_BYTES",
    "MAX_COMPRESSION_RATIO",
    "NpyHeader",
    "human_bytes",
    "member_names",
    "read_member",
    "read_npy_header",
]

#: Bytes inflated at a time into the result array.
CHUNK_BYTES = 1 << 24
#: A member that inflates more than this many times its compressed size is refused
#: unless ``max_bytes`` was raised for it explicitly (real latents compress 1-10x).
MAX_COMPRESSION_RATIO = 1000


def human_bytes(n: float) -> str:
    """``n`` bytes in a readable unit (bytes, KiB, MiB, GiB, TiB)."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


@dataclass(frozen=True)
class NpyHeader:
    """What an ``.npy`` header declares."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    offset: int  # bytes before the data

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def read_npy_header(handle: Any, where: str) -> NpyHeader:
    """Parse the header of an ``.npy`` stream positioned at its start.

    Raises
    ------
    LpsInputError
        Not an ``.npy`` stream, an unreadable header, or a dtype holding Python objects.
    """
    try:
        major, _ = npy_format.read_magic(handle)
        reader = (
            npy_format.read_array_header_1_0 if major == 1 else npy_format.read_array_header_2_0
        )
        shape, fortran_order, dtype = reader(handle, max_header_size=1 << 20)
    except (ValueError, SyntaxError, OSError) as exc:
        raise LpsInputError(
            f"could not read {where}: no readable NumPy header "
            f"({str(exc).splitlines()[0][:120]}); save the array again with np.save / np.savez"
        ) from None
    if dtype.hasobject:
        raise LpsInputError(
            f"{where} holds Python objects (a pickle), which are never loaded; save a numeric "
            "array instead (np.asarray(z, dtype=np.float32))"
        )
    if any(not isinstance(s, int) or s < 0 for s in shape):
        raise LpsInputError(f"{where} declares an invalid shape {shape!r}; save it again")
    return NpyHeader(tuple(shape), dtype, bool(fortran_order), handle.tell())


def member_names(archive: zipfile.ZipFile) -> list[str]:
    """The array names of an ``.npz`` (member names without ``.npy``), in archive order."""
    return [n[: -len(".npy")] if n.endswith(".npy") else n for n in archive.namelist()]


def _check_directory(info: zipfile.ZipInfo, where: str, max_bytes: int, explicit: bool) -> None:
    """Sizes the zip directory declares, checked before the member is opened at all."""
    if info.file_size > max_bytes:
        raise LpsInputError(
            f"{where} is {human_bytes(info.file_size)} uncompressed, above the limit of "
            f"{human_bytes(max_bytes)}; raise --max-bytes (max_bytes=) if it is genuine and "
            "you have the memory"
        )
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio > MAX_COMPRESSION_RATIO and not explicit:
        raise LpsInputError(
            f"{where} inflates {ratio:,.0f}x (from {human_bytes(info.compress_size)} to "
            f"{human_bytes(info.file_size)}), which is what zip bombs look like; if the "
            f"array is genuine, pass --max-bytes (max_bytes=) {info.file_size} or more to read it"
        )


def _check_header(info: zipfile.ZipInfo, header: NpyHeader, where: str, max_bytes: int) -> None:
    """What the member's own header declares, against the limit and the zip directory."""
    declared = header.nbytes
    if declared > max_bytes:
        raise LpsInputError(
            f"{where} declares shape {header.shape} of {header.dtype} = "
            f"{human_bytes(declared)}, above the limit of {human_bytes(max_bytes)}; raise "
            "--max-bytes (max_bytes=) if it is genuine and you have the memory"
        )
    stored = info.file_size - header.offset
    if declared > stored:
        raise LpsInputError(
            f"{where} declares shape {header.shape} of {header.dtype} ({human_bytes(declared)}) "
            f"but holds {human_bytes(max(stored, 0))} of data: the file is truncated or its "
            "header was altered; save the array again"
        )


def read_member(
    path: str | Path, name: str, *, max_bytes: int, explicit: bool = False
) -> np.ndarray:
    """One array of an ``.npz``, checked before inflating and inflated into one allocation.

    Parameters
    ----------
    path : path of the ``.npz``
    name : str
        The array name (``np.savez(path, name=...)``).
    max_bytes : int
        Largest declared array accepted.
    explicit : bool
        The caller set ``max_bytes`` on purpose: members with an absurd compression ratio
        are then read (up to ``max_bytes``) instead of refused.

    Raises
    ------
    LpsInputError
        See the module docstring.
    """
    where = f"array {name!r} in {path}"
    with zipfile.ZipFile(path) as archive:
        try:
            info = archive.getinfo(f"{name}.npy")
        except KeyError:
            info = archive.getinfo(name)
        _check_directory(info, where, max_bytes, explicit)
        with archive.open(info) as handle:
            header = read_npy_header(handle, where)
            _check_header(info, header, where, max_bytes)
            flat = np.empty(math.prod(header.shape), dtype=header.dtype)
            _inflate_into(handle, flat.view(np.uint8), where)
    if header.fortran_order:
        return flat.reshape(header.shape[::-1]).T
    return flat.reshape(header.shape)


def _inflate_into(handle: Any, buffer: np.ndarray, where: str) -> None:
    """Fill ``buffer`` (uint8) from the stream, :data:`CHUNK_BYTES` at a time."""
    view = memoryview(buffer)
    done = 0
    while done < buffer.size:
        got = handle.readinto(view[done : done + CHUNK_BYTES])
        if not got:
            raise LpsInputError(f"{where} ends early: the file is truncated; save it again")
        done += got
