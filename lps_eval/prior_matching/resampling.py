r"""Bootstrap replicates of a prior-matching MMD, for intervals of differences between models.

:func:`mmd_replicates` resamples the latent rows of an :class:`~lps_eval.prior_matching.MmdResult`
with its kernel, prior and centring held fixed (the result carries all three). With the
counts :math:`w` of a resample of ``m`` rows,

.. math::
   \widehat{\mathrm{MMD}}^2_b = \frac{w^\top K w - m k_0}{m(m-1)} + S_{yy}
     - \frac{2}{m} w^\top c ,

where :math:`K` is the latent kernel matrix, :math:`k_0 = k(x, x)`, :math:`c_i` the mean
kernel value of row ``i`` against a prior sample of ``m`` rows and :math:`S_{yy}` the
prior sample's own U-statistic term: one matrix product serves every resample. Two models
resampled with the same generators and the same row subset (equally many rows) are
resampled *in pairs*, so the between-input variance cancels from their difference
(:func:`lps_eval.compare`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError
from lps_eval.prior_matching._mmd import MmdResult
from lps_eval.streaming import take_rows

__all__ = ["KERNEL_ROWS", "mmd_replicates"]

#: Rows of the kernel's mean against the prior computed at a time (a block x m matrix).
KERNEL_ROWS = 1024


def mmd_replicates(
    result: MmdResult,
    z: Any,
    *,
    n_boot: int,
    max_rows: int,
    rows_rng: np.random.Generator,
    prior_rng: np.random.Generator,
    boot_rng: np.random.Generator,
) -> tuple[float, np.ndarray]:
    """MMD^2 on a subset of rows and on every bootstrap resample of that subset.

    Parameters
    ----------
    result : MmdResult
        The result to resample (its ``kernel``, ``prior`` and ``centre``).
    z : array-like of shape (n, d)
        The latents the result was computed from.
    n_boot : int
        Resamples.
    max_rows : int
        Rows of the subset (an ``m x m`` float64 kernel matrix: 72 MB at 3,000).
    rows_rng, prior_rng, boot_rng : numpy.random.Generator
        Draw the row subset, the prior sample and the resampling counts. Give two models
        the same three to resample them in pairs.

    Returns
    -------
    (value, replicates)
        The U-statistic on the subset and its ``n_boot`` resampled values.

    Raises
    ------
    LpsInputError
        The result does not carry its kernel and prior (an MMD computed elsewhere).
    """
    if result.kernel is None or result.prior is None or result.centre is None:
        raise LpsInputError(
            "this MMD result does not carry its kernel, prior and centring; compute it with "
            "lps_eval.mmd to resample it"
        )
    n, d = z.shape
    m = min(n, int(max_rows))
    rows = np.sort(rows_rng.choice(n, size=m, replace=False)) if m < n else np.arange(n)
    x = np.asarray(take_rows(z, rows), dtype=np.float64) - result.centre
    y = result.prior.sample(m, d, prior_rng) - result.centre
    kern = result.kernel
    k0 = kern.diag_value
    cross = np.zeros(m)
    for start in range(0, m, KERNEL_ROWS):
        block = x[start : start + KERNEL_ROWS]
        cross[start : start + block.shape[0]] = np.asarray(kern(block, y)).mean(axis=1)
    kyy = np.asarray(kern(y, y))
    s_yy = (kyy.sum() - m * k0) / (m * (m - 1))
    del kyy
    kxx = np.asarray(kern(x, x))
    counts = _resample_counts(m, n_boot, boot_rng)
    quad = np.einsum("bi,bi->b", counts @ kxx, counts)
    replicates = (quad - m * k0) / (m * (m - 1)) + s_yy - 2.0 * (counts @ cross) / m
    ones = np.ones(m)
    value = (ones @ kxx @ ones - m * k0) / (m * (m - 1)) + s_yy - 2.0 * cross.mean()
    return float(value), replicates


def _resample_counts(m: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """How often each of ``m`` rows enters each of ``n_boot`` resamples (float64)."""
    draws = rng.integers(0, m, size=(n_boot, m))
    flat = (draws + m * np.arange(n_boot)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * m).reshape(n_boot, m).astype(np.float64)
