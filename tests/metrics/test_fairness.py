"""Fairness: known answers on the fairness worlds, the null, interventions, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lps_eval import LpsInputError, metrics
from lps_eval import simulations as sim
from lps_eval.metrics import LpsMetricWarning
from lps_eval.metrics._fairness import aggregate_fairness, inter_group_fairness

FAST = {"probe": "logistic", "num_train": 2000}


def _world(case, n=6000, seed=5):
    rng = np.random.default_rng(seed)
    f = sim.sample_grid_factors(n, rng)
    return sim.fairness_latents(case, f, rng), f


def _fair(case, **kwargs):
    z, f = _world(case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return metrics.fairness(z, f, **{**FAST, **kwargs}, n_boot=0)


def test_the_papers_worked_example():
    """disentanglement_lib's own test: overall 1/3 : 2/3; TVs 1/3 and 1/6; mean 2/9."""
    mean, worst = inter_group_fairness(np.array([[0, 100], [100, 100]]))
    assert mean == pytest.approx(2 / 9, abs=1e-7) and worst == pytest.approx(1 / 3, abs=1e-7)


def test_identity_codes_are_exactly_fair_with_paired_draws():
    """A probe of v_i that reads only v_i: every counterfactual row gets the same
    prediction, so every TV is exactly 0 (and so is the null)."""
    res = _fair("identity")
    assert res.settings["paired"] and res.settings["full_grid"]
    assert res.value == 0.0 and res.fairness_max == 0.0 and res.fairness_null == 0.0
    np.testing.assert_array_equal(res.accuracy, 1.0)


def test_summed_factors_are_unfair_exactly_where_they_are_summed():
    res = _fair("summed")
    assert res.value > res.fairness_null + 0.05
    tv = res.mean_tv
    assert min(tv[0, 1], tv[1, 0]) > 0.15  # v0 and v1 only through their sum
    others = [tv[0, 2], tv[1, 2], tv[2, 0], tv[2, 1]]
    assert min(tv[0, 1], tv[1, 0]) > 2.5 * max(others)
    assert tv[2, 0] == tv[2, 1] == 0.0  # v2 is read exactly from its own latent


@pytest.mark.parametrize("case", ["identity_noisy", "random"])
def test_fair_up_to_noise_scores_the_null_level(case):
    res = _fair(case)
    assert res.value == pytest.approx(res.fairness_null, abs=0.03)
    assert res.value < _fair("summed").value


def test_unpaired_draws_when_the_grid_is_not_full():
    z, f = _world("summed", n=6000)
    keep = ~((f[:, 0] == 0) & (f[:, 1] == 0) & (f[:, 2] == 0))  # one cell missing
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = metrics.fairness(z[keep], f[keep], **FAST, n_boot=0)
    assert not res.settings["paired"] and not res.settings["full_grid"]
    assert res.value > res.fairness_null + 0.05 and 0 < res.fairness_null < 0.1


def test_rows_and_scores():
    res = _fair("summed")
    frame = res.to_frame()
    overall = frame[frame.scope == "overall"]
    assert overall.metric.tolist() == ["fairness", "fairness_max", "fairness_null"]
    pairs = frame[frame.metric == "fairness_pair"]
    assert len(pairs) == 6 and pairs.sensitive_factor.notna().all()
    assert set(frame.metric) >= {"fairness_pair_max", "fairness_probe_accuracy"}
    assert res.scores["mean_fairness:mean_pred:mean_sens"] == res.value
    assert len(res.scores) == 2 * (6 + 4 * 3 + 8)
    assert res.settings["probe"] == "logistic" and res.settings["n_train_used"] == 2000


def test_aggregate_keys_and_values():
    m = np.array([[0.0, 0.1, 0.3], [0.2, 0.0, 0.4], [0.6, 0.5, 0.0]])
    d = aggregate_fairness(m, "x")
    assert d["x:pred0:mean_sens"] == pytest.approx(0.2)
    assert d["x:sens2:max_pred"] == pytest.approx(0.4)
    assert d["x:mean_pred:mean_sens"] == pytest.approx(np.mean([0.2, 0.3, 0.55]))
    assert d["x:max_pred:max_sens"] == pytest.approx(0.6)


def test_a_constant_first_factor_keeps_the_input_indices():
    # factor 0 never varies: left out, so the matrices, the keys and the rows name the
    # other factors by their input index (1, 2, 3), never by their position among the kept
    z, f = _world("summed")
    f = np.concatenate([np.zeros((len(f), 1), dtype=f.dtype), f], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = metrics.fairness(z, f, **FAST, n_boot=0)
        ref = metrics.fairness(z, f[:, 1:], **FAST, n_boot=0)
    assert res.value == ref.value
    assert np.isnan(res.mean_tv[0]).all() and np.isnan(res.mean_tv[:, 0]).all()
    np.testing.assert_array_equal(res.mean_tv[1:, 1:], ref.mean_tv)
    assert np.isnan(res.accuracy[0]) and "mean_fairness:pred3:sens1" in res.scores
    assert not any("pred0" in key or "sens0" in key for key in res.scores)
    per_target = res.to_frame().query("metric == 'fairness' and scope == 'factor'")
    assert per_target.value.isna().tolist() == [True, False, False, False]


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda z, f: (z, f + 0.5), "continuous"),
        (lambda z, f: (z, f[:, :1]), "at least two factors"),
        (lambda z, f: (z[:60], f[:60]), "held-out rows"),
    ],
)
def test_not_computable_says_why(edit, match):
    z, f = _world("identity", n=3000)
    z, f = edit(z, f)
    with pytest.warns(LpsMetricWarning, match=match):
        res = metrics.fairness(z, f, probe="logistic", n_boot=0)
    assert np.isnan(res.value) and match in res.reason
    assert res.to_frame().reason.iloc[0] == res.reason


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"probe": "svm"}, "probe"),
        ({"num_train": 1}, "num_train"),
        ({"num_test_points_per_class": 0}, "num_test_points_per_class"),
        ({"min_rows": 0}, "min_rows"),
    ],
)
def test_bad_options(options, match):
    z, f = _world("identity", n=300)
    with pytest.raises(LpsInputError, match=match):
        metrics.fairness(z, f, **options, n_boot=0)
