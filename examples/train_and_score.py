"""Train two small models with the reference trainer and score their latent spaces.

AE + MMD (Gaussian prior) and a VAE on scikit-learn's bundled 8x8 digits (nothing is
downloaded), same architecture and budget, then LPS and MMD-to-prior from the toolkit.
Runs in well under a minute on a laptop CPU; the dSprites comparison of the paper's
Table 7 is experiments/train_dsprites.py.

    python examples/train_and_score.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

import lps_eval
from lps_eval.train import encode, fit


def main() -> None:
    budget = dict(
        latent_dim=4,
        steps=400,
        batch_size=128,
        lr=2e-3,
        width=8,
        hidden=64,
        eval_size=1797,
        seed=0,
        num_threads=1,
        progress=False,
    )
    with tempfile.TemporaryDirectory() as tmp:
        runs = {
            "ae_mmd": fit(
                "digits",
                objective="mmd",
                prior="gaussian",
                mmd_weight=1.0,
                out=Path(tmp) / "ae_mmd",
                **budget,
            ),
            "vae": fit("digits", objective="kl", beta=1.0, out=Path(tmp) / "vae", **budget),
        }
        for name, run in runs.items():
            table = lps_eval.score(
                run.z, prior="gaussian", metrics=["lps", "mmd"], predictor="linear", seed=0
            )
            overall = table[table["scope"] == "overall"].set_index("metric")["value"]
            print(
                f"{name:7s} NMSE {run.nmse_db:6.2f} dB  LPS(linear) {overall['lps']:.3f}  "
                f"MMD^2 to N(0, I) {overall['mmd']:.4f}"
            )
        # a trained run re-encodes new data exactly as `lps-eval encode` does
        z = encode(runs["vae"].run_dir, lps_eval.train.digits().images(np.arange(10)))
        assert np.allclose(z, runs["vae"].z[:10], atol=1e-6)


if __name__ == "__main__":
    main()
