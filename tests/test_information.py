"""The k-nearest-neighbour MI estimators of lps_eval.information (KSG and Ross): closed
forms, scikit-learn's numbers, brute-force neighbour counts, and order invariance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

from lps_eval.information import (
    ksg_mutual_info,
    ksg_mutual_info_cd,
    ksg_mutual_info_matrix,
    row_rank,
    tie_breaking_noise,
)

# The brute-force oracles below are the definitions, written with O(n^2) distance tables.


def _brute_kth(x, k, groups=None):
    d = np.abs(x[:, None] - x[None, :])
    np.fill_diagonal(d, np.inf)
    if groups is not None:
        d[groups[:, None] != groups[None, :]] = np.inf
    return np.sort(d, axis=1)[np.arange(x.size), np.asarray(k) - 1]


def _brute_count(x, r):
    return (np.abs(x[:, None] - x[None, :]) <= r[:, None]).sum(axis=1)


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 60), st.integers(1, 5), st.integers(0, 10_000), st.booleans())
def test_kth_neighbour_distance_matches_brute_force(n, k, seed, tied):
    from lps_eval.information import _kth_neighbour_distance_1d

    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    if tied:
        x = np.round(x, 1)  # many exact ties
    groups = rng.integers(0, 3, size=n)
    sizes = np.bincount(groups, minlength=3)[groups]
    if sizes.min() < 2:
        return
    kk = np.minimum(k, sizes - 1)
    np.testing.assert_array_equal(
        _kth_neighbour_distance_1d(x, kk, groups), _brute_kth(x, kk, groups)
    )
    if n > k:
        np.testing.assert_array_equal(
            _kth_neighbour_distance_1d(x, k), _brute_kth(x, np.full(n, k))
        )


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 80), st.integers(0, 10_000), st.booleans())
def test_count_within_uses_the_exact_predicate(n, seed, tied):
    """Radii equal to (just below) an actual distance: the case where x + r rounds."""
    from lps_eval.information import _count_within

    rng = np.random.default_rng(seed)
    x = rng.normal(size=n) * 10 ** rng.uniform(-3, 3)
    if tied:
        x = np.round(x, 1)
    partner = rng.integers(0, n, size=n)
    r = np.abs(x[partner] - x)
    r = np.where(rng.random(n) < 0.5, np.nextafter(r, 0), r)
    np.testing.assert_array_equal(_count_within(x, r), _brute_count(x, r))


@pytest.mark.parametrize("rho", [0.0, 0.3, 0.6, 0.9])
def test_ksg_recovers_the_gaussian_closed_form(rho):
    rng = np.random.default_rng(1)
    n = 4000
    x = rng.normal(size=n)
    y = rho * x + np.sqrt(1 - rho**2) * rng.normal(size=n)
    truth = -0.5 * np.log(1 - rho**2)
    assert ksg_mutual_info(x, y, clip=False) == pytest.approx(truth, abs=0.03)


def test_ksg_is_invariant_to_rescaling_each_variable():
    rng = np.random.default_rng(2)
    x = rng.normal(size=1500)
    y = np.tanh(x) + 0.3 * rng.normal(size=1500)
    base = ksg_mutual_info(x, y, noise=0.0)
    assert ksg_mutual_info(1e3 * x - 5, 0.01 * y, noise=0.0) == pytest.approx(base, abs=1e-9)


@pytest.mark.parametrize("k", [1, 3, 10])
def test_ksg_matches_sklearn_mutual_info_regression(k):
    rng = np.random.default_rng(3)
    x = rng.normal(size=800)
    y = x**2 + 0.5 * rng.normal(size=800)
    ref = mutual_info_regression(x[:, None], y, n_neighbors=k, random_state=0)[0]
    assert ksg_mutual_info(x, y, k=k) == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize("k", [1, 3, 10])
def test_ross_matches_sklearn_mutual_info_classif(k):
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 6, size=900)
    labels[:2] = [40, 41]  # two singleton classes: left out, as scikit-learn does
    x = labels + rng.normal(size=900)
    ref = mutual_info_classif(x[:, None], labels, n_neighbors=k, random_state=0)[0]
    assert ksg_mutual_info_cd(x, labels, k=k) == pytest.approx(ref, abs=1e-9)


def test_matrix_matches_the_single_pair_functions_and_sklearn():
    rng = np.random.default_rng(5)
    f = rng.integers(0, 5, size=(700, 3))
    z = np.concatenate([f[:, :2] + 0.3 * rng.normal(size=(700, 2)), rng.normal(size=(700, 2))], 1)
    got = ksg_mutual_info_matrix(z, f, k=3)
    ref = np.stack([mutual_info_classif(z, f[:, j], random_state=0) for j in range(3)], 1)
    np.testing.assert_allclose(got, ref, atol=1e-9)
    assert got[0, 0] == pytest.approx(ksg_mutual_info_cd(z[:, 0], f[:, 0]), abs=1e-12)
    cont = rng.normal(size=700)
    got = ksg_mutual_info_matrix(z, cont[:, None], discrete=False)
    assert got[0, 0] == pytest.approx(ksg_mutual_info(z[:, 0], cont), abs=1e-12)


def test_discrete_valued_latents_give_the_plug_in_entropy():
    """Ties broken by the noise: I(a; a) for a discrete a is close to H(a) (ties without
    noise would give nonsense)."""
    rng = np.random.default_rng(6)
    a = rng.integers(0, 5, size=3000)
    p = np.bincount(a) / a.size
    h = -np.sum(p * np.log(p))
    assert ksg_mutual_info_cd(a.astype(float), a) == pytest.approx(h, rel=0.01)


def test_constant_inputs_share_no_information():
    rng = np.random.default_rng(7)
    x = rng.normal(size=100)
    assert ksg_mutual_info(np.ones(100), x) == 0.0
    assert ksg_mutual_info_cd(np.ones(100), rng.integers(0, 3, 100)) == 0.0
    assert ksg_mutual_info_cd(x, np.zeros(100)) == 0.0
    z = np.stack([np.ones(100), x], 1)
    assert ksg_mutual_info_matrix(z, rng.integers(0, 3, (100, 1)))[0, 0] == 0.0


def test_estimates_do_not_depend_on_row_or_column_order_even_with_ties():
    rng = np.random.default_rng(8)
    f = rng.integers(0, 4, size=(600, 2))
    z = np.round(f + 0.4 * rng.normal(size=(600, 2)), 1)  # heavy ties: the noise decides
    z = np.concatenate([z, np.round(rng.normal(size=(600, 1)), 1)], 1)

    def estimate(zz, ff):
        keys = row_rank(ff)
        return ksg_mutual_info_matrix(zz, ff, k=3, seed=1, row_keys=keys)

    base = estimate(z, f)
    rows = rng.permutation(600)
    np.testing.assert_array_equal(estimate(z[rows], f[rows]), base)
    np.testing.assert_array_equal(estimate(z[:, [2, 0, 1]], f), base[[2, 0, 1]])


def test_tie_breaking_noise_follows_the_values():
    rng = np.random.default_rng(9)
    x = rng.integers(0, 4, size=(50, 3)).astype(float)  # every column full of ties
    keys = rng.permutation(50)  # a label per row that travels with it
    noise = tie_breaking_noise(x, seed=3, row_keys=keys)
    assert np.abs(noise).max() < 1e-8 and np.all(noise != 0)
    rows = rng.permutation(50)
    np.testing.assert_array_equal(
        tie_breaking_noise(x[rows], seed=3, row_keys=keys[rows]), noise[rows]
    )
    np.testing.assert_array_equal(
        tie_breaking_noise(x[:, ::-1], seed=3, row_keys=keys), noise[:, ::-1]
    )
    assert not np.array_equal(tie_breaking_noise(x, seed=4, row_keys=keys), noise)


def test_row_rank_is_a_dense_lexicographic_rank():
    rng = np.random.default_rng(10)
    a = rng.integers(0, 3, size=(40, 2))
    rank = row_rank(a)
    assert set(rank) == set(range(len(np.unique(a, axis=0))))
    for i, j in [(0, 1), (2, 3), (5, 9)]:
        assert (rank[i] < rank[j]) == (tuple(a[i]) < tuple(a[j]))
        assert (rank[i] == rank[j]) == (tuple(a[i]) == tuple(a[j]))
    rows = rng.permutation(40)
    np.testing.assert_array_equal(row_rank(a[rows]), rank[rows])


def test_bad_arguments_are_refused():
    x = np.arange(10.0)
    with pytest.raises(ValueError, match="k must be"):
        ksg_mutual_info(x, x, k=0)
    with pytest.raises(ValueError, match="more than k"):
        ksg_mutual_info(x[:3], x[:3], k=3)
    with pytest.raises(ValueError, match="rows"):
        ksg_mutual_info(x, x[:5])
    with pytest.raises(ValueError, match="rows"):
        ksg_mutual_info_cd(x, x[:5])
