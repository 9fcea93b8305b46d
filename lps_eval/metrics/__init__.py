"""Supervised disentanglement metrics on plain arrays (rows = samples).

Every metric has the signature
``name(z, factors, *, z_test=None, factors_test=None, seed=0, **params)`` and returns a
result object with ``.value`` and ``.to_frame()`` (tidy rows; settings in ``attrs``).
Defaults follow the disentanglement_lib study configuration (Locatello et al., 2019); on
identical arrays MIG, SAP, modularity, explicitness and IRS reproduce its numbers to 1e-6
and DCI (``mode="parity"``) to its unseeded probe's noise. See docs/metrics.md.

Each metric lives in a private module ``_<name>.py`` and registers itself with
:func:`~lps_eval.metrics.registry.register_metric`; this package imports every such module
(the built-ins first, in the order of the results table, then any other ``_*.py`` found),
so adding a metric is one file. :data:`METRICS` and :data:`METRIC_ROWS` are live views of
the registry.
"""

import importlib
import pkgutil

from lps_eval.metrics.common import LpsMetricWarning, LpsUndefinedWarning, SupervisedResult
from lps_eval.metrics.registry import (
    METRIC_ROWS,
    METRICS,
    metric_specs,
    multi_model_specs,
    register_metric,
)

#: Built-in metric modules in table order; any other ``_*.py`` module here is added after.
_BUILTIN_ORDER = (
    "_beta_vae",
    "_factor_vae",
    "_mig",
    "_sap",
    "_dci",
    "_modularity",
    "_irs",
    "_mig_sup",
    "_dcimig",
    "_jemmig",
)


def _metric_modules() -> list[str]:
    found = {m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("_")}
    return [m for m in _BUILTIN_ORDER if m in found] + sorted(found - set(_BUILTIN_ORDER))


for _module in _metric_modules():
    importlib.import_module(f"{__name__}.{_module}")

from lps_eval.metrics._beta_vae import BetaVAEResult, beta_vae  # noqa: E402
from lps_eval.metrics._clusterability import ClusterabilityResult, clusterability  # noqa: E402
from lps_eval.metrics._dci import DCIResult, dci, dci_from_importance  # noqa: E402
from lps_eval.metrics._dcimig import dcimig  # noqa: E402
from lps_eval.metrics._downstream import (  # noqa: E402
    DownstreamResult,
    downstream,
    sample_efficiency_figure,
)
from lps_eval.metrics._factor_vae import FactorVAEResult, factor_vae  # noqa: E402
from lps_eval.metrics._fairness import FairnessResult, fairness  # noqa: E402
from lps_eval.metrics._irs import IRSResult, irs  # noqa: E402
from lps_eval.metrics._jemmig import jemmig  # noqa: E402
from lps_eval.metrics._mig import MIGResult, mig  # noqa: E402
from lps_eval.metrics._mig_sup import mig_sup  # noqa: E402
from lps_eval.metrics._modularity import (  # noqa: E402
    ModularityExplicitnessResult,
    modularity_explicitness,
)
from lps_eval.metrics._reduced_downstream import (  # noqa: E402
    ReducedDownstreamResult,
    reduced_downstream,
)
from lps_eval.metrics._sap import SAPResult, sap  # noqa: E402
from lps_eval.metrics._strong_downstream import (  # noqa: E402
    StrongDownstreamResult,
    strong_downstream,
)
from lps_eval.metrics._udr import UDRResult, udr  # noqa: E402


def __getattr__(name: str):
    # A metric registered by a module outside the built-ins is reachable by name too.
    spec = metric_specs().get(name) or multi_model_specs().get(name)
    if spec is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return spec.function


__all__ = [
    "METRICS",
    "METRIC_ROWS",
    "BetaVAEResult",
    "ClusterabilityResult",
    "DCIResult",
    "DownstreamResult",
    "FactorVAEResult",
    "FairnessResult",
    "IRSResult",
    "LpsMetricWarning",
    "LpsUndefinedWarning",
    "MIGResult",
    "ModularityExplicitnessResult",
    "ReducedDownstreamResult",
    "SAPResult",
    "StrongDownstreamResult",
    "SupervisedResult",
    "UDRResult",
    "beta_vae",
    "clusterability",
    "dci",
    "dci_from_importance",
    "dcimig",
    "downstream",
    "factor_vae",
    "fairness",
    "irs",
    "jemmig",
    "metric_specs",
    "mig",
    "mig_sup",
    "modularity_explicitness",
    "multi_model_specs",
    "reduced_downstream",
    "register_metric",
    "sample_efficiency_figure",
    "sap",
    "strong_downstream",
    "udr",
]
