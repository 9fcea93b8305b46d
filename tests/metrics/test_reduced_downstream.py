"""Reduced downstream: removing a factor's latents, known answers, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lps_eval import LpsInputError, metrics
from lps_eval import simulations as sim
from lps_eval.metrics import LpsMetricWarning

CHANCE = float(np.mean([1 / k for k in sim.FACTOR_CASE_SIZES]))
OPTS = {"probe": "logistic", "num_train": (400,), "num_test": 1000}


def _grid(case, n=3000, seed=5):
    rng = np.random.default_rng(seed)
    f = sim.sample_grid_factors(n, rng)
    return sim.factor_case_latents(case, f, rng), f


def _reduced(z, f, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return metrics.reduced_downstream(z, f, **{**OPTS, **kwargs}, n_boot=0)


def test_one_latent_per_factor_removing_it_leaves_chance():
    z, f = _grid("identity_noisy")
    res = _reduced(z, f)
    np.testing.assert_array_equal(res.removed[0, :, 0], [0, 1, 2])  # latent k for factor k
    assert res.value == pytest.approx(CHANCE, abs=0.04)
    full = metrics.downstream(z, f, num_train=(400,), num_test=1000, n_boot=0)
    assert res.other == pytest.approx(full.value, abs=0.06)  # the others are untouched


def test_a_duplicated_factor_leaks_through_its_copy():
    z, f = _grid("redundancy")
    assert _reduced(z, f).value > _reduced(*_grid("identity_noisy")).value + 0.3
    twice = _reduced(z, f, num_remove=2, num_train=(200,))  # GBT importance refitted: slow
    assert twice.value == pytest.approx(CHANCE, abs=0.04)  # both copies gone
    for k in range(3):
        assert set(twice.removed[0, k]) == {k, k + 3}


def test_removed_latents_are_reported_in_input_columns():
    z, f = _grid("identity_noisy")
    perm = [2, 0, 1]
    res = _reduced(z[:, perm], f)
    np.testing.assert_array_equal(res.removed[0, :, 0], [1, 2, 0])  # factor k sat at perm.index(k)
    assert res.value == _reduced(z, f).value


def test_rows_and_sizes():
    z, f = _grid("identity_noisy", n=900)
    with pytest.warns(LpsMetricWarning, match="exceed"):
        res = metrics.reduced_downstream(z, f, probe="logistic", num_train=(100, 5000), n_boot=0)
    assert res.headline_size == 100 and np.isnan(res.accuracy[1]).all()
    frame = res.to_frame()
    overall = frame[frame.scope == "overall"]
    assert overall.metric.tolist() == ["reduced_downstream", "reduced_downstream_other"]
    rows = frame[frame.metric == "reduced_downstream_test_accuracy"]
    assert len(rows) == 6 and rows.other_factors_accuracy.notna().sum() == 3


def test_removing_every_latent_is_not_computable():
    z, f = _grid("identity_noisy", n=600)
    with pytest.warns(LpsMetricWarning, match="remove all"):
        res = metrics.reduced_downstream(z, f, num_remove=3, n_boot=0)
    assert np.isnan(res.value)


@pytest.mark.parametrize(
    ("options", "match"),
    [({"probe": "x"}, "probe"), ({"num_remove": 0}, "num_remove"), ({"num_test": 0}, "num_test")],
)
def test_bad_options(options, match):
    z, f = _grid("identity", n=60)
    with pytest.raises(LpsInputError, match=match):
        metrics.reduced_downstream(z, f, **options, n_boot=0)
