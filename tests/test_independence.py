"""Independence companions: Gaussian TC, Wasserstein correlation, covariance ratio, MI, MMD test."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import mutual_info_score

import lps_eval
from lps_eval import LpsInputError
from lps_eval.independence import (
    COMPANIONS,
    companion_nulls,
    covariance_ratio,
    covariance_ratios_of,
    covariance_statistics,
    discretize,
    gaussian_total_correlation,
    gaussian_wasserstein_correlation,
    mmd_independence,
    mutual_info_mean,
    round_off_tolerance,
    total_correlation_of,
    wasserstein_correlation_of,
)
from lps_eval.information import histogram_discretize, mutual_info_matrix
from lps_eval.simulations import (
    decorrelated_latents,
    gaussian_with_covariance,
    independent_mixed_marginals,
)

RNG = np.random.default_rng


def _with_covariance(cov, n=500, seed=0):
    """Rows whose sample covariance (ddof=1) is exactly ``cov``."""
    d = cov.shape[0]
    white = RNG(seed).normal(size=(n, d))
    white -= white.mean(axis=0)
    white = white @ np.linalg.inv(np.linalg.cholesky(np.cov(white, rowvar=False))).T
    return white @ np.linalg.cholesky(cov).T + 3.0


COV = np.array([[2.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 0.5]])


def test_gaussian_tc_of_a_known_covariance():
    z = _with_covariance(COV)
    expect = 0.5 * (np.sum(np.log(np.diag(COV))) - np.log(np.linalg.det(COV)))
    assert gaussian_total_correlation(z).value == pytest.approx(expect, rel=1e-10)


def test_gaussian_tc_of_a_bivariate_gaussian_is_minus_half_log_one_minus_rho2():
    rho = 0.8
    z = _with_covariance(np.array([[1.0, rho], [rho, 1.0]]))
    assert gaussian_total_correlation(z).value == pytest.approx(-0.5 * math.log(1 - rho**2))


def test_gaussian_tc_is_zero_for_diagonal_and_inf_for_collinear():
    z = _with_covariance(np.diag([1.0, 4.0, 0.25]))
    assert gaussian_total_correlation(z).value == pytest.approx(0.0, abs=1e-10)
    x = RNG(0).normal(size=(100, 2))
    assert gaussian_total_correlation(np.column_stack([x, x[:, 0] + x[:, 1]])).value == math.inf


def test_wasserstein_correlation_against_scipy_sqrtm():
    z = _with_covariance(COV)
    raw, norm = gaussian_wasserstein_correlation(z)
    expect = 2 * np.trace(COV) - 2 * np.trace(scipy.linalg.sqrtm(COV @ np.diag(np.diag(COV)))).real
    assert raw.value == pytest.approx(expect, rel=1e-8)
    assert norm.value == pytest.approx(expect / np.trace(COV), rel=1e-8)
    assert raw.metric == "gaussian_wasserstein_correlation"


def test_wasserstein_correlation_closed_form_for_unit_correlation_matrix():
    rho = 0.5
    z = _with_covariance(np.array([[1.0, rho], [rho, 1.0]]))
    raw, _ = gaussian_wasserstein_correlation(z)
    assert raw.value == pytest.approx(4 - 2 * (math.sqrt(1 + rho) + math.sqrt(1 - rho)))


def test_covariance_ratio_uses_both_triangles_and_has_a_scale_free_twin():
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    z = _with_covariance(cov)
    raw, corr = covariance_ratio(z)
    assert raw.value == pytest.approx(3.0 / 1.0)  # trace 3, |0.5| twice
    r = 0.5 / math.sqrt(2.0)
    assert corr.value == pytest.approx(2.0 / (2 * r))
    scaled = z * np.array([10.0, 0.1])
    raw2, corr2 = covariance_ratio(scaled)
    assert raw2.value != pytest.approx(raw.value)  # scale dependent, as the paper defines it
    assert corr2.value == pytest.approx(corr.value)
    assert "both triangles" in raw.settings["convention"]


def test_covariance_ratio_is_inf_without_off_diagonal_and_nan_in_one_dim():
    with pytest.warns(lps_eval.LpsInputWarning, match="round-off"):
        raw, corr = covariance_ratio(_with_covariance(np.diag([1.0, 2.0])))
    assert raw.value == math.inf and corr.value == math.inf
    raw1, _ = covariance_ratio(RNG(0).normal(size=(50, 1)))
    assert math.isnan(raw1.value)


def test_constant_dimensions_are_dropped_and_recorded():
    z = _with_covariance(COV)
    with_const = np.column_stack([z[:, :1], np.full(len(z), 7.0), z[:, 1:]])
    tc = gaussian_total_correlation(with_const)
    assert tc.value == pytest.approx(gaussian_total_correlation(z).value)
    assert tc.settings["constant_dims"] == [1]
    with pytest.raises(LpsInputError, match="constant"):
        gaussian_total_correlation(np.ones((10, 2)))


def test_discretize_matches_the_histogram_recipe():
    z = RNG(0).normal(size=(1000, 3))
    codes = histogram_discretize(z, 20)
    for j in range(3):
        edges = np.histogram(z[:, j], bins=20)[1]
        np.testing.assert_array_equal(codes[:, j], np.digitize(z[:, j], edges[:-1]) - 1)
    assert codes.min() == 0 and codes.max() == 19


def test_mutual_info_matrix_matches_sklearn():
    rng = RNG(0)
    a = rng.normal(size=2000)
    z = np.column_stack([a, a + 0.5 * rng.normal(size=2000), rng.uniform(size=2000)])
    codes = histogram_discretize(z, 20)
    mi = mutual_info_matrix(codes, codes)
    for i in range(3):
        for j in range(3):
            assert mi[i, j] == pytest.approx(mutual_info_score(codes[:, i], codes[:, j]), abs=1e-12)


def test_mutual_info_mean_orders_dependence():
    rng = RNG(1)
    a = rng.normal(size=(5000, 1))
    indep = mutual_info_mean(rng.normal(size=(5000, 3))).value
    dep = mutual_info_mean(np.hstack([a, a + 0.1 * rng.normal(size=(5000, 1)), a**2])).value
    assert 0 <= indep < 0.05 < dep


def test_mmd_independence_detects_nonlinear_dependence():
    rng = RNG(0)
    a = rng.normal(size=2000)
    z = np.column_stack([a, a**2 + 0.3 * rng.normal(size=2000)])  # uncorrelated, dependent
    assert abs(np.corrcoef(z.T)[0, 1]) < 0.1
    r = mmd_independence(z, permutations=99)
    assert r.p_value == pytest.approx(0.01)
    assert r.metric == "mmd_independence"
    frame = r.to_frame()
    assert frame.metric.tolist() == ["mmd_independence"]
    assert frame.p_value.iloc[0] == r.p_value


def test_mmd_independence_null_calibration():
    rejections = [
        mmd_independence(RNG(seed).normal(size=(80, 2)), permutations=99, seed=seed).p_value <= 0.05
        for seed in range(150)
    ]
    assert 0.005 <= np.mean(rejections) <= 0.11


def test_mmd_independence_needs_two_dims():
    with pytest.raises(LpsInputError):
        mmd_independence(RNG(0).normal(size=(50, 1)))


def test_score_independence_section_rows():
    rng = RNG(0)
    z = rng.normal(size=(1500, 3))
    z[:, 1] += z[:, 0]
    table = lps_eval.score(z, metrics=["independence"], independence={"permutations": 50})
    expected = ["mmd_independence"]
    for metric in COMPANIONS:  # each statistic, then its null level
        expected += [metric, f"{metric}_null"]
    assert table.metric.tolist() == expected
    assert (table.scope == "overall").all()
    nulls = table[table.metric.str.endswith("_null")]
    assert (nulls.null_method == "shuffle").all()
    assert (nulls.ci_low <= nulls.value).all() and (nulls.value <= nulls.ci_high).all()
    bare = lps_eval.score(z, metrics=["independence"], independence={"null": "none"})
    assert not bare.metric.str.endswith("_null").any()
    with pytest.raises(LpsInputError, match=r"independence\.null"):
        lps_eval.score(z, metrics=["independence"], independence={"null": "bootstrap"})
    mi = table[table.metric == "mmd_independence"]
    assert mi.p_value.notna().all()
    tc = float(table.loc[table.metric == "gaussian_tc", "value"].iloc[0])
    assert tc == pytest.approx(gaussian_total_correlation(z).value)
    one = lps_eval.score(z, metrics=["gaussian_tc"])
    assert one.metric.tolist() == ["gaussian_tc"]


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(10, 200),
    d=st.integers(2, 5),
    seed=st.integers(0, 2**16),
    scale=st.floats(0.1, 10),
)
def test_covariance_measures_are_invariant_to_shift_and_permutation(n, d, seed, scale):
    rng = RNG(seed)
    z = rng.normal(size=(n, d)) @ rng.normal(size=(d, d))
    perm = rng.permutation(d)
    moved = z[:, perm] + rng.normal(size=d) * 5
    assert gaussian_total_correlation(moved).value == pytest.approx(
        gaussian_total_correlation(z).value, rel=1e-6, abs=1e-8
    )
    tc_scaled = gaussian_total_correlation(z * scale).value
    assert tc_scaled == pytest.approx(gaussian_total_correlation(z).value, rel=1e-6, abs=1e-8)
    assert covariance_ratio(moved)[1].value == pytest.approx(covariance_ratio(z)[1].value, rel=1e-9)
    assert gaussian_total_correlation(z).value >= 0


def test_moved_discretization_names_warn_and_agree():
    z = RNG(5).normal(size=(300, 3))
    with pytest.warns(lps_eval.LpsDeprecationWarning, match="information"):
        old = discretize(z, n_bins=20)
    np.testing.assert_array_equal(old, histogram_discretize(z, 20))
    with pytest.warns(lps_eval.LpsDeprecationWarning, match="information"):
        from lps_eval import independence

        old_mi = independence.mutual_info_matrix(old, n_bins=20)
    np.testing.assert_allclose(old_mi, mutual_info_matrix(old, old), atol=1e-12)


# --------------------------------------------------------------------------- round-off


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_covariance_ratio_of_round_off_is_inf_with_a_note(dtype):
    """PCA-like latents: the off-diagonal is round-off, so the ratio is inf, not 5e14."""
    z = decorrelated_latents(n=3000, d=6, seed=1, dtype=dtype)
    with pytest.warns(lps_eval.LpsInputWarning, match="round-off"):
        raw, corr = covariance_ratio(z)
    assert raw.value == math.inf and corr.value == math.inf
    assert "round-off" in raw.settings["off_diagonal"]
    assert np.dtype(dtype).name in corr.settings["off_diagonal"]
    # the same rows without the last digits of luck: what the old code printed
    finite, _ = covariance_ratios_of(np.cov(z.astype(np.float64), rowvar=False))
    assert finite > 1e3  # a huge number decided by round-off


def test_round_off_rule_never_fires_on_independent_data():
    for seed in range(20):
        for dtype in (np.float64, np.float32):
            z = independent_mixed_marginals(n=3000, d=2, seed=seed).astype(dtype)
            with warnings.catch_warnings():
                warnings.simplefilter("error", lps_eval.LpsInputWarning)
                raw, _ = covariance_ratio(z)
            assert math.isfinite(raw.value) and "off_diagonal" not in raw.settings


def test_round_off_tolerance_formula():
    assert round_off_tolerance(3000, np.float64) == pytest.approx(3000 * np.finfo(float).eps)
    assert round_off_tolerance(100, np.float32) == pytest.approx(100 * np.finfo(np.float32).eps)
    # float32 at large n: capped at a thousandth of the correlation's sampling sd
    assert round_off_tolerance(10**6, np.float32) == pytest.approx(1e-3 / 1000)
    assert round_off_tolerance(50, np.int64) == pytest.approx(50 * np.finfo(float).eps)


# --------------------------------------------------------------------------- null levels


def test_a_dependent_world_lies_far_outside_its_null_interval():
    """Equicorrelated Gaussians (rho = 0.3, N = 3,000, d = 6). Independent data inside
    the interval at the nominal rate: tests/test_validity.py, over many seeds."""
    cov = np.full((6, 6), 0.3) + 0.7 * np.eye(6)
    z = gaussian_with_covariance(cov, n=3000, seed=0)
    observed = _companions(z)
    for null in companion_nulls(z, seed=1):
        value = observed[null.metric.removesuffix("_null")]
        if null.metric.startswith("covariance_ratio"):
            assert value < null.ci_low / 5, null.metric  # higher = more independent
        else:  # far above: more than five interval widths beyond the upper end
            assert value > null.ci_high + 5 * (null.ci_high - null.ci_low), null.metric


def _companions(z):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lps_eval.LpsInputWarning)
        out = {"gaussian_tc": gaussian_total_correlation(z).value}
        raw, norm = gaussian_wasserstein_correlation(z)
        cr, crc = covariance_ratio(z)
    out.update(
        {
            "gaussian_wasserstein_correlation": raw.value,
            "gaussian_wasserstein_correlation_norm": norm.value,
            "covariance_ratio": cr.value,
            "covariance_ratio_corr": crc.value,
            "mutual_info_mean": mutual_info_mean(z).value,
        }
    )
    return out


def _reference_shuffles(z, b, seed):
    """Independent reference: column shuffles with numpy and sklearn's MI."""
    rng = RNG(seed)
    codes = histogram_discretize(z, 20)
    out = {m: [] for m in COMPANIONS}
    d = z.shape[1]
    for _ in range(b):
        idx = np.argsort(rng.random(z.shape), axis=0)
        x, c = np.take_along_axis(z, idx, 0), np.take_along_axis(codes, idx, 0)
        cov = np.cov(x, rowvar=False)
        r = np.corrcoef(x, rowvar=False)
        off = ~np.eye(d, dtype=bool)
        out["gaussian_tc"].append(-0.5 * np.linalg.slogdet(r)[1])
        w = 2 * np.trace(cov) - 2 * np.trace(scipy.linalg.sqrtm(cov @ np.diag(np.diag(cov)))).real
        out["gaussian_wasserstein_correlation"].append(w)
        out["gaussian_wasserstein_correlation_norm"].append(w / np.trace(cov))
        out["covariance_ratio"].append(np.trace(cov) / np.abs(cov[off]).sum())
        out["covariance_ratio_corr"].append(d / np.abs(r[off]).sum())
        mi = [mutual_info_score(c[:, i], c[:, j]) for i in range(d) for j in range(i + 1, d)]
        out["mutual_info_mean"].append(np.mean(mi))
    return {m: np.asarray(v) for m, v in out.items()}


