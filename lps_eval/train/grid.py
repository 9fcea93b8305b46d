"""Train a grid of runs (objectives x betas x seeds) into one directory with an index.

Layout of a grid directory::

    GRID/
      index.csv              one row per run, in grid order: name, run_dir, the settings
                             that are plain values, the headline numbers, then status
                             (pending, done, skipped, resumed, interrupted, failed) and
                             error; written at the start and rewritten atomically as each
                             run finishes
      mmd_seed0/             an ordinary run directory (see lps_eval.train.checkpoint)
      kl_beta4_seed0/
      ...

Rerunning the same grid skips runs that finished (``metrics.json`` present and the same
settings), resumes runs that hold a checkpoint, starts over runs that an interruption
stopped before their first checkpoint (the trainer's own files only; nothing else in
the run directory is touched), and starts the rest. Runs are ordered seed-major (every
model's seed 0, then every model's seed 1, ...) so that a grid stopped early still
covers every model. A run that fails (bad settings, a diverged loss, any error) is a
row with ``status = "failed"`` and the one-line message in ``error``; the other runs go
on, as in a scoring sweep (:mod:`lps_eval.schedulers`).

With ``scheduler=`` (``processes[:N]``, ``local:N``, ``tcp://HOST:PORT`` or a Dask
``Client``; see :mod:`lps_eval.schedulers`) each run is one task on a worker process. A
worker trains one run at a time with one torch thread (unless ``num_threads`` says
otherwise), so on the CPU a run trained on a worker is bit-identical to the same run
trained serially with the same thread count. ``threads`` is refused: torch's random
generator and thread count are per process, so runs in threads of one process would
draw from each other's random streams.
"""

from __future__ import annotations

import json
import re
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from lps_eval._validation import LpsInputError
from lps_eval.train import signals
from lps_eval.train.loop import TrainingInterrupted

__all__ = [
    "INDEX_FILE",
    "GridInterrupted",
    "expand_grid",
    "parse_list",
    "parse_seeds",
    "run_grid",
]

