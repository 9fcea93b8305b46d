"""``lps-eval compare`` and ``lps-eval report``: several models in one table, or one HTML file.

Both take the same model arguments: array files, trainer run directories, or quoted
globs (``'runs/*/latents.npz'``) expanded here. Registered in ``lps_eval.cli`` with one
line each in ``_LazyGroup.lazy``; stdout carries data only, messages go to stderr, and
exit codes follow ``lps-eval score`` (0 ok, 1 a gate failed, 2 input error).
"""

from __future__ import annotations

import glob
import json
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pandas as pd

from lps_eval._validation import LpsInputError
from lps_eval.cli_common import (
    fail,
    parse_option,
    records,
    report_gates,
    show_warning,
    split_metrics,
)
from lps_eval.results import jsonable

__all__ = ["check_model_gates", "compare", "expand_models", "report"]


def expand_models(patterns: tuple[str, ...] | list[str]) -> list[str]:
    """Paths from the arguments: globs expanded (sorted), plain paths kept as given."""
    paths: list[str] = []
    for pattern in patterns:
        if any(ch in pattern for ch in "*?["):
            hits = sorted(glob.glob(pattern))
            if not hits:
                raise LpsInputError(f"no file or directory matches {pattern!r}")
            paths += hits
        else:
            paths.append(pattern)
    if not paths:
        raise LpsInputError("give at least one latents file or run directory")
    return paths


def check_model_gates(table: pd.DataFrame, parsed: list) -> list[tuple[str, Any]]:
    """Check every gate against every model's rows: a list of ``(model, outcome)``."""
    from lps_eval.gate import check_gates

    out = []
    for model in table.attrs.get("models", []):
        rows = table[table["model"] == model]
        out += [(model, o) for o in check_gates(rows, parsed)]
    return out


