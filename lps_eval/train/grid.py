"""Train a grid of runs (objectives x betas x seeds) into one directory with an index.

Layout of a grid directory::

    GRID/
      index.csv              one row per run: name, run_dir, objective, beta, seed,
                             status (done, skipped, resumed, interrupted, failed) and the
                             headline numbers; rewritten atomically after every run
      mmd_seed0/             an ordinary run directory (see lps_eval.train.checkpoint)
      kl_beta4_seed0/
      ...

Rerunning the same grid skips runs that finished (``metrics.json`` present and the same
settings), resumes runs that hold a checkpoint, and starts the rest. Runs are ordered
seed-major (every model's seed 0, then every model's seed 1, ...) so that a grid stopped
early still covers every model.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from lps_eval._validation import LpsInputError

__all__ = ["INDEX_FILE", "expand_grid", "parse_list", "parse_seeds", "run_grid"]

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
    """Run specs, seed-major; ``betas`` multiply only the ``kl`` runs.

    Each spec has ``name`` (the subdirectory) and the :func:`lps_eval.train.fit`
    arguments that vary (``objective``, ``beta``, ``seed``).
    """
    from lps_eval.train.objectives import normalize_objective

    betas = betas or [1.0]
    models: list[dict[str, Any]] = []
    for objective in objectives:
        key = normalize_objective(objective)
        for beta in betas if key == "kl" else [betas[0]]:
            tag = f"kl_beta{_beta_tag(beta)}" if key == "kl" and len(betas) > 1 else key
            models.append({"tag": tag, "objective": key, "beta": float(beta)})
    names = [m["tag"] for m in models]
    if len(set(names)) != len(names):
        raise LpsInputError(f"objectives {objectives} repeat a model")
    return [
        {
            "name": f"{m['tag']}_seed{seed}",
            "objective": m["objective"],
            "beta": m["beta"],
            "seed": seed,
        }
        for seed in seeds
        for m in models
    ]


def _same_settings(config: dict[str, Any], wanted: dict[str, Any]) -> bool:
    recorded = config.get("settings", {})
    return all(recorded.get(k) == v for k, v in wanted.items() if k in recorded)


def run_grid(
    runs: list[dict[str, Any]],
    out: str | Path,
    *,
    common: dict[str, Any],
    overwrite: bool = False,
    progress: bool = True,
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

    Returns
    -------
    DataFrame
        The index (also written to ``out/index.csv``).
    """
    from lps_eval.train.checkpoint import (
        CHECKPOINT_FILE,
        METRICS_FILE,
        atomic_write,
        is_finished,
        read_config,
    )
    from lps_eval.train.loop import TrainingInterrupted, fit, resume

    grid_dir = Path(out)
    foreign = grid_dir.is_dir() and any(grid_dir.iterdir())
    if foreign and not (grid_dir / INDEX_FILE).is_file() and not overwrite:
        raise LpsInputError(
            f"--out {grid_dir} is not empty and is not a grid directory (no {INDEX_FILE}); "
            "choose another directory or pass --overwrite"
        )
    grid_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []

    def write_index() -> pd.DataFrame:
        frame = pd.DataFrame(rows)
        atomic_write(grid_dir / INDEX_FILE, lambda tmp: frame.to_csv(tmp, index=False))
        return frame

    for spec in runs:
        name = spec["name"]
        kwargs = {**common, **{k: v for k, v in spec.items() if k != "name"}}
        run_dir = grid_dir / name
        row: dict[str, Any] = {"name": name, "run_dir": str(run_dir)}
        row.update({k: v for k, v in kwargs.items() if isinstance(v, (str, int, float))})
        rows.append(row)
        wanted = {k: v for k, v in kwargs.items() if k in ("objective", "beta", "seed")}
        try:
            if is_finished(run_dir) and not overwrite:
                if not _same_settings(read_config(run_dir), wanted):
                    raise LpsInputError(
                        f"{run_dir} holds a finished run with other settings; move it away or "
                        "pass --overwrite"
                    )
                row["status"] = "skipped"
                print(f"[grid] {name}: finished earlier, skipped", file=sys.stderr)
            elif (run_dir / CHECKPOINT_FILE).is_file() and not overwrite:
                print(f"[grid] {name}: resuming from its checkpoint", file=sys.stderr)
                resume(run_dir, progress=progress)
                row["status"] = "resumed"
            else:
                print(f"[grid] {name}: training", file=sys.stderr)
                fit(**kwargs, out=run_dir, overwrite=overwrite, progress=progress)
                row["status"] = "done"
        except TrainingInterrupted:
            row["status"] = "interrupted"
            write_index()
            raise
        except LpsInputError:
            row["status"] = "failed"
            write_index()
            raise
        except FloatingPointError as exc:  # a diverged run: record it, train the others
            row["status"] = "failed"
            row["error"] = str(exc)
            print(f"[grid] {name}: failed: {exc}", file=sys.stderr)
        if (run_dir / METRICS_FILE).is_file():
            metrics = json.loads((run_dir / METRICS_FILE).read_text())
            for key in (
                "nmse_db",
                "train_seconds",
                "eval_fraction",
                "final_lps_hgb",
                "final_lps_linear",
                "final_mmd2",
            ):
                row[key] = metrics.get(key)
        write_index()
    return write_index()
