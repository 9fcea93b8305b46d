"""Gate expressions: a tiny grammar, parsed never evaluated; NaN never passes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lps_eval import LpsInputError
from lps_eval.results import make_row, tidy_frame
from lps_eval.scoring.gate import check_gates, load_config, parse_gate

TABLE = tidy_frame(
    [
        make_row("lps", 0.25, ci_low=0.2, ci_high=0.3),
        make_row("lps", 0.9, scope="dim", dim=0),
        make_row("mmd", 0.01, p_value=0.004),
        make_row("mig", math.nan),
    ]
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lps > 0.2", ("lps", "value", ">", 0.2)),
        ("  mmd.p_value<0.01 ", ("mmd", "p_value", "<", 0.01)),
        ("lps.ci_high >= 1e-1", ("lps", "ci_high", ">=", 0.1)),
        ("dci_disentanglement <= -.5", ("dci_disentanglement", "value", "<=", -0.5)),
    ],
)
def test_parse_valid(text, expected):
    gate = parse_gate(text)
    assert (gate.metric, gate.column, gate.op, gate.threshold) == expected


@pytest.mark.parametrize(
    "text",
    [
        "lps >> 0.2",
        "lps > ",
        "> 0.2",
        "lps == 0.2",
        "lps > 0.2; import os",
        "__import__('os')",
        "lps.bogus > 1",
        "lps > 0.2 or True",
        "LPS > 1",
    ],
)
def test_parse_malformed(text):
    with pytest.raises(LpsInputError):
        parse_gate(text)


@given(st.text(max_size=40))
def test_arbitrary_text_either_parses_to_the_grammar_or_raises(text):
    try:
        gate = parse_gate(text)
    except LpsInputError:
        return
    assert gate.op in ("<", "<=", ">", ">=") and math.isfinite(gate.threshold)


def test_check_fails_when_comparison_true_and_keeps_unrounded_value():
    (fail,) = check_gates(TABLE, [parse_gate("lps > 0.2")])
    assert fail.failed and fail.value == 0.25 and "0.25" in fail.reason
    (ok,) = check_gates(TABLE, [parse_gate("lps > 0.3")])
    assert not ok.failed
    (p,) = check_gates(TABLE, [parse_gate("mmd.p_value < 0.01")])
    assert p.failed and p.value == 0.004


def test_nan_never_passes():
    (outcome,) = check_gates(TABLE, [parse_gate("mig < 0.1")])
    assert outcome.failed and "NaN" in outcome.reason


def test_unknown_metric_is_an_input_error():
    with pytest.raises(LpsInputError, match="not computed"):
        check_gates(TABLE, [parse_gate("sap > 0.1")])


def test_config_from_pyproject(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.lps-eval]\nfail-if = ["lps > 0.2"]\nprior = "uniform"\n')
    assert load_config(path) == {"fail-if": ["lps > 0.2"], "prior": "uniform"}
    path.write_text("[tool.lps-eval]\nfail-if = 3\n")
    with pytest.raises(LpsInputError, match="list of strings"):
        load_config(path)
    path.write_text("not toml [")
    with pytest.raises(LpsInputError, match="could not read"):
        load_config(path)
    assert load_config(None) == {}
