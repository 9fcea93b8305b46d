"""The supervised-metric registry: a metric is one function plus one decorator.

::

    @register_metric(rows=("my_metric",), properties={"unit_interval", ...})
    def my_metric(z, factors, *, z_test=None, factors_test=None, seed=0, bins=20):
        prep = prepare("my_metric", z, factors, z_test, factors_test, seed=seed, ...)
        ...

in a module ``lps_eval/metrics/_my_metric.py`` is all it takes: the package imports every
``_*.py`` module of :mod:`lps_eval.metrics` (built-ins first, in table order), the
decorator records the function, the names of its overall rows and its properties, and
the scorer, the CLI's ``--metrics`` help, error messages and the common tests read from
here. The metric's options are its keyword parameters; their defaults are read from the
signature (:func:`lps_eval.options.keyword_defaults`), never written twice.

What every registered metric gets from the decorator, without a line of its own:

- **Intervals**: the options ``n_boot`` and ``confidence``; ``ci_low`` / ``ci_high`` on
  every tidy row from a seeded resampling of the metric's unit
  (:mod:`lps_eval.metrics.intervals`; the unit and default ``n_boot`` come from
  ``interval=IntervalPlan(...)``, rows and 200 by default; a metric opts out only with
  ``IntervalPlan(unit="none", reason=...)``).
- **Undefined inputs**: the checks of :func:`~lps_eval.metrics.common.degenerate_checks`
  run inside :func:`~lps_eval.metrics.common.prepare` with the metric's declared ``needs``;
  a metric that cannot mean anything returns NaN with ``reason`` and an
  :class:`~lps_eval.metrics.common.LpsUndefinedWarning`, never a number.
"""

from __future__ import annotations

import functools
import inspect
import math
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np

from lps_eval.metrics.common import (
    NEEDS,
    MetricCall,
    MetricUndefined,
    SupervisedResult,
    annotate_rows,
    current_call,
    metric_call,
    row_key,
    warn_undefined,
)
from lps_eval.metrics.intervals import (
    FAST_UNITS,
    IntervalPlan,
    ReplicateRequest,
    check_interval_options,
    interval_from_replicates,
    replicate_values,
)
from lps_eval.options import keyword_defaults
from lps_eval.results import MetricResult, RowsResult

__all__ = [
    "INTERVAL_OPTIONS",
    "METRICS",
    "METRIC_ROWS",
    "NEEDS",
    "PROPERTIES",
    "IntervalPlan",
    "MetricSpec",
    "metric_specs",
    "multi_model_specs",
    "register_metric",
]

#: Properties a metric (or one of its rows) may declare; the common tests check each one
#: on every metric that declares it, and fail for a registered metric that declares none
#: of the invariance ones or no nuisance behaviour.
PROPERTIES = {
    "unit_interval": "every overall value lies in [0, 1]",
    "exact_sample_order": "the value does not depend on the order of the rows, exactly",
    "exact_latent_order": "the value does not depend on the order of the latent columns, exactly",
    "approx_latent_order": "column order moves the value only by a tree probe's tie-breaking",
    "approx_sample_order": "row order moves the value only by a probe's or a draw's noise",
    "exact_latent_affine": "z_j -> a z_j + b (a != 0, one latent) leaves the value unchanged",
    "approx_latent_affine": "z_j -> a z_j + b moves the value only by a probe's noise",
    "rotation_sensitive": "aligned codes score clearly above the same codes rotated",
    "nuisance_invariant": "appending pure-noise latents moves the value only by estimation noise",
    "nuisance_penalized": "pure-noise latents lower the value (it averages over latents, or "
    "its probes fit the noise)",
    "interventional": "draws rows that share a factor value (needs discrete factors)",
    "uses_test_split": "scores on a held-out split (z_test / factors_test)",
    "companion": "a companion row (a gap, a size, a null level, an efficiency, a fairness "
    "gap): it qualifies the metric's score, so no known-answer ordering is promised",
}

#: Options every metric gets from the registry (its interval); ``n_boot``'s default is the
#: metric's own (:class:`IntervalPlan`).
INTERVAL_OPTIONS = ("n_boot", "confidence")

