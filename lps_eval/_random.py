"""Seeded randomness and row subsampling: every random choice starts here."""

from __future__ import annotations

import numpy as np

from lps_eval._validation import LpsInputError, check_positive_int

__all__ = ["STREAM_INDEPENDENCE", "STREAM_MMD", "make_rng", "stream", "subsample_rows"]

#: Tags of the named random streams (see :func:`stream`): one per consumer, so that two
#: sections seeded alike never replay each other's draws.
STREAM_MMD, STREAM_INDEPENDENCE = 0x6D6D64, 0x696E64


def make_rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    """A numpy Generator from an explicit integer seed (or pass a Generator through).

    ``None`` is refused: results must be reproducible, so the caller names the seed.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise LpsInputError(
            "seed must be an integer (results are reproducible by design), got None"
        )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise LpsInputError(f"seed must be a non-negative integer, got {seed!r}")
    return np.random.default_rng(int(seed))


def subsample_rows(n: int, max_samples: int | None, rng: np.random.Generator) -> np.ndarray | None:
    """Indices of a uniform random subset of ``max_samples`` rows, or None to keep all."""
    if max_samples is None:
        return None
    max_samples = check_positive_int(max_samples, name="max_samples", minimum=2)
    if n <= max_samples:
        return None
    return np.sort(rng.choice(n, size=max_samples, replace=False))


def stream(seed: int | np.random.Generator, tag: int) -> np.random.Generator:
    """A generator for one purpose, seeded by ``(seed, tag)``.

    Using ``default_rng(seed)`` directly would replay the very draws of a user who made
    synthetic latents with the same seed (e.g. ``default_rng(0).normal(...)`` scored with
    ``seed=0``): the "prior sample" would equal the latents' noise exactly. A Generator
    passed in is used as it is.
    """
    gen = make_rng(seed)  # validates the seed
    if isinstance(seed, np.random.Generator):
        return gen
    return np.random.default_rng([int(seed), tag])
