"""Are the latent dimensions mutually independent? The Latent Predictability Score.

:func:`lps` fits, for every latent dimension, a regressor that predicts it from the
others (:mod:`lps_eval.predictors`) and scores it by held-out R2; LPS is the mean.
The implementation lives in the private module ``_lps``; :func:`lps_curve` (LPS against
the number of training rows) in :mod:`~lps_eval.predictability.curve`, its verdict
:func:`curve_verdict` in :mod:`~lps_eval.predictability.convergence`, and
:func:`lps_importance` (which dimensions the predictor relies on, with a null level per
cell) in :mod:`~lps_eval.predictability.importance`.
"""

from lps_eval.predictability._lps import (
    DEFAULT_FOLDS,
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
from lps_eval.predictability.convergence import VERDICT_STATES, CurveVerdict, curve_verdict
from lps_eval.predictability.curve import curve_converged, default_sizes, lps_curve
from lps_eval.predictability.importance import (
    MAX_IMPORTANCE_DIMS,
    LpsImportance,
    lps_importance,
)
from lps_eval.predictability.resampling import lps_replicates

__all__ = [
    "DEFAULT_FOLDS",
    "MAX_IMPORTANCE_DIMS",
    "MAX_SAMPLES_NONLINEAR",
    "MIN_TEST_ROWS",
    "MIN_TRAIN_ROWS",
    "SINGLE_SPLIT_TEST_SIZE",
    "VERDICT_STATES",
    "CurveVerdict",
    "LpsImportance",
    "LpsResult",
    "bootstrap_r2",
    "canonical_order",
    "curve_converged",
    "curve_verdict",
    "default_sizes",
    "doubling_converged",
    "expected_null_r2",
    "linear_structure",
    "lps",
    "lps_curve",
    "lps_importance",
    "lps_replicates",
    "r2_per_column",
    "resolve_max_samples",
]
