"""Every row of the README's speed and memory table, measured side by side in one run.

Each row runs its sides in turn in this process (A B A B ..., one uncounted warm-up
each), ``--repeats`` times (default 3), and records the median, min, max and every run.
A peer (the obvious implementation, or the paper's procedure) is measured at its default
thread setting *and* at one thread per model, and the faster one is the one compared
(both are recorded). Peak memory is the kernel's peak resident set of a fresh
``lps-eval score`` process (``wait4``'s ``ru_maxrss``: ``/usr/bin/time -v``'s figure,
mapped file pages included). Every row records the machine, the date, the versions, the
1-minute load before and after, and the share of the cores that *other* processes used
while it ran (``others_cpu``); README.md publishes a time only when that share was
small (speed_table.py).

Usage::

    python benchmarks/readme_table.py                      # every row (about 80 min alone on 2 cores)
    python benchmarks/readme_table.py --rows memory_2e7x64 # some rows (merged into the CSV)
    python benchmarks/readme_table.py --write-readme       # also render README.md's table
    python benchmarks/readme_table.py --render-only        # README.md from the CSV, no measuring
    python benchmarks/readme_table.py --quick              # small sizes: checks the script;
                                                           # NOT the README's figures
    python benchmarks/readme_table.py --list               # the rows and what they compare

Run it alone: with other work on the cores a multi-threaded peer slows far more than a
single-threaded one, and the ratio lies. Speed rows refuse to start when the 1-minute load
is above ``--max-load`` (default 1.5) unless ``--force``; memory rows always run.

Writes benchmarks/results/readme_table.csv (``--quick``: readme_table_quick.csv).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import readme_rows
import speed_table
from timing import RESULTS, Quietness, machine

QUICK_CSV = RESULTS / "readme_table_quick.csv"


@dataclass(frozen=True)
class Row:
    """A group of README rows measured together, and the function that measures them."""

    name: str
    speed: bool  # a time (needs quiet cores) rather than a memory figure
    run: Callable[..., list[dict]]


ROWS = [
    Row("lps_linear", True, readme_rows.lps_linear),
    Row("lps_nonlinear", True, readme_rows.lps_nonlinear),
    Row("score_cli", True, readme_rows.score_cli),
    Row("report", True, readme_rows.report_vs_score),
    Row("memory_2e6x32", False, readme_rows.memory_2e6x32),
    Row("memory_2e7x64", False, readme_rows.memory_2e7x64),
    Row("sweep", True, readme_rows.sweep),
    Row("torch_predictor", True, readme_rows.torch_predictor),
    Row("mmd_exact", True, readme_rows.mmd_exact),
    Row("mmd_permutations", True, readme_rows.mmd_permutations),
    Row("metrics_dlib", True, readme_rows.metrics_vs_dlib),
]


def _versions() -> str:
    import lightgbm  # noqa: F401  (library_versions reports the imported ones)
    import sklearn  # noqa: F401

    from lps_eval.results import library_versions

    return json.dumps(library_versions(), sort_keys=True)


def measure_row(row: Row, *, repeats: int, quick: bool, tmp: Path) -> pd.DataFrame:
    """The CSV lines of one row: its sides' figures plus machine, date, load, versions."""
    print(f"== {row.name} ({'quick, ' if quick else ''}{repeats} runs each)", flush=True)
    with Quietness() as quiet:
        records = row.run(repeats=repeats, quick=quick, tmp=tmp)
    stamp = {
        "repeats": repeats,
        "quick": quick,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        **machine(),
        **quiet.as_dict(),
        "versions": _versions(),
    }
    frame = pd.DataFrame(records).assign(**stamp)
    frame = frame.reindex(columns=speed_table.COLUMNS)
    print(frame[["row", "side", "median", "min", "max", "others_cpu"]].to_string(index=False))
    return frame


def merge(old: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """``new`` replaces the lines of the rows it holds; other rows' lines are kept."""
    if old is None or old.empty:
        return new.reset_index(drop=True)
    kept = old[~old["row"].isin(set(new["row"]))]
    merged = pd.concat([kept, new], ignore_index=True)
    return merged.sort_values(["order", "row"], kind="stable").reset_index(drop=True)


def with_placeholders(table: pd.DataFrame | None) -> pd.DataFrame:
    """The table plus a "not measured yet" line for every README row it lacks."""
    have = set() if table is None else set(table["row"])
    missing = [
        readme_rows._record(row, "ours", "ours", "", [])
        for row in readme_rows.META
        if row not in have
    ]
    if not missing:
        return table
    placeholders = pd.DataFrame(missing).assign(quick=False)
    return merge(table, placeholders.reindex(columns=speed_table.COLUMNS))


def write_readme(table: pd.DataFrame, readme: Path = speed_table.README) -> None:
    text = readme.read_text()
    readme.write_text(speed_table.replace_readme_section(text, speed_table.render(table)))
    print(f"wrote the table of {readme}")


def _selected(names: str | None) -> list[Row]:
    if not names:
        return ROWS
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    known = {r.name: r for r in ROWS}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise SystemExit(f"unknown rows {unknown}; known: {', '.join(known)}")
    return [known[n] for n in wanted]


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", help="comma-separated row names (default: all; see --list)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small sizes, separate CSV")
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument("--render-only", action="store_true")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--max-load", type=float, default=1.5)
    parser.add_argument("--force", action="store_true", help="measure speed rows on busy cores")
    parser.add_argument("--tmp", default="/tmp", help="folder for the memory rows' files")
    parser.add_argument("--csv", type=Path, help="CSV to write (default by --quick)")
    args = parser.parse_args()
    if args.quick and (args.write_readme or args.render_only):
        parser.error("--quick figures are not the README's: drop --write-readme/--render-only")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    return args


def main() -> None:
    args = _parse()
    rows = _selected(args.rows)
    if args.list:
        for row in rows:
            print(f"{row.name:18s} {'speed ' if row.speed else 'memory'} {row.run.__doc__.strip()}")
        return
    path = args.csv or (QUICK_CSV if args.quick else speed_table.CSV)
    old = speed_table.read_csv(path) if path.exists() else None
    if args.render_only:
        write_readme(with_placeholders(old))
        return
    table = old
    for row in rows:
        load = os.getloadavg()[0]
        if row.speed and load > args.max_load and not args.force:
            print(
                f"skip {row.name}: 1-minute load {load:.2f} > {args.max_load} (other work on "
                "the cores makes the ratio lie; rerun alone, or --force to measure anyway, "
                "then README.md does not publish the time)",
                flush=True,
            )
            continue
        measured = measure_row(row, repeats=args.repeats, quick=args.quick, tmp=Path(args.tmp))
        table = merge(table, measured)
        path.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(path, index=False)  # after every row: an interrupted run keeps its rows
        time.sleep(0 if args.quick else 20)  # let this row's own load fade before the next
    if table is None:
        raise SystemExit("nothing measured and no CSV to render")
    print(f"wrote {path}")
    if args.write_readme:
        write_readme(with_placeholders(table))


if __name__ == "__main__":
    main()
