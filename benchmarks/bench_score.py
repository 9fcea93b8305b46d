"""End-to-end ``lps-eval score`` with default settings on 50,000 x 32 float32 latents.

Times the real command line (a fresh process, file loading included) and, in the same
run, each default section through the Python API, so a slow section is visible.

Usage::

    python benchmarks/bench_score.py [--n 50000] [--d 32]

Writes benchmarks/results/score_cli.csv.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from timing import save, timed

import lps_eval
from lps_eval.scoring import available_metrics

RESULTS = Path(__file__).parent / "results"


def latents(n: int, d: int, seed: int = 0) -> np.ndarray:
    """Gaussian latents with some linear and nonlinear dependence, float32."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, d))
    z[:, 1] = np.sin(2 * z[:, 0]) + 0.3 * z[:, 1]
    z[:, 2] = 0.8 * z[:, 3] + 0.6 * z[:, 2]
    return z.astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--d", type=int, default=32)
    args = parser.parse_args()
    z = latents(args.n, args.d)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "z.npy"
        np.save(path, z)
        done, seconds = timed(
            lambda: subprocess.run(
                [sys.executable, "-m", "lps_eval.cli", "score", str(path), "--format", "json"],
                capture_output=True,
                text=True,
                check=False,
            )
        )
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        rows.append({"what": "lps-eval score (CLI, all default sections)", "seconds": seconds})
    for section in available_metrics():
        try:
            _, seconds = timed(lambda section=section: lps_eval.score(z, metrics=[section]))
        except lps_eval.LpsInputError as exc:  # e.g. a section that needs factors
            print(f"skip {section}: {exc}")
            continue
        rows.append({"what": f"section {section} (Python API)", "seconds": seconds})
    save(pd.DataFrame(rows).assign(n=args.n, d=args.d, budget_seconds=30.0), "score_cli")


if __name__ == "__main__":
    main()
