"""The "supervised" section of lps_eval.score."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import lps_eval
from lps_eval import LpsInputError
from lps_eval.metrics import METRIC_ROWS, metric_specs
from lps_eval.scoring import available_metrics

#: The rows of the default supervised section (metrics registered with default=True).
DEFAULT_ROWS = {m for spec in metric_specs().values() if spec.default for m in spec.rows}


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    f = np.repeat(np.array(list(itertools.product(range(3), range(4)))), 40, axis=0)
    z = np.c_[f + 0.3 * rng.normal(size=f.shape), rng.normal(size=len(f))]
    return z, f


def test_section_registered_with_all_default_metric_names():
    names = available_metrics()["supervised"]
    assert set(names) == DEFAULT_ROWS
    opt_in = [name for name, spec in metric_specs().items() if not spec.default]
    sections = available_metrics()
    assert opt_in  # the slow probes are registered off the default section ...
    assert all(sections[name] == METRIC_ROWS[name] for name in opt_in)  # ... and selectable


def test_score_with_factors_adds_every_supervised_metric(data):
    z, f = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = lps_eval.score(z, factors=f, metrics=["supervised"], seed=3)
    overall = table[table.scope == "overall"]
    assert set(overall.metric) == DEFAULT_ROWS
    assert table.attrs["settings"]["mig"]["seed"] == 3


def test_score_selects_single_metrics(data):
    z, f = data
    table = lps_eval.score(z, factors=f, metrics=["mig", "dci_completeness"])
    assert set(table.metric) == {"mig", "dci_completeness"}
    ref = lps_eval.metrics.mig(z, f)
    got = table.query("metric == 'mig' and scope == 'overall'").value.iloc[0]
    assert got == pytest.approx(ref.value)


def test_score_dci_mode_option(data):
    z, f = data
    table = lps_eval.score(z, factors=f, metrics=["dci"], dci={"mode": "parity", "n_boot": 0})
    assert table.attrs["settings"]["dci"]["mode"] == "parity"


def test_supervised_metrics_need_factors(data):
    z, _ = data
    with pytest.raises(LpsInputError, match="factors"):
        lps_eval.score(z, metrics=["mig"])
