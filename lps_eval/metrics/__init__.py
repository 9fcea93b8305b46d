"""Supervised disentanglement metrics on plain arrays (rows = samples).

Every metric has the signature
``name(z, factors, *, z_test=None, factors_test=None, seed=0, **params)`` and returns a
result object with ``.value`` and ``.to_frame()`` (tidy rows; settings in ``attrs``).
Defaults follow the disentanglement_lib study configuration (Locatello et al., 2019); on
identical arrays MIG, SAP, modularity, explicitness and IRS reproduce its numbers to 1e-6
and DCI (``mode="parity"``) to its unseeded probe's noise. See docs/metrics.md.
"""

from lps_eval.metrics._utils import LpsMetricWarning, SupervisedResult
from lps_eval.metrics.beta_vae import BetaVAEResult, beta_vae
from lps_eval.metrics.dci import DCIResult, dci, dci_from_importance
from lps_eval.metrics.dcimig import dcimig
from lps_eval.metrics.factor_vae import FactorVAEResult, factor_vae
from lps_eval.metrics.irs import IRSResult, irs
from lps_eval.metrics.jemmig import jemmig
from lps_eval.metrics.mig import MIGResult, mig
from lps_eval.metrics.mig_sup import mig_sup
from lps_eval.metrics.modularity import ModularityExplicitnessResult, modularity_explicitness
from lps_eval.metrics.sap import SAPResult, sap

#: Public metric functions by name (the registry the common tests and ``score`` use).
METRICS = {
    "beta_vae": beta_vae,
    "factor_vae": factor_vae,
    "mig": mig,
    "sap": sap,
    "dci": dci,
    "modularity_explicitness": modularity_explicitness,
    "irs": irs,
    "mig_sup": mig_sup,
    "dcimig": dcimig,
    "jemmig": jemmig,
}

#: Metric function name -> the ``metric`` names of its overall rows.
METRIC_ROWS = {
    "beta_vae": ("beta_vae",),
    "factor_vae": ("factor_vae",),
    "mig": ("mig",),
    "sap": ("sap",),
    "dci": ("dci_disentanglement", "dci_completeness", "dci_informativeness"),
    "modularity_explicitness": ("modularity", "explicitness"),
    "irs": ("irs",),
    "mig_sup": ("mig_sup",),
    "dcimig": ("dcimig",),
    "jemmig": ("jemmig",),
}

__all__ = [
    "METRICS",
    "METRIC_ROWS",
    "BetaVAEResult",
    "DCIResult",
    "FactorVAEResult",
    "IRSResult",
    "LpsMetricWarning",
    "MIGResult",
    "ModularityExplicitnessResult",
    "SAPResult",
    "SupervisedResult",
    "beta_vae",
    "dci",
    "dci_from_importance",
    "dcimig",
    "factor_vae",
    "irs",
    "jemmig",
    "mig",
    "mig_sup",
    "modularity_explicitness",
    "sap",
]
