"""lps-eval: is this latent space any good?

Three questions about latent codes ``z`` (rows = samples, columns = dimensions):

1. Are the dimensions mutually independent? :func:`lps` (Latent Predictability Score).
2. Does the aggregate posterior match the intended prior? :func:`mmd`.
3. Do dimensions line up with known factors? :mod:`lps_eval.metrics`.

:func:`score` runs everything that applies and returns one tidy DataFrame.
"""

__version__ = "0.1.0"

from lps_eval import metrics
from lps_eval._validation import LpsInputError, LpsInputWarning
from lps_eval.lps import lps
from lps_eval.mmd import mmd
from lps_eval.score import score
from lps_eval.sweep import score_many

__all__ = [
    "LpsInputError",
    "LpsInputWarning",
    "__version__",
    "lps",
    "metrics",
    "mmd",
    "score",
    "score_many",
]