def test_closed_forms_against_reference_shuffles():
    """Bartlett's TC, the first-order W2, the ratio at the expected |r| sum and the exact
    hypergeometric MI mean, each against 300 shuffles of Gaussian data (N = 3,000, d = 6);
    Miller-Madow overshoots the shuffled MI (sparse tail bins)."""
    z = RNG(3).normal(size=(3000, 6)) * [1.0, 2.0, 0.5, 1.0, 3.0, 1.0]
    ref = _reference_shuffles(z, 300, seed=4)
    closed = companion_nulls(z)[0].settings["closed_forms"]
    se = {m: v.std() / math.sqrt(v.size) for m, v in ref.items()}
    for metric in ("gaussian_tc", "gaussian_wasserstein_correlation", "mutual_info_mean"):
        assert closed[metric] == pytest.approx(
            ref[metric].mean(), abs=4 * se[metric] + 0.02 * closed[metric]
        ), metric
    # the correlation ratio's closed form is d / E[sum |r|]: compare on that scale
    inverse = 6 / ref["covariance_ratio_corr"]
    spread = 4 * inverse.std() / math.sqrt(inverse.size)
    assert 6 / closed["covariance_ratio_corr"] == pytest.approx(inverse.mean(), abs=spread)
    assert closed["mutual_info_mean_miller_madow"] > 1.1 * ref["mutual_info_mean"].mean()


