"""The sections of :func:`lps_eval.score`, in one explicit, ordered list.

A *section* is a group of measurements that run together (LPS, prior matching,
independence, supervised metrics). Each reads its options from its own namespace
(``lps``, ``mmd``, ``independence``, and one per supervised metric, e.g. ``dci``); the
defaults of a namespace are the keyword defaults of the function it calls, read from its
signature, plus the few score-specific caps declared in :data:`SCORE_OVERRIDES`. Nothing
here is imported by the numerical core: dependencies run from this module down to it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError, check_positive_int, constant_columns
from lps_eval.independence import (
    covariance_ratio,
    gaussian_total_correlation,
    gaussian_wasserstein_correlation,
    mmd_independence,
    mutual_info_mean,
)
from lps_eval.metrics import metric_specs
from lps_eval.options import keyword_defaults
from lps_eval.predictability import MIN_TEST_ROWS, MIN_TRAIN_ROWS, LpsResult, lps
from lps_eval.prior_matching import mmd
from lps_eval.results import MetricResult, RowsResult, make_row

__all__ = [
    "SCORE_OVERRIDES",
    "CompositeResult",
    "ScoreContext",
    "Section",
    "namespace_defaults",
    "score_sections",
]

#: Defaults that differ inside ``score`` from the functions' own (to keep a default run
#: fast); declared once here and recorded in the results' ``attrs``.
SCORE_OVERRIDES: dict[str, dict[str, Any]] = {
    "mmd": {"max_samples": 3000, "per_dim_max_samples": 500},
    "independence": {"max_samples": 3000},
}


@dataclass(frozen=True)
class ScoreContext:
    """Everything a section needs: validated arrays and the resolved options per namespace."""

    z: np.ndarray
    factors: np.ndarray | None
    prior: Any
    seed: int
    options: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    factor_names: Sequence[str] | None = None


@dataclass(frozen=True)
class Section:
    """One group of measurements.

    Attributes
    ----------
    name : str
        Selectable in ``metrics=`` (selects all its metrics).
    metrics : tuple of str
        The ``metric`` names it can produce.
    run : callable
        ``run(context) -> list[MetricResult]``.
    namespaces : tuple of str
        The option namespaces it reads.
    needs_factors : bool
        Runs only when ground-truth factors were given.
    default : bool
        Runs when ``metrics`` is None.
    """

    name: str
    metrics: tuple[str, ...]
    run: Callable[[ScoreContext], list[MetricResult]]
    namespaces: tuple[str, ...]
    needs_factors: bool = False
    default: bool = True


@dataclass(frozen=True)
class CompositeResult(MetricResult):
    """Several results as one (rows concatenated, settings keyed by metric)."""

    parts: tuple[MetricResult, ...] = ()

    def rows(self) -> list[dict[str, Any]]:
        return [row for part in self.parts for row in part.rows()]


# ---------------------------------------------------------------- option namespaces


def namespace_defaults() -> dict[str, dict[str, Any]]:
    """Every option namespace with its defaults (read from the functions' signatures)."""
    spaces = {
        "lps": keyword_defaults(lps, exclude=("seed", "structure")),
        "mmd": keyword_defaults(mmd, exclude=("seed", "prior")),
        "independence": {
            **keyword_defaults(mmd_independence, exclude=("seed",)),
            "mi_bins": keyword_defaults(mutual_info_mean)["n_bins"],
        },
    }
    for name, spec in metric_specs().items():
        spaces[name] = spec.options()
    for name, overrides in SCORE_OVERRIDES.items():
        spaces[name].update(overrides)
    return spaces


# ---------------------------------------------------------------- the sections


def _renamed(result: LpsResult, metric: str) -> LpsResult:
    return replace(result, metric=metric, settings={**result.settings, "metric": metric})


def _run_lps(ctx: ScoreContext) -> list[MetricResult]:
    """LPS with the chosen predictor, the linear LPS on every row beside it, and their gap."""
    if ctx.z.shape[1] < 2:
        raise LpsInputError(
            "LPS needs at least 2 latent dimensions, z has 1; to test prior matching alone "
            "use metrics=['mmd'] (CLI: --metrics mmd)"
        )
    opts = dict(ctx.options["lps"])
    # checked even when the linear-only run leaves them unused: a bad value is refused
    for name, minimum in (("max_samples", MIN_TRAIN_ROWS + MIN_TEST_ROWS), ("null_dims", 1)):
        if opts.get(name) is not None:
            check_positive_int(opts[name], name=f"lps.{name}", minimum=minimum)
    predictor = opts["predictor"]
    is_linear = isinstance(predictor, str) and predictor == "linear"
    linear_opts = {
        **opts,
        "predictor": "linear",
        "predictor_params": opts["predictor_params"] if is_linear else None,
        "max_samples": None,
    }
    linear = _renamed(lps(ctx.z, **linear_opts, structure=True, seed=ctx.seed), "lps_linear")
    if is_linear:
        return [_renamed(linear, "lps")]
    main = lps(ctx.z, **opts, structure=False, seed=ctx.seed)
    gap = main.value - linear.value
    return [
        main,
        linear,
        RowsResult(
            value=gap,
            settings={"metric": "lps_nonlinear_gap", "definition": "lps - lps_linear"},
            table=(make_row("lps_nonlinear_gap", gap, predictor=main.settings["predictor"]),),
        ),
    ]


def _run_prior(ctx: ScoreContext) -> list[MetricResult]:
    """Prior matching: ``mmd`` overall and per dimension."""
    prior = ctx.prior if ctx.prior is not None else "gaussian"
    return [mmd(ctx.z, prior, **ctx.options["mmd"], seed=ctx.seed)]


def _run_independence(ctx: ScoreContext) -> list[MetricResult]:
    """The independence companions (need d >= 2 and a varying dimension)."""
    z = ctx.z
    if z.shape[1] < 2 or constant_columns(z).size == z.shape[1]:
        return []
    opts = dict(ctx.options["independence"])
    mi_bins = opts.pop("mi_bins")
    parts: list[MetricResult] = []
    if z.shape[0] >= 8:  # two halves of at least 4 rows
        parts.append(mmd_independence(z, **opts, seed=ctx.seed))
    parts += [
        gaussian_total_correlation(z),
        *gaussian_wasserstein_correlation(z),
        *covariance_ratio(z),
        mutual_info_mean(z, n_bins=mi_bins),
    ]
    settings = {part.settings["metric"]: part.settings for part in parts}
    value = parts[0].value if parts else math.nan
    return [CompositeResult(value=value, settings=settings, parts=tuple(parts))]


def _run_metric(name: str, ctx: ScoreContext) -> MetricResult:
    spec = metric_specs()[name]
    return spec.function(ctx.z, ctx.factors, seed=ctx.seed, **ctx.options[name])


def _run_supervised(ctx: ScoreContext) -> list[MetricResult]:
    """Every registered supervised metric with its options (study defaults)."""
    return [_run_metric(name, ctx) for name in metric_specs()]


def score_sections() -> list[Section]:
    """The sections of :func:`lps_eval.score`, in the order their rows appear.

    One non-default section per supervised metric comes first among the supervised
    ones, so that selecting a single metric (``metrics=["mig"]``) runs only that function;
    ``metrics=None`` runs the default ``supervised`` section (all of them).
    """
    specs = metric_specs()
    built_in = [
        Section(
            "lps",
            (
                "lps",
                "lps_null",
                "lps_linear",
                "lps_linear_null",
                "lps_structure",
                "lps_nonlinear_gap",
            ),
            _run_lps,
            ("lps",),
        ),
        Section("prior", ("mmd",), _run_prior, ("mmd",)),
        Section(
            "independence",
            (
                "mmd_independence",
                "gaussian_tc",
                "gaussian_wasserstein_correlation",
                "gaussian_wasserstein_correlation_norm",
                "covariance_ratio",
                "covariance_ratio_corr",
                "mutual_info_mean",
            ),
            _run_independence,
            ("independence",),
        ),
    ]
    per_metric = [
        Section(
            name,
            spec.rows,
            lambda ctx, name=name: [_run_metric(name, ctx)],
            (name,),
            needs_factors=True,
            default=False,
        )
        for name, spec in specs.items()
    ]
    supervised = Section(
        "supervised",
        tuple(m for spec in specs.values() for m in spec.rows),
        _run_supervised,
        tuple(specs),
        needs_factors=True,
    )
    return [*built_in, *per_metric, supervised]
