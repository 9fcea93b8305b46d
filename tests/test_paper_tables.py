"""experiments/paper_tables.py: the verdict rule, the linear decoder, the page, a tiny grid."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load():
    sys.path.insert(0, str(ROOT / "experiments"))
    spec = importlib.util.spec_from_file_location(
        "paper_tables", ROOT / "experiments" / "paper_tables.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pt = _load()


def _table(a, b, column="lps_lgbm", world="xy"):
    rows = [{"world": world, "model": "ae_mmd", column: v} for v in a]
    rows += [{"world": world, "model": "beta_vae", column: v} for v in b]
    return pd.DataFrame(rows)


def test_separation_needs_every_seed_on_one_side():
    lower = "lower"
    got = pt.separation(
        _table([0.1, 0.2], [0.3, 0.5]), "xy", "ae_mmd", "beta_vae", "lps_lgbm", lower
    )
    assert got[0] == "supported"
    got = pt.separation(
        _table([0.4, 0.6], [0.1, 0.3]), "xy", "ae_mmd", "beta_vae", "lps_lgbm", lower
    )
    assert got[0] == "not supported (reversed)"
    got = pt.separation(
        _table([0.1, 0.4], [0.3, 0.5]), "xy", "ae_mmd", "beta_vae", "lps_lgbm", lower
    )
    assert got[0] == "not testable at this budget" and "overlap" in got[1]
    got = pt.separation(_table([0.1], [0.3, 0.5]), "xy", "ae_mmd", "beta_vae", "lps_lgbm", lower)
    assert got[0] == "not testable at this budget" and "seeds" in got[1]
    # "higher is better" flips the direction
    got = pt.separation(
        _table([0.5, 0.6], [0.1, 0.2], "mig"), "xy", "ae_mmd", "beta_vae", "mig", "higher"
    )
    assert got[0] == "supported"


def test_lps_values_all_at_the_null_level_are_not_ordered():
    """Separated seeds at LPS <= 0 are the estimator's bias, not a verdict; one seed above
    0 (something was predicted) brings the separation rule back."""
    lower = "lower"
    got = pt.separation(
        _table([-0.02, -0.01], [-0.04, -0.03]), "xy", "ae_mmd", "beta_vae", "lps_lgbm", lower
    )
    assert got[0] == "no difference to see: both at the null level" and "<= 0" in got[1]
    got = pt.separation(
        _table([-0.02, -0.01], [0.04, 0.08]), "xy", "ae_mmd", "beta_vae", "lps_lgbm", lower
    )
    assert got[0] == "supported"
    # the rule is about LPS only: a negative MMD^2 estimate still orders
    got = pt.separation(
        _table([-0.02, -0.01], [-0.004, -0.003], "mmd2_gaussian"),
        "xy", "ae_mmd", "beta_vae", "mmd2_gaussian", lower,
    )  # fmt: skip
    assert got[0] == "supported"


def test_linear_decoder_nmse_known_answers():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(400, 3))
    exact = (z @ rng.normal(size=(3, 16)) + 5.0).reshape(400, 4, 4)
    assert pt.linear_decoder_nmse(z, exact) < -100  # a linear image: recovered to round-off
    noise = rng.random((400, 4, 4))
    # codes unrelated to the pixels: the best linear map is the mean image,
    # NMSE = 10 log10(var / E[x^2]) = 10 log10((1/12) / (1/3)) = -6.02 dB for U(0, 1)
    assert pt.linear_decoder_nmse(z, noise) == pytest.approx(-6.02, abs=0.4)


def test_hybrid_prior_takes_the_first_d_marginals():
    assert pt.hybrid_prior(2) == "hybrid(uniform(-5, 5); gaussian(0, 2))"
    from lps_eval.prior_matching import parse_prior

    for d in (3, 4, 5):
        assert parse_prior(pt.hybrid_prior(d)).sample(10, d, np.random.default_rng(0)).shape == (
            10,
            d,
        )


def test_unknown_world_or_model_is_refused():
    with pytest.raises(SystemExit):
        pt.parse(["--worlds", "xyz"])


def test_tiny_grid_end_to_end(tmp_path):
    """Two seeds of AE and AE + MMD on XY for a few steps, the copying runs, the page."""
    pytest.importorskip("torch")
    page, csv = tmp_path / "page.md", tmp_path / "t.csv"
    args = ["--worlds", "xy", "--models", "ae,ae_mmd", "--seeds", "0-1", "--steps", "4",
            "--scheduler", "serial", "--out", str(tmp_path / "runs"), "--page", str(page),
            "--csv", str(csv)]  # fmt: skip
    assert pt.main(args) == 0
    table = pd.read_csv(csv)
    assert set(table.model) == {"ae", "ae_mmd", "ae_mmd_copy"} and len(table) == 6
    assert table[list(pt.COLUMNS)].notna().all().all()
    text = page.read_text()
    for heading in ("## Our numbers", "## The claims", "## Latent space copying", "### xy (d = 2)"):
        assert heading in text
    assert "AE + MMD codes are more independent" in text and "CPU hours" in text
    # resumable: a second call trains nothing and rescoring reads the cache
    before = {p: p.stat().st_mtime for p in (tmp_path / "runs").glob("*/paper_scores.json")}
    assert pt.main(args) == 0
    assert {p: p.stat().st_mtime for p in before} == before
