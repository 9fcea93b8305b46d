"""Start-up of ``lps-eval train``: seconds from the process's start to its first step.

A run of ``python -m lps_eval.cli train`` (digits, the tiny test model, one thread,
``--checkpoint-every 1``) is timed from ``Popen`` until its first ``checkpoint.pt``
appears (written right after step 1), then stopped with SIGINT. Several code trees run
in turn (A B A B ...) so that a machine whose load drifts treats them alike; the median
of each is reported. ``--tree NAME=PATH`` adds a tree (e.g. the code before a change,
exported with ``git archive``); the default is this worktree alone.

    python benchmarks/bench_train_startup.py --runs 7 --tree before=/tmp/train_before
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from timing import save

ROOT = Path(__file__).resolve().parents[1]
FLAGS = [
    "--dataset", "digits", "--latent-dim", "3", "--batch-size", "16", "--width", "4",
    "--hidden", "8", "--eval-size", "200", "--eval-subset", "100", "--threads", "1",
    "--quiet", "--steps", "400", "--checkpoint-every", "1", "--eval-every", "0",
]  # fmt: skip


def time_to_first_step(tree: Path) -> float:
    """Seconds from the start of the process to its first checkpoint (after step 1)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        env = {**os.environ, "PYTHONPATH": str(tree)}
        cmd = [sys.executable, "-m", "lps_eval.cli", "train", *FLAGS, "--out", str(out)]
        start = time.monotonic()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        while not (out / "checkpoint.pt").exists():
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode())
            time.sleep(0.002)
        seconds = time.monotonic() - start
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=120)
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tree", action="append", default=[], metavar="NAME=PATH")
    args = parser.parse_args()
    trees = {"this": ROOT} | {
        name: Path(path) for name, path in (t.split("=", 1) for t in args.tree)
    }
    times: dict[str, list[float]] = {name: [] for name in trees}
    for _ in range(args.runs):
        for name, tree in trees.items():
            times[name].append(time_to_first_step(tree))
    rows = [
        {
            "tree": name,
            "runs": len(values),
            "median_s": statistics.median(values),
            "min_s": min(values),
            "max_s": max(values),
        }
        for name, values in times.items()
    ]
    for row in rows:
        print(
            f"{row['tree']}: median {row['median_s']:.2f} s "
            f"(min {row['min_s']:.2f}, max {row['max_s']:.2f}, {row['runs']} runs)"
        )
    save(pd.DataFrame(rows), "train_startup")


if __name__ == "__main__":
    main()
