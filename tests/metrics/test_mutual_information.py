"""Known answers for the discretization / mutual-information metrics: MIG, MIG-sup,
DCIMIG, JEMMIG, and the shared estimators (cross-checked against numpy and sklearn)."""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import mutual_info_score

from lps_eval import LpsInputError, metrics
from lps_eval.information import (
    entropy,
    histogram_discretize,
    joint_entropy,
    ksg_mutual_info_matrix,
    mutual_info_matrix,
)
from lps_eval.metrics import LpsMetricWarning


def grid(*sizes, repeat=1):
    """Every combination of factor values (a full, balanced product grid)."""
    rows = np.array(list(itertools.product(*[range(k) for k in sizes])))
    return np.repeat(rows, repeat, axis=0)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 200),
    st.integers(1, 4),
    st.integers(2, 30),
    st.integers(0, 10_000),
)
def test_histogram_discretize_matches_numpy(n, d, bins, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * rng.uniform(0.1, 100)
    x[:, 0] = np.round(x[:, 0])  # ties and repeated values
    if d > 1:
        x[:, 1] = 3.0  # constant column
    ref = np.stack(
        [np.digitize(x[:, j], np.histogram(x[:, j], bins)[1][:-1]) - 1 for j in range(d)], 1
    )
    np.testing.assert_array_equal(histogram_discretize(x, bins), ref)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 300), st.integers(1, 8), st.integers(1, 8), st.integers(0, 10_000))
def test_mutual_info_matches_sklearn(n, ka, kb, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, ka, size=(n, 2))
    b = (a[:, :1] + rng.integers(0, kb, size=(n, 1))) % max(kb, 1)
    b = np.concatenate([b, rng.integers(0, kb, size=(n, 1))], axis=1)
    got = mutual_info_matrix(a, b)
    ref = np.array([[mutual_info_score(b[:, j], a[:, i]) for j in range(2)] for i in range(2)])
    np.testing.assert_allclose(got, ref, atol=1e-12)
    ref_h = [mutual_info_score(b[:, j], b[:, j]) for j in range(2)]
    np.testing.assert_allclose(entropy(b), ref_h, atol=1e-12)


def test_entropy_and_joint_entropy_closed_form():
    f = grid(4, 5)
    np.testing.assert_allclose(entropy(f), np.log([4, 5]))
    # independent uniform columns: H(a, b) = H(a) + H(b)
    np.testing.assert_allclose(joint_entropy(f[:, :1], f[:, 1:]), [[np.log(20)]])
    assert mutual_info_matrix(f[:, :1], f[:, 1:])[0, 0] == 0.0


def test_constant_column_has_exactly_zero_information():
    f = grid(3, 4)
    const = np.zeros((len(f), 1), dtype=np.int64)
    assert mutual_info_matrix(const, f).tolist() == [[0.0, 0.0]]


def test_mig_identity_on_full_grid_is_one():
    f = grid(4, 5, 6)
    res = metrics.mig(f.astype(float), f, n_boot=0)
    assert res.value == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(res.per_factor, 1.0)
    np.testing.assert_allclose(res.factor_entropy, np.log([4, 5, 6]))


def test_mig_redundant_copies_score_zero():
    f = grid(4, 5)
    z = np.concatenate([f, f], axis=1).astype(float)  # two latents per factor
    assert metrics.mig(z, f, n_boot=0).value == pytest.approx(0.0, abs=1e-12)


def test_mig_invariant_to_monotone_warps_and_affine_maps():
    rng = np.random.default_rng(0)
    f = grid(4, 5, repeat=20)
    z = f + 0.3 * rng.normal(size=f.shape)
    base = metrics.mig(z, f, n_boot=0).value
    # an affine map keeps every equal-width bin; warps change the bins, not the ranking
    assert metrics.mig(3 * z - 7, f, n_boot=0).value == pytest.approx(base, abs=1e-12)


def test_mig_single_valued_factor_left_out_with_warning():
    f = grid(4, 5)
    f = np.concatenate([f, np.zeros((len(f), 1), dtype=int)], axis=1)
    with pytest.warns(LpsMetricWarning, match="single value"):
        res = metrics.mig(f[:, :2].astype(float), f, n_boot=0)
    assert np.isnan(res.per_factor[2])
    assert res.value == pytest.approx(1.0)


