"""Every option value is checked when options are parsed, before any work
(lps_eval.scoring.option_rules through resolve_options)."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

import lps_eval
from lps_eval import LpsInputError
from lps_eval.cli import main
from lps_eval.scoring import namespace_defaults
from lps_eval.scoring.namespaces import resolve_options
from lps_eval.scoring.option_rules import RULES, check_option

BAD = [
    ("mmd.block", -5, "integer >= 1"),  # 0.2.1: MMD -1.671, p = 1, exit 0
    ("mmd.block", 0, "integer >= 1"),  # 0.2.1: "unexpected ValueError"
    ("mmd.kernel", "rbff", "did you mean 'rbf'"),
    ("mmd.estimator", "unbiassed", "did you mean 'unbiased'"),
    ("mmd.permutations", -1, "0 skips the test"),
    ("mmd.bandwidth", -0.5, "finite number > 0"),
    ("mmd.per_dim", "yes", "true or false"),
    ("lps.confidence", 1, r"in \(0, 1\)"),
    ("lps.n_boot", 2.5, "integer"),
    ("lps.folds", 1, r"in \[2, 100\]"),
    ("lps.null_method", "shuffled", "did you mean 'shuffle'"),
    ("independence.n_bins", 0, r"in \[2, 1000\]"),
    ("mig.n_bins", 1, r"in \[2, 1000\]"),
    ("dci.num_train", 0, "integer >= 1"),
    ("sap.C", 0.0, "finite number > 0"),
    ("irs.diff_quantile", 1.5, r"in \(0, 1\)"),
]


@pytest.mark.parametrize(("option", "value", "message"), BAD)
def test_a_bad_value_is_refused_when_parsed(option, value, message):
    with pytest.raises(LpsInputError, match=f"{option.replace('.', '[.]')}.*{message}"):
        resolve_options({option: value}, namespace_defaults())


def test_every_default_is_a_value_its_own_rule_accepts():
    """A rule stricter than a default would refuse every run that leaves it alone."""
    for namespace, defaults in namespace_defaults().items():
        for key, default in defaults.items():
            check_option(namespace, key, default, default)


def test_rules_name_options_that_exist():
    spaces = namespace_defaults()
    every_key = {k for defaults in spaces.values() for k in defaults}
    every_key |= {f"{ns}.{k}" for ns, defaults in spaces.items() for k in defaults}
    assert set(RULES) <= every_key | {"predictor_params"}, set(RULES) - every_key


def test_score_refuses_before_any_section_runs(monkeypatch):
    import lps_eval.scoring.sections as sections

    def no_work(*args, **kwargs):
        raise AssertionError("a section ran before the options were checked")

    monkeypatch.setattr(sections, "lps", no_work)
    z = np.random.default_rng(0).normal(size=(300, 3))
    with pytest.raises(LpsInputError, match=r"mmd\.block"):
        lps_eval.score(z, **{"mmd.block": -5})


def test_cli_refuses_before_reading_the_file(tmp_path):
    result = CliRunner().invoke(
        main, ["score", str(tmp_path / "missing.npy"), "-O", "mmd.block=-5", "--no-config"]
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: mmd.block must be an integer >= 1, got -5"
