"""The ``lps-eval`` command line: scoring, demo data and a CI quality gate.

stdout carries data only (the table, JSON or CSV); warnings, progress and gate verdicts
go to stderr. Exit codes: 0 ok, 1 a ``--fail-if`` threshold failed, 2 usage, input or
I/O error (one line on stderr, no traceback).
"""

from __future__ import annotations

import importlib
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any, ClassVar

import click
import numpy as np
import pandas as pd

from lps_eval._validation import LpsInputError
from lps_eval.results import jsonable

EXIT_OK, EXIT_GATE_FAILED, EXIT_INPUT_ERROR = 0, 1, 2


class _LazyGroup(click.Group):
    """A group whose heavy subcommands (torch) are imported only when invoked."""

    lazy: ClassVar[dict[str, str]] = {
        "train": "lps_eval.train.cli:train",
        "encode": "lps_eval.train.cli:encode",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, attr = self.lazy[name].split(":")
            try:
                return getattr(importlib.import_module(module), attr)
            except ImportError as exc:
                _fail(f"'lps-eval {name}' needs PyTorch ({exc}); pip install 'lps-eval[torch]'")
        return super().get_command(ctx, name)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_INPUT_ERROR)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    click.echo(f"warning: {message}", err=True)


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


def _parse_option(text: str) -> tuple[str, Any]:
    if "=" not in text:
        raise LpsInputError(f"--option {text!r} must look like KEY=VALUE, e.g. permutations=500")
    key, raw = (part.strip() for part in text.split("=", 1))
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return key, lowered == "true"
    if lowered in ("none", "null"):
        return key, None
    for cast in (int, float):
        try:
            return key, cast(raw)
        except ValueError:
            pass
    return key, raw


def _split_metrics(values: tuple[str, ...]) -> list[str] | None:
    names = [m.strip() for v in values for m in v.split(",") if m.strip()]
    return names or None


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    return [jsonable(row) for row in table.astype(object).to_dict("records")]


def _format_table(table: pd.DataFrame) -> str:
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
        wide = per_dim.pivot_table(index="dim", columns="metric", values="value", aggfunc="first")
        lines += ["", "per dimension:", wide.to_string(float_format=lambda v: f"{v:.4g}")]
    per_factor = table[table["scope"] == "factor"]
    if not per_factor.empty:
        wide = per_factor.pivot_table(
            index="factor", columns="metric", values="value", aggfunc="first"
        )
        lines += ["", "per factor:", wide.to_string(float_format=lambda v: f"{v:.4g}")]
    return "\n".join(lines)


def emit(table: pd.DataFrame, fmt: str, outcomes: list | None) -> None:
    """Write the results to stdout in the chosen format (data only)."""
    if fmt == "json":
        attrs = dict(table.attrs)
        payload: dict[str, Any] = {
            "results": _records(table),
            "settings": jsonable({k: v for k, v in attrs.items() if k != "versions"}),
            "versions": jsonable(attrs.get("versions", {})),
        }
        if outcomes is not None:
            payload["gate"] = {
                "passed": not any(o.failed for o in outcomes),
                "checks": [jsonable(o.to_dict()) for o in outcomes],
            }
        click.echo(json.dumps(payload, indent=2, allow_nan=False))
    elif fmt == "csv":
        click.echo(table.to_csv(index=False), nl=False)
    else:
        click.echo(_format_table(table))


@main.command()
@click.argument("latents", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--key", help="Array name inside an .npz or .pt file.")
@click.option(
    "--prior",
    default=None,
    help="Prior spec, e.g. gaussian, uniform(-1, 1), "
    "'hybrid(gaussian; bimodal(2, 0.5))', samples:PATH.  [default: gaussian]",
)
@click.option(
    "--factors",
    "factors_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Ground-truth factors file (enables the supervised metrics).",
)
@click.option("--factors-key", help="Array name inside the factors .npz file.")
@click.option(
    "--metrics",
    "metrics",
    multiple=True,
    help="Metrics or sections to compute (comma-separated or repeated).",
)
@click.option(
    "--predictor",
    default=None,
    help="LPS predictor: linear, hgb, mlp, knn, lightgbm, torch.  [default: hgb]",
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
    help="Any other score option, e.g. -O permutations=500 -O kernel=imq.",
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
def score(
    latents,
    key,
    prior,
    factors_path,
    factors_key,
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
) -> None:
    """Score LATENTS (.npy .npz .csv .parquet .pt; rows = samples)."""
    from lps_eval import gate as gates
    from lps_eval.io import load_array, load_factors
    from lps_eval.score import planned_metrics
    from lps_eval.score import score as run_score

    warnings.showwarning = _show_warning
    try:
        config: dict[str, Any] = {}
        if not no_config:
            config = gates.load_config(config_path or gates.find_pyproject())
        expressions = list(fail_if) or list(config.get("fail-if", []))
        parsed = [gates.parse_gate(e) for e in expressions]  # fail fast, before the work
        options: dict[str, Any] = dict(_parse_option(o) for o in extra)
        if predictor_params:
            options["predictor_params"] = dict(_parse_option(o) for o in predictor_params)
        for name, value in (
            ("predictor", predictor or config.get("predictor")),
            ("test_size", test_size),
            ("n_boot", n_boot),
        ):
            if value is not None:
                options[name] = value
        selection = _split_metrics(metrics) or config.get("metrics")
        planned = planned_metrics(selection, has_factors=factors_path is not None)
        for gate in parsed:  # a gate on a metric that will not be computed: say so now
            if gate.metric not in planned:
                raise LpsInputError(
                    f"gate {gate.expression!r} names metric {gate.metric!r}, which this run "
                    f"does not compute; computed here: {', '.join(sorted(planned))}"
                )
        z = load_array(latents, key=key)
        factors = names = None
        if factors_path is not None:
            factors, names = load_factors(factors_path, key=factors_key)
        table = run_score(
            z,
            prior=prior or config.get("prior", "gaussian"),
            factors=factors,
            factor_names=names,
            metrics=selection,
            seed=seed if seed is not None else int(config.get("seed", 0)),
            progress=progress,
            **options,
        )
        outcomes = gates.check_gates(table, parsed) if parsed else None
    except (LpsInputError, OSError, MemoryError) as exc:
        _fail(str(exc))
    emit(table, fmt, outcomes)
    if outcomes:
        for outcome in outcomes:
            if outcome.failed:
                click.echo(f"gate failed: {outcome.reason}", err=True)
        if any(o.failed for o in outcomes):
            sys.exit(EXIT_GATE_FAILED)
        click.echo(f"gate passed: {len(outcomes)} check(s)", err=True)


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
    from lps_eval.datasets import digits_latents
    from lps_eval.score import score as run_score

    warnings.showwarning = _show_warning
    z, labels = digits_latents(n_components=8, seed=seed)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        np.save(out_dir / "digits_pca_latents.npy", z.astype(np.float32))
        np.save(out_dir / "digits_labels.npy", labels)
    except OSError as exc:
        _fail(f"cannot write demo files to {out_dir}: {exc}")
    click.echo(
        f"demo data: {out_dir / 'digits_pca_latents.npy'} ({z.shape[0]} x {z.shape[1]})", err=True
    )
    emit(run_score(z, seed=seed), fmt, None)


@main.command(name="metrics")
def list_metrics() -> None:
    """List the metrics `score` can compute, by section."""
    from lps_eval.score import available_metrics

    for section, names in available_metrics().items():
        click.echo(f"{section}: {', '.join(names)}")


if __name__ == "__main__":  # pragma: no cover
    main()
