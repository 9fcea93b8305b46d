"""DMIG, XMIG and DLIG (Watcharasupat & Lerch; latte): the dependency-aware relatives of MIG.

They need to know which latent is meant to carry which factor (latte's ``reg_dim``: latent
``reg_dim[i]`` regularizes attribute ``i``). Attribute-regularized models (AR-VAE and
kin) have such a map by construction; for every other model ``reg_dim="matching"`` (the
default) infers it: the one-to-one assignment of factors to latents that maximizes the
total normalized mutual information (Hungarian algorithm). latte's own default, latent
``i`` for factor ``i``, is ``reg_dim="diagonal"``.

Mutual information comes from latte's estimator by default (``estimator="ksg"``: the
k-nearest-neighbour estimator of scikit-learn's ``mutual_info_classif``, 3 neighbours,
:func:`lps_eval.information.ksg_mutual_info_matrix`) or from disentanglement_lib's 20-bin
histogram (``estimator="histogram"``, the MI of :func:`~lps_eval.metrics.mig`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError, check_positive_int
from lps_eval.information import (
    entropy,
    histogram_discretize,
    ksg_mutual_info_matrix,
    mutual_info_matrix,
    row_rank,
)
from lps_eval.metrics.common import SupervisedResult, discrete_factor_codes, prepare, warn
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.probes import int_sequence
from lps_eval.metrics.registry import register_metric
from lps_eval.results import indexed_rows, make_row

__all__ = ["ESTIMATORS", "MIGapsResult", "mi_gaps", "mi_gaps_from_matrix"]

ESTIMATORS = ("ksg", "histogram")


@dataclass(frozen=True, eq=False)
class MIGapsResult(SupervisedResult):
    """DMIG, XMIG, DLIG (overall = mean over factors), per-factor values, the (dims x
    factors) MI matrix and the latent assigned to each factor. ``value`` is DMIG."""

    dmig: float = math.nan
    xmig: float = math.nan
    dlig: float = math.nan
    dmig_per_factor: np.ndarray | None = None
    xmig_per_factor: np.ndarray | None = None
    dlig_per_factor: np.ndarray | None = None
    mutual_info: np.ndarray | None = None
    reg_dim: tuple[int, ...] = ()

    def rows(self) -> list[dict[str, Any]]:
        rows = []
        for name in ("dmig", "xmig", "dlig"):
            reason = self.settings.get("reasons", {}).get(name)
            rows.append(
                make_row(name, getattr(self, name), **({"reason": reason} if reason else {}))
            )
        for name in ("dmig", "xmig", "dlig"):
            per = getattr(self, f"{name}_per_factor")
            if per is not None:
                rows += indexed_rows(name, per, scope="factor")
        return rows


def _assignment(mi: np.ndarray, h: np.ndarray, reg_dim: Any) -> tuple[int, ...]:
    """The latent regularizing each factor: ``"matching"``, ``"diagonal"`` or explicit."""
    d, k = mi.shape
    if isinstance(reg_dim, str) and reg_dim in ("matching", "diagonal"):
        if reg_dim == "diagonal":
            return tuple(range(k))
        from scipy.optimize import linear_sum_assignment

        nmi = mi / np.where(h > 0, h, 1.0)[None, :]
        rows, cols = linear_sum_assignment(-nmi.T)  # factor -> latent, maximal total NMI
        return tuple(int(c) for _, c in sorted(zip(rows, cols, strict=True)))
    try:
        dims = int_sequence(reg_dim, name="reg_dim")
    except LpsInputError:
        dims = ()
    if len(dims) != k or len(set(dims)) != k or max(dims, default=d) >= d:
        raise LpsInputError(
            f"reg_dim must be 'matching', 'diagonal' or {k} distinct latent indices in "
            f"[0, {d}) (a list, or text such as '0,1,2'), got {reg_dim!r}"
        )
    return dims


def _ratio(gap: float, denominator: float) -> float:
    return gap / denominator if denominator > 0 else math.nan


def mi_gaps_from_matrix(
    mi: np.ndarray, h: np.ndarray, factor_mi: np.ndarray, reg_dim: tuple[int, ...]
) -> dict[str, np.ndarray]:
    """Per-factor DMIG, XMIG, DLIG from the MI matrix and the factors' information.

    Parameters
    ----------
    mi : ndarray (d, K)
        :math:`I(z_n; a_i)`.
    h : ndarray (K,)
        :math:`H(a_i)`.
    factor_mi : ndarray (K, K)
        :math:`I(a_i; a_l)`, so that :math:`H(a_i \\mid a_l) = H(a_i) - I(a_i; a_l)`.
    reg_dim : tuple of K latent indices

    Returns
    -------
    dict with arrays ``dmig``, ``xmig``, ``dlig`` (NaN where undefined)
    """
    d, k = mi.shape
    owner = {dim: i for i, dim in enumerate(reg_dim)}  # latent -> the factor it regularizes
    free = np.setdiff1d(np.arange(d), reg_dim)
    dmig, xmig, dlig = (np.full(k, math.nan) for _ in range(3))
    for i, zi in enumerate(reg_dim):
        col = mi[:, i]
        others = np.delete(np.arange(d), zi)
        j = int(others[np.argmax(col[others])]) if others.size else None
        if j is not None:
            denom = h[i] - factor_mi[i, owner[j]] if j in owner else h[i]
            dmig[i] = _ratio(col[zi] - col[j], denom)
        if free.size:
            xmig[i] = _ratio(col[zi] - col[free].max(), h[i])
        if k > 1:
            row = mi[zi]
            rest = np.delete(np.arange(k), i)
            l = int(rest[np.argmax(row[rest])])
            dlig[i] = _ratio(row[i] - row[l], h[i] - factor_mi[i, l])
    return {"dmig": dmig, "xmig": xmig, "dlig": dlig}


def _mutual_info(data, codes, *, estimator, n_bins, n_neighbors, seed) -> np.ndarray:
    if estimator == "histogram":
        return mutual_info_matrix(histogram_discretize(data.z, n_bins), codes)
    keys = row_rank(codes)  # tie-breaking independent of row and column order
    return ksg_mutual_info_matrix(
        data.z, codes, discrete=True, k=n_neighbors, seed=seed, row_keys=keys
    )


def _usable_reg_dim(reg_dim: Any, use: np.ndarray) -> Any:
    """An explicit ``reg_dim`` (one latent per factor) restricted to the usable factors."""
    if isinstance(reg_dim, str) or use.all():
        return reg_dim
    try:
        dims = int_sequence(reg_dim, name="reg_dim")
    except LpsInputError:
        return reg_dim
    return [d for d, ok in zip(dims, use, strict=False) if ok] if len(dims) == use.size else dims


def _expand(values: np.ndarray, use: np.ndarray) -> np.ndarray:
    """Per-usable-factor values laid out over every factor (NaN for the left-out ones)."""
    out = np.full(use.shape, math.nan)
    out[use] = values
    return out


def _mean(name: str, per: np.ndarray, reasons: dict) -> float:
    ok = np.isfinite(per)
    if not ok.all() and ok.any():
        warn(
            f"{name}: factor(s) {np.flatnonzero(~ok).tolist()} have a zero (conditional) "
            "entropy or no latent to compare; left out of the mean"
        )
    if not ok.any():
        reasons.setdefault(name, "undefined for every factor")
        return math.nan
    return float(np.mean(per[ok]))


@register_metric(
    rows=("dmig", "xmig", "dlig"),
    properties=("exact_sample_order", "exact_latent_order", "nuisance_invariant"),
    needs={
        "dmig": ("two_latents",),  # a gap between the assigned latent and another one
        "xmig": ("two_latents", "spare_latent"),  # compares with the latents left over
        "dlig": ("two_factors", "two_latents"),  # two factors, each with its own latent
    },
    interval=IntervalPlan(unit="rows", n_boot=200),
)
def mi_gaps(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    estimator: str = "ksg",
    n_neighbors: int = 3,
    n_bins: int = 20,
    reg_dim: Any = "matching",
    num_train: int | None = 10000,
) -> MIGapsResult:
    """Dependency-aware MIG (DMIG), dependency-blind MIG (XMIG) and the dependency-aware
    latent information gap (DLIG).

    With :math:`r_i` the latent regularizing factor :math:`a_i` (``reg_dim``):

    .. math::
        \\mathrm{DMIG}_i = \\frac{I(a_i; z_{r_i}) - I(a_i; z_k)}{H(a_i \\mid a_l)},\\quad
        k = \\arg\\max_{n \\ne r_i} I(a_i; z_n)

    where :math:`a_l` is the factor that :math:`z_k` regularizes (:math:`H(a_i)` when
    :math:`z_k` regularizes none); interdependent factors lower the attainable gap and the
    conditional entropy compensates.

    .. math::
        \\mathrm{XMIG}_i = \\frac{I(a_i; z_{r_i}) - \\max_{n \\notin \\{r\\}} I(a_i; z_n)}{H(a_i)}
        \\qquad
        \\mathrm{DLIG}_i = \\frac{I(a_i; z_{r_i}) - I(a_j; z_{r_i})}{H(a_i \\mid a_j)},\\quad
        j = \\arg\\max_{j \\ne i} I(a_j; z_{r_i})

    XMIG compares only with latents that regularize no factor (it needs more latents than
    factors); DLIG is latent-centric (how exclusively latent :math:`r_i` serves
    :math:`a_i`; it needs two factors). The overall rows are means over factors. Values
    can be negative when the assigned latent is not the most informative one.

    Parameters
    ----------
    z, factors : array-like, rows = samples
        Factors must be discrete; real-valued factors are binned into ``n_bins`` (warning).
    z_test, factors_test : ignored
    seed : int
        Seed of the subsample and of the k-NN estimator's tie-breaking noise.
    estimator : {"ksg", "histogram"}, default "ksg"
        ``"ksg"``: latte's k-nearest-neighbour MI (``n_neighbors``); ``"histogram"``:
        disentanglement_lib's ``n_bins`` equal-width bins (as :func:`~lps_eval.metrics.mig`).
    n_neighbors : int, default 3
    n_bins : int, default 20
    reg_dim : "matching", "diagonal" or sequence of int, default "matching"
        Which latent regularizes each factor (see the module docstring).
    num_train : int or None, default 10000

    Returns
    -------
    MIGapsResult
        Rows ``dmig``, ``xmig``, ``dlig`` (NaN with a ``reason`` when undefined: XMIG with
        no latent left over, DLIG with one factor) and their per-factor rows.

    References
    ----------
    Watcharasupat, Lerch, "Evaluation of Latent Space Disentanglement in the Presence of
    Interdependent Attributes", ISMIR 2021 Late-Breaking Demo (DMIG). Watcharasupat,
    "Controllable Music: Supervised Learning of Disentangled Representations for Music
    Generation", 2021 (XMIG, DLIG). Watcharasupat, Lerch, "Latte: Cross-framework Python
    Package for Evaluation of Latent-Based Generative Models", Software Impacts 11, 2022.

    Notes
    -----
    latte divides by entropies that it estimates with the same k-NN estimator (the MI of a
    factor with itself); for a discrete factor that is the plug-in entropy within about
    0.5 %, which is what is used here. latte treats a real-valued attribute as continuous
    and divides by its k-NN self-information, about :math:`\\log N - \\psi(k)` whatever the
    attribute: the score then shrinks as N grows. Such factors are binned here instead.
    """
    if estimator not in ESTIMATORS:
        raise LpsInputError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    n_bins = check_positive_int(n_bins, name="n_bins", minimum=2)
    n_neighbors = check_positive_int(n_neighbors, name="n_neighbors")
    data = prepare(
        "mi_gaps",
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        needs_test=False,
        num_train=num_train,
        min_samples=n_neighbors + 2,
        params={
            "estimator": estimator,
            "n_neighbors": n_neighbors if estimator == "ksg" else None,
            "n_bins": n_bins,
            "reg_dim": reg_dim if isinstance(reg_dim, str) else [int(i) for i in np.ravel(reg_dim)],
        },
    )
    use = data.usable()  # constant / ID-like factors are left out; their rows are NaN
    codes, _, _ = discrete_factor_codes(data.factors[:, use], None, n_bins=n_bins, metric="mi_gaps")
    mi = _mutual_info(
        data, codes, estimator=estimator, n_bins=n_bins, n_neighbors=n_neighbors, seed=seed
    )
    h = entropy(codes)
    d, k = mi.shape
    if reg_dim in ("matching", "diagonal") and d < k:
        reason = f"{k} factors need at least {k} latent dimensions (one per factor), z has {d}"
        warn(f"mi_gaps not computable: {reason}")
        reasons = dict.fromkeys(("dmig", "xmig", "dlig"), reason)
        return MIGapsResult(
            value=math.nan,
            settings={**data.settings, "reasons": reasons, "reason": reason},
            metric="dmig",
            reason=reason,
            mutual_info=mi,
        )
    assigned = _assignment(mi, h, _usable_reg_dim(reg_dim, use))
    per = mi_gaps_from_matrix(mi, h, mutual_info_matrix(codes, codes), assigned)
    reasons: dict[str, str] = {}
    if codes.shape[1] < 2:
        reasons["dlig"] = "needs at least 2 factors"
    for name, why in reasons.items():
        warn(f"{name} not computable: {why}")
    values = {name: _mean(name, per[name], reasons) for name in ("dmig", "xmig", "dlig")}
    per = {name: _expand(v, use) for name, v in per.items()}
    settings = {**data.settings, "assigned_dims": list(assigned), "reasons": reasons}
    return MIGapsResult(
        value=values["dmig"],
        settings=settings,
        metric="dmig",
        **values,
        dmig_per_factor=per["dmig"],
        xmig_per_factor=per["xmig"],
        dlig_per_factor=per["dlig"],
        mutual_info=mi,
        reg_dim=assigned,
    )
