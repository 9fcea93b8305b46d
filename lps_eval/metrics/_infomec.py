"""InfoMEC (Hsu et al., NeurIPS 2023): InfoM (modularity), InfoE (explicitness) and InfoC
(compactness) from normalized mutual information, for continuous or discrete latents."""

from __future__ import annotations

import inspect
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError, check_positive_int
from lps_eval.information import (
    entropy,
    ksg_mutual_info_matrix,
    mutual_info_matrix,
    row_rank,
    to_codes,
)
from lps_eval.metrics.common import SupervisedResult, discrete_factor_codes, prepare, warn
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.registry import register_metric
from lps_eval.results import indexed_rows, make_row

__all__ = ["LATENT_KINDS", "PRUNE_RULES", "InfoMECResult", "infomec", "infomec_from_nmi"]

LATENT_KINDS = ("continuous", "discrete")
#: ``"range"``: active when the range exceeds 1/20 of the largest range (continuous) or is
#: positive (discrete), the NeurIPS 2023 code; ``"iqr"``: the interquartile range exceeds
#: 1/10 of the largest (continuous) or 0.1 (discrete, quantized values in [-1, 1]), the
#: Tripod (ICML 2024) code.
PRUNE_RULES = ("range", "iqr")
#: The reference's probe for InfoE: unpenalized multinomial logistic regression, lbfgs,
#: at most 100 iterations, balanced class weights, scored in sample.
INFOE_PROBE = {"solver": "lbfgs", "max_iter": 100, "tol": 1e-4, "class_weight": "balanced"}


@dataclass(frozen=True, eq=False)
class InfoMECResult(SupervisedResult):
    """InfoM, InfoE, InfoC; the (factors x dims) NMI matrix; the active latents.
    ``value`` is InfoM."""

    infom: float = math.nan
    infoe: float = math.nan
    infoc: float = math.nan
    infoe_per_factor: np.ndarray | None = None
    nmi: np.ndarray | None = None
    active_dims: np.ndarray | None = None

    def rows(self) -> list[dict[str, Any]]:
        reasons = self.settings.get("reasons", {})
        rows = [
            make_row(
                name, getattr(self, name), **({"reason": reasons[name]} if name in reasons else {})
            )
            for name in ("infom", "infoe", "infoc")
        ]
        if self.infoe_per_factor is not None:
            rows += indexed_rows("infoe", self.infoe_per_factor, scope="factor")
        return rows


def active_latents(z: np.ndarray, *, discrete: bool, rule: str) -> np.ndarray:
    """Which latents InfoM and InfoC count (:data:`PRUNE_RULES`)."""
    if rule == "range":
        spread = z.max(axis=0) - z.min(axis=0)
        return spread > 0 if discrete else spread > spread.max() / 20
    q25, q75 = np.quantile(z, [0.25, 0.75], axis=0)
    spread = q75 - q25
    return spread > 0.1 if discrete else spread > spread.max() / 10


def _concentration(nmi: np.ndarray, axis: int, n_options: int) -> tuple[float, list[int]]:
    """``(mean over the other axis of max / sum - 1/n) / (1 - 1/n)``; entries whose NMI is
    zero everywhere (0/0) are left out and returned."""
    total = nmi.sum(axis=axis)
    empty = np.flatnonzero(total <= 0).tolist()
    ok = total > 0
    if not ok.any() or n_options < 2:
        return math.nan, empty
    share = nmi.max(axis=axis)[ok] / total[ok]
    return float((np.mean(share) - 1 / n_options) / (1 - 1 / n_options)), empty


def infomec_from_nmi(nmi: np.ndarray, active: np.ndarray) -> tuple[float, float, dict]:
    """InfoM and InfoC from the (factors x dims) NMI matrix and the active latents.

    .. math::
        \\mathrm{InfoM} = \\frac{\\frac{1}{L}\\sum_j \\frac{\\max_i \\mathrm{NMI}_{ij}}
        {\\sum_i \\mathrm{NMI}_{ij}} - \\frac{1}{K}}{1 - \\frac{1}{K}},\\qquad
        \\mathrm{InfoC} = \\frac{\\frac{1}{K}\\sum_i \\frac{\\max_j \\mathrm{NMI}_{ij}}
        {\\sum_j \\mathrm{NMI}_{ij}} - \\frac{1}{L}}{1 - \\frac{1}{L}}

    over the L active latents and K factors. Returns (InfoM, InfoC, facts) where facts
    lists latents / factors left out for having zero NMI everywhere.
    """
    pruned = nmi[:, active]
    k, n_active = pruned.shape
    infom, idle_latents = _concentration(pruned, axis=0, n_options=k)
    infoc, idle_factors = _concentration(pruned, axis=1, n_options=n_active)
    active_idx = np.flatnonzero(active)
    facts = {
        "uninformative_dims": [int(active_idx[j]) for j in idle_latents],
        "uninformative_factors": idle_factors,
    }
    return infom, infoc, facts