def test_mig_continuous_factors_are_binned_with_warning():
    rng = np.random.default_rng(0)
    v = rng.uniform(size=(500, 2))
    z = v + 0.05 * rng.normal(size=v.shape)
    with pytest.warns(LpsMetricWarning, match="continuous"):
        res = metrics.mig(z, v, n_boot=0)
    # the same as passing the 20-bin codes of the factors explicitly
    ref = metrics.mig(z, histogram_discretize(v, 20), n_boot=0)
    assert res.value == pytest.approx(ref.value, abs=1e-12)


def test_mig_subsamples_to_num_train_with_seed():
    rng = np.random.default_rng(0)
    f = grid(4, 5, repeat=30)
    z = f + rng.normal(size=f.shape)
    a = metrics.mig(z, f, num_train=300, seed=1, n_boot=0)
    b = metrics.mig(z, f, num_train=300, seed=1, n_boot=0)
    c = metrics.mig(z, f, num_train=300, seed=2, n_boot=0)
    assert a.value == b.value != c.value
    assert a.settings["n_train_used"] == 300


def test_mig_ignores_test_split_with_warning():
    f = grid(3, 4)
    with pytest.warns(LpsMetricWarning, match="ignored"):
        metrics.mig(f.astype(float), f, z_test=f.astype(float), factors_test=f, n_boot=0)


def test_mig_sup_and_dcimig_and_jemmig_identity_is_one():
    f = grid(4, 5, 6)
    z = f.astype(float)
    for fn in (metrics.mig_sup, metrics.dcimig, metrics.jemmig):
        assert fn(z, f).value == pytest.approx(1.0, abs=1e-12), fn.__name__


def test_mig_sup_rewards_modularity_not_compactness():
    f = grid(4, 5)
    z = np.concatenate([f, f], axis=1).astype(float)  # each latent encodes one factor
    assert metrics.mig_sup(z, f, n_boot=0).value == pytest.approx(1.0, abs=1e-12)
    mixed = (f[:, :1] * 5 + f[:, 1:]).astype(float)  # one latent encodes both factors
    assert metrics.mig_sup(mixed, f, n_boot=0).value == pytest.approx(0.0, abs=1e-12)


def test_dcimig_closed_form_for_a_missing_factor():
    f = grid(4, 5)
    z = np.concatenate([f[:, :1], f[:, :1]], axis=1).astype(float)  # factor 1 not encoded
    expected = np.log(4) / (np.log(4) + np.log(5))
    res = metrics.dcimig(z, f, n_boot=0)
    assert res.value == pytest.approx(expected, abs=1e-12)
    np.testing.assert_allclose(res.per_factor, [1.0, 0.0], atol=1e-12)


def test_jemmig_closed_form_for_a_noisy_latent():
    # factor with 2 values; latent = factor with an extra independent bit
    f = grid(2, 2)
    z = (2 * f[:, :1] + f[:, 1:]).astype(float)  # 4 equally likely levels
    z = np.c_[z, f[:, 1]]  # a second latent, independent of factor 0 (MI exactly 0)
    res = metrics.jemmig(z, f[:, :1], n_bins=20, n_boot=0)
    h_v, h_vz, i_vz = np.log(2), np.log(4), np.log(2)
    assert res.value == pytest.approx(1 - (h_vz - i_vz) / (h_v + np.log(20)), abs=1e-12)


