"""Per-dimension MMD rows: a function of the column (and its prior marginal, and the seed).

Issue 17: the same column gave p = 0.816 in one position and 0.020 in another. The tests
here permute, replace and drop columns and check that each dimension's statistic and
p-value follow its column exactly (bit for bit), on every path.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import lps_eval.streaming as streaming
from lps_eval.prior_matching import mmd

RNG = np.random.default_rng
PERM = [3, 0, 2, 1]


def _world(n=400, seed=0):
    """Four different columns: a Gaussian, a shifted one, a uniform and a bimodal one."""
    rng = RNG(seed)
    return np.column_stack(
        [
            rng.normal(size=n),
            rng.normal(size=n) + 0.4,
            rng.uniform(-2, 2, size=n),
            rng.choice([-1.5, 1.5], size=n) + 0.4 * rng.normal(size=n),
        ]
    )


def _assert_permuted(a, b, perm):
    np.testing.assert_array_equal(b.per_dim, a.per_dim[perm])
    if a.per_dim_p_value is None:
        assert b.per_dim_p_value is None
    else:
        np.testing.assert_array_equal(b.per_dim_p_value, a.per_dim_p_value[perm])
    np.testing.assert_array_equal(
        np.asarray(b.settings["per_dim_bandwidths"]),
        np.asarray(a.settings["per_dim_bandwidths"])[perm],
    )


@pytest.mark.parametrize("estimator", ["unbiased", "biased", "linear"])
@pytest.mark.parametrize("kernel", ["rbf", "rbf_multiscale", "imq", "distance"])
@pytest.mark.parametrize("prior", ["gaussian", "laplace(0, 1)"])
def test_permuting_columns_permutes_the_per_dim_rows_exactly(estimator, kernel, prior):
    z = _world()
    kw = {"kernel": kernel, "estimator": estimator, "permutations": 30, "seed": 2}
    a = mmd(z, prior, max_samples=300, per_dim_max_samples=200, **kw)
    b = mmd(z[:, PERM], prior, max_samples=300, per_dim_max_samples=200, **kw)
    _assert_permuted(a, b, PERM)


def test_the_issue_case_same_column_same_p_in_any_position():
    """One column at position 0 and at position 5 of a six-dimensional N(0, I) sample."""
    z = RNG(17).normal(size=(3000, 6))
    moved = np.column_stack([z[:, 1:], z[:, 0]])
    a = mmd(z, "gaussian", permutations=200, seed=0)
    b = mmd(moved, "gaussian", permutations=200, seed=0)
    assert a.per_dim_p_value[0] == b.per_dim_p_value[5]
    assert a.per_dim[0] == b.per_dim[5]


def test_hybrid_prior_permuted_with_the_columns():
    z = _world()
    specs = ["gaussian(0, 1)", "gaussian(0.4, 1)", "uniform(-2, 2)", "bimodal(1.5, 0.4)"]
    prior = "hybrid(" + "; ".join(specs) + ")"
    moved = "hybrid(" + "; ".join(specs[i] for i in PERM) + ")"
    a = mmd(z, prior, permutations=30, seed=1)
    b = mmd(z[:, PERM], moved, permutations=30, seed=1)
    _assert_permuted(a, b, PERM)
    assert a.settings["prior_terms"] == "closed_form"


def test_samples_and_mixture_priors_permuted_with_the_columns(tmp_path):
    z = _world(n=300)
    ref = RNG(5).normal(size=(250, 4)) * [1.0, 1.2, 0.8, 1.1]
    np.save(tmp_path / "ref.npy", ref)
    np.save(tmp_path / "ref_moved.npy", ref[:, PERM])
    a = mmd(z, f"samples:{tmp_path / 'ref.npy'}", permutations=30, seed=3)
    b = mmd(z[:, PERM], f"samples:{tmp_path / 'ref_moved.npy'}", permutations=30, seed=3)
    _assert_permuted(a, b, PERM)
    means = np.array([[-1.0, 0.0, 1.0, 0.5], [1.0, 0.5, 0.0, -0.5]])
    var = np.array([[1.0, 0.5, 2.0, 1.0], [2.0, 1.0, 0.5, 1.5]])
    for name, cols in (("mix", slice(None)), ("mix_moved", PERM)):
        mix = {"weights": [0.3, 0.7], "means": means[:, cols].tolist()}
        mix["covariances"] = var[:, cols].tolist()
        (tmp_path / f"{name}.json").write_text(json.dumps(mix))
    a = mmd(z, f"mixture:{tmp_path / 'mix.json'}", permutations=30, seed=3)
    b = mmd(z[:, PERM], f"mixture:{tmp_path / 'mix_moved.json'}", permutations=30, seed=3)
    _assert_permuted(a, b, PERM)


@pytest.mark.parametrize("permutations", [0, 30])
def test_streamed_path_per_dim_rows_follow_their_columns(tmp_path, monkeypatch, permutations):
    monkeypatch.setattr(streaming, "STREAM_ELEMENTS", 1000)
    z = _world(n=6000).astype(np.float32)
    np.save(tmp_path / "a.npy", z)
    np.save(tmp_path / "b.npy", np.ascontiguousarray(z[:, PERM]))
    kw = {"estimator": "linear", "max_samples": None, "per_dim_max_samples": 300}
    a = mmd(np.load(tmp_path / "a.npy", mmap_mode="r"), permutations=permutations, **kw)
    b = mmd(np.load(tmp_path / "b.npy", mmap_mode="r"), permutations=permutations, **kw)
    assert a.settings["streamed"] and b.settings["streamed"]
    _assert_permuted(a, b, PERM)
    # the streamed and the in-memory path subsample a column alike
    in_memory = mmd(z.astype(np.float64), permutations=permutations, **kw)
    np.testing.assert_array_equal(in_memory.per_dim, a.per_dim)


def test_a_dimension_ignores_the_other_columns():
    """Replace, drop or add other columns: dimension 0's row does not move."""
    z = _world()
    base = mmd(z, "gaussian", permutations=50, seed=4)
    changed = z.copy()
    changed[:, 1:] = RNG(9).uniform(-3, 3, size=(z.shape[0], 3))
    wider = np.column_stack([z, RNG(10).normal(size=z.shape[0])])
    for other in (changed, z[:, :2], wider):
        r = mmd(other, "gaussian", permutations=50, seed=4)
        assert r.per_dim[0] == base.per_dim[0]
        assert r.per_dim_p_value[0] == base.per_dim_p_value[0]


