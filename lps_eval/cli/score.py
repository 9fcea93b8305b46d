"""``lps-eval score``: score one latent space, or a sweep of many, as a CI quality gate.

One file prints the tidy table; several files, run directories or quoted glob patterns
(``'runs/*/z.npy'``) score a sweep (:func:`lps_eval.score_many`): one table with a
``model`` column, in the order given. Exit codes: 0 everything scored and passed, 1 a
gate failed, 2 bad input or a model that could not be scored (its row says why; the
other models are still scored and printed).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import click

from lps_eval._validation import LpsInputError
from lps_eval.cli.console import EXIT_INPUT_ERROR, fail
from lps_eval.cli.output import (
    emit,
    format_sweep,
    report_gates,
    report_model_errors,
    show_warning,
)
from lps_eval.cli.preparation import Prepared, format_option, index_col, prepare, scoring_options

__all__ = ["score_command"]


@click.command("score")
@click.argument("latents", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--index-col",
    default=None,
    metavar="NAME|N|none",
    help="CSV/parquet: the column holding a pandas index (dropped), or 'none' to keep "
    "every column. [default: detect an unnamed first column or one equal to 0..n-1, "
    "drop it with a warning]",
)
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=None,
    help="Refuse input files or archive members larger than this (declared sizes are "
    "checked before reading). A .npy is memory-mapped, never loaded whole, so it is not "
    "capped. [default: 4 GiB]",
)
@scoring_options
@format_option()
def score_command(latents: tuple[Path, ...], fmt: str, **args: Any) -> None:
    """Score LATENTS (.npy .npz .csv .parquet .pt, or run directories; rows = samples).

    Several files or quoted glob patterns ('runs/*/z.npy') score a sweep: one table with
    a `model` column, in the order given (see --scheduler, --cache).
    """
    from lps_eval.models import has_factors

    warnings.showwarning = show_warning
    io_opts = {
        "index_col": index_col(args.pop("index_col")),
        "max_bytes": args.pop("max_bytes"),  # None: the default cap (and zip-bomb check)
    }
    # an explicit --index-col names a latents column; factors keep the detection (or none
    # at all with --index-col none)
    factor_io = {**io_opts, "index_col": False if io_opts["index_col"] is False else None}
    many = (
        len(latents) > 1
        or args["scheduler"]
        or args["cache_dir"]
        or any(c in str(p) for p in latents for c in "*?[")
    )
    try:
        from lps_eval.models import expand_models

        specs = expand_models([str(p) for p in latents])
        prepared = prepare(
            args, has_factors=any(has_factors(s) for s in specs), factor_io=factor_io
        )
        if many:
            sys.exit(_sweep(latents, prepared, args, fmt))
        table = _score_one(latents[0], prepared, args["key"], io_opts)
        outcomes = _gates(table, prepared)
    except MemoryError:
        fail("out of memory; lower max_samples / permutations or score fewer rows")
    except (LpsInputError, OSError) as exc:
        fail(str(exc))
    emit(table, fmt, outcomes)
    code = report_gates(outcomes)
    if code:
        sys.exit(code)


def _gates(table: Any, prepared: Prepared) -> list | None:
    from lps_eval.scoring.gate import check_gates

    return check_gates(table, prepared.gates) if prepared.gates else None


def _score_one(path: Path, prepared: Prepared, key: str | None, io_opts: dict[str, Any]) -> Any:
    """One file (its column names kept) or one run directory (its prior and factors)."""
    from lps_eval.io import load_table
    from lps_eval.models import is_run_dir, read_model
    from lps_eval.scoring import score

    kwargs = dict(prepared.kwargs)
    if is_run_dir(path) or path.is_dir():
        model = read_model(path, key=key)
        if kwargs["factors"] is None and model.factors is not None:
            kwargs["factors"], kwargs["factor_names"] = model.factors, model.factor_names
        if kwargs["prior"] is None:
            kwargs["prior"] = model.prior
        z, dim_names = model.z, None
    else:
        z, dim_names = load_table(path, key=key, **io_opts)
    if kwargs["prior"] is None:
        kwargs["prior"] = "gaussian"
    return score(z, dim_names=dim_names, **kwargs)


def _sweep(latents: tuple[Path, ...], prepared: Prepared, args: dict[str, Any], fmt: str) -> int:
    """Score the models, print the table, check the gates; returns the exit code."""
    from lps_eval.scoring.gate import check_model_gates
    from lps_eval.scoring.sweep import score_many

    kwargs = {k: v for k, v in prepared.kwargs.items() if k != "progress"}
    table = score_many(
        [str(p) for p in latents],
        scheduler=args["scheduler"],
        cache=args["cache_dir"],
        key=args["key"],
        progress=prepared.kwargs["progress"],
        **kwargs,
    )
    verdicts = check_model_gates(table, prepared.gates) if prepared.gates else None
    outcomes = None if verdicts is None else [o for _, o in verdicts]
    if fmt == "table":
        click.echo(format_sweep(table))
    else:
        emit(table, fmt, outcomes, models=None if verdicts is None else [m for m, _ in verdicts])
    sweep = table.attrs["sweep"]
    click.echo(
        f"sweep: {sweep['n_models']} model(s), {sweep['n_cached']} from cache, "
        f"{sweep['n_failed']} failed",
        err=True,
    )
    code = report_gates(outcomes, models=None if verdicts is None else [m for m, _ in verdicts])
    if report_model_errors(table):
        code = EXIT_INPUT_ERROR
    return code
