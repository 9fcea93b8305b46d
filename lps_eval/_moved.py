"""Module paths and names of earlier releases, kept importable for one release.

0.2 moved the implementation modules so that no module hides behind a function of the
same name (``lps_eval.lps`` is the function; its module is ``lps_eval.predictability``);
0.3 gave every layer a package of its own (the CLI in ``lps_eval.cli``, sweeps, gates and
comparisons in ``lps_eval.scoring``, figures in ``lps_eval.reporting``, model inputs in
``lps_eval.models``). Old imports such as ``from lps_eval.mmd import mmd2`` or
``from lps_eval.sweep import score_many`` keep working through light alias modules placed
in ``sys.modules``; the first attribute read through one of them emits an
:class:`~lps_eval.LpsDeprecationWarning` naming the new path. The 0.1 paths go in 0.3,
the 0.2 paths in 0.4.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from typing import Any

from lps_eval._validation import LpsDeprecationWarning

__all__ = [
    "MOVED_ATTRIBUTES",
    "MOVED_MODULES",
    "RENAMED",
    "MovedModule",
    "install",
    "moved_attribute",
    "removal_release",
]

_METRICS = ("beta_vae", "dci", "dcimig", "factor_vae", "irs", "jemmig", "mig", "mig_sup")

#: Old module path -> the modules that hold its names now (searched in order).
MOVED_MODULES: dict[str, tuple[str, ...]] = {
    # moved in 0.2 (removed in 0.3)
    "lps_eval.lps": ("lps_eval.predictability._lps",),
    "lps_eval.mmd": ("lps_eval.prior_matching._mmd",),
    "lps_eval.score": ("lps_eval.scoring._score",),
    "lps_eval.kernels": ("lps_eval.prior_matching.kernels",),
    "lps_eval.priors": ("lps_eval.prior_matching.priors",),
    "lps_eval._backend": ("lps_eval.prior_matching.backend",),
    "lps_eval.datasets": ("lps_eval.simulations",),
    "lps_eval.metrics._discretize": ("lps_eval.information",),
    "lps_eval.metrics._utils": ("lps_eval.metrics.common",),
    "lps_eval.metrics._interventions": ("lps_eval.metrics.interventions",),
    **{f"lps_eval.metrics.{name}": (f"lps_eval.metrics._{name}",) for name in _METRICS},
    "lps_eval.metrics.modularity": ("lps_eval.metrics._modularity",),
    "lps_eval.metrics.sap": ("lps_eval.metrics._sap",),
    # moved in 0.3 (removed in 0.4)
    "lps_eval.sweep": ("lps_eval.scoring.sweep", "lps_eval.schedulers", "lps_eval.models"),
    "lps_eval.comparison": ("lps_eval.scoring.comparison", "lps_eval.models"),
    "lps_eval.gate": ("lps_eval.scoring.gate",),
    "lps_eval.plot": ("lps_eval.reporting.figures",),
    "lps_eval.console": ("lps_eval.cli.console",),
    "lps_eval.cli_common": (
        "lps_eval.cli.output",
        "lps_eval.cli.preparation",
        "lps_eval.cli.console",
    ),
    "lps_eval.cli_compare": ("lps_eval.cli.compare", "lps_eval.cli.report", "lps_eval.models"),
    "lps_eval.sweep_cli": ("lps_eval.cli.output",),
    "lps_eval.train.cli": ("lps_eval.cli.train",),
}

#: (old module, old name) -> (module, name) of names that were renamed when they moved.
RENAMED: dict[tuple[str, str], tuple[str, str]] = {
    ("lps_eval.sweep", "ModelItem"): ("lps_eval.models", "ModelSpec"),
    ("lps_eval.sweep", "expand_inputs"): ("lps_eval.models", "expand_models"),
    ("lps_eval.comparison", "load_model_input"): ("lps_eval.models", "read_model"),
    ("lps_eval.cli_compare", "compare"): ("lps_eval.cli.compare", "compare_command"),
    ("lps_eval.cli_compare", "report"): ("lps_eval.cli.report", "report_command"),
    ("lps_eval.cli_compare", "check_model_gates"): ("lps_eval.scoring.gate", "check_model_gates"),
    ("lps_eval.train.cli", "train"): ("lps_eval.cli.train", "train_command"),
    ("lps_eval.train.cli", "encode"): ("lps_eval.cli.train", "encode_command"),
}

#: Attributes of a package that moved out of it: (package, name) -> the module now.
MOVED_ATTRIBUTES: dict[tuple[str, str], str] = {
    ("lps_eval", "plot"): "lps_eval.reporting.figures",
}

#: Paths moved in 0.2, removed in 0.3 (the others moved in 0.3 and go in 0.4).
_MOVED_IN_0_2 = {
    "lps_eval.lps", "lps_eval.mmd", "lps_eval.score", "lps_eval.kernels", "lps_eval.priors",
    "lps_eval._backend", "lps_eval.datasets", "lps_eval.metrics._discretize",
    "lps_eval.metrics._utils", "lps_eval.metrics._interventions",
    *(f"lps_eval.metrics.{n}" for n in (*_METRICS, "modularity", "sap")),
}  # fmt: skip


def removal_release(old: str) -> str:
    """The release that removes an old module path."""
    return "0.3" if old in _MOVED_IN_0_2 else "0.4"


def _public(module: str) -> str:
    """The public path of an implementation module (``a.b._c`` -> ``a.b``)."""
    return module.rsplit(".", 1)[0] if module.rsplit(".", 1)[-1].startswith("_") else module


class MovedModule(types.ModuleType):
    """A stand-in for a moved module: forwards attribute reads, with a warning."""

    def __init__(self, old: str, new: tuple[str, ...]) -> None:
        super().__init__(
            old,
            f"Deprecated alias of {', '.join(new)} (removed in lps-eval {removal_release(old)}).",
        )
        self.__moved_to__ = new

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        old = self.__name__
        if (old, name) in RENAMED:
            module, new_name = RENAMED[(old, name)]
        else:
            module, new_name = self._holder(name), name
        warnings.warn(
            f"{old}.{name} moved: use {_public(module)}.{new_name} "
            f"(the old path is removed in lps-eval {removal_release(old)})",
            LpsDeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(module), new_name)

    def _holder(self, name: str) -> str:
        """The module that defines ``name`` (else the first that has it)."""
        having = [m for m in self.__moved_to__ if hasattr(importlib.import_module(m), name)]
        for module in having:
            if (
                getattr(getattr(importlib.import_module(module), name), "__module__", None)
                == module
            ):
                return module
        if having:
            return having[0]
        raise AttributeError(f"module {self.__name__!r} (moved) has no attribute {name!r}")


def moved_attribute(package: str, name: str) -> Any:
    """A package attribute that moved out of it (for a package's ``__getattr__``)."""
    target = MOVED_ATTRIBUTES.get((package, name))
    if target is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    warnings.warn(
        f"{package}.{name} moved: use {target} (the old name is removed in lps-eval 0.4)",
        LpsDeprecationWarning,
        stacklevel=3,
    )
    return importlib.import_module(target)


def install() -> None:
    """Put the alias modules in ``sys.modules`` (real modules of those names win)."""
    for old, new in MOVED_MODULES.items():
        sys.modules.setdefault(old, MovedModule(old, new))
