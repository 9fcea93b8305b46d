"""Parity with disentanglement_lib 1.5 on the synthetic cases of tests/fixtures.

Golden numbers come from ``tools/dlib/make_golden.py`` (run in a throwaway
environment with disentanglement-lib installed); the arrays are regenerated here from
``lps_eval.simulations`` (the factor worlds) and checked against the recorded checksum first.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from lps_eval import independence, metrics
from lps_eval import simulations as dc

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

GOLDEN = json.loads((FIXTURES / "dlib_golden.json").read_text())
CASES = list(GOLDEN["cases"])
EXACT = 1e-6


@pytest.fixture(scope="module", params=CASES)
def case(request):
    name = request.param
    arrays = dc.factor_case(name)
    golden = GOLDEN["cases"][name]
    assert dc.checksum(arrays) == pytest.approx(golden["checksum"], rel=1e-12), (
        "synthetic arrays drifted from the ones the golden numbers were made from"
    )
    return name, arrays, golden


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def test_fixture_records_versions():
    versions = GOLDEN["versions"]
    assert versions["disentanglement_lib"] == "1.5"
    assert {"numpy", "scipy", "sklearn"} <= set(versions)


def test_mig_parity(case):
    _, a, g = case
    res = metrics.mig(a["z"], a["factors"], n_boot=0)
    assert res.value == pytest.approx(g["mig"], abs=EXACT)
    np.testing.assert_allclose(res.per_factor, g["mig_per_factor"], atol=EXACT)
    np.testing.assert_allclose(res.mutual_info, g["mutual_info_matrix"], atol=EXACT)


def test_sap_parity(case):
    _, a, g = case
    assert metrics.sap(**a, n_boot=0).value == pytest.approx(g["sap"], abs=EXACT)
    cont = metrics.sap(a["z"], a["factors"], continuous=True, n_boot=0)
    assert cont.value == pytest.approx(g["sap_continuous"], abs=EXACT)


def test_modularity_explicitness_parity(case):
    name, a, g = case
    res = _quiet(metrics.modularity_explicitness, **a)
    assert res.modularity == pytest.approx(g["modularity"], abs=EXACT)
    if name in dc.CONSTANT_FACTOR_CASES:
        # disentanglement_lib raises on the constant latent; ours equals its value on the
        # remaining latents (a constant standardized to 0 carries no information)
        assert "modularity_explicitness_error" in g
        assert res.explicitness == pytest.approx(g["explicitness_constant_dropped"], abs=EXACT)
    else:
        assert res.explicitness == pytest.approx(g["explicitness"], abs=EXACT)
        assert res.explicitness_train == pytest.approx(g["explicitness_train"], abs=EXACT)


def test_irs_parity(case):
    _, a, g = case
    assert metrics.irs(a["z"], a["factors"], n_boot=0).value == pytest.approx(g["irs"], abs=EXACT)


def test_dci_fast_close_to_parity(case):
    """The fast probe's D and C stay within 0.05 of disentanglement_lib's."""
    _, a, g = case
    res = metrics.dci(**a, n_boot=0)  # the estimates only: intervals never move them
    assert res.disentanglement == pytest.approx(g["dci_disentanglement"], abs=0.05)
    assert res.completeness == pytest.approx(g["dci_completeness"], abs=0.05)
    assert res.informativeness == pytest.approx(g["dci_informativeness"], abs=0.05)


@pytest.mark.parametrize("name", ["identity_noisy", "nuisance"])
def test_dci_parity_mode(name):
    a = dc.factor_case(name)
    g = GOLDEN["cases"][name]
    res = metrics.dci(**a, mode="parity", n_boot=0)
    assert res.disentanglement == pytest.approx(g["dci_disentanglement"], abs=0.01)
    assert res.completeness == pytest.approx(g["dci_completeness"], abs=0.01)
    assert res.informativeness == pytest.approx(g["dci_informativeness"], abs=0.01)


def test_beta_vae_factor_vae_within_sampling_error(case):
    """disentanglement_lib samples its own interventions from the grid; ours draws rows
    of a sample of the same generative model: equal up to sampling error."""
    name, _, g = case
    if "beta_vae" not in g:
        pytest.skip("no intervention golden for this case")
    rng = np.random.default_rng(5)
    f = dc.sample_grid_factors(20000, rng)
    z = dc.factor_case_latents(name, f, rng)
    beta = _quiet(metrics.beta_vae, z, f, seed=1).value
    factor = _quiet(metrics.factor_vae, z, f, seed=1).value
    assert beta == pytest.approx(g["beta_vae"], abs=0.03)
    assert factor == pytest.approx(g["factor_vae"], abs=0.03)


def test_unsupervised_gaussian_tc_parity(case):
    """Golden values for the independence module's Gaussian TC and mean pairwise MI."""
    _, a, g = case
    if g["gaussian_tc"] is None:
        pytest.skip("disentanglement_lib's TC is not finite here (constant latent)")
    tc = _quiet(independence.gaussian_total_correlation, a["z"])
    assert tc.value == pytest.approx(g["gaussian_tc"], abs=EXACT)


def test_unsupervised_constant_dropped_tc_parity(case):
    """With a constant latent dlib's TC is not finite; ours drops the constant dimension and
    equals dlib's TC of the remaining ones."""
    _, a, g = case
    if "gaussian_tc_constant_dropped" not in g:
        pytest.skip("no constant latent in this case")
    tc = _quiet(independence.gaussian_total_correlation, a["z"])
    assert tc.value == pytest.approx(g["gaussian_tc_constant_dropped"], abs=EXACT)


def test_unsupervised_wasserstein_parity(case):
    _, a, g = case
    raw, norm = _quiet(independence.gaussian_wasserstein_correlation, a["z"])
    assert raw.value == pytest.approx(g["gaussian_wasserstein_correlation"], abs=EXACT)
    assert norm.value == pytest.approx(g["gaussian_wasserstein_correlation_norm"], abs=EXACT)


def test_unsupervised_mutual_info_parity(case):
    _, a, g = case
    value = _quiet(independence.mutual_info_mean, a["z"]).value
    assert value == pytest.approx(g["mutual_info_score"], abs=EXACT)


def test_dci_parity_mode_train_informativeness():
    a = dc.factor_case("identity_noisy")
    g = GOLDEN["cases"]["identity_noisy"]
    res = metrics.dci(**a, mode="parity", n_boot=0)
    assert res.informativeness_train == pytest.approx(g["dci_informativeness_train"], abs=0.01)
