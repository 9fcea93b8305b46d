"""Linear LPS on every row (the default) against the former 10,000-row cap, wide inputs.

The world: Gaussian dimensions in correlated pairs (population LPS ``r2``), where the
held-out R2 of least squares on ``m`` training rows has a known expectation
(``lps_eval.simulations.expected_linear_lps``), so the bias of a cap is measured against
a closed form, not against our own output.

Usage::

    python benchmarks/bench_lps_rows.py [--n 20000] [--d 1024 2048] [--r2 0.145]

Writes benchmarks/results/lps_rows.csv.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import pandas as pd

import lps_eval
from lps_eval.simulations import expected_linear_lps, paired_linear_latents

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--d", type=int, nargs="+", default=[1024, 2048])
    parser.add_argument("--r2", type=float, default=0.145)
    args = parser.parse_args()
    rows = []
    for d in args.d:
        z, r2 = paired_linear_latents(args.n, d, r2=args.r2, seed=0)
        for label, cap in (("every row (default)", "auto"), ("former cap", 10_000)):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                t0 = time.perf_counter()
                res = lps_eval.lps(z, predictor="linear", max_samples=cap)
                seconds = time.perf_counter() - t0
            used = res.settings["n_samples_used"]
            rows.append(
                {
                    "n": args.n,
                    "d": d,
                    "run": label,
                    "rows_used": used,
                    "seconds": round(seconds, 2),
                    "lps": res.value,
                    "ci_low": res.ci_low,
                    "ci_high": res.ci_high,
                    "expected_lps": expected_linear_lps(r2, 0.8 * used, d - 1),
                    "population_lps": r2,
                    "warnings": " | ".join(str(w.message)[:90] for w in caught),
                    "cpu_count": os.cpu_count(),
                    "load_1min": os.getloadavg()[0],
                }
            )
            print(rows[-1], flush=True)
    RESULTS.mkdir(exist_ok=True)
    table = pd.DataFrame(rows)
    table.to_csv(RESULTS / "lps_rows.csv", index=False)
    print(table.drop(columns=["warnings"]).to_string(index=False))


if __name__ == "__main__":
    main()
