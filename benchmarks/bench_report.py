"""Cost of ``lps_eval.report`` against ``lps_eval.score`` on the same 50,000 x 32 input.

The report scores the model (the same work as ``score``), then draws the figures and the
LPS learning curve; the budget is 1.5x ``score``. Also timed: ``score`` with the opt-in
``lps={"converged": True}`` rows. All are timed in the same process, in alternating order
(score, report, score+converged, score, ...), and ratios of the medians are reported, so
machine load affects every side alike.

Usage::

    python benchmarks/bench_report.py [--n 50000] [--d 32] [--repeats 3]

Writes benchmarks/results/report_vs_score.csv.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import lps_eval

sys.path.insert(0, str(Path(__file__).parent))
from bench_score import latents  # same data as the score benchmark

RESULTS = Path(__file__).parent / "results"
BUDGET = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--d", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    z = latents(args.n, args.d)
    lps_eval.score(z[:2000], metrics=["lps"], lps={"n_boot": 10})  # warm imports and caches
    score_s, report_s, converged_s = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "report.html"
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            lps_eval.score(z)
            score_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            result = lps_eval.report({"bench": z}, out)
            report_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            lps_eval.score(z, lps={"converged": True})
            converged_s.append(time.perf_counter() - t0)
        size = out.stat().st_size
    base = statistics.median(score_s)
    ratio = statistics.median(report_s) / base
    runs = {
        "score (defaults)": score_s,
        "report (defaults: figures + learning curve)": report_s,
        "score with lps.converged=True": converged_s,
    }
    table = pd.DataFrame(
        {
            "what": list(runs),
            "median_seconds": [statistics.median(v) for v in runs.values()],
            "all_seconds": [" ".join(f"{s:.2f}" for s in v) for v in runs.values()],
            "ratio_to_score": [statistics.median(v) / base for v in runs.values()],
        }
    ).assign(
        n=args.n,
        d=args.d,
        budget_ratio=BUDGET,
        html_bytes=size,
        figures=len(result.figures),
        cpu_count=os.cpu_count(),
    )
    RESULTS.mkdir(exist_ok=True)
    table.to_csv(RESULTS / "report_vs_score.csv", index=False)
    print(table.to_string(index=False))
    print(f"report / score = {ratio:.2f} (budget {BUDGET})")


if __name__ == "__main__":
    main()
