"""Peak memory of default ``lps-eval score`` on memory-mapped ``.npy`` files.

For each size the latents are written to /tmp block by block (never held in memory),
scored by the real command line in a fresh process (default settings, JSON output), and
the child's peak resident set size is read from ``os.wait4`` (the kernel's own maximum).
The file is deleted afterwards.

Usage::

    python benchmarks/bench_memory.py [--sizes 2e6x32,2e7x64] [--tmp /tmp]

Writes benchmarks/results/memory.csv (one row per size: rows, dims, file size, peak RSS,
seconds, the LPS value, library versions). 1e8 x 64 (a 25.6 GB file) is accepted with
``--sizes 1e8x64`` when the disk has room; it is checked before writing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
BLOCK = 1 << 18


def write_latents(path: Path, n: int, d: int, seed: int = 0) -> None:
    """Correlated Gaussian float32 latents, streamed to an .npy file block by block."""
    rng = np.random.default_rng(seed)
    mix = np.eye(d) + 0.3 * rng.standard_normal((d, d)) / np.sqrt(d)
    partial = path.with_suffix(".partial")  # renamed when complete: --keep never reuses a torso
    with open(partial, "wb") as handle:
        np.lib.format.write_array_header_1_0(
            handle, {"descr": "<f4", "fortran_order": False, "shape": (n, d)}
        )
        for start in range(0, n, BLOCK):  # plain writes: no mapped pages pile up here
            stop = min(n, start + BLOCK)
            block = rng.standard_normal((stop - start, d)) @ mix
            block[:, 1] = np.sin(2 * block[:, 0]) + 0.3 * block[:, 1]  # a nonlinear dependence
            handle.write(block.astype(np.float32).tobytes())
    partial.rename(path)


def measure(path: Path) -> tuple[float, float, dict]:
    """(peak RSS in MB, seconds, JSON output) of ``lps-eval score PATH --format json``."""
    command = [sys.executable, "-m", "lps_eval.cli", "score", str(path), "--format", "json"]
    command += ["--no-config"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    seconds = time.perf_counter() - t0
    import resource

    # this runs in a fresh interpreter (see main) whose only child is the score process,
    # so the maximum over its reaped children is that process's peak RSS

    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        raise SystemExit(f"lps-eval score failed ({proc.returncode}): {err.strip()[-500:]}")
    return peak_kb / 1024.0, seconds, json.loads(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2e6x32,2e7x64")
    parser.add_argument("--tmp", default="/tmp")
    parser.add_argument(
        "--keep", action="store_true", help="keep the files and reuse kept ones (reruns)"
    )
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    rows = []
    for spec in args.sizes.split(","):
        n_text, d_text = spec.lower().split("x")
        n, d = int(float(n_text)), int(d_text)
        size = n * d * 4
        free = shutil.disk_usage(args.tmp).free
        if free < size * 1.1:
            print(f"skip {spec}: {size / 1e9:.1f} GB file, {free / 1e9:.1f} GB free", flush=True)
            continue
        path = Path(args.tmp) / f"lps_eval_bench_{n}x{d}.npy"
        reuse = args.keep and path.exists() and path.stat().st_size == size + 128
        try:
            t0 = time.perf_counter()
            if not reuse:  # the data are seeded: a kept file holds the same values
                write_latents(path, n, d)
            write_s = time.perf_counter() - t0
            # each size in its own interpreter, so RUSAGE_CHILDREN's maximum is this run's
            probe = subprocess.run(
                [sys.executable, __file__, "--child", str(path)],
                capture_output=True,
                text=True,
                check=False,
            )
            if probe.returncode != 0:
                raise SystemExit(probe.stderr[-2000:])
            result = json.loads(probe.stdout)
        finally:
            if not args.keep:
                path.unlink(missing_ok=True)
        row = {
            "n": n,
            "d": d,
            "file_mb": round(size / 2**20, 1),
            "peak_rss_mb": round(result["peak_rss_mb"], 1),
            "seconds": round(result["seconds"], 1),
            "write_seconds": round(write_s, 1),
            "lps": result["lps"],
            "lps_linear": result["lps_linear"],
            "limit_mb_3x_plus_500": round(3 * size / 2**20 + 500, 1),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    if rows:
        import pandas as pd

        frame = pd.DataFrame(rows)
        out = RESULTS / "memory.csv"
        if out.exists():  # keep the other sizes' rows; replace the sizes run now
            old = pd.read_csv(out)
            old = old[~old.set_index(["n", "d"]).index.isin(frame.set_index(["n", "d"]).index)]
            frame = pd.concat([old, frame], ignore_index=True).sort_values(["n", "d"])
        frame.to_csv(out, index=False)


def child(path: str) -> None:
    peak, seconds, payload = measure(Path(path))
    overall = {r["metric"]: r["value"] for r in payload["results"] if r["scope"] == "overall"}
    print(
        json.dumps(
            {
                "peak_rss_mb": peak,
                "seconds": seconds,
                "lps": overall.get("lps"),
                "lps_linear": overall.get("lps_linear"),
            }
        )
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
