"""Seeded randomness and row subsampling: every random choice starts here."""

from __future__ import annotations

import numpy as np

from lps_eval._validation import LpsInputError, check_positive_int
from lps_eval.streaming import map_rows, take_rows

__all__ = [
    "STREAM_INDEPENDENCE",
    "STREAM_MMD",
    "canonical_row_order",
    "make_rng",
    "shuffled_rows",
    "stream",
    "subsample_rows",
]

#: Tags of the named random streams (see :func:`stream`): one per consumer, so that two
#: sections seeded alike never replay each other's draws.
STREAM_MMD, STREAM_INDEPENDENCE = 0x6D6D64, 0x696E64

#: Seed of the fixed projection that defines the canonical row order (never change it:
#: results would move).
CANONICAL_SEED = 0x6C7073


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


def canonical_row_order(z: np.ndarray) -> np.ndarray:
    """A row order that depends only on the set of rows of ``z``, never on their order.

    Rows are sorted by a fixed random projection ``z @ v`` (``v`` drawn once from
    :data:`CANONICAL_SEED`, so it depends on the number of columns only), accumulated
    column by column in float64 so each row's key is computed by the same operations
    wherever the row sits. Rows with equal keys are ordered lexicographically by their
    values (column 0 first); identical rows are interchangeable. Cost O(n d) for the keys
    plus one sort (a lexicographic sort only when two keys tie exactly).

    A seeded subsample or split drawn on this order makes a result exactly invariant to
    shuffling the rows (same value, same p-value).
    """
    n, d = z.shape
    v = np.random.default_rng(CANONICAL_SEED).standard_normal(d)

    def project(block: np.ndarray) -> np.ndarray:
        key = np.zeros(block.shape[0])
        for j in range(d):  # elementwise, so no BLAS blocking can depend on the row position
            key += block[:, j] * v[j]
        return key

    key = map_rows(z, project)  # block by block: a memmap is never loaded whole
    order = np.argsort(key, kind="stable")
    # Sorted in place, the keys are key[order] (the same values in the same ascending
    # order) without a third n-long array: memory is the keys, the order and the sort's
    # buffer (8 + 8 + 4 bytes per row).
    key.sort()
    equal = key[1:] == key[:-1]
    if n > 1 and equal.any():
        # Tied keys (duplicate rows, or a projection that rounds equal) form contiguous
        # blocks; re-sort only the rows in those blocks, lexicographically with the key
        # first, and put them back into the same positions.
        tied = np.zeros(n, dtype=bool)
        tied[1:] |= equal
        tied[:-1] |= equal
        positions = np.flatnonzero(tied)
        rows = order[positions]
        sub = take_rows(z, rows)
        resolved = np.lexsort((*sub.T[::-1], key[positions]))  # last key is primary
        order[positions] = rows[resolved]
    return order


def shuffled_rows(z: np.ndarray, max_samples: int | None, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``min(n, max_samples)`` rows in a seeded random order, row-order invariant.

    The rows are first put in :func:`canonical_row_order`, then permuted with ``rng`` and
    truncated: the selected rows (and their order) depend on the seed and the set of rows
    only. The order is random, so taking a prefix (``x[:k]``) or consecutive pairs stays an
    unbiased subsample.
    """
    n = z.shape[0]
    if max_samples is not None:
        max_samples = check_positive_int(max_samples, name="max_samples", minimum=2)
    take = rng.permutation(n)
    if max_samples is not None and n > max_samples:
        take = take[:max_samples].copy()  # a view would keep all n drawn indices alive
    return canonical_row_order(z)[take]