def _unpenalized_logistic(random_state: int):
    """scikit-learn's LogisticRegression without a penalty, on any supported version
    (``penalty=None`` before 1.8, ``C=inf`` after)."""
    from sklearn.linear_model import LogisticRegression

    default = inspect.signature(LogisticRegression).parameters["penalty"].default
    no_penalty = {"C": np.inf} if default == "deprecated" else {"penalty": None}
    return LogisticRegression(**no_penalty, **INFOE_PROBE, random_state=random_state)


def _infoe(z: np.ndarray, codes: np.ndarray, *, discrete: bool, seed: int):
    """Normalized predictive information of each factor (in-sample log loss of the probe
    against the balanced marginal guess ``log C``), and whether each probe converged."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import log_loss

    if discrete:
        from sklearn.preprocessing import OneHotEncoder

        x = OneHotEncoder().fit_transform(to_codes(z)[0])
    else:
        std = z.std(axis=0)
        x = (z - z.mean(axis=0)) / np.where(std > 0, std, 1.0)
    per_factor = np.full(codes.shape[1], math.nan)
    converged = []
    for i in range(codes.shape[1]):
        y = codes[:, i]
        n_classes = np.unique(y).size
        if n_classes < 2:
            converged.append(True)
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model = _unpenalized_logistic(seed).fit(x, y)
        converged.append(bool(np.max(model.n_iter_) < INFOE_PROBE["max_iter"]))
        # the balanced intercept-only model predicts 1/C for every class: loss log C
        marginal = math.log(n_classes)
        conditional = log_loss(y, model.predict_proba(x), labels=model.classes_)
        per_factor[i] = (marginal - conditional) / marginal
    return per_factor, converged


@register_metric(
    rows=("infom", "infoe", "infoc"),
    properties=("approx_sample_order", "approx_latent_order"),
    # declaration fixed: InfoM averages over the active latents, and a pure-noise latent
    # (active by range) spreads its small NMI evenly over the factors: it lowers InfoM
    row_properties={
        "infom": ("nuisance_penalized",),
        "infoe": ("nuisance_invariant",),
        "infoc": ("nuisance_invariant",),
    },
    needs={"infom": ("two_factors",), "infoc": ("two_latents",)},
    default=False,  # InfoE fits a multinomial probe per factor: seconds at 10,000 rows
    interval=IntervalPlan(unit="half_rows", n_boot=10),
)
def infomec(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    latents: str = "continuous",
    n_neighbors: int = 10,
    prune: str = "range",
    n_bins: int = 20,
    num_train: int | None = 10000,
) -> InfoMECResult:
    """InfoMEC: modularity (InfoM), explicitness (InfoE) and compactness (InfoC).

    :math:`\\mathrm{NMI}_{ij} = I(s_i; z_j) / H(s_i)` for factor (source) :math:`s_i` and
    latent :math:`z_j`: continuous latents use the k-nearest-neighbour estimator of
    scikit-learn's ``mutual_info_classif`` with 10 neighbours (as the reference), discrete
    latents the plug-in estimate. InfoM and InfoC (:func:`infomec_from_nmi`) count only
    active latents (``prune``). InfoE asks how much of each factor a linear probe reads
    from all latents:

    .. math::
        \\mathrm{InfoE} = \\frac{1}{K}\\sum_i \\frac{H_b(s_i) - \\mathrm{CE}_i}{H_b(s_i)}

    with :math:`\\mathrm{CE}_i` the in-sample log loss of an unpenalized multinomial
    logistic regression (lbfgs, at most 100 iterations, balanced class weights) on the
    standardized (continuous) or one-hot (discrete) latents, and :math:`H_b = \\log C_i`
    the loss of the balanced intercept-only model.

    Parameters
    ----------
    z, factors : array-like, rows = samples
        Factors are label-encoded; real-valued factors are binned into ``n_bins`` (warning).
    z_test, factors_test : ignored (InfoE is scored in sample, as in the reference)
    seed : int
    latents : {"continuous", "discrete"}, default "continuous"
    n_neighbors : int, default 10
    prune : {"range", "iqr"}, default "range"
        Active-latent rule of the NeurIPS 2023 code (``"range"``) or of Tripod (``"iqr"``).
    n_bins : int, default 20
    num_train : int or None, default 10000

    Returns
    -------
    InfoMECResult
        Rows ``infom``, ``infoe``, ``infoc`` (``value`` = InfoM) and per-factor InfoE.
        A latent (factor) whose NMI is zero with every factor (latent) is left out of InfoM
        (InfoC) with a warning: the reference divides 0 by 0 there. InfoM needs two
        factors and InfoC two active latents (NaN with ``reason`` otherwise).

    References
    ----------
    Hsu, Dorrell, Whittington, Wu, Finn, "Disentanglement via Latent Quantization",
    NeurIPS 2023 (InfoMEC; code ``kylehkhsu/latent_quantization``). Hsu, Hamid, Burns,
    Finn, Wu, "Tripod: Three Complementary Inductive Biases for Disentangled
    Representation Learning", ICML 2024 (code ``kylehkhsu/tripod``, the ``"iqr"`` rule).
    """
    if latents not in LATENT_KINDS:
        raise LpsInputError(f"latents must be one of {LATENT_KINDS}, got {latents!r}")
    if prune not in PRUNE_RULES:
        raise LpsInputError(f"prune must be one of {PRUNE_RULES}, got {prune!r}")
    n_neighbors = check_positive_int(n_neighbors, name="n_neighbors")
    n_bins = check_positive_int(n_bins, name="n_bins", minimum=2)
    data = prepare(
        "infomec",
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        needs_test=False,
        num_train=num_train,
        min_samples=n_neighbors + 2,
        params={
            "latents": latents,
            "n_neighbors": n_neighbors if latents == "continuous" else None,
            "prune": prune,
            "n_bins": n_bins,
            "infoe_probe": f"LogisticRegression(no penalty, {INFOE_PROBE}), in sample",
        },
    )
    discrete = latents == "discrete"
    use = data.usable()  # constant / ID-like factors are left out; their rows are NaN
    codes, _, _ = discrete_factor_codes(data.factors[:, use], None, n_bins=n_bins, metric="infomec")
    if discrete:
        mi = mutual_info_matrix(to_codes(data.z)[0], codes)
    else:
        keys = row_rank(codes)
        mi = ksg_mutual_info_matrix(
            data.z, codes, discrete=True, k=n_neighbors, seed=seed, row_keys=keys
        )
    h = entropy(codes)
    nmi = (mi / np.where(h > 0, h, 1.0)[None, :]).T  # (factors, dims), as the reference
    active = active_latents(data.z, discrete=discrete, rule=prune)
    infom, infoc, facts = infomec_from_nmi(nmi, active)
    facts["uninformative_factors"] = [
        int(np.flatnonzero(use)[i]) for i in facts["uninformative_factors"]
    ]
    per_usable, converged = _infoe(data.z, codes, discrete=discrete, seed=seed)
    per_factor = np.full(use.shape, math.nan)
    per_factor[use] = per_usable
    reasons = {}
    if codes.shape[1] < 2:
        reasons["infom"] = "needs at least 2 factors"
    if active.sum() < 2:
        reasons["infoc"] = f"needs at least 2 active latents, found {int(active.sum())}"
    for name, why in reasons.items():
        warn(f"{name} not computable: {why}")
    for key, what in (("uninformative_dims", "latent(s)"), ("uninformative_factors", "factor(s)")):
        if facts[key]:
            warn(
                f"infomec: {what} {facts[key]} have zero estimated NMI with everything; left "
                f"out of {'InfoM' if key.endswith('dims') else 'InfoC'}"
            )
    ok = np.isfinite(per_factor)
    infoe = float(np.mean(per_factor[ok])) if ok.any() else math.nan
    settings = {
        **data.settings,
        **facts,
        "active_dims": np.flatnonzero(active).tolist(),
        "infoe_converged": converged,
        "reasons": reasons,
    }
    return InfoMECResult(
        value=infom,
        settings=settings,
        metric="infom",
        infom=infom,
        infoe=infoe,
        infoc=infoc,
        infoe_per_factor=per_factor,
        nmi=nmi,
        active_dims=active,
    )
