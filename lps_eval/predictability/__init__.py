"""Are the latent dimensions mutually independent? The Latent Predictability Score.

:func:`lps` fits, for every latent dimension, a regressor that predicts it from the
others (:mod:`lps_eval.predictors`) and scores it by held-out R2; LPS is the mean.
The implementation lives in the private module ``_lps``; :func:`lps_curve` (LPS against
the number of training rows) in :mod:`~lps_eval.predictability.curve`.
"""

from lps_eval.predictability._lps import (
    MAX_SAMPLES_NONLINEAR,
    MIN_TEST_ROWS,
    MIN_TRAIN_ROWS,
    SINGLE_SPLIT_TEST_SIZE,
    LpsResult,
    bootstrap_r2,
    canonical_order,
    doubling_converged,
    expected_null_r2,
    linear_structure,
    lps,
    r2_per_column,
    resolve_max_samples,
)
from lps_eval.predictability.curve import curve_converged, default_sizes, lps_curve
from lps_eval.predictability.resampling import lps_replicates

__all__ = [
    "MAX_SAMPLES_NONLINEAR",
    "MIN_TEST_ROWS",
    "MIN_TRAIN_ROWS",
    "SINGLE_SPLIT_TEST_SIZE",
    "LpsResult",
    "bootstrap_r2",
    "canonical_order",
    "curve_converged",
    "default_sizes",
    "doubling_converged",
    "expected_null_r2",
    "linear_structure",
    "lps",
    "lps_curve",
    "lps_replicates",
    "r2_per_column",
    "resolve_max_samples",
]
