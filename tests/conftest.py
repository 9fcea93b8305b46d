"""Test-session setup shared by every test module."""

import os

# One OpenMP thread per process: the suite runs under pytest-xdist on 2 cores, and
# oversubscribed OpenMP (HistGradientBoosting, LightGBM) slows down by orders of magnitude.
os.environ.setdefault("OMP_NUM_THREADS", "1")

#: The smallest trainer run that exercises everything (digits, a few-unit network), shared
#: by the trainer tests.
TINY_TRAINING = {
    "dataset": "digits",
    "latent_dim": 3,
    "batch_size": 16,
    "width": 4,
    "hidden": 8,
    "eval_size": 200,
    "eval_subset": 100,
    "num_threads": 1,
}
#: The same run from ``lps-eval train``. The CLI's default preset is ``cpu`` (lr 1e-3,
#: cosine) while ``fit``'s is none (lr 5e-4, constant), so the rate is given explicitly:
#: CLI and library runs must be comparable bit for bit.
TINY_TRAINING_CLI = [
    "--dataset", "digits", "--latent-dim", "3", "--batch-size", "16", "--width", "4",
    "--hidden", "8", "--eval-size", "200", "--eval-subset", "100", "--threads", "1",
    "--lr", "5e-4", "--lr-schedule", "constant", "--quiet",
]  # fmt: skip