INDEX_FILE = "index.csv"


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` -> [0, 1, 2, 3, 4]; ``"0,2,7"`` -> [0, 2, 7]; ranges and lists combine."""
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
        if match:
            lo, hi = int(match.group(1)), int(match.group(2))
            if hi < lo:
                raise LpsInputError(f"seed range {part!r} runs backwards; write {hi}-{lo}")
            seeds += list(range(lo, hi + 1))
        elif part.isdigit():
            seeds.append(int(part))
        else:
            raise LpsInputError(f"cannot read seeds {text!r}; use e.g. 0-4 or 0,1,5")
    if len(set(seeds)) != len(seeds):
        raise LpsInputError(f"seeds {text!r} repeat a seed")
    return seeds


def parse_list(text: str, *, cast: Any = str, name: str) -> list[Any]:
    """Comma-separated values, each passed through ``cast``."""
    try:
        values = [cast(v.strip()) for v in str(text).split(",") if v.strip()]
    except ValueError as exc:
        raise LpsInputError(f"cannot read {name} {text!r}: {exc}") from exc
    if not values:
        raise LpsInputError(f"{name} is empty")
    return values


def _beta_tag(beta: float) -> str:
    return f"{beta:g}".replace(".", "p")


def expand_grid(
    objectives: list[str], seeds: list[int], betas: list[float] | None = None
) -> list[dict[str, Any]]:
    """Run specs, seed-major; ``betas`` multiply the runs of objectives with a ``beta``.

    Each spec has ``name`` (the subdirectory) and the :func:`lps_eval.train.fit`
    arguments that vary: ``objective``, ``beta`` (None for objectives without one, and
    for every run when ``betas`` is None: the objective's default) and ``seed``.
    """
    from lps_eval.train.objectives import normalize_objective, objective_specs

    models: list[dict[str, Any]] = []
    for objective in objectives:
        key = normalize_objective(objective)
        has_beta = any(p.name == "beta" for p in objective_specs()[key].params)
        for beta in (betas or [None]) if has_beta else [None]:
            tag = f"{key}_beta{_beta_tag(beta)}" if betas and len(betas) > 1 and has_beta else key
            models.append({"tag": tag, "objective": key, "beta": beta})
    names = [m["tag"] for m in models]
    if len(set(names)) != len(names):
        raise LpsInputError(f"objectives {objectives} repeat a model")
    return [
        {
            "name": f"{m['tag']}_seed{seed}",
            "objective": m["objective"],
            "beta": None if m["beta"] is None else float(m["beta"]),
            "seed": seed,
        }
        for seed in seeds
        for m in models
    ]


def _same_settings(config: dict[str, Any], wanted: dict[str, Any]) -> bool:
    """Do the recorded settings (and objective parameters) agree with ``wanted``?"""
    recorded = dict(config.get("settings", {}))
    recorded.update(recorded.get("objective_params") or {})
    return all(recorded.get(k) == v for k, v in wanted.items() if k in recorded)


class GridInterrupted(TrainingInterrupted):
    """SIGINT or SIGTERM stopped a grid; ``index.csv`` lists what finished.

    A subclass of :class:`~lps_eval.train.TrainingInterrupted`, so code that catches
    that keeps working; rerunning the same grid continues it.

    Attributes
    ----------
    signum : int
        The signal (``signal.SIGINT`` or ``signal.SIGTERM``).
    grid_dir : Path
        The grid directory.
    finished, unfinished : list of str
        Names of the runs with and without a result in the index.
    step : int
        A serial grid: the step at which the interrupted run wrote its checkpoint;
        -1 on a parallel scheduler (each worker's run stopped wherever it was).
    run_dir : Path or None
        A serial grid: the interrupted run; None on a parallel scheduler.
    """

    def __init__(
        self,
        signum: int,
        grid_dir: Path,
        finished: list[str],
        unfinished: list[str],
        *,
        step: int = -1,
        run_dir: Path | None = None,
    ) -> None:
        self.signum, self.step, self.run_dir = int(signum), int(step), run_dir
        self.grid_dir, self.finished, self.unfinished = Path(grid_dir), finished, unfinished
        where = (
            f"{run_dir.name} stopped at step {step} (checkpoint written); "
            if run_dir is not None
            else ""
        )
        Exception.__init__(
            self,
            f"grid interrupted: {where}{len(finished)} of {len(finished) + len(unfinished)} "
            f"runs finished (see {self.grid_dir / INDEX_FILE}); rerun the same command to "
            "continue: finished runs are skipped, interrupted runs resume from their last "
            "checkpoint (or start over without one)",
        )


class _Stop(BaseException):
    """A signal arrived while a parallel grid waited for its workers.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` on the way
    (a failed run, a lost worker) can swallow it.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise :class:`_Stop` in the main thread (once; a second one
    gets the previous handler, e.g. Ctrl-C twice skips the cleanup)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}

    def handle(signum: int, frame: Any) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        raise _Stop(signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handle)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


#: Headline numbers copied from a run's metrics.json into the index.
_METRIC_COLUMNS = (
    "nmse_db",
    "train_seconds",
    "eval_fraction",
    "final_lps_hgb",
    "final_lps_linear",
    "final_mmd2",
)
#: One training per process at a time: torch's random generator, thread count and
#: deterministic-algorithms flag are process-wide (a Dask worker may run several threads).
_ONE_RUN_PER_PROCESS = threading.Lock()
#: Set in a worker process whose run a signal interrupted (a process pool: Ctrl-C reaches
#: every process of the terminal's group): runs handed to it afterwards are not started.
_STOPPED = threading.Event()


#: Keys of a run spec that are index columns even when empty (beta of an mmd run).
_SPEC_COLUMNS = ("objective", "beta", "seed")


def _base_row(task: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"name": task["name"], "run_dir": str(task["run_dir"])}
    row.update(
        {
            k: v
            for k, v in task["kwargs"].items()
            if isinstance(v, (str, int, float)) or k in _SPEC_COLUMNS
        }
    )
    return row


@contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """torch's thread count for runs that do not set ``num_threads``, restored afterwards."""
    if threads is None:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _started_by_trainer(run_dir: Path) -> bool:
    """True when ``run_dir`` holds a ``config.json`` the trainer wrote (a run it started)."""
    from lps_eval.train.checkpoint import read_config

    try:
        config = read_config(run_dir)
    except LpsInputError:  # none, or not the trainer's: leave the directory alone
        return False
    return isinstance(config.get("settings"), dict) and "architecture" in config


