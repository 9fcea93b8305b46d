"""HTML views of result tables (Jupyter ``_repr_html_`` and the HTML report).

:func:`table_html` renders a tidy table of :func:`lps_eval.score` (or one result's
``to_frame()``) as a compact HTML table: the overall rows with intervals and p-values,
then one column per per-dimension metric. :func:`show` wraps a table so that Jupyter
displays it that way (pandas owns a DataFrame's own ``_repr_html_``). This module
imports no result class; result objects call it.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

__all__ = ["HtmlTable", "fmt_number", "show", "table_html"]


def fmt_number(value: Any, digits: int = 4) -> str:
    """A number with ``digits`` significant digits; blank for missing values."""
    if value is None or value is pd.NA:
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return html.escape(str(value))
    return "" if math.isnan(number) else f"{number:.{digits}g}"


def _html_frame(frame: pd.DataFrame, digits: int, css_class: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = []
        for value in row:
            text = fmt_number(value, digits) if not isinstance(value, str) else html.escape(value)
            cells.append(f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table class="{css_class}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def table_html(table: pd.DataFrame, *, digits: int = 4, per_dim: bool = True) -> str:
    """Overall rows (metric, value, interval, p) and, optionally, per-dimension columns."""
    cols = [c for c in ("model", "metric", "value", "ci_low", "ci_high", "p_value") if c in table]
    overall = table[table["scope"].isin(["overall", "difference"])][cols]
    parts = [_html_frame(overall, digits, "lps-overall")]
    dims = table[table["scope"] == "dim"]
    if "source_dim" in dims.columns:
        dims = dims[dims["source_dim"].isna()]
    if per_dim and not dims.empty and "model" not in table.columns:
        wide = dims.pivot_table(index="dim", columns="metric", values="value", aggfunc="first")
        wide.columns.name = None
        parts.append(_html_frame(wide.reset_index(), digits, "lps-per-dim"))
    return "\n".join(parts)


class HtmlTable:
    """A table that Jupyter renders with :func:`table_html`."""

    def __init__(self, table: pd.DataFrame, *, digits: int = 4) -> None:
        self.table = table
        self.digits = digits

    def _repr_html_(self) -> str:
        return table_html(self.table, digits=self.digits)

    def __repr__(self) -> str:
        return repr(self.table)


def show(table: pd.DataFrame, *, digits: int = 4) -> HtmlTable:
    """Wrap a score / compare table for a compact HTML display in Jupyter."""
    return HtmlTable(table, digits=digits)