def test_row_order_and_seed():
    z = _world()
    a = mmd(z, permutations=40, seed=6)
    b = mmd(z[RNG(1).permutation(z.shape[0])], permutations=40, seed=6)
    np.testing.assert_array_equal(a.per_dim, b.per_dim)
    np.testing.assert_array_equal(a.per_dim_p_value, b.per_dim_p_value)
    c = mmd(z, permutations=40, seed=7)
    assert not np.array_equal(a.per_dim, c.per_dim)
    assert "ranks" in a.settings["per_dim_rows"]


def test_identical_columns_give_identical_rows():
    x = RNG(2).normal(size=500)
    r = mmd(np.column_stack([x, x, RNG(3).normal(size=500)]), permutations=40)
    assert r.per_dim[0] == r.per_dim[1] and r.per_dim_p_value[0] == r.per_dim_p_value[1]


def test_joint_value_with_closed_form_and_every_row_is_column_order_invariant():
    """What held before stays: with every row, a given bandwidth and exact prior terms,
    the joint value depends on the rows as a set of points (up to summation order). The
    prior sample (behind the p-value and the median bandwidth) is drawn column by column,
    so the joint p-value and a median-heuristic value are not promised to be invariant."""
    z = _world()
    kw = {"permutations": 0, "max_samples": None, "bandwidth": 1.5}
    a = mmd(z, "gaussian", **kw)
    b = mmd(z[:, PERM], "gaussian", **kw)
    assert a.settings["prior_terms"] == "closed_form"
    assert b.value == pytest.approx(a.value, rel=1e-12, abs=1e-15)
    assert math.isnan(a.p_value)


def test_rows_carry_holm_adjusted_p_values():
    from lps_eval.multiple_testing import holm

    z = _world()
    r = mmd(z, "gaussian", permutations=99, seed=1)
    frame = r.to_frame()
    dims = frame[frame.scope == "dim"]
    np.testing.assert_array_equal(dims.p_value_holm.to_numpy(), holm(r.per_dim_p_value))
    np.testing.assert_array_equal(r.per_dim_p_value_holm, holm(r.per_dim_p_value))
    assert (dims.p_value_holm >= dims.p_value).all()
    assert frame[frame.scope == "overall"].p_value_holm.isna().all()
    untested = mmd(z, "gaussian", permutations=0).to_frame()
    assert untested.p_value_holm.isna().all() and untested.p_value.isna().all()
    assert r.settings["per_dim_smallest_holm_p"] == pytest.approx(4 / 100)
