"""Exact column order statistics (lps_eval.prior_matching.subsample) against numpy's sort."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lps_eval.prior_matching.subsample as subsample
from lps_eval import LpsInputError
from lps_eval.prior_matching.subsample import (
    column_order_statistics,
    from_order_keys,
    order_keys,
)

RNG = np.random.default_rng


def _reference(z, ranks):
    return np.sort(np.asarray(z, dtype=np.float64) + 0.0, axis=0)[ranks]


@pytest.fixture(params=["sorted", "bracketed", "bracketed_tight"])
def path(request, monkeypatch):
    """Both ways of finding the order statistics; the tight one forces many passes."""
    if request.param != "sorted":
        monkeypatch.setattr(subsample, "SORT_ROWS", 0)
    if request.param == "bracketed_tight":
        monkeypatch.setattr(subsample, "GATHER", 4)
        monkeypatch.setattr(subsample, "GATHER_BUDGET", 8)
        monkeypatch.setattr(subsample, "ROOT_BITS", subsample.MIN_BITS)
        monkeypatch.setattr(subsample, "LOOKUP_ELEMENTS", 64)
    return request.param


WORLDS = {
    "normal": lambda rng: rng.normal(size=(3000, 3)),
    "integers": lambda rng: rng.integers(0, 3, size=(2000, 2)).astype(float),
    "cauchy": lambda rng: rng.standard_cauchy(size=(2000, 2)),
    "wide_scales": lambda rng: rng.normal(size=(2000, 2)) * np.exp(rng.normal(size=(2000, 2)) * 50),
    "signed_zeros": lambda rng: np.where(rng.random((500, 2)) < 0.5, -0.0, 0.0),
    "point_mass_and_tiny": lambda rng: np.column_stack(
        [np.r_[np.full(1500, 7.0), rng.normal(size=500)], rng.normal(size=2000) * 1e-300]
    ),
}


@pytest.mark.parametrize("world", WORLDS)
def test_order_statistics_equal_the_sorted_columns(world, path):
    rng = RNG(0)
    z = WORLDS[world](rng)
    ranks = rng.choice(z.shape[0], size=300, replace=False)
    got = column_order_statistics(z, ranks)
    np.testing.assert_array_equal(got, _reference(z, ranks))
    # bit for bit, also the sign of zero (always +0.0)
    assert not np.signbit(got[got == 0]).any()


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 120),
    d=st.integers(1, 3),
    k=st.integers(1, 40),
    levels=st.sampled_from([1, 2, 5, 0]),
    seed=st.integers(0, 2**16),
    tight=st.booleans(),
)
def test_order_statistics_property(n, d, k, levels, seed, tight):
    """Any input (duplicates, one value, ties), any ranks with repeats: numpy's sort."""
    rng = RNG(seed)
    z = rng.integers(0, levels, size=(n, d)) * 0.5 if levels else rng.normal(size=(n, d))
    ranks = rng.integers(0, n, size=k)
    saved = {a: getattr(subsample, a) for a in ("SORT_ROWS", "GATHER", "GATHER_BUDGET")}
    try:
        subsample.SORT_ROWS = 0
        if tight:
            subsample.GATHER, subsample.GATHER_BUDGET = 2, 3
        np.testing.assert_array_equal(column_order_statistics(z, ranks), _reference(z, ranks))
    finally:
        for name, value in saved.items():
            setattr(subsample, name, value)


def test_memmap_and_dask_give_the_same_values(tmp_path, path):
    z = RNG(1).normal(size=(4000, 3)).astype(np.float32)
    np.save(tmp_path / "z.npy", z)
    mm = np.load(tmp_path / "z.npy", mmap_mode="r")
    ranks = RNG(2).choice(4000, size=500, replace=False)
    expect = _reference(z, ranks)
    np.testing.assert_array_equal(column_order_statistics(mm, ranks), expect)
    da = pytest.importorskip("dask.array")
    np.testing.assert_array_equal(
        column_order_statistics(da.from_array(z, chunks=(700, 3)), ranks), expect
    )


def test_a_column_alone_decides_its_values(path):
    """Other columns, their order and the row order play no part."""
    rng = RNG(3)
    z = rng.normal(size=(1500, 4))
    ranks = rng.choice(1500, size=200, replace=False)
    base = column_order_statistics(z, ranks)
    perm = [2, 0, 3, 1]
    np.testing.assert_array_equal(column_order_statistics(z[:, perm], ranks), base[:, perm])
    shuffled = z[rng.permutation(1500)]
    np.testing.assert_array_equal(column_order_statistics(shuffled, ranks), base)
    other = z.copy()
    other[:, 1] = rng.uniform(size=1500)
    np.testing.assert_array_equal(column_order_statistics(other, ranks)[:, 0], base[:, 0])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), min_size=1))
def test_order_keys_sort_like_the_values(values):
    v = np.array(values)
    keys = order_keys(v)
    np.testing.assert_array_equal(np.sort(v + 0.0), from_order_keys(np.sort(keys)))
    np.testing.assert_array_equal(from_order_keys(keys), v + 0.0)


def test_bad_ranks_are_input_errors():
    z = RNG(0).normal(size=(10, 2))
    with pytest.raises(LpsInputError, match="ranks"):
        column_order_statistics(z, [0, 10])
    with pytest.raises(LpsInputError, match="ranks"):
        column_order_statistics(z, [-1])