#: Signature parameters that are data or the seed, not options.
DATA_ARGUMENTS = ("z", "factors", "z_test", "factors_test", "seed")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class MetricSpec:
    """One registered supervised metric.

    ``function`` is the public function (the registry's wrapper: options ``n_boot`` and
    ``confidence`` added); ``raw`` the decorated one. ``row_properties`` and ``needs`` map
    every overall row to its properties (the metric's own plus the row's) and needs.
    """

    name: str
    function: Callable[..., Any]
    rows: tuple[str, ...]
    properties: frozenset[str]
    default: bool = True
    interval: IntervalPlan = field(default_factory=IntervalPlan)
    row_properties: Mapping[str, frozenset[str]] = field(default_factory=dict)
    needs: Mapping[str, frozenset[str]] = field(default_factory=dict)
    raw: Callable[..., Any] | None = None
    result_class: type = SupervisedResult
    reference: str = ""

    def options(self) -> dict[str, Any]:
        """The metric's keyword options and their defaults (from its signature)."""
        return keyword_defaults(self.function, exclude=DATA_ARGUMENTS)

    def properties_of(self, row: str) -> frozenset[str]:
        """Properties of one overall row (the metric's and the row's own)."""
        return self.row_properties.get(row, self.properties)


_REGISTRY: dict[str, MetricSpec] = {}
#: Metrics of several models at once (``name(models, ...)``, e.g. UDR): kept apart, so that
#: whatever iterates :func:`metric_specs` with ``(z, factors)`` (score's sections, the
#: common tests, the bootstrap) never calls them.
_MULTI_MODEL: dict[str, MetricSpec] = {}


def _per_row(
    rows: tuple[str, ...], given: Iterable[str] | Mapping[str, Iterable[str]] | None, base=()
) -> dict[str, frozenset[str]]:
    """A per-row mapping from one iterable (every row) or a mapping (row -> names)."""
    if given is None:
        return {r: frozenset(base) for r in rows}
    if isinstance(given, Mapping):
        unknown = set(given) - set(rows)
        if unknown:
            raise ValueError(f"rows {sorted(unknown)} are not among the metric's rows {rows}")
        return {r: frozenset(base) | frozenset(given.get(r, ())) for r in rows}
    return {r: frozenset(base) | frozenset(given) for r in rows}


def _result_class(function: Callable[..., Any]) -> type:
    """The result class named in the return annotation (SupervisedResult otherwise)."""
    try:
        cls = typing.get_type_hints(function).get("return")
    except Exception:
        return SupervisedResult
    return cls if isinstance(cls, type) and issubclass(cls, SupervisedResult) else SupervisedResult


def register_metric(
    *,
    rows: Sequence[str],
    properties: Iterable[str] = (),
    row_properties: Mapping[str, Iterable[str]] | None = None,
    needs: Iterable[str] | Mapping[str, Iterable[str]] = (),
    interval: IntervalPlan | None = None,
    reference: str = "",
    default: bool = True,
    multi_model: bool = False,
) -> Callable[[F], F]:
    """Decorator: register ``function`` as the supervised metric ``function.__name__``.

    Parameters
    ----------
    rows : sequence of str
        The ``metric`` names of the result's overall rows, in order.
    properties : iterable of str
        Keys of :data:`PROPERTIES` the metric promises (for every row).
    row_properties : mapping, optional
        Row -> further :data:`PROPERTIES` of that row only.
    needs : iterable or mapping of str
        Keys of :data:`~lps_eval.metrics.common.NEEDS` (for every row, or per row): a row
        whose needs the input does not meet is NaN with a reason.
    interval : IntervalPlan, optional
        Resampling unit and default ``n_boot`` (default: rows, 200).
    reference : str
        The paper and the peer implementation the numbers follow (a ``reference``
        column of the overall rows and ``settings["reference"]``).
    default : bool, default True
        Runs in the default ``supervised`` section of ``score``; False = only on request
        (``metrics=["name"]``), for metrics too slow for every run.
    multi_model : bool, default False
        The metric scores several models' codes together (no ``(z, factors)``
        signature, no interval wrapper: its unit is the model); listed by
        :func:`multi_model_specs`, not :func:`metric_specs`.

    Returns
    -------
    The public metric function: ``function`` with the options ``n_boot`` and
    ``confidence`` added (:mod:`lps_eval.metrics.intervals`).
    """
    rows = tuple(rows)
    props = frozenset(properties)
    per_row_props = _per_row(rows, row_properties, props)
    unknown = set().union(*per_row_props.values()) - set(PROPERTIES)
    if unknown:
        raise ValueError(
            f"unknown metric properties {sorted(unknown)}; known: {sorted(PROPERTIES)}"
        )
    per_row_needs = _per_row(rows, needs)
    unknown = set().union(*per_row_needs.values()) - set(NEEDS)
    if unknown:
        raise ValueError(f"unknown metric needs {sorted(unknown)}; known: {sorted(NEEDS)}")
    plan = interval or IntervalPlan()

    def decorate(function: F) -> F:
        name = function.__name__
        spec = MetricSpec(
            name,
            function,
            rows,
            props,
            bool(default),
            plan,
            per_row_props,
            per_row_needs,
            function,
            _result_class(function),
            reference,
        )
        if multi_model:
            _MULTI_MODEL[name] = spec
            return function
        public = _public_function(spec)
        _REGISTRY[name] = replace(spec, function=public)
        return public  # type: ignore[return-value]

    return decorate


