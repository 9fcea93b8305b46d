"""The factor grid and the fixed-factor sampler."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lps_eval import LpsInputError
from lps_eval.data import FactorGrid, get_dataset


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=5), st.integers(0, 10_000))
def test_index_and_codes_are_inverse_c_order(sizes, seed):
    grid = FactorGrid(tuple(f"f{i}" for i in range(len(sizes))), tuple(sizes))
    index = np.random.default_rng(seed).integers(0, grid.n_cells, 50)
    codes = grid.codes_of(index)
    np.testing.assert_array_equal(grid.index_of(codes), index)
    # C order: the last factor varies fastest
    assert grid.index_of(np.array([[0] * (len(sizes) - 1) + [min(1, sizes[-1] - 1)]]))[0] == min(
        1, sizes[-1] - 1
    )


def test_bad_codes_are_refused_with_the_factor_named():
    grid = FactorGrid(("x", "y"), (3, 4))
    with pytest.raises(LpsInputError, match="'y'"):
        grid.index_of(np.array([[0, 4]]))
    with pytest.raises(LpsInputError, match="whole numbers"):
        grid.index_of(np.array([[0.5, 1.0]]))
    with pytest.raises(LpsInputError, match="shape"):
        grid.index_of(np.zeros((2, 3), dtype=int))


def test_fixed_factor_batches_are_interventions():
    """Within a batch the chosen factor is constant; every other factor is uniform and
    independent of the fixed value (what do(v_k = v) means on a product grid)."""
    ds = get_dataset("xyc")
    rng = np.random.default_rng(0)
    which, index = ds.sample_fixed(4000, 16, rng)
    codes = ds.factors(index.ravel()).reshape(4000, 16, -1)
    fixed = codes[np.arange(4000), :, which]
    assert (fixed == fixed[:, :1]).all()
    assert np.bincount(which, minlength=3).min() > 1200  # the factor is drawn uniformly
    others = codes[which == 2][:, :, 0].ravel()  # x, in batches where colour is fixed
    counts = np.bincount(others, minlength=32)
    expected = others.size / 32
    chi2 = ((counts - expected) ** 2 / expected).sum()
    assert chi2 < 70  # 31 degrees of freedom: p < 1e-4 beyond this
    # the check can fail: with x held fixed too, x is far from uniform within a batch
    which_x, index_x = ds.sample_fixed(50, 16, rng, factor=0)
    x = ds.factors(index_x.ravel()).reshape(50, 16, -1)[:, :, 0]
    assert (x == x[:, :1]).all() and (which_x == 0).all()


def test_sample_fixed_refuses_an_unknown_factor():
    with pytest.raises(LpsInputError, match="factor"):
        get_dataset("xy").sample_fixed(2, 2, np.random.default_rng(0), factor=2)
