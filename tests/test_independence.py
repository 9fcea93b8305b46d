"""Independence companions: Gaussian TC, Wasserstein correlation, covariance ratio, MI, MMD test."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import mutual_info_score

import lps_eval
from lps_eval import LpsInputError
from lps_eval.independence import (
    covariance_ratio,
    discretize,
    gaussian_total_correlation,
    gaussian_wasserstein_correlation,
    mmd_independence,
    mutual_info_mean,
)
from lps_eval.information import histogram_discretize, mutual_info_matrix

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
    raw, corr = covariance_ratio(_with_covariance(np.diag([1.0, 2.0])))
    assert raw.value > 1e10 and corr.value > 1e10
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
    expected = {
        "mmd_independence",
        "gaussian_tc",
        "gaussian_wasserstein_correlation",
        "gaussian_wasserstein_correlation_norm",
        "covariance_ratio",
        "covariance_ratio_corr",
        "mutual_info_mean",
    }
    assert set(table.metric) == expected
    assert (table.scope == "overall").all()
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
