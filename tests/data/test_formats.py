"""The binary format readers, on bytes written to the published specifications."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from lps_eval import LpsInputError
from lps_eval.data import formats
from tests.data.official_files import idx_file, norb_file, write_npz


@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_idx_round_trip(tmp_path, name):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(formats.read_idx(idx_file(tmp_path / name, arr)), arr)
    ints = np.array([1, -2, 70000], dtype=np.int32)  # big-endian on disk
    np.testing.assert_array_equal(formats.read_idx(idx_file(tmp_path / "i.idx", ints)), ints)
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(LpsInputError, match="not an IDX"):
        formats.read_idx(tmp_path / "bad")


@pytest.mark.parametrize("gz", [False, True])
def test_norb_matrix_keeps_three_dims_in_the_header(tmp_path, gz):
    labels = np.array([4, 0, 3], dtype=np.int32)  # ndim 1: the header still has 3 sizes
    path = norb_file(tmp_path / "cat.mat", labels, gz=gz)
    raw = gzip.decompress(path.read_bytes()) if gz else path.read_bytes()
    assert struct.unpack("<iiiii", raw[:20]) == (0x1E3D4C54, 1, 3, 1, 1)
    np.testing.assert_array_equal(formats.read_norb(path), labels)
    dat = np.arange(2 * 2 * 3 * 3, dtype=np.uint8).reshape(2, 2, 3, 3)
    path = norb_file(tmp_path / "dat.mat", dat, gz=gz)
    chunks = list(formats.iter_norb_rows(path, 1))
    np.testing.assert_array_equal(np.concatenate(chunks), dat)
    path.write_bytes(path.read_bytes()[:-3] if not gz else gzip.compress(raw[:10]))
    with pytest.raises(LpsInputError, match=r"truncated|header"):
        formats.read_norb(path)


@pytest.mark.parametrize("compress", [False, True])
def test_npz_members_by_header_and_offset(tmp_path, compress):
    arr = np.arange(60, dtype=np.uint8).reshape(5, 3, 4)
    path = write_npz(tmp_path / "a.npz", {"images": arr, "other": np.zeros(2)}, compress=compress)
    member = formats.npz_members(path)["images"]
    assert member.shape == (5, 3, 4) and member.compressed == compress
    if not compress:  # the raw bytes sit at the recorded offset
        data = path.read_bytes()[member.data_offset : member.data_offset + 60]
        np.testing.assert_array_equal(np.frombuffer(data, np.uint8).reshape(5, 3, 4), arr)
    np.testing.assert_array_equal(formats.read_npz_array(member), arr)
    np.testing.assert_array_equal(np.concatenate(list(formats.iter_npy_rows(member, 2))), arr)


def test_cifar_records_and_their_errors():
    record = bytes([7]) + bytes(range(256)) * 12
    labels, images = formats.read_cifar_records(record * 2, "batch")
    assert labels.tolist() == [7, 7] and images.shape == (2, 3, 32, 32)
    assert images[0, 1, 0, 0] == 1024 % 256  # red plane first, then green
    with pytest.raises(LpsInputError, match="whole number"):
        formats.read_cifar_records(record[:-1], "batch")
    with pytest.raises(LpsInputError, match=r"outside 0\.\.9"):
        formats.read_cifar_records(bytes([11]) + record[1:], "batch")
