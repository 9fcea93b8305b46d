"""LPS of the trained dSprites models as a function of the sample size N.

Reads runs/dsprites_cpu/<model>_seed<k>/latents.npz (written by
``experiments/train_dsprites.py train``, CPU preset), takes a random subset of N rows
(the evaluation set is sorted by dataset index, i.e. by shape first, so the first rows
are not a random sample), and computes LPS with LightGBM (the paper's LPS-lgbm) and with
the closed-form linear predictor. Writes experiments/results/dsprites_cpu_lps_vs_n.csv.

    python experiments/dsprites_lps_vs_n.py [--seed 0] [--runs runs/dsprites_cpu]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
MODELS = ["ae_mmd_gaussian", "beta_vae_4", "vae", "ae"]


def main(argv: list[str] | None = None) -> None:
    import lps_eval

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="Training seed of the runs read.")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "dsprites_cpu")
    args = parser.parse_args(argv)
    rows = []
    for model in MODELS:
        path = args.runs / f"{model}_seed{args.seed}" / "latents.npz"
        if not path.exists():
            print(f"[skip] {path} not found", flush=True)
            continue
        z = np.load(path, allow_pickle=False)["z"].astype(float)
        z = z[np.random.default_rng(0).permutation(len(z))]
        for n in [500, 2000, 10000]:
            for pred in ["lightgbm", "linear"]:
                kw = {"predictor_params": {"n_jobs": 1}} if pred == "lightgbm" else {}
                r = lps_eval.lps(
                    z[:n], predictor=pred, seed=0, null=False, structure=False, n_boot=100, **kw
                )
                rows.append(
                    {"model": model, "seed": args.seed, "n": n, "predictor": pred, "lps": r.value}
                )
                print(rows[-1], flush=True)
    out = ROOT / "experiments" / "results" / f"{args.runs.name}_lps_vs_n.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out, index=False)


if __name__ == "__main__":
    main()
