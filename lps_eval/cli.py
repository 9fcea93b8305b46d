"""The ``lps-eval`` command line: scoring, demo data and a CI quality gate.

stdout carries data only (the table, JSON or CSV); warnings, progress and gate verdicts
go to stderr. Exit codes: 0 ok, 1 a ``--fail-if`` threshold failed, 2 usage, input or
I/O error (one line on stderr, no traceback), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from pathlib import Path
from typing import Any, ClassVar

import click
import numpy as np

from lps_eval._validation import LpsInputError
from lps_eval.cli_common import (
    EXIT_INTERRUPTED,
    emit,
    fail,
    parse_option,
    report_gates,
    show_warning,
    split_metrics,
)
from lps_eval.options import did_you_mean
from lps_eval.predictors import predictor_specs
from lps_eval.prior_matching.priors import prior_forms
from lps_eval.sweep import SCHEDULER_CHOICES


class _LazyGroup(click.Group):
    """A group whose heavy subcommands (torch) are imported only when invoked."""

    lazy: ClassVar[dict[str, str]] = {
        "train": "lps_eval.train.cli:train",
        "encode": "lps_eval.train.cli:encode",
        "compare": "lps_eval.cli_compare:compare",
        "report": "lps_eval.cli_compare:report",
    }

    def invoke(self, ctx: click.Context) -> Any:
        # Ctrl-C: one line and 130 (the shell convention), never click's "Aborted!" with
        # exit 1, which a CI job would read as a failed gate.
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # a bug: never a traceback with exit 1 (the gate's code)
            if os.environ.get("LPS_EVAL_TRACEBACK"):
                raise
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            fail(
                f"unexpected {type(exc).__name__}: {first} (a bug in lps-eval, please report "
                "it; set LPS_EVAL_TRACEBACK=1 to see the traceback)"
            )

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, attr = self.lazy[name].split(":")
            try:
                return getattr(importlib.import_module(module), attr)
            except ImportError as exc:
                fail(f"'lps-eval {name}' needs PyTorch ({exc}); pip install 'lps-eval[torch]'")
        return super().get_command(ctx, name)


#: ``--format``, shared by every command that prints results.
_format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="Output on stdout: a readable table, or JSON / CSV for machines.",
)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lps-eval")
def main() -> None:
    """Is this latent space any good? Score latent codes from any encoder."""


def _index_col(text: str | None) -> int | str | bool | None:
    """``--index-col``: None (detect), 'none' (keep every column), a position or a name."""
    if text is None:
        return None
    if text.strip().lower() == "none":
        return False
    return int(text) if text.strip().isdigit() else text


@main.command()
@click.argument("latents", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", help="Array name inside an .npz or .pt file.")
@click.option(
    "--prior",
    default=None,
    help="Prior spec, one of: "
    + ", ".join(prior_forms())
    + "; e.g. 'hybrid(gaussian; bimodal(2, 0.5))'.  [default: gaussian]",
)
@click.option(
    "--factors",
    "factors_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Ground-truth factors file (enables the supervised metrics).",
)
@click.option("--factors-key", help="Array name inside the factors .npz file.")
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
@click.option(
    "--metrics",
    "metrics",
    multiple=True,
    help="Metrics or sections to compute (comma-separated or repeated); "
    "`lps-eval metrics` lists them.",
)
@click.option(
    "--predictor",
    default=None,
    help="LPS predictor: " + ", ".join(predictor_specs()) + ".  [default: hgb]",
)
@click.option(
    "--predictor-param",
    "-P",
    "predictor_params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Option of the predictor, e.g. -P max_iter=50 or -P device=cuda. Repeatable.",
)
@click.option("--seed", type=int, default=None, help="Seed for every random choice. [default: 0]")
@click.option(
    "--test-size",
    type=float,
    default=None,
    help="LPS held-out fraction of one split. [default: 5-fold cross-fitting]",
)
@click.option(
    "--n-boot", type=int, default=None, help="Bootstrap resamples for intervals. [default: 200]"
)
@click.option(
    "--option",
    "-O",
    "extra",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any other score option, SECTION.KEY=VALUE, e.g. -O mmd.permutations=500 "
    "-O independence.kernel=imq (see `lps-eval metrics --options`).",
)
@_format_option
@click.option(
    "--fail-if",
    "fail_if",
    multiple=True,
    metavar="EXPR",
    help="Exit 1 if true, e.g. 'lps > 0.2', 'mmd.p_value < 0.01'. Repeatable.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="pyproject.toml with [tool.lps-eval] (default: nearest one upward).",
)
@click.option("--no-config", is_flag=True, help="Ignore [tool.lps-eval] in pyproject.toml.")
@click.option("--progress/--no-progress", default=False, help="Progress bar on stderr.")
@click.option(
    "--scheduler",
    default=None,
    help=f"Many models: {SCHEDULER_CHOICES}.",
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Many models: folder of cached results (by content hash and settings).",
)
def score(
    latents,
    key,
    prior,
    factors_path,
    factors_key,
    index_col,
    max_bytes,
    metrics,
    predictor,
    predictor_params,
    seed,
    test_size,
    n_boot,
    extra,
    fmt,
    fail_if,
    config_path,
    no_config,
    progress,
    scheduler,
    cache_dir,
) -> None:
    """Score LATENTS (.npy .npz .csv .parquet .pt; rows = samples).

    Several files or quoted glob patterns ('runs/*/z.npy') score a sweep: one table with
    a `model` column, in the order given (see --scheduler, --cache).
    """
    from lps_eval import gate as gates
    from lps_eval.io import DEFAULT_MAX_BYTES, load_factors, load_table
    from lps_eval.scoring import planned_metrics
    from lps_eval.scoring import score as run_score

    warnings.showwarning = show_warning
    try:
        config: dict[str, Any] = {}
        if not no_config:
            config = gates.load_config(config_path or gates.find_pyproject())
        expressions = list(fail_if) or list(config.get("fail-if", []))
        parsed = [gates.parse_gate(e) for e in expressions]  # fail fast, before the work
        options: dict[str, Any] = dict(parse_option(o) for o in extra)
        if predictor_params:
            options["predictor_params"] = dict(parse_option(o) for o in predictor_params)
        for name, value in (
            ("predictor", predictor if predictor is not None else config.get("predictor")),
            ("lps.test_size", test_size),
            ("lps.n_boot", n_boot),
        ):
            if value is not None:
                options[name] = value
        selection = split_metrics(metrics) or config.get("metrics")
        planned = planned_metrics(selection, has_factors=factors_path is not None)
        for gate in parsed:  # a gate on a metric that will not be computed: say so now
            if gate.metric not in planned:
                raise LpsInputError(
                    f"gate {gate.expression!r} names metric {gate.metric!r}, which this run "
                    f"does not compute{did_you_mean(gate.metric, planned)}; "
                    f"computed here: {', '.join(sorted(planned))}"
                )
        io_opts = {
            "index_col": _index_col(index_col),
            "max_bytes": max_bytes or DEFAULT_MAX_BYTES,
        }
        factors = names = None
        if factors_path is not None:
            # an explicit --index-col names a latents column; factors keep the detection
            # (or none at all with --index-col none)
            factor_opts = {**io_opts, "index_col": False if io_opts["index_col"] is False else None}
            factors, names = load_factors(factors_path, key=factors_key, **factor_opts)
        common = dict(
            prior=prior if prior is not None else config.get("prior", "gaussian"),
            factors=factors,
            factor_names=names,
            metrics=selection,
            progress=progress,
            seed=seed if seed is not None else config.get("seed", 0),
            **options,
        )
        if (
            len(latents) > 1
            or scheduler
            or cache_dir
            or any(c in str(p) for p in latents for c in "*?[")
        ):
            from lps_eval.sweep_cli import run_sweep

            sys.exit(run_sweep(latents, key, scheduler, cache_dir, common, parsed, fmt, emit))
        z, dim_names = load_table(latents[0], key=key, **io_opts)
        table = run_score(z, dim_names=dim_names, **common)
        outcomes = gates.check_gates(table, parsed) if parsed else None
    except MemoryError:
        fail("out of memory; lower max_samples / permutations or score fewer rows")
    except (LpsInputError, OSError) as exc:
        fail(str(exc))
    emit(table, fmt, outcomes)
    code = report_gates(outcomes)
    if code:
        sys.exit(code)


@main.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("lps-eval-demo"),
    show_default=True,
    help="Folder for the demo latents and factors.",
)
@_format_option
@click.option("--seed", type=int, default=0, show_default=True)
def demo(out_dir: Path, fmt: str, seed: int) -> None:
    """Score built-in data: PCA codes of scikit-learn's digits (no download).

    PCA codes are linearly uncorrelated, so linear LPS is ~0, but far from independent:
    the nonlinear LPS shows it. Writes the arrays so you can re-run `lps-eval score`.
    """
    from lps_eval.scoring import score as run_score
    from lps_eval.simulations import digits_latents

    warnings.showwarning = show_warning
    z, labels = digits_latents(n_components=8, seed=seed)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        np.save(out_dir / "digits_pca_latents.npy", z.astype(np.float32))
        np.save(out_dir / "digits_labels.npy", labels)
    except OSError as exc:
        fail(f"cannot write demo files to {out_dir}: {exc}")
    click.echo(
        f"demo data: {out_dir / 'digits_pca_latents.npy'} ({z.shape[0]} x {z.shape[1]})", err=True
    )
    emit(run_score(z, seed=seed), fmt, None)


@main.command(name="metrics")
@click.option(
    "--options", "show_options", is_flag=True, help="List every option namespace with defaults."
)
def list_metrics(show_options: bool) -> None:
    """List the metrics `score` can compute, by section (or the options, by namespace)."""
    from lps_eval.scoring import available_metrics, namespace_defaults

    if show_options:
        for space, defaults in namespace_defaults().items():
            values = ", ".join(f"{k}={v!r}" for k, v in defaults.items())
            click.echo(f"{space}: {values}")
        return
    for section, names in available_metrics().items():
        click.echo(f"{section}: {', '.join(names)}")


if __name__ == "__main__":  # pragma: no cover
    main()
