"""Strong (out-of-distribution) downstream: known answers, feasibility, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lps_eval import LpsInputError, metrics
from lps_eval import simulations as sim
from lps_eval.metrics import LpsMetricWarning

FAST = {"probe": "logistic", "num_train": (100, 500), "n_experiment": 2, "num_test": 1000}


def _strong(case, n=6000, **kwargs):
    rng = np.random.default_rng(5)
    f = sim.sample_grid_factors(n, rng)
    z = sim.fairness_latents(case, f, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return metrics.strong_downstream(z, f, **{**FAST, **kwargs}, n_boot=0)


def test_identity_codes_generalize_out_of_distribution():
    res = _strong("identity", probe="fast_gbt")
    assert res.value == 1.0 and res.gap == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_array_equal(res.iid_test, 1.0)


def test_summed_factors_do_not():
    """Two factors seen only through their sum: a probe of v0 trained with v1 fixed at c
    learns v0 = sum - c, which fails wherever v1 != c (with two factors the fixed one is
    always the other). The identity codes of the same grid keep the gap at 0."""
    rng = np.random.default_rng(3)
    f = sim.sample_grid_factors(6000, rng, sizes=(5, 5))
    summed = (f[:, :1] + f[:, 1:]) + 0.05 * rng.normal(size=(6000, 1))
    opts = {**FAST, "probe": "fast_gbt"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bad = metrics.strong_downstream(summed, f, **opts, n_boot=0)
        good = metrics.strong_downstream(f.astype(float), f, **opts, n_boot=0)
    assert good.gap == pytest.approx(0.0, abs=1e-12) and good.value == 1.0
    assert bad.gap > 0.3 and bad.value < 0.25  # chance is 0.2; i.i.d. about 0.35


def test_random_codes_are_at_chance_in_both():
    res = _strong("random")
    chance = float(np.mean([1 / k for k in sim.FACTOR_CASE_SIZES]))
    assert res.value == pytest.approx(chance, abs=0.05)
    assert res.iid_test[-1] == pytest.approx(chance, abs=0.05)


def test_experiments_fix_another_factor():
    res = _strong("identity_noisy", n_experiment=4)
    assert len(res.experiments) == 12
    for i, j, c in res.experiments:
        assert j != i and 0 <= c < sim.FACTOR_CASE_SIZES[j]
    assert [e[0] for e in res.experiments] == [0] * 4 + [1] * 4 + [2] * 4


def test_sizes_beyond_the_fixed_rows_are_nan():
    rng = np.random.default_rng(1)
    f = sim.sample_grid_factors(900, rng)
    z = sim.fairness_latents("identity_noisy", f, rng)
    with pytest.warns(LpsMetricWarning, match="exceed"):
        res = metrics.strong_downstream(z, f, **{**FAST, "num_train": (50, 5000)}, n_boot=0)
    assert res.headline_size == 50 and np.isnan(res.strong_test[1])
    frame = res.to_frame()
    assert frame[frame.metric == "strong_downstream"].num_train.iloc[0] == 50
    rows = frame[frame.metric == "strong_downstream_test_accuracy"]
    assert len(rows) == 6 and rows.iid_test_accuracy.notna().sum() == 3


def test_continuous_factors_are_not_computable():
    rng = np.random.default_rng(1)
    f = sim.sample_grid_factors(600, rng)
    z = sim.fairness_latents("identity_noisy", f, rng)
    with pytest.warns(LpsMetricWarning, match="continuous"):
        res = metrics.strong_downstream(z, f + 0.25, **FAST, n_boot=0)
    assert np.isnan(res.value) and np.isnan(res.gap)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"probe": "x"}, "probe"),
        ({"n_experiment": 0}, "n_experiment"),
        ({"num_train": 0}, "num_train"),
    ],
)
def test_bad_options(options, match):
    rng = np.random.default_rng(1)
    f = sim.sample_grid_factors(100, rng)
    with pytest.raises(LpsInputError, match=match):
        metrics.strong_downstream(f.astype(float), f, **options, n_boot=0)
