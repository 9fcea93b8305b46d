"""Score a sweep of models in parallel, with a cache, then a file bigger than you'd load.

1. Writes six small latent files (a sweep whose dependence grows), scores them all with
   :func:`lps_eval.score_many` on two worker processes, with a cache folder; a second
   call finds every model in the cache and computes nothing.
2. Scores one ``.npy`` file through a memory map: only the rows each section uses are
   read, the all-row sections stream in chunks.

Run::

    python examples/sweep.py            # a process pool
    python examples/sweep.py local:2    # a Dask LocalCluster of 2 workers (lps-eval[dask])
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import lps_eval
from lps_eval.io import load_array

# a quick demo; the defaults are 200 permutations and 200 bootstrap resamples
FAST = {"lps": {"n_boot": 50}, "mmd": {"permutations": 50}, "independence": {"permutations": 50}}


def main(scheduler: str = "processes:2") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i in range(6):
            rng = np.random.default_rng(i)
            z = rng.standard_normal((3000, 4))
            z[:, 1] += 0.4 * i * np.sin(2 * z[:, 0])  # more nonlinear dependence each model
            np.save(folder / f"model_{i}.npy", z.astype(np.float32))

        cache = folder / "cache"
        t0 = time.perf_counter()
        table = lps_eval.score_many(
            str(folder / "model_*.npy"), scheduler=scheduler, cache=cache, **FAST
        )
        first = time.perf_counter() - t0
        headline = table.query("scope == 'overall' and metric in ['lps', 'lps_linear']")
        wide = headline.pivot(index="model", columns="metric", values="value")
        wide.index = [Path(m).name for m in wide.index]
        print(wide.round(3).to_string())

        t0 = time.perf_counter()
        again = lps_eval.score_many(
            str(folder / "model_*.npy"), scheduler=scheduler, cache=cache, **FAST
        )
        print(
            f"\nfirst run {first:.1f} s; rerun {time.perf_counter() - t0:.2f} s with "
            f"{again.attrs['sweep']['n_cached']} of {again.attrs['sweep']['n_models']} "
            f"models from the cache; identical: {again.equals(table)}"
        )

        # A memory-mapped file: lps-eval never loads it whole.
        z = load_array(folder / "model_5.npy")
        print(f"\n{type(z).__name__} of shape {z.shape}")
        mapped = lps_eval.score(z, **FAST)
        print(mapped.query("scope == 'overall'")[["metric", "value"]].head(3).to_string())


if __name__ == "__main__":  # the guard a process pool needs
    main(*sys.argv[1:2])
