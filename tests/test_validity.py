"""Valid tests and exact invariances of the prior-matching and independence sections.

- Under a true null, the MMD permutation test rejects at 0.05 in at most 10 % of 40
  seeds for every prior form, including a finite ``samples:`` prior with fewer stored
  rows than latents (it used to be resampled with replacement and rejected ~95 %).
- The same holds for the streamed linear-time test (asymptotic Gaussian null).
- Shuffling the rows of the latents changes nothing: same value, same p-value.
- The d per-dimension tests are a family: on N(0, I_6) latents some raw p-value falls
  below 0.05 in about a quarter of the seeds, a Holm-adjusted one in at most 5 %.
- Every companion statistic of independent columns falls inside its ``<metric>_null``
  interval at the nominal rate (95 %): an interval that excludes it in more than about
  10 % of seeds is a bug.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lps_eval
from lps_eval._random import canonical_row_order
from lps_eval.independence import (
    COMPANIONS,
    companion_nulls,
    covariance_ratio,
    gaussian_total_correlation,
    gaussian_wasserstein_correlation,
    mmd_independence,
    mutual_info_mean,
)
from lps_eval.prior_matching import mmd, parse_prior
from lps_eval.simulations import independent_mixed_marginals

SEEDS = range(40)


def _rejections(draw, spec_for, *, permutations=50, **kwargs) -> int:
    count = 0
    for seed in SEEDS:
        rng = np.random.default_rng(1000 + seed)
        z, spec = draw(rng), spec_for(seed)
        r = mmd(z, spec, permutations=permutations, per_dim=False, seed=seed, **kwargs)
        count += r.p_value <= 0.05
    return count


PARAMETRIC = [
    "gaussian",
    "gaussian(1, 2)",
    "uniform(-2, 3)",
    "laplace(0, 1)",
    "bimodal(2, 0.5)",
    "hybrid(uniform(-5, 5); gaussian(0, 2); bimodal(3, 1))",
]


@pytest.mark.parametrize("spec", PARAMETRIC)
def test_null_rejection_rate_parametric_priors(spec):
    prior = parse_prior(spec)
    rejected = _rejections(lambda rng: prior.sample(200, 3, rng), lambda seed: spec)
    assert rejected <= 4, f"{spec}: {rejected}/40 rejections at 0.05"


def test_null_rejection_rate_mixture_file(tmp_path):
    path = tmp_path / "mix.json"
    mix = {"weights": [0.3, 0.7], "means": [[-2, 0], [2, 1]], "covariances": [[1, 0.5], [2, 1]]}
    path.write_text(json.dumps(mix))
    prior = parse_prior(f"mixture:{path}")
    rejected = _rejections(lambda rng: prior.sample(200, 2, rng), lambda seed: f"mixture:{path}")
    assert rejected <= 4, f"mixture: {rejected}/40 rejections at 0.05"


def test_null_rejection_rate_samples_prior_smaller_than_latents(tmp_path):
    """300 stored rows, 1000 latents from the same distribution (the issue's case)."""
    paths = []
    for seed in SEEDS:
        path = tmp_path / f"ref{seed}.npy"
        np.save(path, np.random.default_rng(5000 + seed).normal(size=(300, 3)))
        paths.append(path)
    rejected = _rejections(
        lambda rng: rng.normal(size=(1000, 3)), lambda seed: f"samples:{paths[seed]}"
    )
    assert rejected <= 4, f"samples: {rejected}/40 rejections at 0.05"


@pytest.mark.parametrize("spec", ["gaussian", "uniform(-2, 3)"])
def test_null_rejection_rate_streamed_linear_test(spec, monkeypatch):
    """Above the streaming switch the linear-time statistic is tested against its Gaussian
    null (Gretton et al. 2012, Corollary 16): at most 4 of 40 true nulls rejected at 0.05,
    and the p-values are not far from uniform."""
    from scipy.stats import kstest

    import lps_eval.streaming as streaming

    monkeypatch.setattr(streaming, "STREAM_ELEMENTS", 1000)  # 20,000 x 4 streams
    prior = parse_prior(spec)
    pvals = []
    for seed in SEEDS:
        z = prior.sample(20000, 4, np.random.default_rng(1000 + seed))
        r = mmd(z, spec, estimator="linear", max_samples=None, per_dim=False, seed=seed)
        assert r.settings["test"] == "asymptotic_normal"
        pvals.append(r.p_value)
    rejected = int(np.sum(np.asarray(pvals) <= 0.05))
    assert rejected <= 4, f"{spec}: {rejected}/40 rejections at 0.05"
    assert kstest(pvals, "uniform").pvalue > 0.001


def test_samples_prior_is_never_resampled_and_the_choice_is_recorded(tmp_path):
    path = tmp_path / "ref.npy"
    ref = np.random.default_rng(1).normal(size=(300, 2))
    np.save(path, ref)
    z = np.random.default_rng(2).normal(size=(1000, 2))
    r = mmd(z, f"samples:{path}", permutations=20, seed=0)
    assert r.settings["n_samples_used"] == 1000
    assert r.settings["n_prior_samples"] == 300
    assert "unbalanced" in r.settings["prior_rows_policy"]
    small = mmd(z[:200], f"samples:{path}", permutations=20, seed=0)
    assert small.settings["n_prior_samples"] == 200
    assert "m = n" in small.settings["prior_rows_policy"]


def _shuffle(z, seed=99):
    return z[np.random.default_rng(seed).permutation(z.shape[0])]


@pytest.mark.parametrize("max_samples", [None, 300])
def test_mmd_is_exactly_row_order_invariant(max_samples):
    z = np.random.default_rng(3).normal(size=(600, 3)) * [1.0, 1.2, 0.8]
    a = mmd(z, "gaussian", permutations=50, max_samples=max_samples, seed=4)
    b = mmd(_shuffle(z), "gaussian", permutations=50, max_samples=max_samples, seed=4)
    assert a.value == b.value and a.p_value == b.p_value and a.statistic == b.statistic
    np.testing.assert_array_equal(a.per_dim, b.per_dim)
    np.testing.assert_array_equal(a.per_dim_p_value, b.per_dim_p_value)


@pytest.mark.parametrize("max_samples", [None, 400])
def test_mmd_independence_is_exactly_row_order_invariant(max_samples):
    rng = np.random.default_rng(5)
    x = rng.normal(size=1200)
    z = np.column_stack([x, np.sin(2 * x) + 0.5 * rng.normal(size=1200), rng.normal(size=1200)])
    a = mmd_independence(z, permutations=50, max_samples=max_samples, seed=1)
    b = mmd_independence(_shuffle(z), permutations=50, max_samples=max_samples, seed=1)
    assert a.value == b.value and a.p_value == b.p_value


def test_score_sections_are_row_order_invariant():
    z = np.random.default_rng(6).normal(size=(400, 3))
    opts = {"metrics": ["prior", "independence"], "permutations": 30}
    a = lps_eval.score(z, **opts)
    b = lps_eval.score(_shuffle(z), **opts)
    tests = a["metric"].isin(["mmd", "mmd_independence"]).to_numpy()
    assert tests.sum() == 1 + 3 + 1  # mmd overall and per dim, mmd_independence
    for col in ("value", "p_value"):  # the tests: bit for bit
        np.testing.assert_array_equal(a[col].to_numpy()[tests], b[col].to_numpy()[tests])
    # covariance-based companions: equal up to summation order
    np.testing.assert_allclose(a["value"].to_numpy(), b["value"].to_numpy(), rtol=1e-12)


def test_canonical_order_depends_only_on_the_set_of_rows():
    rng = np.random.default_rng(7)
    # integer data with duplicate rows and rows that tie on many columns
    z = rng.integers(0, 3, size=(500, 4)).astype(float)
    for seed in range(5):
        s = _shuffle(z, seed)
        np.testing.assert_array_equal(z[canonical_row_order(z)], s[canonical_row_order(s)])


def test_canonical_order_breaks_projection_ties_by_value():
    # distinct rows whose projections round to the same float (the small column is lost
    # next to 1e20) must still come out in one order, whatever order they came in
    z = np.array([[1e20, 0.0], [1e20, 1.0], [1e20, 2.0], [1e20, 3.0]])
    expected = z[canonical_row_order(z)]
    for seed in range(6):
        s = _shuffle(z, seed)
        np.testing.assert_array_equal(s[canonical_row_order(s)], expected)
    np.testing.assert_array_equal(expected[:, 1], [0.0, 1.0, 2.0, 3.0])  # lexicographic


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(2, 40),
    cols=st.integers(1, 4),
    seed=st.integers(0, 2**16),
    levels=st.sampled_from([2, 3, 1000]),
)
def test_canonical_order_property(rows, cols, seed, levels):
    """Any permutation of the rows gives the same canonically ordered array."""
    rng = np.random.default_rng(seed)
    z = rng.integers(0, levels, size=(rows, cols)) * 0.5  # many exact duplicates and ties
    s = z[rng.permutation(rows)]
    np.testing.assert_array_equal(z[canonical_row_order(z)], s[canonical_row_order(s)])


