"""Known answers for Z-diff (the Ubisoft La Forge BetaVAE variant)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lps_eval import LpsInputError, metrics
from lps_eval.metrics import LpsMetricWarning
from lps_eval.simulations import metric_world

FAST = {"num_train": 1500, "num_eval": 1000}


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def test_identity_codes_score_one():
    a = metric_world("identity")
    res = metrics.z_diff(a["z"], a["factors"], **FAST, n_boot=0)
    assert res.value == 1.0 and res.accuracy == 1.0
    assert res.settings["batch_size"] == 200 and res.settings["scale"] is True


def test_pairwise_rotation_only_identifies_the_pair():
    """Factors mixed in pairs at 45 degrees: fixing either factor of a pair moves both of
    its latents alike, so at best the pair is recognized: accuracy 1/2, scaled 1/3 (the
    finite sample adds a little)."""
    a = metric_world("rotated")
    res = metrics.z_diff(a["z"], a["factors"], **FAST, n_boot=0)
    assert res.value == pytest.approx(1 / 3, abs=0.1)
    assert res.accuracy == pytest.approx(0.5, abs=0.08)


def test_random_codes_score_chance_and_unscaled_is_the_accuracy():
    a = metric_world("random")
    scaled = metrics.z_diff(a["z"], a["factors"], **FAST, n_boot=0)
    raw = metrics.z_diff(a["z"], a["factors"], scale=False, **FAST, n_boot=0)
    assert abs(scaled.value) < 0.1
    assert raw.value == pytest.approx(scaled.accuracy) and 0 <= raw.value <= 1


def test_nuisance_and_dead_latents_do_not_hurt():
    for world in ("nuisance", "dead"):
        a = metric_world(world)
        assert metrics.z_diff(a["z"], a["factors"], **FAST, n_boot=0).value == 1.0


def test_real_valued_factors_are_binned_with_a_warning():
    rng = np.random.default_rng(0)
    f = rng.uniform(size=(3000, 3))
    z = f + 0.01 * rng.normal(size=f.shape)
    with pytest.warns(LpsMetricWarning, match="continuous"):
        res = metrics.z_diff(z, f, **FAST, n_boot=0)
    assert res.value > 0.95
    same = metrics.z_diff(
        z, f, continuous_factors=True, **FAST, n_boot=0
    )  # the reference's default
    assert same.value == pytest.approx(res.value, abs=0.02)


def test_not_computable_cases_say_why():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(100, 3))
    with pytest.warns(LpsMetricWarning, match="at least two factors"):
        res = metrics.z_diff(z, rng.integers(0, 3, (100, 1)), **FAST, n_boot=0)
    assert np.isnan(res.value) and "two factors" in res.reason
    ids = np.stack([np.arange(100), rng.integers(0, 3, 100)], 1)  # factor 0: an ID column
    res = _quiet(metrics.z_diff, z, ids, **FAST)
    assert np.isnan(res.value) and "only 1 usable factor" in res.reason  # the ID column left out
    frame = res.to_frame()
    assert frame.reason.iloc[0] == res.reason


def test_options_are_checked():
    a = metric_world("identity", 200, 10)
    for bad in ({"batch_size": 0}, {"num_train": 1}, {"n_bins": 1}, {"max_iter": 0}):
        with pytest.raises(LpsInputError):
            metrics.z_diff(a["z"], a["factors"], **bad, n_boot=0)
