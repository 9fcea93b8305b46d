"""LPS learning curve, the doubling rule, the lps_converged rows and the explicit-split hook."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lps_eval
from lps_eval import LpsInputError
from lps_eval.predictability import doubling_converged
from lps_eval.predictability.curve import curve_converged, default_sizes


def correlated(n, rho=0.8, d=4, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, d))
    z[:, 1] = rho * z[:, 0] + math.sqrt(1 - rho**2) * z[:, 1]
    return z


def test_default_sizes_is_a_doubling_grid():
    assert default_sizes(6000) == [375, 750, 1500, 3000, 6000]
    assert default_sizes(6000, points=3) == [1500, 3000, 6000]
    assert default_sizes(120) == [60, 120]


def test_curve_columns_nesting_and_known_answer():
    rho = 0.8
    curve = lps_eval.lps_curve(correlated(8000, rho), predictor="linear", n_boot=100)
    assert list(curve.columns) == [
        "n",
        "n_train",
        "n_test",
        "value",
        "ci_low",
        "ci_high",
        "null",
        "null_ci_low",
        "null_ci_high",
    ]
    assert curve["n_train"].tolist() == default_sizes(6000)
    assert (curve["n_test"] == 2000).all() and (curve["n"] == curve["n_train"] + 2000).all()
    # population linear R2 is rho^2 for dims 0 and 1, 0 for the others: LPS = rho^2 / 2
    top = curve.iloc[-1]
    assert top.value == pytest.approx(rho**2 / 2, abs=0.03)
    assert (curve["ci_low"] <= curve["value"]).all() and (curve["value"] <= curve["ci_high"]).all()
    assert curve["null"].abs().max() < 0.05  # shuffled columns: no dependence left
    assert curve.attrs["target_dims"] == [0, 1, 2, 3] and curve.attrs["predictor"] == "linear"


def test_curve_is_invariant_to_row_order():
    z = correlated(3000, seed=1)
    perm = np.random.default_rng(5).permutation(3000)
    kwargs = {"predictor": "linear", "n_boot": 30, "null": False, "sizes": [300, 600]}
    a = lps_eval.lps_curve(z, **kwargs)
    b = lps_eval.lps_curve(z[perm], **kwargs)
    pd.testing.assert_frame_equal(a, b)


def test_target_dims_scores_a_fixed_subset():
    z = correlated(2000, d=10, seed=2)
    curve = lps_eval.lps_curve(z, predictor="linear", target_dims=3, null=False, n_boot=20)
    assert len(curve.attrs["target_dims"]) == 3
    with pytest.raises(LpsInputError, match="need more data"):
        lps_eval.lps_curve(z, predictor="linear", sizes=[100_000])


def test_nonlinear_curve_rises_with_training_rows():
    rng = np.random.default_rng(3)
    x = rng.uniform(-2, 2, size=(4000, 2))
    z = np.column_stack([x, np.sin(3 * x[:, 0]) * x[:, 1] + 0.05 * rng.normal(size=4000)])
    curve = lps_eval.lps_curve(z, predictor="knn", null=False, n_boot=50, sizes=[100, 3000])
    assert curve["value"].iloc[-1] > curve["value"].iloc[0] + 0.05


@pytest.mark.parametrize(
    ("value", "ci", "half", "expected"),
    [
        (0.50, (0.45, 0.55), 0.47, True),  # moved 0.03 < half-width 0.05
        (0.50, (0.45, 0.55), 0.40, False),  # moved 0.10
        (0.50, (0.45, 0.55), 0.55, False),  # exactly the half-width is not "less than"
        (0.50, (math.nan, math.nan), 0.50, False),  # no interval, no verdict
        (0.50, (0.45, 0.55), math.nan, False),
    ],
)
def test_doubling_rule_known_cases(value, ci, half, expected):
    assert doubling_converged(value, ci, half) is expected


@settings(max_examples=50, deadline=None)
@given(
    st.floats(-1, 1),
    st.floats(0, 0.5),
    st.floats(-1, 1),
)
def test_doubling_rule_matches_its_definition(value, half_width, half):
    ci = (value - half_width, value + half_width)
    assert doubling_converged(value, ci, half) == (abs(value - half) < (ci[1] - ci[0]) / 2)


def test_curve_converged_reads_the_last_doubling():
    curve = pd.DataFrame(
        {
            "n_train": [500, 1000, 2000],
            "value": [0.3, 0.5, 0.52],
            "ci_low": [0, 0, 0.47],
            "ci_high": [1, 1, 0.57],
        }
    )
    out = curve_converged(curve)
    assert out["converged"] and out["change"] == pytest.approx(0.02)
    assert out["half_width"] == pytest.approx(0.05) and out["n_train_previous"] == 1000
    assert curve_converged(curve.iloc[:1])["converged"] is False


def test_score_lps_converged_rows_are_opt_in():
    z = correlated(4000, seed=4)
    plain = lps_eval.score(z, metrics=["lps"], predictor="linear", lps={"n_boot": 50})
    assert "lps_converged" not in set(plain.metric)
    table = lps_eval.score(
        z, metrics=["lps"], predictor="linear", lps={"n_boot": 50, "converged": True}
    )
    rows = table[table.scope == "overall"].set_index("metric")
    info = table.attrs["settings"]["lps_converged"]
    assert rows.loc["lps_converged", "value"] in (0.0, 1.0)
    assert info["n"] == 4000 and info["n_half"] == 2000
    assert rows.loc["lps_doubling_change", "value"] == pytest.approx(
        rows.loc["lps", "value"] - info["lps_half"]
    )
    expected = doubling_converged(
        rows.loc["lps", "value"],
        (rows.loc["lps", "ci_low"], rows.loc["lps", "ci_high"]),
        info["lps_half"],
    )
    assert rows.loc["lps_converged", "value"] == float(expected)


def test_explicit_split_and_heldout_rows():
    z = correlated(600, seed=5)
    train, test = np.arange(0, 400), np.arange(400, 600)
    res = lps_eval.lps(z, predictor="linear", split=(train, test), n_boot=0, null=False)
    rows, y, pred = res.heldout
    np.testing.assert_array_equal(rows, test)
    assert y.shape == pred.shape == (200, 4)
    assert res.settings["n_train"] == 400 and res.settings["split"].startswith(
        "given by the caller"
    )
    # cross-fitting: every row is evaluated once, out of fold (kept when there is an interval;
    # the linear fit does not materialize its rows otherwise)
    default = lps_eval.lps(z, predictor="linear", n_boot=20, null=False)
    rows, y, _ = default.heldout
    assert np.array_equal(np.sort(rows), np.arange(600))
    for k in range(4):  # held-out targets are the original rows, standardized
        assert np.corrcoef(z[rows, k], y[:, k])[0, 1] == pytest.approx(1.0)
    with pytest.raises(LpsInputError, match="overlap"):
        lps_eval.lps(z, split=(np.arange(0, 400), np.arange(300, 600)))
    with pytest.raises(LpsInputError, match="integer"):
        lps_eval.lps(z, split=(np.zeros(10), np.arange(10, 20)))
    with pytest.raises(LpsInputError, match=r"\[0, 600\)"):
        lps_eval.lps(z, split=(np.arange(10), np.array([599, 600])))


@pytest.mark.parametrize("predictor", ["linear", "knn"])
def test_curve_end_is_the_reported_lps_on_the_same_split(predictor):
    """Same seed, test_size and cap: the curve's last point holds out the rows lps() holds
    out and trains on all the others, so it is the same number (issue 17)."""
    z = correlated(3000, seed=6)
    rep = lps_eval.lps(z, predictor=predictor, test_size=0.2, seed=4, n_boot=100)
    curve = lps_eval.lps_curve(z, predictor=predictor, test_size=0.2, seed=4, n_boot=100)
    end = curve.iloc[-1]
    assert end.n_train == rep.settings["n_train"] and end.n_test == rep.settings["n_test"]
    assert end.value == pytest.approx(rep.value, abs=1e-9)
    assert end.ci_low <= rep.value <= end.ci_high


def test_null_curve_on_a_subset_of_targets_leaves_the_values_alone():
    z = correlated(2000, d=12, seed=7)
    kwargs = {"predictor": "linear", "n_boot": 20, "sizes": [400, 800]}
    all_null = lps_eval.lps_curve(z, null_dims=None, **kwargs)
    some = lps_eval.lps_curve(z, **kwargs)  # default null_dims=8
    pd.testing.assert_series_equal(all_null["value"], some["value"])
    assert len(some.attrs["null_target_dims"]) == 8 and some.attrs["null_dims"] == 8
    assert set(some.attrs["null_target_dims"]) <= set(some.attrs["target_dims"])
    assert len(all_null.attrs["null_target_dims"]) == 12


def test_linear_curve_uses_every_row_by_default():
    z = correlated(12_000, seed=8)
    linear = lps_eval.lps_curve(z, predictor="linear", null=False, n_boot=0)
    assert linear["n"].iloc[-1] == 12_000 and linear.attrs["max_samples"] is None
    with pytest.raises(LpsInputError, match="max_samples=None"):
        lps_eval.lps_curve(z, predictor="linear", max_samples=1000, sizes=[5000])
