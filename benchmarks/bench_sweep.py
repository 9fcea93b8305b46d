"""A sweep of many models on a Dask LocalCluster: 1 worker vs 2 workers, one run.

Writes ``--models`` latent files of ``--n`` x ``--d`` float32 (seeded, each with a
different dependence), then scores them all with default settings through
:func:`lps_eval.score_many` on a ``dask.distributed.LocalCluster`` of 1 and of 2
single-threaded worker processes (cluster start-up timed apart), checks that the two
tables are identical, and reports wall time, time per model and the speed-up.

Usage::

    python benchmarks/bench_sweep.py [--models 100] [--n 10000] [--d 10] [--workers 1,2]

Run it in both orders (``--workers 1,2`` and ``--workers 2,1``): on a shared virtual
machine the speed of the cores drifts over a 10-minute run.

Writes benchmarks/results/sweep.csv.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import lps_eval

RESULTS = Path(__file__).parent / "results"


def write_models(folder: Path, models: int, n: int, d: int) -> str:
    for i in range(models):
        rng = np.random.default_rng(i)
        z = rng.standard_normal((n, d))
        z[:, 1] += (i / models) * np.sin(2 * z[:, 0])  # dependence grows along the sweep
        np.save(folder / f"model_{i:04d}.npy", z.astype(np.float32))
    return str(folder / "model_*.npy")


def main() -> None:
    from distributed import Client, LocalCluster

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--d", type=int, default=10)
    parser.add_argument("--workers", default="1,2")
    args = parser.parse_args()
    rows, tables = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        pattern = write_models(Path(tmp), args.models, args.n, args.d)
        for workers in [int(w) for w in args.workers.split(",")]:
            t0 = time.perf_counter()
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = Client(cluster)
            startup = time.perf_counter() - t0
            try:
                t0 = time.perf_counter()
                table = lps_eval.score_many(pattern, scheduler=client)
                seconds = time.perf_counter() - t0
            finally:
                client.close()
                cluster.close()
            tables[workers] = table
            rows.append(
                {
                    "workers": workers,
                    "models": args.models,
                    "n": args.n,
                    "d": args.d,
                    "seconds": round(seconds, 2),
                    "seconds_per_model": round(seconds / args.models, 3),
                    "cluster_startup_s": round(startup, 2),
                    "failed": int((table["status"] != "ok").sum()),
                }
            )
            print(rows[-1], flush=True)
    # against the fewest workers, whatever order they ran in (run --workers 2,1 as well as
    # 1,2: on a shared virtual machine the cores' speed drifts during a long run)
    baseline = min(rows, key=lambda r: r["workers"])
    first = tables[baseline["workers"]]
    for row in rows:
        row["speedup_vs_fewest_workers"] = round(baseline["seconds"] / row["seconds"], 2)
        row["identical_tables"] = first.equals(tables[row["workers"]])
        row["cpu_count"] = os.cpu_count()
        row["load_avg_1min_end"] = round(os.getloadavg()[0], 2)
        row["lps_eval"] = lps_eval.__version__
        row["python"] = platform.python_version()
    frame = pd.DataFrame(rows)
    RESULTS.mkdir(exist_ok=True)
    frame.to_csv(RESULTS / "sweep.csv", index=False)
    print(frame.to_string(index=False))


if __name__ == "__main__":
    main()
