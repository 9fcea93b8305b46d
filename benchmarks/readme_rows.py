"""The measurements behind each row of the README table (run by ``readme_table.py``).

Every function takes ``repeats``, ``quick`` (small sizes that check the code path, never
the README's figures) and ``tmp`` (a folder for files), runs its sides in turn with
:func:`timing.alternate`, and returns CSV records (:func:`_record`): one per side of each
README row it fills. :data:`META` holds what each README row says and how it is rendered.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits
from timing import Elapsed, alternate, measure, peak_rss_of_command, summary

HERE = Path(__file__).resolve().parent
DLIB_PYTHON = os.environ.get("LPS_EVAL_DLIB_PYTHON", "/tmp/dlib-venv/bin/python")
NAN = float("nan")
RUN = "python benchmarks/readme_table.py --rows "

#: README row -> (order, kind, what, what it found, command); kinds as in speed_table.py.
#: "what" names the sizes ({n}, {d}, ...), "what it found" the results (shown once measured).
META: dict[str, tuple[int, str, str, str, str]] = {
    "lps_linear": (10, "speedup", "linear LPS, {n:,} x {d} float32, bare statistic (5-fold "
                   "cross-fit) vs a loop of {d} `LinearRegression` (one 75/25 split)", "",
                   RUN + "lps_linear"),
    "lps_linear_default": (11, "cost", "linear LPS default (interval, closed-form null, "
                           "structure) vs its bare statistic, same data", "", RUN + "lps_linear"),
    "lps_nonlinear_lightgbm": (20, "speedup", "nonlinear LPS at equal N, {n:,} x {d}, one "
                               "75/25 split: `lightgbm` (shared binning, early stopping as "
                               "shipped) vs the paper's loop of `LGBMRegressor` (defaults)",
                               " (LPS within {gap:.4f})", RUN + "lps_nonlinear"),
    "lps_nonlinear_hgb": (21, "speedup", "same, `hgb` (the default predictor), one 75/25 "
                          "split (`--test-size 0.25`)", " (LPS within {gap:.4f})",
                          RUN + "lps_nonlinear"),
    "lps_default_vs_paper": (22, "speedup", "**default LPS** at equal N ({n:,} x {d}: `hgb`, "
                             "5-fold cross-fit, interval, shuffled null, `max_samples=None`) "
                             "vs the paper's single-split loop", "", RUN + "lps_nonlinear"),
    "score_cli": (40, "budget", "`lps-eval score` defaults, {n:,} x {d} float32 (LPS hgb "
                  "5-fold + linear, MMD test, independence), whole process", "",
                  RUN + "score_cli"),
    "report": (50, "cost", "`lps_eval.report` vs `score`, {n:,} x {d}, defaults (figures + "
               "learning curve)", "", RUN + "report"),
    "memory_2e6x32": (60, "budget", "peak memory of default `lps-eval score`, {n:,} x {d} "
                      "float32 (`.npy` of {file_mib:,.0f} MiB, memory-mapped)", "",
                      RUN + "memory_2e6x32"),
    "memory_2e7x64": (61, "budget", "peak memory of default `lps-eval score`, {n:,} x {d} "
                      "float32 (`.npy` of {file_mib:,.0f} MiB, memory-mapped)", "",
                      RUN + "memory_2e7x64"),
    "sweep": (70, "speedup", "sweep of {models} models of {n:,} x {d}, defaults: 2 Dask "
              "worker processes vs 1", " (identical tables: {identical})", RUN + "sweep"),
    "torch_predictor": (80, "speedup", "nonlinear LPS fits, batched torch predictor vs a loop "
                        "of `MLPRegressor`, {n:,} x {d}, CPU",
                        " (mean R2 {r2_ours:.3f} vs {r2_peer:.3f})", RUN + "torch_predictor"),
    "mmd_exact": (90, "speedup", "exact MMD^2 (unbiased, 3 RBF widths), N = {n:,}, d = {d}: "
                  "chunked vs full kernel matrices", "", RUN + "mmd_exact"),
    "mmd_exact_memory": (91, "speedup", "same, peak traced memory (tracemalloc)", "",
                         RUN + "mmd_exact"),
    "mmd_permutations": (92, "cost", "MMD permutation test, 200 permutations vs one "
                         "statistic, N = {n:,}, d = {d} (200 recomputations would cost 201x)",
                         "", RUN + "mmd_permutations"),
    "dci_dlib": (100, "speedup", "DCI, {n:,} x 10 latents, 5 factors, the same work (no "
                 "interval, `n_boot=0`): fast probe vs disentanglement_lib's GradientBoosting "
                 "probe", " (D {ours:.3f} vs {peer:.3f})", RUN + "metrics_dlib"),
    "mig_dlib": (101, "speedup", "MIG, same data, the same work (`n_boot=0`), vs "
                 "disentanglement_lib's code", " (value {ours:.4f} vs {peer:.4f})",
                 RUN + "metrics_dlib"),
    "dci_default": (102, "cost", "DCI default (with its bootstrap interval) vs its bare "
                    "statistic, same data", "", RUN + "metrics_dlib"),
    "mig_default": (103, "cost", "MIG default (with its 200-replicate bootstrap interval) vs "
                    "its bare statistic, same data", "", RUN + "metrics_dlib"),
}  # fmt: skip
#: The sizes of a full run, shown for rows not measured yet.
PLANNED: dict[str, dict[str, Any]] = {
    "lps_linear": {"n": 200_000, "d": 64},
    "lps_nonlinear_lightgbm": {"n": 50_000, "d": 32},
    "lps_default_vs_paper": {"n": 50_000, "d": 32},
    "score_cli": {"n": 50_000, "d": 32},
    "report": {"n": 50_000, "d": 32},
    "memory_2e6x32": {"n": 2_000_000, "d": 32, "file_mib": 2e6 * 32 * 4 / 2**20},
    "memory_2e7x64": {"n": 20_000_000, "d": 64, "file_mib": 2e7 * 64 * 4 / 2**20},
    "sweep": {"models": 12, "n": 10_000, "d": 10},
    "torch_predictor": {"n": 20_000, "d": 16},
    "mmd_exact": {"n": 10_000, "d": 16},
    "mmd_permutations": {"n": 10_000, "d": 16},
    "dci_dlib": {"n": 10_000},
}


def _record(
    row: str,
    side: str,
    role: str,
    setting: str,
    values,
    *,
    unit: str = "s",
    chosen: bool = True,
    budget: float = NAN,
    value: Any = NAN,
    value_name: str = "",
    note: str = "",
    fill: dict | None = None,
) -> dict:
    """One CSV line: a side of a README row with its runs' summary."""
    order, kind, what, found, command = META[row]
    if fill is None:  # not measured: the planned sizes, no results
        what = what.format(**PLANNED.get(row, {}))
    else:
        what = what.format(**fill) + (found.format(**fill) if found else "")
    figures = summary(values) if len(values) else {"median": NAN, "min": NAN, "max": NAN}
    return {
        "row": row,
        "order": order,
        "kind": kind,
        "what": what,
        "side": side,
        "role": role,
        "chosen": chosen,
        "setting": setting,
        "unit": unit,
        **figures,
        "budget": budget,
        "value": value,
        "value_name": value_name,
        "command": command,
        "note": note,
    }


