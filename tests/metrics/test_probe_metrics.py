"""Known answers for the probe-based metrics: SAP, DCI, modularity / explicitness."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy

from lps_eval import LpsInputError, metrics
from lps_eval.metrics import LpsMetricWarning, dci_from_importance
from lps_eval.metrics._modularity import modularity_scores


def grid(*sizes, repeat=1):
    rows = np.array(list(itertools.product(*[range(k) for k in sizes])))
    return np.repeat(rows, repeat, axis=0)


def _dlib_dc(r):
    """disentanglement_lib's formulas, written with scipy as it does."""
    per_code = 1 - scipy_entropy(r.T + 1e-11, base=r.shape[1])
    per_factor = 1 - scipy_entropy(r + 1e-11, base=r.shape[0])
    w = r if r.sum() > 0 else np.ones_like(r)
    return (np.sum(per_code * w.sum(1) / w.sum()), np.sum(per_factor * w.sum(0) / w.sum()))


@pytest.mark.parametrize("seed", range(5))
def test_dci_formulas_match_scipy_reference(seed):
    r = np.random.default_rng(seed).uniform(size=(6, 3)) ** 3
    dis, com, _, _ = dci_from_importance(r)
    ref = _dlib_dc(r)
    assert dis == pytest.approx(ref[0], abs=1e-12)
    assert com == pytest.approx(ref[1], abs=1e-12)


def test_dci_formulas_closed_forms():
    dis, com, _, _ = dci_from_importance(np.eye(3))
    assert dis == pytest.approx(1.0, abs=1e-9) and com == pytest.approx(1.0, abs=1e-9)
    dis, com, _, _ = dci_from_importance(np.ones((4, 2)))
    assert dis == pytest.approx(0.0, abs=1e-9) and com == pytest.approx(0.0, abs=1e-9)
    # one latent explains both factors: completeness 1, disentanglement 0
    r = np.array([[1.0, 1.0], [0.0, 0.0]])
    dis, com, _, _ = dci_from_importance(r)
    assert dis == pytest.approx(0.0, abs=1e-9) and com == pytest.approx(1.0, abs=1e-9)
    dis, com, _, _ = dci_from_importance(np.zeros((3, 2)))  # uniform weights, no NaN
    assert np.isfinite(dis) and np.isfinite(com)


@pytest.mark.parametrize("mode", ["fast", "parity"])
def test_dci_identity_latents(mode):
    rng = np.random.default_rng(0)
    f = grid(3, 4, repeat=25)
    z = f + 0.05 * rng.normal(size=f.shape)
    res = metrics.dci(z, f, mode=mode, n_boot=0)
    assert res.disentanglement > 0.9 and res.completeness > 0.9
    assert res.informativeness == pytest.approx(1.0, abs=0.02)
    assert res.importance.shape == (2, 2)
    frame = res.to_frame()
    imp = frame[frame.metric == "dci_importance"]
    assert len(imp) == 4 and imp.dim.notna().all() and imp.factor.notna().all()
    assert res.settings["mode"] == mode and res.settings["split"] == "random"


def test_dci_unknown_mode():
    f = grid(3, 4)
    with pytest.raises(LpsInputError, match="mode"):
        metrics.dci(f.astype(float), f, mode="slow", n_boot=0)


def test_sap_continuous_closed_form():
    f = grid(4, 5)
    z = np.concatenate([f * 2.0 + 1, np.zeros((len(f), 1))], axis=1)  # + a dead latent
    res = metrics.sap(z, f, continuous=True, n_boot=0)
    assert res.value == pytest.approx(1.0, abs=1e-12)  # r^2 = 1 own, 0 cross (balanced grid)
    np.testing.assert_allclose(res.score_matrix[2], 0.0)


def test_sap_discrete_identity_binary_factors_is_one():
    f = grid(2, 2, repeat=50)
    res = metrics.sap(f.astype(float), f, seed=0, n_boot=0)
    assert res.value == pytest.approx(1.0 - 0.5, abs=0.05)  # accuracy 1 vs chance 0.5