def _wanted_settings(kwargs: dict[str, Any]) -> dict[str, Any]:
    """What a finished run must have recorded to count as this run: objective, seed and
    every objective parameter (defaults included)."""
    from lps_eval.train.objectives import normalize_objective, resolve_params

    objective = normalize_objective(kwargs.get("objective", "mmd"))
    legacy = {k: kwargs.get(k) for k in ("beta", "kernel")}
    legacy["lambda"] = kwargs.get("mmd_weight")
    params = resolve_params(
        objective, kwargs.get("objective_params"), legacy=legacy, unknown_shortcuts="ignore"
    )
    return {"objective": objective, "seed": kwargs.get("seed", 0), **params}


def _train_run(task: dict[str, Any]) -> dict[str, Any]:
    """Train, resume or skip one run of a grid; its index row (plain values).

    Module-level so that process pools and Dask workers can pickle it. Every failure
    becomes ``status = "failed"`` with ``error = "Type: message"``, so one bad run never
    stops the grid; :class:`~lps_eval.train.TrainingInterrupted` propagates in a serial
    grid (the grid stops there) and is an ``interrupted`` row on a worker.
    """
    from lps_eval.train.checkpoint import (
        CHECKPOINT_FILE,
        is_finished,
        read_config,
    )
    from lps_eval.train.loop import fit, resume

    name, kwargs, run_dir = task["name"], task["kwargs"], Path(task["run_dir"])
    overwrite, parallel = task["overwrite"], task["parallel"]
    progress = task["progress"] and not parallel  # bars of several workers would interleave
    row = _base_row(task)

    def say(message: str) -> None:
        if not parallel:
            print(f"[grid] {name}: {message}", file=sys.stderr, flush=True)

    if parallel and _STOPPED.is_set():
        return {**row, "status": "pending", "error": None}
    try:
        with _ONE_RUN_PER_PROCESS, _torch_threads(task["threads"]):
            if is_finished(run_dir) and not overwrite:
                if not _same_settings(read_config(run_dir), _wanted_settings(kwargs)):
                    raise LpsInputError(
                        f"{run_dir} holds a finished run with other settings; move it away "
                        "or pass --overwrite"
                    )
                status = "skipped"
                say("finished earlier, skipped")
            elif (run_dir / CHECKPOINT_FILE).is_file() and not overwrite:
                say("resuming from its checkpoint")
                resume(run_dir, progress=progress)
                status = "resumed"
            else:
                # stopped before its first checkpoint (a killed worker): nothing to resume,
                # start over, replacing the trainer's own files only
                restart = not overwrite and _started_by_trainer(run_dir)
                say(
                    "starting over (stopped before its first checkpoint)" if restart else "training"
                )
                fit(**kwargs, out=run_dir, overwrite=overwrite or restart, progress=progress)
                status = "done"
    except TrainingInterrupted:
        if not parallel:
            raise
        _STOPPED.set()
        status = "interrupted"  # a worker process got the signal and wrote a checkpoint
    except Exception as exc:  # a bad setting, a diverged loss, a bug: this run only
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}")
        say(f"failed: {exc}")
        return row
    return {**row, **_headline(run_dir), "status": status, "error": None}


def _headline(run_dir: Path) -> dict[str, Any]:
    """The index's numbers from a finished run's metrics.json (none for other runs)."""
    from lps_eval.train.checkpoint import METRICS_FILE

    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return {}
    metrics = json.loads(path.read_text())
    return {key: metrics.get(key) for key in _METRIC_COLUMNS}