@pytest.mark.parametrize("method", ["shuffle", "asymptotic"])
def test_null_levels_against_reference_shuffles(method):
    """Both methods' levels agree with an independent shuffle reference (mixed marginals,
    N = 20,000 so that the asymptotic null applies)."""
    z = independent_mixed_marginals(n=20000, d=5, seed=2)
    ref = _reference_shuffles(z, 60, seed=5)
    for null in companion_nulls(z, method=method, seed=0):
        values = ref[null.metric.removesuffix("_null")]
        assert null.null_method == method
        draws = null.settings.get("shuffles") or null.settings["draws"]
        noise = values.std() * math.sqrt(1 / values.size + 1 / draws)
        tolerance = 4 * noise + 0.02 * abs(values.mean())  # 2 %: the asymptotic limit
        assert null.value == pytest.approx(values.mean(), abs=tolerance), null.metric
        assert null.ci_low <= np.median(values) <= null.ci_high, null.metric


def test_mutual_info_null_shows_the_small_sample_bias():
    """At n = 200 and 20 bins the binned MI of independent columns is far from 0: the
    null row says how far (and the observed value sits inside its interval)."""
    z = RNG(6).normal(size=(200, 4))
    observed = mutual_info_mean(z).value
    null = companion_nulls(z)[-1]
    assert null.metric == "mutual_info_mean_null"
    assert null.value > 0.3 and null.ci_low <= observed <= null.ci_high
    assert null.settings["closed_forms"]["mutual_info_mean"] == pytest.approx(null.value, rel=0.05)


