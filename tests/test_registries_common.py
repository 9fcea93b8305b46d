"""Properties every registered predictor, kernel family, kernel and prior form must have.

As scikit-learn's ``metrics/tests/test_common.py``: the tests iterate over the registries
themselves, so an entry added tomorrow is checked tomorrow, and a completeness test fails
for an entry that declares none of the properties the suite knows how to check.
(The supervised metrics have their own common file: ``test_metrics_common.py``.)
"""

from __future__ import annotations

import numpy as np
import pytest

import lps_eval
from lps_eval.predictors import PREDICTOR_PROPERTIES, get_predictor, predictor_specs
from lps_eval.prior_matching import KERNELS, make_kernel, mmd2, parse_prior
from lps_eval.prior_matching.kernels import FAMILIES
from lps_eval.prior_matching.priors import MARGINAL_FORMS, prior_forms

TOL_EXACT = 1e-10
#: Small, fast settings for the predictors that train something.
FAST_PARAMS = {"mlp": {"max_iter": 30}, "torch": {"epochs": 5}, "hgb": {"max_iter": 20}}


def _latents(n=240, d=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    x[:, 1] += 0.8 * x[:, 0]
    return (x - x.mean(0)) / x.std(0)


def _predictor(name):
    spec = predictor_specs()[name]
    for extra in spec.requirements():
        pytest.importorskip(extra)
    return get_predictor(name, **FAST_PARAMS.get(name, {}))


PREDICTOR_NAMES = list(predictor_specs())


@pytest.mark.parametrize("name", PREDICTOR_NAMES)
def test_predictor_declares_its_properties(name):
    props = predictor_specs()[name].properties
    assert props <= set(PREDICTOR_PROPERTIES)
    assert props & {"seeded", "closed_form"}, f"{name} promises neither seeding nor a closed form"


@pytest.mark.parametrize("name", PREDICTOR_NAMES)
def test_predictor_never_sees_its_own_target(name):
    """Column i of the prediction must not depend on column i of the input."""
    model = _predictor(name)
    z = _latents()
    train, test = z[:180], z[180:]
    pred = model.fit_predict(train, test, seed=3)
    assert pred.shape == test.shape and np.isfinite(pred).all()
    for i in range(test.shape[1]):
        changed = test.copy()
        changed[:, i] = np.random.default_rng(i).normal(size=len(test))
        again = _predictor(name).fit_predict(train, changed, seed=3)
        np.testing.assert_allclose(again[:, i], pred[:, i], atol=TOL_EXACT)


@pytest.mark.parametrize(
    "name", [n for n in PREDICTOR_NAMES if "seeded" in predictor_specs()[n].properties]
)
def test_seeded_predictor_is_reproducible(name):
    z = _latents(seed=1)
    a = _predictor(name).fit_predict(z[:180], z[180:], seed=7)
    b = _predictor(name).fit_predict(z[:180], z[180:], seed=7)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "name", [n for n in PREDICTOR_NAMES if "closed_form" in predictor_specs()[n].properties]
)
def test_closed_form_predictor_is_least_squares(name):
    z = _latents(seed=2)
    train, test = z[:180], z[180:]
    pred = _predictor(name).fit_predict(train, test, seed=0)
    for i in range(z.shape[1]):
        others = np.delete(np.arange(z.shape[1]), i)
        design = np.column_stack([np.ones(len(train)), train[:, others]])
        coef = np.linalg.lstsq(design, train[:, i], rcond=None)[0]
        expected = np.column_stack([np.ones(len(test)), test[:, others]]) @ coef
        np.testing.assert_allclose(pred[:, i], expected, atol=1e-6)


@pytest.mark.parametrize(
    "name", [n for n in PREDICTOR_NAMES if "exact_latent_order" in predictor_specs()[n].properties]
)
def test_latent_order_invariant_predictor(name):
    z = _latents(n=400, seed=4)
    order = [2, 0, 3, 1]
    base = lps_eval.lps(z, predictor=name, n_boot=0, null=False, structure=False)
    perm = lps_eval.lps(z[:, order], predictor=name, n_boot=0, null=False, structure=False)
    np.testing.assert_allclose(perm.per_dim, base.per_dim[order], atol=TOL_EXACT)


# ---------------------------------------------------------------- kernels


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_kernel_belongs_to_a_registered_family(name):
    assert KERNELS[name].family in FAMILIES


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_kernel_matrix_is_symmetric_with_its_diagonal(name):
    x = np.random.default_rng(0).normal(size=(30, 3))
    kern = make_kernel(name, pooled=x, rng=0)
    k = kern(x, x)
    np.testing.assert_allclose(k, k.T, atol=TOL_EXACT)
    # sqdist(x, x) has float round-off of ~1e-16 on its diagonal; the distance kernel's
    # square root turns it into ~1e-8 (the MMD engines zero the diagonal exactly).
    np.testing.assert_allclose(np.diag(k), kern.diag_value, atol=1e-6)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_fast_path_equals_its_formula(family):
    """``inplace`` (the tiled engine's numpy path) computes exactly ``value``."""
    from lps_eval.prior_matching.backend import NUMPY

    fam = FAMILIES[family]
    d2 = np.random.default_rng(1).uniform(0, 9, size=(17, 11))
    scales = (0.7, 1.4, 2.8, 3.1)
    expected = fam.value(d2.copy(), scales, NUMPY)
    got = fam.inplace(d2.copy(), np.empty_like(d2), scales)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_biased_mmd_is_non_negative_and_zero_on_equal_samples(name):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(40, 2)), rng.normal(size=(35, 2)) + 0.5
    assert mmd2(x, y, kernel=name, estimator="biased") >= -1e-12
    assert mmd2(x, x, kernel=name, estimator="biased") == pytest.approx(0.0, abs=1e-12)


# ---------------------------------------------------------------- prior forms


def _spec(form):
    return form.name if form.defaults is not None else f"{form.name}(1.5, 0.5)"


@pytest.mark.parametrize("name", sorted(MARGINAL_FORMS))
def test_prior_form_samples_reproducibly_and_appears_in_help(name):
    form = MARGINAL_FORMS[name]
    prior = parse_prior(_spec(form))
    a = prior.sample(500, 3, np.random.default_rng(0))
    b = prior.sample(500, 3, np.random.default_rng(0))
    assert a.shape == (500, 3) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)
    assert any(entry.startswith(name) for entry in prior_forms())
    for alias in form.aliases:
        np.testing.assert_array_equal(
            parse_prior(_spec(form).replace(name, alias, 1)).sample(
                500, 3, np.random.default_rng(0)
            ),
            a,
        )


@pytest.mark.parametrize("name", sorted(MARGINAL_FORMS))
def test_prior_form_closed_form_matches_monte_carlo(name):
    prior = parse_prior(f"hybrid({_spec(MARGINAL_FORMS[name])})")
    if not prior.closed_form:
        pytest.skip(f"{name} has no closed form (sampled)")
    s, rng = 0.9, np.random.default_rng(3)
    y = prior.sample(200_000, 1, rng)
    x = np.array([[-1.0], [0.2], [1.7]])
    mc_cross = np.exp(-((x - y.T) ** 2) / (2 * s * s)).mean(axis=1)
    np.testing.assert_allclose(prior.rbf_cross(x, s), mc_cross, atol=5e-3)
    y2 = prior.sample(200_000, 1, rng)
    mc_self = np.exp(-((y - y2) ** 2) / (2 * s * s)).mean()
    assert prior.rbf_self(1, s) == pytest.approx(mc_self, abs=5e-3)
