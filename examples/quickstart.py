"""Quickstart: score a latent space in a few lines (well under a minute on a CPU).

The data come from :func:`lps_eval.simulations.nonlinear_pair`: ``z1 = sin(2 z0) + 0.3 e``
plus two independent standard-normal dimensions. Dimension 1 is almost unpredictable
*linearly* from the others but highly predictable *nonlinearly*; its population R2 under
the optimal predictor is known in closed form, so you can see how close LPS gets.

Run::

    python examples/quickstart.py
"""

from __future__ import annotations

import numpy as np

import lps_eval
from lps_eval.simulations import nonlinear_pair


def main() -> None:
    z, r2_z1 = nonlinear_pair(2000, seed=0)  # (2000, 4) array, rows = samples

    # 1. Everything that applies, as one tidy table (one row per measured quantity).
    table = lps_eval.score(z, seed=0)
    overall = table[table["scope"] == "overall"]
    print(overall[["metric", "value", "ci_low", "ci_high", "p_value"]].to_string(index=False))

    # 2. Per-dimension held-out R2 of the default nonlinear predictor (hgb).
    per_dim = table[(table["metric"] == "lps") & (table["scope"] == "dim")]
    print("\nper-dim R2 (hgb):", np.round(per_dim["value"].to_numpy(), 3))
    print(f"population R2 of dim 1 under the optimal predictor: {r2_z1:.3f}")

    # 3. The closed-form linear LPS as a result object: which dimension explains which.
    lin = lps_eval.lps(z, predictor="linear", seed=0)
    print(f"\nlinear LPS = {lin.value:.3f}, null level {lin.null_value:.3f}")
    print("linear structure (row i, column j: R2 of dim i lost when dim j is dropped):")
    print(np.round(lin.structure, 3))


if __name__ == "__main__":
    main()
