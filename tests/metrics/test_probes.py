"""The closed-form probes behind DCI-ES and the probe ladder."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import r2_score

from lps_eval.metrics.probes import (
    FeatureLadder,
    one_hot,
    r2_loss,
    ridge_fit_predict,
    standardize_pair,
)


def test_ridge_fit_is_least_squares_with_an_intercept():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = x @ rng.normal(size=(4, 2)) + 3.0 + 0.1 * rng.normal(size=(300, 2))
    design = np.column_stack([x, np.ones(300)])
    coef = np.linalg.lstsq(design, y, rcond=None)[0]
    test = rng.normal(size=(50, 4))
    np.testing.assert_allclose(
        ridge_fit_predict(x, y, test), np.column_stack([test, np.ones(50)]) @ coef, atol=1e-5
    )


def test_r2_loss_is_one_minus_r2_score():
    rng = np.random.default_rng(1)
    y, p = rng.normal(size=(100, 3)), rng.normal(size=(100, 3))
    np.testing.assert_allclose(r2_loss(y, p), [1 - r2_score(y[:, j], p[:, j]) for j in range(3)])
    assert np.isnan(r2_loss(np.ones((5, 1)), np.zeros((5, 1)))[0])


def test_standardize_pair_uses_the_training_rows():
    train = np.array([[0.0, 5.0], [2.0, 5.0]])
    a, b = standardize_pair(train, np.array([[4.0, 6.0]]))
    np.testing.assert_allclose(a, [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(b, [[3.0, 1.0]])


def test_feature_ladder_is_seeded_and_nested():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(200, 3))
    ladder = FeatureLadder.draw(z, (0, 4, 16), np.random.default_rng(7))
    again = FeatureLadder.draw(z, (0, 4, 16), np.random.default_rng(7))
    np.testing.assert_array_equal(ladder.weights, again.weights)
    small, large = ladder.features(z, 4), ladder.features(z, 16)
    assert small.shape == (200, 7) and large.shape == (200, 19)
    np.testing.assert_array_equal(ladder.features(z, 0), z)
    # rung 4 uses the first four random directions of rung 16 (scaled by sqrt(2/m))
    np.testing.assert_allclose(small[:, 3:] * np.sqrt(4 / 2), large[:, 3:7] * np.sqrt(16 / 2))
    assert ladder.n_parameters(3, 16) == 20
    assert one_hot(np.array([2, 0]), 3).tolist() == [[0, 0, 1], [1, 0, 0]]
    assert ladder.bandwidth == pytest.approx(np.sqrt(6), rel=0.2)  # median distance, 3-d


def test_int_sequence_reads_lists_numbers_and_cli_text():
    from lps_eval import LpsInputError
    from lps_eval.metrics.probes import int_sequence

    assert int_sequence((0, 16, 256), name="w") == (0, 16, 256)
    assert int_sequence("0, 16,256", name="w") == (0, 16, 256)
    assert int_sequence(8, name="w") == (8,)
    assert int_sequence(np.array([1, 2]), name="w") == (1, 2)
    for bad in ("a,b", (1.5,), (-1,), (True,), None):
        with pytest.raises(LpsInputError, match="w must be integers"):
            int_sequence(bad, name="w")
