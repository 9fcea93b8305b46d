"""Compare two latent spaces and write a self-contained HTML report.

The demo's PCA codes of scikit-learn's digits (uncorrelated but far from independent)
against Gaussian noise of the same shape (independent, matches the prior). Prints the
summary as markdown, the difference rows, and writes report.html (open it offline in
any browser).

    python examples/compare_and_report.py [--out report.html]
"""

from __future__ import annotations

import argparse

import numpy as np

import lps_eval
from lps_eval.scoring import format_summary, summarize
from lps_eval.simulations import digits_latents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="report.html")
    args = parser.parse_args()

    z, _ = digits_latents(n_components=8, seed=0)
    noise = np.random.default_rng(0).normal(size=z.shape)
    models = {"digits-pca": z, "gaussian": noise}

    table = lps_eval.compare(models, seed=0)
    print(format_summary(summarize(table), "markdown"))
    diffs = table[table["scope"] == "difference"]
    print()
    cols = ["model", "metric", "value", "ci_low", "ci_high", "p_value", "pairing"]
    print(diffs[cols].to_string(index=False, float_format=lambda v: f"{v:.4g}"))

    result = lps_eval.report(models, args.out, fail_if=["lps > 0.5"], seed=0)
    verdicts = ", ".join(f"{m}: {'fail' if o.failed else 'pass'}" for m, o in result.gates)
    print(f"\nwrote {result.path} ({len(result.figures)} figures; gate lps > 0.5 -> {verdicts})")


if __name__ == "__main__":
    main()
