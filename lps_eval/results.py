"""The tidy result schema shared by every metric.

Every measurement becomes rows of one long table with the columns of
:data:`TIDY_COLUMNS` (in that order), followed by any metric-specific columns.
Settings that produced the numbers travel in ``DataFrame.attrs``.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lps_eval._version import __version__

__all__ = [
    "TIDY_COLUMNS",
    "MetricResult",
    "RowsResult",
    "indexed_rows",
    "jsonable",
    "library_versions",
    "make_row",
    "set_figure_hook",
    "tidy_frame",
]

#: Required columns of every results table, in order.
TIDY_COLUMNS = ("metric", "scope", "dim", "factor", "value", "ci_low", "ci_high", "p_value")

_SCOPES = ("overall", "dim", "factor")

#: Integer index columns, stored as nullable integers so "missing" stays missing.
INDEX_COLUMNS = ("dim", "factor", "source_dim")


def make_row(
    metric: str,
    value: float,
    *,
    scope: str = "overall",
    dim: int | None = None,
    factor: int | None = None,
    ci_low: float = math.nan,
    ci_high: float = math.nan,
    p_value: float = math.nan,
    **extra: Any,
) -> dict[str, Any]:
    """One row of the tidy table; ``extra`` keys become additional columns."""
    if scope not in _SCOPES:
        raise ValueError(f"scope must be one of {_SCOPES}, got {scope!r}")
    return {
        "metric": metric,
        "scope": scope,
        "dim": dim,
        "factor": factor,
        "value": float(value),
        "ci_low": float(ci_low),
        "ci_high": float(ci_high),
        "p_value": float(p_value),
        **extra,
    }


def indexed_rows(
    metric: str, values: Iterable[float], *, scope: str, **extra: Any
) -> list[dict[str, Any]]:
    """One row per dimension (``scope="dim"``) or per factor (``scope="factor"``)."""
    if scope not in ("dim", "factor"):
        raise ValueError(f"indexed rows need scope 'dim' or 'factor', got {scope!r}")
    return [make_row(metric, v, scope=scope, **{scope: i}, **extra) for i, v in enumerate(values)]


def tidy_frame(
    rows: Iterable[Mapping[str, Any]], attrs: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Assemble rows into the tidy table: required columns first, nullable integer indices."""
    frame = pd.DataFrame(list(rows))
    for col in TIDY_COLUMNS:
        if col not in frame.columns:
            frame[col] = (
                pd.NA
                if col in ("dim", "factor")
                else (math.nan if col != "metric" and col != "scope" else "")
            )
    extra = [c for c in frame.columns if c not in TIDY_COLUMNS]
    frame = frame[list(TIDY_COLUMNS) + extra]
    for col in INDEX_COLUMNS:
        if col in frame.columns:
            values = [None if v is None or v is pd.NA or v != v else int(v) for v in frame[col]]
            frame[col] = pd.array(values, dtype="Int64")
    for col in ("value", "ci_low", "ci_high", "p_value"):
        frame[col] = frame[col].astype(float)
    frame = frame.reset_index(drop=True)
    frame.attrs = dict(attrs or {})
    return frame


def jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars and arrays converted, NaN / inf / NA become None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if value is pd.NA or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return value


def library_versions() -> dict[str, str]:
    """Versions of the libraries that can change the numbers."""
    versions = {
        "lps_eval": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
    }
    for mod in ("scipy", "sklearn", "torch", "lightgbm"):
        module = __import__("sys").modules.get(mod)
        if module is not None:
            versions[mod] = getattr(module, "__version__", "unknown")
    if "sklearn" not in versions:
        import sklearn

        versions["sklearn"] = sklearn.__version__
    return versions


#: The function ``result.plot()`` calls, set by :func:`set_figure_hook` (lps_eval.plot).
_FIGURE_HOOK: Callable[..., Any] | None = None


def set_figure_hook(hook: Callable[..., Any]) -> None:
    """Install the figure maker behind :meth:`MetricResult.plot` (called by lps_eval.plot)."""
    global _FIGURE_HOOK
    _FIGURE_HOOK = hook


@dataclass(frozen=True)
class MetricResult:
    """Base for small result objects: a headline ``value`` plus tidy rows.

    Subclasses implement :meth:`rows`; :meth:`to_frame` turns them into the tidy table
    with ``settings`` (and library versions) in ``attrs``.
    """

    value: float
    settings: dict[str, Any] = field(default_factory=dict, repr=False)

    def rows(self) -> list[dict[str, Any]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_frame(self) -> pd.DataFrame:
        """The result as a tidy DataFrame (see :data:`TIDY_COLUMNS`)."""
        attrs = {**self.settings, "versions": library_versions()}
        return tidy_frame(self.rows(), attrs=attrs)

    def __float__(self) -> float:
        return float(self.value)

    def plot(self, **kwargs: Any) -> Any:
        """The result's figure (:func:`lps_eval.plot.result_figure`; needs matplotlib).

        The plotting layer sits above this one, so it is reached through the figure hook
        that :mod:`lps_eval.plot` installs when the package is imported (this module never
        imports it).
        """
        if _FIGURE_HOOK is None:
            raise ImportError("result.plot() needs lps_eval.plot: import lps_eval first")
        return _FIGURE_HOOK(self, **kwargs)

    def _repr_html_(self) -> str:
        """Jupyter display: the tidy rows as a compact HTML table."""
        from lps_eval.display import table_html

        return table_html(self.to_frame())


@dataclass(frozen=True)
class RowsResult(MetricResult):
    """A result whose tidy rows are given directly (derived quantities, composites)."""

    table: tuple[dict[str, Any], ...] = ()

    def rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.table]
