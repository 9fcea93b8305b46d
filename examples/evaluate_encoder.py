"""Evaluate an encoder on a synthetic world the way disentanglement_lib does.

The encoder here is a plain function: the intensity centroid of each image, which is the
xy world's position factors themselves. Its MIG is the known answer
H(20 bins of 32 values) / log 32 = 0.85, and BetaVAE / FactorVAE are 1.

    python examples/evaluate_encoder.py
"""

import numpy as np

import lps_eval
from lps_eval.data import get_dataset

CENTRES = np.arange(32) + 0.5


def centroid(images: np.ndarray) -> np.ndarray:
    """(n, 1, 32, 32) images in [0, 1] -> (n, 2) codes: the centre of mass (x, y)."""
    w = images[:, 0].astype(np.float64)
    mass = w.sum(axis=(1, 2))
    return np.stack([(w.sum(1) * CENTRES).sum(1) / mass, (w.sum(2) * CENTRES).sum(1) / mass], 1)


if __name__ == "__main__":
    world = get_dataset("xy")
    print(
        f"{world.name}: {world.n_images} images {world.image_shape}, factors {world.factor_sizes}"
    )
    table = lps_eval.evaluate(
        centroid, "xy", metrics=["lps", "mig", "dci", "beta_vae", "factor_vae"]
    )
    print(table.query("scope == 'overall'")[["metric", "value"]].to_string(index=False))
    print("sample sizes:", table.attrs["evaluation"]["study_sample_sizes"]["beta_vae"])
