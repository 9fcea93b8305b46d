"""Three known worlds, three verdicts: is LPS converged, and what does the predictor use?

Run: python examples/lps_verdicts.py

- independent: 3,000 x 6 N(0, I) -> "No dependence detected at any N" (its LPS still moves
  with N: that is the small-N bias of held-out R2, which the null curve shares);
- strong: z1 = sin(2 z0) + 0.3 e and z4 = z2 z3 + 0.3 e -> the predictor relies on exactly
  the eight conditionally dependent (target, source) cells, the linear structure sees only
  the sine's linear part;
- slow: z3 = z0 z1 z2 + 0.1 e at 4,000 rows -> "LPS NOT converged in N: still rising".

kNN keeps the run short; the report's default predictor is hgb.
"""

from __future__ import annotations

import numpy as np

import lps_eval
from lps_eval.predictability import curve_verdict, default_sizes, lps_importance
from lps_eval.simulations import gaussian_latents, sine_product_latents, slow_dependence_latents


def verdict(z: np.ndarray) -> str:
    n_train = z.shape[0] - round(0.2 * z.shape[0])  # the report holds out one fold's share
    curve = lps_eval.lps_curve(
        z, predictor="knn", test_size=0.2, sizes=default_sizes(n_train, points=3)
    )
    found = curve_verdict(curve)
    return f"{found.headline}: {found.detail}"


def marked(mask: np.ndarray, dims: np.ndarray) -> list[tuple[int, int]]:
    """(target, source) latent indices of the cells a mask marks."""
    rows, cols = np.nonzero(mask)
    return sorted((int(dims[a]), int(dims[b])) for a, b in zip(rows, cols, strict=True))


def main() -> None:
    worlds = {
        "independent": gaussian_latents(3000, 6, seed=2),
        "strong": sine_product_latents(3000, seed=1),
        "slow": slow_dependence_latents(4000, seed=3),
    }
    for name, z in worlds.items():
        print(f"== {name}\n{verdict(z)}\n")
    imp = lps_importance(worlds["strong"], predictor="knn")
    cells, linear = marked(imp.above_null, imp.dims), marked(imp.linear_above_null, imp.dims)
    print("strong: (target, source) cells the predictor relies on, above the null:", cells)
    print("strong: cells of the linear structure above the null:              ", linear)


if __name__ == "__main__":
    main()