def test_per_dim_holm_controls_the_family_wise_error_on_a_null():
    """100 seeds of N(0, I_6) latents scored against ``gaussian`` (every null true).

    B = 199 relabelings: the smallest p-value is 1/200, below alpha / d = 0.0083, so Holm
    can reject at all (with B = 99 it never could). Raw: P(any p <= 0.05) is about
    1 - 0.95^6 = 26 % for independent tests; Holm: at most 5 % (binomial(100, 0.05) sd
    2.2 %, so at most 10 of 100).
    """
    raw = adjusted = 0
    for seed in range(100):
        z = np.random.default_rng(3000 + seed).normal(size=(200, 6))
        r = mmd(z, "gaussian", permutations=199, seed=seed, max_samples=200)
        raw += bool(np.any(r.per_dim_p_value <= 0.05))
        adjusted += bool(np.any(r.per_dim_p_value_holm <= 0.05))
    assert adjusted <= 10, f"Holm: {adjusted}/100 families with a false rejection"
    assert raw >= 12, f"raw: only {raw}/100 (expected about 26)"


def _outside_null(draw, seeds) -> dict[str, int]:
    """Per companion statistic: seeds whose value falls outside its null interval."""
    misses = dict.fromkeys(COMPANIONS, 0)
    for seed in seeds:
        z = draw(seed)
        raw, norm = gaussian_wasserstein_correlation(z)
        cr, crc = covariance_ratio(z)
        observed = {
            "gaussian_tc": gaussian_total_correlation(z).value,
            "gaussian_wasserstein_correlation": raw.value,
            "gaussian_wasserstein_correlation_norm": norm.value,
            "covariance_ratio": cr.value,
            "covariance_ratio_corr": crc.value,
            "mutual_info_mean": mutual_info_mean(z).value,
        }
        for null in companion_nulls(z, seed=seed):
            metric = null.metric.removesuffix("_null")
            misses[metric] += not null.ci_low <= observed[metric] <= null.ci_high
    return misses


@pytest.mark.parametrize("world", ["gaussian", "mixed_marginals"])
def test_companion_null_intervals_hold_independent_data_shuffled(world):
    """N = 3,000, d = 6 (the shuffled null, 39 copies: nominal coverage 95 %), 100 seeds.

    Measured: 3 to 5 misses per statistic (Gaussian), 2 to 4 (mixed marginals)."""

    def draw(seed):
        if world == "gaussian":
            return np.random.default_rng(seed).normal(size=(3000, 6))
        return independent_mixed_marginals(3000, 6, seed=seed)

    misses = _outside_null(draw, range(100))
    assert max(misses.values()) <= 10, misses


def test_companion_null_intervals_hold_independent_data_asymptotic():
    """N = 50,000, d = 6, mixed marginals (the asymptotic null), 60 seeds.

    Measured: 2 to 6 misses per statistic (nominal 3)."""
    misses = _outside_null(lambda seed: independent_mixed_marginals(50000, 6, seed=seed), range(60))
    assert max(misses.values()) <= 9, misses
