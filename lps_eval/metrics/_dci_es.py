"""DCI-ES (Eastwood et al., ICLR 2023): explicitness E from the loss-capacity curve, and
size S, the two measures DCI-ES adds to DCI."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError
from lps_eval.metrics.common import SupervisedResult, discrete_factor_codes, prepare
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.probes import (
    FeatureLadder,
    int_sequence,
    one_hot,
    r2_loss,
    ridge_fit_predict,
    standardize_pair,
)
from lps_eval.metrics.registry import register_metric
from lps_eval.results import indexed_rows, make_row

__all__ = ["AREAS", "DCIESResult", "dci_es", "explicitness_from_curve"]

#: ``"paper"``: E = 1 - AULCC / Z with the loss measured from 0 (the paper's l* = 0) and
#: Z the rectangle below the baseline loss; ``"official"``: the authors' script
#: (``metrics/explitcitness.py``): twice the area above the curve's own minimum over Z.
AREAS = ("paper", "official")

#: The trapezoid rule (``np.trapz`` was renamed ``np.trapezoid`` in numpy 2.0).
_trapezoid = getattr(np, "trapezoid", None) or np.trapz  # noqa: NPY201 (numpy < 2)


@dataclass(frozen=True, eq=False)
class DCIESResult(SupervisedResult):
    """Explicitness (``value``) and size; per-factor explicitness; the loss-capacity
    curves (capacities x factors) and the baseline losses."""

    size: float = math.nan
    explicitness_per_factor: np.ndarray | None = None
    capacities: np.ndarray | None = None
    losses: np.ndarray | None = None
    baseline: np.ndarray | None = None

    def rows(self) -> list[dict[str, Any]]:
        rows = [
            make_row("dci_es_explicitness", self.value),
            make_row("dci_es_size", self.size),
        ]
        if self.explicitness_per_factor is not None:
            rows += indexed_rows(
                "dci_es_explicitness", self.explicitness_per_factor, scope="factor"
            )
        return rows


def explicitness_from_curve(
    capacity: np.ndarray, loss: np.ndarray, baseline: float, *, area: str = "paper"
) -> float:
    """Explicitness of one factor from its loss-capacity curve.

    .. math::
        E = 1 - \\frac{\\mathrm{AULCC}}{Z},\\qquad
        \\mathrm{AULCC} = \\int_{c_{min}}^{c_{max}} \\ell(c)\\,dc,\\quad
        Z = (c_{max} - c_{min})\\,\\ell_b

    with :math:`\\ell(c)` the lowest test loss of any probe of capacity at most :math:`c`
    (capped at the baseline loss :math:`\\ell_b`: a probe can always fall back to the
    constant prediction), integrated with the trapezoid rule over the capacities given.
    E = 1: the simplest probe already reaches zero loss; E = 0: no probe beats the
    constant prediction. ``area="official"`` reproduces the authors' script instead:
    :math:`E = 1 - 2\\int (\\ell(c) - \\min \\ell)\\,dc / Z` on the uncapped running minimum.

    Parameters
    ----------
    capacity : ndarray (n_rungs,)
        Increasing capacities (here: log of the probe's parameter count).
    loss : ndarray (n_rungs,)
        Test loss of each rung (``1 - R^2`` or the error rate).
    baseline : float
        Loss of the constant prediction :math:`\\ell_b`.
    """
    if area not in AREAS:
        raise LpsInputError(f"area must be one of {AREAS}, got {area!r}")
    span = capacity[-1] - capacity[0]
    if not (span > 0 and baseline > 0) or not np.all(np.isfinite(loss)):
        return math.nan
    curve = np.minimum.accumulate(loss)
    if area == "official":
        under = _trapezoid(curve - curve.min(), capacity)
        return float(1.0 - 2.0 * under / (span * baseline))
    under = _trapezoid(np.minimum(curve, baseline), capacity)
    return float(1.0 - under / (span * baseline))


def _loss_curves(data, codes, categorical, ladder, widths):
    """(n_rungs, K) test losses of every rung, and the (K,) baseline losses."""
    x_train, x_test = standardize_pair(data.z, data.z_test)
    f_train, f_test = codes
    k = f_train.shape[1]
    regress = [j for j in range(k) if j not in categorical]
    losses = np.full((len(widths), k), np.nan)
    baseline = np.full(k, np.nan)
    y_train = f_train[:, regress].astype(float)
    y_test = f_test[:, regress].astype(float)
    baseline[regress] = r2_loss(y_test, np.broadcast_to(y_train.mean(axis=0), y_test.shape))
    classes = {j: int(max(f_train[:, j].max(), f_test[:, j].max())) + 1 for j in categorical}
    for j in categorical:
        mode = np.bincount(f_train[:, j], minlength=classes[j]).argmax()
        baseline[j] = float(np.mean(f_test[:, j] != mode))
    for r, width in enumerate(widths):
        train = ladder.features(x_train, width)
        test = ladder.features(x_test, width)
        if regress:
            pred = ridge_fit_predict(train, y_train, test)
            losses[r, regress] = r2_loss(y_test, pred)
        for j in categorical:  # least squares on the indicators, argmax read-out
            scores = ridge_fit_predict(train, one_hot(f_train[:, j], classes[j]), test)
            losses[r, j] = float(np.mean(scores.argmax(axis=1) != f_test[:, j]))
    return losses, baseline


@register_metric(
    rows=("dci_es_explicitness", "dci_es_size"),
    properties=(
        "approx_sample_order",
        "approx_latent_order",
        "uses_test_split",
        "nuisance_invariant",
    ),
    default=False,  # one ladder of probes per call: on request
    interval=IntervalPlan(unit="half_rows", n_boot=10),
    row_properties={"dci_es_size": ("companion",)},
    needs={"dci_es_explicitness": ("test_split",)},  # scored on held-out rows
)
def dci_es(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    widths: tuple[int, ...] = (0, 8, 32, 128, 512),
    categorical: tuple[int, ...] = (),
    area: str = "paper",
    num_train: int | None = 10000,
    num_test: int | None = 5000,
    test_size: float = 1 / 3,
    n_bins: int = 20,
) -> DCIESResult:
    """DCI-ES explicitness E and size S.

    Explicitness asks how much probe capacity it takes to read each factor from the code
    (:func:`explicitness_from_curve`): one loss-capacity curve per factor, from a ladder of
    probes fitted in closed form (ridge least squares on the standardized latents, then on
    the latents plus 8, 32, 128, 512 seeded random Fourier features), capacity = log of
    the read-out's parameter count, loss = test ``1 - R^2`` (the error rate for factors in
    ``categorical``). E is the mean over factors. Size is

    .. math:: S = d_v / d_z

    the number of factors over the number of latent dimensions (1 for a code exactly as
    large as the factors, smaller for a larger code).

    Parameters
    ----------
    z, factors : array-like, rows = samples
        Factors as integer codes (real-valued factors are binned into ``n_bins``, warning).
    z_test, factors_test : array-like, optional
        Held-out rows; when omitted a seeded random fraction ``test_size`` is held out.
    seed : int
        Seed of the split, the subsample and the random features.
    widths : tuple of int, default (0, 8, 32, 128, 512)
        Random features of each rung (0 = the linear probe); at least two rungs.
    categorical : tuple of int, default ()
        Factors scored by classification error (least squares on indicators, argmax)
        instead of ``1 - R^2`` on their codes.
    area : {"paper", "official"}, default "paper"
        Area convention (:data:`AREAS`).
    num_train, num_test : int or None, default 10000 / 5000

    Returns
    -------
    DCIESResult
        Rows ``dci_es_explicitness`` (overall and per factor) and ``dci_es_size``. Settings
        record the ladder (widths, random-feature bandwidth, capacities).

    References
    ----------
    Eastwood, Nicolicioiu, von Kuegelgen, Kekic, Traeuble, Dittadi, Schoelkopf, "DCI-ES:
    An Extended Disentanglement Framework with Connections to Identifiability", ICLR 2023
    (code ``andreinicolicioiu/DCI-ES``). Rahimi, Recht, "Random Features for Large-Scale
    Kernel Machines", NeurIPS 2007.

    Notes
    -----
    The authors fit MLPs (capacity = log parameter count) or random forests (capacity =
    depth) by gradient descent; the closed-form ladder here keeps E affordable on a laptop,
    and E depends on the probe family: compare models under one ladder only.
    """
    widths = tuple(sorted(set(int_sequence(widths, name="widths"))))
    if len(widths) < 2:
        raise LpsInputError("widths needs at least two rungs (e.g. (0, 8, 32, 128, 512))")
    if area not in AREAS:
        raise LpsInputError(f"area must be one of {AREAS}, got {area!r}")
    data = prepare(
        "dci_es",
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        needs_test=True,
        num_train=num_train,
        num_test=num_test,
        test_size=test_size,
        params={"widths": list(widths), "categorical": list(categorical), "area": area},
    )
    f, ft, _ = discrete_factor_codes(
        data.factors, data.factors_test, n_bins=n_bins, metric="dci_es"
    )
    k = f.shape[1]
    categorical = int_sequence(categorical, name="categorical") if categorical != () else ()
    if any(j < 0 or j >= k for j in categorical):
        raise LpsInputError(f"categorical lists factor indices in [0, {k}), got {categorical}")
    # constant / ID-like factors, and those the test split cannot score, are left out
    scored = np.flatnonzero(data.scorable())
    position = {int(j): i for i, j in enumerate(scored)}
    kept = tuple(position[j] for j in categorical if j in position)
    ladder = FeatureLadder.draw(standardize_pair(data.z, data.z)[0], widths, data.rng)
    if scored.size:
        losses, baseline = _loss_curves(data, (f[:, scored], ft[:, scored]), kept, ladder, widths)
    else:  # nothing to score held out: the explicitness row is NaN by its declared need
        losses, baseline = np.full((len(widths), 0), np.nan), np.full(0, np.nan)
    n_dims = data.z.shape[1]
    capacity = np.log([ladder.n_parameters(n_dims, w) for w in widths])
    per_factor = np.full(k, math.nan)
    for i, j in enumerate(scored):
        per_factor[j] = explicitness_from_curve(capacity, losses[:, i], baseline[i], area=area)
    ok = np.isfinite(per_factor)
    data.settings.update(
        rff_bandwidth=ladder.bandwidth,
        capacities=capacity.tolist(),
        probe="ridge least squares on latents + random Fourier features",
    )
    return DCIESResult(
        value=float(np.mean(per_factor[ok])) if ok.any() else math.nan,
        settings=data.settings,
        metric="dci_es_explicitness",
        size=int(data.usable().sum()) / n_dims,  # usable factors per latent
        explicitness_per_factor=per_factor,
        capacities=capacity,
        losses=losses,
        baseline=baseline,
    )
