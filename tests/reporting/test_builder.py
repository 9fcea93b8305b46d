"""report(): one self-contained HTML file, its figures, gates, trainer run directories, CLI."""

from __future__ import annotations

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