def test_null_levels_are_reproducible_and_row_order_invariant():
    z = independent_mixed_marginals(n=500, d=4, seed=7)
    a = companion_nulls(z, seed=3)
    b = companion_nulls(z[RNG(1).permutation(500)], seed=3)
    for x, y in zip(a, b, strict=True):
        assert x.value == pytest.approx(y.value, rel=1e-12)
        assert (x.ci_low, x.ci_high) == pytest.approx((y.ci_low, y.ci_high), rel=1e-12)
    c = companion_nulls(z, seed=4)
    assert c[0].value != a[0].value
    with pytest.raises(LpsInputError, match="null method"):
        companion_nulls(z, method="bootstrap")


@settings(max_examples=30, deadline=None)
@given(d=st.integers(2, 5), seed=st.integers(0, 2**16))
def test_vectorized_covariance_statistics_equal_the_scalar_ones(d, seed):
    rng = RNG(seed)
    a = rng.normal(size=(d, d))
    covs = np.stack([a @ a.T + 0.1 * np.eye(d), np.diag(rng.uniform(0.5, 2.0, d))])
    got = covariance_statistics(covs)
    for cov, row in zip(covs, got, strict=True):
        expect = [total_correlation_of(cov), *wasserstein_correlation_of(cov)]
        expect += list(covariance_ratios_of(cov))
        np.testing.assert_allclose(row, expect, rtol=1e-9, atol=1e-12)


def test_null_levels_with_a_constant_column():
    """A constant column is dropped from the covariance statistics, as in the observed
    ones: with one varying column left, TC and W2 are 0 and the ratios undefined."""
    z = np.column_stack([RNG(8).normal(size=300), np.full(300, 2.0)])
    nulls = {r.metric: r for r in companion_nulls(z)}
    assert nulls["gaussian_tc_null"].value == 0.0
    assert math.isnan(nulls["covariance_ratio_null"].value)
    assert nulls["gaussian_tc_null"].settings["constant_dims"] == [1]
    table = lps_eval.score(z, metrics=["independence"], independence={"permutations": 20})
    assert math.isnan(float(table.loc[table.metric == "covariance_ratio", "value"].iloc[0]))
