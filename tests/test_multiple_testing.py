"""Holm's step-down adjustment (lps_eval.multiple_testing.holm)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lps_eval import LpsInputError
from lps_eval.multiple_testing import holm


def test_hand_computed_example():
    # sorted: 0.01, 0.03, 0.04, 0.5; times 4, 3, 2, 1: 0.04, 0.09, 0.08, 0.5;
    # running maximum: 0.04, 0.09, 0.09, 0.5; back in the input's order:
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.5]), [0.04, 0.09, 0.09, 0.5])
    # ties: 0.2 x 3 = 0.6, 0.2 x 2 = 0.4, 0.4 x 1 = 0.4; running maximum 0.6 everywhere
    np.testing.assert_allclose(holm([0.4, 0.2, 0.2]), [0.6, 0.6, 0.6])
    # capped at 1; one test is its own family
    np.testing.assert_allclose(holm([0.6, 0.9]), [1.0, 1.0])
    assert holm([0.03]).tolist() == [0.03]
    assert holm([]).size == 0


def test_nan_stays_nan_and_leaves_the_family():
    out = holm([0.01, math.nan, 0.04])
    assert math.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2]], holm([0.01, 0.04]))  # m = 2, not 3
    assert np.isnan(holm([math.nan, math.nan])).all()


def test_shape_is_kept():
    p = np.array([[0.01, 0.2], [0.03, 0.5]])
    out = holm(p)
    assert out.shape == (2, 2)
    np.testing.assert_allclose(out.ravel(), holm(p.ravel()))


def test_out_of_range_is_an_input_error():
    with pytest.raises(LpsInputError, match=r"\[0, 1\]"):
        holm([0.2, 1.5])
    with pytest.raises(LpsInputError, match=r"\[0, 1\]"):
        holm([-0.1])


def test_against_statsmodels_multipletests():
    multitest = pytest.importorskip("statsmodels.stats.multitest")
    rng = np.random.default_rng(0)
    for size in (1, 2, 6, 50):
        for _ in range(20):
            p = rng.beta(0.5, 2.0, size=size)
            p[rng.random(size) < 0.2] = p[0]  # ties
            expect = multitest.multipletests(p, alpha=0.05, method="holm")[1]
            np.testing.assert_allclose(holm(p), expect, rtol=0, atol=1e-15)


P_VALUES = st.lists(
    st.one_of(st.floats(0.0, 1.0), st.just(math.nan), st.sampled_from([0.0, 0.05, 1.0])),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(P_VALUES)
def test_holm_properties(values):
    p = np.array(values, dtype=float)
    adj = holm(p)
    tested = ~np.isnan(p)
    np.testing.assert_array_equal(np.isnan(adj), ~tested)
    raw, a = p[tested], adj[tested]
    assert np.all(a >= raw) and np.all(a <= 1.0)
    order = np.argsort(raw, kind="stable")
    assert np.all(np.diff(a[order]) >= 0)  # monotone in the sorted order of the raw values
    assert np.all(a <= np.minimum(raw * raw.size, 1.0) + 1e-15)  # never above Bonferroni
    perm = np.random.default_rng(len(values)).permutation(p.size)
    np.testing.assert_array_equal(holm(p[perm]), adj[perm])


def test_family_wise_error_on_independent_uniform_nulls():
    """20,000 families of d = 6 true nulls: P(any adjusted p <= 0.05) <= 0.05.

    For independent tests the rate is 1 - (1 - 0.05 / 6)^6 = 0.0489 at the first step
    (Holm rejects nothing unless the smallest p is below alpha / d); the raw p-values
    reject somewhere in 1 - 0.95^6 = 26.5 % of the families.
    """
    rng = np.random.default_rng(1)
    p = rng.uniform(size=(20000, 6))
    adjusted = np.apply_along_axis(holm, 1, p)
    fwer = float(np.mean((adjusted <= 0.05).any(axis=1)))
    assert fwer <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 20000)
    assert fwer == pytest.approx(1 - (1 - 0.05 / 6) ** 6, abs=0.005)
    assert np.mean((p <= 0.05).any(axis=1)) == pytest.approx(1 - 0.95**6, abs=0.01)
