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
    COMPANIONS,
    NULL_METHODS,
    companion_nulls,
    covariance_ratio,
    gaussian_total_correlation,
    gaussian_wasserstein_correlation,
    mmd_independence,
    mutual_info_mean,
)
from lps_eval.metrics import clusterability, metric_specs
from lps_eval.options import keyword_defaults, renamed_of
from lps_eval.predictability import (
    MIN_TEST_ROWS,
    MIN_TRAIN_ROWS,
    LpsResult,
    doubling_converged,
    lps,
)
from lps_eval.prior_matching import mmd
from lps_eval.results import MetricResult, RowsResult, make_row

__all__ = [
    "SCORE_OVERRIDES",
    "SECTION_OPTIONS",
    "CompositeResult",
    "ScoreContext",
    "Section",
    "namespace_defaults",
    "namespace_renames",
    "score_sections",
]

#: Defaults that differ inside ``score`` from the functions' own (to keep a default run
#: fast); declared once here and recorded in the results' ``attrs``.
SCORE_OVERRIDES: dict[str, dict[str, Any]] = {
    "mmd": {"max_samples": 3000, "per_dim_max_samples": 500},
    "independence": {"max_samples": 3000},
}

#: Options of a section beyond its function's keywords (declared once, here).
SECTION_OPTIONS: dict[str, dict[str, Any]] = {
    # lps.converged: add the rows lps_converged / lps_doubling_change (one more fit on n/2)
    "lps": {"converged": False},
    # independence.null: how the <metric>_null rows are found ("none" skips them)
    "independence": {"null": "auto"},
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
        "clusterability": keyword_defaults(clusterability, exclude=("seed",)),
        "mmd": keyword_defaults(mmd, exclude=("seed", "prior")),
        "independence": {
            **keyword_defaults(mmd_independence, exclude=("seed",)),
            "n_bins": keyword_defaults(mutual_info_mean)["n_bins"],
        },
    }
    for name, spec in metric_specs().items():
        spaces[name] = spec.options()
    for name, extra in SECTION_OPTIONS.items():
        spaces[name].update(extra)
    for name, overrides in SCORE_OVERRIDES.items():
        spaces[name].update(overrides)
    return spaces


def namespace_renames() -> dict[str, dict[str, str]]:
    """Every namespace's renamed options, old name -> new name (accepted with a warning)."""
    renames = {"independence": {"mi_bins": "n_bins"}}
    for name, spec in metric_specs().items():
        if renamed_of(spec.function):
            renames[name] = renamed_of(spec.function)
    return renames


# ---------------------------------------------------------------- the sections


def _renamed(result: LpsResult, metric: str) -> LpsResult:
    return replace(result, metric=metric, settings={**result.settings, "metric": metric})


def _lps_splits(split: Any) -> dict[str, Any]:
    """``lps.split``: one (train_rows, test_rows) pair for both fits, or a dict naming the
    fit (``{"lps": pair, "lps_linear": pair}``), as :func:`lps_eval.compare` passes it."""
    if split is None:
        return {}
    if isinstance(split, Mapping):
        unknown = set(split) - {"lps", "lps_linear"}
        if unknown:
            raise LpsInputError(
                f"lps.split keys must be 'lps' and/or 'lps_linear', got {sorted(unknown)}"
            )
        return dict(split)
    return {"lps": split, "lps_linear": split}


def _run_lps(ctx: ScoreContext) -> list[MetricResult]:
    """LPS with the chosen predictor, the linear LPS on every row beside it, and their gap.

    ``lps.split`` fixes the split of either fit (paired differences in
    :func:`lps_eval.compare`); ``lps.converged=True`` adds the rows ``lps_converged``
    (1 = the last doubling of N moved LPS less than its interval half-width, see
    :func:`~lps_eval.predictability.doubling_converged`) and ``lps_doubling_change``.
    """
    if ctx.z.shape[1] < 2:
        raise LpsInputError(
            "LPS needs at least 2 latent dimensions, z has 1; to test prior matching alone "
            "use metrics=['mmd'] (CLI: --metrics mmd)"
        )
    opts = dict(ctx.options["lps"])
    converged = opts.pop("converged")
    if not isinstance(converged, (bool, np.bool_)):
        raise LpsInputError(f"lps.converged must be true or false, got {converged!r}")
    splits = _lps_splits(opts.pop("split"))
    # checked even when the linear-only run leaves them unused: a bad value is refused
    for name, minimum in (("max_samples", MIN_TRAIN_ROWS + MIN_TEST_ROWS), ("null_dims", 1)):
        if opts.get(name) is not None and opts[name] != "auto":  # lps resolves "auto"
            check_positive_int(opts[name], name=f"lps.{name}", minimum=minimum)
    predictor = opts["predictor"]
    is_linear = isinstance(predictor, str) and predictor == "linear"
    linear_opts = {
        **opts,
        "predictor": "linear",
        "predictor_params": opts["predictor_params"] if is_linear else None,
        "max_samples": None,
        "split": splits.get("lps_linear"),
    }
    linear = _renamed(lps(ctx.z, **linear_opts, structure=True, seed=ctx.seed), "lps_linear")
    if is_linear:
        main = _renamed(linear, "lps")
        extra = _convergence(ctx, main, opts, splits.get("lps_linear")) if converged else []
        return [main, *extra]
    main = lps(ctx.z, **opts, split=splits.get("lps"), structure=False, seed=ctx.seed)
    gap = main.value - linear.value
    extra = _convergence(ctx, main, opts, splits.get("lps")) if converged else []
    return [
        main,
        linear,
        RowsResult(
            value=gap,
            settings={"metric": "lps_nonlinear_gap", "definition": "lps - lps_linear"},
            table=(make_row("lps_nonlinear_gap", gap, predictor=main.settings["predictor"]),),
        ),
        *extra,
    ]


