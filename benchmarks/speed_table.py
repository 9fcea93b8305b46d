"""The README's speed and memory table, rendered from ``results/readme_table.csv``.

``readme_table.py`` measures and writes the CSV (one line per side of each row); this
module turns the CSV into the markdown that sits in README.md between
:data:`START` and :data:`END`, and reads that section back, so a test can check that the
README says what the CSV measured (``tests/test_readme_speed_table.py``).

Publication rules (each is a claim the README makes):

- figures from ``--quick`` runs (small sizes) are never rendered: :func:`render` refuses;
- a time measured while other processes kept more than :data:`MAX_OTHERS_CPU` of the
  cores busy is not published (memory does not depend on the load, so memory rows are);
- a row never measured says so instead of showing a number;
- a speed ratio is the peer's *best* setting over ours; the peer's other setting is shown
  beside it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
CSV = HERE / "results" / "readme_table.csv"
README = HERE.parent / "README.md"
START = "<!-- speed-table:start -->"
END = "<!-- speed-table:end -->"
#: Largest share of the machine's cores that other processes may have used while a
#: time was measured for it to be published (an idle machine shows 0.00-0.05).
MAX_OTHERS_CPU = 0.25
#: The default LPS may cost this much more than the paper's procedure at equal N before
#: the README has to spell out what the extra cost buys.
DEFAULT_COST_LIMIT = 1.5
#: Row holding the default LPS against the paper's single split at equal N.
DEFAULT_ROW = "lps_default_vs_paper"
COLUMNS = [
    "row", "order", "kind", "what", "side", "role", "chosen", "setting", "unit", "median",
    "min", "max", "runs", "budget", "value", "value_name", "repeats", "quick", "date",
    "machine", "cpu_count", "load_before", "load_after", "others_cpu", "versions",
    "command", "note",
]  # fmt: skip

__all__ = ["COLUMNS", "CSV", "END", "README", "START", "read_readme_section", "render"]


def _number(value: float, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if unit == "MiB":
        return f"{value:,.0f} MiB"
    if value >= 100:
        return f"{value:,.0f} s"
    if value >= 10:
        return f"{value:.1f} s"
    if value >= 0.1:
        return f"{value:.2f} s"
    return f"{value:.3f} s"


def _measured(side: pd.Series) -> bool:
    return not pd.isna(side["median"])


def _busy(sides: pd.DataFrame) -> bool:
    """Times taken while other work held the cores (memory rows never count as busy)."""
    if (sides["unit"] != "s").all():
        return False
    others = pd.to_numeric(sides["others_cpu"], errors="coerce")
    return bool((others > MAX_OTHERS_CPU).any())


def _speedup_cells(ours: pd.Series, sides: pd.DataFrame) -> tuple[str, str]:
    peers = sides[sides["role"] == "peer"]
    best = peers[peers["chosen"].astype(bool)].iloc[0]
    others = [
        f"{_number(p['median'], p['unit'])} with {p['setting']}"
        for _, p in peers.iterrows()
        if not bool(p["chosen"])
    ]
    extra = f"; {'; '.join(others)}" if others else ""
    alternative = f"{_number(best['median'], best['unit'])} ({best['setting']}{extra})"
    ratio = best["median"] / ours["median"]
    if ratio >= 1:
        return alternative, f"**{ratio:.2f}x**"
    return alternative, f"{ratio:.2f}x (ours costs **{1 / ratio:.2f}x**)"


def _cost_cells(ours: pd.Series, sides: pd.DataFrame) -> tuple[str, str]:
    base = sides[sides["role"] == "baseline"].iloc[0]
    ratio = ours["median"] / base["median"]
    budget = "" if pd.isna(ours["budget"]) else f" (budget {ours['budget']:g}x)"
    return f"{_number(base['median'], base['unit'])} ({base['setting']})", f"{ratio:.2f}x{budget}"


def _budget_cells(ours: pd.Series) -> tuple[str, str]:
    budget = ours["budget"]
    if pd.isna(budget):
        return "", ""
    verdict = "within" if ours["median"] <= budget else "**over**"
    return f"budget {_number(budget, ours['unit'])}", f"{ours['median'] / budget:.0%} ({verdict})"


def _row_line(sides: pd.DataFrame) -> str:
    ours = sides[sides["role"] == "ours"].iloc[0]
    what, command = ours["what"], f"`{ours['command']}`"
    if not sides.apply(_measured, axis=1).all():
        return f"| {what} | not measured yet | | | {command} |"
    if _busy(sides):
        share = pd.to_numeric(sides["others_cpu"], errors="coerce").max()
        note = f"not published: other processes used {share:.0%} of the cores during the run"
        return f"| {what} | {note} | | | {command} |"
    cells = {
        "speedup": lambda: _speedup_cells(ours, sides),
        "cost": lambda: _cost_cells(ours, sides),
        "budget": lambda: _budget_cells(ours),
    }[ours["kind"]]()
    spread = ""
    if ours["max"] > ours["min"]:
        spread = f" ({_number(ours['min'], ours['unit'])}-{_number(ours['max'], ours['unit'])})"
    ours_cell = f"{_number(ours['median'], ours['unit'])}{spread}"
    return f"| {what} | {ours_cell} | {cells[0]} | {cells[1]} | {command} |"


def _default_cost_paragraph(table: pd.DataFrame) -> str:
    """What the default LPS costs against the paper's single split, and what it buys."""
    sides = table[table["row"] == DEFAULT_ROW]
    if sides.empty or not sides.apply(_measured, axis=1).all() or _busy(sides):
        return (
            "**The default LPS against the paper's procedure** (row "
            f"`{DEFAULT_ROW}`) is not measured on quiet cores yet."
        )
    ours = sides[sides["role"] == "ours"].iloc[0]
    best = sides[(sides["role"] == "peer") & sides["chosen"].astype(bool)].iloc[0]
    cost = ours["median"] / best["median"]
    head = (
        f"**What the default LPS costs.** At equal N the default `lps` (5-fold cross-fit, "
        f"interval, shuffled null) takes {cost:.2f}x the time of the paper's single-split "
        f"loop at its best thread setting ({_number(ours['median'], 's')} against "
        f"{_number(best['median'], 's')})."
    )
    if cost <= DEFAULT_COST_LIMIT:
        return head
    return head + (
        " It fits five models per dimension instead of one, and that buys: every row "
        "predicted once by a model that never saw it (R2 pooled over all N rows, not a "
        "quarter of them), an interval that includes the variability of the fitted models "
        "(the spread over folds), and a null level (LPS of the same rows with each column "
        "shuffled: the estimator's bias at this N and d). For the paper's procedure, a "
        "single 75/25 split, pass `--test-size 0.25` (`lps(z, test_size=0.25)`)."
        + _shipped_sentence(sides)
    )


