"""LPS: known answers, invariances, cross-checks and the trust features."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression, Ridge

import lps_eval
from lps_eval import LpsInputError, LpsInputWarning
from lps_eval.predictability import (
    bootstrap_r2,
    canonical_order,
    expected_null_r2,
    linear_structure,
    lps,
    r2_per_column,
)
from lps_eval.predictors.linear import LinearPredictor
from lps_eval.results import TIDY_COLUMNS
from lps_eval.simulations import gaussian_latents, gaussian_with_covariance, nonlinear_pair

FAST = {"n_boot": 0, "null": False, "structure": False}


def random_covariance(d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.2 * np.eye(d)


# --- known answers -----------------------------------------------------------------


def test_independent_gaussian_gives_lps_near_zero():
    z = gaussian_latents(20_000, 6, seed=1)
    result = lps(z, predictor="linear", max_samples=None)
    assert abs(result.value) < 0.01
    assert np.all(np.abs(result.per_dim) < 0.01)
    assert result.ci_low <= 0.0 <= result.ci_high or abs(result.value) < 0.005


def test_gaussian_with_known_covariance_matches_analytic_linear_r2():
    cov = random_covariance(5, seed=3)
    precision = np.linalg.inv(cov)
    analytic = 1.0 - 1.0 / (np.diag(cov) * np.diag(precision))
    z = gaussian_with_covariance(cov, 60_000, seed=4)
    result = lps(z, predictor="linear", max_samples=None, **FAST)
    np.testing.assert_allclose(result.per_dim, analytic, atol=0.01)
    assert result.value == pytest.approx(analytic.mean(), abs=0.006)


def test_noisy_nonlinear_function_gives_analytic_r2_with_hgb():
    z, r2_true = nonlinear_pair(12_000, noise=0.3, extra_dims=2, seed=5)
    result = lps(z, predictor="hgb", max_samples=None, **FAST)
    assert result.per_dim[1] == pytest.approx(r2_true, abs=0.03)
    assert np.all(np.abs(result.per_dim[2:]) < 0.03)
    linear = lps(z, predictor="linear", max_samples=None, **FAST)
    # Best linear predictor of z1 from z0: R2 = Cov(z0, sin 2z0)^2 / Var(z1), with
    # Cov = E[z0 sin 2z0] = 2 exp(-2) (Stein's lemma) and Var(z1) = v + noise^2.
    var_z1 = (1 - np.exp(-8.0)) / 2 + 0.3**2
    assert linear.per_dim[1] == pytest.approx((2 * np.exp(-2.0)) ** 2 / var_z1, abs=0.02)
    assert linear.per_dim[1] < result.per_dim[1] - 0.5  # the nonlinear gap


def test_knn_and_mlp_also_see_the_nonlinear_dependence():
    z, r2_true = nonlinear_pair(2_000, noise=0.3, extra_dims=1, seed=6)
    for name in ("knn", "mlp"):
        result = lps(z, predictor=name, max_samples=None, **FAST)
        assert result.per_dim[1] > r2_true - 0.2, name


def test_exact_linear_combination_is_fully_predictable_not_nan():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2_000, 3))
    z = np.column_stack([x, x @ [1.0, -2.0, 0.5]])
    result = lps(z, predictor="linear", **FAST)
    assert np.all(np.isfinite(result.per_dim))
    assert np.all(result.per_dim > 0.999)


# --- cross-checks ------------------------------------------------------------------


def test_closed_form_equals_a_loop_of_sklearn_linear_regressions():
    cov = random_covariance(6, seed=8)
    z = gaussian_with_covariance(cov, 3_000, seed=9)
    train, test = z[:2_000], z[2_000:]
    ours = LinearPredictor(ridge=0.0).fit_predict(train, test)
    for i in range(z.shape[1]):
        others = np.delete(np.arange(6), i)
        ref = LinearRegression().fit(train[:, others], train[:, i]).predict(test[:, others])
        np.testing.assert_allclose(ours[:, i], ref, rtol=1e-8, atol=1e-9)


def test_r2_matches_sklearn_r2_score():
    from sklearn.metrics import r2_score

    rng = np.random.default_rng(10)
    y, pred = rng.normal(size=(200, 3)), rng.normal(size=(200, 3))
    np.testing.assert_allclose(r2_per_column(y, pred), r2_score(y, pred, multioutput="raw_values"))


def test_bootstrap_r2_equals_explicit_resampling():
    rng = np.random.default_rng(11)
    y = rng.normal(size=(50, 2))
    pred = y + rng.normal(size=(50, 2))
    boot = bootstrap_r2(y, pred, n_boot=5, rng=np.random.default_rng(3))
    draws = np.random.default_rng(3).integers(0, 50, size=(5, 50))
    for b in range(5):
        idx = draws[b]
        np.testing.assert_allclose(boot[b], r2_per_column(y[idx], pred[idx]), atol=1e-12)


def test_structure_equals_r2_drop_of_explicit_refits():
    cov = random_covariance(4, seed=12)
    z = gaussian_with_covariance(cov, 5_000, seed=13)
    struct = linear_structure(z, ridge=0.0)

    def in_sample_r2(target, predictors):
        model = LinearRegression().fit(z[:, predictors], z[:, target])
        return model.score(z[:, predictors], z[:, target])

    for i in range(4):
        others = [j for j in range(4) if j != i]
        full = in_sample_r2(i, others)
        for j in others:
            reduced = in_sample_r2(i, [k for k in others if k != j])
            assert struct[i, j] == pytest.approx(full - reduced, abs=1e-9)
    assert np.all(np.diag(struct) == 0)


# --- invariances -------------------------------------------------------------------


def test_dimension_order_invariance():
    z = gaussian_with_covariance(random_covariance(5, 14), 3_000, seed=15)
    perm = np.array([3, 0, 4, 1, 2])
    a = lps(z, predictor="linear", seed=2)
    b = lps(z[:, perm], predictor="linear", seed=2)
    assert b.value == pytest.approx(a.value, abs=1e-10)
    np.testing.assert_allclose(b.per_dim, a.per_dim[perm], atol=1e-10)
    np.testing.assert_allclose(b.per_dim_ci, a.per_dim_ci[perm], atol=1e-10)
    np.testing.assert_allclose(b.structure, a.structure[np.ix_(perm, perm)], atol=1e-10)


def test_sample_order_invariance_is_exact_for_nonlinear_predictors_too():
    z, _ = nonlinear_pair(3_000, seed=16)
    order = np.random.default_rng(0).permutation(len(z))
    for name in ("linear", "hgb"):
        a = lps(z, predictor=name, n_boot=20, null=False)
        b = lps(z[order], predictor=name, n_boot=20, null=False)
        assert a.value == b.value, name
        np.testing.assert_array_equal(a.per_dim_ci, b.per_dim_ci)


@settings(max_examples=25, deadline=None)
@given(
    scale=st.lists(
        st.floats(0.01, 100).map(lambda v: v) | st.floats(-100, -0.01), min_size=4, max_size=4
    ),
    shift=st.lists(st.floats(-1e3, 1e3), min_size=4, max_size=4),
    seed=st.integers(0, 1000),
)
def test_affine_rescaling_invariance(scale, shift, seed):
    z = gaussian_with_covariance(random_covariance(4, 17), 600, seed=18)
    a = lps(z, predictor="linear", seed=seed, n_boot=10)
    b = lps(z * np.array(scale) + np.array(shift), predictor="linear", seed=seed, n_boot=10)
    assert b.value == pytest.approx(a.value, abs=1e-7)
    np.testing.assert_allclose(b.per_dim, a.per_dim, atol=1e-7)
    assert b.null_value == pytest.approx(a.null_value, abs=1e-7)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(40, 300), d=st.integers(2, 6), seed=st.integers(0, 10_000))
def test_lps_is_at_most_one_and_finite(n, d, seed):
    z = np.random.default_rng(seed).normal(size=(n, d)) ** 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LpsInputWarning)
        result = lps(z, predictor="linear", seed=seed, n_boot=10)
    assert np.isfinite(result.value)
    assert np.all(result.per_dim <= 1.0)
    assert result.ci_low <= result.ci_high
    if not result.ci_low <= result.value <= result.ci_high:  # never without a word
        assert "excludes the estimate" in result.settings["note"]


def test_hgb_dimension_order_close():
    z, _ = nonlinear_pair(2_000, seed=19)
    perm = np.array([2, 3, 1, 0])
    a = lps(z, predictor="hgb", **FAST)
    b = lps(z[:, perm], predictor="hgb", **FAST)
    np.testing.assert_allclose(b.per_dim, a.per_dim[perm], atol=0.03)


def test_canonical_order_breaks_symmetric_ties_without_looking_at_sample_order():
    x = np.random.default_rng(55).normal(size=(50, 2))
    z = np.vstack([x, x[:, ::-1]])  # rows [a, b] and [b, a]: equal keys
    rows = np.random.default_rng(2).permutation(100)
    np.testing.assert_array_equal(z[canonical_order(z)], z[rows][canonical_order(z[rows])])


def test_canonical_order_ignores_row_and_column_order():
    z = np.random.default_rng(20).normal(size=(100, 3))
    rows = np.random.default_rng(1).permutation(100)
    np.testing.assert_array_equal(z[canonical_order(z)], z[rows][canonical_order(z[rows])])
    np.testing.assert_array_equal(
        z[canonical_order(z)][:, ::-1], z[:, ::-1][canonical_order(z[:, ::-1])]
    )


# --- reproducibility and trust features --------------------------------------------


def test_same_seed_same_numbers_different_seed_different_split():
    z, _ = nonlinear_pair(1_500, seed=21)
    a, b = lps(z, predictor="knn", seed=3), lps(z, predictor="knn", seed=3)
    assert a.value == b.value and a.null_value == b.null_value
    c = lps(z, predictor="knn", seed=4)
    assert c.value != a.value
    assert a.settings["seed"] == 3


def test_null_level_is_near_zero_even_for_dependent_data():
    z, _ = nonlinear_pair(4_000, seed=22)
    result = lps(z, predictor="hgb", n_boot=50)
    assert result.value > 0.15
    assert abs(result.null_value) < 0.03
    assert len(result.settings["null_target_dims"]) == 4


def test_null_dims_subsets_targets():
    z = gaussian_latents(1_000, 12, seed=23)
    result = lps(z, predictor="knn", null_dims=3, n_boot=0, structure=False)
    assert len(result.settings["null_target_dims"]) == 3


def test_intervals_bracket_the_estimate():
    z, _ = nonlinear_pair(3_000, seed=24)
    result = lps(z, predictor="linear")
    assert result.ci_low < result.value < result.ci_high
    inside = (result.per_dim_ci[:, 0] <= result.per_dim) & (
        result.per_dim <= result.per_dim_ci[:, 1]
    )
    assert inside.all()


def test_settings_record_every_choice():
    z = gaussian_latents(500, 3, seed=25)
    s = lps(z, predictor="linear", test_size=0.3, n_boot=7, seed=9).settings
    for key, value in {"predictor": "linear", "test_size": 0.3, "n_boot": 7, "seed": 9}.items():
        assert s[key] == value
    assert s["n_train"] + s["n_test"] == 500
    assert s["n_test"] == 150


def test_max_samples_subsamples_reproducibly():
    z = gaussian_latents(5_000, 3, seed=26)
    r = lps(z, predictor="linear", max_samples=1_000, **FAST)
    assert r.settings["n_samples_used"] == 1_000
    assert r.settings["n_samples_total"] == 5_000


def test_to_frame_is_tidy():
    z = gaussian_latents(800, 3, seed=27)
    frame = lps(z, predictor="linear").to_frame()
    assert tuple(frame.columns[: len(TIDY_COLUMNS)]) == TIDY_COLUMNS
    overall = frame[(frame.metric == "lps") & (frame.scope == "overall")]
    assert len(overall) == 1
    assert set(frame.metric) == {"lps", "lps_null", "lps_structure"}
    assert (frame[frame.metric == "lps_structure"].source_dim.notna()).all()
    assert frame.attrs["predictor"] == "linear" and "versions" in frame.attrs


def test_sklearn_regressor_instance_and_custom_predictor_accepted():
    z = gaussian_with_covariance(random_covariance(3, 28), 2_000, seed=29)
    ridge = lps(z, predictor=Ridge(alpha=1e-6), **FAST)
    linear = lps(z, predictor="linear", **FAST)
    np.testing.assert_allclose(ridge.per_dim, linear.per_dim, atol=1e-6)
    assert ridge.settings["predictor"] == "Ridge"


def test_public_api_exports():
    assert lps_eval.lps is lps


# --- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("z", "message"),
    [
        (np.ones((100,)), "1-D"),
        (np.ones((10, 3, 2)), "3 dimensions"),
        (np.empty((0, 3)), "empty"),
        (np.random.default_rng(0).normal(size=(100, 1)), "at least 2"),
        (np.full((100, 3), np.nan), "NaN"),
        (np.array([[1.0, np.inf]] * 50), "NaN or inf"),
        (np.random.default_rng(0).normal(size=(8, 3)), "samples"),
        (np.array([["a", "b"]] * 30, dtype=object), "object array"),
        (np.array([["a", "b"]] * 30), "non-numeric"),
    ],
)
def test_bad_input_raises_one_clear_error(z, message):
    with pytest.raises(LpsInputError, match=message):
        lps(z, predictor="linear")


def test_too_few_rows_for_the_split_names_the_fix():
    z = np.random.default_rng(0).normal(size=(16, 3))
    with pytest.raises(LpsInputError, match="test_size"):
        lps(z, predictor="linear", test_size=0.2)


def test_constant_dimension_is_left_out_with_a_warning():
    rng = np.random.default_rng(30)
    z = np.column_stack([rng.normal(size=500), np.full(500, 3.0), rng.normal(size=500)])
    with pytest.warns(LpsInputWarning, match="constant"):
        result = lps(z, predictor="linear")
    assert np.isnan(result.per_dim[1])
    assert np.isfinite(result.value)
    assert result.settings["constant_dims"] == [1]


def test_all_but_one_constant_is_an_error():
    z = np.column_stack([np.arange(100.0), np.ones(100), np.zeros(100)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LpsInputWarning)
        with pytest.raises(LpsInputError, match="non-constant"):
            lps(z, predictor="linear")


@pytest.mark.parametrize("dtype", [np.int64, np.float16])
def test_integer_and_half_precision_are_converted_with_a_warning(dtype):
    z = (np.random.default_rng(31).normal(size=(200, 3)) * 10).astype(dtype)
    with pytest.warns(LpsInputWarning, match="converting to float64"):
        result = lps(z, predictor="linear")
    assert np.isfinite(result.value)


def test_float32_and_float64_agree():
    z = np.random.default_rng(32).normal(size=(1_000, 4))
    a = lps(z, predictor="linear")
    b = lps(z.astype(np.float32), predictor="linear")
    assert b.value == pytest.approx(a.value, abs=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"predictor": "nope"}, "unknown predictor"),
        ({"predictor": object()}, "fit/predict"),
        ({"test_size": 1.5}, "test_size"),
        ({"n_boot": -1}, "n_boot"),
        ({"seed": None}, "seed"),
        (
            {"predictor": "hgb", "predictor_params": {"bogus": 1}},
            "has no option .bogus.; valid options",
        ),
    ],
)
def test_bad_options_raise(kwargs, message):
    z = np.random.default_rng(33).normal(size=(100, 3))
    with pytest.raises(LpsInputError, match=message):
        lps(z, **kwargs)


def test_lists_and_dataframes_are_accepted():
    import pandas as pd

    z = np.random.default_rng(34).normal(size=(200, 3))
    a = lps(z, predictor="linear").value
    assert lps(z.tolist(), predictor="linear").value == a
    assert lps(pd.DataFrame(z), predictor="linear").value == a


# --- 0.2: cross-fitting, honest intervals, closed-form null, bounded resources -------


def test_linear_cross_fitting_equals_per_fold_least_squares():
    z = gaussian_with_covariance(random_covariance(5, 40), 1_500, seed=41)
    fast = lps(z, predictor="linear", folds=3, **FAST)
    loop = lps(z, predictor=LinearRegression(), folds=3, **FAST)  # generic per-fold path
    np.testing.assert_allclose(fast.per_dim, loop.per_dim, atol=1e-7)
    assert fast.settings["split"].startswith("3-fold cross-fitting")
    assert fast.settings["n_test"] == 1_500  # every row is held out once


def test_closed_form_null_is_the_mean_linear_lps_of_independent_gaussians():
    # Known answer: E[held-out R2] of least squares with p independent Gaussian predictors.
    n, d, folds = 300, 10, 5
    values = [
        lps(gaussian_latents(n, d, seed=s), predictor="linear", folds=folds, **FAST).value
        for s in range(40)
    ]
    sizes = np.full(folds, n // folds)
    expected = expected_null_r2(n - sizes, sizes, d - 1)
    assert expected < -0.03  # a real bias at this n and d, not zero
    assert np.mean(values) == pytest.approx(expected, abs=3 * np.std(values) / np.sqrt(40))
    result = lps(gaussian_latents(n, d, seed=0), predictor="linear", folds=folds, n_boot=0)
    assert result.null_value == pytest.approx(expected)
    assert result.settings["null_method"] == "closed_form"


def test_closed_form_null_agrees_with_the_shuffled_null():
    z = gaussian_with_covariance(random_covariance(6, 42), 2_000, seed=43)
    closed = lps(z, predictor="linear", n_boot=0, structure=False).null_value
    shuffled = [
        lps(z, predictor="linear", null_method="shuffle", null_dims=None, n_boot=0, seed=s)
        for s in range(10)
    ]
    values = np.array([r.null_value for r in shuffled])
    assert closed == pytest.approx(values.mean(), abs=4 * values.std() / np.sqrt(10) + 1e-3)


def test_grouped_bootstrap_equals_explicit_two_stage_resampling():
    rng = np.random.default_rng(44)
    y = rng.normal(size=(30, 2))
    pred = y + rng.normal(size=(30, 2))
    groups = [np.arange(0, 10), np.arange(10, 20), np.arange(20, 30)]
    boot = bootstrap_r2(y, pred, n_boot=4, rng=np.random.default_rng(5), groups=groups)
    ref = np.random.default_rng(5)
    fold_mult = ref.multinomial(3, np.full(3, 1 / 3), size=4)
    draws = [ref.integers(0, 10, size=(4, 10)) for _ in groups]
    for b in range(4):
        idx = np.concatenate(
            [np.tile(g[draws[k][b]], fold_mult[b, k]) for k, g in enumerate(groups)]
        )
        np.testing.assert_allclose(boot[b], r2_per_column(y[idx], pred[idx]), atol=1e-12)


def test_bootstrap_memory_does_not_grow_with_resamples():
    import tracemalloc

    n, d = 200_000, 4
    rng = np.random.default_rng(45)
    y = rng.normal(size=(n, d))
    pred = 0.5 * y
    peaks = []
    for n_boot in (20, 400):
        tracemalloc.start()
        boot = bootstrap_r2(y, pred, n_boot=n_boot, rng=rng)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert boot.shape == (n_boot, d)
    assert peaks[1] < peaks[0] + 2**20  # 20x the resamples, no more memory
    assert peaks[1] < 0.1 * 400 * n * 8  # far below one n_boot x n matrix of floats


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_boot": 10**7}, "n_boot must be at most"),
        ({"folds": 1}, "folds"),
        ({"folds": 3, "test_size": 0.2}, "not both"),
        ({"null_method": "exact"}, "null_method"),
        ({"interval": "jackknife"}, "interval"),
        ({"predictor": "hgb", "null_method": "closed_form"}, "needs predictor='linear'"),
    ],
)
def test_new_options_are_validated(kwargs, message):
    z = np.random.default_rng(46).normal(size=(200, 3))
    with pytest.raises(LpsInputError, match=message):
        lps(z, **kwargs)


def test_wide_input_is_refused_at_once():
    z = np.random.default_rng(47).normal(size=(50, 10_000))
    with pytest.raises(LpsInputError, match="max_dims"):
        lps(z, predictor="linear")
    with pytest.raises(LpsInputError, match="max_dims"):
        lps(z[:, :300])  # default hgb: 256 dimensions at most


def test_more_dimensions_than_samples_warns_and_still_returns_finite_numbers():
    z = np.random.default_rng(48).normal(size=(50, 200))
    with pytest.warns(LpsInputWarning, match="held-out rows"):
        result = lps(z, predictor="linear")
    assert "fewer samples than dimensions" in result.settings["note"]
    assert np.isfinite(result.value) and result.value <= 1.0


def test_delta_and_bootstrap_intervals_agree_at_large_n():
    z = gaussian_with_covariance(random_covariance(4, 49), 20_000, seed=50)
    boot = lps(z, predictor="linear", max_samples=None, interval="bootstrap", null=False)
    delta = lps(z, predictor="linear", max_samples=None, interval="delta", null=False)
    assert boot.value == delta.value
    ratio = (delta.ci_high - delta.ci_low) / (boot.ci_high - boot.ci_low)
    assert 0.6 < ratio < 1.6
    assert delta.settings["interval_method"] == "delta"


@pytest.mark.parametrize("name", ["hgb", "lightgbm"])
def test_numbers_do_not_depend_on_the_number_of_workers(name):
    pytest.importorskip("lightgbm") if name == "lightgbm" else None
    z, _ = nonlinear_pair(1_200, extra_dims=2, seed=51)
    one = lps(z, predictor=name, predictor_params={"n_jobs": 1}, n_boot=20, structure=False)
    two = lps(z, predictor=name, predictor_params={"n_jobs": 2}, n_boot=20, structure=False)
    assert one.value == two.value and one.null_value == two.null_value
    np.testing.assert_array_equal(one.per_dim, two.per_dim)
    np.testing.assert_array_equal(one.per_dim_ci, two.per_dim_ci)


def test_shared_bin_lightgbm_equals_a_loop_of_lgbm_regressors():
    lgb = pytest.importorskip("lightgbm")
    from lps_eval.predictors import get_predictor

    z, _ = nonlinear_pair(1_500, extra_dims=2, seed=52)
    train, test = z[:1_000], z[1_000:]
    ours = get_predictor("lightgbm", early_stopping=False, n_jobs=2).fit_predict(
        train, test, seed=0
    )
    for i in range(z.shape[1]):
        others = np.delete(np.arange(z.shape[1]), i)
        ref = lgb.LGBMRegressor(verbose=-1, n_jobs=1).fit(train[:, others], train[:, i])
        np.testing.assert_allclose(ours[:, i], ref.predict(test[:, others]), atol=1e-12)


@pytest.mark.slow
def test_column_order_moves_hgb_lps_less_than_its_half_width():
    z, _ = nonlinear_pair(2_000, noise=0.3, extra_dims=4, seed=53)
    assert z.shape == (2_000, 6)
    base = lps(z, predictor="hgb", null=False, structure=False)
    half = (base.ci_high - base.ci_low) / 2
    rng = np.random.default_rng(54)
    for _ in range(20):
        perm = rng.permutation(6)
        moved = lps(z[:, perm], predictor="hgb", n_boot=0, null=False, structure=False)
        assert abs(moved.value - base.value) < half


@pytest.mark.slow
def test_interval_covers_zero_on_independent_data():
    for seed in range(5):
        z = np.random.default_rng(100 + seed).normal(size=(5_000, 4))
        result = lps(z, predictor="hgb", structure=False, seed=seed)
        assert result.ci_low <= 0.0 <= result.ci_high, seed
        assert result.ci_low <= result.value <= result.ci_high


# --- every row by default for the linear predictor (issue 17) ----------------------


def test_linear_default_uses_every_row_where_a_cap_would_bias_the_value():
    from lps_eval.simulations import expected_linear_lps, paired_linear_latents

    n, d = 20_000, 256
    z, r2 = paired_linear_latents(n, d, r2=0.2, seed=60)
    full = lps(z, predictor="linear", n_boot=0, null=False, structure=False)
    capped = lps(z, predictor="linear", max_samples=10_000, **FAST)
    assert full.settings["n_samples_used"] == n and full.settings["max_samples"] is None
    # 5-fold cross-fitting trains on 4/5 of the rows used: the known shortfall below r2
    assert full.value == pytest.approx(expected_linear_lps(r2, 0.8 * n, d - 1), abs=0.004)
    assert capped.value == pytest.approx(expected_linear_lps(r2, 8_000, d - 1), abs=0.004)
    assert full.value > capped.value + 0.008  # the cap would have biased it low


def test_nonlinear_predictors_keep_a_row_cap_by_default():
    from lps_eval.predictability import MAX_SAMPLES_NONLINEAR, resolve_max_samples

    assert resolve_max_samples("auto", "linear") is None
    assert resolve_max_samples("auto", "knn") == MAX_SAMPLES_NONLINEAR
    assert resolve_max_samples("auto", LinearPredictor()) is None
    assert resolve_max_samples(500, "linear") == 500 and resolve_max_samples(None, "hgb") is None
    z = gaussian_latents(MAX_SAMPLES_NONLINEAR + 500, 2, seed=61)
    result = lps(z, predictor="knn", **FAST)
    assert result.settings["n_samples_used"] == MAX_SAMPLES_NONLINEAR
    with pytest.raises(LpsInputError, match="max_samples must be"):
        lps(z, predictor="linear", max_samples="all")


def test_the_few_rows_warning_names_the_fix_for_the_call():
    z = np.random.default_rng(62).normal(size=(2_500, 300))
    with pytest.warns(LpsInputWarning, match="max_samples=None") as caught:
        lps(z, predictor="linear", max_samples=1_500, **FAST)
    assert not any("encode more samples" in str(w.message) for w in caught)
    with pytest.warns(LpsInputWarning, match="encode more samples") as caught:
        lps(z, predictor="linear", **FAST)  # every row used already: only more data helps
    assert not any("max_samples" in str(w.message) for w in caught)
    with pytest.raises(LpsInputError, match="max_samples=None"):
        lps(z[:, :3], predictor="linear", max_samples=20, folds=5, **FAST)


# --- duplicated rows, intervals within the range of R2 (issue 17) ------------------


def test_repeated_rows_are_named_and_the_interval_stays_below_one():
    base = np.random.default_rng(63).normal(size=(10, 4))
    z = np.repeat(base, 50, axis=0)  # 10 distinct rows, 50 copies each
    for name in ("knn", "linear"):
        with pytest.warns(LpsInputWarning, match="identical copy among their training rows"):
            result = lps(z, predictor=name, n_boot=50)
        # 5 folds of 100 rows: every held-out row has ~40 copies in the other folds
        assert result.settings["n_heldout_with_copy_in_training"] == 500
        assert result.ci_high <= 1.0 and np.nanmax(result.per_dim_ci[:, 1]) <= 1.0
        assert "np.unique(z, axis=0)" in result.settings["note"]


def test_copies_are_counted_only_across_the_split():
    z = np.random.default_rng(64).normal(size=(500, 3))
    z[300] = z[5]  # held-out row 5 has a copy among the training rows
    z[8] = z[7]  # two held-out copies of each other: no copy in training
    split = (np.arange(100, 500), np.arange(0, 100))
    with pytest.warns(
        LpsInputWarning, match=r"1 of the 100 held-out rows \(1%\) has an identical copy"
    ):
        result = lps(z, predictor="linear", split=split, n_boot=0, null=False)
    assert result.settings["n_heldout_with_copy_in_training"] == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", LpsInputWarning)  # unique rows: no warning at all
        clean = lps(np.random.default_rng(65).normal(size=(500, 3)), predictor="linear")
    assert clean.settings["n_heldout_with_copy_in_training"] == 0


@pytest.mark.parametrize("interval", ["bootstrap", "delta"])
def test_no_r2_interval_extends_above_one(interval):
    rng = np.random.default_rng(66)
    x = rng.normal(size=(300, 3))
    z = np.column_stack([x, x @ [1.0, -2.0, 0.5] + 1e-3 * rng.normal(size=300)])
    result = lps(z, predictor="linear", interval=interval, null_method="shuffle")
    assert result.value > 0.99
    assert result.ci_high <= 1.0 and np.all(result.per_dim_ci[:, 1] <= 1.0)
