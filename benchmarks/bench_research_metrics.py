"""Time the peers' metrics (Z-diff ..., DMIG ..., InfoMEC, DCI-ES, MED, probe ladder,
clusterability) at 10,000 x 10, and what the default ones add to ``score --factors``.

Data: ``lps_eval.simulations.dsprites_like()`` (10,000 training + 5,000 test rows, 10
latents, 5 dSprites-sized factors). Each metric runs once with its defaults, single
threaded (OMP/OpenBLAS 1 thread); metrics with a test split get the 5,000 test rows.
The last rows time the default ``supervised`` section with and without the new default
metrics (the difference is what this branch adds to ``lps-eval score --factors``).

Usage::

    python benchmarks/bench_research_metrics.py

Writes ``benchmarks/results/bench_research_metrics.csv`` and prints it.
"""

from __future__ import annotations

import os
import sys
import warnings

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pandas as pd  # noqa: E402
from timing import save, timed  # noqa: E402

from lps_eval import metrics  # noqa: E402
from lps_eval.metrics import metric_specs  # noqa: E402
from lps_eval.simulations import dsprites_like  # noqa: E402

NEW = ("z_diff", "z_min_var", "z_max_var", "mi_gaps", "med", "infomec", "dci_es", "probe_ladder")


def main() -> None:
    data = dsprites_like()
    specs = metric_specs()
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in NEW:
            spec = specs[name]
            args = (
                dict(data)
                if "uses_test_split" in spec.properties
                else {"z": data["z"], "factors": data["factors"]}
            )
            res, seconds = timed(lambda fn=spec.function, args=args: fn(**args))
            rows.append(
                {"metric": name, "default": spec.default, "seconds": seconds, "value": res.value}
            )
            print(f"{name}: {seconds:.2f}s", file=sys.stderr)
        _, seconds = timed(lambda: metrics.clusterability(data["z"]))
        rows.append({"metric": "clusterability", "default": False, "seconds": seconds})
        defaults = [n for n, s in specs.items() if s.default]
        old = [n for n in defaults if n not in NEW]
        for label, names in (
            ("supervised_section_without_new", old),
            ("supervised_section", defaults),
        ):

            def run(names=names):
                return [specs[n].function(data["z"], data["factors"]) for n in names]

            _, seconds = timed(run)
            rows.append({"metric": label, "default": True, "seconds": seconds})
    table = pd.DataFrame(rows)
    added = table.set_index("metric").seconds
    table.loc[len(table)] = {
        "metric": "added_by_new_defaults",
        "default": True,
        "seconds": added["supervised_section"] - added["supervised_section_without_new"],
    }
    save(table, "bench_research_metrics")


if __name__ == "__main__":
    main()
