"""``lps_eval.score``: the tidy table, selection of metrics, settings in attrs."""

from __future__ import annotations

import numpy as np
import pytest

import lps_eval
from lps_eval import LpsInputError
from lps_eval.results import TIDY_COLUMNS
from lps_eval.simulations import nonlinear_pair


@pytest.fixture(scope="module")
def z():
    return nonlinear_pair(1_500, seed=1)[0]


def test_lps_section_rows_and_attrs(z):
    table = lps_eval.score(z, metrics=["lps"], lps={"n_boot": 20}, seed=3)
    assert tuple(table.columns[:8]) == TIDY_COLUMNS
    overall = table[table.scope == "overall"].set_index("metric")
    assert {"lps", "lps_null", "lps_linear", "lps_linear_null", "lps_nonlinear_gap"} <= set(
        overall.index
    )
    assert overall.loc["lps_nonlinear_gap", "value"] == pytest.approx(
        overall.loc["lps", "value"] - overall.loc["lps_linear", "value"]
    )
    assert table.attrs["seed"] == 3 and table.attrs["n_samples"] == 1_500
    assert table.attrs["settings"]["lps"]["predictor"] == "hgb"
    assert table.attrs["settings"]["lps_linear"]["predictor"] == "linear"
    assert "versions" in table.attrs
    per_dim = table[(table.metric == "lps") & (table.scope == "dim")]
    assert sorted(per_dim.dim.tolist()) == [0, 1, 2, 3]


def test_selecting_a_single_metric_filters_rows(z):
    table = lps_eval.score(z, metrics="lps_linear", lps={"n_boot": 0})
    assert set(table.metric) == {"lps_linear"}


def test_linear_predictor_gives_one_lps(z):
    table = lps_eval.score(z, metrics=["lps"], predictor="linear", lps={"n_boot": 0})
    assert "lps_linear" not in set(table.metric)
    assert (table.metric == "lps").any()


def test_unknown_option_and_metric(z):
    with pytest.raises(LpsInputError, match="unknown option"):
        lps_eval.score(z, metrics=["lps"], bogus=1)
    with pytest.raises(LpsInputError, match="unknown metric"):
        lps_eval.score(z, metrics=["nope"])


def test_same_seed_same_table(z):
    a = lps_eval.score(z, metrics=["lps"], lps={"n_boot": 10}, seed=1)
    b = lps_eval.score(z, metrics=["lps"], lps={"n_boot": 10}, seed=1)
    np.testing.assert_array_equal(a.value.to_numpy(), b.value.to_numpy())


def test_a_bad_prior_is_refused_before_any_work(monkeypatch):
    """0.2.1 ran 10.8 s of LPS before parsing --prior."""
    import lps_eval.scoring.sections as sections

    def no_work(*args, **kwargs):
        raise AssertionError("a section ran before the prior spec was parsed")

    monkeypatch.setattr(sections, "lps", no_work)
    z = np.random.default_rng(0).normal(size=(500, 3))
    with pytest.raises(lps_eval.LpsInputError, match="did you mean 'gaussian'"):
        lps_eval.score(z, prior="gausian")
    with pytest.raises(lps_eval.LpsInputError, match="hybrid"):
        lps_eval.score(z, prior="hybrid(gaussian; uniform)")  # 2 parts for 3 dimensions