def run_grid(
    runs: list[dict[str, Any]],
    out: str | Path,
    *,
    common: dict[str, Any],
    overwrite: bool = False,
    progress: bool = True,
    scheduler: Any = None,
) -> pd.DataFrame:
    """Train every run of ``runs`` into ``out/<name>`` and keep ``out/index.csv`` current.

    Parameters
    ----------
    runs : list of dict
        Each has ``name`` plus :func:`lps_eval.train.fit` keyword arguments for that run.
    out : path
        The grid directory (created; a non-empty one must already be a grid, i.e. hold
        ``index.csv``, unless ``overwrite``).
    common : dict
        :func:`~lps_eval.train.fit` arguments shared by every run (dataset, preset...).
    overwrite : bool
        Retrain finished runs too, replacing only the trainer's files.
    progress : bool
        Progress bar of each run (serial grids) and one line per finished run.
    scheduler : str, dask Client or None
        Where runs train: ``None``/``"serial"`` (one after the other, here),
        ``"processes[:N]"``, ``"local:N"`` (a Dask LocalCluster of N single-threaded
        worker processes), ``"tcp://HOST:PORT"`` or a ``distributed.Client``; see
        :mod:`lps_eval.schedulers`. Workers need lps-eval and torch installed and must see
        ``out`` at the same path. Finished runs are skipped here, without a worker.

    Returns
    -------
    DataFrame
        The index (also written to ``out/index.csv``), one row per run in the order of
        ``runs`` whatever order they finished in.

    Raises
    ------
    GridInterrupted
        SIGINT / SIGTERM: the index was written (finished runs, the rest ``pending`` or
        ``interrupted``); rerunning the same grid continues it. Serial: the running run
        wrote a checkpoint first. Parallel: pending tasks are cancelled and the cluster
        closed; a run that was training resumes from its last periodic checkpoint
        (``checkpoint_every``) or starts over. On a cluster this process did not start
        (an address or a Client), a task already running cannot be stopped and finishes
        on its worker.
    LpsInputError
        ``out`` is not a grid directory, or an unknown or ``threads`` scheduler.
    """
    from lps_eval.schedulers import scheduler_kind

    kind = scheduler_kind(scheduler)  # a bad --scheduler is refused before any work
    if kind == "threads":
        raise LpsInputError(
            f"scheduler {scheduler!r}: training needs one process per run (torch's random "
            "generator and thread count are per process); use processes[:N] or local:N"
        )
    grid = _Grid(runs, Path(out), common=common, overwrite=overwrite, progress=progress)
    grid.open(parallel=kind != "serial", scheduler=scheduler)
    if kind == "serial":
        return grid.run_serial()
    return grid.run_parallel(scheduler)


