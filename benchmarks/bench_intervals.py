"""What the supervised metrics' intervals cost, and how often they cover.

``--timing`` (default): every registered metric with its default ``n_boot`` and with
``n_boot=0`` on the benchmark world (``lps_eval.simulations.dsprites_like``: 10,000 rows
of 10 latents, 5 dSprites-sized factors; the metric's own split and study sizes), one
call each, then ``lps_eval.score(z, factors=f)`` (every section, as ``lps-eval score
--factors``) with and without the intervals. Single-threaded (OMP/OpenBLAS 1 thread).
Writes ``benchmarks/results/bench_intervals.csv``.

``--coverage``: the simulated coverage of the 95% intervals, as in
tests/metrics/test_intervals.py but with more datasets (``--runs``), plus BetaVAE (too
slow for the test suite). Writes ``benchmarks/results/interval_coverage.csv``.

Usage::

    python benchmarks/bench_intervals.py              # timing, a few minutes
    python benchmarks/bench_intervals.py --coverage --runs 200
"""

from __future__ import annotations

import argparse
import os
import warnings

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from timing import save, timed  # noqa: E402

import lps_eval  # noqa: E402
from lps_eval import metrics  # noqa: E402
from lps_eval import simulations as sim  # noqa: E402


def _world() -> tuple[np.ndarray, np.ndarray]:
    d = sim.dsprites_like()
    z = np.concatenate([d["z"], d["z_test"]])[:10000]
    f = np.concatenate([d["factors"], d["factors_test"]])[:10000]
    return z, f


def timing() -> pd.DataFrame:
    z, f = _world()
    rows = []
    for name, spec in metrics.metric_specs().items():
        point, t0 = timed(lambda fn=spec.function: fn(z, f, n_boot=0))
        res, t1 = timed(lambda fn=spec.function: fn(z, f))
        record = res.settings["interval"]
        rows.append(
            {
                "metric": name,
                "value": point.value,
                "ci_low": res.ci_low,
                "ci_high": res.ci_high,
                "unit": record["unit"],
                "method": record["method"],
                "n_boot": record["n_boot"],
                "seconds_estimate": t0,
                "seconds_with_interval": t1,
                "interval_overhead": t1 / t0,
            }
        )
        print(rows[-1], flush=True)
    no_ci = {name: {"n_boot": 0} for name in metrics.METRICS}
    _, s0 = timed(lambda: lps_eval.score(z, factors=f, **no_ci))
    _, s1 = timed(lambda: lps_eval.score(z, factors=f))
    rows.append(
        {
            "metric": "score (every section)",
            "seconds_estimate": s0,
            "seconds_with_interval": s1,
            "interval_overhead": s1 / s0,
        }
    )
    return pd.DataFrame(rows)


def _rate(hits: int, runs: int, name: str, unit: str, truth: float) -> dict:
    rate = hits / runs
    sd = np.sqrt(0.95 * 0.05 / runs)
    print(f"{name}: coverage {rate:.3f} over {runs} runs (binomial sd {sd:.3f})", flush=True)
    return {"metric": name, "unit": unit, "runs": runs, "coverage": rate, "truth": truth}


def coverage(runs: int) -> pd.DataFrame:
    out = []
    big = sim.coverage_world(2_000_000, seed=999)
    truth = metrics.mig(big["z"], big["factors"], num_train=None, n_boot=0).value
    hits = sum(
        (lambda r: r.ci_low <= truth <= r.ci_high)(
            metrics.mig(**sim.coverage_world(1000, seed=s), n_boot=100)
        )
        for s in range(runs)
    )
    out.append(_rate(hits, runs, "mig (n=1000, B=100)", "rows", truth))

    def draw(n, seed):
        w = sim.known_world("identity", n=n, seed=seed, noise=0.4)
        return w["z"], w["factors"]

    z, f = draw(600, 1000)
    zb, fb = draw(200_000, 1001)
    truth = metrics.sap(z, f, z_test=zb, factors_test=fb, n_boot=0).value
    hits = 0
    for s in range(runs):
        zt, ft = draw(300, s)
        r = metrics.sap(z, f, z_test=zt, factors_test=ft)
        hits += r.ci_low <= truth <= r.ci_high
    out.append(_rate(hits, runs, "sap (300 test rows, B=200)", "test_rows", truth))

    w = sim.known_world("identity", n=2000, seed=3, noise=0.6)
    kw = {"batch_size": 16, "num_variance_estimate": 2000}
    truth = metrics.factor_vae(
        w["z"], w["factors"], num_train=200_000, num_eval=200_000, n_boot=0, **kw
    ).value
    hits = 0
    for s in range(runs):
        r = metrics.factor_vae(w["z"], w["factors"], num_train=1000, num_eval=1000, seed=s, **kw)
        hits += r.ci_low <= truth <= r.ci_high
    out.append(_rate(hits, runs, "factor_vae (1000 + 1000 votes, B=200)", "draws", truth))

    w = sim.known_world("identity", n=2000, seed=3, noise=1.0)
    truth = metrics.beta_vae(
        w["z"], w["factors"], num_train=100_000, num_eval=100_000, batch_size=16, n_boot=0
    ).value
    hits = 0
    for s in range(runs):
        r = metrics.beta_vae(
            w["z"], w["factors"], num_train=500, num_eval=500, batch_size=16, seed=s
        )
        hits += r.ci_low <= truth <= r.ci_high
    out.append(_rate(hits, runs, "beta_vae (500 + 500 points, B=100)", "draws", truth))
    return pd.DataFrame(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--coverage", action="store_true")
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.coverage:
        save(coverage(args.runs), "interval_coverage")
    else:
        save(timing(), "bench_intervals")


if __name__ == "__main__":
    main()
