"""Are the latent dimensions mutually independent? The Latent Predictability Score.

:func:`lps` fits, for every latent dimension, a regressor that predicts it from the
others (:mod:`lps_eval.predictors`) and scores it by held-out R2; LPS is the mean.
The implementation lives in the private module ``_lps``; this package is its public face.
"""

from lps_eval.predictability._lps import (
    MIN_TEST_ROWS,
    MIN_TRAIN_ROWS,
    LpsResult,
    bootstrap_r2,
    canonical_order,
    linear_structure,
    lps,
    r2_per_column,
)

__all__ = [
    "MIN_TEST_ROWS",
    "MIN_TRAIN_ROWS",
    "LpsResult",
    "bootstrap_r2",
    "canonical_order",
    "linear_structure",
    "lps",
    "r2_per_column",
]
