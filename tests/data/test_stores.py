"""Pixel stores: reads by index in any order, and the area resize (known answers)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lps_eval.data.stores import (
    ArrayStore,
    PackedBitsStore,
    RawFileStore,
    area_resize,
    npy_store,
    row_runs,
    write_npy_cache,
)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=30))
def test_row_runs_cover_the_index(index):
    unique, inverse, runs = row_runs(np.array(index))
    np.testing.assert_array_equal(unique[inverse], index)
    covered = np.concatenate([np.arange(a, b) for a, b in runs])
    np.testing.assert_array_equal(covered, unique)


def test_every_store_reads_the_same_rows(tmp_path):
    rng = np.random.default_rng(0)
    bits = (rng.random((20, 6, 16)) < 0.5).astype(np.uint8)
    arr = bits * np.uint8(255)
    path = write_npy_cache(tmp_path / "c.npy", arr.shape, [arr[:7], arr[7:]])
    index = np.array([19, 0, 3, 3, 4, 5, 11])
    expect = arr[index][:, None].astype(np.float32) / 255.0
    stores = [
        ArrayStore(20, (6, 16), "NHW", array=arr),
        PackedBitsStore(20, (6, 16), "NHW", packed=np.packbits(bits, axis=-1)),
        npy_store(path, "NHW"),
        RawFileStore(20, (6, 16), "NHW", path=path, offset=path.stat().st_size - arr.nbytes),
    ]
    for store in stores:
        np.testing.assert_array_equal(store.read(index), expect)
    assert not list(tmp_path.glob(".*part*"))  # the temporary name is gone


def test_area_resize_known_answers():
    img = np.arange(16, dtype=np.uint8).reshape(1, 4, 4) * 10
    half = area_resize(img, (2, 2))  # exact 2x2 block means
    np.testing.assert_array_equal(half[0], [[25, 45], [105, 125]])
    flat = np.full((3, 96, 96, 3), 77, dtype=np.uint8)
    np.testing.assert_array_equal(area_resize(flat, (64, 64)), 77)  # 96 -> 64 keeps a constant
    ramp = np.tile(np.arange(96, dtype=np.uint8), (96, 1))[None]
    out = area_resize(ramp, (64, 64)).astype(float)
    assert abs(out.mean() - ramp.mean()) < 0.5  # area averaging keeps the mean