def test_random_latents_score_near_zero():
    rng = np.random.default_rng(0)
    f = grid(4, 5, repeat=100)
    z = rng.normal(size=(len(f), 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fn in (metrics.mig, metrics.mig_sup, metrics.dcimig):
            assert fn(z, f).value < 0.02, fn.__name__


# ---------------------------------------------------------------- MIG discretizers

GOLDEN_OPTIONS = json.loads(
    (Path(__file__).resolve().parents[1] / "fixtures" / "dlib_golden_options.json").read_text()
)


def _options_case(name):
    from lps_eval import simulations as sim

    a = sim.integer_codes_world() if name == "integer_codes" else sim.factor_case("identity")
    g = GOLDEN_OPTIONS["cases"][name]
    assert sim.checksum({k: a[k] for k in ("z", "factors")}) == pytest.approx(g["checksum"])
    return a["z"], a["factors"], g


@pytest.mark.parametrize("case", ["integer_codes", "identity"])
@pytest.mark.parametrize("discretizer", ["histogram", "identity"])
def test_mig_discretizers_match_disentanglement_lib(case, discretizer):
    """Peer: disentanglement_lib 1.5's compute_mig with its histogram discretizer and with
    the identity discretizer its own mig_test.py binds (tools/dlib/make_golden_options.py).
    On integer codes with more values than 20 bins the two differ; both match."""
    z, f, g = _options_case(case)
    got = metrics.mig(z, f, discretizer=discretizer, n_boot=0).value
    assert got == pytest.approx(g[f"mig_{discretizer}"], abs=1e-6)


def test_identity_discretizer_refuses_continuous_latents():
    rng = np.random.default_rng(0)
    f = grid(3, 4, repeat=20)
    with pytest.raises(LpsInputError, match="already-discrete codes"):
        metrics.mig(f + 0.1 * rng.normal(size=f.shape), f, discretizer="identity", n_boot=0)
    with pytest.raises(LpsInputError, match="discretizer must be one of"):
        metrics.mig(f.astype(float), f, discretizer="kde", n_boot=0)


def test_knn_mutual_info_matches_scikit_learn():
    """Peer: sklearn.feature_selection.mutual_info_classif (the same kNN estimator, Ross
    2014). Without ties the estimates agree to round-off; with ties both break them with
    1e-10 noise of different draws, so they agree to the estimator's tie noise."""
    from sklearn.feature_selection import mutual_info_classif

    rng = np.random.default_rng(0)
    n = 1500
    y = rng.integers(0, 5, n)
    x = np.c_[y + rng.normal(size=n), rng.normal(size=n), 3 * y + rng.standard_t(3, size=n)]
    ours = ksg_mutual_info_matrix(x, y[:, None], seed=1)[:, 0]
    ref = mutual_info_classif(x, y, n_neighbors=3, random_state=0)
    np.testing.assert_allclose(ours, ref, atol=1e-10)
    tied = np.round(y + 0.3 * rng.normal(size=n), 1)[:, None]
    ours = ksg_mutual_info_matrix(tied, y[:, None], seed=1)[0, 0]
    ref = mutual_info_classif(tied, y, n_neighbors=3, random_state=0)[0]
    assert ours == pytest.approx(ref, abs=0.01)


def test_mig_ksg_is_mig_of_the_scikit_learn_estimates():
    from sklearn.feature_selection import mutual_info_classif

    rng = np.random.default_rng(0)
    f = grid(4, 5, repeat=40)
    z = np.c_[f + 0.4 * rng.normal(size=f.shape), rng.normal(size=len(f))]
    res = metrics.mig(z, f, discretizer="ksg", n_boot=0)
    mi = np.stack([mutual_info_classif(z, f[:, k], random_state=0) for k in range(2)], 1)
    srt = np.sort(mi, axis=0)
    expected = np.mean((srt[-1] - srt[-2]) / entropy(f))
    assert res.value == pytest.approx(expected, abs=1e-6)
    np.testing.assert_allclose(res.mutual_info, mi, atol=1e-6)
    assert res.settings["discretizer"] == "ksg" and res.settings["n_neighbors"] == 3


def test_mig_ksg_interval_uses_half_samples():
    """Duplicated rows sit at distance 0 and inflate kNN MI: the bootstrap would be
    biased, so the ksg interval half-samples without replacement."""
    rng = np.random.default_rng(0)
    f = grid(3, 4, repeat=30)
    z = f + 0.3 * rng.normal(size=f.shape)
    assert (
        metrics.mig(z, f, discretizer="ksg", n_boot=20).settings["interval"]["unit"] == "half_rows"
    )
    assert metrics.mig(z, f, n_boot=20).settings["interval"]["unit"] == "rows"
