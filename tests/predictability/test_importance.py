"""Predictor importance with a null level per cell, and the Holm adjustment behind it."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lps_eval
from lps_eval import LpsInputError
from lps_eval.multiple_testing import holm
from lps_eval.predictability import lps_importance
from lps_eval.simulations import (
    SINE_PRODUCT_CONDITIONAL,
    gaussian_latents,
    paired_linear_latents,
    sine_product_latents,
)


def marked(mask, dims):
    return {(int(dims[a]), int(dims[b])) for a, b in zip(*np.nonzero(mask), strict=True)}


# --- Holm ---------------------------------------------------------------------------


def test_holm_known_values():
    # sorted p = .01, .02, .03, .04 with m = 4: 4*.01, 3*.02, 2*.03, 1*.04 -> .04 .06 .06 .06
    np.testing.assert_allclose(holm([0.03, 0.01, 0.04, 0.02]), [0.06, 0.04, 0.06, 0.06])
    np.testing.assert_allclose(holm([0.5, 0.9]), [1.0, 1.0])
    out = holm(np.array([[np.nan, 0.01], [0.2, np.nan]]))  # NaNs are not tests
    np.testing.assert_allclose(out, [[np.nan, 0.02], [0.2, np.nan]])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12))
def test_holm_matches_its_step_down_definition(p):
    p = np.array(p)
    m, order = p.size, np.argsort(p, kind="stable")
    expected = np.empty(m)
    for rank, i in enumerate(order):  # adj_(i) = max_{j <= i} min(1, (m - j + 1) p_(j))
        expected[i] = max(min(1.0, (m - j) * p[order[j]]) for j in range(rank + 1))
    np.testing.assert_allclose(holm(p), expected)
    assert np.all(holm(p) >= p)


# --- known worlds --------------------------------------------------------------------


@pytest.mark.parametrize("predictor", ["knn", "linear"])
def test_independent_world_has_no_cell_above_the_null(predictor):
    for seed in range(3):
        res = lps_importance(gaussian_latents(3000, 6, seed=seed), predictor=predictor, seed=seed)
        assert not res.above_null.any() and not res.linear_above_null.any(), seed
        assert res.value == 0.0


def test_strong_world_marks_the_true_pairs_and_only_those():
    """z1 = sin(2 z0) + e and z4 = z2 z3 + e: the product is invisible linearly and
    pairwise (z2, z3 independent), yet the predictor relies on both factors."""
    res = lps_importance(sine_product_latents(3000, seed=1), predictor="knn")
    assert marked(res.above_null, res.dims) == SINE_PRODUCT_CONDITIONAL
    linear = marked(res.linear_above_null, res.dims)
    assert linear <= {(0, 1), (1, 0)}  # sin(2 z0) has a linear part; the product none
    assert not linear & {(4, 2), (4, 3), (2, 3), (3, 2)}
    assert np.all(np.isnan(np.diag(res.importance)))


@pytest.mark.slow
def test_strong_world_with_the_default_predictor():
    res = lps_importance(sine_product_latents(3000, seed=1))  # hgb
    assert marked(res.above_null, res.dims) == SINE_PRODUCT_CONDITIONAL


def test_linear_companion_equals_the_lps_structure_on_every_row():
    z, _ = paired_linear_latents(4000, 6, r2=0.3, seed=5)
    res = lps_importance(z, predictor="linear", max_samples=500)  # the fit is capped ...
    full = lps_eval.lps(z, predictor="linear", n_boot=0, null=False)  # ... the companion not
    off = ~np.eye(6, dtype=bool)  # the structure's diagonal is 0, the companion's NaN
    np.testing.assert_allclose(res.linear[off], full.structure[off], atol=1e-9)
    pairs = {(0, 1), (1, 0), (2, 3), (3, 2), (4, 5), (5, 4)}
    assert marked(res.linear_above_null, res.dims) == pairs
    assert marked(res.above_null, res.dims) == pairs


def test_dimension_cap_tidy_rows_and_settings():
    z = gaussian_latents(1500, 20, seed=6)
    z[:, 3] = 2.0  # constant: left out
    res = lps_importance(z, predictor="linear", max_dims=5)
    assert res.dims.tolist() == [0, 1, 2, 4, 5] and res.settings["constant_dims"] == [3]
    frame = res.to_frame()
    assert set(frame.metric) == {"lps_importance", "lps_structure"}
    assert len(frame) == 2 * 5 * 4 and {"source_dim", "p_value_holm"} <= set(frame.columns)
    assert (frame.p_value_holm >= frame.p_value).all()
    with pytest.raises(LpsInputError, match="max_dims"):
        lps_importance(z, max_dims=1)


def test_importance_is_invariant_to_row_order():
    z = sine_product_latents(1500, seed=7)
    perm = np.random.default_rng(8).permutation(1500)
    a = lps_importance(z, predictor="knn")
    b = lps_importance(z[perm], predictor="knn")
    np.testing.assert_allclose(a.importance, b.importance, atol=1e-12, equal_nan=True)


def test_every_shuffled_copy_keeps_the_other_columns():
    """One stacked prediction call: each block differs from the held-out rows in one column."""
    seen = []

    class Recording:
        name = "recording"

        def settings(self):
            return {"predictor": "recording"}

        def fit_predict(self, train, test, *, seed):
            seen.append(test.copy())
            return np.zeros_like(test)

    lps_importance(gaussian_latents(400, 4, seed=9), predictor=Recording(), max_dims=3)
    (stacked,) = seen
    blocks = np.split(stacked, 4)
    for b, j in itertools.product(range(1, 4), range(4)):
        same = np.array_equal(blocks[b][:, j], blocks[0][:, j])
        assert same == (j != b - 1)
        assert np.array_equal(np.sort(blocks[b][:, j]), np.sort(blocks[0][:, j]))
