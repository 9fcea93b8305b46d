"""Independence watched during training: LPS, MMD^2 and NMSE on a fixed image subset.

Every ``eval_every`` steps the trainer encodes a fixed evaluation subset (the same images
at every evaluation and for every seed) and logs, into ``history.csv``:

* ``lps_linear``: LPS with the closed-form linear predictor (all rows);
* ``lps_hgb``: LPS with HistGradientBoosting on at most ``hgb_rows`` rows (both LPS on
  one seeded held-out split, ``SINGLE_SPLIT_TEST_SIZE``, not cross-fitted: a tenth of
  the cost, so evaluations fit in the budget and the curve keeps its points);
* ``mmd2``: unbiased MMD^2 between the latents and the prior (RBF sum at
  {0.5, 1, 2} x median distance, no permutation test);
* ``nmse_db``: reconstruction NMSE in dB on the subset;
* ``eval_seconds``: what that evaluation cost.

All four use the public :func:`lps_eval.lps` / :func:`lps_eval.mmd` API with fixed seeds,
so curves from different runs are comparable point by point. No intervals, null level or
permutation test are computed here (they would multiply the cost); score the final
``latents.npz`` for those.

**Cost bound.** An evaluation is skipped when running it would push the total evaluation
CPU time above ``budget`` x the training CPU time so far (the cost of the previous
evaluation is the estimate; CPU time, so that a busy shared machine or a paused process
does not distort the ratio); the evaluation after the last step always runs.
``metrics.json`` records ``eval_fraction`` (CPU), ``eval_fraction_wall`` and the times.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from lps_eval.predictability import SINGLE_SPLIT_TEST_SIZE
from lps_eval.train.encoding import encode_images, nmse_db

__all__ = ["EVAL_COLUMNS", "MIN_ROWS", "EvalMonitor"]

#: Fewest evaluation images for which LPS and MMD^2 are computed (NaN below).
MIN_ROWS = 40
EVAL_COLUMNS = ("lps_linear", "lps_hgb", "mmd2", "nmse_db", "eval_seconds")


class EvalMonitor:
    """Scores a model on a fixed image subset and decides when that is affordable.

    Parameters
    ----------
    images : float32 array (n, C, H, W)
        The fixed evaluation subset.
    prior : prior object or spec
        What ``mmd2`` compares the latents with (N(0, I) for ae and kl).
    every : int
        Evaluate after every ``every`` steps (0 = only after the last step).
    budget : float
        Maximal evaluation time as a fraction of training time (inf = no bound).
    hgb_rows : int
        Row cap of the nonlinear LPS.
    seed : int
        Seed of the LPS split/subsample and the prior sample of the MMD.
    device : str
        Where the model runs.
    """

    def __init__(
        self,
        images: np.ndarray,
        *,
        prior: Any,
        every: int,
        budget: float,
        hgb_rows: int = 2000,
        seed: int = 0,
        device: str = "cpu",
    ) -> None:
        self.images = images
        self.prior = prior
        self.every = int(every)
        self.budget = float(budget)
        self.hgb_rows = int(hgb_rows)
        self.seed = int(seed)
        self.device = device
        self.seconds = 0.0  # wall-clock time of all evaluations
        self.cpu_seconds = 0.0  # their CPU time (what the budget counts)
        self.last_cost = 0.0
        self.skipped = 0
        self.rows: list[dict[str, float]] = []

    def due(self, step: int, total_steps: int, train_cpu_seconds: float) -> bool:
        """Is an evaluation scheduled after ``step``, and does the budget allow it?

        The budget compares CPU times (``time.process_time``), not wall-clock times, so
        that other jobs on a shared machine or a paused process (SIGSTOP) do not distort
        the ratio.
        """
        if step == total_steps:
            return True
        if self.every <= 0 or step % self.every != 0:
            return False
        # the previous evaluation's cost estimates this one's (the first one is unknown, so
        # it runs whenever the budget is positive and is counted like the others)
        spent = self.cpu_seconds + self.last_cost
        if self.budget <= 0 or spent > self.budget * train_cpu_seconds:
            self.skipped += 1
            return False
        return True

    def evaluate(self, model: Any, step: int) -> dict[str, float]:
        """Score ``model`` on the subset, append and return the row (model left in train mode)."""
        from lps_eval.predictability import lps
        from lps_eval.prior_matching import mmd

        start, cpu_start = time.perf_counter(), time.process_time()
        z, x_hat = encode_images(model, self.images, device=self.device)
        model.train()
        z = z.astype(np.float64)
        row: dict[str, float] = {"step": float(step), "nmse_db": nmse_db(self.images, x_hat)}
        # LPS needs enough rows for a held-out split and non-constant columns; otherwise
        # the numbers are undefined and logged as NaN rather than guessed
        usable = z.shape[0] >= MIN_ROWS and z.shape[1] >= 2
        if usable and np.all(np.isfinite(z)) and np.all(z.std(axis=0) > 0):
            # one seeded held-out split, not the 5-fold cross-fit of a final score: a tenth
            # of the cost, so the curve keeps its points within the budget; the final
            # latents.npz gets the full treatment
            common = {
                "null": False,
                "structure": False,
                "n_boot": 0,
                "seed": self.seed,
                "test_size": SINGLE_SPLIT_TEST_SIZE,
            }
            row["lps_linear"] = lps(z, predictor="linear", max_samples=None, **common).value
            row["lps_hgb"] = lps(z, predictor="hgb", max_samples=self.hgb_rows, **common).value
            row["mmd2"] = mmd(
                z, self.prior, permutations=0, per_dim=False, seed=self.seed, max_samples=None
            ).value
        else:
            row.update(lps_linear=np.nan, lps_hgb=np.nan, mmd2=np.nan)
        cost = time.perf_counter() - start
        cpu_cost = time.process_time() - cpu_start
        row["eval_seconds"] = cost
        self.seconds += cost
        self.cpu_seconds += cpu_cost
        self.last_cost = cpu_cost
        self.rows.append(row)
        return row
