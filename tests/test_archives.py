"""Safe reading of .npy headers and .npz members (lps_eval.archives, through lps_eval.io).

A member is checked against what the zip directory and its own header declare before a
byte is inflated, and inflated into one allocation, so a zip bomb is refused at once and
a genuine large member costs its own size, not twice it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from numpy.lib import format as npy_format

from lps_eval import LpsInputError
from lps_eval.archives import MAX_COMPRESSION_RATIO, read_member
from lps_eval.io import load_array, load_npz_arrays

MiB = 1 << 20


def _zeros_member(path, name, nbytes, *, shape=None, dtype=np.float64, data_bytes=None):
    """An .npz whose member ``name`` is streamed zeros: ``nbytes`` of data, written in
    chunks (never held in memory). ``shape`` may lie about the data (a forged header)."""
    dtype = np.dtype(dtype)
    shape = shape or (nbytes // dtype.itemsize,)
    data_bytes = nbytes if data_bytes is None else data_bytes
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open(f"{name}.npy", "w", force_zip64=True) as handle,
    ):
        header = {"descr": dtype.str, "fortran_order": False, "shape": shape}
        npy_format.write_array_header_1_0(handle, header)
        chunk = bytes(4 * MiB)
        left = data_bytes
        while left > 0:
            handle.write(chunk[: min(left, len(chunk))])
            left -= len(chunk)
    return path


def test_a_zip_bomb_is_refused_before_inflating(tmp_path):
    path = _zeros_member(tmp_path / "bomb.npz", "z", 256 * MiB)
    info = zipfile.ZipFile(path).getinfo("z.npy")
    assert info.file_size / info.compress_size > MAX_COMPRESSION_RATIO  # a real bomb
    with pytest.raises(LpsInputError, match="zip bombs"):
        load_array(path)
    with pytest.raises(LpsInputError, match="zip bombs"):
        load_npz_arrays(path)


def test_an_explicit_max_bytes_reads_it_into_one_allocation(tmp_path):
    """Peak RSS of reading a 300 MiB member: its size plus a little, not twice it."""
    size = 300 * MiB
    path = _zeros_member(tmp_path / "big.npz", "z", size, shape=(size // 8 // 100, 100))
    code = (
        "import json, resource, sys\n"
        "from lps_eval.io import load_array\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        f"z = load_array({str(path)!r}, max_bytes={size + MiB})\n"
        "peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps({'base': base * 1024, 'peak': peak * 1024, 'shape': z.shape,"
        " 'sum': float(z.sum())}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    got = json.loads(out.stdout)
    assert got["shape"] == [size // 8 // 100, 100] and got["sum"] == 0.0
    # numpy.load holds the inflated bytes and the array at once (2x); one allocation is 1x
    assert got["peak"] - got["base"] < size + 150 * MiB, got


def test_a_header_claiming_terabytes_is_refused_by_name(tmp_path):
    tib4 = 4 << 40
    path = _zeros_member(tmp_path / "liar.npz", "z", 4096, shape=(tib4 // 8,))
    with pytest.raises(LpsInputError, match=r"declares shape .* 4\.0 TiB, above the limit"):
        load_array(path)
    with pytest.raises(LpsInputError, match=r"truncated or its header was altered"):
        load_array(path, max_bytes=8 << 40)  # even allowed, the data is not there


def test_a_forged_npy_header_is_refused_by_name(tmp_path):
    path = tmp_path / "forged.npy"
    with open(path, "wb") as handle:
        npy_format.write_array_header_1_0(
            handle, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 64)}
        )
        handle.write(bytes(800))
    with pytest.raises(LpsInputError, match=r"declares shape \(1000000000, 64\).*truncated"):
        load_array(path)


def test_members_round_trip_exactly_with_their_layout(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "c": rng.normal(size=(50, 3)).astype(np.float32),
        "f": np.asfortranarray(rng.normal(size=(7, 5))),
        "i": rng.integers(0, 9, size=(20, 2)),
    }
    path = tmp_path / "many.npz"
    np.savez(path, **arrays)
    for name, value in arrays.items():
        got = read_member(path, name, max_bytes=10**6)
        np.testing.assert_array_equal(got, value)
        assert got.dtype == value.dtype
    compressed = tmp_path / "many_c.npz"
    np.savez_compressed(compressed, **arrays)
    read = load_npz_arrays(compressed)
    assert list(read) == list(arrays)
    for name, value in arrays.items():
        np.testing.assert_array_equal(read[name], value)


def test_a_truncated_member_and_a_pickle_are_refused(tmp_path):
    path = _zeros_member(tmp_path / "short.npz", "z", 8000, shape=(2000,), data_bytes=800)
    with pytest.raises(LpsInputError, match="truncated"):
        load_array(path)
    objects = tmp_path / "objects.npz"
    np.savez(objects, z=np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(LpsInputError, match="Python objects"):
        load_array(objects)


def test_cli_refuses_a_bomb_in_one_line(tmp_path):
    from click.testing import CliRunner

    from lps_eval.cli import main

    path = _zeros_member(tmp_path / "bomb.npz", "z", 256 * MiB)
    result = CliRunner().invoke(main, ["score", str(path), "--no-config"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "zip bombs" in lines[0]
