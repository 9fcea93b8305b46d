"""compare(): difference rows, pairing, the summary view, run directories and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import lps_eval
from lps_eval import LpsInputError
from lps_eval.cli import main
from lps_eval.scoring import format_summary, summarize

FAST = {"predictor": "knn", "n_boot": 60, "mmd": {"permutations": 20}, "metrics": ["lps", "mmd"]}


def independent(n=1500, d=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


def dependent(base, strength=0.8):
    out = base.copy()
    out[:, 1] = strength * base[:, 0] + np.sqrt(1 - strength**2) * base[:, 1]
    return out


@pytest.fixture(scope="module")
def pair_table():
    a = independent()
    return lps_eval.compare({"a": a, "b": dependent(a)}, **FAST)


def diff_row(table, metric, model="b - a"):
    rows = table[(table["scope"] == "difference") & (table["metric"] == metric)]
    return rows[rows["model"] == model].iloc[0]


def test_table_has_every_model_and_difference_rows(pair_table):
    assert list(pair_table.columns[:9]) == ["model", *lps_eval.results.TIDY_COLUMNS]
    assert set(pair_table.loc[pair_table.scope != "difference", "model"]) == {"a", "b"}
    diffs = pair_table[pair_table.scope == "difference"]
    assert set(diffs.metric) == {"lps", "lps_linear", "mmd"}
    assert (diffs.model == "b - a").all()
    assert (pair_table.pairing == "paired").all()
    assert pair_table.attrs["pairing"] == "paired" and pair_table.attrs["baseline"] == "a"


def test_difference_value_is_the_difference_of_the_table_values(pair_table):
    for metric in ("lps", "lps_linear", "mmd"):
        overall = pair_table[(pair_table.scope == "overall") & (pair_table.metric == metric)]
        values = overall.set_index("model")["value"]
        assert diff_row(pair_table, metric)["value"] == pytest.approx(values["b"] - values["a"])


def test_known_dependence_gives_an_interval_excluding_zero(pair_table):
    # population linear R2 of dims 0 and 1 is 0.64 each -> LPS difference 0.32 (d = 4)
    row = diff_row(pair_table, "lps_linear")
    assert row.ci_low > 0.2 and row.ci_low <= row.value <= row.ci_high
    assert row.value == pytest.approx(0.32, abs=0.05)
    assert row.p_value == pytest.approx(1 / 61)  # smallest possible with 60 resamples


def test_identical_models_differ_by_exactly_zero():
    a = independent(seed=3)
    table = lps_eval.compare({"a": a, "a2": a.copy(), "scaled": 3.0 * a - 1.0}, **FAST)
    for model, metric, tol in (
        ("a2 - a", "lps", 0.0),
        ("a2 - a", "lps_linear", 0.0),
        ("scaled - a", "lps_linear", 1e-12),  # paired split + affine invariance
        ("scaled - a", "lps", 1e-9),  # knn on standardized inputs: rounding only
    ):
        row = diff_row(table, metric, model)
        assert abs(row.value) <= tol
        assert row.ci_low <= tol and row.ci_high >= -tol
    same = diff_row(table, "mmd", "a2 - a")
    assert same.value == 0.0 and same.p_value == 1.0


def test_swapping_the_baseline_negates_the_differences():
    a = independent(seed=4)
    models = {"a": a, "b": dependent(a)}
    one = lps_eval.compare(models, **FAST)
    two = lps_eval.compare(models, baseline="b", **FAST)
    for metric in ("lps", "lps_linear", "mmd"):
        fwd, back = diff_row(one, metric), diff_row(two, metric, "a - b")
        assert back.value == pytest.approx(-fwd.value)
        assert back.ci_low == pytest.approx(-fwd.ci_high)
        assert back.ci_high == pytest.approx(-fwd.ci_low)


def test_model_order_does_not_change_a_models_rows():
    a = independent(seed=5)
    b = dependent(a)
    one = lps_eval.compare({"a": a, "b": b}, **FAST)
    two = lps_eval.compare({"b": b, "a": a}, baseline="a", **FAST)
    cols = ["metric", "scope", "dim", "value", "ci_low", "ci_high"]
    for model in ("a", "b"):
        x = one[one.model == model][cols].reset_index(drop=True)
        y = two[two.model == model][cols].reset_index(drop=True)
        pd.testing.assert_frame_equal(x, y)


def test_different_sizes_are_unpaired_and_paired_refuses_them():
    a = independent(seed=6)
    table = lps_eval.compare({"a": a, "b": dependent(a)[:1000]}, **FAST)
    assert table.attrs["pairing"] == "unpaired" and (table.pairing == "unpaired").all()
    assert diff_row(table, "lps_linear").ci_low > 0.2
    with pytest.raises(LpsInputError, match="same number of rows"):
        lps_eval.compare({"a": a, "b": a[:1000]}, pairing="paired", **FAST)


def test_pairing_narrows_the_interval_of_correlated_models():
    # two encodings of the same inputs with nearly the same dependence: their per-row
    # errors move together, so the paired difference is far more precise
    rng = np.random.default_rng(7)
    a = dependent(independent(n=2000, seed=7), 0.7)
    b = a + 0.1 * rng.normal(size=a.shape)
    paired = diff_row(lps_eval.compare({"a": a, "b": b}, **FAST), "lps_linear")
    unpaired = diff_row(
        lps_eval.compare({"a": a, "b": b}, pairing="unpaired", **FAST), "lps_linear"
    )
    assert paired.ci_high - paired.ci_low < 0.5 * (unpaired.ci_high - unpaired.ci_low)


def test_bad_inputs_refused():
    a = independent()
    with pytest.raises(LpsInputError, match="baseline"):
        lps_eval.compare({"a": a}, baseline="zzz", **FAST)
    with pytest.raises(LpsInputError, match=r"lps\.split"):
        lps_eval.compare({"a": a}, lps={"split": ([0], [1])}, **FAST)
    with pytest.raises(LpsInputError, match="at least one"):
        lps_eval.compare({}, **FAST)


def test_summary_marks_the_best_and_formats(pair_table):
    summary = summarize(pair_table)
    assert list(summary.index) == ["a", "b"]
    assert summary.attrs["best"]["lps"] == "a" and summary.attrs["best"]["mmd"] == "a"
    md = format_summary(summary, "markdown")
    lines = md.splitlines()
    assert lines[0].startswith("| model | lps ↓") and len(lines) == 4
    assert f"**{summary.at['a', 'lps']:.3f}**" in lines[2]
    tex = format_summary(summary, "latex")
    assert tex.startswith(r"\begin{tabular}") and r"\textbf{" in tex and "lps\\_linear" in tex


def test_run_directory_and_latents_npz(tmp_path):
    a = independent(n=800)
    run = tmp_path / "run1"
    run.mkdir()
    factors = (a[:, :2] > 0).astype(int)
    np.savez(run / "latents.npz", z=a, index=np.arange(800), factors=factors)
    (run / "config.json").write_text(json.dumps({"prior": "uniform(-2, 2)"}))
    table = lps_eval.compare([run, run / "latents.npz"], **FAST)  # same run twice
    assert table.attrs["models"] == [str(run), str(run / "latents.npz")]  # stems collide
    settings = table.attrs["settings"]
    priors = {s["prior"] for s in settings.values()}
    assert priors == {"uniform(-2, 2)"}  # each model scored against its own prior
    forced = lps_eval.compare({"r": run}, prior="gaussian", **FAST)
    assert forced.attrs["settings"]["r"]["prior"] == "gaussian"


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def files(tmp_path):
    a = independent(n=1000, seed=8)
    for name, z in (("a", a), ("b", dependent(a)), ("c", a[:, ::-1].copy())):
        np.save(tmp_path / f"{name}.npy", z)
    return tmp_path


CLI_FAST = [
    "--predictor",
    "knn",
    "--n-boot",
    "30",
    "-O",
    "mmd.permutations=10",
    "--metrics",
    "lps,mmd",
]


def test_cli_compare_glob_and_formats(files):
    result = cli("compare", str(files / "*.npy"), *CLI_FAST, "--no-config")
    assert result.exit_code == 0, result.output
    assert "differences (paired)" in result.stdout and "b - a" in result.stdout
    md = cli("compare", files / "a.npy", files / "b.npy", *CLI_FAST, "--format", "markdown")
    assert md.stdout.startswith("| model |") and "| b - a | lps |" in md.stdout
    tex = cli("compare", files / "a.npy", files / "b.npy", *CLI_FAST, "--format", "latex")
    assert tex.stdout.startswith(r"\begin{tabular}")
    js = cli(
        "compare",
        files / "a.npy",
        files / "b.npy",
        *CLI_FAST,
        "--format",
        "json",
        "--names",
        "x,y",
        "--baseline",
        "y",
    )
    payload = json.loads(js.stdout)
    assert {r["model"] for r in payload["results"] if r["scope"] == "difference"} == {"x - y"}
    assert payload["best"]["lps"] == "x"
    csv = cli("compare", files / "a.npy", files / "b.npy", *CLI_FAST, "--format", "csv")
    assert csv.stdout.splitlines()[0].startswith("model,metric,scope")


def test_cli_compare_gate_and_errors(files):
    failed = cli("compare", files / "a.npy", files / "b.npy", *CLI_FAST, "--fail-if", "lps > 0.2")
    assert failed.exit_code == 1
    assert "gate failed: [b] lps.value" in failed.stderr and "[a]" not in failed.stderr
    passed = cli("compare", files / "a.npy", files / "c.npy", *CLI_FAST, "--fail-if", "lps > 0.2")
    assert passed.exit_code == 0 and "gate passed: 2 check(s)" in passed.stderr
    missing = cli("compare", str(files / "nothing*.npy"), *CLI_FAST)
    assert missing.exit_code == 2 and "matches no file or directory" in missing.stderr
    names = cli("compare", files / "a.npy", files / "b.npy", *CLI_FAST, "--names", "x")
    assert names.exit_code == 2 and "1 name(s) given for 2 model(s)" in names.stderr


def test_single_model_rows_equal_score():
    z = dependent(independent(n=900, seed=9))
    one = lps_eval.compare({"only": z}, **FAST)
    score_options = {k: v for k, v in FAST.items() if k != "n_boot"}
    alone = lps_eval.score(z, **score_options, lps={"n_boot": FAST["n_boot"]})
    assert one.attrs["pairing"] == "none" and (one.scope != "difference").all()
    cols = ["metric", "scope", "dim", "value", "ci_low", "ci_high", "p_value"]
    pd.testing.assert_frame_equal(
        one[cols].reset_index(drop=True), alone[cols].reset_index(drop=True)
    )


# ------------------------------------------------------------------ on the sweep engine

COMPARE_FAST = {
    "lps": {"max_samples": 400},
    "mmd": {"permutations": 20, "max_samples": 400},
    "independence": {"permutations": 20, "max_samples": 400},
    "n_boot": 30,
    "mmd_boot_rows": 300,
}


def _grid_files(folder):
    paths = []
    base = independent(n=500, seed=21)
    for i in range(3):
        z = base.copy()
        z[:, 1] += 0.4 * i * z[:, 0]  # the same rows, more and more dependence
        path = folder / f"m{i}.npy"
        np.save(path, z)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_compare_on_a_cluster_equals_serial_exactly(tmp_path, dask_client):
    paths = _grid_files(tmp_path)
    serial = lps_eval.compare([str(p) for p in paths], **COMPARE_FAST)
    clustered = lps_eval.compare([str(p) for p in paths], scheduler=dask_client, **COMPARE_FAST)
    pd.testing.assert_frame_equal(serial, clustered, check_exact=True)
    assert serial.attrs["pairing"] == "paired"
    diffs = serial[serial["scope"] == "difference"]
    assert set(diffs["model"]) == {"m1 - m0", "m2 - m0"}
    assert diffs[["ci_low", "ci_high", "p_value"]].notna().all().all()  # never silently NaN


def test_compare_cache_rerun_scores_nothing(tmp_path):
    paths = _grid_files(tmp_path)
    cache = tmp_path / "cache"
    first = lps_eval.compare([str(p) for p in paths], cache=cache, **COMPARE_FAST)
    assert first.attrs["n_cached"] == 0 and len(list(cache.glob("*.json"))) == 3
    again = lps_eval.compare([str(p) for p in paths], cache=cache, **COMPARE_FAST)
    assert again.attrs["n_cached"] == 3
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    np.save(paths[2], independent(n=500, seed=99))  # one model changes: only it is rescored
    changed = lps_eval.compare([str(p) for p in paths], cache=cache, **COMPARE_FAST)
    assert changed.attrs["n_cached"] == 2


def test_a_failing_model_is_a_row_and_the_others_compare(tmp_path):
    paths = _grid_files(tmp_path)
    broken = tmp_path / "broken.npy"
    broken.write_bytes(b"not an array")
    table = lps_eval.compare([str(paths[0]), str(broken), str(paths[1])], **COMPARE_FAST)
    bad = table[table["model"] == "broken"]
    assert len(bad) == 1 and bad["status"].iloc[0] == "error"
    assert "broken.npy" in bad["error"].iloc[0]
    assert (table.loc[table["model"] != "broken", "status"] == "ok").all()
    diffs = table[table["scope"] == "difference"]
    assert set(diffs["model"]) == {"m1 - m0"}  # no difference row for the broken model


def test_mmd_difference_interval_comes_from_the_result_it_resamples(tmp_path):
    """The replicates use the MMD result's own kernel: a renamed settings key can no
    longer turn every interval into NaN (0.2.1 rebuilt the kernel from describe())."""
    paths = _grid_files(tmp_path)
    table = lps_eval.compare([str(p) for p in paths], metrics=["mmd"], **COMPARE_FAST)
    row = table[(table["scope"] == "difference") & (table["metric"] == "mmd")].iloc[-1]
    assert np.isfinite([row.ci_low, row.ci_high, row.p_value]).all()
    assert row.ci_low <= row.value <= row.ci_high


def test_cli_compare_scheduler_and_cache(tmp_path):
    paths = _grid_files(tmp_path)
    args = ["compare", *map(str, paths), "--no-config", "--format", "csv", "--n-boot", "20",
            "-O", "lps.max_samples=300", "-O", "mmd.permutations=10", "-O",
            "independence.permutations=10", "--cache", str(tmp_path / "c")]  # fmt: skip
    serial = CliRunner().invoke(main, args)
    assert serial.exit_code == 0, serial.output
    cached = CliRunner().invoke(main, [*args, "--scheduler", "processes:2"])
    assert cached.exit_code == 0, cached.output
    assert cached.stdout == serial.stdout  # from the cache, identical
    fresh = [*args[:-1], str(tmp_path / "c2"), "--scheduler", "local:2"]  # a new cache
    clustered = CliRunner().invoke(main, fresh)
    assert clustered.exit_code == 0, clustered.output
    assert clustered.stdout == serial.stdout  # scored on a 2-process LocalCluster


def test_udr_rows_equal_the_metric_on_the_same_codes():
    """UDR is a metric of the set of models: compare adds one row per model (and the pair
    rows) equal to lps_eval.metrics.udr on the same codes, in model order."""
    from lps_eval.metrics import udr

    rng = np.random.default_rng(3)
    s = rng.normal(size=(400, 3))
    codes = {"a": s, "b": s[:, ::-1] * 2.0, "c": rng.normal(size=(400, 3))}
    table = lps_eval.compare(codes, metrics=["udr", "lps"], predictor="linear", n_boot=0)
    rows = table[table.metric == "udr"].set_index("model")["value"]
    expected = udr(list(codes.values()), names=list(codes)).model_scores
    np.testing.assert_allclose(rows.loc[list(codes)].to_numpy(), expected)
    assert rows["a"] > rows["c"] and rows["b"] > rows["c"]  # the permuted copy agrees
    assert {"lps", "udr_pairwise"} <= set(table.metric)


def test_udr_needs_two_models_and_its_metric():
    z = np.random.default_rng(0).normal(size=(200, 3))
    with pytest.raises(LpsInputError, match="2\\+ models"):
        lps_eval.compare({"a": z}, metrics=["udr"], predictor="linear", n_boot=0)
    with pytest.raises(LpsInputError, match="'udr' is not in metrics"):
        lps_eval.compare({"a": z, "b": z}, metrics=["lps"], udr={"correlation": "spearman"})
