"""``lps-eval compare``: several models in one table, with differences against a baseline.

Models are array files, trainer run directories or quoted globs
(``'runs/*/latents.npz'``), expanded by :func:`lps_eval.models.expand_models`. They are
scored on the sweep engine (``--scheduler``, ``--cache``), so a grid of trained models
runs on a Dask cluster and a rerun scores only what changed. stdout carries data only;
exit codes follow ``lps-eval score`` (0 ok, 1 a gate failed, 2 input error or a model
that could not be scored).
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import click
import pandas as pd

from lps_eval._validation import LpsInputError
from lps_eval.cli.console import EXIT_INPUT_ERROR, fail
from lps_eval.cli.output import emit, report_gates, report_model_errors, show_warning
from lps_eval.cli.preparation import Prepared, format_option, prepare, scoring_options
from lps_eval.results import jsonable

__all__ = ["compare_command", "model_arguments", "prepare_models"]

#: Metrics of the set of models (scored together after every model): UDR.
MULTI_MODEL_METRICS = ("udr",)


def model_arguments(func: Any) -> Any:
    """MODELS, ``--names`` and ``--baseline``: the model options of compare and report."""
    func = click.option(
        "--baseline", help="Model the differences are taken against (default: first)."
    )(func)
    func = click.option(
        "--names", help="Comma-separated model names (default: run or file names)."
    )(func)
    return click.argument("models", nargs=-1, required=True)(func)


def prepare_models(args: dict[str, Any]) -> tuple[list[Any], Prepared]:
    """The expanded models and the prepared scoring arguments of compare / report."""
    from lps_eval.models import expand_models, has_factors

    names = None if not args.get("names") else args["names"].split(",")
    specs = expand_models(list(args["models"]), names=names)
    prepared = prepare(
        args, has_factors=any(has_factors(s) for s in specs), extra_metrics=MULTI_MODEL_METRICS
    )
    return specs, prepared


def _differences_text(table: pd.DataFrame) -> str:
    diffs = table[table["scope"] == "difference"]
    if diffs.empty:
        return ""
    cols = ["model", "metric", "value", "ci_low", "ci_high", "p_value"]
    shown = diffs[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}")
    return f"\ndifferences ({table.attrs.get('pairing')}):\n{shown}"


def _differences_markdown(table: pd.DataFrame) -> str:
    diffs = table[table["scope"] == "difference"]
    if diffs.empty:
        return ""
    lines = [
        "",
        f"Differences against {table.attrs.get('baseline')} ({table.attrs.get('pairing')} "
        f"bootstrap, {table.attrs.get('confidence', 0.95):.0%} interval):",
        "",
        "| difference | metric | value | interval | p |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for row in diffs.itertuples():
        lines.append(
            f"| {row.model} | {row.metric} | {row.value:.4f} | "
            f"[{row.ci_low:.4f}, {row.ci_high:.4f}] | {row.p_value:.3g} |"
        )
    return "\n".join(lines)


def _show(table: pd.DataFrame, summary: pd.DataFrame, fmt: str, verdicts: list | None) -> None:
    from lps_eval.scoring.comparison import format_summary

    if fmt in ("json", "csv"):
        extra = {
            "summary": jsonable(summary.reset_index().astype(object).to_dict("records")),
            "best": summary.attrs.get("best", {}),
        }
        outcomes = None if verdicts is None else [o for _, o in verdicts]
        models = None if verdicts is None else [m for m, _ in verdicts]
        emit(table, fmt, outcomes, models=models, extra=extra)
    elif fmt in ("markdown", "latex"):
        text = format_summary(summary, fmt)
        if fmt == "markdown":
            text += "\n" + _differences_markdown(table)
        click.echo(text)
    elif summary.empty:
        click.echo("no model could be scored (the errors are on stderr)")
    else:
        shown = summary.to_string(float_format=lambda v: f"{v:.4g}")
        best = ", ".join(f"{k}: {v}" for k, v in summary.attrs.get("best", {}).items())
        click.echo(shown + (f"\nbest: {best}" if best else "") + _differences_text(table))


@click.command("compare")
@model_arguments
@scoring_options
@format_option(
    ("table", "json", "csv", "markdown", "latex"),
    help="table: summary + differences; json/csv: the full tidy table; markdown/latex: "
    "the summary for a paper (best value in bold).",
)
def compare_command(fmt: str, **args: Any) -> None:
    """Score several MODELS (files, run directories, quoted globs) and their differences."""
    from lps_eval.scoring.comparison import compare, summarize
    from lps_eval.scoring.gate import check_model_gates

    warnings.showwarning = show_warning
    try:
        specs, prepared = prepare_models(args)
        table = compare(
            {s.name: s.source for s in specs},
            baseline=args["baseline"],
            scheduler=args["scheduler"],
            cache=args["cache_dir"],
            key=args["key"],
            **prepared.kwargs,
        )
        verdicts = check_model_gates(table, prepared.gates) if prepared.gates else None
        summary = summarize(table)
    except (LpsInputError, OSError, MemoryError) as exc:
        fail(str(exc))
    _show(table, summary, fmt, verdicts)
    code = 0
    if verdicts:
        code = report_gates([o for _, o in verdicts], models=[m for m, _ in verdicts])
    if report_model_errors(table[table["scope"] != "difference"]):
        code = EXIT_INPUT_ERROR
    if code:
        sys.exit(code)
