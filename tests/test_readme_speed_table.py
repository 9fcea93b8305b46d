"""README.md's speed and memory table is the rendering of benchmarks/results/readme_table.csv.

The table is written by ``python benchmarks/readme_table.py --write-readme``; these tests
fail when someone edits the figures by hand, when the CSV is re-measured without
re-rendering, and when the rendering rules (no quick figures, no times from busy cores,
the peer's best setting, the default's cost spelled out) stop holding.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


speed_table = _load("speed_table")
readme_table = _load("readme_table")


def test_readme_table_is_the_rendering_of_the_csv():
    readme = (ROOT / "README.md").read_text()
    table = speed_table.read_csv(speed_table.CSV)
    expected = speed_table.render(readme_table.with_placeholders(table))  # as --render-only
    assert speed_table.read_readme_section(readme) == expected, (
        "README.md's speed table differs from benchmarks/results/readme_table.csv: run "
        "python benchmarks/readme_table.py --render-only (or re-measure with --write-readme)"
    )


def test_csv_holds_every_readme_row_once_with_one_ours_side():
    table = speed_table.read_csv(speed_table.CSV)
    ours = table[table["role"] == "ours"]
    assert ours["row"].is_unique and set(ours["row"]) == set(table["row"])
    assert not table["quick"].any()


def _side(row, role, median, *, order=1, kind="speedup", side=None, chosen=True, unit="s",
          others=0.01, budget=math.nan, setting="", quick=False):  # fmt: skip
    record = dict.fromkeys(speed_table.COLUMNS, math.nan)
    record.update(
        row=row, order=order, kind=kind, what=f"what {row}", side=side or role, role=role,
        chosen=chosen, setting=setting or role, unit=unit, median=median, min=median,
        max=median, runs=str(median), budget=budget, repeats=3, quick=quick,
        date="2026-12-03T00:00:00+00:00", machine="test machine", others_cpu=others,
        versions=json.dumps({"lps_eval": "0"}), command=f"run {row}",
    )  # fmt: skip
    return record


def _line(text: str, row: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"| what {row} |"))


def test_speedup_is_against_the_peers_best_setting_and_shows_the_other():
    table = pd.DataFrame([
        _side("r", "ours", 17.9),
        _side("r", "peer", 47.9, side="p1", setting="n_jobs=1"),
        _side("r", "peer", 224.0, side="pd", chosen=False, setting="default threads"),
    ])  # fmt: skip
    line = _line(speed_table.render(table), "r")
    assert "**2.68x**" in line and "47.9 s (n_jobs=1; 224 s with default threads)" in line


def test_a_slower_side_is_said_to_cost_more():
    table = pd.DataFrame([_side("r", "ours", 90.0), _side("r", "peer", 30.0)])
    assert "0.33x (ours costs **3.00x**)" in _line(speed_table.render(table), "r")


def test_times_from_busy_cores_are_not_published_but_memory_is():
    table = pd.DataFrame([
        _side("t", "ours", 10.0, others=0.8), _side("t", "peer", 30.0, others=0.8),
        _side("m", "ours", 920.0, order=2, kind="budget", unit="MiB", others=0.8, budget=1536),
    ])  # fmt: skip
    text = speed_table.render(table)
    assert "not published" in _line(text, "t") and "3.00x" not in _line(text, "t")
    assert "920 MiB" in _line(text, "m") and "budget 1,536 MiB" in _line(text, "m")


def test_quick_figures_are_refused():
    table = pd.DataFrame([_side("r", "ours", 1.0, quick=True), _side("r", "peer", 2.0)])
    with pytest.raises(ValueError, match="quick"):
        speed_table.render(table)


def test_a_row_never_measured_says_so():
    table = pd.DataFrame([_side("r", "ours", math.nan)])
    assert "not measured yet" in _line(speed_table.render(table), "r")


@pytest.mark.parametrize(("ours", "explained"), [(90.0, True), (40.0, False)])
def test_the_default_lps_cost_is_spelled_out_beyond_the_limit(ours, explained):
    row = speed_table.DEFAULT_ROW
    table = pd.DataFrame([_side(row, "ours", ours), _side(row, "peer", 30.0)])
    text = speed_table.render(table)
    assert f"{ours / 30:.2f}x the time of the paper's single-split loop" in text
    assert ("what it buys" in text.lower() or "that buys" in text) is explained
    assert ("--test-size 0.25" in text) is explained


def test_cost_and_budget_rows():
    table = pd.DataFrame([
        _side("c", "ours", 20.3, kind="cost", budget=1.5),
        _side("c", "baseline", 17.5, kind="cost"),
        _side("b", "ours", 23.1, order=2, kind="budget", budget=30.0),
    ])  # fmt: skip
    text = speed_table.render(table)
    assert "1.16x (budget 1.5x)" in _line(text, "c")
    assert "budget 30.0 s" in _line(text, "b") and "77% (within)" in _line(text, "b")


def test_markers_are_required_once():
    with pytest.raises(ValueError, match="exactly once"):
        speed_table.read_readme_section("no markers here")
    body = f"a\n{speed_table.START}\nold\n{speed_table.END}\nb"
    assert speed_table.replace_readme_section(body, "\nnew\n") == (
        f"a\n{speed_table.START}\nnew\n{speed_table.END}\nb"
    )
