"""The supervised-metric registry: a metric is one function plus one decorator.

::

    @register_metric(rows=("my_metric",), properties={"unit_interval"})
    def my_metric(z, factors, *, z_test=None, factors_test=None, seed=0, bins=20):
        ...

in a module ``lps_eval/metrics/_my_metric.py`` is all it takes: the package imports every
``_*.py`` module of :mod:`lps_eval.metrics` (built-ins first, in table order), the
decorator records the function, the names of its overall rows and its properties, and
the scorer, the CLI's ``--metrics`` help, error messages and the common tests read from
here. The metric's options are its keyword parameters; their defaults are read from the
signature (:func:`lps_eval.options.keyword_defaults`), never written twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from lps_eval.options import keyword_defaults

__all__ = [
    "METRICS",
    "METRIC_ROWS",
    "PROPERTIES",
    "MetricSpec",
    "metric_specs",
    "multi_model_specs",
    "register_metric",
]

#: Properties a metric may declare; the common tests check each one on every metric that
#: declares it, and fail for a registered metric that declares none of the invariance ones.
PROPERTIES = {
    "unit_interval": "every overall value lies in [0, 1]",
    "exact_sample_order": "the value does not depend on the order of the rows, exactly",
    "exact_latent_order": "the value does not depend on the order of the latent columns, exactly",
    "approx_latent_order": "column order moves the value only by a tree probe's tie-breaking",
    "approx_sample_order": "row order moves the value only by a probe's or a draw's noise",
    "interventional": "draws rows that share a factor value (needs discrete factors)",
    "uses_test_split": "scores on a held-out split (z_test / factors_test)",
}

#: Signature parameters that are data or the seed, not options.
DATA_ARGUMENTS = ("z", "factors", "z_test", "factors_test", "seed")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class MetricSpec:
    """One registered supervised metric."""

    name: str
    function: Callable[..., Any]
    rows: tuple[str, ...]
    properties: frozenset[str]
    default: bool = True

    def options(self) -> dict[str, Any]:
        """The metric's keyword options and their defaults (from its signature)."""
        return keyword_defaults(self.function, exclude=DATA_ARGUMENTS)


_REGISTRY: dict[str, MetricSpec] = {}
#: Metrics of several models at once (``name(models, ...)``, e.g. UDR): kept apart, so that
#: whatever iterates :func:`metric_specs` with ``(z, factors)`` (score's sections, the
#: common tests, the bootstrap) never calls them.
_MULTI_MODEL: dict[str, MetricSpec] = {}


def register_metric(
    *,
    rows: Sequence[str],
    properties: Iterable[str] = (),
    default: bool = True,
    multi_model: bool = False,
) -> Callable[[F], F]:
    """Decorator: register ``function`` as the supervised metric ``function.__name__``.

    Parameters
    ----------
    rows : sequence of str
        The ``metric`` names of the result's overall rows, in order.
    properties : iterable of str
        Keys of :data:`PROPERTIES` the metric promises.
    default : bool, default True
        Runs in the default ``supervised`` section of ``score``; False = only on request
        (``metrics=["name"]``), for metrics too slow for every run.
    multi_model : bool, default False
        The metric scores several models' codes together (no ``(z, factors)``
        signature); listed by :func:`multi_model_specs`, not :func:`metric_specs`.
    """
    props = frozenset(properties)
    unknown = props - set(PROPERTIES)
    if unknown:
        raise ValueError(
            f"unknown metric properties {sorted(unknown)}; known: {sorted(PROPERTIES)}"
        )

    def decorate(function: F) -> F:
        name = function.__name__
        registry = _MULTI_MODEL if multi_model else _REGISTRY
        registry[name] = MetricSpec(name, function, tuple(rows), props, bool(default))
        return function

    return decorate


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
