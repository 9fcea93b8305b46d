"""BetaVAE, FactorVAE (interventions drawn from rows) and IRS: known answers and the
not-computable contract."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from lps_eval import metrics
from lps_eval.metrics import LpsMetricWarning, LpsUndefinedWarning
from lps_eval.metrics.interventions import GroupSampler, intervention_support

SMALL = {"num_train": 500, "num_eval": 1000, "batch_size": 16}


def grid(*sizes, repeat=1):
    rows = np.array(list(itertools.product(*[range(k) for k in sizes])))
    return np.repeat(rows, repeat, axis=0)


def test_group_sampler_draws_rows_sharing_the_value():
    rng = np.random.default_rng(0)
    f = grid(3, 4, 5)
    sampler = GroupSampler.from_factors(f)
    k = rng.integers(3, size=(200, 8))
    rows = rng.integers(len(f), size=(200, 8))
    partner = sampler.same_value(k, rows, rng)
    np.testing.assert_array_equal(f[partner, k], f[rows, k])
    # uniform within the group: every row of a value gets drawn
    drawn = sampler.same_value(np.zeros(6000, int), np.zeros(6000, int), rng)
    assert set(drawn.tolist()) == set(np.flatnonzero(f[:, 0] == f[0, 0]).tolist())


def test_intervention_support():
    f = grid(3, 4)
    assert intervention_support(f, min_rows=2)[0] is None
    assert intervention_support(f, min_rows=2)[1]["full_grid"] is True
    assert "continuous" in intervention_support(f + 0.5 * (f > 1), min_rows=2)[0]
    assert "row(s)" in intervention_support(f[:-3], min_rows=4)[0]


@pytest.mark.parametrize("fn", [metrics.beta_vae, metrics.factor_vae])
def test_identity_on_grid_scores_one(fn):
    f = grid(3, 4, 5)
    res = fn(f.astype(float), f, **SMALL)
    assert res.value == pytest.approx(1.0)
    assert res.settings["full_grid"] is True


@pytest.mark.parametrize("fn", [metrics.beta_vae, metrics.factor_vae])
def test_continuous_factors_are_not_computable(fn):
    rng = np.random.default_rng(0)
    v = rng.normal(size=(300, 2))
    with pytest.warns(LpsMetricWarning, match="not computable"):
        res = fn(v, v, **SMALL)
    assert math.isnan(res.value) and "continuous" in res.reason
    frame = res.to_frame()
    assert frame.loc[0, "reason"] == res.reason and math.isnan(frame.loc[0, "value"])


@pytest.mark.parametrize("fn", [metrics.beta_vae, metrics.factor_vae])
def test_lonely_factor_value_is_not_computable(fn):
    f = np.concatenate([grid(3, 4, repeat=3), [[3, 0]]])  # value 3 of factor 0: one row
    with pytest.warns(LpsMetricWarning, match="not computable"):
        res = fn(f.astype(float), f, **SMALL)
    assert math.isnan(res.value) and "1 row" in res.reason


def test_beta_vae_needs_two_factors():
    f = grid(5, repeat=10)
    with pytest.warns(LpsMetricWarning):
        assert math.isnan(metrics.beta_vae(f.astype(float), f, **SMALL, n_boot=0).value)


def test_factor_vae_all_pruned_is_nan_with_the_fix():
    """disentanglement_lib returns 0 here; a vote with no latent to choose means nothing."""
    f = grid(3, 4, repeat=3)
    z = 0.001 * f.astype(float)
    with pytest.warns(LpsUndefinedWarning, match="prune_threshold.*rescale the codes"):
        res = metrics.factor_vae(z, f, **SMALL, n_boot=0)
    assert math.isnan(res.value) and "0 latent(s)" in res.reason


def test_factor_vae_nuisance_dims_are_never_chosen():
    rng = np.random.default_rng(0)
    f = grid(3, 4, repeat=10)
    z = np.c_[f + 0.05 * rng.normal(size=f.shape), rng.normal(size=(len(f), 2))]
    res = metrics.factor_vae(z, f, **SMALL, n_boot=0)
    assert res.value == pytest.approx(1.0)
    assert res.votes[:, 2:].sum() == 0


def test_beta_vae_random_latents_near_chance():
    rng = np.random.default_rng(0)
    f = grid(3, 4, repeat=10)
    res = metrics.beta_vae(rng.normal(size=(len(f), 3)), f, **SMALL, n_boot=0)
    assert res.value == pytest.approx(0.5, abs=0.08)


def test_irs_identity_is_one_and_noise_is_low():
    f = grid(3, 4, 5)
    assert metrics.irs(f.astype(float), f, n_boot=0).value == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    g = grid(3, 4, repeat=50)
    assert metrics.irs(rng.normal(size=(len(g), 2)), g, n_boot=0).value < 0.4


def test_irs_closed_form_two_level_latent():
    # z = factor 0 in {0, 1} plus factor 1 in {0, 0.5}: given v0, deviations are +-0.25
    f = grid(2, 2, repeat=5)
    z = (f[:, 0] + 0.5 * f[:, 1]).astype(float)[:, None]
    res = metrics.irs(z, f, diff_quantile=1.0, n_boot=0)
    max_dev = 0.75
    assert res.value == pytest.approx(1 - 0.25 / max_dev)
    assert res.parents[0] == 0


def test_irs_constant_dims_dropped_and_all_constant_is_nan():
    f = grid(3, 4)
    z = np.c_[f.astype(float), np.zeros(len(f))]
    res = metrics.irs(z, f, n_boot=0)
    assert res.value == pytest.approx(1.0) and math.isnan(res.per_dim[2])
    # disentanglement_lib returns 0; no latent varies, so nothing can be robust or not
    with pytest.warns(LpsUndefinedWarning, match="every latent is constant"):
        assert math.isnan(metrics.irs(np.zeros((len(f), 2)), f, n_boot=0).value)


def test_irs_many_valued_factor_warns_and_factor_bins_reproduces_dlib():
    rng = np.random.default_rng(0)
    f = np.c_[np.arange(400) % 40, rng.integers(0, 3, 400)]
    z = f + 0.5 * rng.normal(size=f.shape)
    with pytest.warns(LpsMetricWarning, match="more than 20 values"):
        ours = metrics.irs(z, f, n_boot=0)
    dlib = metrics.irs(z, f, factor_bins=20, n_boot=0)
    assert np.isfinite(ours.value) and np.isfinite(dlib.value) and ours.value != dlib.value
