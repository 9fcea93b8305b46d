"""Cost of the per-dimension MMD rows and of the companion statistics' null levels.

Usage::

    python benchmarks/bench_companions.py [--old PATH] [--quick]

Rows (each timed once; the machine's load is recorded in the CSV; ``seconds`` is the
cost of the thing measured, ``total_seconds`` the whole call):

- ``mmd per-dim rows``: ``lps_eval.mmd`` with ``per_dim=True`` minus ``per_dim=False``
  (the per-dimension tests alone) at the ``score`` defaults (3,000 joint rows, 500 per
  dimension, 200 permutations) on 50,000 x 32 in memory, and on a 2,000,000 x 32
  float32 memmap with the streamed linear statistic (500 rows per dimension, the columns
  over the 4M-row sort switch are not reached: sorted in batches);
- ``companion_nulls``: the null levels at N = 3,000, d = 6 (shuffled) and
  N = 50,000, d = 32 (asymptotic).

``--old PATH`` also times the per-dimension rows of another checkout of the package
(e.g. ``git archive f28b74f lps_eval | tar -x -C /tmp/old``; PATH is the folder that
holds ``lps_eval``) in a subprocess, for the before/after comparison. Results:
``benchmarks/results/companions.csv``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from timing import save, timed

PER_DIM = """
import json, sys, time, numpy as np
from lps_eval.prior_matching import mmd
case, path = sys.argv[1], sys.argv[2]
z = np.load(path, mmap_mode="r") if case == "memmap" else np.load(path)
kw = dict(permutations=200, per_dim_max_samples=500, seed=0)
if case == "memmap":
    kw.update(estimator="linear", max_samples=None)
else:
    kw.update(max_samples=3000)
out = {}
for per_dim in (False, True):
    t = time.perf_counter(); mmd(z, per_dim=per_dim, **kw); out[per_dim] = time.perf_counter() - t
print(json.dumps({"without": out[False], "with": out[True]}))
"""


def _per_dim_seconds(case: str, path: Path, package: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(package)}
    run = subprocess.run(
        [sys.executable, "-c", PER_DIM, case, str(path)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(run.stdout.strip().splitlines()[-1])


def _write_inputs(folder: Path, quick: bool) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    small = folder / "z_50k.npy"
    np.save(small, rng.normal(size=(5000 if quick else 50000, 32)))
    big = folder / "z_2e6.npy"
    n = 200_000 if quick else 2_000_000
    mm = np.lib.format.open_memmap(big, mode="w+", dtype=np.float32, shape=(n, 32))
    for lo in range(0, n, 1 << 18):
        hi = min(n, lo + (1 << 18))
        mm[lo:hi] = rng.normal(size=(hi - lo, 32))
    mm.flush()
    del mm
    return {"memory": small, "memmap": big}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, help="folder holding an older lps_eval")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        inputs = _write_inputs(Path(tmp), args.quick)
        for case, path in inputs.items():
            versions = [("this", here)] + ([("old", args.old)] if args.old else [])
            for label, package in versions:
                t = _per_dim_seconds(case, path, package)
                rows.append(
                    {
                        "what": f"mmd per-dim rows ({case})",
                        "code": label,
                        "seconds": t["with"] - t["without"],
                        "total_seconds": t["with"],
                    }
                )
    from lps_eval.independence import companion_nulls

    for n, d in ((3000, 6), (5000, 32) if args.quick else (50000, 32)):
        z = np.random.default_rng(1).normal(size=(n, d))
        nulls, seconds = timed(lambda z=z: companion_nulls(z))
        rows.append(
            {
                "what": f"companion_nulls {n} x {d} ({nulls[0].null_method})",
                "code": "this",
                "seconds": seconds,
                "total_seconds": seconds,
            }
        )
    save(pd.DataFrame(rows), "companions")


if __name__ == "__main__":
    main()
