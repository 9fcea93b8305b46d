"""``lps-eval report``: one self-contained HTML report of one or several models.

Takes the models and scoring options of ``lps-eval compare``; prints the path of the HTML
file on stdout. Exit codes follow ``lps-eval score``.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import click

from lps_eval._validation import LpsInputError
from lps_eval.cli.compare import model_arguments, prepare_models
from lps_eval.cli.console import fail
from lps_eval.cli.output import report_gates, show_warning
from lps_eval.cli.preparation import scoring_options

__all__ = ["report_command"]


@click.command("report")
@model_arguments
@scoring_options
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
def report_command(output: Path, title: str | None, no_curve: bool, **args: Any) -> None:
    """Write one self-contained HTML report of MODELS (files, run directories, globs)."""
    from lps_eval.reporting import report

    warnings.showwarning = show_warning
    try:
        specs, prepared = prepare_models(args)
        result = report(
            {s.name: s.source for s in specs},
            output,
            fail_if=[g.expression for g in prepared.gates],
            title=title,
            curve=not no_curve,
            baseline=args["baseline"],
            scheduler=args["scheduler"],
            cache=args["cache_dir"],
            key=args["key"],
            **prepared.kwargs,
        )
    except (LpsInputError, OSError, MemoryError) as exc:
        fail(str(exc))
    except ImportError as exc:
        fail(f"the report needs matplotlib ({exc}); pip install 'lps-eval[plot]'")
    click.echo(str(result.path))
    if result.gates:
        code = report_gates([o for _, o in result.gates], models=[m for m, _ in result.gates])
        if code:
            sys.exit(code)
