"""Known answers for Z-min-var (the Ubisoft La Forge FactorVAE variant)."""

from __future__ import annotations

import numpy as np
import pytest

from lps_eval import LpsInputError, metrics
from lps_eval.metrics import LpsMetricWarning
from lps_eval.metrics._z_min_var import global_variance
from lps_eval.metrics.common import prepare
from lps_eval.simulations import metric_world


@pytest.mark.parametrize("world", ["identity", "nuisance", "dead", "dependent"])
def test_one_clean_latent_per_factor_scores_one(world):
    a = metric_world(world)
    res = metrics.z_min_var(a["z"], a["factors"], n_boot=0)
    assert res.value == 1.0


def test_dead_latents_are_pruned_and_recorded():
    a = metric_world("dead")
    res = metrics.z_min_var(a["z"], a["factors"], n_boot=0)
    assert res.settings["active_dims"] == [0, 1, 2, 3]
    assert res.active_dims.tolist() == [True] * 4 + [False] * 2


def test_pairwise_rotation_scores_one_third():
    a = metric_world("rotated")
    assert metrics.z_min_var(a["z"], a["factors"], n_boot=0).value == pytest.approx(1 / 3, abs=0.1)


def test_random_codes_score_near_chance():
    a = metric_world("random")
    assert abs(metrics.z_min_var(a["z"], a["factors"], n_boot=0).value) < 0.15


def test_votes_and_settings():
    a = metric_world("identity")
    res = metrics.z_min_var(a["z"], a["factors"], num_train=400, num_eval=300, n_boot=0)
    assert res.votes.sum() == 400
    assert np.all(res.votes == np.diag(np.diag(res.votes)))
    assert res.settings["num_variance_estimate"] == 10000 and res.settings["batch_size"] == 200


def test_global_variance_uses_rows_without_replacement():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(50, 2))
    factors = np.arange(50)[:, None] % 5  # a factor that varies (a constant one is undefined)
    data = prepare("t", z, factors, None, None, seed=0, needs_test=False, num_train=None)
    np.testing.assert_allclose(global_variance(data, 10_000), z.var(axis=0, ddof=1))


def test_every_latent_pruned_is_not_computable():
    a = metric_world("identity", 500, 10)
    with pytest.warns(LpsMetricWarning, match="prune_threshold"):
        res = metrics.z_min_var(a["z"] * 1e-3, a["factors"], n_boot=0)
    assert np.isnan(res.value)


def test_options_are_checked():
    a = metric_world("identity", 200, 10)
    with pytest.raises(LpsInputError, match="batch_size"):
        metrics.z_min_var(a["z"], a["factors"], batch_size=1, n_boot=0)
    with pytest.raises(LpsInputError, match="continuous_factors"):
        metrics.z_min_var(a["z"], a["factors"], continuous_factors="sometimes", n_boot=0)
