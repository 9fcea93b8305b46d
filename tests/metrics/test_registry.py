"""The registry's on-request flag: default metrics run in ``supervised``, the others only
by name, and ``lps-eval metrics`` lists them all."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import lps_eval
from lps_eval.metrics import metric_specs
from lps_eval.scoring import available_metrics
from lps_eval.simulations import metric_world

ON_REQUEST = {
    "infomec",
    "dci_es",
    "probe_ladder",
    "downstream",
    "fairness",
    "reduced_downstream",
    "strong_downstream",
}


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


#: The new metrics whose value should not move when each latent is rescaled and shifted
#: (a*z + b, a > 0): they standardize, bin over the range, or compare variance ratios.
#: Z-diff is left out on purpose: its L2-penalized logistic regression sees the scale; and
#: Z-min-var / Z-max-var prune latents by their absolute std (0.05), so the scales here
#: keep every latent above it (a latent scaled by 0.01 would be pruned: by design).
AFFINE_INVARIANT = {
    "mi_gaps": 1e-9,
    "med": 1e-9,
    "z_min_var": 1e-9,
    "z_max_var": 1e-9,
    "dci_es": 1e-6,
    "probe_ladder": 0.02,  # the MLPs see standardized latents, up to rounding in training
}


#: InfoMEC prunes latents whose range is below 1/20 of the *largest* range: rescaling one
#: latent can switch the others off (a pitfall of the reference, kept); a common scale and
#: per-latent shifts leave it unchanged.
COMMON_SCALE_INVARIANT = {"infomec": 1e-4}  # InfoE: an lbfgs fit on standardized latents


@pytest.mark.parametrize("common", [False, True])
def test_rescaling_latents_leaves_the_new_metrics_unchanged(common):
    import warnings

    a = metric_world("mixed", 600, 300)
    scale = np.full(4, 30.0) if common else np.array([3.0, 0.5, 50.0, 1.0])
    shift = np.array([-2.0, 7.0, 0.0, 1e3])
    moved = {**a, "z": a["z"] * scale + shift, "z_test": a["z_test"] * scale + shift}
    specs = metric_specs()
    expected = {**AFFINE_INVARIANT, **(COMMON_SCALE_INVARIANT if common else {})}
    for name, tol in expected.items():
        split = "uses_test_split" in specs[name].properties
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            args = [
                dict(d) if split else {"z": d["z"], "factors": d["factors"]} for d in (a, moved)
            ]
            extra = {"max_iter": 100} if name == "probe_ladder" else {}
            base, got = (specs[name].function(**x, **extra).to_frame() for x in args)
        np.testing.assert_allclose(got.value, base.value, atol=tol, err_msg=name)
