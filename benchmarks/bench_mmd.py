"""MMD benchmark: the chunked engine vs the plain full-matrix numpy implementation.

Measures, in one run (timings on a shared machine are noisy: compare ratios):

1. the exact unbiased MMD^2 (paper kernel: RBFs at {0.5, 1, 2} x median) at N = 10,000
   and 60,000 latent rows, d = 16, two ways:
   - ``two_sample``: N latents vs N prior samples (``lps_eval.mmd.mmd2``), pooled 2N rows;
   - ``closed_form``: N latents vs the Gaussian prior with exact prior terms
     (``lps_eval.mmd(z, max_samples=None, permutations=0)``), the N x N latent sum only;
   - ``naive_full_matrix``: the textbook numpy version that builds Kxx, Kyy and Kxy
     (N x N float64 each) where it fits in memory; at 60,000 it would need 3 x 28.8 GB,
     so it is reported as not run;
2. the permutation cost: one statistic vs the statistic plus 200 permutations
   (``lps_eval.mmd.permutation_test``), which share one pass over the kernel matrix.

Peak memory is the tracemalloc peak (numpy allocations are traced).
Writes benchmarks/results/mmd.csv.

Usage: python benchmarks/bench_mmd.py [--quick] [--full]
  --quick: skip N = 60,000 (about 1 minute);
  --full: also time the two-sample statistic at N = 60,000 (pooled 120,000 rows: about
          3 minutes on an idle 2-core machine, 12 on a busy one).

Bigger than memory: ``python benchmarks/bench_mmd.py --stream 2e6x32 [--tmp /tmp] [--keep]``
writes float32 latents of that shape to an ``.npy`` file (block by block) and, each in a
fresh interpreter, measures wall time and peak RSS (the kernel's ``ru_maxrss``) of

- ``cli``: ``lps-eval score FILE --metrics mmd -O mmd.estimator=linear
  -O mmd.max_samples=none`` (the streamed linear-time MMD over every row, plus the
  per-dimension tests on their 500-row subsample);
- ``api``: ``lps_eval.mmd(memmap, estimator="linear", max_samples=None, per_dim=False)``,
  with the tracemalloc peak (numpy allocations) and the time of the canonical row order
  alone;
- ``baseline``: the same interpreter after the imports only (what RSS starts from).

Writes benchmarks/results/mmd_stream.csv (replacing rows of the same shape).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from timing import measure

from lps_eval.prior_matching import mmd, mmd2, permutation_test
from lps_eval.prior_matching.kernels import make_kernel, median_pairwise_distance

OUT = Path(__file__).parent / "results" / "mmd.csv"
STREAM_OUT = Path(__file__).parent / "results" / "mmd_stream.csv"
D = 16


def naive_unbiased(x, y, scales):
    """Plain full-matrix numpy MMD^2_u: three N x N kernel matrices."""

    def gram(a, b):
        d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
        return sum(np.exp(-d2 / (2 * s * s)) for s in scales)

    n, m = len(x), len(y)
    kxx, kyy, kxy = gram(x, x), gram(y, y), gram(x, y)
    return (
        (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
        + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        - 2 * kxy.mean()
    )


def _peak_rss_mib(resource) -> float:
    """This process's peak resident memory: VmHWM (reset by exec, unlike ``ru_maxrss``,
    which Linux carries over from the parent that forked us), else ``ru_maxrss``."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def stream_child(path: str, mode: str) -> None:
    """One measurement in this (fresh) interpreter; prints one JSON line."""
    import contextlib
    import io
    import resource
    import tracemalloc

    from lps_eval import streaming
    from lps_eval._random import shuffled_rows
    from lps_eval.cli import main as cli_main
    from lps_eval.io import load_array

    out: dict = {"mode": mode}
    t0 = time.perf_counter()
    if mode == "cli":
        args = ["score", path, "--metrics", "mmd", "--format", "json", "--no-config"]
        args += ["-O", "mmd.estimator=linear", "-O", "mmd.max_samples=none"]
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            cli_main(args, standalone_mode=False)
        overall = [r for r in json.loads(buffer.getvalue())["results"] if r["scope"] == "overall"]
        out.update(value=overall[0]["value"], p_value=overall[0]["p_value"])
    elif mode == "api":
        z = load_array(path)
        t1 = time.perf_counter()
        shuffled_rows(z, None, np.random.default_rng(0))
        out["order_seconds"] = round(time.perf_counter() - t1, 2)
        t0 = time.perf_counter()
        tracemalloc.start()
        r = mmd(z, estimator="linear", max_samples=None, per_dim=False)
        out["tracemalloc_peak_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
        out.update(value=r.value, p_value=r.p_value, n_pairs=r.settings.get("n_pairs"))
        out["streamed"] = r.settings["streamed"]
    out["seconds"] = round(time.perf_counter() - t0, 2)
    out["peak_rss_mib"] = _peak_rss_mib(resource)
    out["stream_elements"] = streaming.STREAM_ELEMENTS
    print(json.dumps(out))


def stream_main(shape: str, tmp: str, keep: bool) -> None:
    """Streamed linear MMD on a float32 memmap of ``shape`` (``NxD``), see the docstring."""
    from bench_memory import write_latents
    from timing import environment

    n_text, d_text = shape.lower().split("x")
    n, d = int(float(n_text)), int(d_text)
    path = Path(tmp) / f"lps_eval_bench_{n}x{d}.npy"
    rows = []
    try:
        if not (keep and path.exists() and path.stat().st_size == n * d * 4 + 128):
            write_latents(path, n, d)  # seeded: a kept file holds the same values
        for mode in ("baseline", "api", "cli"):
            probe = subprocess.run(
                [sys.executable, __file__, "--stream-child", str(path), mode],
                capture_output=True,
                text=True,
                check=False,
            )
            if probe.returncode != 0:
                raise SystemExit(probe.stderr[-2000:])
            row = {"n": n, "d": d, "file_mib": round(n * d * 4 / 2**20, 1)}
            row.update(json.loads(probe.stdout.strip().splitlines()[-1]))
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        if not keep:
            path.unlink(missing_ok=True)
    import pandas as pd

    frame = pd.DataFrame(rows).assign(**environment())
    if STREAM_OUT.exists():  # keep other shapes' rows
        old = pd.read_csv(STREAM_OUT)
        frame = pd.concat([old[(old.n != n) | (old.d != d)], frame], ignore_index=True)
    STREAM_OUT.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(STREAM_OUT, index=False)
    print(f"wrote {STREAM_OUT}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip N = 60,000")
    parser.add_argument("--full", action="store_true", help="two-sample statistic at 60,000 too")
    parser.add_argument("--stream", metavar="NxD", help="streamed linear MMD on a memmap only")
    parser.add_argument("--tmp", default="/tmp", help="folder for the --stream file")
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the --stream file")
    parser.add_argument("--stream-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stream_child:
        stream_child(*args.stream_child)
        return
    if args.stream:
        stream_main(args.stream, args.tmp, args.keep)
        return
    sizes = [10_000] if args.quick else [10_000, 60_000]
    rows = []

    def record(case, impl, n, seconds, peak, value, note=""):
        row = {
            "case": case,
            "implementation": impl,
            "n": n,
            "d": D,
            "seconds": None if seconds is None else round(seconds, 3),
            "peak_mib": None if peak is None else round(peak, 1),
            "value": value,
            "note": note,
        }
        rows.append(row)
        print(row, flush=True)

    for n in sizes:
        rng = np.random.default_rng(n)
        x = rng.normal(size=(n, D)) + 0.02  # a small mean shift
        y = rng.normal(size=(n, D))
        width = median_pairwise_distance(np.vstack([x, y]), rng=0)
        scales = (0.5 * width, width, 2 * width)
        if n <= 10_000 or args.full:
            val, sec, peak = measure(
                lambda x=x, y=y, w=width: mmd2(x, y, bandwidth=w, estimator="unbiased")
            )
            record(
                "exact_statistic", "two_sample (lps_eval.mmd.mmd2)", n, sec, peak, val, "2N rows"
            )
        res, sec, peak = measure(
            lambda x=x: mmd(x, "gaussian", permutations=0, max_samples=None, per_dim=False)
        )
        record(
            "exact_statistic", "closed_form (lps_eval.mmd)", n, sec, peak, res.value, "x-x sum only"
        )
        matrix_gb = 3 * n * n * 8 / 1e9
        if matrix_gb < 6:
            val, sec, peak = measure(lambda x=x, y=y, s=scales: naive_unbiased(x, y, s))
            record("exact_statistic", "naive_full_matrix (numpy)", n, sec, peak, val)
        else:
            record(
                "exact_statistic",
                "naive_full_matrix (numpy)",
                n,
                None,
                None,
                None,
                f"not run: needs {matrix_gb:.0f} GB for Kxx, Kyy, Kxy ({n * n * 8 / 1e9:.1f} GB each)",
            )

    for n in (5_000, 10_000):
        rng = np.random.default_rng(7)
        x, y = rng.normal(size=(n, D)), rng.normal(size=(n, D))
        kern = make_kernel("rbf_multiscale", pooled=np.vstack([x, y]), rng=0)
        (stat0, _, _), t0, p0 = measure(
            lambda x=x, y=y, k=kern: permutation_test(x, y, k, permutations=0)
        )
        record("permutation_cost", "statistic only (B=0)", n, t0, p0, stat0, "pooled 2N rows")
        (stat, pval, _), t1, p1 = measure(
            lambda x=x, y=y, k=kern: permutation_test(x, y, k, permutations=200, rng=1)
        )
        record("permutation_cost", "statistic + 200 permutations", n, t1, p1, stat, f"p={pval:.4f}")
        record(
            "permutation_cost",
            "ratio (B=200 / B=0)",
            n,
            None,
            None,
            round(t1 / t0, 3),
            "must be <= 3",
        )

    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="") as fh:
        fh.write(
            f"# machine: {platform.machine()}, {os.cpu_count()} cpus, python {platform.python_version()}\n"
        )
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
