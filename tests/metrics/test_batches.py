"""The fixed-factor batches of the Ubisoft-style metrics: groups, pairs, streams, votes."""

from __future__ import annotations

import numpy as np
import pytest

from lps_eval import LpsInputError
from lps_eval.metrics.batches import (
    Groups,
    binned_factor_codes,
    combination_groups,
    draw_pairs,
    scaled_accuracy,
    stream_rows,
    value_groups,
    variance_votes,
    vote_accuracy,
)


def test_value_groups_drop_values_without_two_rows():
    codes = np.array([0, 1, 1, 2, 2, 2, 3])
    groups = value_groups(codes)
    assert len(groups) == 2
    assert sorted(groups.rows(0).tolist()) == [1, 2]
    assert sorted(groups.rows(1).tolist()) == [3, 4, 5]
    assert len(value_groups(codes, min_rows=3)) == 1


def test_combination_groups_hold_every_other_factor_fixed():
    codes = np.array([[0, 0, 1], [1, 0, 1], [2, 0, 1], [0, 1, 1], [1, 1, 0]])
    groups = combination_groups(codes, 0)  # rows sharing (f1, f2)
    assert len(groups) == 1 and sorted(groups.rows(0).tolist()) == [0, 1, 2]
    assert len(combination_groups(codes[:, :1], 0)) == 1  # no other factor: one group


def test_pairs_are_distinct_rows_of_the_chosen_group():
    rng = np.random.default_rng(0)
    groups = Groups([np.array([3, 7]), np.array([1, 4, 5, 9])])
    chosen = rng.integers(0, 2, size=20_000)
    a, b = draw_pairs(groups, chosen, rng)
    assert np.all(a != b)
    for g in (0, 1):
        members = set(groups.rows(g).tolist())
        assert set(a[chosen == g].tolist()) <= members and set(b[chosen == g].tolist()) <= members
    # the second row is uniform over the other members: each ordered pair ~ 1/12
    pairs = np.stack([a[chosen == 1], b[chosen == 1]], 1)
    _, counts = np.unique(pairs, axis=0, return_counts=True)
    assert counts.size == 12 and counts.min() > 0.7 * counts.mean()


def test_stream_rows_makes_reshuffled_passes():
    rng = np.random.default_rng(1)
    rows = np.arange(10, 15)
    out = stream_rows(rows, 12, rng)
    assert out.size == 12
    assert sorted(out[:5].tolist()) == rows.tolist() and sorted(out[5:10].tolist()) == rows.tolist()
    assert set(out[10:].tolist()) <= set(rows.tolist())


def test_variance_votes_identify_the_fixed_factor_on_identity_codes():
    rng = np.random.default_rng(2)
    f = rng.integers(0, 5, size=(2000, 3))
    z = f + 0.01 * rng.normal(size=f.shape)
    groups = [value_groups(f[:, k]) for k in range(3)]
    train, evaluation = variance_votes(z, groups, (300, 200), 50, z.var(0, ddof=1), rng, pick="min")
    assert train.sum() == 300 and evaluation.sum() == 200
    assert np.all(train == np.diag(np.diag(train)))  # every vote on the diagonal
    assert vote_accuracy(train, evaluation) == (1.0, 1.0)


def test_vote_accuracy_and_scaling_closed_forms():
    train = np.array([[5, 1], [0, 4]])
    evaluation = np.array([[3, 1], [2, 2]])
    assert vote_accuracy(train, evaluation) == (pytest.approx(0.9), pytest.approx(5 / 8))
    assert scaled_accuracy(1.0, 4) == 1.0
    assert scaled_accuracy(0.25, 4) == 0.0
    assert scaled_accuracy(0.0, 3) == pytest.approx(-0.5)


def test_binned_factor_codes_modes():
    f = np.array([[0, 0.0], [1, 0.5], [2, 1.0], [3, 0.25]])
    with pytest.warns(UserWarning, match="continuous"):
        auto = binned_factor_codes(f, continuous_factors="auto", n_bins=2, metric="m")
    assert auto[:, 0].tolist() == [0, 1, 2, 3] and auto[:, 1].tolist() == [0, 1, 1, 0]
    binned = binned_factor_codes(f, continuous_factors=True, n_bins=2, metric="m")
    assert binned[:, 0].tolist() == [0, 0, 1, 1]  # the integer factor binned too
    with pytest.raises(LpsInputError, match="integer factor codes"):
        binned_factor_codes(f, continuous_factors=False, n_bins=2, metric="m")
    for bad in ("yes", 1.5, None):
        with pytest.raises(LpsInputError, match="continuous_factors"):
            binned_factor_codes(f, continuous_factors=bad, n_bins=2, metric="m")
