"""Kernels, their fast paths and the median heuristic (lps_eval.prior_matching.kernels)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lps_eval import LpsInputError
from lps_eval.prior_matching.kernels import (
    KERNELS,
    Kernel,
    make_kernel,
    median_pairwise_distance,
    register_kernel,
)

RNG = np.random.default_rng


def _sqdist(a, b):
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)


def _naive(kern, a, b):
    r = _sqdist(a, b)
    if kern.family == "rbf":
        return sum(np.exp(-r / (2 * s * s)) for s in kern.scales)
    if kern.family == "imq":
        return sum(c / (c + r) for c in kern.scales)
    return -np.sqrt(r)


def test_median_of_known_points():
    # pairwise distances of 0, 1, 3 on a line: 1, 3, 2 -> median 2
    w = np.array([[0.0], [1.0], [3.0]])
    assert median_pairwise_distance(w) == 2.0


def test_median_excludes_self_pairs():
    w = np.array([[0.0, 0.0], [3.0, 4.0]])
    assert median_pairwise_distance(w) == 5.0


def test_median_from_random_pairs_is_close_and_seeded():
    w = RNG(0).normal(size=(1500, 4))
    full = np.median(np.sqrt(_sqdist(w, w)[np.triu_indices(1500, 1)]))
    approx = median_pairwise_distance(w, rng=1, max_pairs=20_000)
    assert approx == pytest.approx(full, rel=0.02)
    assert approx == median_pairwise_distance(w, rng=1, max_pairs=20_000)
    assert approx != median_pairwise_distance(w, rng=2, max_pairs=20_000)


def test_median_of_identical_rows_falls_back_to_one():
    assert median_pairwise_distance(np.ones((5, 2))) == 1.0


def test_median_heuristic_sets_the_paper_scales_without_inverting():
    w = RNG(0).normal(size=(200, 3))
    med = median_pairwise_distance(w)
    k = make_kernel("rbf_multiscale", pooled=w)
    assert k.scales == pytest.approx((0.5 * med, med, 2 * med))
    assert k.bandwidth_source == "median"
    assert make_kernel("rbf", pooled=w).scales == pytest.approx((med,))
    assert make_kernel("rbf", bandwidth=0.3).scales == (0.3,)


def test_imq_default_is_wae_constant_for_unit_variance():
    w = RNG(0).normal(size=(20_000, 8))
    k = make_kernel("imq", pooled=w)
    assert k.base == pytest.approx(2 * 8, rel=0.02)
    assert k.scales == pytest.approx(tuple(m * k.base for m in (0.1, 0.2, 0.5, 1, 2, 5, 10)))
    assert make_kernel("imq", bandwidth=3.0).scales[3] == 3.0


@pytest.mark.parametrize("name", ["rbf", "rbf_multiscale", "imq", "distance"])
def test_kernel_matrix_matches_the_formula(name):
    a, b = RNG(0).normal(size=(7, 3)), RNG(1).normal(size=(5, 3))
    k = make_kernel(name, bandwidth=None if name == "distance" else 1.3)
    np.testing.assert_allclose(k(a, b), _naive(k, a, b), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "scales",
    [(0.5, 1.0, 2.0), (1.0,), (0.3, 0.7), (1.0, 2.0, 4.0, 8.0), (1.0, 1.0), (0.9, 1.8, 2.5)],
)
def test_in_place_fast_path_equals_direct_sum(scales):
    a = RNG(0).normal(size=(40, 3))
    d2 = _sqdist(a, a)
    k = Kernel("custom", "rbf", scales, 1.0)
    expect = sum(np.exp(-d2 / (2 * s * s)) for s in scales)
    np.testing.assert_allclose(k.from_sqdist(d2.copy()), expect, rtol=1e-12)
    np.testing.assert_allclose(k.inplace(d2.copy(), np.empty_like(d2)), expect, rtol=1e-12)


@pytest.mark.parametrize("name", ["imq", "distance"])
def test_in_place_fast_path_other_families(name):
    a = RNG(0).normal(size=(30, 2))
    d2 = _sqdist(a, a)
    k = make_kernel(name, bandwidth=None if name == "distance" else 2.0)
    np.testing.assert_allclose(
        k.inplace(d2.copy(), np.empty_like(d2)), k.from_sqdist(d2.copy()), rtol=1e-12
    )


def test_imq_uses_squared_distance():
    k = make_kernel("imq", bandwidth=1.0)
    x, y = np.zeros((1, 2)), np.array([[3.0, 4.0]])  # distance 5, squared 25
    assert float(k(x, y)[0, 0]) == pytest.approx(sum(c / (c + 25.0) for c in k.scales))


@pytest.mark.parametrize("name", ["rbf_multiscale", "imq", "distance"])
def test_torch_and_numpy_kernels_agree(name):
    a, b = RNG(0).normal(size=(9, 4)), RNG(1).normal(size=(6, 4))
    k = make_kernel(name, bandwidth=None if name == "distance" else 1.7)
    got = k(torch.from_numpy(a), torch.from_numpy(b))
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(got.numpy(), k(a, b), rtol=1e-12, atol=1e-12)


def test_diag_value_is_k_at_zero():
    for name in ("rbf", "rbf_multiscale", "imq", "distance"):
        k = make_kernel(name, bandwidth=None if name == "distance" else 1.0)
        x = np.ones((1, 3))
        assert float(k(x, x)[0, 0]) == pytest.approx(k.diag_value)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), "wide"])
def test_bad_bandwidth_is_an_input_error(bad):
    with pytest.raises(LpsInputError, match="bandwidth"):
        make_kernel("rbf", bandwidth=bad)


def test_unknown_kernel_lists_the_choices():
    with pytest.raises(LpsInputError, match="rbf_multiscale"):
        make_kernel("gauss")


def test_register_kernel_adds_one():
    register_kernel("rbf_wide_test", "rbf", (1.0, 4.0))
    try:
        k = make_kernel("rbf_wide_test", bandwidth=2.0)
        assert k.scales == (2.0, 8.0)
    finally:
        KERNELS.pop("rbf_wide_test")
    with pytest.raises(LpsInputError):
        register_kernel("bad", "laplacian", (1.0,))


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(2, 30),
    d=st.integers(1, 5),
    seed=st.integers(0, 2**16),
    width=st.floats(0.05, 20),
)
def test_multiscale_kernel_matrix_is_symmetric_psd_bounded(n, d, seed, width):
    a = RNG(seed).normal(size=(n, d))
    k = make_kernel("rbf_multiscale", bandwidth=width)(a, a)
    np.testing.assert_allclose(k, k.T, atol=1e-12)
    assert np.all(k <= 3 + 1e-12) and np.all(k >= 0)
    assert np.linalg.eigvalsh(k).min() > -1e-8
