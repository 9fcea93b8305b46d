"""Known answers for DMIG, XMIG and DLIG (latte's dependency-aware MIG family)."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest

from lps_eval import LpsInputError, metrics
from lps_eval.metrics import LpsMetricWarning
from lps_eval.metrics._mi_gaps import mi_gaps_from_matrix
from lps_eval.simulations import metric_world


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def test_formulas_by_hand():
    """Three latents, two factors; latent 0 serves factor 0, latent 1 serves factor 1."""
    mi = np.array([[1.0, 0.2], [0.3, 0.8], [0.1, 0.5]])
    h = np.array([1.5, 1.2])
    factor_mi = np.array([[1.5, 0.4], [0.4, 1.2]])
    got = mi_gaps_from_matrix(mi, h, factor_mi, (0, 1))
    # DMIG: factor 0's runner-up is latent 1, which serves factor 1: H(a0 | a1) = 1.1
    assert got["dmig"][0] == pytest.approx((1.0 - 0.3) / 1.1)
    # factor 1's runner-up is latent 2 (serves nothing): plain H(a1)
    assert got["dmig"][1] == pytest.approx((0.8 - 0.5) / 1.2)
    # XMIG compares with the unassigned latent 2 only
    assert got["xmig"].tolist() == pytest.approx([(1.0 - 0.1) / 1.5, (0.8 - 0.5) / 1.2])
    # DLIG: latent 0's gap between factor 0 and factor 1, over H(a0 | a1)
    assert got["dlig"].tolist() == pytest.approx([(1.0 - 0.2) / 1.1, (0.8 - 0.3) / 0.8])


def test_an_assigned_latent_that_is_not_the_best_gives_a_negative_gap():
    mi = np.array([[0.2, 0.0], [0.9, 0.7]])
    got = mi_gaps_from_matrix(mi, np.array([1.0, 1.0]), np.zeros((2, 2)), (0, 1))
    assert got["dmig"][0] == pytest.approx(0.2 - 0.9)


def test_histogram_dmig_is_mig_for_independent_factors():
    """On a full, balanced grid the factors share exactly no information, the matching is
    the argmax, and DMIG reduces to MIG with the same estimator."""
    f = np.array(list(itertools.product(range(4), range(5), range(3)))).repeat(8, axis=0)
    rng = np.random.default_rng(0)
    z = np.concatenate([f + 0.3 * rng.normal(size=f.shape), rng.normal(size=(len(f), 1))], 1)
    res = metrics.mi_gaps(z, f, estimator="histogram", n_boot=0)
    mig = metrics.mig(z, f, n_boot=0)
    np.testing.assert_allclose(res.dmig_per_factor, mig.per_factor, atol=1e-12)
    np.testing.assert_allclose(res.mutual_info, mig.mutual_info, atol=1e-12)


@pytest.mark.parametrize("estimator", ["ksg", "histogram"])
def test_known_worlds(estimator):
    values = {}
    for world in ("identity", "rotated", "nuisance", "dependent", "random"):
        a = metric_world(world)
        values[world] = _quiet(metrics.mi_gaps, a["z"], a["factors"], estimator=estimator)
    assert values["identity"].dmig > 0.95 and values["identity"].dlig > 0.95
    assert values["rotated"].dmig < 0.05 and values["random"].dmig < 0.05
    assert values["nuisance"].xmig > 0.95  # noise latents carry nothing
    # interdependent factors: MIG is pulled down, DMIG compensates
    a = metric_world("dependent")
    assert metrics.mig(a["z"], a["factors"], n_boot=0).value < 0.85
    assert values["dependent"].dmig > 0.95


def test_xmig_needs_a_spare_latent_and_dlig_two_factors():
    a = metric_world("identity", 500, 10)
    with pytest.warns(LpsMetricWarning, match="xmig not computable"):
        res = metrics.mi_gaps(a["z"], a["factors"], n_boot=0)
    frame = res.to_frame()
    row = frame[(frame.metric == "xmig") & (frame.scope == "overall")]
    assert math.isnan(row.value.iloc[0]) and "more dimensions than factors" in row.reason.iloc[0]
    with pytest.warns(LpsMetricWarning, match="dlig not computable"):
        res = metrics.mi_gaps(a["z"], a["factors"][:, :1], n_boot=0)
    assert math.isnan(res.dlig) and np.isfinite(res.dmig)


def test_too_few_latents_for_the_factors_is_nan_not_an_error():
    a = metric_world("identity", 500, 10)
    with pytest.warns(LpsMetricWarning, match="at least 4 latent"):
        res = metrics.mi_gaps(a["z"][:, :2], a["factors"], n_boot=0)
    assert math.isnan(res.value)
    assert res.to_frame().query("scope == 'overall'").reason.notna().all()


def test_reg_dim_choices():
    a = metric_world("nuisance", 1500, 10)
    z = a["z"][:, [5, 2, 0, 7, 3, 1, 6, 4]]  # the factor latents now sit at 2, 5, 1, 4
    matched = metrics.mi_gaps(z, a["factors"], n_boot=0)
    assert matched.reg_dim == (2, 5, 1, 4) and matched.settings["assigned_dims"] == [2, 5, 1, 4]
    explicit = metrics.mi_gaps(z, a["factors"], reg_dim=[2, 5, 1, 4], n_boot=0)
    assert explicit.dmig == pytest.approx(matched.dmig)
    from_cli = metrics.mi_gaps(
        z, a["factors"], reg_dim="2,5,1,4", n_boot=0
    )  # -O mi_gaps.reg_dim=2,5,1,4
    assert from_cli.reg_dim == (2, 5, 1, 4)
    diagonal = metrics.mi_gaps(z, a["factors"], reg_dim="diagonal", n_boot=0)  # latte's default
    assert diagonal.reg_dim == (0, 1, 2, 3) and diagonal.dmig < 0
    for bad in ([0, 0, 1, 2], [0, 1, 2], [0, 1, 2, 99], "best"):
        with pytest.raises(LpsInputError, match="reg_dim"):
            metrics.mi_gaps(z, a["factors"], reg_dim=bad, n_boot=0)


def test_options_are_checked():
    a = metric_world("identity", 200, 10)
    with pytest.raises(LpsInputError, match="estimator"):
        metrics.mi_gaps(a["z"], a["factors"], estimator="kde", n_boot=0)
    with pytest.raises(LpsInputError, match="n_neighbors"):
        metrics.mi_gaps(a["z"], a["factors"], n_neighbors=0, n_boot=0)
