"""Known answers for the probe ladder: linear versus nonlinear decodability."""

from __future__ import annotations

import numpy as np
import pytest

from lps_eval import LpsInputError, metrics
from lps_eval.simulations import metric_world

FAST = {"max_iter": 150}


def _overall(res):
    frame = res.to_frame()
    return frame[frame.scope == "overall"].set_index("metric").value


def test_linear_codes_need_no_capacity():
    res = metrics.probe_ladder(**metric_world("identity", 1500, 750), **FAST, n_boot=0)
    values = _overall(res)
    assert values["probe_linear"] > 0.98
    assert abs(values["probe_nonlinear_gap"]) < 0.03
    assert res.value == pytest.approx(values["probe_linear"])


def test_a_circle_code_is_found_only_by_the_mlps():
    res = metrics.probe_ladder(**metric_world("nonlinear", 1500, 750), **FAST, n_boot=0)
    values = _overall(res)
    assert values["probe_linear"] < 0.8
    assert max(values["probe_mlp_small"], values["probe_mlp_deep"]) > 0.9
    assert values["probe_nonlinear_gap"] > 0.15
    frame = res.to_frame()
    assert len(frame[(frame.metric == "probe_nonlinear_gap") & (frame.scope == "factor")]) == 4


def test_random_codes_decode_nothing():
    values = _overall(metrics.probe_ladder(**metric_world("random", 1500, 750), **FAST, n_boot=0))
    assert values["probe_linear"] < 0.05 and values["probe_mlp_small"] < 0.05


def test_settings_and_options():
    a = metric_world("identity", 300, 150)
    res = metrics.probe_ladder(**a, **FAST, n_boot=0)
    assert res.settings["deep"] == [64, 32, 32, 16, 8] and set(res.settings["converged"]) == {
        "probe_mlp_small",
        "probe_mlp_deep",
    }
    with pytest.raises(LpsInputError, match="max_iter"):
        metrics.probe_ladder(**a, max_iter=0, n_boot=0)
    assert np.isfinite(res.gap_per_factor).all()
