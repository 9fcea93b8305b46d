"""The module paths of 0.1, kept importable for one release (removed in 0.3).

0.2 moved the implementation modules so that no module hides behind a function of the
same name (``lps_eval.lps`` is the function; its module is ``lps_eval.predictability``).
Old imports such as ``from lps_eval.mmd import mmd2`` keep working through light alias
modules placed in ``sys.modules``; the first attribute read through one of them emits an
:class:`~lps_eval.LpsDeprecationWarning` naming the new path.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from typing import Any

from lps_eval._validation import LpsDeprecationWarning

__all__ = ["MOVED_MODULES", "MovedModule", "install"]

#: 0.1 module path -> the module that holds its names now.
MOVED_MODULES = {
    "lps_eval.lps": "lps_eval.predictability._lps",
    "lps_eval.mmd": "lps_eval.prior_matching._mmd",
    "lps_eval.score": "lps_eval.scoring._score",
    "lps_eval.kernels": "lps_eval.prior_matching.kernels",
    "lps_eval.priors": "lps_eval.prior_matching.priors",
    "lps_eval._backend": "lps_eval.prior_matching.backend",
    "lps_eval.datasets": "lps_eval.simulations",
    "lps_eval.metrics._discretize": "lps_eval.information",
    "lps_eval.metrics._utils": "lps_eval.metrics.common",
    "lps_eval.metrics._interventions": "lps_eval.metrics.interventions",
    **{
        f"lps_eval.metrics.{name}": f"lps_eval.metrics._{name}"
        for name in (
            "beta_vae",
            "dci",
            "dcimig",
            "factor_vae",
            "irs",
            "jemmig",
            "mig",
            "mig_sup",
            "modularity",
            "sap",
        )
    },
}


class MovedModule(types.ModuleType):
    """A stand-in for a moved module: forwards attribute reads, with a warning."""

    def __init__(self, old: str, new: str) -> None:
        super().__init__(old, f"Deprecated alias of {new} (removed in lps-eval 0.3).")
        self.__moved_to__ = new

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        new = self.__moved_to__
        public = new.replace("._", ".").rsplit(".", 1)[0] if "._" in new else new
        warnings.warn(
            f"module {self.__name__} moved in lps-eval 0.2: import {name} from {public} "
            "(the old path is removed in 0.3)",
            LpsDeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(new), name)


def install() -> None:
    """Put the alias modules in ``sys.modules`` (real modules of those names win)."""
    for old, new in MOVED_MODULES.items():
        sys.modules.setdefault(old, MovedModule(old, new))
