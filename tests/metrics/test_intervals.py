"""The intervals of the supervised metrics (lps_eval.metrics.intervals): their formulas,
their coverage on known worlds, their resampling machinery.

Coverage tests: nominal level 0.95, estimated over S simulated datasets (or seeds); the
rate's binomial standard deviation is ``sqrt(0.95 * 0.05 / S)`` (0.022 at S = 100). Each
test accepts ``COVERAGE_LOW <= rate <= COVERAGE_HIGH``: low enough to allow the
under-coverage bootstrap intervals show on samples this small (measured 0.91-0.92 for
MIG, SAP and FactorVAE, docs/metrics.md), high enough that an interval which ignores the
bias or the spread fails, and capped so that an interval too wide to say anything fails
too.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from lps_eval import LpsInputError, metrics
from lps_eval import simulations as sim
from lps_eval.metrics import register_metric
from lps_eval.metrics.common import SupervisedResult, prepare
from lps_eval.metrics.intervals import (
    MAX_BOOT,
    IntervalPlan,
    ReplicateRequest,
    check_interval_options,
    interval_from_replicates,
    resampling_order,
)
from lps_eval.metrics.registry import _REGISTRY

NOMINAL = 0.95
COVERAGE_LOW = 0.85
COVERAGE_HIGH = 0.99


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ---------------------------------------------------------------- formulas


def test_basic_interval_reflects_the_replicates_around_the_estimate():
    reps = np.linspace(0.40, 0.60, 201)  # median 0.5, 2.5% / 97.5% quantiles 0.405 / 0.595
    low, high, method = interval_from_replicates(0.52, reps, confidence=0.95, centre="estimate")
    assert method == "basic"
    assert (low, high) == pytest.approx((2 * 0.52 - 0.595, 2 * 0.52 - 0.405))


def test_centred_interval_adds_the_spread_to_the_estimate():
    reps = np.linspace(0.40, 0.60, 201)
    low, high, method = interval_from_replicates(0.52, reps, confidence=0.95, centre="replicates")
    assert method == "centred percentile"
    assert (low, high) == pytest.approx((0.52 - 0.095, 0.52 + 0.095))


def test_few_replicates_use_a_normal_t_interval():
    from scipy.stats import t

    reps = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    low, high, method = interval_from_replicates(0.3, reps, confidence=0.9, centre="replicates")
    half = t.ppf(0.95, 4) * reps.std(ddof=1)
    assert method == "normal-t" and (low, high) == pytest.approx((0.3 - half, 0.3 + half))


def test_bounds_clip_and_failures_are_counted():
    reps = np.r_[np.full(95, 0.99), np.full(5, 1.0)]
    low, high, _ = interval_from_replicates(
        1.0, reps, confidence=0.95, centre="estimate", bounds=(0, 1)
    )
    assert high == 1.0 and low <= 1.0
    many_failed = np.r_[np.full(50, np.nan), np.linspace(0, 1, 50)]
    assert math.isnan(
        interval_from_replicates(0.5, many_failed, confidence=0.95, centre="estimate")[0]
    )
    assert math.isnan(
        interval_from_replicates(math.nan, reps, confidence=0.95, centre="estimate")[0]
    )


@pytest.mark.parametrize("centre", ["estimate", "replicates"])
@pytest.mark.parametrize("n_boot", [20, 200])
def test_formula_coverage_on_a_gaussian_model(centre, n_boot):
    """Estimate ~ N(mu + b, s^2). Resampled rows (basic): replicates ~ N(estimate + b, s^2),
    bias b = 2 s, which the basic interval removes. Same rows, fresh draws (centred): the
    replicates are draws of the estimator itself, N(mu, s^2) with b = 0."""
    rng = np.random.default_rng(0)
    mu, s, runs = 0.3, 0.02, 2000
    bias = 2 * s if centre == "estimate" else 0.0
    hits = 0
    for _ in range(runs):
        est = mu + bias + s * rng.normal()
        centre_of_reps = est + bias if centre == "estimate" else mu
        reps = centre_of_reps + s * rng.normal(size=n_boot)
        low, high, _ = interval_from_replicates(est, reps, confidence=NOMINAL, centre=centre)
        hits += low <= mu <= high
    assert 0.93 <= hits / runs <= 0.97  # S = 2000: binomial sd 0.005


def test_interval_options_are_checked():
    assert check_interval_options(0, 0.9) == (0, 0.9)
    for bad in (-1, 1, MAX_BOOT + 1, 2.5, True):
        with pytest.raises(LpsInputError, match="n_boot"):
            check_interval_options(bad, 0.95)
    for bad in (0, 1, "x"):
        with pytest.raises(LpsInputError, match="confidence"):
            check_interval_options(10, bad)


def test_plans_refuse_unknown_units_and_silent_opt_outs():
    with pytest.raises(ValueError, match="unknown interval unit"):
        IntervalPlan(unit="folds")
    with pytest.raises(ValueError, match="must say why"):
        IntervalPlan(unit="none")
    assert IntervalPlan(unit="none", reason="deterministic").unit_for({}) == "none"


# ---------------------------------------------------------------- resampling machinery


def test_resampling_order_ignores_row_and_column_order():
    rng = np.random.default_rng(0)
    z, f = rng.normal(size=(50, 3)), rng.integers(0, 3, size=(50, 2))
    order = resampling_order(z, f)
    perm = rng.permutation(50)
    again = resampling_order(z[perm][:, [2, 0, 1]], f[perm])
    np.testing.assert_array_equal(z[order], z[perm][again])


def test_bootstrap_counts_are_resamples_of_n_rows():
    rng = np.random.default_rng(0)
    z, f = rng.normal(size=(40, 2)), rng.integers(0, 2, size=(40, 1))
    counts = ReplicateRequest(n_boot=30, seed=1).counts(z, f)
    assert counts.shape == (30, 40) and (counts.sum(axis=1) == 40).all()
    perm = rng.permutation(40)
    moved = ReplicateRequest(n_boot=30, seed=1).counts(z[perm], f[perm])
    np.testing.assert_array_equal(moved, counts[:, perm])  # row i keeps its multiplicity


def _toy_mean_metric(unit):
    """A registered metric: the mean of latent 0 (its true mean is known)."""

    def toy(z, factors, *, z_test=None, factors_test=None, seed=0):
        data = prepare("toy", z, factors, z_test, factors_test, seed=seed, needs_test=False,
                       num_train=None)  # fmt: skip
        return SupervisedResult(
            value=float(data.z[:, 0].mean()), settings=data.settings, metric=f"toy_mean_{unit}"
        )

    toy.__name__ = f"toy_mean_{unit}"
    return register_metric(
        rows=(f"toy_mean_{unit}",),
        properties={"exact_sample_order", "exact_latent_order", "nuisance_invariant"},
        interval=IntervalPlan(unit=unit, n_boot=20),
    )(toy)


@pytest.mark.slow
@pytest.mark.parametrize("unit", ["rows", "half_rows"])
def test_generic_engine_covers_a_known_mean(unit):
    """Bootstrap and half-sampling (delete-n/2 jackknife: its spread has variance factor
    1) around a statistic whose truth is known: the mean 0 of N(0, 1) rows."""
    toy = _toy_mean_metric(unit)
    try:
        hits, runs = 0, 200
        for s in range(runs):
            rng = np.random.default_rng(s)
            z = rng.normal(size=(200, 2))
            f = rng.integers(0, 3, size=(200, 1))
            res = toy(z, f, seed=s)
            assert res.settings["interval"]["unit"] == unit
            hits += res.ci_low <= 0.0 <= res.ci_high
        assert 0.90 <= hits / runs <= 0.99  # S = 200: binomial sd 0.015
    finally:
        _REGISTRY.pop(toy.__name__, None)


def test_seeds_unit_reruns_on_the_same_rows():
    """The generic "seeds" unit: same rows, fresh internal randomness (the estimate's own
    stream is untouched)."""

    @register_metric(
        rows=("toy_noisy",),
        properties={"approx_sample_order", "exact_latent_order", "nuisance_invariant"},
        interval=IntervalPlan(unit="seeds", n_boot=100),
    )
    def toy_noisy(z, factors, *, z_test=None, factors_test=None, seed=0):
        data = prepare("toy_noisy", z, factors, z_test, factors_test, seed=seed,
                       needs_test=False, num_train=None)  # fmt: skip
        value = float(data.z[:, 0].mean() + 0.1 * data.rng.normal())
        return SupervisedResult(value=value, settings=data.settings, metric="toy_noisy")

    try:
        rng = np.random.default_rng(0)
        z, f = rng.normal(size=(100, 2)), rng.integers(0, 3, size=(100, 1))
        res = toy_noisy(z, f)
        assert res.value == toy_noisy(z, f, n_boot=0).value
        assert res.settings["interval"]["method"] == "centred percentile"
        # the spread is the injected noise (sd 0.1), centred on the estimate
        assert res.ci_high - res.ci_low == pytest.approx(2 * 1.96 * 0.1, rel=0.25)
        assert res.ci_low < res.value < res.ci_high
    finally:
        _REGISTRY.pop("toy_noisy", None)


@pytest.mark.parametrize(("fail_rate", "has_interval"), [(0.05, True), (0.5, False)])
def test_a_failed_replicate_is_counted_not_hidden(fail_rate, has_interval):
    """A resample the metric cannot score is NaN and counted; beyond 10% of them the row
    gets no interval rather than one from the survivors."""

    @register_metric(
        rows=("toy_fragile",),
        properties={"exact_sample_order", "exact_latent_order", "nuisance_invariant"},
        interval=IntervalPlan(unit="rows", n_boot=200),
    )
    def toy_fragile(z, factors, *, z_test=None, factors_test=None, seed=0):
        data = prepare("toy_fragile", z, factors, z_test, factors_test, seed=seed,
                       needs_test=False, num_train=None)  # fmt: skip
        resampled = not np.array_equal(data.z, z)  # only replicates fail, never the estimate
        if resampled and data.rng.random() < fail_rate:
            raise LpsInputError("this resample cannot be scored")
        return SupervisedResult(
            value=float(data.z[:, 0].mean()), settings=data.settings, metric="toy_fragile"
        )

    try:
        rng = np.random.default_rng(0)
        z, f = rng.normal(size=(100, 2)), rng.integers(0, 3, size=(100, 1))
        res = toy_fragile(z, f)
        failed = res.settings["interval"]["failed_replicates"]["toy_fragile"]
        assert 0 < failed < 200
        assert np.isfinite(res.ci_low) == has_interval
    finally:
        _REGISTRY.pop("toy_fragile", None)


# ---------------------------------------------------------------- coverage on known worlds


def _coverage(hits, runs):
    rate = hits / runs
    assert COVERAGE_LOW <= rate <= COVERAGE_HIGH, f"coverage {rate:.3f} over {runs} runs"
    return rate


@pytest.mark.slow
def test_mig_rows_bootstrap_coverage_and_why_not_percentile():
    """MIG on the bounded-noise coverage world, n = 1000, truth from 2,000,000 rows. The
    plug-in MI bias is a few standard errors here: the basic interval covers the truth, the
    percentile interval (the same replicates, not reflected) almost never does."""
    big = sim.coverage_world(2_000_000, seed=999)
    truth = metrics.mig(big["z"], big["factors"], num_train=None, n_boot=0).value
    runs, basic, percentile, excluded = 100, 0, 0, 0
    for s in range(runs):
        a = sim.coverage_world(1000, seed=s)
        res = metrics.mig(a["z"], a["factors"], n_boot=100)
        basic += res.ci_low <= truth <= res.ci_high
        # percentile = [2 est - high, 2 est - low] (no clipping here: MIG is far from 0, 1)
        percentile += 2 * res.value - res.ci_high <= truth <= 2 * res.value - res.ci_low
        excluded += "excludes its estimate" in res.settings.get("note", "")
    _coverage(basic, runs)
    assert percentile / runs < 0.3
    assert excluded > 0  # the bias shows, and the note says so


@pytest.mark.slow
def test_sap_test_row_bootstrap_coverage():
    """Discrete SAP with the probes fixed by one training set; truth = their SAP on
    200,000 test rows; 100 small test sets (300 rows) drawn afresh."""

    def draw(n, seed):
        w = sim.known_world("identity", n=n, seed=seed, noise=0.4)
        return w["z"], w["factors"]

    z, f = draw(600, 1000)
    z_big, f_big = draw(200_000, 1001)
    truth = metrics.sap(z, f, z_test=z_big, factors_test=f_big, n_boot=0).value
    hits = 0
    for s in range(100):
        zt, ft = draw(300, s)
        res = metrics.sap(z, f, z_test=zt, factors_test=ft, n_boot=200)
        assert res.settings["interval"]["unit"] == "test_rows"
        hits += res.ci_low <= truth <= res.ci_high
    _coverage(hits, 100)


@pytest.mark.slow
def test_factor_vae_draw_bootstrap_coverage():
    """FactorVAE on fixed rows; truth = its value with 200,000 training and evaluation
    votes (the infinite-draw limit); 100 seeds of 1,000 + 1,000 votes."""
    w = sim.known_world("identity", n=2000, seed=3, noise=0.6)
    kw = {"batch_size": 16, "num_variance_estimate": 2000}
    truth = metrics.factor_vae(
        w["z"], w["factors"], num_train=200_000, num_eval=200_000, n_boot=0, **kw
    ).value
    assert 0.6 < truth < 0.95  # not saturated: the interval has something to cover
    hits = 0
    for s in range(100):
        res = metrics.factor_vae(w["z"], w["factors"], num_train=1000, num_eval=1000, seed=s, **kw)
        hits += res.ci_low <= truth <= res.ci_high
    _coverage(hits, 100)


def test_numpy_integer_seeds_and_generators():
    w = sim.known_world("identity", n=300)
    res = metrics.mig(w["z"], w["factors"], seed=np.int64(3), n_boot=20)
    assert np.isfinite(res.ci_low)
    res = metrics.mig(w["z"], w["factors"], seed=np.random.default_rng(0), n_boot=20)
    assert math.isnan(res.ci_low) and "not an integer" in res.settings["interval"]["reason"]


def test_a_metric_called_inside_another_computes_no_interval_of_its_own():
    """An outer metric's replicates rerun the inner one: nested intervals would multiply
    the cost and nobody reads them."""
    inner_records = []

    @register_metric(
        rows=("toy_outer",),
        properties={"exact_sample_order", "exact_latent_order", "nuisance_invariant"},
        interval=IntervalPlan(unit="rows", n_boot=20),
    )
    def toy_outer(z, factors, *, z_test=None, factors_test=None, seed=0):
        data = prepare("toy_outer", z, factors, z_test, factors_test, seed=seed,
                       needs_test=False, num_train=None)  # fmt: skip
        inner = metrics.mig(data.z, data.factors, seed=seed)
        inner_records.append(inner.settings["interval"])
        return SupervisedResult(value=inner.value, settings=data.settings, metric="toy_outer")

    try:
        w = sim.known_world("identity", n=300)
        res = toy_outer(w["z"], w["factors"])
        assert np.isfinite(res.ci_low)
        assert len(inner_records) == 21  # the estimate and 20 replicates
        assert all("inside another metric" in r["reason"] for r in inner_records)
    finally:
        _REGISTRY.pop("toy_outer", None)
