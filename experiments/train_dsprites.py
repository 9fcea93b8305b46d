"""Reproduce the direction of the paper's Table 7 on procedural dSprites (d = 5).

Trains, with one architecture and the trainer's CPU preset (batch 64, width 16, hidden
128, 3000 Adam steps at lr 5e-4, one torch thread): AE + MMD (Gaussian prior), beta-VAE
(beta = 4), VAE (beta = 1), plain AE, and optionally AE + MMD with a per-dimension
hybrid prior, over several training seeds; then scores every model with the toolkit.

Stages::

    python experiments/train_dsprites.py train --seeds 0-4   # grid into runs/dsprites_cpu/
    python experiments/train_dsprites.py summary             # mean +- std, LPS-vs-steps curve
    python experiments/train_dsprites.py score --seed 0      # full toolkit scoring of seed 0
    python experiments/train_dsprites.py hybrid --seed 0     # hybrid-prior marginals

``train`` runs the grid seed-major (every model's seed 0, then seed 1, ...), so a grid
stopped early still covers every model; rerunning it skips finished runs and resumes
interrupted ones. ``train --scheduler local:2`` trains the grid on Dask workers (one
torch thread each: the same runs as serially) and scores the runs once the grid is
done. Serially, right after each run it computes the headline scores (LPS-lgbm,
LPS-hgb, LPS-linear, MMD^2 with permutation p-value, MIG, NMSE) into
``experiments/results/dsprites_cpu/<run>.json``. ``summary`` aggregates those files and
the in-training evaluations (history.csv) into
``experiments/results/dsprites_cpu_summary.csv`` and ``dsprites_cpu_curve.csv``.
Run it with ``nice -n 19``: on the 2-core machine each model takes about 4-10 minutes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

# one OpenMP/BLAS thread per process: on a shared 2-core machine oversubscription made
# tree models and convolutions 10-100x slower
for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs" / "dsprites_cpu"
RESULTS = ROOT / "experiments" / "results"

HYBRID = "hybrid(uniform(-5, 5); gaussian(0, 2); bimodal(5, 1); bimodal(10, 1); gaussian(0, 1))"

#: name -> (objective, prior used for training and scoring, extra fit options)
MODELS = {
    "ae_mmd_gaussian": ("mmd", "gaussian", {}),
    "beta_vae_4": ("kl", "gaussian", {"beta": 4.0}),
    "vae": ("kl", "gaussian", {"beta": 1.0}),
    "ae": ("ae", "gaussian", {}),
    "ae_mmd_hybrid": ("mmd", HYBRID, {}),
}

#: The paper's numbers (Fruytier et al. 2025, Table 7 and text; dSprites d = 5).
PAPER = {
    "ae_mmd_gaussian": {"lps": 0.04, "mig": 0.058, "dci_disentanglement": 0.025, "nmse_db": -17.9},
    "beta_vae_4": {"lps": 0.52, "mig": 0.529, "dci_disentanglement": 0.217, "nmse_db": -8.2},
    "vae": {"lps": 0.10},
    "ae": {"lps": 0.19},
    "ae_mmd_hybrid": {"lps": 0.105, "mig": 0.247},
}


def _quick_scores(run: Path, prior: str) -> dict:
    """Headline scores of one finished run (seconds, not minutes)."""
    import lps_eval
    from lps_eval.metrics import mig

    saved = np.load(run / "latents.npz", allow_pickle=False)
    z, factors = saved["z"].astype(np.float64), saved["factors"]
    metrics = json.loads((run / "metrics.json").read_text())
    config = json.loads((run / "config.json").read_text())
    common = {"null": False, "structure": False, "seed": 0}
    out = {
        "run": run.name,
        "seed": config["seed"],
        "steps": config["steps"],
        "preset": config["preset"],
        "n": int(z.shape[0]),
        "lps_lgbm": lps_eval.lps(
            z, predictor="lightgbm", predictor_params={"n_jobs": 1}, n_boot=0, **common
        ).value,
        "lps_hgb": lps_eval.lps(z, predictor="hgb", n_boot=0, **common).value,
        "lps_linear": lps_eval.lps(z, predictor="linear", n_boot=0, **common).value,
        "nmse_db": metrics["nmse_db"],
        "train_seconds": metrics["train_seconds"],
        "eval_seconds": metrics["eval_seconds"],
        "eval_fraction": metrics["eval_fraction"],
    }
    m = lps_eval.mmd(z, prior, permutations=200, per_dim=False, seed=0)
    out["mmd2"], out["mmd2_p"] = m.value, m.p_value
    out["mig"] = mig(z, factors, seed=0).value
    return out


def train(args: argparse.Namespace) -> None:
    from lps_eval.train import TrainingInterrupted
    from lps_eval.train.grid import parse_seeds, run_grid

    seeds = parse_seeds(args.seeds)
    runs = [
        {
            "name": f"{name}_seed{seed}",
            "objective": MODELS[name][0],
            "prior": MODELS[name][1],
            "seed": seed,
            **MODELS[name][2],
        }
        for seed in seeds
        for name in args.models
    ]
    overrides = {
        k: getattr(args, k)
        for k in ("steps", "batch_size", "width", "hidden", "eval_every")
        if getattr(args, k) is not None
    }
    common = {"dataset": "dsprites", "latent_dim": 5, "preset": args.preset, **overrides}
    out_dir = RESULTS / args.runs.name
    out_dir.mkdir(parents=True, exist_ok=True)

    def grid(specs: list[dict]) -> None:
        try:
            index = run_grid(
                specs, args.runs, common=common, progress=not args.quiet, scheduler=args.scheduler
            )
        except TrainingInterrupted as exc:  # a GridInterrupted: its message says how to go on
            import signal

            print(exc, file=sys.stderr)
            sys.exit(143 if exc.signum == signal.SIGTERM else 130)
        for name, error in zip(index["name"], index["error"], strict=True):
            if isinstance(error, str):
                print(f"[failed] {name}: {error}", file=sys.stderr, flush=True)

    def score_finished(spec: dict, t0: float) -> None:
        run = args.runs / spec["name"]
        target = out_dir / f"{spec['name']}.json"
        if (run / "metrics.json").exists() and not target.exists():
            scores = _quick_scores(run, spec["prior"])
            target.write_text(json.dumps(scores, indent=2) + "\n")
            print(
                f"[done] {spec['name']}: {time.perf_counter() - t0:.0f} s, "
                f"LPS-hgb {scores['lps_hgb']:.3f}, NMSE {scores['nmse_db']:.2f} dB",
                file=sys.stderr,
                flush=True,
            )

    if args.scheduler is not None:  # the whole grid on the workers, then score here
        t0 = time.perf_counter()
        grid(runs)
        for spec in runs:
            score_finished(spec, t0)
        return
    for spec in runs:  # one run per call, so each is scored as soon as it finishes
        t0 = time.perf_counter()
        grid([spec])
        score_finished(spec, t0)


def summary(args: argparse.Namespace) -> None:
    """Mean +- std over the seeds that finished, and the in-training LPS curve."""
    out_dir = RESULTS / args.runs.name
    rows = []
    for path in sorted(out_dir.glob("*.json")):
        rec = json.loads(path.read_text())
        rec["model"] = rec["run"].rsplit("_seed", 1)[0]
        run = args.runs / rec["run"]
        if (run / "metrics.json").exists():  # keep what the summary needs beside the scores
            # CPU time of training (robust to other jobs and to SIGSTOP pauses)
            metrics = json.loads((run / "metrics.json").read_text())
            rec["train_cpu_seconds"] = metrics.get("train_cpu_seconds", np.nan)
            path.write_text(json.dumps(rec, indent=2) + "\n")
            hist = pd.read_csv(run / "history.csv").dropna(subset=["lps_hgb"])
            hist.to_csv(out_dir / f"{rec['run']}.history.csv", index=False)
        rows.append(rec)
    if not rows:
        print(f"[summary] no scored runs in {out_dir}", file=sys.stderr)
        return
    runs = pd.DataFrame(rows)
    cols = [
        "lps_lgbm",
        "lps_hgb",
        "lps_linear",
        "mmd2",
        "mig",
        "nmse_db",
        "train_seconds",
        "eval_fraction",
    ]
    agg = runs.groupby("model")[cols].agg(["mean", "std", "count"])
    agg = agg.reindex([m for m in MODELS if m in agg.index])
    agg.columns = [f"{c}_{s}" for c, s in agg.columns]
    agg["seeds"] = runs.groupby("model")["seed"].apply(lambda s: ",".join(map(str, sorted(s))))
    agg.to_csv(RESULTS / f"{args.runs.name}_summary.csv")
    runs.to_csv(RESULTS / f"{args.runs.name}_runs.csv", index=False)
    print(agg.to_string(float_format=lambda v: f"{v:.3f}"))
    curves = []
    for rec in rows:
        # the in-training evaluations, copied from the run directory (above), so the
        # summary can be rebuilt from experiments/results alone
        hist = pd.read_csv(out_dir / f"{rec['run']}.history.csv")
        ev = hist[["step", "lps_linear", "lps_hgb", "mmd2", "nmse_db"]]
        curves.append(ev.assign(model=rec["model"], seed=rec["seed"]))
    curve = pd.concat(curves)
    table = curve.groupby(["model", "step"])[["lps_hgb", "lps_linear", "mmd2", "nmse_db"]].agg(
        ["mean", "std", "count"]
    )
    table.columns = [f"{c}_{s}" for c, s in table.columns]
    table.to_csv(RESULTS / f"{args.runs.name}_curve.csv")
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    md = _markdown(runs, curve)
    (RESULTS / f"{args.runs.name}_summary.md").write_text(md)
    print(md)


LABELS = {
    "ae_mmd_gaussian": "AE + MMD (N(0, I))",
    "beta_vae_4": "beta-VAE (beta 4)",
    "vae": "VAE (beta 1)",
    "ae": "AE",
    "ae_mmd_hybrid": "AE + MMD (hybrid prior)",
}


def _pm(values: pd.Series, digits: int = 3) -> str:
    """'mean +- std' over seeds (std with ddof 1; just the value for one seed)."""
    v = values.dropna()
    if len(v) == 0:
        return ""
    if len(v) == 1:
        return f"{v.iloc[0]:.{digits}f}"
    return f"{v.mean():.{digits}f} +- {v.std(ddof=1):.{digits}f}"


def _markdown(runs: pd.DataFrame, curve: pd.DataFrame) -> str:
    """The tables of docs/dsprites_results.md: final scores and the LPS-vs-steps curve."""
    models = [m for m in MODELS if m in set(runs["model"])]
    lines = [
        "| model | seeds | LPS-lgbm | LPS-hgb | LPS-linear | MMD^2 (unbiased) | MIG | NMSE dB "
        "| train CPU min | eval share |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m in models:
        r = runs[runs["model"] == m].sort_values("seed")
        lines.append(
            f"| {LABELS[m]} | {len(r)} ({','.join(map(str, r['seed']))}) | {_pm(r['lps_lgbm'])} "
            f"| {_pm(r['lps_hgb'])} | {_pm(r['lps_linear'])} | {_pm(r['mmd2'], 4)} "
            f"| {_pm(r['mig'])} | {_pm(r['nmse_db'], 2)} | {_pm(r['train_cpu_seconds'] / 60, 1)} "
            f"| {_pm(100 * r['eval_fraction'], 1)} % |"
        )
    steps = sorted(curve["step"].unique())
    lines += [
        "",
        "LPS-hgb on the fixed 1000-image evaluation subset during training (mean +- std "
        "over the seeds):",
        "",
        "| step | " + " | ".join(LABELS[m] for m in models) + " |",
        "| --- |" + " --- |" * len(models),
    ]
    for step in steps:
        cells = [
            _pm(curve[(curve["model"] == m) & (curve["step"] == step)]["lps_hgb"]) for m in models
        ]
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "MMD^2 to N(0, I) and NMSE (dB) on the same subset:",
        "",
        "| step | " + " | ".join(f"{LABELS[m]} MMD^2 / NMSE" for m in models) + " |",
        "| --- |" + " --- |" * len(models),
    ]
    for step in steps:
        cells = []
        for m in models:
            sel = curve[(curve["model"] == m) & (curve["step"] == step)]
            cells.append(f"{_pm(sel['mmd2'], 4)} / {_pm(sel['nmse_db'], 2)}" if len(sel) else "")
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


_COLS = ("metric", "scope", "dim", "factor", "value", "ci_low", "ci_high", "p_value")


def _rows(name: str, frame: pd.DataFrame, rename: str | None = None) -> list[dict]:
    out = []
    for rec in frame.to_dict("records"):
        row = {"model": name, **{k: rec.get(k) for k in _COLS}}
        if rename is not None:
            row["metric"] = row["metric"].replace("lps", rename, 1)
        out.append(row)
    return out


def _score_one(name: str, z: np.ndarray, factors: np.ndarray, prior: str, seed: int) -> list:
    """Tidy rows: lps_eval.score (LPS-hgb, MMD, independence, supervised when
    registered), plus LPS-lgbm (the paper's main variant) and MIG / DCI when score()
    does not run them."""
    import lps_eval

    rows = _rows(name, lps_eval.score(z, prior=prior, factors=factors, seed=seed))
    have = {r["metric"] for r in rows}
    try:
        lgbm = lps_eval.lps(
            z,
            predictor="lightgbm",
            predictor_params={"n_jobs": 1},
            seed=seed,
            null=False,
            structure=False,
        )
        rows += _rows(name, lgbm.to_frame(), rename="lps_lgbm")
    except Exception as exc:  # record, keep going
        print(f"[warn] LPS-lgbm failed for {name}: {exc!r}", file=sys.stderr)
    for metric, needed in (("mig", "mig"), ("dci", "dci_disentanglement")):
        if needed in have:
            continue
        try:
            func = getattr(importlib.import_module(f"lps_eval.metrics.{metric}"), metric)
            rows += _rows(name, func(z, factors, seed=seed).to_frame())
        except Exception as exc:
            print(f"[warn] {metric} failed for {name}: {exc!r}", file=sys.stderr)
    return rows


def score(args: argparse.Namespace) -> None:
    long_rows = []
    for name in args.models:
        run = args.runs / f"{name}_seed{args.seed}"
        if not (run / "latents.npz").exists():
            print(f"[skip] {name}: no run at {run}", file=sys.stderr)
            continue
        saved = np.load(run / "latents.npz", allow_pickle=False)
        config = json.loads((run / "config.json").read_text())
        metrics = json.loads((run / "metrics.json").read_text())
        z, factors = saved["z"].astype(np.float64), saved["factors"]
        t0 = time.perf_counter()
        rows = _score_one(name, z, factors, MODELS[name][1], args.seed)
        rows.append(
            {"model": name, "metric": "nmse_db", "scope": "overall", "value": metrics["nmse_db"]}
        )
        rows.append(
            {
                "model": name,
                "metric": "train_seconds",
                "scope": "overall",
                "value": metrics["train_seconds"],
            }
        )
        for row in rows:
            row.update(
                steps=config["steps"],
                batch_size=config["batch_size"],
                width=config["width"],
                train_seed=config["seed"],
                prior=MODELS[name][1],
            )
        long_rows += rows
        print(f"[scored] {name} in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    frame = pd.DataFrame(long_rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    frame.to_csv(RESULTS / f"{args.prefix}_scores_long.csv", index=False)
    overall = frame[frame["scope"] == "overall"]
    wide = overall.pivot_table(index="model", columns="metric", values="value", aggfunc="first")
    wide = wide.reindex([m for m in MODELS if m in wide.index])
    for model, numbers in PAPER.items():
        for metric, value in numbers.items():
            if model in wide.index:
                wide.loc[model, f"paper_{metric}"] = value
    wide.to_csv(RESULTS / f"{args.prefix}_table7.csv")
    print(wide.to_string(float_format=lambda v: f"{v:.3f}"))


QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _marginal_rows(label: str, z: np.ndarray, prior, seed: int) -> list[dict]:
    """Per-dimension comparison of latents with the requested 1-D marginals."""
    from scipy.stats import ks_2samp

    import lps_eval

    n, d = z.shape
    rows = []
    result = lps_eval.mmd(z, prior, permutations=200, seed=seed)
    rng = np.random.default_rng(seed)
    for j in range(d):
        marg = prior.marginal(j, d)
        ref = marg.sample(n, 1, rng)[:, 0]
        col = z[:, j]
        row = {
            "model": label,
            "dim": j,
            "requested": marg.spec,
            "mmd2": float(result.per_dim[j]),
            "p_value": float(result.per_dim_p_value[j]),
            "mean": col.mean(),
            "std": col.std(ddof=1),
            "prior_mean": ref.mean(),
            "prior_std": ref.std(ddof=1),
            "frac_positive": float(np.mean(col > 0)),
            "prior_frac_positive": float(np.mean(ref > 0)),
            # two-sample Kolmogorov-Smirnov distance to a prior sample, and the mass the
            # model puts in the prior's central 20% interval [q40, q60] (0.20 for a
            # perfect match; the gap of a bimodal prior lies there)
            "ks": float(ks_2samp(col, ref).statistic),
            "central20": float(
                np.mean((col > np.quantile(ref, 0.4)) & (col < np.quantile(ref, 0.6)))
            ),
        }
        for q in QUANTILES:
            row[f"q{int(q * 100):02d}"] = float(np.quantile(col, q))
            row[f"prior_q{int(q * 100):02d}"] = float(np.quantile(ref, q))
        rows.append(row)
    return rows


def _plot_marginals(args: argparse.Namespace, prior) -> None:
    """Histogram of each learned dimension over a prior sample (docs figure), if possible."""
    path = args.runs / f"ae_mmd_hybrid_seed{args.seed}" / "latents.npz"
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("[skip] figure: matplotlib is not installed", file=sys.stderr)
        return
    if not path.exists():
        return
    z = np.load(path, allow_pickle=False)["z"]
    ref = prior.sample(z.shape[0], z.shape[1], np.random.default_rng(args.seed + 2))
    fig, axes = plt.subplots(1, z.shape[1], figsize=(3.2 * z.shape[1], 2.6))
    for j, ax in enumerate(axes):
        lo = min(z[:, j].min(), ref[:, j].min())
        hi = max(z[:, j].max(), ref[:, j].max())
        bins = np.linspace(lo, hi, 60)
        ax.hist(ref[:, j], bins=bins, density=True, alpha=0.45, label="requested")
        ax.hist(z[:, j], bins=bins, density=True, histtype="step", lw=1.6, label="learned")
        ax.set_title(f"z{j}: {prior.marginal(j, z.shape[1]).spec}", fontsize=9)
        ax.set_yticks([])
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    out = ROOT / "docs" / "img" / "hybrid_marginals.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"[figure] {out}", file=sys.stderr)


def hybrid(args: argparse.Namespace) -> None:
    """Do the learned marginals match the requested hybrid prior, dimension by dimension?

    Compares the hybrid-prior model with the Gaussian-prior AE + MMD (same budget) against
    the same requested marginals, and with a fresh prior sample (the estimator's noise
    floor at this N).
    """
    from lps_eval.prior_matching import parse_prior

    prior = parse_prior(HYBRID, n_dims=5)
    rows = []
    for name in ("ae_mmd_hybrid", "ae_mmd_gaussian"):
        path = args.runs / f"{name}_seed{args.seed}" / "latents.npz"
        if path.exists():
            z = np.load(path, allow_pickle=False)["z"].astype(np.float64)
            # the eval set is sorted by dataset index (= by shape first): subsample at random
            rows_idx = np.random.default_rng(args.seed).permutation(z.shape[0])[: args.hybrid_n]
            rows += _marginal_rows(name, z[rows_idx], prior, args.seed)
    _plot_marginals(args, prior)
    floor = prior.sample(args.hybrid_n, 5, np.random.default_rng(args.seed + 1))
    rows += _marginal_rows("prior_sample", floor, prior, args.seed)
    frame = pd.DataFrame(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    frame.to_csv(RESULTS / "dsprites_hybrid_marginals.csv", index=False)
    cols = [
        "model",
        "dim",
        "requested",
        "mmd2",
        "p_value",
        "mean",
        "std",
        "prior_std",
        "frac_positive",
        "q05",
        "prior_q05",
        "q50",
        "q95",
        "prior_q95",
    ]
    print(frame[cols].to_string(float_format=lambda v: f"{v:.3f}"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=["train", "summary", "score", "hybrid"])
    parser.add_argument(
        "--models",
        nargs="+",
        default=[m for m in MODELS if m != "ae_mmd_hybrid"],
        choices=list(MODELS),
    )
    parser.add_argument("--preset", default="cpu", choices=["cpu", "paper"])
    parser.add_argument("--seeds", default="0-4", help="Training seeds of the grid.")
    parser.add_argument("--steps", type=int, default=None, help="Override the preset.")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--width", type=int, default=None)
    parser.add_argument("--hidden", type=int, default=None)
    parser.add_argument("--eval-every", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0, help="Run scored by score/hybrid.")
    parser.add_argument("--runs", type=Path, default=RUNS)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument(
        "--scheduler",
        default=None,
        help="train: run the grid on processes[:N], local:N (Dask) or tcp://HOST:PORT, "
        "then score the finished runs (default: serially, each scored as it finishes).",
    )
    parser.add_argument("--hybrid-n", type=int, default=5000)
    parser.add_argument("--prefix", default="dsprites_cpu", help="Result CSV name prefix.")
    args = parser.parse_args(argv)
    {"train": train, "summary": summary, "score": score, "hybrid": hybrid}[args.stage](args)


if __name__ == "__main__":
    main()
