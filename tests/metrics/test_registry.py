"""The registry's on-request flag: default metrics run in ``supervised``, the others only
by name, and ``lps-eval metrics`` lists them all."""

from __future__ import annotations

import numpy as np
from click.testing import CliRunner

import lps_eval
from lps_eval.metrics import metric_specs
from lps_eval.scoring import available_metrics
from lps_eval.simulations import metric_world

ON_REQUEST = {"infomec", "dci_es", "probe_ladder"}


def test_slow_metrics_are_on_request_and_cheap_ones_default():
    specs = metric_specs()
    assert {name for name, spec in specs.items() if not spec.default} == ON_REQUEST
    sections = available_metrics()
    for name in ON_REQUEST:
        assert not set(specs[name].rows) & set(sections["supervised"])
        assert sections[name] == specs[name].rows  # selectable on its own
    for name in ("med", "mi_gaps", "z_diff", "z_min_var", "z_max_var"):
        assert set(specs[name].rows) <= set(sections["supervised"])


def test_selecting_an_on_request_metric_by_row_runs_it():
    a = metric_world("identity", 300, 10)
    table = lps_eval.score(a["z"], factors=a["factors"], metrics=["infom", "med"])
    overall = table[table.scope == "overall"]
    assert set(overall.metric) == {"infom", "med", "med_topk"}  # "med" names the section
    assert "infomec" in table.attrs["options"]


def test_default_supervised_section_leaves_them_out():
    a = metric_world("identity", 300, 10)
    table = lps_eval.score(a["z"], factors=a["factors"], metrics=["supervised"])
    names = set(table.metric)
    assert {"z_diff", "dmig", "med"} <= names
    assert not names & {"infom", "dci_es_explicitness", "probe_linear"}


def test_cli_lists_every_metric():
    from lps_eval.cli import main

    out = CliRunner().invoke(main, ["metrics"]).output
    for name in ("z_diff", "dmig", "infom", "dci_es_explicitness", "med_topk", "clusterability"):
        assert name in out
    assert np.all([line.count(":") == 1 for line in out.strip().splitlines()])
