"""LPS speed, side by side in one run.

1. ``--part linear``: closed-form linear LPS (Gram matrices, one eigendecomposition per
   fold) vs the obvious loop of d scikit-learn ``LinearRegression`` fits, at 200,000 x 64
   float32: the bare statistic (single split and 5-fold) and the default with its trust
   rows (interval, closed-form null, structure), median of 3 runs each; the loop once.
2. ``--part nonlinear``: nonlinear LPS at equal N (50,000 x 32, ``max_samples=None``) vs
   the paper's procedure (one LightGBM regressor per dimension, library defaults).
3. ``--part predictors``: the default predictor choice: every built-in predictor on data with a known answer
   (``z1 = sin(2 z0) + 0.3 e`` plus independent columns): R2 of z1 vs the analytic value,
   the null level on independent columns (the estimator's bias), and wall time.

Usage::

    python benchmarks/bench_lps.py                 # both parts
    python benchmarks/bench_lps.py --part linear   # or: --part nonlinear, --part predictors

Writes benchmarks/results/lps_linear.csv, lps_nonlinear.csv and lps_predictors.csv.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
from threadpoolctl import threadpool_limits

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


def _median_seconds(fn, repeats: int = 3):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def bench_linear(n: int = 200_000, d: int = 64, seed: int = 0) -> pd.DataFrame:
    """Linear LPS vs a loop of d LinearRegression fits, float32 input, one run."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(d, d))
    z = gaussian_with_covariance(a @ a.T / d + 0.1 * np.eye(d), n, seed=seed).astype(np.float32)
    n_test = n // 4
    train, test = z[n_test:], z[:n_test]
    bare = {"n_boot": 0, "null": False, "structure": False}

    t0 = time.perf_counter()
    loop = r2_per_column(test, loop_of_linear_regressions(train, test))
    t_loop_default = time.perf_counter() - t0
    with threadpool_limits(limits=1, user_api="blas"):  # fairer on busy cores
        t0 = time.perf_counter()
        loop_1 = r2_per_column(test, loop_of_linear_regressions(train, test))
        t_loop_1 = time.perf_counter() - t0
    t_loop = min(t_loop_default, t_loop_1)  # speed-ups against the faster loop
    t_same, ours = _median_seconds(
        lambda: r2_per_column(test, LinearPredictor(ridge=0.0).fit_predict(train, test))
    )
    t_single, single = _median_seconds(
        lambda: lps(z, predictor="linear", max_samples=None, test_size=0.25, **bare)
    )
    t_bare, cross = _median_seconds(lambda: lps(z, predictor="linear", max_samples=None, **bare))
    t_full, full = _median_seconds(lambda: lps(z, predictor="linear", max_samples=None))
    rows = [
        (
            "loop of d LinearRegression (75/25 split), BLAS default threads",
            t_loop_default,
            loop.mean(),
            0.0,
        ),
        (
            "loop of d LinearRegression (75/25 split), BLAS 1 thread",
            t_loop_1,
            loop_1.mean(),
            float(np.abs(loop_1 - loop).max()),
        ),
        (
            "LinearPredictor.fit_predict, same split as the loop",
            t_same,
            ours.mean(),
            float(np.abs(ours - loop).max()),
        ),
        ("lps bare statistic, single 75/25 split", t_single, single.value, np.nan),
        ("lps bare statistic, 5-fold cross-fitting (default split)", t_bare, cross.value, np.nan),
        (
            "lps default: 5-fold, interval (" + full.settings["interval_method"] + "), "
            "closed-form null, structure",
            t_full,
            full.value,
            np.nan,
        ),
    ]
    table = pd.DataFrame(
        [
            {
                "implementation": name,
                "n": n,
                "d": d,
                "dtype": "float32",
                "seconds": sec,
                "lps": value,
                "max_abs_diff_r2_vs_loop": diff,
            }
            for name, sec, value, diff in rows
        ]
    )
    table["speedup_vs_loop"] = t_loop / table.seconds
    table["ratio_to_bare_crossfit"] = table.seconds / t_bare
    return table


