"""report(): one self-contained HTML file, its figures, gates, trainer run directories, CLI."""

from __future__ import annotations

import html
import json
import re

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

pytest.importorskip("matplotlib")

import lps_eval
from lps_eval.cli import main

FAST = {
    "n_boot": 30,
    "predictor": "knn",
    "mmd": {"permutations": 10},
    "independence": {"permutations": 10},
}


def make_run(path, seed, *, prior="gaussian", n=900):
    rng = np.random.default_rng(seed)
    factors = np.column_stack([rng.integers(0, 3, n), rng.integers(0, 4, n)])
    z = np.column_stack([factors + 0.3 * rng.normal(size=(n, 2)), rng.normal(size=(n, 2))])
    path.mkdir(parents=True)
    np.savez(
        path / "latents.npz",
        z=z.astype(np.float32),
        index=np.arange(n),
        factors=factors,
        factor_names=np.array(["shape", "scale"]),
    )
    (path / "config.json").write_text(json.dumps({"prior": prior, "objective": "mmd"}))
    steps = np.arange(50)
    pd.DataFrame(
        {
            "step": steps,
            "loss": 1 / (1 + steps),
            "recon": 0.8 / (1 + steps),
            "reg": 0.01 + 0 * steps,
            "seconds": 0.01,
        }
    ).to_csv(path / "history.csv", index=False)
    return path


def images(text):
    return re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)


def test_run_directories_give_every_figure(tmp_path):
    runs = [make_run(tmp_path / f"runs/seed{s}", s) for s in (0, 1)]
    out = tmp_path / "out" / "report.html"
    result = lps_eval.report(runs, out, fail_if=["lps > 0.99"], **FAST)
    text = out.read_text()
    assert result.path == out and result.passed
    titles = [t for t, _ in images(text)]
    per_model = [
        "Marginals against the prior",
        "Per-dimension R2",
        "Predictability structure",
        "LPS learning curve",
        "DCI importance",
        "MIG mutual information",
        "Training curves",
    ]
    assert titles == ["Differences against the baseline", *per_model, *per_model]
    assert result.figures == [titles[0]] + [
        f"{m}: {t}" for m in ("seed0", "seed1") for t in per_model
    ]
    for _, data in images(text):
        assert len(data) > 1000
    assert text.count("<figcaption>") == 15
    for needle in ("<script", "http://", "https://", "@import", "<link"):
        assert needle not in text
    assert "@media print" in text and "Quality gates" in text and "seed0" in text
    assert set(result.curves) == {"seed0", "seed1"}
    assert ("LPS converged in N" in text) or ("LPS NOT converged in N" in text)


def test_single_array_report_without_curve(tmp_path):
    z = np.random.default_rng(0).normal(size=(600, 3))
    result = lps_eval.report(z, tmp_path / "one.html", curve=False, **FAST)
    text = result.path.read_text()
    assert "Summary" not in text and "learning curve" not in [t.lower() for t, _ in images(text)]
    assert [t for t, _ in images(text)] == [
        "Marginals against the prior",
        "Per-dimension R2",
        "Predictability structure",
    ]
    assert result.gates is None and result.curves == {}


def test_cli_report_gate_failure_still_writes(tmp_path):
    make_run(tmp_path / "runs/a", 0)
    make_run(tmp_path / "runs/b", 1)
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        main,
        [
            "report",
            str(tmp_path / "runs/*"),
            "-o",
            str(out),
            "--n-boot",
            "30",
            "--predictor",
            "knn",
            "-O",
            "permutations=10",
            "--no-curve",
            "--fail-if",
            "lps < 5",
            "--no-config",
        ],
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert result.stdout.strip() == str(out) and out.is_file()
    assert "gate failed: [a] lps.value" in result.stderr
    assert "FAILED" in out.read_text()
    bad = CliRunner().invoke(main, ["report", str(tmp_path / "missing.npy"), "--no-config"])
    assert bad.exit_code == 2 and "file not found" in bad.stderr


# --- every verdict the report prints must be true (issue 17) ------------------------

from lps_eval.simulations import (  # noqa: E402
    gaussian_latents,
    paired_linear_latents,
    slow_dependence_latents,
)

KNOWN = {"predictor": "knn", "mmd": {"permutations": 20}, "independence": {"permutations": 10}}


