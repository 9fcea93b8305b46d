"""The CLI contract: data on stdout, exit codes 0/1/2, one-line errors, gates, config."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lps_eval.cli import main
from lps_eval.simulations import nonlinear_pair

FAST = ["--metrics", "lps", "--n-boot", "20"]


@pytest.fixture
def latents(tmp_path):
    z, _ = nonlinear_pair(1_200, seed=0)
    path = tmp_path / "z.npy"
    np.save(path, z.astype(np.float32))
    return path


def run(*args, cwd=None):
    runner = CliRunner()
    return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_table_output(latents):
    result = run("score", latents, *FAST, "--predictor", "linear")
    assert result.exit_code == 0
    assert "lps" in result.stdout and "per dimension" in result.stdout
    assert "Traceback" not in result.output


def test_json_output_contract(latents):
    result = run("score", latents, *FAST, "--format", "json", "--fail-if", "lps > 0.9")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)  # stdout is pure data
    assert set(payload) == {"results", "settings", "versions", "gate"}
    first = payload["results"][0]
    assert list(first)[:8] == [
        "metric",
        "scope",
        "dim",
        "factor",
        "value",
        "ci_low",
        "ci_high",
        "p_value",
    ]
    assert first["dim"] is None and first["p_value"] is None  # NaN becomes null
    assert payload["settings"]["seed"] == 0
    assert "numpy" in payload["versions"]
    assert payload["gate"]["passed"] is True


def test_csv_output_round_trips(latents):
    result = run("score", latents, *FAST, "--format", "csv")
    assert result.exit_code == 0
    from io import StringIO

    frame = pd.read_csv(StringIO(result.stdout))
    assert list(frame.columns[:8]) == [
        "metric",
        "scope",
        "dim",
        "factor",
        "value",
        "ci_low",
        "ci_high",
        "p_value",
    ]
    assert (frame.metric == "lps").any()


def test_gate_failure_exits_1_with_unrounded_value(latents):
    result = run("score", latents, *FAST, "--fail-if", "lps > 0.01", "--fail-if", "lps < -5")
    assert result.exit_code == 1
    table = run("score", latents, *FAST, "--format", "json")
    value = next(
        r["value"]
        for r in json.loads(table.stdout)["results"]
        if r["metric"] == "lps" and r["scope"] == "overall"
    )
    assert f"lps.value = {value!r} (fails if > 0.01): failed" in result.stderr
    assert "lps < -5" not in result.stderr


def test_gate_from_pyproject(latents, tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.lps-eval]\nfail-if = ["lps > 0.01"]\n')
    monkeypatch.chdir(tmp_path)
    assert run("score", latents, *FAST).exit_code == 1
    assert run("score", latents, *FAST, "--no-config").exit_code == 0
    assert run("score", latents, *FAST, "--fail-if", "lps > 0.99").exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["score", "missing.npy"], "file not found"),
        (["score", "{latents}", "--fail-if", "lps >> 1"], "malformed gate"),
        (["score", "{latents}", "--metrics", "nope"], "unknown metric"),
        (["score", "{latents}", "--predictor", "nope"], "unknown predictor"),
        (["score", "{latents}", "--fail-if", "sap > 1", *FAST], "does not compute"),
        (["score", "{latents}", "-O", "bogus"], "KEY=VALUE"),
        (["score", "{latents}", "-O", "bogus=1"], "unknown option"),
        (["score", "{bad}"], "NaN"),
        (["score", "{latents}", "-P", "bogus=1", *FAST], "has no option 'bogus'; valid options"),
        (["score", "{one_dim}", "--metrics", "lps"], "at least 2"),
    ],
)
def test_input_errors_exit_2_with_one_line(latents, tmp_path, args, message):
    bad = tmp_path / "bad.npy"
    np.save(bad, np.array([[1.0, np.nan], [2.0, 3.0]] * 20))
    one_dim = tmp_path / "one.npy"
    np.save(one_dim, np.random.default_rng(0).normal(size=(100, 1)))
    filled = [a.format(latents=latents, bad=bad, one_dim=one_dim) for a in args]
    result = run(*filled)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_usage_error_exits_2():
    assert run("score").exit_code == 2
    assert run("score", "x.npy", "--format", "xml").exit_code == 2


def test_demo_runs_on_builtin_data(tmp_path):
    result = run("demo", "--out", tmp_path / "demo", "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)["results"]
    lps_value = next(r["value"] for r in rows if r["metric"] == "lps" and r["scope"] == "overall")
    linear = next(
        r["value"] for r in rows if r["metric"] == "lps_linear" and r["scope"] == "overall"
    )
    assert abs(linear) < 0.05 < lps_value  # PCA codes: uncorrelated, yet dependent
    assert (tmp_path / "demo" / "digits_pca_latents.npy").exists()


def test_metrics_lists_sections():
    result = run("metrics")
    assert result.exit_code == 0 and "lps:" in result.stdout


def test_console_script_entry_point(latents):
    """The installed ``lps-eval`` script (not ``python -m``): the entry point is declared
    and the executable pip wrote next to this interpreter runs it."""
    from importlib.metadata import entry_points
    from pathlib import Path

    (entry,) = [e for e in entry_points(group="console_scripts") if e.name == "lps-eval"]
    assert entry.value == "lps_eval.cli:main"
    script = Path(sys.executable).parent / "lps-eval"
    if not script.exists():
        pytest.skip(f"lps-eval is not installed next to {sys.executable}")
    done = subprocess.run(
        [str(script), "score", str(latents), *FAST, "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)


def test_predictor_params_reach_the_predictor(latents):
    result = run("score", latents, *FAST, "-P", "max_iter=7", "--format", "json")
    assert result.exit_code == 0
    assert (
        json.loads(result.stdout)["settings"]["settings"]["lps"]["predictor_params"]["max_iter"]
        == 7
    )
