"""lps-eval: is this latent space any good?

Three questions about latent codes ``z`` (rows = samples, columns = dimensions):

1. Are the dimensions mutually independent? :func:`lps` (Latent Predictability Score).
2. Does the aggregate posterior match the intended prior? :func:`mmd`.
3. Do dimensions line up with known factors? :mod:`lps_eval.metrics`.

:func:`score` runs everything that applies and returns one tidy DataFrame;
:func:`evaluate` encodes a dataset (:mod:`lps_eval.data`) with any encoder first.

The package's layers, and which may import which, are listed once in
:mod:`lps_eval._layers` (rendered in docs/contributing.md, checked by the tests).
"""

from lps_eval import _moved, metrics
from lps_eval._validation import LpsDeprecationWarning, LpsInputError, LpsInputWarning
from lps_eval._version import __version__
from lps_eval.evaluation import evaluate
from lps_eval.predictability import lps, lps_curve
from lps_eval.prior_matching import mmd
from lps_eval.reporting import report
from lps_eval.scoring import compare, score, score_many

_moved.install()  # the module paths of earlier releases, for one release


def __getattr__(name: str):
    """Names that moved out of the package's top level (a warning, for one release)."""
    return _moved.moved_attribute(__name__, name)


__all__ = [
    "LpsDeprecationWarning",
    "LpsInputError",
    "LpsInputWarning",
    "__version__",
    "compare",
    "evaluate",
    "lps",
    "lps_curve",
    "metrics",
    "mmd",
    "report",
    "score",
    "score_many",
]