def sections(text):
    """Each model's section as plain text (tags dropped), keyed by model name."""
    out = {}
    for part in text.split('<section class="model"')[1:]:
        name = re.search(r"<h2>Model: ([^<]+)</h2>", part).group(1)
        out[name] = html.unescape(re.sub(r"<[^>]+>", "", part.split("</section>")[0]))
    return out


@pytest.fixture(scope="module")
def known_report(tmp_path_factory):
    models = {
        "independent": gaussian_latents(3000, 6, seed=2),
        "strong": paired_linear_latents(20_000, 6, r2=0.5, seed=3)[0],
        "slow": slow_dependence_latents(4000, seed=3),
    }
    path = tmp_path_factory.mktemp("known") / "known.html"
    return lps_eval.report(models, path, **KNOWN)


def test_independent_world_is_never_called_unconverged(known_report):
    text = sections(known_report.path.read_text())["independent"]
    assert "No dependence detected at any N (LPS converged in N at the null level):" in text
    assert "NOT converged" not in text
    assert "Not a proof of independence" in text
    assert "No cell above the null in: What the knn predictor relies on; Linear" in text
    assert "No pair above the null" in text
    assert known_report.verdicts["independent"].state == "null"
    assert not known_report.importance["independent"].above_null.any()


def test_strong_world_at_large_n_converged_with_its_pairs_marked(known_report):
    text = sections(known_report.path.read_text())["strong"]
    assert "LPS converged in N: dependence detected" in text
    assert "No cell above the null" not in text and "No pair above the null" not in text
    imp = known_report.importance["strong"]
    pairs = {(0, 1), (1, 0), (2, 3), (3, 2), (4, 5), (5, 4)}
    for mask in (imp.above_null, imp.linear_above_null):
        cells = zip(*np.nonzero(mask), strict=True)
        assert {(int(imp.dims[a]), int(imp.dims[b])) for a, b in cells} == pairs


def test_dependence_small_n_cannot_learn_is_not_converged(known_report):
    text = sections(known_report.path.read_text())["slow"]
    assert "LPS NOT converged in N: still rising: dependence detected" in text
    assert known_report.verdicts["slow"].state == "rising"


def test_curves_are_about_the_reported_lps(known_report):
    """Every target dimension, and the last point agrees with the reported LPS."""
    text = known_report.path.read_text()
    assert text.count("The curve is about the reported number") == 3
    assert "does not agree" not in text
    for name, curve in known_report.curves.items():
        assert curve.attrs["target_dims"] == list(range(6 if name != "slow" else 4)), name
        assert curve["null"].notna().all()
    summary = html.unescape(re.sub(r"<[^>]+>", " ", text.split('id="summary"')[1]))
    for word in ("yes (at the null level)", "yes", "no: still rising"):
        assert word in summary


def test_curve_subset_is_compared_with_the_same_dimensions(tmp_path):
    z = paired_linear_latents(3000, 6, r2=0.5, seed=4)[0]
    result = lps_eval.report(z, tmp_path / "sub.html", curve_dims=2, **KNOWN)
    text = html.unescape(result.path.read_text())
    targets = result.curves["model0"].attrs["target_dims"]
    rows = result.table[(result.table.metric == "lps") & (result.table.scope == "dim")]
    mean = rows.set_index(rows["dim"].astype(int)).loc[targets, "value"].mean()
    assert f"mean reported R2 of the curve's 2 target dimensions, {mean:.4f}" in text


def test_mmd_p_values_get_holm_from_the_table_or_computed(tmp_path, monkeypatch):
    from lps_eval.reporting import builder

    tidy = pd.DataFrame(
        {
            "metric": ["mmd"] * 3,
            "scope": ["dim"] * 3,
            "dim": [2, 0, 1],
            "p_value": [0.04, 0.01, 0.5],
        }
    )
    raw, holm = builder._mmd_p_values(tidy, 3)
    np.testing.assert_allclose(raw, [0.01, 0.5, 0.04])
    np.testing.assert_allclose(holm, [0.03, 0.5, 0.08])
    tidy["p_value_holm"] = [0.9, 0.8, 0.7]  # the mmd branch's column wins when present
    np.testing.assert_allclose(builder._mmd_p_values(tidy, 3)[1], [0.8, 0.7, 0.9])
