"""What the ``lps-eval`` commands print: tables, JSON, CSV and gate verdicts.

stdout carries data only; messages go to stderr. Exit codes: 0 ok, 1 a quality gate
failed, 2 usage, input or I/O error (one line on stderr, no traceback), 130 interrupted.
"""

from __future__ import annotations

import json
import math
from typing import Any

import click
import pandas as pd

from lps_eval.cli.console import EXIT_GATE_FAILED, EXIT_OK
from lps_eval.results import jsonable

__all__ = [
    "emit",
    "format_sweep",
    "format_table",
    "gate_payload",
    "records",
    "report_gates",
    "report_model_errors",
    "show_warning",
]


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"warning: {message}", err=True)


def records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [jsonable(row) for row in table.astype(object).to_dict("records")]


def format_table(table: pd.DataFrame) -> str:
    """Overall rows as the headline, then one column per per-dimension metric."""

    def fmt(v: Any) -> str:
        return (
            ""
            if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
            else f"{v:.4g}"
        )

    overall = table[table["scope"] == "overall"][
        ["metric", "value", "ci_low", "ci_high", "p_value"]
    ]
    lines = [
        overall.to_string(index=False, na_rep="", formatters={c: fmt for c in overall.columns[1:]})
    ]
    per_dim = table[table["scope"] == "dim"]
    if "source_dim" in table.columns:
        per_dim = per_dim[per_dim["source_dim"].isna()]
    if not per_dim.empty:
        # dim x factor matrices (dci_importance): the factor each dim mostly captures and
        # that importance; the full matrix stays in the tidy rows (--format csv / json)
        matrix = per_dim["factor"].notna()
        wide = per_dim[~matrix].pivot_table(
            index="dim", columns="metric", values="value", aggfunc="first"
        )
        for metric, rows in per_dim[matrix].groupby("metric"):
            top = rows.loc[rows.groupby("dim")["value"].idxmax()].set_index("dim")
            wide[f"{metric}_top_factor"] = _names(top, "factor")
            wide[metric] = top["value"]
        wide.index = _names_index(per_dim, wide.index, "dim")
        wide.index.name = "dim"
        lines += ["", "per dimension:", wide.to_string(float_format=lambda v: f"{v:.4g}")]
    per_factor = table[table["scope"] == "factor"]
    if not per_factor.empty:
        wide = per_factor.pivot_table(
            index="factor", columns="metric", values="value", aggfunc="first"
        )
        wide.index = _names_index(per_factor, wide.index, "factor")
        wide.index.name = "factor"
        lines += ["", "per factor:", wide.to_string(float_format=lambda v: f"{v:.4g}")]
    return "\n".join(lines)


def _names(rows: pd.DataFrame, col: str) -> pd.Series:
    """The ``{col}_name`` column when present, else the index as text."""
    name_col = f"{col}_name"
    values = rows[name_col] if name_col in rows.columns else rows[col].astype(str)
    return values.astype(str)


def _names_index(rows: pd.DataFrame, index: pd.Index, col: str) -> pd.Index:
    """Row labels of a pivot: the names of the dims / factors, when the table has them."""
    name_col = f"{col}_name"
    if name_col not in rows.columns:
        return index
    lookup = dict(zip(rows[col].astype(int), rows[name_col].astype(str), strict=False))
    return pd.Index([lookup.get(int(i), str(i)) for i in index])


def gate_payload(outcomes: list[Any], models: list[str] | None = None) -> dict[str, Any]:
    """The ``gate`` object of the JSON output (each check with its model, when given)."""
    labels = [None] * len(outcomes) if models is None else models
    checks = []
    for model, outcome in zip(labels, outcomes, strict=True):
        check = jsonable(outcome.to_dict())
        checks.append(check if model is None else {"model": model, **check})
    return {"passed": not any(o.failed for o in outcomes), "checks": checks}


def emit(
    table: pd.DataFrame,
    fmt: str,
    outcomes: list | None,
    *,
    models: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Write the results to stdout in the chosen format (data only).

    ``models`` names the model of each gate outcome (many-model tables); ``extra`` adds
    top-level entries to the JSON object (e.g. a comparison's summary).
    """
    if fmt == "json":
        attrs = dict(table.attrs)
        payload: dict[str, Any] = {
            "results": records(table),
            **(extra or {}),
            "settings": jsonable({k: v for k, v in attrs.items() if k != "versions"}),
            "versions": jsonable(attrs.get("versions", {})),
        }
        if outcomes is not None:
            payload["gate"] = gate_payload(outcomes, models)
        click.echo(json.dumps(payload, indent=2, allow_nan=False))
    elif fmt == "csv":
        click.echo(table.to_csv(index=False), nl=False)
    else:
        click.echo(format_table(table))


def report_gates(outcomes: list[Any] | None, models: list[str] | None = None) -> int:
    """Print every failed check (``gate failed: ...``) or ``gate passed: N check(s)`` on
    stderr, and return the exit code: :data:`EXIT_GATE_FAILED` if any check failed.

    ``models`` (one name per outcome) prefixes each line with ``[model]``.
    """
    if not outcomes:
        return EXIT_OK
    labels = [""] * len(outcomes) if models is None else [f"[{m}] " for m in models]
    for label, outcome in zip(labels, outcomes, strict=True):
        if outcome.failed:
            click.echo(f"gate failed: {label}{outcome.reason}", err=True)
    if any(o.failed for o in outcomes):
        return EXIT_GATE_FAILED
    click.echo(f"gate passed: {len(outcomes)} check(s)", err=True)
    return EXIT_OK


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


def report_model_errors(table: pd.DataFrame) -> bool:
    """Print ``error: MODEL: message`` for every model that could not be scored; any?"""
    failed = table[table["status"] != "ok"].drop_duplicates("model")
    for model, message in zip(failed["model"], failed["error"], strict=True):
        click.echo(f"error: {model}: {message}", err=True)
    return not failed.empty