def _peers(row: str, seconds: dict, names: dict[str, str], values: dict, **kw) -> list[dict]:
    """Records of a peer measured at several settings; the fastest median is ``chosen``."""
    medians = {k: float(np.median(seconds[k])) for k in names}
    best = min(medians, key=medians.get)
    return [
        _record(
            row, k, "peer", setting, seconds[k], chosen=k == best, value=values.get(k, NAN), **kw
        )
        for k, setting in names.items()
    ]


# ----------------------------------------------------------------------------- LPS


def lps_linear(*, repeats: int, quick: bool, tmp: Path) -> list[dict]:
    """Closed-form linear LPS vs a loop of d LinearRegression fits (BLAS default / 1 thread)."""
    from bench_lps import loop_of_linear_regressions

    from lps_eval.predictability import lps, r2_per_column
    from lps_eval.simulations import gaussian_with_covariance

    n, d = (20_000, 16) if quick else (200_000, 64)
    rng = np.random.default_rng(0)
    a = rng.normal(size=(d, d))
    z = gaussian_with_covariance(a @ a.T / d + 0.1 * np.eye(d), n, seed=0).astype(np.float32)
    train, test = z[n // 4 :], z[: n // 4]
    bare = {"n_boot": 0, "null": False, "structure": False}

    def loop(threads):
        with threadpool_limits(limits=threads, user_api="blas"):
            return float(r2_per_column(test, loop_of_linear_regressions(train, test)).mean())

    sides = {
        "ours_bare": lambda: lps(z, predictor="linear", max_samples=None, **bare).value,
        "ours_default": lambda: lps(z, predictor="linear", max_samples=None).value,
        "loop_default": lambda: loop(None),
        "loop_1": lambda: loop(1),
    }
    seconds, values = alternate(sides, repeats=repeats, warmup=["ours_bare", "ours_default"])
    fill = {"n": n, "d": d}
    return [
        _record(
            "lps_linear",
            "ours_bare",
            "ours",
            "5-fold, no interval/null/structure",
            seconds["ours_bare"],
            value=values["ours_bare"],
            value_name="lps",
            fill=fill,
        ),
        *_peers(
            "lps_linear",
            seconds,
            {"loop_default": "BLAS default threads", "loop_1": "1 BLAS thread"},
            values,
            value_name="mean R2",
            fill=fill,
        ),
        _record(
            "lps_linear_default",
            "ours_default",
            "ours",
            "lps(z, predictor='linear', max_samples=None)",
            seconds["ours_default"],
            value=values["ours_default"],
            value_name="lps",
            fill=fill,
        ),
        _record(
            "lps_linear_default",
            "ours_bare",
            "baseline",
            "bare statistic",
            seconds["ours_bare"],
            value=values["ours_bare"],
            value_name="lps",
            fill=fill,
        ),
    ]


def _nonlinear_sides(z: np.ndarray) -> dict:
    from bench_lps import paper_loop
    from lightgbm import LGBMRegressor

    from lps_eval.predictability import lps, r2_per_column

    n = z.shape[0]
    train, test = z[n // 4 :], z[: n // 4]
    single = {
        "max_samples": None,
        "test_size": 0.25,
        "n_boot": 0,
        "null": False,
        "structure": False,
    }

    def loop(n_jobs):  # the paper's LPS-lgbm: one LGBMRegressor per dimension
        if n_jobs is None:  # the library's own default thread count
            d = z.shape[1]
            pred = np.empty_like(test)
            for i in range(d):
                others = np.delete(np.arange(d), i)
                model = LGBMRegressor(verbose=-1).fit(train[:, others], train[:, i])
                pred[:, i] = model.predict(test[:, others])
        else:
            pred = paper_loop(train, test, n_jobs=n_jobs)
        return float(r2_per_column(test, pred).mean())

    return {
        "paper_default": lambda: loop(None),
        "paper_1": lambda: loop(1),
        "ours_lightgbm": lambda: lps(z, predictor="lightgbm", **single).value,
        "ours_hgb": lambda: lps(z, predictor="hgb", **single).value,
        "ours_default": lambda: lps(z, max_samples=None).value,
        "ours_shipped": lambda: lps(z).value,
    }


def lps_nonlinear(*, repeats: int, quick: bool, tmp: Path) -> list[dict]:
    """Nonlinear LPS (lightgbm, hgb, the default) vs the paper's LGBMRegressor loop."""
    from bench_lps import nonlinear_latents

    n, d = (5_000, 8) if quick else (50_000, 32)
    z = nonlinear_latents(n, d, seed=0)
    sides = _nonlinear_sides(z)
    warm = _nonlinear_sides(z[:2000])  # imports and thread pools, uncounted
    for name in ("ours_lightgbm", "ours_hgb", "paper_1"):
        warm[name]()
    seconds, values = alternate(sides, repeats=repeats)
    peers = {"paper_default": "library default threads", "paper_1": "n_jobs=1 per model"}
    records = []
    for row, ours, setting in (
        ("lps_nonlinear_lightgbm", "ours_lightgbm", "lps(predictor='lightgbm', test_size=0.25)"),
        ("lps_nonlinear_hgb", "ours_hgb", "lps(predictor='hgb', test_size=0.25)"),
        ("lps_default_vs_paper", "ours_default", "lps(z, max_samples=None)"),
    ):
        gap = abs(values[ours] - values["paper_1"])
        fill = {"n": n, "d": d, "gap": gap}
        records.append(
            _record(
                row,
                ours,
                "ours",
                setting,
                seconds[ours],
                value=values[ours],
                value_name="lps",
                note=f"|LPS - paper loop| = {gap:.4f}",
                fill=fill,
            )
        )
        records += _peers(row, seconds, peers, values, value_name="lps", fill=fill)
    records.append(
        _record(
            "lps_default_vs_paper",
            "ours_shipped",
            "info",
            "lps(z) as shipped (max_samples=10,000)",
            seconds["ours_shipped"],
            value=values["ours_shipped"],
            value_name="lps",
            fill=fill,
        )
    )
    return records


# ------------------------------------------------------------------- score and report


def _score_latents(n: int, d: int) -> np.ndarray:
    from bench_score import latents

    return latents(n, d)


def score_cli(*, repeats: int, quick: bool, tmp: Path) -> list[dict]:
    """Wall time of the whole ``lps-eval score`` process, default settings (budget 30 s)."""
    n, d = (5_000, 8) if quick else (50_000, 32)
    with tempfile.TemporaryDirectory(dir=tmp) as folder:
        path = Path(folder) / "z.npy"
        np.save(path, _score_latents(n, d))
        command = [
            sys.executable,
            "-m",
            "lps_eval.cli",
            "score",
            str(path),
            "--format",
            "json",
            "--no-config",
        ]

        def run():
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(done.stderr[-2000:])
            return _overall(json.loads(done.stdout), "lps")

        seconds, values = alternate({"ours": run}, repeats=repeats)
    return [
        _record(
            "score_cli",
            "ours",
            "ours",
            "lps-eval score FILE --format json",
            seconds["ours"],
            budget=30.0,
            value=values["ours"],
            value_name="lps",
            fill={"n": n, "d": d},
        )
    ]


def _overall(payload: dict, metric: str) -> float:
    rows = [r for r in payload["results"] if r["metric"] == metric and r["scope"] == "overall"]
    return float(rows[0]["value"]) if rows else NAN


def report_vs_score(*, repeats: int, quick: bool, tmp: Path) -> list[dict]:
    """``lps_eval.report`` vs ``lps_eval.score`` on the same input (budget 1.5x)."""
    import lps_eval

    n, d = (5_000, 8) if quick else (50_000, 32)
    z = _score_latents(n, d)
    with tempfile.TemporaryDirectory(dir=tmp) as folder:
        out = Path(folder) / "report.html"
        sides = {
            "score": lambda: float(lps_eval.score(z).query("scope == 'overall'").value.iloc[0]),
            "report": lambda: len(lps_eval.report({"bench": z}, out).figures),
        }
        lps_eval.score(z[:2000], metrics=["lps"], lps={"n_boot": 10})  # warm imports
        seconds, values = alternate(sides, repeats=repeats)
    fill = {"n": n, "d": d}
    return [
        _record(
            "report",
            "report",
            "ours",
            "report({'bench': z}, path)",
            seconds["report"],
            budget=1.5,
            value=values["report"],
            value_name="figures",
            fill=fill,
        ),
        _record("report", "score", "baseline", "score(z)", seconds["score"], fill=fill),
    ]


# ------------------------------------------------------------------------ memory


def _memory_row(row: str, n: int, d: int, budget: float, *, repeats: int, tmp: Path) -> dict:
    """Peak RSS of ``lps-eval score FILE --format json`` in a fresh process, ``repeats`` runs."""
    from bench_memory import write_latents

    path = Path(tmp) / f"lps_eval_readme_{n}x{d}.npy"
    peaks, seconds, value = [], [], NAN
    try:
        write_latents(path, n, d)
        command = [
            sys.executable,
            "-m",
            "lps_eval.cli",
            "score",
            str(path),
            "--format",
            "json",
            "--no-config",
        ]
        for _ in range(repeats):
            peak, sec, out = peak_rss_of_command(command)
            peaks.append(peak)
            seconds.append(sec)
            value = _overall(json.loads(out), "lps")
            print(f"  {row}: {peak:,.0f} MiB in {sec:.0f} s", flush=True)
    finally:
        path.unlink(missing_ok=True)
    file_mib = n * d * 4 / 2**20
    times = "; ".join(f"{s:.0f}" for s in seconds)
    return _record(
        row,
        "ours",
        "ours",
        "lps-eval score FILE --format json",
        peaks,
        unit="MiB",
        budget=budget,
        value=value,
        value_name="lps",
        note=f"seconds: {times}",
        fill={"n": n, "d": d, "file_mib": file_mib},
    )


def memory_2e6x32(*, repeats: int, quick: bool, tmp: Path) -> list[dict]:
    """Peak RSS of default score on a 2e6 x 32 float32 .npy (budget 3 x file + 500 MiB)."""
    n, d = (200_000, 32) if quick else (2_000_000, 32)
    budget = 3 * n * d * 4 / 2**20 + 500
    return [_memory_row("memory_2e6x32", n, d, budget, repeats=repeats, tmp=tmp)]


def memory_2e7x64(*, repeats: int, quick: bool, tmp: Path) -> list[dict]:
    """Peak RSS of default score on a 2e7 x 64 float32 .npy (4.8 GiB; target 1.5 GiB)."""
    n, d = (1_000_000, 32) if quick else (20_000_000, 64)
    return [_memory_row("memory_2e7x64", n, d, 1536.0, repeats=repeats, tmp=tmp)]


# --------------------------------------------------------------- sweep and torch


def sweep(*, repeats: int, quick: bool, tmp: Path) -> list[dict]:
    """A sweep of models on 2 Dask worker processes vs 1 (the tables must be identical)."""
    from bench_sweep import write_models
    from distributed import Client, LocalCluster

    import lps_eval

    models, n, d = (4, 2_000, 6) if quick else (12, 10_000, 10)
    clients, tables = {}, {}
    with tempfile.TemporaryDirectory(dir=tmp) as folder:
        pattern = write_models(Path(folder), models, n, d)
        try:
            for workers in (1, 2):  # started before timing: start-up is not the sweep
                cluster = LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
                clients[workers] = Client(cluster)

            def run(workers):
                tables[workers] = lps_eval.score_many(pattern, scheduler=clients[workers])
                return int((tables[workers]["status"] != "ok").sum())

            sides = {"workers_2": lambda: run(2), "workers_1": lambda: run(1)}
            seconds, failed = alternate(sides, repeats=repeats)
        finally:
            for client in clients.values():
                cluster = client.cluster
                client.close()
                cluster.close()
    identical = bool(tables[1].equals(tables[2]))
    fill = {"models": models, "n": n, "d": d, "identical": "yes" if identical else "**no**"}
    return [
        _record(
            "sweep",
            "workers_2",
            "ours",
            "2 single-threaded workers",
            seconds["workers_2"],
            value=failed["workers_2"],
            value_name="failed models",
            fill=fill,
        ),
        _record(
            "sweep",
            "workers_1",
            "peer",
            "1 worker",
            seconds["workers_1"],
            value=failed["workers_1"],
            value_name="failed models",
            fill=fill,
        ),
    ]


def torch_predictor(*, repeats: int, quick: bool, tmp: Path) -> list[dict]:
    """Batched torch predictor vs a loop of MLPRegressor fits (BLAS default / 1 thread)."""
    from bench_torch_predictor import make_data, run_sklearn_loop, run_torch

    n, d = (1_000, 6) if quick else (20_000, 16)
    z = make_data(n, d, 0)
    perm = np.random.default_rng(1).permutation(n)
    n_test = round(0.2 * n)
    train, test = z[perm[n_test:]], z[perm[:n_test]]
    mu, sd = train.mean(axis=0), train.std(axis=0)
    train, test = (train - mu) / sd, (test - mu) / sd

    def r2(pred):
        return float((1 - ((pred - test) ** 2).sum(0) / ((test - test.mean(0)) ** 2).sum(0)).mean())

    def loop(threads):
        with threadpool_limits(limits=threads):
            pred, seconds, _ = run_sklearn_loop(train, test, seed=0)
        return Elapsed(seconds, r2(pred))

    def ours():
        pred, seconds, _, _ = run_torch(train, test, seed=0, device="cpu")
        return Elapsed(seconds, r2(pred))

    sides = {"ours": ours, "loop_default": lambda: loop(None), "loop_1": lambda: loop(1)}
    seconds, values = alternate(sides, repeats=repeats, warmup=["ours"])
    fill = {"n": n, "d": d, "r2_ours": values["ours"], "r2_peer": values["loop_1"]}
    return [
        _record(
            "torch_predictor",
            "ours",
            "ours",
            "TorchBatchedPredictor, torch default threads",
            seconds["ours"],
            value=values["ours"],
            value_name="mean R2",
            fill=fill,
        ),
        *_peers(
            "torch_predictor",
            seconds,
            {"loop_default": "BLAS default threads", "loop_1": "1 BLAS thread"},
            values,
            value_name="mean R2",
            fill=fill,
        ),
    ]


# ---------------------------------------------------------------------------- MMD


def mmd_exact(*, repeats: int, quick: bool, tmp: Path) -> list[dict]:
    """Exact unbiased MMD^2: the chunked engine vs three full N x N kernel matrices."""
    from bench_mmd import naive_unbiased

    from lps_eval.prior_matching import mmd2
    from lps_eval.prior_matching.kernels import median_pairwise_distance

    n, d = (2_000, 16) if quick else (10_000, 16)
    rng = np.random.default_rng(n)
    x, y = rng.normal(size=(n, d)) + 0.02, rng.normal(size=(n, d))
    width = median_pairwise_distance(np.vstack([x, y]), rng=0)
    scales = (0.5 * width, width, 2 * width)
    peaks: dict[str, list[float]] = {"ours": [], "naive_default": [], "naive_1": []}

    def traced(name, fn):
        def side():
            value, seconds, peak = measure(fn)
            peaks[name].append(peak)
            return Elapsed(seconds, float(value))

        return side

    def naive(threads):
        with threadpool_limits(limits=threads, user_api="blas"):
            return naive_unbiased(x, y, scales)

    sides = {
        "ours": traced("ours", lambda: mmd2(x, y, bandwidth=width, estimator="unbiased")),
        "naive_default": traced("naive_default", lambda: naive(None)),
        "naive_1": traced("naive_1", lambda: naive(1)),
    }
    seconds, values = alternate(sides, repeats=repeats)
    fill = {"n": n, "d": d}
    names = {"naive_default": "numpy, BLAS default threads", "naive_1": "numpy, 1 BLAS thread"}
    records = [
        _record(
            "mmd_exact",
            "ours",
            "ours",
            "lps_eval.prior_matching.mmd2",
            seconds["ours"],
            value=values["ours"],
            value_name="mmd2",
            fill=fill,
        )
    ]
    records += _peers("mmd_exact", seconds, names, values, value_name="mmd2", fill=fill)
    records.append(
        _record(
            "mmd_exact_memory",
            "ours",
            "ours",
            "lps_eval.prior_matching.mmd2",
            peaks["ours"][-repeats:],
            unit="MiB",
            fill=fill,
        )
    )
    best = min(names, key=lambda k: np.median(seconds[k]))
    records.append(
        _record(
            "mmd_exact_memory",
            best,
            "peer",
            "three N x N float64 matrices",
            peaks[best][-repeats:],
            unit="MiB",
            fill=fill,
        )
    )
    return records


def mmd_permutations(*, repeats: int, quick: bool, tmp: Path) -> list[dict]:
    """Permutation test (200 permutations) vs one statistic: both share one kernel pass."""
    from lps_eval.prior_matching import permutation_test
    from lps_eval.prior_matching.kernels import make_kernel

    n, d = (2_000, 16) if quick else (10_000, 16)
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    kern = make_kernel("rbf_multiscale", pooled=np.vstack([x, y]), rng=0)
    sides = {
        "permutations": lambda: permutation_test(x, y, kern, permutations=200, rng=1)[1],
        "statistic": lambda: permutation_test(x, y, kern, permutations=0)[0],
    }
    seconds, values = alternate(sides, repeats=repeats)
    fill = {"n": n, "d": d}
    return [
        _record(
            "mmd_permutations",
            "permutations",
            "ours",
            "statistic + 200 permutations",
            seconds["permutations"],
            budget=3.0,
            value=values["permutations"],
            value_name="p_value",
            fill=fill,
        ),
        _record(
            "mmd_permutations",
            "statistic",
            "baseline",
            "one statistic",
            seconds["statistic"],
            value=values["statistic"],
            value_name="mmd2",
            fill=fill,
        ),
    ]


# ------------------------------------------------------------------------ metrics


def _dlib_metric(data_path: Path, name: str) -> Elapsed:
    """One disentanglement_lib metric in its own environment; the metric's own seconds."""
    runner = HERE.parent / "tools" / "dlib" / "runner.py"
    done = subprocess.run(
        [DLIB_PYTHON, str(runner), str(data_path), name],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"disentanglement_lib {name} failed: {done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])[name]
    return Elapsed(out["seconds"], out["value"])


def metrics_vs_dlib(*, repeats: int, quick: bool, tmp: Path) -> list[dict]:
    """DCI (fast probe) and MIG vs disentanglement_lib 1.5's code on the same arrays, at
    the same work (no interval: disentanglement_lib computes none), and what the default
    interval adds."""
    from lps_eval import metrics
    from lps_eval.simulations import dsprites_like

    n_train, n_test = (2_000, 1_000) if quick else (10_000, 5_000)
    data = dsprites_like(n_train, n_test)
    fill = {"n": n_train}
    if not Path(DLIB_PYTHON).exists():
        note = f"{DLIB_PYTHON} missing (see tools/dlib/make_golden.py)"
        return [
            _record(row, "ours", "ours", "", [], note=note, fill={**fill, "ours": NAN, "peer": NAN})
            for row in ("dci_dlib", "mig_dlib")
        ]
    calls = {
        "dci": lambda **options: metrics.dci(**data, **options),
        "mig": lambda **options: metrics.mig(data["z"], data["factors"], **options),
    }
    names = tuple(calls)

    def ours(metric, **options):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(calls[metric](**options).value)

    with tempfile.TemporaryDirectory(dir=tmp) as folder:
        path = Path(folder) / "bench.npz"
        np.savez(path, **data)
        sides = {}
        for metric in names:
            sides[f"{metric}_bare"] = lambda m=metric: ours(m, n_boot=0)
            sides[f"{metric}_default"] = lambda m=metric: ours(m)
            sides[f"{metric}_dlib"] = lambda m=metric: _dlib_metric(path, m)
        seconds, values = alternate(sides, repeats=repeats, warmup=["mig_bare"])
    records = []
    for metric in names:
        pair = {**fill, "ours": values[f"{metric}_bare"], "peer": values[f"{metric}_dlib"]}
        bare = (f"{metric}_bare", seconds[f"{metric}_bare"])
        records += [
            _record(f"{metric}_dlib", bare[0], "ours", f"lps_eval.metrics.{metric}(..., "
                    "n_boot=0)", bare[1], value=pair["ours"], fill=pair),
            _record(f"{metric}_dlib", f"{metric}_dlib", "peer",
                    "disentanglement_lib 1.5 (single-threaded)", seconds[f"{metric}_dlib"],
                    value=pair["peer"], fill=pair),
            _record(f"{metric}_default", f"{metric}_default", "ours",
                    f"lps_eval.metrics.{metric} defaults", seconds[f"{metric}_default"],
                    value=values[f"{metric}_default"], fill=fill),
            _record(f"{metric}_default", bare[0], "baseline", "bare statistic", bare[1],
                    value=pair["ours"], fill=fill),
        ]  # fmt: skip
    return records