def nonlinear_latents(n: int, d: int, seed: int) -> np.ndarray:
    """Half Gaussian sources, half noisy nonlinear functions of them (known dependence)."""
    rng = np.random.default_rng(seed)
    half = d // 2
    src = rng.normal(size=(n, half))
    dep = np.sin(2.0 * src) + 0.5 * rng.normal(size=(n, half))
    return np.hstack([src, dep]).astype(np.float64)


def paper_loop(train: np.ndarray, test: np.ndarray, n_jobs: int = -1) -> np.ndarray:
    """The paper's LPS-lgbm: one LGBMRegressor (library defaults) per dimension."""
    from lightgbm import LGBMRegressor

    d = train.shape[1]
    pred = np.empty_like(test)
    for i in range(d):
        others = np.delete(np.arange(d), i)
        model = LGBMRegressor(verbose=-1, n_jobs=n_jobs).fit(train[:, others], train[:, i])
        pred[:, i] = model.predict(test[:, others])
    return pred


def bench_nonlinear(n: int = 50_000, d: int = 32, seed: int = 0) -> pd.DataFrame:
    """Nonlinear LPS at equal N vs the paper's per-dimension LightGBM loop, one run."""
    from lps_eval.predictors import get_predictor

    z = nonlinear_latents(n, d, seed)
    n_test = n // 4
    train, test = z[n_test:], z[:n_test]
    single = {"max_samples": None, "test_size": 0.25, "n_boot": 0, "null": False}
    single["structure"] = False

    t0 = time.perf_counter()
    loop = r2_per_column(test, paper_loop(train, test))
    t_loop_default = time.perf_counter() - t0
    t0 = time.perf_counter()
    loop_1 = r2_per_column(test, paper_loop(train, test, n_jobs=1))
    t_loop_1 = time.perf_counter() - t0
    t_loop = min(t_loop_default, t_loop_1)  # speed-ups against the faster loop
    rows = [
        ("paper loop: LGBMRegressor defaults per dimension (75/25 split)", t_loop_default, loop),
        ("paper loop with n_jobs=1 per LGBMRegressor", t_loop_1, loop_1),
    ]

    t0 = time.perf_counter()
    engine = get_predictor("lightgbm", early_stopping=False)
    shared = r2_per_column(test, engine.fit_predict(train, test, seed=0))
    rows.append(
        ("lightgbm shared binning, same split as the loop", time.perf_counter() - t0, shared)
    )
    runs = [
        (
            "lps(predictor='lightgbm', early_stopping=False), single split",
            "lightgbm",
            {"early_stopping": False},
        ),
        (
            "lps(predictor='lightgbm') (early_stopping=True, the default), single split",
            "lightgbm",
            {"early_stopping": True},
        ),
        ("lps(predictor='hgb'), single split", "hgb", {}),
    ]
    for name, predictor, params in runs:
        t0 = time.perf_counter()
        res = lps(z, predictor=predictor, predictor_params=params, **single)
        rows.append((name, time.perf_counter() - t0, res.per_dim))
    table = pd.DataFrame(
        [
            {
                "implementation": name,
                "n": n,
                "d": d,
                "seconds": sec,
                "lps": float(np.mean(r2)),
                "abs_diff_lps_vs_loop": abs(float(np.mean(r2)) - float(np.mean(loop))),
                "max_abs_diff_r2_vs_loop": float(np.abs(r2 - loop).max()),
            }
            for name, sec, r2 in rows
        ]
    )
    table["speedup_vs_loop"] = t_loop / table.seconds
    return table


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
                test_size=0.25,
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
    parser.add_argument(
        "--part", choices=["all", "linear", "nonlinear", "predictors"], default="all"
    )
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if args.part in ("all", "linear"):
        table = bench_linear()
        table.to_csv(RESULTS / "lps_linear.csv", index=False)
        print(table.to_string(index=False))
    if args.part in ("all", "nonlinear"):
        table = bench_nonlinear()
        table.to_csv(RESULTS / "lps_nonlinear.csv", index=False)
        print(table.to_string(index=False))
    if args.part in ("all", "predictors"):
        table = bench_predictors()
        table.to_csv(RESULTS / "lps_predictors.csv", index=False)
        print(table.to_string(index=False))


if __name__ == "__main__":
    main()
