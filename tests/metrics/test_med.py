"""Known answers for MED and top-k MED."""

from __future__ import annotations

import numpy as np
import pytest

from lps_eval import LpsInputError, metrics
from lps_eval.metrics import LpsMetricWarning
from lps_eval.metrics._med import top_k_dims
from lps_eval.simulations import metric_world


def _reference_walk(importance, per_dim, k):
    """Top-k MED's selection as its paper describes it, with the reference's early stop."""
    n_factors = importance.shape[1]
    owner = importance.argmax(axis=1)
    kept, full = [[] for _ in range(n_factors)], [False] * n_factors
    for dim in np.argsort(-per_dim, kind="stable"):
        if len(kept[owner[dim]]) < k:
            kept[owner[dim]].append(int(dim))
        else:
            full[owner[dim]] = True
        if all(full):
            break
    return sorted({d for dims in kept for d in dims})


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_selection_matches_the_walk_with_early_stop(seed, k):
    rng = np.random.default_rng(seed)
    importance = rng.uniform(size=(12, 3)) ** 4
    importance /= importance.sum(axis=0)
    per_dim = 1 - rng.uniform(size=12)
    assert top_k_dims(importance, per_dim, k) == _reference_walk(importance, per_dim, k)


def test_identity_codes_and_dead_latents():
    a = metric_world("identity", 10000, 10)
    res = metrics.med(a["z"], a["factors"], n_boot=0)
    assert res.value > 0.9 and res.med_topk == pytest.approx(res.value)
    d = metric_world("dead", 10000, 10)
    dead = metrics.med(d["z"], d["factors"], n_boot=0)
    assert dead.value == pytest.approx(res.value, abs=0.01)  # zero importance: no weight
    assert dead.topk_dims == (0, 1, 2, 3)


def test_mixing_lowers_med_and_noise_gives_zero():
    identity = metric_world("identity")
    rotated = metric_world("rotated")
    random = metric_world("random")
    assert metrics.med(rotated["z"], rotated["factors"], n_boot=0).value < 0.5
    assert metrics.med(random["z"], random["factors"], n_boot=0).value < 0.05
    assert metrics.med(identity["z"], identity["factors"], n_boot=0).value > 0.85


def test_top_k_med_ignores_the_weakly_informative_rest_of_a_wide_code():
    """The case top-k MED was made for: a few latents carry the factors, many others
    carry a little of everything and pull plain MED down."""
    rng = np.random.default_rng(0)
    a = metric_world("identity", 5000, 10)
    s = a["z"]
    wide = np.concatenate([s, s @ rng.normal(size=(4, 40)) + 2.0 * rng.normal(size=(5000, 40))], 1)
    res = metrics.med(wide, a["factors"], topk=1, n_boot=0)
    assert res.med_topk > res.value + 0.2
    assert set(res.topk_dims) == {0, 1, 2, 3}


def test_uninformative_factor_is_left_out_with_a_warning():
    a = metric_world("identity", 1000, 10)
    f = np.column_stack([a["factors"], np.zeros(1000, dtype=int)])
    with pytest.warns(LpsMetricWarning, match="factor"):
        res = metrics.med(a["z"], f, n_boot=0)
    assert res.settings["factors_used"] == [0, 1, 2, 3]
    with pytest.raises(LpsInputError, match="topk"):
        metrics.med(a["z"], a["factors"], topk=0, n_boot=0)
