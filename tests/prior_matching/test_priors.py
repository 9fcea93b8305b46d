"""Prior grammar, sampling and closed-form RBF expectations (lps_eval.prior_matching.priors)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lps_eval import LpsInputError
from lps_eval.prior_matching.priors import EmpiricalPrior, MixturePrior, Prior, parse_prior

RNG = np.random.default_rng


# --------------------------------------------------------------------------- grammar


@pytest.mark.parametrize(
    ("spec", "mean", "var"),
    [
        ("gaussian", 0.0, 1.0),
        ("normal", 0.0, 1.0),
        ("gaussian(1.5, 2)", 1.5, 4.0),
        ("uniform", 0.0, 4.0 / 12.0),
        ("uniform(-5, 5)", 0.0, 100.0 / 12.0),
        ("laplace", 0.0, 2.0),
        ("laplace(1, 0.5)", 1.0, 0.5),
        ("bimodal(5, 1)", 0.0, 26.0),
        ("  Gaussian( -1 , 0.5 ) ", -1.0, 0.25),
    ],
)
def test_iid_priors_have_the_documented_moments(spec, mean, var):
    sample = parse_prior(spec).sample(60_000, 3, RNG(0))
    assert sample.shape == (60_000, 3)
    assert sample.dtype == np.float64
    se = math.sqrt(var / 60_000)
    np.testing.assert_allclose(sample.mean(axis=0), mean, atol=6 * se)
    np.testing.assert_allclose(sample.var(axis=0), var, rtol=0.05)


def test_uniform_respects_its_bounds():
    s = parse_prior("uniform(2, 3)").sample(5000, 2, RNG(1))
    assert s.min() >= 2 and s.max() <= 3


def test_bimodal_puts_half_the_mass_on_each_mode():
    s = parse_prior("bimodal(10, 0.1)").sample(20_000, 1, RNG(2))[:, 0]
    assert np.all(np.abs(np.abs(s) - 10) < 1)
    assert abs(np.mean(s > 0) - 0.5) < 0.02


def test_hybrid_uses_one_prior_per_dimension_in_order():
    p = parse_prior("hybrid(uniform(-5, 5); gaussian(0, 2); bimodal(5, 0.1))", n_dims=3)
    s = p.sample(20_000, 3, RNG(3))
    assert s[:, 0].min() >= -5 and s[:, 0].max() <= 5
    assert abs(s[:, 1].std() - 2) < 0.05
    assert np.all(np.abs(np.abs(s[:, 2]) - 5) < 1)


def test_hybrid_repeat_shorthand_expands():
    p = parse_prior("hybrid(uniform(-1, 1)*2; gaussian*3)")
    assert p.n_dims == 5
    s = p.sample(4000, 5, RNG(4))
    assert np.abs(s[:, :2]).max() <= 1 and np.abs(s[:, 2:]).max() > 1


def test_same_seed_same_sample_and_generator_accepted():
    p = parse_prior("bimodal(2, 0.5)")
    np.testing.assert_array_equal(p.sample(10, 2, 7), p.sample(10, 2, RNG(7)))
    assert not np.array_equal(p.sample(10, 2, 7), p.sample(10, 2, 8))


@pytest.mark.parametrize(
    "spec",
    [
        "gausian",
        "gaussian(1)",
        "gaussian(1, 2, 3)",
        "gaussian(a, b)",
        "gaussian(0, -1)",
        "uniform(1, 1)",
        "uniform(2, 1)",
        "laplace(0, 0)",
        "bimodal",
        "bimodal(1, 0)",
        "gaussian(0, inf)",
        "hybrid",
        "hybrid(gaussian; ; uniform)",
        "hybrid(gaussian*0)",
        "hybrid(gaussian*x)",
        "hybrid(hybrid(gaussian))",
        "",
        "   ",
        "samples:/no/such/file.npy",
        "mixture:/no/such/file.json",
    ],
)
def test_malformed_specs_are_one_line_input_errors(spec):
    with pytest.raises(LpsInputError) as info:
        parse_prior(spec)
    assert "\n" not in str(info.value)


def test_non_spec_objects_are_refused():
    with pytest.raises(LpsInputError, match="sample"):
        parse_prior(42)


def test_hybrid_length_must_match_dimensions():
    with pytest.raises(LpsInputError, match="2 dimension"):
        parse_prior("hybrid(gaussian; uniform)", n_dims=3)
    with pytest.raises(LpsInputError):
        parse_prior("hybrid(gaussian; uniform)").sample(5, 3, RNG(0))


# --------------------------------------------------------------------------- files


def test_samples_file_is_an_empirical_prior(tmp_path):
    data = RNG(0).normal(size=(500, 4))
    path = tmp_path / "prior.npy"
    np.save(path, data)
    p = parse_prior(f"samples:{path}", n_dims=4)
    assert isinstance(p, EmpiricalPrior)
    s = p.sample(100, 4, RNG(1))
    # rows are copies of stored rows, drawn without replacement when n <= stored rows
    rows = {tuple(r) for r in data}
    assert all(tuple(r) in rows for r in s)
    assert len({tuple(r) for r in s}) == 100
    with pytest.raises(LpsInputError, match="never drawn with replacement"):
        p.sample(1000, 4, RNG(1))  # more rows than stored: refused, never resampled


def test_samples_file_dimension_mismatch_is_an_input_error(tmp_path):
    path = tmp_path / "prior.npy"
    np.save(path, np.zeros((10, 3)))
    with pytest.raises(LpsInputError, match="3 dimension"):
        parse_prior(f"samples:{path}", n_dims=5)


def test_samples_npz_key(tmp_path):
    path = tmp_path / "prior.npz"
    np.savez(path, a=np.zeros((10, 2)), b=np.ones((10, 3)))
    p = parse_prior(f"samples:{path}#b", n_dims=3)
    assert np.all(p.sample(5, 3, RNG(0)) == 1)


def _mixture(d=2):
    weights = np.array([0.3, 0.7])
    means = np.array([[-2.0] * d, [1.0] * d])
    a = RNG(5).normal(size=(2, d, d))
    covs = a @ np.transpose(a, (0, 2, 1)) / d + 0.2 * np.eye(d)
    return weights, means, covs


def test_mixture_json_and_npz_give_the_same_prior(tmp_path):
    w, mu, cov = _mixture()
    js = tmp_path / "mix.json"
    js.write_text(
        json.dumps({"weights": w.tolist(), "means": mu.tolist(), "covariances": cov.tolist()})
    )
    npz = tmp_path / "mix.npz"
    np.savez(npz, weights=w, means=mu, covariances=cov)
    a = parse_prior(f"mixture:{js}", n_dims=2).sample(1000, 2, RNG(0))
    b = parse_prior(f"mixture:{npz}", n_dims=2).sample(1000, 2, RNG(0))
    np.testing.assert_allclose(a, b)


def test_mixture_sampling_matches_mean_and_covariance():
    w, mu, cov = _mixture()
    p = MixturePrior("test", w, mu, cov)
    s = p.sample(200_000, 2, RNG(1))
    mean = w @ mu
    second = sum(wk * (ck + np.outer(mk, mk)) for wk, mk, ck in zip(w, mu, cov, strict=True))
    np.testing.assert_allclose(s.mean(axis=0), mean, atol=0.02)
    np.testing.assert_allclose(np.cov(s, rowvar=False), second - np.outer(mean, mean), atol=0.05)


def test_mixture_file_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"weights": [1.0], "means": [[0, 0]], "covariances": [[[1, 2], [2, 1]]]})
    )
    with pytest.raises(LpsInputError, match="positive definite"):
        parse_prior(f"mixture:{bad}")
    shape = tmp_path / "shape.json"
    shape.write_text(json.dumps({"weights": [0.5, 0.5], "means": [[0, 0]]}))
    with pytest.raises(LpsInputError, match="expected weights"):
        parse_prior(f"mixture:{shape}")
    wrong = tmp_path / "mix.txt"
    wrong.write_text("{}")
    with pytest.raises(LpsInputError, match=r"\.json or \.npz"):
        parse_prior(f"mixture:{wrong}")
    ok = tmp_path / "ok.json"
    ok.write_text(json.dumps({"means": [[0, 0, 0]]}))
    with pytest.raises(LpsInputError, match="3 dimension"):
        parse_prior(f"mixture:{ok}", n_dims=2)


def test_diagonal_covariances_are_accepted():
    p = MixturePrior("diag", [1.0], [[0.0, 0.0]], [[4.0, 0.25]])
    s = p.sample(50_000, 2, RNG(0))
    np.testing.assert_allclose(s.std(axis=0), [2.0, 0.5], rtol=0.03)


# --------------------------------------------------------------------------- objects


class _Shifted:
    def sample(self, n, d, rng):
        return rng.normal(size=(n, d)) + 3.0


def test_any_object_with_sample_is_a_prior():
    p = parse_prior(_Shifted())
    assert isinstance(p, Prior)
    s = p.sample(1000, 2, RNG(0))
    assert abs(s.mean() - 3) < 0.1


def test_object_prior_output_is_checked():
    class Bad:
        def sample(self, n, d, rng):
            return np.zeros((n, d + 1))

    with pytest.raises(LpsInputError, match="shape"):
        parse_prior(Bad()).sample(4, 2, RNG(0))


# --------------------------------------------------------------------------- closed forms


def _mc_expectations(prior, x, s, d, n=400_000, seed=11):
    y = prior.sample(n, d, RNG(seed))
    cross = np.array([np.mean(np.exp(-((y - xi) ** 2).sum(1) / (2 * s * s))) for xi in x])
    y2 = prior.sample(n, d, RNG(seed + 1))
    self_term = np.mean(np.exp(-((y - y2) ** 2).sum(1) / (2 * s * s)))
    return cross, self_term


@pytest.mark.parametrize(
    ("spec", "d"),
    [
        ("gaussian", 3),
        ("gaussian(1, 2)", 2),
        ("uniform(-2, 3)", 2),
        ("bimodal(2, 0.5)", 2),
        ("hybrid(uniform(-5, 5); gaussian(0, 2); bimodal(3, 1))", 3),
    ],
)
def test_closed_form_rbf_expectations_match_sampling(spec, d):
    prior = parse_prior(spec)
    assert prior.closed_form
    x = RNG(3).normal(size=(4, d)) * 1.5
    for s in (0.7, 2.0):
        cross_mc, self_mc = _mc_expectations(prior, x, s, d)
        np.testing.assert_allclose(prior.rbf_cross(x, s), cross_mc, atol=4e-3)
        assert prior.rbf_self(d, s) == pytest.approx(self_mc, abs=4e-3)


def test_mixture_closed_form_matches_sampling():
    w, mu, cov = _mixture()
    prior = MixturePrior("mix", w, mu, cov)
    x = RNG(3).normal(size=(4, 2))
    for s in (0.8, 2.5):
        cross_mc, self_mc = _mc_expectations(prior, x, s, 2)
        np.testing.assert_allclose(prior.rbf_cross(x, s), cross_mc, atol=4e-3)
        assert prior.rbf_self(2, s) == pytest.approx(self_mc, abs=4e-3)


def test_standard_normal_closed_form_is_the_reference_formula():
    # REFERENCE.md: E k(x, y) = (s^2/(s^2+1))^{d/2} exp(-|x|^2 / (2(s^2+1))),
    # E k(y, y') = (s^2/(s^2+2))^{d/2}
    prior, d, s = parse_prior("gaussian"), 5, 1.3
    x = RNG(0).normal(size=(6, d))
    expect = (s * s / (s * s + 1)) ** (d / 2) * np.exp(-(x**2).sum(1) / (2 * (s * s + 1)))
    np.testing.assert_allclose(prior.rbf_cross(x, s), expect, rtol=1e-12)
    assert prior.rbf_self(d, s) == pytest.approx((s * s / (s * s + 2)) ** (d / 2), rel=1e-12)


def test_gaussian_prior_and_single_component_mixture_agree():
    iso = parse_prior("gaussian(0.5, 1.5)")
    mix = MixturePrior("m", [1.0], [[0.5, 0.5, 0.5]], 2.25 * np.eye(3))
    x = RNG(1).normal(size=(5, 3))
    np.testing.assert_allclose(iso.rbf_cross(x, 1.1), mix.rbf_cross(x, 1.1), rtol=1e-10)
    assert iso.rbf_self(3, 1.1) == pytest.approx(mix.rbf_self(3, 1.1), rel=1e-10)


def test_laplace_and_empirical_have_no_closed_form():
    assert not parse_prior("laplace").closed_form
    assert not EmpiricalPrior("e", np.zeros((5, 2))).closed_form


def test_marginals_are_the_per_dimension_priors():
    p = parse_prior("hybrid(uniform(-5, 5); gaussian(0, 2))")
    m1 = p.marginal(1, 2)
    assert m1.n_dims == 1
    s = m1.sample(20_000, 1, RNG(0))
    assert abs(s.std() - 2) < 0.05
    w, mu, cov = _mixture()
    mm = MixturePrior("mix", w, mu, cov).marginal(1, 2)
    sm = mm.sample(100_000, 1, RNG(0))
    assert sm.mean() == pytest.approx(w @ mu[:, 1], abs=0.03)


@settings(max_examples=25, deadline=None)
@given(
    mean=st.floats(-3, 3),
    std=st.floats(0.2, 3),
    n=st.integers(1, 50),
    d=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_gaussian_spec_round_trips_parameters(mean, std, n, d, seed):
    p = parse_prior(f"gaussian({mean!r}, {std!r})")
    s = p.sample(n, d, RNG(seed))
    assert s.shape == (n, d) and np.isfinite(s).all()
    np.testing.assert_allclose(s, RNG(seed).normal(mean, std, size=(n, d)))