def test_modularity_closed_forms():
    mi = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(modularity_scores(mi), [1.0, 0.0, 0.0])
    # delta = (1 + 0.25 - 1) / (1 * 2) = 0.125
    np.testing.assert_allclose(modularity_scores(np.array([[1.0, 0.5, 0.0]])), [0.875])


def test_explicitness_perfect_and_chance():
    rng = np.random.default_rng(0)
    f = grid(3, 4, repeat=30)
    good = metrics.modularity_explicitness(f + 0.01 * rng.normal(size=f.shape), f, n_boot=0)
    assert good.explicitness == pytest.approx(1.0, abs=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bad = metrics.modularity_explicitness(rng.normal(size=(len(f), 2)), f, n_boot=0)
    assert bad.explicitness == pytest.approx(0.5, abs=0.08)


def test_explicitness_constant_latent_is_defined_with_warning():
    rng = np.random.default_rng(0)
    f = grid(3, 4, repeat=30)
    z = f + 0.3 * rng.normal(size=f.shape)
    with pytest.warns(LpsMetricWarning, match="constant"):
        with_dead = metrics.modularity_explicitness(np.c_[z, np.full(len(z), 2.0)], f, n_boot=0)
    without = metrics.modularity_explicitness(z, f, n_boot=0)
    assert with_dead.explicitness == pytest.approx(without.explicitness, abs=1e-6)
    assert with_dead.modularity_per_dim[-1] == 0.0


def test_explicitness_missing_test_value_is_defined_with_warning():
    f = grid(3, 4, repeat=20)
    z = f + 0.1 * np.random.default_rng(0).normal(size=f.shape)
    test = f[:, 0] != 2  # value 2 of factor 0 never appears in the test rows
    with pytest.warns(LpsMetricWarning, match="missing from the test split"):
        res = metrics.modularity_explicitness(z, f, z_test=z[test], factors_test=f[test], n_boot=0)
    assert np.isfinite(res.explicitness) and res.explicitness > 0.9


# ---------------------------------------------------------------- DCI importances

#: No pip package holds Eastwood & Williams' code (github.com/cianeastwood/qedr), and none
#: holds a LightGBM DCI: these importances are checked on known answers instead, plus the
#: plumbing against a direct scikit-learn fit.
IMPORTANCES = ["gbt", "lasso", "random_forest", "lightgbm"]


@pytest.fixture(scope="module")
def known():
    from lps_eval import simulations as sim

    return {kind: sim.known_world(kind, n=600) for kind in ("identity", "rotated", "nuisance")}


@pytest.mark.parametrize("importance", IMPORTANCES)
def test_dci_importances_known_answers(importance, known):
    if importance == "lightgbm":
        pytest.importorskip("lightgbm")
    runs = {
        kind: metrics.dci(w["z"], w["factors"], importance=importance, n_boot=0)
        for kind, w in known.items()
    }
    aligned, rotated, noisy = runs["identity"], runs["rotated"], runs["nuisance"]
    assert aligned.disentanglement > 0.9 and aligned.completeness > 0.9
    assert rotated.disentanglement < 0.3 and rotated.completeness < 0.3
    share = noisy.importance[3:].sum() / noisy.importance.sum()
    assert share < 0.05, "pure-noise latents get (almost) no importance"
    assert 0.5 < aligned.informativeness <= 1.0
    assert aligned.settings["importance"] == importance


def test_dci_lasso_importance_is_the_absolute_lasso_coefficients(known):
    from sklearn.linear_model import Lasso

    w = known["identity"]
    z_test, f_test = w["z"][:200], w["factors"][:200]
    z, f = w["z"][200:], w["factors"][200:]
    res = metrics.dci(z, f, z_test=z_test, factors_test=f_test, importance="lasso", n_boot=0)
    x = (z - z.mean(0)) / z.std(0)
    for k in range(f.shape[1]):
        y = (f[:, k] - f[:, k].mean()) / f[:, k].std()
        np.testing.assert_allclose(res.importance[:, k], np.abs(Lasso(alpha=0.02).fit(x, y).coef_))


def test_dci_unknown_importance():
    f = grid(3, 4)
    with pytest.raises(LpsInputError, match="importance must be one of"):
        metrics.dci(f.astype(float), f, importance="xgboost", n_boot=0)
