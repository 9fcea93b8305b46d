"""Known answers for DCI-ES explicitness and size."""

from __future__ import annotations

import numpy as np
import pytest

from lps_eval import LpsInputError, metrics
from lps_eval.metrics._dci_es import explicitness_from_curve
from lps_eval.simulations import metric_world

X = np.log([5.0, 13.0, 37.0, 133.0, 517.0])


def test_explicitness_closed_forms():
    span = X[-1] - X[0]
    assert explicitness_from_curve(X, np.zeros(5), 1.0) == pytest.approx(1.0)
    assert explicitness_from_curve(X, np.ones(5), 1.0) == pytest.approx(0.0)
    # a loss above the baseline is capped: never worse than the constant prediction
    assert explicitness_from_curve(X, np.full(5, 1.3), 1.0) == pytest.approx(0.0)
    # a straight fall from the baseline to 0: half the rectangle
    line = 1.0 - (X - X[0]) / span
    assert explicitness_from_curve(X, line, 1.0) == pytest.approx(0.5)
    # a noisy curve counts its running minimum
    assert explicitness_from_curve(X, np.array([0.5, 0.2, 0.4, 0.2, 0.3]), 1.0) == pytest.approx(
        explicitness_from_curve(X, np.array([0.5, 0.2, 0.2, 0.2, 0.2]), 1.0)
    )
    # the baseline scales the loss: half the baseline everywhere = 0.5
    assert explicitness_from_curve(X, np.full(5, 1 / 3), 2 / 3) == pytest.approx(0.5)


def test_official_area_measures_from_the_curves_own_minimum():
    span = X[-1] - X[0]
    line = 1.0 - (X - X[0]) / span
    assert explicitness_from_curve(X, line, 1.0, area="official") == pytest.approx(0.0)
    assert explicitness_from_curve(X, np.ones(5), 1.0, area="official") == pytest.approx(1.0)
    with pytest.raises(LpsInputError, match="area"):
        explicitness_from_curve(X, line, 1.0, area="both")
    assert np.isnan(explicitness_from_curve(X[:1], line[:1], 1.0))


def test_known_worlds():
    values = {
        w: metrics.dci_es(**metric_world(w), n_boot=0) for w in ("identity", "nonlinear", "random")
    }
    assert values["identity"].value > 0.95
    assert values["random"].value < 0.05
    # decodable, but only with capacity: lower than identity, far above chance
    assert 0.5 < values["nonlinear"].value < values["identity"].value - 0.05
    losses = values["nonlinear"].losses
    assert np.all(losses[0] > losses[-1] + 0.1)  # the linear rung is the worst


def test_size_is_factors_over_dimensions():
    for world, expected in (("identity", 1.0), ("nuisance", 0.5), ("dead", 4 / 6)):
        res = metrics.dci_es(**metric_world(world, 600, 300), n_boot=0)
        assert res.size == pytest.approx(expected)


def test_rows_settings_and_categorical_factors():
    a = metric_world("identity", 1200, 600)
    res = metrics.dci_es(**a, categorical=(0, 2), n_boot=0)
    frame = res.to_frame()
    assert frame[frame.scope == "overall"].metric.tolist() == ["dci_es_explicitness", "dci_es_size"]
    assert len(frame[frame.scope == "factor"]) == 4
    assert res.settings["widths"] == [0, 8, 32, 128, 512] and res.settings["rff_bandwidth"] > 0
    assert res.losses.shape == (5, 4) and res.capacities.size == 5
    # categorical factors: error rate, baseline = the majority class's error (about 5/6)
    assert res.baseline[0] == pytest.approx(5 / 6, abs=0.05)
    # least squares on indicators cannot pick the middle classes of an ordinal factor from
    # one latent ("masking"); the random features of the higher rungs can
    assert res.losses[0, 0] > 0.3 and res.losses[-1, 0] < 0.05
    assert 0.6 < res.explicitness_per_factor[0] < res.explicitness_per_factor[1]


def test_options_are_checked():
    a = metric_world("identity", 200, 100)
    text = metrics.dci_es(
        **a, widths="0,16", n_boot=0
    )  # as the CLI passes it: -O dci_es.widths=0,16
    assert text.settings["widths"] == [0, 16]
    with pytest.raises(LpsInputError, match="two rungs"):
        metrics.dci_es(**a, widths=(16,), n_boot=0)
    with pytest.raises(LpsInputError, match="categorical"):
        metrics.dci_es(**a, categorical=(9,), n_boot=0)
    with pytest.raises(LpsInputError, match="widths must be integers"):
        metrics.dci_es(**a, widths="small", n_boot=0)
    with pytest.raises(LpsInputError, match="area"):
        metrics.dci_es(**a, area="official_code", n_boot=0)