def _convergence(
    ctx: ScoreContext, full: LpsResult, opts: dict[str, Any], split: Any
) -> list[MetricResult]:
    """The opt-in ``lps_converged`` rows: refit on half the rows, apply the doubling rule."""
    n_used = full.settings["n_samples_used"]
    half_split = None
    if split is not None:  # every other row of the given split (still shared across models)
        half_split = tuple(np.unique(np.asarray(part))[::2] for part in split)
    half = lps(
        ctx.z,
        **{**opts, "max_samples": n_used // 2, "n_boot": 0, "null": False},
        structure=False,
        seed=ctx.seed,
        split=half_split,
    )
    converged = doubling_converged(full.value, (full.ci_low, full.ci_high), half.value)
    change = full.value - half.value
    settings = {
        "metric": "lps_converged",
        "rule": "|LPS(n) - LPS(n/2)| < half-width of the LPS interval at n",
        "n": n_used,
        "n_half": half.settings["n_samples_used"],
        "lps_half": half.value,
        "change": change,
        "half_width": (full.ci_high - full.ci_low) / 2.0,
        "cost": "one extra fit of the predictor on n/2 rows (no null, no bootstrap)",
    }
    predictor = full.settings.get("predictor", "")
    return [
        RowsResult(
            value=float(converged),
            settings=settings,
            table=(
                make_row("lps_converged", float(converged), predictor=predictor),
                make_row("lps_doubling_change", change, predictor=predictor),
            ),
        )
    ]


def _run_prior(ctx: ScoreContext) -> list[MetricResult]:
    """Prior matching: ``mmd`` overall and per dimension."""
    prior = ctx.prior if ctx.prior is not None else "gaussian"
    return [mmd(ctx.z, prior, **ctx.options["mmd"], seed=ctx.seed)]


def _run_independence(ctx: ScoreContext) -> list[MetricResult]:
    """The independence companions (need d >= 2 and a varying dimension).

    Each companion statistic is followed by its ``<metric>_null`` row: its level on
    independent columns with the same marginals at this N and d, with an interval
    (:func:`~lps_eval.independence.companion_nulls`; ``independence.null`` picks the method,
    ``"none"`` skips them).
    """
    z = ctx.z
    if z.shape[1] < 2 or constant_columns(z).size == z.shape[1]:
        return []
    opts = dict(ctx.options["independence"])
    n_bins = opts.pop("n_bins")
    null = opts.pop("null")
    if null not in (*NULL_METHODS, "none"):
        raise LpsInputError(
            f"independence.null must be one of {', '.join((*NULL_METHODS, 'none'))}, got {null!r}"
        )
    parts: list[MetricResult] = []
    if z.shape[0] >= 8:  # two halves of at least 4 rows
        parts.append(mmd_independence(z, **opts, seed=ctx.seed))
    companions = [
        gaussian_total_correlation(z),
        *gaussian_wasserstein_correlation(z),
        *covariance_ratio(z),
        mutual_info_mean(z, n_bins=n_bins),
    ]
    nulls = {}
    if null != "none":
        found = companion_nulls(z, n_bins=n_bins, seed=ctx.seed, method=null)
        nulls = {part.metric: part for part in found}
    for part in companions:
        parts.append(part)
        if f"{part.metric}_null" in nulls:
            parts.append(nulls[f"{part.metric}_null"])
    settings = {part.settings["metric"]: part.settings for part in parts}
    value = parts[0].value if parts else math.nan
    return [CompositeResult(value=value, settings=settings, parts=tuple(parts))]


def _run_clusterability(ctx: ScoreContext) -> list[MetricResult]:
    """Clusterability of the code (no factors needed; on request)."""
    return [clusterability(ctx.z, seed=ctx.seed, **ctx.options["clusterability"])]


def _run_metric(name: str, ctx: ScoreContext) -> MetricResult:
    spec = metric_specs()[name]
    return spec.function(ctx.z, ctx.factors, seed=ctx.seed, **ctx.options[name])


def _default_metrics() -> list[str]:
    """The supervised metrics of the default section: all but those registered with
    ``default=False`` (probes that take minutes per model; they run when selected by name)."""
    return [name for name, spec in metric_specs().items() if spec.default]


def _run_supervised(ctx: ScoreContext) -> list[MetricResult]:
    """Every default supervised metric with its options (study defaults)."""
    return [_run_metric(name, ctx) for name in _default_metrics()]


def score_sections() -> list[Section]:
    """The sections of :func:`lps_eval.score`, in the order their rows appear.

    One non-default section per supervised metric comes first among the supervised
    ones, so that selecting a single metric (``metrics=["mig"]``) runs only that function;
    ``metrics=None`` runs the default ``supervised`` section (every metric registered with
    ``default=True``; the others only by name).
    """
    specs = metric_specs()
    defaults = {name: spec for name, spec in specs.items() if spec.default}
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
                "lps_converged",
                "lps_doubling_change",
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
                *(f"{metric}_null" for metric in COMPANIONS),
            ),
            _run_independence,
            ("independence",),
        ),
        Section(
            "clusterability",
            (
                "clusterability",
                "clusterability_k",
                "clusterability_null",
                "clusterability_excess",
                "clusterability_davies_bouldin",
            ),
            _run_clusterability,
            ("clusterability",),
            default=False,
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
    defaults = _default_metrics()
    supervised = Section(
        "supervised",
        tuple(m for name in defaults for m in specs[name].rows),
        _run_supervised,
        tuple(defaults),
        needs_factors=True,
    )
    return [*built_in, *per_metric, supervised]
