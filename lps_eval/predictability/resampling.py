"""Bootstrap replicates of LPS, for intervals of differences between models.

:func:`lps_replicates` resamples the held-out rows of an :class:`~lps_eval.predictability.LpsResult`
with their predictions fixed, as :func:`lps_eval.lps` does for its own interval. Two
models scored on the same split and resampled with the same generator are resampled *in
pairs* (the same rows enter every resample of both), so the between-input variance
cancels from their difference (:func:`lps_eval.compare`).
"""

from __future__ import annotations

import numpy as np

from lps_eval.predictability._lps import LpsResult, bootstrap_r2

__all__ = ["lps_replicates"]


def lps_replicates(
    result: LpsResult, *, n_boot: int, rng: np.random.Generator
) -> tuple[float, np.ndarray] | None:
    """LPS and its value on ``n_boot`` resamples of the held-out rows.

    Returns
    -------
    (value, replicates) or None
        None when the result kept no held-out rows (``heldout`` is None).
    """
    if result.heldout is None:
        return None
    _, y, pred = result.heldout
    boot = bootstrap_r2(y, pred, n_boot=n_boot, rng=rng)
    with np.errstate(all="ignore"):
        replicates = np.nanmean(boot, axis=1)
    return float(result.value), replicates
