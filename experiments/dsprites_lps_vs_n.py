"""LPS of the trained dSprites models as a function of the sample size N.

Reads runs/dsprites/<model>/latents.npz (written by benchmarks/train_dsprites.py train),
takes a random subset of N rows (the evaluation set is sorted by dataset index, i.e. by
shape first, so the first rows are not a random sample), and computes LPS with LightGBM
(the paper's LPS-lgbm) and with the closed-form linear predictor. Writes
benchmarks/results/dsprites_lps_vs_n.csv.

    python benchmarks/dsprites_lps_vs_n.py
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

from pathlib import Path

import numpy as np
import pandas as pd

import lps_eval

ROOT = Path(__file__).resolve().parents[1]
rows = []
for model in ["ae_mmd_gaussian", "beta_vae_4", "vae", "ae"]:
    z = np.load(ROOT / "runs" / "dsprites" / model / "latents.npz")["z"].astype(float)
    z = z[np.random.default_rng(0).permutation(len(z))]
    for n in [500, 2000, 10000]:
        for pred in ["lightgbm", "linear"]:
            kw = {"predictor_params": {"n_jobs": 1}} if pred == "lightgbm" else {}
            r = lps_eval.lps(
                z[:n], predictor=pred, seed=0, null=False, structure=False, n_boot=100, **kw
            )
            rows.append({"model": model, "n": n, "predictor": pred, "lps": r.value})
            print(rows[-1], flush=True)
out = ROOT / "benchmarks" / "results" / "dsprites_lps_vs_n.csv"
pd.DataFrame(rows).to_csv(out, index=False)
