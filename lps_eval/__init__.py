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

import os as _os
import sys as _sys

# `lps-eval train` and `python -m lps_eval.cli train`: Ctrl-C prints one line and exits 130
# from the first milliseconds (before numpy, torch...); see lps_eval.train.signals
if _os.path.basename(_sys.argv[0]) in ("-m", "lps-eval") and _sys.argv[1:2] == ["train"]:
    from lps_eval.train.signals import install_for_command_line

    install_for_command_line()
    del install_for_command_line

import importlib
from typing import Any

from lps_eval import _moved
from lps_eval import results as _results
from lps_eval._validation import (
    LpsDeprecationWarning,
    LpsInputError,
    LpsInputWarning,
)
from lps_eval._version import __version__

_moved.install()  # the module paths of earlier releases, for one release


def _result_figure(result: Any, **kwargs: Any) -> Any:
    """``result.plot()``: the figures module is imported when a figure is drawn."""
    return importlib.import_module("lps_eval.reporting.figures").result_figure(result, **kwargs)


_results.set_figure_hook(_result_figure)

#: Public names loaded on first use (so that ``lps-eval train`` and ``--help`` start
#: without importing the scoring stack): name -> the module that defines it.
_LAZY = {
    "evaluate": "lps_eval.evaluation",
    "lps": "lps_eval.predictability",
    "lps_curve": "lps_eval.predictability",
    "mmd": "lps_eval.prior_matching",
    "report": "lps_eval.reporting",
    "compare": "lps_eval.scoring",
    "score": "lps_eval.scoring",
    "score_many": "lps_eval.scoring",
}


def __getattr__(name: str) -> Any:
    """Load the public functions and ``metrics`` on first use; names that moved out of the
    package's top level warn (for one release)."""
    if name == "metrics":
        value = importlib.import_module("lps_eval.metrics")
    elif name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    else:
        return _moved.moved_attribute(__name__, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, "metrics"})


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
