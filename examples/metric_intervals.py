"""Is MIG 0.23 vs 0.26 a difference? Every supervised number with its interval.

Two "models" encode the same 3 factors: one aligned (one noisy latent per factor), one
slightly mixed. Every supervised metric reports its value with a 95% interval from a
seeded resampling of its own unit (rows, test rows, draws or half-samples; see
docs/metrics.md#intervals), and the reference it follows. Overlapping intervals say
"not distinguishable at this sample size"; disjoint ones say "different". A metric that
cannot mean anything on its input (here: constant factors) returns NaN with the reason.
Runs in about a minute::

    python examples/metric_intervals.py
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

import lps_eval
from lps_eval import metrics
from lps_eval import simulations as sim

world = sim.known_world("identity", n=3000, seed=0, noise=0.3)
factors, aligned = world["factors"], world["z"]
mix = np.eye(3) + 0.25 * np.roll(np.eye(3), 1, axis=1)  # a little of the next factor
mixed = aligned @ mix

rows = []
for model, z in (("aligned", aligned), ("mixed", mixed)):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # DCI refits its probes per replicate: 5 here to stay quick (default 10)
        table = lps_eval.score(z, factors=factors, metrics=["supervised"], dci={"n_boot": 5})
    overall = table[table.scope == "overall"]
    rows.append(overall.assign(model=model)[["model", "metric", "value", "ci_low", "ci_high"]])
both = pd.concat(rows).pivot(index="metric", columns="model")
both = both.reorder_levels([1, 0], axis=1)[
    [(m, c) for m in ("aligned", "mixed") for c in ("value", "ci_low", "ci_high")]
]
print(both.round(3).to_string())

# disjoint intervals: a difference at this sample size
a = both["aligned"]
m = both["mixed"]
different = (a.ci_low > m.ci_high) | (m.ci_low > a.ci_high)
print("\ndistinguishable at n = 3000:", ", ".join(different[different].index))

# the reference behind each number
with pd.option_context("display.max_colwidth", 100):
    print("\n" + table[table.scope == "overall"].set_index("metric")["reference"].to_string())

# a metric that cannot mean anything: NaN, with the reason and the fix
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    res = metrics.mig(aligned, np.zeros_like(factors))
print("\nmig on constant factors:", res.value, "-", res.reason)