def _public_function(spec: MetricSpec) -> Callable[..., Any]:
    """``spec.raw`` with ``n_boot`` / ``confidence`` added, computing intervals and NaNs."""
    raw = spec.raw

    @functools.wraps(raw)
    def metric(*args: Any, n_boot: int = spec.interval.n_boot, confidence: float = 0.95, **kw):
        return _evaluate(spec, args, kw, n_boot, confidence)

    signature = inspect.signature(raw)
    extra = [
        inspect.Parameter("n_boot", inspect.Parameter.KEYWORD_ONLY, default=spec.interval.n_boot),
        inspect.Parameter("confidence", inspect.Parameter.KEYWORD_ONLY, default=0.95),
    ]
    metric.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), *extra]
    )
    return metric


def _rows_of(result: Any) -> list[dict[str, Any]]:
    if isinstance(result, SupervisedResult):
        return result.table_rows()
    return [dict(r) for r in result.rows()] if isinstance(result, MetricResult) else []


def _options(spec: MetricSpec, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    defaults = keyword_defaults(spec.raw, exclude=DATA_ARGUMENTS)
    return {**defaults, **{k: v for k, v in kwargs.items() if k in defaults}}


def _no_interval_reason(spec: MetricSpec, unit: str, seed: Any, nested: bool) -> str | None:
    """Why this call gets no interval although ``n_boot`` > 0 (None: it gets one)."""
    if unit == "none":
        return spec.interval.reason
    if nested:
        return "called inside another metric, whose interval covers it"
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        return "the seed is not an integer, so the replicates' stream cannot be derived"
    return None


def _evaluate(spec: MetricSpec, args: tuple, kwargs: dict, n_boot: Any, confidence: Any):
    """One call of a registered metric: estimate, undefined rows, interval."""
    n_boot, confidence = check_interval_options(n_boot, confidence)
    seed = kwargs.get("seed", 0)
    unit = spec.interval.unit_for(_options(spec, kwargs))
    why = _no_interval_reason(spec, unit, seed, nested=current_call() is not None)
    if why is not None:
        n_boot = 0
    call = MetricCall(spec.name, spec.rows, spec.needs)
    if n_boot and unit in FAST_UNITS:
        call.request = ReplicateRequest(n_boot, int(seed))
    with metric_call(call):
        try:
            result = spec.raw(*args, **kwargs)
        except MetricUndefined as exc:
            return _undefined(spec, exc, n_boot, confidence)
    result = _with_row_reasons(result, call)
    if spec.reference:
        result = _with_settings(result, {"reference": spec.reference})
    plan = {"n_boot": n_boot, "confidence": confidence, "unit": unit}
    if n_boot and not call.prepared:
        why = "the metric does not call prepare(), so its rows cannot be resampled"
    if not n_boot or not call.prepared:
        return _with_settings(result, {"interval": {**plan, "method": None, "reason": why}})
    if unit in FAST_UNITS:
        values = call.replicates or {}
    else:
        values = replicate_values(
            spec.raw, args, kwargs, call, unit=unit, n_boot=n_boot, seed=int(seed),
            rows_of=_rows_of,
        )  # fmt: skip
    return _with_intervals(spec, result, values, plan)


def _undefined(spec: MetricSpec, exc: MetricUndefined, n_boot: int, confidence: float):
    warn_undefined(f"{spec.name} not computable: {exc.reason}", stacklevel=5)
    settings = {
        **exc.settings,
        "metric": spec.name,
        "reason": exc.reason,
        **({"reference": spec.reference} if spec.reference else {}),
        "interval": {"n_boot": n_boot, "confidence": confidence, "method": None},
    }
    return spec.result_class(
        value=math.nan,
        settings=settings,
        metric=spec.rows[0],
        reason=exc.reason,
        undefined_rows=spec.rows,
    )


def _with_settings(result: Any, extra: Mapping[str, Any]) -> Any:
    if not isinstance(result, MetricResult):
        return result
    return replace(result, settings={**result.settings, **extra})


def _with_row_reasons(result: Any, call: MetricCall) -> Any:
    """NaN for the rows whose declared needs the input does not meet."""
    reasons = dict(call.prepared[0].undefined_rows) if call.prepared else {}
    if not reasons:
        return result
    if isinstance(result, SupervisedResult):
        merged = {**(result.row_reasons or {}), **reasons}
        value = math.nan if result.metric in merged else result.value
        return replace(result, row_reasons=merged, value=value)
    if isinstance(result, RowsResult):
        table = tuple(annotate_rows(list(result.table), row_reasons=reasons))
        return replace(result, table=table)
    return result


def _with_intervals(spec: MetricSpec, result: Any, values: Mapping[tuple, Any], plan: dict):
    """Attach one interval per tidy row; record method, unit, B and any notes."""
    bounds = (0.0, 1.0) if "unit_interval" in spec.properties else None
    # fresh draws and half-samples show the spread, not a bias at n (intervals.py)
    centre = "replicates" if plan["unit"] in ("seeds", "half_rows") else "estimate"
    intervals, methods, failed, notes = {}, set(), {}, []
    for row in _rows_of(result):
        key = row_key(row)
        reps = values.get(key)
        if reps is None or not math.isfinite(row["value"]):
            continue
        overall = row["scope"] == "overall"
        low, high, method = interval_from_replicates(
            row["value"], reps, confidence=plan["confidence"], centre=centre,
            bounds=bounds if overall else None,
        )  # fmt: skip
        n_failed = int(reps.size - sum(1 for v in reps if math.isfinite(v)))
        if n_failed:
            failed[row["metric"] if overall else str(key)] = n_failed
        if not math.isfinite(low):
            continue
        intervals[key] = (low, high)
        methods.add(method)
        slack = 1e-12 * max(1.0, abs(row["value"]))
        if overall and not low - slack <= row["value"] <= high + slack:
            notes.append(_exclusion_note(row, low, high, reps, plan["confidence"]))
    record = {**plan, "method": ", ".join(sorted(methods)) or None, "failed_replicates": failed}
    record["stream"] = "numpy.random.default_rng([seed, STREAM_INTERVALS, b])"
    extra: dict[str, Any] = {"interval": record}
    if notes:
        previous = result.settings.get("note")
        extra["note"] = " | ".join([*([previous] if previous else []), *notes])
    result = _with_settings(result, extra)
    if isinstance(result, SupervisedResult):
        return replace(result, intervals=intervals)
    if isinstance(result, RowsResult):
        return replace(result, table=tuple(annotate_rows(list(result.table), intervals=intervals)))
    return result


def _exclusion_note(row, low: float, high: float, reps, confidence: float) -> str:
    finite = [v for v in reps if math.isfinite(v)]
    shift = sorted(finite)[len(finite) // 2] - row["value"]
    return (
        f"the {confidence:.0%} interval [{low:.4f}, {high:.4f}] of {row['metric']} excludes "
        f"its estimate {row['value']:.4f}: the replicates sit {shift:+.4f} from it, so the "
        "estimator is biased by about that much (more than its spread) and the interval, "
        "which corrects for it, lies off the estimate; read the estimate as biased"
    )


def metric_specs() -> dict[str, MetricSpec]:
    """Every registered metric, in registration (table) order."""
    return dict(_REGISTRY)


def multi_model_specs() -> dict[str, MetricSpec]:
    """Every registered metric of several models at once (UDR), in registration order."""
    return dict(_MULTI_MODEL)


class _View(Mapping[str, Any]):
    """A live read-only view of the registry (so late registrations show up)."""

    def __init__(self, field: str) -> None:
        self._field = field

    def __getitem__(self, name: str) -> Any:
        return getattr(_REGISTRY[name], self._field)

    def __iter__(self) -> Iterator[str]:
        return iter(_REGISTRY)

    def __len__(self) -> int:
        return len(_REGISTRY)

    def __repr__(self) -> str:
        return repr(dict(self))


#: Metric name -> function.
METRICS: Mapping[str, Callable[..., Any]] = _View("function")
#: Metric name -> the ``metric`` names of its overall rows.
METRIC_ROWS: Mapping[str, tuple[str, ...]] = _View("rows")