def _shipped_sentence(sides: pd.DataFrame) -> str:
    """What ``lps(z)`` as shipped costs on the same rows (it fits a 10,000-row subsample)."""
    shipped = sides[sides["role"] == "info"]
    if shipped.empty or pd.isna(shipped["median"].iloc[0]):
        return ""
    return (
        " As shipped, the default fits a random 10,000-row subsample (`max_samples`; "
        "`-O lps.max_samples=none` for every row): "
        f"{_number(shipped['median'].iloc[0], 's')} on these rows."
    )


def _measured_context(table: pd.DataFrame) -> str:
    """When, where and with which versions the measured rows were taken."""
    measured = table[table["median"].notna()]
    if measured.empty:
        return "Nothing measured yet"
    dates = sorted({str(d)[:10] for d in measured["date"].dropna()})
    span = dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
    machines = "; ".join(sorted(str(m) for m in measured["machine"].dropna().unique()))
    versions: dict[str, str] = {}
    for text in measured["versions"].dropna().unique():
        versions.update(json.loads(text))
    lib = ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
    repeats = ", ".join(str(int(r)) for r in sorted(measured["repeats"].dropna().unique()))
    return f"Medians of {repeats} runs, measured {span} on {machines}; {lib}"


def _footer(table: pd.DataFrame) -> str:
    return (
        f"Generated by `python benchmarks/readme_table.py --write-readme` from "
        f"`benchmarks/results/readme_table.csv` (every run, min and max, settings, load "
        f"and versions are there). Each row's sides ran in turn in one process (A B A B "
        f"...); peers at their best thread setting (default threads or one thread per "
        f"model), the other setting in parentheses; times are published only when other "
        f"processes used under {MAX_OTHERS_CPU:.0%} of the cores. Peak memory is the "
        f"kernel's peak resident set of the whole process (`/usr/bin/time -v`'s figure, "
        f"mapped file pages included). {_measured_context(table)}. One-off figures (1e8 x "
        f"64 end to end, 100-model sweeps, MMD at N = 60,000) are in "
        f"[Scaling out](docs/scaling.md#one-off-figures)."
    )


def render(table: pd.DataFrame) -> str:
    """The markdown between the README's markers (markers excluded) for this CSV table."""
    if table["quick"].astype(bool).any():
        raise ValueError(
            "quick figures (small sizes) are not the README's: run "
            "python benchmarks/readme_table.py without --quick"
        )
    table = table.sort_values(["order", "row"], kind="stable")
    lines = [
        "| what | ours | the obvious alternative | ratio | command |",
        "| --- | --- | --- | --- | --- |",
    ]
    for _, sides in table.groupby("order", sort=True):
        lines.append(_row_line(sides))
    return "\n".join(["", *lines, "", _default_cost_paragraph(table), "", _footer(table), ""])


def read_csv(path: Path = CSV) -> pd.DataFrame:
    """The CSV as written by ``readme_table.py`` (``chosen`` and ``quick`` as booleans)."""
    table = pd.read_csv(path)
    for column in ("chosen", "quick"):
        table[column] = table[column].astype(str).str.lower().isin(["true", "1"])
    return table


def read_readme_section(text: str) -> str:
    """The text between the markers of README.md (ValueError when they are missing)."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise ValueError(f"README.md must hold {START} ... {END} exactly once, in that order")
    return text[text.index(START) + len(START) : text.index(END)]


def replace_readme_section(text: str, body: str) -> str:
    """README text with the section between the markers replaced by ``body``."""
    read_readme_section(text)  # checks the markers
    return text[: text.index(START) + len(START)] + body + text[text.index(END) :]
