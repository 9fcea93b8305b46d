r"""Multiplicity control for families of p-values (the per-dimension tests).

:func:`holm` is the step-down procedure of Holm (1979, "A simple sequentially rejective
multiple test procedure", Scand. J. Statist. 6, 65-70). For ``m`` p-values sorted
ascending, :math:`p_{(1)} \le \dots \le p_{(m)}`, the adjusted values are

.. math::
   \tilde p_{(i)} = \min\Bigl(1, \max_{k \le i} (m - k + 1)\, p_{(k)}\Bigr),

and rejecting every hypothesis with :math:`\tilde p \le \alpha` keeps the family-wise
error rate (the chance of any false rejection) at most :math:`\alpha`, whatever the
dependence between the tests. It is uniformly more powerful than Bonferroni
(:math:`m\,p`), and an adjusted value is never below its raw one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError

__all__ = ["holm"]


def holm(p_values: Any) -> np.ndarray:
    """Holm step-down adjusted p-values, in the input's order and shape.

    Parameters
    ----------
    p_values : array-like of floats in [0, 1]
        One family of p-values; NaN marks a test that was not run: it stays NaN and does
        not count in the family size ``m``.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values (float64, the input's shape).

    Raises
    ------
    LpsInputError
        A p-value outside [0, 1] or infinite.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03, 0.5]).round(3).tolist()
    [0.04, 0.09, 0.09, 0.5]
    """
    p = np.asarray(p_values, dtype=np.float64)
    flat = p.reshape(-1)
    tested = ~np.isnan(flat)
    values = flat[tested]
    if values.size and (values.min() < 0.0 or values.max() > 1.0):
        raise LpsInputError(
            f"p-values must lie in [0, 1], got values in [{values.min()}, {values.max()}]"
        )
    m = values.size
    order = np.argsort(values, kind="stable")
    steps = (m - np.arange(m)) * values[order]  # (m - k + 1) p_(k), k = 1..m
    adjusted = np.minimum(np.maximum.accumulate(steps), 1.0)
    out = np.full(flat.shape, np.nan)
    out[np.flatnonzero(tested)[order]] = adjusted
    return out.reshape(p.shape)
