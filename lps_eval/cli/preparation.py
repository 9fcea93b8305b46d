"""One preparation of a scoring command: its options, config, gates and keyword arguments.

``score``, ``compare`` and ``report`` (and ``evaluate``) share their scoring options
(:func:`scoring_options`) and turn them into the keyword arguments of the Python API in
one place (:func:`prepare`), in this order, before any work:

1. ``[tool.lps-eval]`` of the nearest pyproject.toml (unless ``--no-config``);
2. the gates (``--fail-if`` or the config's ``fail-if``), parsed;
3. the options (``-O SECTION.KEY=VALUE``, ``-P KEY=VALUE``, ``--predictor``,
   ``--test-size``, ``--n-boot``), resolved into their namespaces and checked;
4. the metric selection and a check that every gate names a metric the run computes;
5. the shared factors file, read once.

A flag given on the command line wins over the config; the config over the defaults.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from lps_eval._validation import LpsInputError
from lps_eval.options import did_you_mean
from lps_eval.schedulers import SCHEDULER_CHOICES

__all__ = [
    "Prepared",
    "format_option",
    "index_col",
    "parse_option",
    "prepare",
    "scoring_options",
    "split_metrics",
]


def parse_option(text: str, *, flag: str = "--option") -> tuple[str, Any]:
    """``KEY=VALUE`` with the value cast to bool, None, int or float where it reads as one."""
    if "=" not in text:
        example = "-P max_iter=50" if flag == "-P" else "-O mmd.permutations=500"
        raise LpsInputError(f"{flag} {text!r} must look like KEY=VALUE, e.g. {example}")
    key, raw = (part.strip() for part in text.split("=", 1))
    if not key:
        raise LpsInputError(f"{flag} {text!r} has no KEY before '='")
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


def split_metrics(values: tuple[str, ...]) -> list[str] | None:
    """``--metrics a,b --metrics c`` as ``["a", "b", "c"]`` (None when not given)."""
    names = [m.strip() for v in values for m in v.split(",") if m.strip()]
    return names or None


def index_col(text: str | None) -> int | str | bool | None:
    """``--index-col``: None (detect), 'none' (keep every column), a position or a name."""
    if text is None:
        return None
    if text.strip().lower() == "none":
        return False
    return int(text) if text.strip().isdigit() else text


def format_option(choices: tuple[str, ...] = ("table", "json", "csv"), help: str | None = None):
    """``--format``, shared by every command that prints results."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default="table",
        show_default=True,
        help=help or "Output on stdout: a readable table, or JSON / CSV for machines.",
    )


