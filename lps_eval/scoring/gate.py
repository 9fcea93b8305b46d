"""Quality gates: ``METRIC[.COLUMN] OP NUMBER`` thresholds checked against a results table.

The grammar is tiny and parsed with one regular expression, never evaluated as code::

    expression := metric [ "." column ] op number
    metric     := snake_case name of a metric row (its ``overall`` row is checked)
    column     := value | ci_low | ci_high | p_value        (default: value)
    op         := "<" | "<=" | ">" | ">="
    number     := a decimal or scientific-notation float

A gate *fails* when the comparison is true (``--fail-if 'lps > 0.2'``), and also when
the value is missing (NaN): a gate never passes on a number that was not computed.
Thresholds can live in ``[tool.lps-eval]`` of pyproject.toml as ``fail-if = [...]``.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from lps_eval._validation import LpsInputError
from lps_eval.options import did_you_mean

__all__ = [
    "Gate",
    "GateOutcome",
    "check_gates",
    "check_model_gates",
    "find_pyproject",
    "load_config",
    "parse_gate",
]

COLUMNS = ("value", "ci_low", "ci_high", "p_value")
_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_PATTERN = re.compile(
    r"""^\s*(?P<metric>[a-z][a-z0-9_]*)
        (?:\.(?P<column>[a-z_]+))?
        \s*(?P<op><=|>=|<|>)\s*
        (?P<number>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*$""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Gate:
    """A parsed threshold expression."""

    metric: str
    column: str
    op: str
    threshold: float
    expression: str


@dataclass(frozen=True)
class GateOutcome:
    """A gate checked against a table: ``failed`` is True when the threshold was crossed."""

    expression: str
    metric: str
    column: str
    op: str
    threshold: float
    value: float
    failed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["value"] = None if math.isnan(self.value) else self.value
        return out


def parse_gate(expression: str) -> Gate:
    """Parse ``METRIC[.COLUMN] OP NUMBER``; raises :class:`LpsInputError` when malformed."""
    match = _PATTERN.match(expression)
    if match is None:
        raise LpsInputError(
            f"malformed gate {expression!r}; write METRIC[.COLUMN] OP NUMBER with OP one of "
            "< <= > >=, e.g. 'lps > 0.2' or 'mmd.p_value < 0.01'"
        )
    column = match["column"] or "value"
    if column not in COLUMNS:
        raise LpsInputError(
            f"gate {expression!r} names column {column!r}{did_you_mean(column, COLUMNS)}; "
            f"choose one of {', '.join(COLUMNS)}"
        )
    return Gate(match["metric"], column, match["op"], float(match["number"]), expression.strip())


def check_gates(table: pd.DataFrame, gates: list[Gate]) -> list[GateOutcome]:
    """Check every gate against the ``overall`` row of its metric."""
    overall = table[table["scope"] == "overall"]
    outcomes = []
    for gate in gates:
        rows = overall[overall["metric"] == gate.metric]
        if rows.empty:
            known = ", ".join(sorted(overall["metric"].unique()))
            raise LpsInputError(
                f"gate {gate.expression!r} names metric {gate.metric!r}, which was not computed; "
                f"computed: {known}"
            )
        value = float(rows[gate.column].iloc[0])
        if math.isnan(value):
            failed, reason = True, f"{gate.metric}.{gate.column} is missing (NaN), cannot pass"
        else:
            failed = bool(_OPS[gate.op](value, gate.threshold))
            verdict = "failed" if failed else "passed"
            reason = (
                f"{gate.metric}.{gate.column} = {value!r} "
                f"(fails if {gate.op} {gate.threshold!r}): {verdict}"
            )
        outcomes.append(
            GateOutcome(
                gate.expression,
                gate.metric,
                gate.column,
                gate.op,
                gate.threshold,
                value,
                failed,
                reason,
            )
        )
    return outcomes


def check_model_gates(table: pd.DataFrame, gates: list[Gate]) -> list[tuple[str, GateOutcome]]:
    """Check every gate against every scored model of a many-model table.

    ``table`` has a ``model`` column (:func:`lps_eval.score_many`, :func:`lps_eval.compare`).
    Models whose ``status`` is not ``ok`` are skipped (they have no rows to check: the
    caller reports them as errors). Returns ``(model, outcome)`` pairs, model by model in
    table order.
    """
    rows = table[table["scope"] != "difference"]
    if "status" in rows.columns:
        rows = rows[rows["status"] == "ok"]
    out = []
    for model, block in rows.groupby("model", sort=False):
        out += [(str(model), o) for o in check_gates(block, gates)]
    return out


def find_pyproject(start: Path | None = None) -> Path | None:
    """The nearest pyproject.toml in ``start`` or its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path | None) -> dict[str, Any]:
    """Read ``[tool.lps-eval]`` from a pyproject.toml (empty dict when absent)."""
    if path is None:
        return {}
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LpsInputError(f"could not read {path}: {exc}") from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        return {}
    _check_table_names(tool, path)
    config = tool.get("lps-eval", {})
    if not isinstance(config, dict):
        raise LpsInputError(f"[tool.lps-eval] in {path} must be a table")
    for key, value in config.items():
        if key not in CONFIG_KEYS:
            raise LpsInputError(
                f"unknown key {key!r} in [tool.lps-eval] of {path}"
                f"{did_you_mean(key, CONFIG_KEYS)}; known keys: {', '.join(CONFIG_KEYS)}"
            )
        CONFIG_KEYS[key](value, path)
    fail_if = config.get("fail-if", [])
    if isinstance(fail_if, str):
        fail_if = [fail_if]
    metrics = config.get("metrics")
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",") if m.strip()]
    out = {**config, "fail-if": fail_if}
    if metrics is not None:
        out["metrics"] = metrics
    return out


def _check_table_names(tool: dict[str, Any], path: Path) -> None:
    """A near miss of ``[tool.lps-eval]`` (``lps_eval``, ``lpseval``, ``LPS-eval``) is an
    error: silently ignoring it would switch the gate off."""
    for name in tool:
        if name == "lps-eval":
            continue
        folded = name.lower().replace("_", "-").replace(".", "-").replace(" ", "")
        if folded in ("lps-eval", "lpseval", "lps-evals", "lps-evaluation") or (
            difflib.SequenceMatcher(None, folded, "lps-eval").ratio() >= 0.8
        ):
            raise LpsInputError(
                f"misspelt table [tool.{name}] in {path}; did you mean [tool.lps-eval]? "
                "(lps-eval reads only that table)"
            )


def _type_error(key: str, what: str, value: Any, path: Path) -> LpsInputError:
    return LpsInputError(f"[tool.lps-eval] {key} must be {what} in {path}, got {value!r}")


def _check_str(key: str) -> Any:
    def check(value: Any, path: Path) -> None:
        if not isinstance(value, str) or not value.strip():
            raise _type_error(key, "a non-empty string", value, path)

    return check


def _check_str_list(key: str) -> Any:
    def check(value: Any, path: Path) -> None:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(e, str) for e in items):
            raise _type_error(key, "a string or a list of strings", value, path)

    return check


def _check_seed(value: Any, path: Path) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _type_error("seed", "a non-negative integer", value, path)


#: Keys of ``[tool.lps-eval]`` and their type checks.
CONFIG_KEYS: dict[str, Any] = {
    "fail-if": _check_str_list("fail-if"),
    "metrics": _check_str_list("metrics"),
    "predictor": _check_str("predictor"),
    "prior": _check_str("prior"),
    "seed": _check_seed,
}