def _common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.argument("models", nargs=-1, required=True),
        click.option("--names", help="Comma-separated model names (default: file stems)."),
        click.option(
            "--prior",
            default=None,
            help="Prior for every model (default: each run directory's own prior, else gaussian).",
        ),
        click.option(
            "--factors",
            "factors_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Ground-truth factors shared by every model.",
        ),
        click.option("--factors-key", help="Array name inside the factors .npz file."),
        click.option(
            "--baseline", help="Model the differences are taken against (default: first)."
        ),
        click.option("--metrics", "metrics", multiple=True, help="Metrics or sections."),
        click.option("--predictor", default=None, help="LPS predictor (default: hgb)."),
        click.option(
            "--predictor-param", "-P", "predictor_params", multiple=True, metavar="KEY=VALUE"
        ),
        click.option("--seed", type=int, default=None, help="Seed. [default: 0]"),
        click.option(
            "--n-boot", type=int, default=None, help="Bootstrap resamples. [default: 200]"
        ),
        click.option("--option", "-O", "extra", multiple=True, metavar="KEY=VALUE"),
        click.option(
            "--fail-if",
            "fail_if",
            multiple=True,
            metavar="EXPR",
            help="Exit 1 if true for any model, e.g. 'lps > 0.2'. Repeatable.",
        ),
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="pyproject.toml with [tool.lps-eval] (default: nearest one upward).",
        ),
        click.option("--no-config", is_flag=True, help="Ignore [tool.lps-eval]."),
        click.option("--progress/--no-progress", default=False, help="Progress on stderr."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _prepare(args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list]:
    """Models, compare() keyword arguments and parsed gates from the command's arguments."""
    import lps_eval.gate as gates
    from lps_eval.comparison import default_names
    from lps_eval.io import load_factors
    from lps_eval.scoring import planned_metrics

    config: dict[str, Any] = {}
    if not args["no_config"]:
        config = gates.load_config(args["config_path"] or gates.find_pyproject())
    expressions = list(args["fail_if"]) or list(config.get("fail-if", []))
    parsed = [gates.parse_gate(e) for e in expressions]
    paths = expand_models(args["models"])
    if args["names"]:
        names = [n.strip() for n in args["names"].split(",")]
        if len(names) != len(paths):
            raise LpsInputError(f"--names gives {len(names)} names for {len(paths)} models")
    else:
        names = default_names(paths)
    models = dict(zip(names, paths, strict=True))
    if len(models) < len(paths):
        raise LpsInputError("model names must be unique; pass --names")
    options: dict[str, Any] = dict(parse_option(o) for o in args["extra"])
    if args["predictor_params"]:
        options["predictor_params"] = dict(parse_option(o) for o in args["predictor_params"])
    predictor = args["predictor"] or config.get("predictor")
    if predictor is not None:
        options["predictor"] = predictor
    if args["n_boot"] is not None:
        options["n_boot"] = args["n_boot"]
    selection = split_metrics(args["metrics"]) or config.get("metrics")
    factors = factor_names = None
    if args["factors_path"] is not None:
        factors, factor_names = load_factors(args["factors_path"], key=args["factors_key"])
    has_factors = factors is not None or any(
        (Path(p) / "latents.npz").is_file() or Path(p).name == "latents.npz" for p in paths
    )
    planned = planned_metrics(selection, has_factors=has_factors)
    for gate in parsed:
        if gate.metric not in planned:
            raise LpsInputError(
                f"gate {gate.expression!r} names metric {gate.metric!r}, which this run does "
                f"not compute; computed here: {', '.join(sorted(planned))}"
            )
    kwargs = {
        "prior": args["prior"] or config.get("prior"),
        "factors": factors,
        "baseline": args["baseline"],
        "seed": args["seed"] if args["seed"] is not None else int(config.get("seed", 0)),
        "metrics": selection,
        "progress": args["progress"],
        **options,
    }
    if factor_names is not None:
        kwargs["factor_names"] = factor_names
    return models, kwargs, parsed


def _gate_verdicts(table: pd.DataFrame, parsed: list) -> list[tuple[str, Any]] | None:
    return check_model_gates(table, parsed) if parsed else None


def _report_gates(verdicts: list[tuple[str, Any]] | None) -> None:
    if verdicts:
        code = report_gates([o for _, o in verdicts], models=[m for m, _ in verdicts])
        if code:
            sys.exit(code)


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


@click.command("compare")
@_common_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv", "markdown", "latex"]),
    default="table",
    show_default=True,
    help="table: summary + differences; json/csv: the full tidy table; markdown/latex: "
    "the summary for a paper (best value in bold).",
)
def compare(fmt: str, **args: Any) -> None:
    """Score several MODELS (files, run directories, quoted globs) and their differences."""
    from lps_eval.comparison import compare as run_compare
    from lps_eval.comparison import format_summary, summarize

    warnings.showwarning = show_warning
    try:
        models, kwargs, parsed = _prepare(args)
        table = run_compare(models, **kwargs)
        verdicts = _gate_verdicts(table, parsed)
        summary = summarize(table)
    except (LpsInputError, OSError, MemoryError) as exc:
        fail(str(exc))
    if fmt == "json":
        payload: dict[str, Any] = {
            "results": records(table),
            "summary": jsonable(summary.reset_index().astype(object).to_dict("records")),
            "best": summary.attrs.get("best", {}),
            "settings": jsonable({k: v for k, v in table.attrs.items() if k != "versions"}),
            "versions": jsonable(table.attrs.get("versions", {})),
        }
        if verdicts is not None:
            payload["gate"] = {
                "passed": not any(o.failed for _, o in verdicts),
                "checks": [{"model": m, **jsonable(o.to_dict())} for m, o in verdicts],
            }
        click.echo(json.dumps(payload, indent=2, allow_nan=False))
    elif fmt == "csv":
        click.echo(table.to_csv(index=False), nl=False)
    elif fmt in ("markdown", "latex"):
        text = format_summary(summary, fmt)
        if fmt == "markdown":
            text += "\n" + _differences_markdown(table)
        click.echo(text)
    else:
        shown = summary.to_string(float_format=lambda v: f"{v:.4g}")
        best = ", ".join(f"{k}: {v}" for k, v in summary.attrs.get("best", {}).items())
        click.echo(shown + (f"\nbest: {best}" if best else "") + _differences_text(table))
    _report_gates(verdicts)


@click.command("report")
@_common_options
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("report.html"),
    show_default=True,
    help="The HTML file to write (self-contained: figures inline, no network).",
)
@click.option("--title", default=None, help="Report title.")
@click.option("--no-curve", is_flag=True, help="Skip the LPS learning curve (faster).")
def report(output: Path, title: str | None, no_curve: bool, **args: Any) -> None:
    """Write one self-contained HTML report of MODELS (files, run directories, globs)."""
    from lps_eval.reporting import report as run_report

    warnings.showwarning = show_warning
    try:
        models, kwargs, parsed = _prepare(args)
        result = run_report(
            models,
            output,
            fail_if=[g.expression for g in parsed],
            title=title,
            curve=not no_curve,
            **kwargs,
        )
    except (LpsInputError, OSError, MemoryError) as exc:
        fail(str(exc))
    except ImportError as exc:
        fail(f"the report needs matplotlib ({exc}); pip install 'lps-eval[plot]'")
    click.echo(str(result.path))
    _report_gates(result.gates)
