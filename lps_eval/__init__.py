"""lps-eval: is this latent space any good?

Three questions about latent codes ``z`` (rows = samples, columns = dimensions):

1. Are the dimensions mutually independent? :func:`lps` (Latent Predictability Score).
2. Does the aggregate posterior match the intended prior? :func:`mmd`.
3. Do dimensions line up with known factors? :mod:`lps_eval.metrics`.

:func:`score` runs everything that applies and returns one tidy DataFrame.

Layers (imports run downwards only): ``cli`` -> ``scoring`` -> the numerical core
(``predictability``, ``prior_matching``, ``independence``, ``metrics``) ->
``_validation``, ``_random``, ``results``, ``io``. See docs/contributing.md.
"""

from lps_eval import _moved, metrics, plot
from lps_eval._validation import LpsDeprecationWarning, LpsInputError, LpsInputWarning
from lps_eval._version import __version__
from lps_eval.comparison import compare
from lps_eval.predictability import lps, lps_curve
from lps_eval.prior_matching import mmd
from lps_eval.reporting import report
from lps_eval.scoring import score
from lps_eval.sweep import score_many

_moved.install()  # the 0.1 module paths, for one release

__all__ = [
    "LpsDeprecationWarning",
    "LpsInputError",
    "LpsInputWarning",
    "__version__",
    "compare",
    "lps",
    "lps_curve",
    "metrics",
    "mmd",
    "plot",
    "report",
    "score",
    "score_many",
]
