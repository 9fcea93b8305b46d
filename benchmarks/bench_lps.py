"""LPS speed, side by side in one run.

1. Closed-form linear LPS (one covariance, one eigendecomposition, one matrix product for
   all d regressions) vs the obvious loop of d scikit-learn ``LinearRegression`` fits on
   the same train/test split, at 200,000 x 64. Both values are printed; they must agree.
2. The default predictor choice: every built-in predictor on data with a known answer
   (``z1 = sin(2 z0) + 0.3 e`` plus independent columns): R2 of z1 vs the analytic value,
   the null level on independent columns (the estimator's bias), and wall time.

Usage::

    python benchmarks/bench_lps.py                 # both parts
    python benchmarks/bench_lps.py --part linear   # or: --part predictors

Writes benchmarks/results/lps_linear.csv and benchmarks/results/lps_predictors.csv.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from lps_eval.predictability import lps, r2_per_column
from lps_eval.predictors.linear import LinearPredictor
from lps_eval.simulations import gaussian_with_covariance, nonlinear_pair

RESULTS = Path(__file__).parent / "results"


def loop_of_linear_regressions(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """The obvious implementation: one LinearRegression per target dimension."""
    d = train.shape[1]
    pred = np.empty_like(test)
    for i in range(d):
        others = np.delete(np.arange(d), i)
        pred[:, i] = LinearRegression().fit(train[:, others], train[:, i]).predict(test[:, others])
    return pred


def bench_linear(n: int = 200_000, d: int = 64, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(d, d))
    z = gaussian_with_covariance(a @ a.T / d + 0.1 * np.eye(d), n, seed=seed)
    n_test = n // 4
    train, test = z[n_test:], z[:n_test]

    t0 = time.perf_counter()
    ours = r2_per_column(test, LinearPredictor(ridge=0.0).fit_predict(train, test))
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    loop = r2_per_column(test, loop_of_linear_regressions(train, test))
    t_loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    full = lps(z, predictor="linear", max_samples=None)  # with bootstrap, null and structure
    t_full = time.perf_counter() - t0
    return pd.DataFrame(
        [
            {
                "implementation": "closed form (one inverse)",
                "n": n,
                "d": d,
                "seconds": t_ours,
                "lps": ours.mean(),
                "max_abs_diff_r2": float(np.abs(ours - loop).max()),
            },
            {
                "implementation": "loop of d LinearRegression",
                "n": n,
                "d": d,
                "seconds": t_loop,
                "lps": loop.mean(),
                "max_abs_diff_r2": 0.0,
            },
            {
                "implementation": "lps(predictor='linear') incl. 200 bootstraps, null, structure",
                "n": n,
                "d": d,
                "seconds": t_full,
                "lps": full.value,
                "max_abs_diff_r2": np.nan,
            },
        ]
    ).assign(speedup_vs_loop=lambda f: t_loop / f.seconds)


def bench_predictors(n: int = 10_000, seed: int = 0) -> pd.DataFrame:
    z, r2_true = nonlinear_pair(n, noise=0.3, extra_dims=6, seed=seed)
    rows = []
    for name in ("linear", "hgb", "lightgbm", "mlp", "knn", "torch"):
        t0 = time.perf_counter()
        try:
            res = lps(
                z,
                predictor=name,
                max_samples=None,
                n_boot=0,
                null=False,
                structure=False,
                seed=seed,
            )
        except Exception as exc:  # optional dependency missing
            print(f"skip {name}: {exc}")
            continue
        seconds = time.perf_counter() - t0
        rows.append(
            {
                "predictor": name,
                "n": n,
                "d": z.shape[1],
                "seconds": seconds,
                "r2_dependent_dim": res.per_dim[1],
                "r2_analytic": r2_true,
                "abs_error": abs(res.per_dim[1] - r2_true),
                "null_bias_mean_r2_independent_dims": float(np.mean(res.per_dim[2:])),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "linear", "predictors"], default="all")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if args.part in ("all", "linear"):
        table = bench_linear()
        table.to_csv(RESULTS / "lps_linear.csv", index=False)
        print(table.to_string(index=False))
    if args.part in ("all", "predictors"):
        table = bench_predictors()
        table.to_csv(RESULTS / "lps_predictors.csv", index=False)
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
