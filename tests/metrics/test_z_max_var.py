"""Known answers for Z-max-var (Relevance FactorVAE's metric, Ubisoft La Forge variant)."""

from __future__ import annotations

import numpy as np
import pytest

from lps_eval import metrics
from lps_eval.metrics import LpsMetricWarning
from lps_eval.simulations import metric_world


@pytest.mark.parametrize("world", ["identity", "dead"])
def test_one_clean_latent_per_factor_scores_one(world):
    a = metric_world(world)
    assert metrics.z_max_var(a["z"], a["factors"], n_boot=0).value == 1.0


def test_pairwise_rotation_scores_one_third():
    a = metric_world("rotated")
    assert metrics.z_max_var(a["z"], a["factors"], n_boot=0).value == pytest.approx(1 / 3, abs=0.1)


def test_nuisance_latents_defeat_the_argmax():
    """A documented weakness: a pure-noise latent varies as much as the varied factor's
    latent (both at their full variance), so the argmax is a coin toss among them."""
    a = metric_world("nuisance")
    assert metrics.z_max_var(a["z"], a["factors"], n_boot=0).value < 0.5
    assert metrics.z_min_var(a["z"], a["factors"], n_boot=0).value == 1.0


def test_without_repeated_combinations_it_is_not_computable():
    rng = np.random.default_rng(0)
    f = rng.integers(0, 40, size=(300, 4))  # 64,000 combinations of three factors
    z = f + 0.1 * rng.normal(size=f.shape)
    with pytest.warns(LpsMetricWarning, match="combination"):
        res = metrics.z_max_var(z, f, n_boot=0)
    assert np.isnan(res.value) and "combination" in res.reason


def test_real_valued_factors_use_coarse_bins():
    rng = np.random.default_rng(1)
    f = rng.uniform(size=(3000, 3))
    z = f + 0.01 * rng.normal(size=f.shape)
    res = metrics.z_max_var(z, f, continuous_factors=True, n_boot=0)
    assert res.settings["n_bins"] == 3 and res.value > 0.8
