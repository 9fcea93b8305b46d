"""Time every supervised metric against disentanglement_lib's code, side by side, one run.

Data: ``lps_eval.simulations.dsprites_like()``: 10,000 training + 5,000 test rows of 10 latents (5 noisy,
mixed factor dims + 5 nuisance dims) with 5 dSprites-sized factors (3, 6, 40, 32, 32).
Our metrics run in this process with their defaults (study sizes); disentanglement_lib
1.5 runs the same arrays in a subprocess from the throwaway environment
``/tmp/dlib-venv`` (see tools/dlib/make_golden.py; ``--dlib-python`` to point
elsewhere). Without it, its columns are left empty with a note. BetaVAE and FactorVAE in
disentanglement_lib sample from a dataset object: it gets a product-grid dataset whose
observations are the same latent map, so their values agree only within sampling error.
Everything runs single-threaded (OMP/OpenBLAS 1 thread) so ratios are comparable.

Usage::

    python benchmarks/bench_metrics.py            # full size (several minutes: DCI parity)
    python benchmarks/bench_metrics.py --quick    # 2,000 + 1,000 rows

Writes ``benchmarks/results/bench_metrics.csv`` (one row per metric: our seconds,
disentanglement_lib's seconds, speed-up, both values) and prints it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

HERE = Path(__file__).resolve().parent

from timing import timed  # noqa: E402

from lps_eval import metrics  # noqa: E402
from lps_eval.simulations import dsprites_like  # noqa: E402

DLIB_METRICS = ("mig", "sap", "modularity_explicitness", "irs", "dci", "beta_vae", "factor_vae")


def _ours(data: dict[str, np.ndarray]) -> list[dict]:
    rows = []
    split = ("sap", "dci", "modularity_explicitness")
    for name, fn in metrics.METRICS.items():
        modes = ("fast", "parity") if name == "dci" else (None,)
        for mode in modes:
            args = dict(data) if name in split else {"z": data["z"], "factors": data["factors"]}
            # the estimates only, like disentanglement_lib (intervals: bench_intervals.py)
            kwargs = {"mode": mode, "n_boot": 0} if mode else {"n_boot": 0}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res, seconds = timed(lambda fn=fn, args=args, kwargs=kwargs: fn(**args, **kwargs))
            row = {
                "metric": name if mode is None else f"dci_{mode}",
                "ours_s": seconds,
                "ours_value": res.value,
            }
            if name == "dci":
                row["ours_completeness"] = res.completeness
                row["ours_informativeness"] = res.informativeness
            rows.append(row)
            print(f"ours {row['metric']}: {seconds:.2f}s value {res.value:.4f}", file=sys.stderr)
    # IRS with disentanglement_lib's merging of many-valued factors into 20 bins
    res, seconds = timed(lambda: metrics.irs(data["z"], data["factors"], factor_bins=20, n_boot=0))
    rows.append({"metric": "irs_factor_bins20", "ours_s": seconds, "ours_value": res.value})
    return rows


def _dlib(data: dict[str, np.ndarray], python: str) -> dict | None:
    if not Path(python).exists():
        print(f"note: {python} not found; disentanglement_lib columns left empty", file=sys.stderr)
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.npz")
        np.savez(path, **data)
        proc = subprocess.run(
            [
                python,
                str(HERE.parent / "tools" / "dlib" / "runner.py"),
                path,
                ",".join(DLIB_METRICS),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if proc.returncode != 0:
        print(f"note: disentanglement_lib run failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 + 1,000 rows")
    parser.add_argument("--dlib-python", default="/tmp/dlib-venv/bin/python")
    parser.add_argument("--out", default=str(HERE / "results" / "bench_metrics.csv"))
    args = parser.parse_args()
    n_train, n_test = (2000, 1000) if args.quick else (10000, 5000)
    data = dsprites_like(n_train, n_test)
    rows = _ours(data)
    dlib = _dlib(data, args.dlib_python)
    for row in rows:
        key = "dci" if row["metric"] in ("dci_fast", "dci_parity") else row["metric"]
        key = "irs" if key == "irs_factor_bins20" else key
        ref = (dlib or {}).get(key)
        row["dlib_s"] = ref["seconds"] if ref else np.nan
        row["dlib_value"] = ref["value"] if ref else np.nan
        if key == "dci" and ref:
            row["dlib_completeness"] = ref["completeness"]
            row["dlib_informativeness"] = ref["informativeness"]
        row["speedup_vs_dlib"] = row["dlib_s"] / row["ours_s"]
    table = pd.DataFrame(rows)
    fast = table.set_index("metric").loc["dci_fast", "ours_s"]
    parity = table.set_index("metric").loc["dci_parity", "ours_s"]
    table.attrs["dci_fast_vs_parity"] = parity / fast
    table.insert(1, "n_train", n_train)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False, float_format="%.6g")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"\nDCI fast vs parity (ours, same run): {parity / fast:.1f}x faster")


if __name__ == "__main__":
    main()
