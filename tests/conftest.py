"""Test-session setup shared by every test module."""

import os

# One OpenMP thread per process: the suite runs under pytest-xdist on 2 cores, and
# oversubscribed OpenMP (HistGradientBoosting, LightGBM) slows down by orders of magnitude.
os.environ.setdefault("OMP_NUM_THREADS", "1")