class _Grid:
    """The state of one grid: its tasks, their index rows, and the index file.

    ``rows[i]`` is task ``i``'s current index row; :meth:`write_index` rewrites
    ``index.csv`` atomically from them, in grid order.
    """

    def __init__(
        self,
        runs: list[dict[str, Any]],
        grid_dir: Path,
        *,
        common: dict[str, Any],
        overwrite: bool,
        progress: bool,
    ) -> None:
        self.runs, self.grid_dir, self.common = runs, grid_dir, common
        self.overwrite, self.progress = overwrite, progress

    def open(self, *, parallel: bool, scheduler: Any) -> None:
        """Check the directory, make the tasks and write the first index (all ``pending``).

        Raises
        ------
        LpsInputError
            A non-empty directory that is not a grid (no ``index.csv``), unless overwriting.
        """
        grid_dir = self.grid_dir
        foreign = grid_dir.is_dir() and any(grid_dir.iterdir())
        if foreign and not (grid_dir / INDEX_FILE).is_file() and not self.overwrite:
            raise LpsInputError(
                f"--out {grid_dir} is not empty and is not a grid directory (no {INDEX_FILE}); "
                "choose another directory or pass --overwrite"
            )
        grid_dir.mkdir(parents=True, exist_ok=True)
        self.tasks = [
            {
                "name": spec["name"],
                "kwargs": {**self.common, **{k: v for k, v in spec.items() if k != "name"}},
                "run_dir": str(grid_dir / spec["name"]),
                "overwrite": self.overwrite,
                "parallel": parallel,
                "progress": self.progress,
                # one torch thread per worker: numbers do not depend on how many run at once
                "threads": 1 if parallel else None,
            }
            for spec in self.runs
        ]
        self.rows = [{**_base_row(task), "status": "pending", "error": None} for task in self.tasks]
        self.write_index()
        if self.progress:
            where = (
                "" if not parallel else f" on {scheduler if isinstance(scheduler, str) else 'Dask'}"
            )
            print(
                f"grid of {len(self.tasks)} runs into {grid_dir}{where}",
                file=sys.stderr,
                flush=True,
            )

    def write_index(self) -> pd.DataFrame:
        """Rewrite ``index.csv`` from the rows (``status`` and ``error`` last) and return it."""
        from lps_eval.train.checkpoint import atomic_write

        frame = pd.DataFrame(self.rows)
        last = ["status", "error"]  # as in a scoring sweep
        frame = frame[[c for c in frame.columns if c not in last] + last]
        atomic_write(self.grid_dir / INDEX_FILE, lambda tmp: frame.to_csv(tmp, index=False))
        return frame

    def stop_line(self) -> str:
        """What a signal that ends the process between runs' steps says (the CLI)."""
        return (
            f"grid interrupted: {len(self.finished())} of {len(self.rows)} runs finished "
            f"(see {self.grid_dir / INDEX_FILE}); rerun the same command to continue"
        )

    def finished(self) -> list[str]:
        """Names of the runs with a result."""
        return [r["name"] for r in self.rows if r["status"] not in ("pending", "interrupted")]

    def unfinished(self) -> list[str]:
        """Names of the runs without a result (not started, or interrupted)."""
        return [r["name"] for r in self.rows if r["status"] in ("pending", "interrupted")]

    def run_serial(self) -> pd.DataFrame:
        """Train the runs one after the other here; a signal stops the grid after a checkpoint.

        Raises
        ------
        GridInterrupted
            The running run wrote its checkpoint; the index lists it as ``interrupted``.
        """
        for i, task in enumerate(self.tasks):
            try:
                with signals.lock_description(self.stop_line()):
                    self.rows[i] = _train_run(task)
            except TrainingInterrupted as exc:
                self.rows[i]["status"] = "interrupted"
                self.write_index()
                raise GridInterrupted(
                    exc.signum,
                    self.grid_dir,
                    self.finished(),
                    self.unfinished(),
                    step=exc.step,
                    run_dir=exc.run_dir,
                ) from None
            self.write_index()
        return self.write_index()

    def run_parallel(self, scheduler: Any) -> pd.DataFrame:
        """Skip finished runs here, train the others on ``scheduler``'s workers.

        Raises
        ------
        GridInterrupted
            SIGINT / SIGTERM: pending tasks cancelled; the index says how far each got.
        """
        from lps_eval.schedulers import map_models
        from lps_eval.train.checkpoint import is_finished

        self.todo = []  # finished runs are read here; only the others go to workers
        for i, task in enumerate(self.tasks):
            if is_finished(task["run_dir"]) and not self.overwrite:
                self.rows[i] = _train_run({**task, "parallel": False, "threads": None})  # skipped
            else:
                self.todo.append(i)
        self.write_index()
        signals.describe(self.stop_line())
        if self.progress and self.todo:
            print(f"[grid] {len(self.todo)} runs to train", file=sys.stderr, flush=True)
        try:
            with _stop_on_signals():
                map_models(
                    _train_run,
                    [self.tasks[i] for i in self.todo],
                    scheduler=scheduler,
                    on_result=self.arrived,
                )
        except (_Stop, KeyboardInterrupt) as stop:
            self.record_interruption()
            signum = stop.signum if isinstance(stop, _Stop) else signal.SIGINT
            raise GridInterrupted(
                signum, self.grid_dir, self.finished(), self.unfinished()
            ) from None
        return self.write_index()

    def arrived(self, position: int, result: Any, cached: bool) -> None:
        """A worker's result: its row replaces the pending one; the index is rewritten."""
        i = self.todo[position]
        if not (isinstance(result, dict) and "name" in result):  # the task itself failed
            error = result.get("error") if isinstance(result, dict) else repr(result)
            result = {**self.rows[i], "status": "failed", "error": error}
        self.rows[i] = result
        self.write_index()
        if self.progress:
            note = f": {result['error']}" if result["status"] == "failed" else ""
            print(
                f"[grid] {result['name']}: {result['status']}{note} "
                f"({len(self.finished())}/{len(self.rows)} runs finished)",
                file=sys.stderr,
                flush=True,
            )

    def record_interruption(self) -> None:
        """After a signal: the files say how far each run got whose result did not arrive."""
        from lps_eval.train.checkpoint import is_finished

        for i in self.todo:
            if self.rows[i]["status"] != "pending":
                continue
            run_dir = Path(self.tasks[i]["run_dir"])
            if is_finished(run_dir):  # finished as the signal came
                self.rows[i].update(_headline(run_dir), status="done")
            elif _started_by_trainer(run_dir):
                self.rows[i]["status"] = "interrupted"
        self.write_index()
