"""The one timing helper every benchmark uses.

Benchmarks run as scripts (``python benchmarks/bench_x.py``), so this file is importable
as ``timing`` from them with no path manipulation. Speed claims are ratios measured in
one run, side by side; :func:`environment` records what the machine was doing, because a
busy core slows a multi-threaded peer far more than a single-threaded one.
"""

from __future__ import annotations

import os
import platform
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"

__all__ = ["RESULTS", "environment", "measure", "save", "timed"]


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``(result, wall seconds)`` of one call of ``fn()``."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def measure(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """``(result, wall seconds, peak traced MiB)`` of one call (tracemalloc sees numpy)."""
    tracemalloc.start()
    try:
        result, seconds = timed(fn)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, seconds, peak / 2**20


def environment() -> dict[str, Any]:
    """What the numbers depend on: cores, load at the start, library versions."""
    from lps_eval.results import library_versions

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {
        "cpu_count": os.cpu_count(),
        "load_1min": round(load, 2),
        "machine": platform.machine(),
        **{f"version_{k}": v for k, v in library_versions().items()},
    }


def save(table: pd.DataFrame, name: str, *, with_environment: bool = True) -> Path:
    """Write ``benchmarks/results/<name>.csv`` (with the environment columns) and print it."""
    if with_environment:
        table = table.assign(**environment())
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.csv"
    table.to_csv(path, index=False)
    print(table.to_string(index=False))
    return path
