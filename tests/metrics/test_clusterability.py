"""Known answers for clusterability: separated blobs, one blob, and the Gaussian twin."""

from __future__ import annotations

import numpy as np
import pytest

import lps_eval
from lps_eval import LpsInputError
from lps_eval.metrics import clusterability

FAST = {"k_values": (2, 3, 4, 5), "max_samples": 600}


def _blobs(n=900, d=3, centres=3, spread=8.0, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, centres, n)
    return rng.normal(size=(n, d)) + spread * np.eye(centres, d)[labels]


def test_separated_clusters_score_high_and_above_their_twin():
    res = clusterability(_blobs(), **FAST)
    assert res.value > 0.7 and res.best_k == 3
    assert res.value - res.null > 0.2
    assert res.davies_bouldin < 0.6


def test_one_gaussian_blob_has_no_excess_over_its_twin():
    z = np.random.default_rng(1).normal(size=(900, 3)) @ np.diag([3.0, 1.0, 0.5])
    res = clusterability(z, **FAST)
    assert res.value > 0.1  # k-means finds a partition in any cloud: the null is needed
    assert abs(res.value - res.null) < 0.08


def test_rows_settings_and_seed():
    res = clusterability(_blobs(), **FAST)
    frame = res.to_frame()
    assert frame.metric.tolist() == [
        "clusterability",
        "clusterability_k",
        "clusterability_null",
        "clusterability_excess",
        "clusterability_davies_bouldin",
    ]
    assert frame.value.iloc[3] == pytest.approx(res.value - res.null)
    assert res.settings["n_samples_used"] == 600 and set(res.silhouettes) == {2, 3, 4, 5}
    assert clusterability(_blobs(), **FAST).value == res.value
    assert np.isnan(clusterability(_blobs(), null=False, **FAST).null)


def test_scale_matters_only_without_standardizing():
    z = _blobs()
    stretched = z * np.array([1.0, 1.0, 100.0])
    assert clusterability(stretched, **FAST).value == pytest.approx(
        clusterability(z, **FAST).value, abs=1e-9
    )


def test_bad_input():
    z = _blobs(50)
    with pytest.raises(LpsInputError, match="NaN"):
        clusterability(np.full((10, 2), np.nan))
    with pytest.raises(LpsInputError, match="k_values"):
        clusterability(z, k_values=(1,))
    with pytest.raises(LpsInputError, match="below the number of rows"):
        clusterability(z[:6], k_values=(8,))
    with pytest.raises(LpsInputError, match="standardize"):
        clusterability(z, standardize="yes")


def test_score_runs_it_on_request_without_factors():
    z = _blobs(600)
    table = lps_eval.score(z, metrics=["clusterability"], clusterability=FAST)
    assert table.metric.tolist()[0] == "clusterability"
    default = lps_eval.score(z, metrics=None, lps={"n_boot": 0})
    assert "clusterability" not in set(default.metric)
