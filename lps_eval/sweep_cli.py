"""``lps-eval score`` over many models: the sweep half of the command.

``lps-eval score a.npy b.npy 'runs/*/z.npy' --scheduler local:4 --cache .lps-cache``
scores every model with :func:`lps_eval.sweep.score_many` and prints one table with a
``model`` column. Gates (``--fail-if``) are checked on every model. Exit codes: 0 all
models scored and passed, 1 a gate failed on some model, 2 some model could not be
scored (its row says why; the other models are still scored and printed).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import pandas as pd

from lps_eval.cli_common import report_gates
from lps_eval.console import EXIT_INPUT_ERROR

__all__ = ["format_sweep", "run_sweep"]


def format_sweep(table: pd.DataFrame) -> str:
    """One line per model: its overall values side by side, then status and error."""
    order = list(dict.fromkeys(table["model"]))
    overall = table[table["scope"] == "overall"]
    wide = overall.pivot_table(index="model", columns="metric", values="value", aggfunc="first")
    wide = wide.reindex(order)
    status = table.groupby("model", sort=False)[["status", "error"]].first().reindex(order)
    wide["status"] = status["status"]
    if status["error"].notna().any():
        wide["error"] = status["error"].fillna("").str.slice(0, 80)

    def fmt(v: Any) -> str:
        return "" if isinstance(v, float) and math.isnan(v) else f"{v:.4g}"

    return wide.to_string(
        na_rep="", formatters={c: fmt for c in wide.columns if c not in ("status", "error")}
    )


def run_sweep(
    latents: Sequence[Path],
    key: str | None,
    scheduler: str | None,
    cache_dir: Path | None,
    options: dict[str, Any],
    parsed_gates: list[Any],
    fmt: str,
    emit: Callable[[pd.DataFrame, str, list | None], None],
) -> int:
    """Score the models, print the table, check the gates; returns the exit code."""
    from lps_eval import gate as gates
    from lps_eval.sweep import score_many

    table = score_many(
        [str(p) for p in latents], scheduler=scheduler, cache=cache_dir, key=key, **options
    )
    outcomes: list[Any] | None = None
    if parsed_gates:
        outcomes = []
        for model, block in table[table["status"] == "ok"].groupby("model", sort=False):
            for outcome in gates.check_gates(block, parsed_gates):
                outcomes.append(replace(outcome, reason=f"{model}: {outcome.reason}"))
    if fmt == "table":
        click.echo(format_sweep(table))
    else:
        emit(table, fmt, outcomes)
    sweep = table.attrs["sweep"]
    click.echo(
        f"sweep: {sweep['n_models']} model(s), {sweep['n_cached']} from cache, "
        f"{sweep['n_failed']} failed",
        err=True,
    )
    code = report_gates(outcomes)
    if sweep["n_failed"]:
        failed = table[table["status"] != "ok"]
        for model, message in zip(failed["model"], failed["error"], strict=True):
            click.echo(f"error: {model}: {message}", err=True)
        code = EXIT_INPUT_ERROR
    return code
