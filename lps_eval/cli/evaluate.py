"""``lps-eval evaluate ENCODER --dataset NAME``: encode a dataset, score it, gate it.

ENCODER is a trainer run directory, a TorchScript file or ``MODULE:FUNCTION`` (a Python
function from images to codes); see :func:`lps_eval.evaluate`. Without ``--dataset`` a
run is evaluated on the dataset it was trained on. The table, JSON and CSV outputs and
the ``--fail-if`` gates are those of ``lps-eval score``; gates may also name the rows
``kl`` and ``active_dims`` that ``evaluate`` adds for Gaussian encoders. Exit codes: 0
ok, 1 a gate failed, 2 bad input, a missing file or dependency (one line on stderr).
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import click

from lps_eval._validation import LpsInputError
from lps_eval.cli.console import fail
from lps_eval.cli.output import emit, report_gates, show_warning
from lps_eval.cli.preparation import format_option, prepare, scoring_options

__all__ = ["evaluate_command"]

#: Rows evaluate adds to score's table (they may be selected and gated like score's).
_OWN_METRICS = ("kl", "active_dims")


def _dataset_name(encoder: str, dataset: str | None) -> str:
    """``--dataset``, or the run's own dataset (the trainer's 'dsprites' is the procedural one)."""
    if dataset:
        return dataset
    path = Path(encoder)
    if not path.is_dir():
        raise LpsInputError("--dataset NAME is required (see `lps-eval data list`)")
    import json

    from lps_eval.models import CONFIG_FILE

    try:
        config = json.loads((path / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        raise LpsInputError(f"{path} has no readable {CONFIG_FILE}; pass --dataset NAME") from None
    name = str(config.get("dataset") or "")
    if name == "dsprites" and not config.get("dataset_official"):
        click.echo(
            "note: the run was trained on the trainer's procedural dSprites; evaluating on "
            "'dsprites_procedural' (pass --dataset dsprites for the official images)",
            err=True,
        )
        return "dsprites_procedural"
    if not name:
        raise LpsInputError(f"{path}/{CONFIG_FILE} names no dataset; pass --dataset NAME")
    return name


def _refuse_unused(args: dict[str, Any]) -> None:
    for key, flag in (
        ("factors_path", "--factors"),
        ("scheduler", "--scheduler"),
        ("cache_dir", "--cache"),
        ("key", "--key"),
    ):
        if args.get(key):
            raise LpsInputError(
                f"{flag} does not apply to evaluate (the dataset brings its images and factors)"
            )


@click.command("evaluate")
@click.argument("encoder")
@click.option("--dataset", default=None, help="Dataset name (`lps-eval data list`). "
              "[default: a run's own dataset]")  # fmt: skip
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Where the official files are. [default: $LPS_EVAL_DATA, else the user cache]")  # fmt: skip
@click.option("--max-images", type=click.IntRange(min=10), default=None,
              help="Encode a seeded uniform subset of this many images. [default: all]")  # fmt: skip
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True)
@click.option("--representation", type=click.Choice(["mean", "sampled"]), default="mean",
              show_default=True, help="VAEs: score the posterior mean or one sample.")  # fmt: skip
@click.option("--active-only", is_flag=True,
              help="VAEs: score only dimensions with mean KL above --active-threshold.")  # fmt: skip
@click.option("--active-threshold", type=float, default=0.01, show_default=True,
              help="KL (nats) above which a dimension counts as active.")  # fmt: skip
@click.option("--save", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the codes (mean, sampled, logvar, KL per dim, factors) to this .npz.")  # fmt: skip
@click.option("--device", default="cpu", show_default=True, help="Torch device for encoding.")
@scoring_options
@format_option()
def evaluate_command(encoder: str, fmt: str, **args: Any) -> None:
    """Encode a dataset with ENCODER (run dir, TorchScript file or MODULE:FUNCTION), score it.

    Supervised metrics use disentanglement_lib's study sample sizes; everything else is
    as in `lps-eval score`.
    """
    from lps_eval.evaluation import evaluate
    from lps_eval.scoring.gate import check_gates

    warnings.showwarning = show_warning
    try:
        _refuse_unused(args)
        name = _dataset_name(encoder, args.pop("dataset"))
        from lps_eval.data import get_spec

        spec = get_spec(name)
        prepared = prepare(args, has_factors=spec.factors is not None, extra_metrics=_OWN_METRICS)
        kwargs = dict(prepared.kwargs)
        for key in ("factors", "factor_names"):
            kwargs.pop(key)
        progress = kwargs.pop("progress")
        table = evaluate(
            encoder,
            name,
            data_dir=args["data_dir"],
            representation=args["representation"],
            active_only=args["active_only"],
            active_threshold=args["active_threshold"],
            max_images=args["max_images"],
            batch_size=args["batch_size"],
            save=args["save"],
            device=args["device"],
            progress=progress or sys.stderr.isatty(),
            **kwargs,
        )
        outcomes = check_gates(table, prepared.gates) if prepared.gates else None
    except MemoryError:
        fail("out of memory; pass --max-images or a smaller --batch-size")
    except (LpsInputError, OSError) as exc:
        fail(str(exc))
    emit(table, fmt, outcomes)
    code = report_gates(outcomes)
    if code:
        sys.exit(code)
