"""The timing and memory helpers every benchmark uses.

Benchmarks run as scripts (``python benchmarks/bench_x.py``), so this file is importable
as ``timing`` from them with no path manipulation. Speed claims are ratios measured in
one run, side by side (A B A B ..., medians); :func:`environment` and :class:`Quietness`
record what the machine was doing, because a busy core slows a multi-threaded peer far
more than a single-threaded one. Memory is measured as users' tools measure it: the peak
resident set of a whole process as the kernel reports it when the process is reaped
(``wait4``'s ``ru_maxrss``, the figure ``/usr/bin/time -v`` prints), which counts the
resident pages of memory-mapped files too.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"

__all__ = [
    "RESULTS",
    "Elapsed",
    "Quietness",
    "alternate",
    "environment",
    "machine",
    "measure",
    "peak_rss_of_command",
    "save",
    "summary",
    "timed",
]


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


@dataclass(frozen=True)
class Elapsed:
    """A side's own measurement of its time, when the wall time of the call is not it
    (e.g. a subprocess that reports the seconds of the metric alone, without start-up)."""

    seconds: float
    value: Any = None


def alternate(
    sides: dict[str, Callable[[], Any]], *, repeats: int = 3, warmup: Sequence[str] = ()
) -> tuple[dict[str, list[float]], dict[str, Any]]:
    """Wall seconds of every side, run in turn (A B C A B C ...), ``repeats`` times each.

    Interleaving keeps the ratio meaningful when the machine's speed drifts during the
    run: every side sees the same drift. The sides named in ``warmup`` are first called
    once, uncounted (imports, caches, thread pools). A side may return :class:`Elapsed` to
    report its own time. Returns ``(seconds per side, last result per side)``.
    """
    for name in warmup:
        sides[name]()
    seconds: dict[str, list[float]] = {name: [] for name in sides}
    results: dict[str, Any] = {}
    for _ in range(repeats):
        for name, fn in sides.items():
            result, sec = timed(fn)
            if isinstance(result, Elapsed):
                result, sec = result.value, result.seconds
            results[name] = result
            seconds[name].append(sec)
            print(f"  {name}: {sec:.3g}", flush=True)
    return seconds, results


def summary(values: Sequence[float]) -> dict[str, float | str]:
    """Median, min, max and every run (``;``-separated) of a list of measurements."""
    return {
        "median": float(statistics.median(values)),
        "min": float(min(values)),
        "max": float(max(values)),
        "runs": ";".join(f"{v:.4g}" for v in values),
    }


#: A small process that runs a command and writes the command's ``ru_maxrss`` (KiB) to a
#: file. Linux starts a child's ``ru_maxrss`` at its parent's peak (exec keeps the
#: high-water mark of the process that forked), so a command started straight from this
#: (big) benchmark process could never read below this process's own peak; started from
#: this launcher (a few MiB, imports nothing heavy) it reads what ``/usr/bin/time -v``
#: would.
_LAUNCHER = (
    "import os, subprocess, sys\n"
    "proc = subprocess.Popen(sys.argv[2:])\n"
    "_, status, usage = os.wait4(proc.pid, 0)\n"
    "open(sys.argv[1], 'w').write(str(usage.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(status))\n"
)


def peak_rss_of_command(
    command: Sequence[str], *, env: dict[str, str] | None = None
) -> tuple[float, float, str]:
    """``(peak RSS in MiB, wall seconds, stdout)`` of one run of ``command``.

    The peak is the command's own ``ru_maxrss`` from ``os.wait4`` in a small launcher
    process (see :data:`_LAUNCHER`): the kernel's high-water mark of its resident set,
    file-backed pages included, the figure ``/usr/bin/time -v`` prints as "Maximum
    resident set size". Output goes to temporary files, so the command never blocks on a
    full pipe.
    """
    with tempfile.TemporaryDirectory() as folder:
        peak_file = Path(folder) / "peak_kib"
        out_path, err_path = Path(folder) / "stdout", Path(folder) / "stderr"
        with out_path.open("w") as out, err_path.open("w") as err:
            t0 = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", _LAUNCHER, str(peak_file), *command],
                stdout=out, stderr=err, env=env, check=False,
            )  # fmt: skip
            seconds = time.perf_counter() - t0
        stdout, stderr = out_path.read_text(), err_path.read_text()
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {stderr[-2000:]}")
        peak_kib = int(peak_file.read_text())
    return peak_kib / 1024.0, seconds, stdout  # ru_maxrss is in KiB on Linux


def _busy_seconds() -> float | None:
    """CPU seconds the whole machine spent busy since boot (Linux /proc/stat), else None."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    t = os.times()  # this process and its reaped children
    return t.user + t.system + t.children_user + t.children_system


@dataclass
class Quietness:
    """What the rest of the machine did while a block ran.

    ``others_cpu`` is the fraction of the machine's cores that *other* processes kept
    busy (machine-wide busy CPU time from /proc/stat minus this process's and its
    children's), averaged over the block; ``load_before`` / ``load_after`` are the 1-minute
    load averages (the block's own work raises the second one). A speed ratio measured
    with other work on the cores is not published (see speed_table.py).
    """

    load_before: float = float("nan")
    load_after: float = float("nan")
    others_cpu: float = float("nan")
    _start: tuple[float, float | None, float] = field(default=(0.0, None, 0.0), repr=False)

    def __enter__(self) -> Quietness:
        self.load_before = round(os.getloadavg()[0], 2)
        self._start = (time.monotonic(), _busy_seconds(), _own_seconds())
        return self

    def __exit__(self, *exc) -> None:
        wall0, busy0, own0 = self._start
        wall, busy, own = time.monotonic() - wall0, _busy_seconds(), _own_seconds() - own0
        self.load_after = round(os.getloadavg()[0], 2)
        if busy is not None and busy0 is not None and wall > 0:
            others = (busy - busy0 - own) / (wall * (os.cpu_count() or 1))
            self.others_cpu = round(max(0.0, others), 3)

    def as_dict(self) -> dict[str, float]:
        return {
            "load_before": self.load_before,
            "load_after": self.load_after,
            "others_cpu": self.others_cpu,
        }


def machine() -> dict[str, Any]:
    """The machine the figures belong to: processor, cores, memory, OS."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem_gib = float("nan")
    return {
        "machine": f"{model}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, {platform.system()}",
        "cpu_count": os.cpu_count(),
    }


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
