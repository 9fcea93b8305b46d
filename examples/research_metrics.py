"""Every metric of the peers (Ubisoft La Forge, latte, InfoMEC, DCI-ES, MED, latentverse) on
the known-answer worlds of ``lps_eval.simulations.metric_world``, in one table.

Each world maps four factors (6 values each) to latents with a known structure:
``identity`` (one clean latent per factor), ``rotated`` (factors mixed in pairs at 45
degrees), ``mixed`` (mild dense mixing), ``nonlinear`` (each factor on a circle: two
latents per factor), ``nuisance`` (identity + 4 noise latents), ``dead`` (identity + 2
constant latents), ``dependent`` (identity codes of interdependent factors) and
``random`` (noise). Then one model is scored with ``lps_eval.score``: the default
``supervised`` section plus the on-request metrics, every number with its reference
in the table's attrs. Takes about a minute::

    python examples/research_metrics.py                    # prints the world x metric table
    python examples/research_metrics.py --figure worlds.png  # and draws it (matplotlib)
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pandas as pd

import lps_eval
from lps_eval.simulations import METRIC_WORLDS, metric_world

#: The overall rows shown, in the order of the docs page.
ROWS = (
    "mig",
    "z_diff",
    "z_min_var",
    "z_max_var",
    "dmig",
    "xmig",
    "dlig",
    "infom",
    "infoe",
    "infoc",
    "dci_es_explicitness",
    "dci_es_size",
    "med",
    "med_topk",
    "probe_linear",
    "probe_nonlinear_gap",
)
SELECTION = ["mig", "z_diff", "z_min_var", "z_max_var", "mi_gaps", "infomec", "dci_es", "med"]


def world_table() -> pd.DataFrame:
    """One column per world, one row per metric (overall values)."""
    columns = {}
    for world in METRIC_WORLDS:
        a = metric_world(world)
        z = np.concatenate([a["z"], a["z_test"]])
        f = np.concatenate([a["factors"], a["factors_test"]])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NaN rows (e.g. XMIG without a spare latent)
            table = lps_eval.score(
                z, factors=f, metrics=[*SELECTION, "probe_ladder"], probe_ladder={"max_iter": 150}
            )
        overall = table[table.scope == "overall"].set_index("metric").value
        columns[world] = overall.reindex(ROWS)
    return pd.DataFrame(columns)


def draw(table: pd.DataFrame, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 7.5))
    image = ax.imshow(table.to_numpy(dtype=float), cmap="viridis", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(table.shape[1]), table.columns, rotation=30, ha="right")
    ax.set_yticks(range(table.shape[0]), table.index)
    for (i, j), value in np.ndenumerate(table.to_numpy(dtype=float)):
        if np.isnan(value):
            ax.text(j, i, "n/a", ha="center", va="center", fontsize=8, color="0.4")
            continue
        color = "black" if value > 0.6 else "white"
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8, color=color)
    ax.set_title("Known-answer worlds: each metric's overall value")
    fig.colorbar(image, ax=ax, shrink=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figure", help="write the table as a heat map (PNG)")
    args = parser.parse_args()

    table = world_table()
    with pd.option_context(
        "display.width", 200, "display.max_columns", None, "display.float_format", "{:.2f}".format
    ):
        print(table)
    if args.figure:
        draw(table, args.figure)
        print(f"wrote {args.figure}")

    # one model, every metric: the default supervised section plus the on-request ones
    a = metric_world("mixed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = lps_eval.score(
            a["z"],
            factors=a["factors"],
            metrics=["supervised", "infomec", "dci_es", "probe_ladder", "clusterability"],
            probe_ladder={"max_iter": 150},
        )
    overall = scores[scores.scope == "overall"][["metric", "value"]]
    print(overall.to_string(index=False))
    print("options used:", sorted(scores.attrs["options"]))


if __name__ == "__main__":
    main()