# long: one declaration per option, in the order --help lists them
def scoring_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The options every scoring command takes (``score``, ``compare``, ``report``, ...)."""
    from lps_eval.predictors import predictor_specs
    from lps_eval.prior_matching.priors import prior_forms

    options = [
        click.option(
            "--prior",
            default=None,
            help="Prior spec, one of: "
            + ", ".join(prior_forms())
            + "; e.g. 'hybrid(gaussian; bimodal(2, 0.5))'.  [default: a run directory's own "
            "prior, else gaussian]",
        ),
        click.option(
            "--factors",
            "factors_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Ground-truth factors file (enables the supervised metrics).",
        ),
        click.option("--factors-key", help="Array name inside the factors .npz file."),
        click.option("--key", help="Array name inside .npz or .pt latents files."),
        click.option(
            "--metrics",
            "metrics",
            multiple=True,
            help="Metrics or sections to compute (comma-separated or repeated); "
            "`lps-eval metrics` lists them.",
        ),
        click.option(
            "--predictor",
            default=None,
            help="LPS predictor: " + ", ".join(predictor_specs()) + ".  [default: hgb]",
        ),
        click.option(
            "--predictor-param",
            "-P",
            "predictor_params",
            multiple=True,
            metavar="KEY=VALUE",
            help="Option of the predictor, e.g. -P max_iter=50 or -P device=cuda. Repeatable.",
        ),
        click.option(
            "--seed", type=int, default=None, help="Seed for every random choice. [default: 0]"
        ),
        click.option(
            "--test-size",
            type=float,
            default=None,
            help="LPS held-out fraction of one split. [default: 5-fold cross-fitting]",
        ),
        click.option(
            "--n-boot",
            type=int,
            default=None,
            help="Bootstrap resamples for intervals. [default: 200]",
        ),
        click.option(
            "--option",
            "-O",
            "extra",
            multiple=True,
            metavar="KEY=VALUE",
            help="Any other score option, SECTION.KEY=VALUE, e.g. -O mmd.permutations=500 "
            "-O independence.kernel=imq (see `lps-eval metrics --options`).",
        ),
        click.option(
            "--fail-if",
            "fail_if",
            multiple=True,
            metavar="EXPR",
            help="Exit 1 if true (for any model), e.g. 'lps > 0.2', 'mmd.p_value < 0.01'. "
            "Repeatable.",
        ),
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, path_type=Path),
            help="pyproject.toml with [tool.lps-eval] (default: nearest one upward).",
        ),
        click.option("--no-config", is_flag=True, help="Ignore [tool.lps-eval] in pyproject.toml."),
        click.option("--progress/--no-progress", default=False, help="Progress on stderr."),
        click.option("--scheduler", default=None, help=f"Many models: {SCHEDULER_CHOICES}."),
        click.option(
            "--cache",
            "cache_dir",
            type=click.Path(file_okay=False, path_type=Path),
            help="Many models: folder of cached results (by content hash and settings).",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@dataclass
class Prepared:
    """A scoring command's arguments, checked, as the Python API takes them.

    Attributes
    ----------
    kwargs : dict
        ``prior``, ``factors``, ``factor_names``, ``metrics``, ``seed``, ``progress`` and
        the options by namespace, for :func:`lps_eval.score` / :func:`lps_eval.compare`.
    gates : list of Gate
    config : dict
        ``[tool.lps-eval]`` as read (empty with ``--no-config``).
    """

    kwargs: dict[str, Any]
    gates: list[Any] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)


def _options(args: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """``-O``, ``-P`` and the shorthand flags as score options (dotted names)."""
    options: dict[str, Any] = dict(parse_option(o) for o in args.get("extra", ()))
    if args.get("predictor_params"):
        options["predictor_params"] = dict(
            parse_option(o, flag="-P") for o in args["predictor_params"]
        )
    predictor = args.get("predictor") or config.get("predictor")
    for name, value in (
        ("predictor", predictor),
        ("lps.test_size", args.get("test_size")),
        ("lps.n_boot", args.get("n_boot")),
    ):
        if value is not None:
            options[name] = value
    return options


def _check_gate_metrics(gates: list[Any], planned: set[str]) -> None:
    for gate in gates:  # a gate on a metric that will not be computed: say so now
        if gate.metric not in planned:
            raise LpsInputError(
                f"gate {gate.expression!r} names metric {gate.metric!r}, which this run "
                f"does not compute{did_you_mean(gate.metric, planned)}; "
                f"computed here: {', '.join(sorted(planned))}"
            )


def prepare(
    args: dict[str, Any],
    *,
    has_factors: bool | None = None,
    factor_io: dict[str, Any] | None = None,
    extra_metrics: tuple[str, ...] = (),
) -> Prepared:
    """Turn a scoring command's arguments into checked keyword arguments (see the module).

    Parameters
    ----------
    args : dict
        The command's arguments (the names :func:`scoring_options` gives them).
    has_factors : bool, optional
        Whether the models bring factors of their own (run directories); the shared
        factors file counts too.
    factor_io : dict, optional
        Reading options for the factors file (``index_col``, ``max_bytes``).
    extra_metrics : tuple of str
        Rows the command adds to score's table itself (``evaluate``'s ``kl``): they may be
        selected with ``--metrics`` and gated, and are kept in ``kwargs["metrics"]``.
    """
    from lps_eval.io import load_factors
    from lps_eval.scoring import gate as gates_module
    from lps_eval.scoring import namespace_defaults, planned_metrics
    from lps_eval.scoring.namespaces import resolve_options

    config: dict[str, Any] = {}
    if not args.get("no_config"):
        path = args.get("config_path") or gates_module.find_pyproject()
        config = gates_module.load_config(path)
    expressions = list(args.get("fail_if") or ()) or list(config.get("fail-if", []))
    gates = [gates_module.parse_gate(e) for e in expressions]  # fail fast, before the work
    options = _options(args, config)
    resolved = resolve_options(options, namespace_defaults())  # unknown names: did you mean
    selection = split_metrics(args.get("metrics") or ()) or config.get("metrics")
    scored = None if selection is None else [m for m in selection if m not in extra_metrics]
    factors = factor_names = None
    if args.get("factors_path") is not None:
        factors, factor_names = load_factors(
            args["factors_path"], key=args.get("factors_key"), **(factor_io or {})
        )
    planned = planned_metrics(
        scored or None if selection is not None else None,
        has_factors=bool(has_factors) or factors is not None,
    )
    _check_gate_metrics(gates, planned | set(extra_metrics))
    prior = args["prior"] if args.get("prior") is not None else config.get("prior")
    if prior is not None:
        from lps_eval.prior_matching import parse_prior

        parse_prior(prior)  # the grammar, before any file is read (dimensions: per model)
    seed = args.get("seed")
    kwargs = {
        "prior": prior,
        "factors": factors,
        "factor_names": factor_names,
        "metrics": selection,
        "seed": int(seed if seed is not None else config.get("seed", 0)),
        "progress": bool(args.get("progress")),
        **resolved,
    }
    return Prepared(kwargs, gates, config)
