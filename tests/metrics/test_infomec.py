"""Known answers for InfoMEC (InfoM, InfoE, InfoC)."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

from lps_eval import LpsInputError, metrics
from lps_eval.metrics import LpsMetricWarning
from lps_eval.metrics._infomec import active_latents, infomec_from_nmi
from lps_eval.simulations import metric_world


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def test_concentration_closed_forms():
    every = np.ones(3, dtype=bool)
    assert infomec_from_nmi(np.eye(3), every)[:2] == (pytest.approx(1.0), pytest.approx(1.0))
    assert infomec_from_nmi(np.ones((3, 3)), every)[:2] == (pytest.approx(0.0), pytest.approx(0.0))
    # one latent carries both factors: perfectly compact, not modular
    nmi = np.array([[1.0, 0.0], [1.0, 0.0]])
    infom, infoc, facts = infomec_from_nmi(nmi, np.ones(2, dtype=bool))
    assert infoc == pytest.approx(1.0) and infom == pytest.approx(0.0)
    assert facts["uninformative_dims"] == [1]  # latent 1: zero NMI everywhere, left out
    # inactive latents are not counted
    nmi = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]])
    assert infomec_from_nmi(nmi, np.array([True, True, False]))[:2] == (1.0, 1.0)


def test_active_latent_rules():
    z = np.column_stack([np.linspace(-1, 1, 101), np.linspace(-0.04, 0.04, 101), np.zeros(101)])
    assert active_latents(z, discrete=False, rule="range").tolist() == [True, False, False]
    assert active_latents(z, discrete=True, rule="range").tolist() == [True, True, False]
    assert active_latents(z, discrete=False, rule="iqr").tolist() == [True, False, False]
    assert active_latents(z, discrete=True, rule="iqr").tolist() == [True, False, False]


def test_identity_codes_score_one_continuous_and_discrete():
    a = metric_world("identity")
    res = metrics.infomec(a["z"], a["factors"], n_boot=0)
    assert res.infom > 0.98 and res.infoc > 0.98 and res.infoe > 0.98
    # quantized latents equal to the factors of a full grid: the factors share exactly no
    # information, so InfoM = InfoC = 1 exactly; the probe separates every class
    grid = np.array(list(itertools.product(range(3), range(4), range(5)))).repeat(5, axis=0)
    exact = metrics.infomec(grid.astype(float), grid, latents="discrete", n_boot=0)
    assert (exact.infom, exact.infoc) == (pytest.approx(1.0, abs=1e-12),) * 2
    assert exact.infoe > 0.999


def test_rotation_is_neither_modular_nor_compact_but_explicit():
    a = metric_world("rotated")
    res = metrics.infomec(a["z"], a["factors"], n_boot=0)
    assert res.infom < 0.5 and res.infoc < 0.5
    assert res.infoe > 0.95  # a linear probe still reads every factor


def test_dead_latents_are_pruned_and_random_codes_carry_no_information():
    a = metric_world("dead")
    res = metrics.infomec(a["z"], a["factors"], n_boot=0)
    assert res.settings["active_dims"] == [0, 1, 2, 3] and res.infoc > 0.98
    a = metric_world("random")
    res = _quiet(metrics.infomec, a["z"], a["factors"])
    assert res.infoe < 0.02  # InfoM / InfoC of noise are meaningless: read them with InfoE


def test_rows_and_settings():
    a = metric_world("identity", 800, 10)
    res = metrics.infomec(a["z"], a["factors"], prune="iqr", n_boot=0)
    frame = res.to_frame()
    assert frame[frame.scope == "overall"].metric.tolist() == ["infom", "infoe", "infoc"]
    assert len(frame[(frame.metric == "infoe") & (frame.scope == "factor")]) == 4
    assert res.settings["prune"] == "iqr" and res.settings["n_neighbors"] == 10
    assert res.nmi.shape == (4, 4) and len(res.settings["infoe_converged"]) == 4


def test_one_factor_or_one_active_latent_is_nan_with_a_reason():
    a = metric_world("identity", 800, 10)
    with pytest.warns(LpsMetricWarning, match="infom not computable"):
        res = metrics.infomec(a["z"], a["factors"][:, :1], n_boot=0)
    assert math.isnan(res.infom) and np.isfinite(res.infoe)
    frame = res.to_frame()
    assert "two factors" in frame[frame.metric == "infom"].reason.iloc[0]
    z = np.column_stack([a["z"][:, 0], 1e-6 * a["z"][:, 1]])
    with pytest.warns(LpsMetricWarning, match="infoc not computable"):
        res = metrics.infomec(z, a["factors"][:, :2], n_boot=0)
    assert math.isnan(res.infoc)


def test_options_are_checked():
    a = metric_world("identity", 200, 10)
    with pytest.raises(LpsInputError, match="latents"):
        metrics.infomec(a["z"], a["factors"], latents="binary", n_boot=0)
    with pytest.raises(LpsInputError, match="prune"):
        metrics.infomec(a["z"], a["factors"], prune="std", n_boot=0)


def test_pruning_compares_raw_ranges_across_latents():
    """The reference's rule, kept: one latent on a 50x larger scale switches the others
    off (give latents a common scale before comparing models; docs: pitfalls)."""
    a = metric_world("mixed", 600, 10)
    base = metrics.infomec(a["z"], a["factors"], n_boot=0)
    stretched = metrics.infomec(a["z"] * np.array([1.0, 1.0, 50.0, 1.0]), a["factors"], n_boot=0)
    assert base.settings["active_dims"] == [0, 1, 2, 3]
    assert stretched.settings["active_dims"] == [2]
    assert np.isnan(stretched.infoc) or stretched.infoc != pytest.approx(base.infoc)
