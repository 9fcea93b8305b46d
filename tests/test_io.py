"""Safe file loading: every format round-trips, nothing unpickles, failures are one line."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from lps_eval import LpsInputError
from lps_eval.io import load_array, load_factors, load_table

Z = np.arange(12, dtype=np.float32).reshape(4, 3) / 7


def test_npy_round_trip_keeps_dtype(tmp_path):
    np.save(tmp_path / "z.npy", Z)
    out = load_array(tmp_path / "z.npy")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, Z)


def test_npz_single_array_and_key(tmp_path):
    np.savez(tmp_path / "one.npz", z=Z)
    np.testing.assert_array_equal(load_array(tmp_path / "one.npz"), Z)
    np.savez(tmp_path / "two.npz", z=Z, other=Z * 2)
    np.testing.assert_array_equal(load_array(tmp_path / "two.npz", key="other"), Z * 2)
    with pytest.raises(LpsInputError, match="--key"):
        load_array(tmp_path / "two.npz")
    with pytest.raises(LpsInputError, match="no array 'nope'"):
        load_array(tmp_path / "two.npz", key="nope")


def test_csv_with_and_without_header(tmp_path):
    pd.DataFrame(Z, columns=["a", "b", "c"]).to_csv(tmp_path / "h.csv", index=False)
    array, names = load_table(tmp_path / "h.csv")
    np.testing.assert_allclose(array, Z, rtol=1e-6)
    assert names == ["a", "b", "c"]
    np.savetxt(tmp_path / "n.csv", Z, delimiter=",")
    array, names = load_table(tmp_path / "n.csv")
    assert array.shape == (4, 3) and names is None


def test_csv_with_text_column_is_refused(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n1,x\n2,y\n")
    with pytest.raises(LpsInputError, match="non-numeric"):
        load_array(tmp_path / "t.csv")


def test_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    pd.DataFrame(Z, columns=["u", "v", "w"]).to_parquet(tmp_path / "z.parquet")
    array, names = load_table(tmp_path / "z.parquet")
    np.testing.assert_array_equal(array, Z)
    assert names == ["u", "v", "w"]


def test_torch_tensor_and_dict_of_tensors(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save(torch.from_numpy(Z), tmp_path / "z.pt")
    np.testing.assert_array_equal(load_array(tmp_path / "z.pt"), Z)
    torch.save({"mu": torch.from_numpy(Z), "logvar": torch.zeros(4, 3)}, tmp_path / "d.pt")
    np.testing.assert_array_equal(load_array(tmp_path / "d.pt", key="mu"), Z)
    with pytest.raises(LpsInputError, match="--key"):
        load_array(tmp_path / "d.pt")


class _Evil:
    def __reduce__(self):  # would run code if unpickled
        return (print, ("unpickled!",))


def test_pickled_npy_is_never_loaded(tmp_path, capsys):
    np.save(tmp_path / "obj.npy", np.array([_Evil()], dtype=object), allow_pickle=True)
    with pytest.raises(LpsInputError, match="pickle"):
        load_array(tmp_path / "obj.npy")
    assert "unpickled!" not in capsys.readouterr().out


def test_pickled_pt_is_never_loaded(tmp_path, capsys):
    pytest.importorskip("torch")
    with open(tmp_path / "evil.pt", "wb") as handle:
        pickle.dump(_Evil(), handle)
    with pytest.raises(LpsInputError, match="tensors only"):
        load_array(tmp_path / "evil.pt")
    assert "unpickled!" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("z.npy", b"not a numpy file", "could not read"),
        ("z.npz", b"PK\x03\x04 truncated", "could not read"),
        ("z.txt", b"1,2", "unsupported file type"),
    ],
)
def test_unreadable_files(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(LpsInputError, match=message):
        load_array(tmp_path / name)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(LpsInputError, match="file not found"):
        load_array(tmp_path / "missing.npy")
    with pytest.raises(LpsInputError, match="directory"):
        load_array(tmp_path)


def test_factor_names_from_npz_keys(tmp_path):
    np.savez(tmp_path / "f.npz", shape=np.array([0, 1, 2]), scale=np.array([3, 4, 5]))
    factors, names = load_factors(tmp_path / "f.npz")
    assert names == ["shape", "scale"]
    np.testing.assert_array_equal(factors, [[0, 3], [1, 4], [2, 5]])


def test_npy_above_max_bytes_is_memory_mapped_not_refused(tmp_path):
    """A .npy never loads whole (memory does not grow with the file), so the byte cap,
    which guards formats that must be read or inflated, does not apply to it."""
    z = np.random.default_rng(0).normal(size=(500, 3)).astype(np.float32)
    np.save(tmp_path / "z.npy", z)
    loaded = load_array(tmp_path / "z.npy", max_bytes=1000)
    assert isinstance(loaded, np.memmap)
    np.testing.assert_array_equal(loaded, z)
    np.savez(tmp_path / "z.npz", z=z)
    with pytest.raises(LpsInputError, match="max_bytes"):
        load_array(tmp_path / "z.npz", max_bytes=1000)
