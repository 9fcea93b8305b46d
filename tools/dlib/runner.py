"""Run disentanglement_lib 1.5's metric code on saved arrays; print timings as JSON.

Invoked by ``bench_metrics.py`` with the throwaway environment's interpreter
(``/tmp/dlib-venv/bin/python``, see ``tools/dlib/make_golden.py`` for its setup);
never imported by the package or the tests.
"""

from __future__ import annotations

import json
import sys
import time

import make_golden as mg  # (this folder; stubs gin.tf, binds the study defaults)
import numpy as np
from disentanglement_lib.evaluation.metrics import (
    beta_vae,
    dci,
    factor_vae,
    irs,
    mig,
    modularity_explicitness,
    sap_score,
)

sim = mg.load_simulations()


class BenchGrid(mg.GridData):
    """Product-grid dataset whose observations are the benchmark's latent map."""

    def __init__(self, seed: int):
        self.noise = np.random.default_rng(seed)
        self.num_factors = len(sim.DSPRITES_FACTOR_SIZES)

    def sample_factors(self, n, random_state):
        return np.stack(
            [random_state.randint(k, size=n) for k in sim.DSPRITES_FACTOR_SIZES], axis=1
        )

    def sample_observations_from_factors(self, factors, random_state):
        return sim.dsprites_like_latents(factors, self.noise)


def main() -> None:
    path, wanted = sys.argv[1], sys.argv[2].split(",")
    data = np.load(path)
    z = np.concatenate([data["z"], data["z_test"]])
    f = np.concatenate([data["factors"], data["factors_test"]])
    n_tr, n_te = len(data["z"]), len(data["z_test"])
    runs = {
        "mig": lambda: mg._run(mig.compute_mig, z, f, num_train=n_tr)["discrete_mig"],
        "sap": lambda: mg._run(
            sap_score.compute_sap, z, f, num_train=n_tr, num_test=n_te, continuous_factors=False
        )["SAP_score"],
        "modularity_explicitness": lambda: mg._run(
            modularity_explicitness.compute_modularity_explicitness,
            z,
            f,
            num_train=n_tr,
            num_test=n_te,
        )["modularity_score"],
        "irs": lambda: mg._run(irs.compute_irs, z, f, num_train=n_tr, batch_size=16)["IRS"],
        "dci": lambda: mg._run(dci.compute_dci, z, f, num_train=n_tr, num_test=n_te),
        "beta_vae": lambda: beta_vae.compute_beta_vae_sklearn(
            BenchGrid(1),
            mg.identity,
            np.random.RandomState(1),
            batch_size=64,
            num_train=10000,
            num_eval=5000,
        )["eval_accuracy"],
        "factor_vae": lambda: factor_vae.compute_factor_vae(
            BenchGrid(2),
            mg.identity,
            np.random.RandomState(2),
            batch_size=64,
            num_train=10000,
            num_eval=5000,
            num_variance_estimate=10000,
        )["eval_accuracy"],
    }
    out = {}
    for name in wanted:
        t0 = time.perf_counter()
        value = runs[name]()
        seconds = time.perf_counter() - t0
        if isinstance(value, dict):  # DCI: disentanglement, completeness, informativeness
            out[name] = {
                "seconds": seconds,
                "value": float(value["disentanglement"]),
                "completeness": float(value["completeness"]),
                "informativeness": float(value["informativeness_test"]),
            }
        else:
            out[name] = {"seconds": seconds, "value": float(value)}
        print(json.dumps({name: out[name]}), file=sys.stderr, flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
