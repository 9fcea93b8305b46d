"""Interventions on plain arrays: draw rows that share the value of one factor.

On a full product grid of discrete factors (dSprites, Shapes3D, ...) every row is one
grid point, so drawing a row uniformly among those with ``v_k = v`` is exactly sampling
an observation with factor ``k`` fixed to ``v`` and the others drawn from their
(independent) marginals: the intervention that BetaVAE and FactorVAE need. When the
factors are dependent it is conditioning rather than intervening, which
:func:`intervention_support` records.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lps_eval.information import to_codes
from lps_eval.metrics.common import is_integer_valued

__all__ = ["GroupSampler", "intervention_support"]


def intervention_support(factors: np.ndarray, *, min_rows: int) -> tuple[str | None, dict]:
    """Why the rows cannot support interventions (None when they can), plus facts to record.

    Requirements: integer-valued factors, and at least ``min_rows`` rows for every value
    of every factor.
    """
    info: dict = {}
    continuous = [k for k in range(factors.shape[1]) if not is_integer_valued(factors[:, k])]
    if continuous:
        return (
            f"factor(s) {continuous} are continuous (non-integer), so rows sharing a fixed "
            "factor value cannot be drawn; pass discrete factor codes from a product grid",
            info,
        )
    codes, sizes = to_codes(factors)
    for k in range(codes.shape[1]):
        counts = np.bincount(codes[:, k])
        if counts.min() < min_rows:
            v = np.unique(factors[:, k])[int(np.argmin(counts))]
            return (
                f"factor {k} value {v} has {int(counts.min())} row(s) but an intervention "
                f"needs at least {min_rows}; pass more rows (e.g. the full factor grid)",
                info,
            )
    n_cells = np.unique(codes, axis=0).shape[0]
    info["factor_sizes"] = sizes
    info["full_grid"] = bool(n_cells == int(np.prod(np.asarray(sizes, dtype=float))))
    return None, info


@dataclass(frozen=True)
class GroupSampler:
    """Vectorized sampler of rows sharing the value of a chosen factor.

    ``order[k]`` lists row indices sorted by factor ``k``; value ``v`` of factor ``k``
    occupies ``order[k, start[k, v] : start[k, v] + count[k, v]]``.
    """

    codes: np.ndarray
    order: np.ndarray
    start: np.ndarray
    count: np.ndarray

    @classmethod
    def from_factors(cls, factors: np.ndarray) -> GroupSampler:
        codes, sizes = to_codes(factors)
        n_factors = codes.shape[1]
        width = max(sizes)
        order = np.argsort(codes, axis=0, kind="stable").T.copy()
        count = np.zeros((n_factors, width), dtype=np.int64)
        for k in range(n_factors):
            count[k, : sizes[k]] = np.bincount(codes[:, k], minlength=sizes[k])
        start = np.concatenate(
            [np.zeros((n_factors, 1), dtype=np.int64), np.cumsum(count, 1)[:, :-1]], 1
        )
        return cls(codes, order, start, count)

    def same_value(
        self, factor: np.ndarray, rows: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        """For each (factor index, row) pair, a uniform random row with the same value of
        that factor (arrays of any matching shape)."""
        value = self.codes[rows, factor]
        pos = self.start[factor, value] + np.floor(
            rng.random(np.shape(rows)) * self.count[factor, value]
        ).astype(np.int64)
        return self.order[factor, pos]
