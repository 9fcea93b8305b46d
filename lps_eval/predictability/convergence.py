"""Has LPS converged in N? A verdict that reads the learning curve against its null curve.

Held-out R2 of a fitted regressor is biased low at small N even on independent data
(the null level: LPS of the column-shuffled rows, negative and rising towards 0 as N
grows), so a rising LPS is not by itself a sign of dependence still being learned. The
verdict therefore judges the *excess over the null level at the same N*,
``excess(n) = LPS(n) - null(n)``, and says first whether there is any dependence at all:

1. **No dependence detected** (``state="null"``): at no training size does the lower end
   of the LPS interval clear the upper end of the null level's interval. LPS then sits
   at the null level at every N (it "converged at the null level"); its movement with N
   is the estimator's bias, shared by the null. This is not a proof of independence: a
   dependence this predictor cannot learn from this many rows looks the same.
2. **Converged** (``state="converged"``): dependence is detected at the largest N and the
   last doubling of the training rows moved the excess by less than the half-width of the
   last point's interval (the doubling rule of :func:`~lps_eval.predictability.doubling_converged`
   applied to the excess).
3. **Not converged** (``state="rising"`` or ``"falling"``): dependence is detected at the
   largest N and the last doubling moved the excess by at least that half-width: the
   predictor still finds more (or, rarely, less) dependence with more rows, so the
   reported LPS depends on N.

``"undetermined"``: fewer than two points, no interval, no null curve, or dependence
detected at a smaller N but not at the largest (too noisy to judge).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["VERDICT_STATES", "CurveVerdict", "curve_verdict"]

#: Every state a verdict can take, in the order the docs explain them.
VERDICT_STATES = ("null", "converged", "rising", "falling", "undetermined")


@dataclass(frozen=True)
class CurveVerdict:
    """The convergence verdict on one learning curve (:func:`curve_verdict`).

    Attributes
    ----------
    state : str
        One of :data:`VERDICT_STATES`.
    headline : str
        The banner's bold words, e.g. ``"LPS converged in N"``.
    detail : str
        The numbers behind the verdict and what it does not mean; the banner reads
        ``f"{headline}: {detail}"``.
    change, null_change, excess_change : float
        Movement of LPS, of the null level and of their difference over the last doubling.
    half_width : float
        Half-width of the last point's interval.
    n_train, n_train_previous : int
        Training rows of the last two points.
    above_null : tuple of bool
        Per point: is the LPS interval entirely above the null level's interval?
    """

    state: str
    headline: str
    detail: str
    change: float = math.nan
    null_change: float = math.nan
    excess_change: float = math.nan
    half_width: float = math.nan
    n_train: int = 0
    n_train_previous: int = 0
    above_null: tuple[bool, ...] = ()

    @property
    def converged(self) -> bool:
        """True for ``"null"`` and ``"converged"``: more rows are not expected to change
        the answer beyond its interval."""
        return self.state in ("null", "converged")

    @property
    def short(self) -> str:
        """A few words for a summary table cell."""
        return {
            "null": "yes (at the null level)",
            "converged": "yes",
            "rising": "no: still rising",
            "falling": "no: fell",
            "undetermined": "no verdict",
        }[self.state]


def _above_null(curve: pd.DataFrame) -> np.ndarray:
    """Per point: LPS interval's low end above the null interval's high end (or value)."""
    null_high = curve["null_ci_high"].to_numpy(dtype=float)
    null_value = curve["null"].to_numpy(dtype=float)
    null_high = np.where(np.isfinite(null_high), null_high, null_value)
    low = curve["ci_low"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        return np.isfinite(low) & np.isfinite(null_high) & (low > null_high)


def curve_verdict(curve: pd.DataFrame) -> CurveVerdict:
    """Judge a learning curve of :func:`lps_eval.lps_curve` against its null curve.

    Parameters
    ----------
    curve : DataFrame
        One row per size with ``n_train``, ``value``, ``ci_low``, ``ci_high``, ``null``,
        ``null_ci_low`` and ``null_ci_high`` (``lps_curve(..., null=True)``).

    Returns
    -------
    CurveVerdict
        See the module docstring for the rules.
    """
    needed = {"n_train", "value", "ci_low", "ci_high", "null", "null_ci_low", "null_ci_high"}
    missing = needed - set(curve.columns)
    if len(curve) < 2 or missing:
        why = "fewer than two training sizes" if len(curve) < 2 else f"no {sorted(missing)}"
        return CurveVerdict("undetermined", "No verdict on convergence in N", f"{why}.")
    last, prev = curve.iloc[-1], curve.iloc[-2]
    half_width = float(last["ci_high"] - last["ci_low"]) / 2.0
    numbers = {
        "change": float(last["value"] - prev["value"]),
        "null_change": float(last["null"] - prev["null"]),
        "half_width": half_width,
        "n_train": int(last["n_train"]),
        "n_train_previous": int(prev["n_train"]),
    }
    numbers["excess_change"] = numbers["change"] - numbers["null_change"]
    if not (np.isfinite(half_width) and np.isfinite(numbers["excess_change"])):
        return CurveVerdict(
            "undetermined",
            "No verdict on convergence in N",
            "the curve has no interval or no null level, and without the null curve a rising "
            "LPS cannot be told apart from the small-N bias of held-out R2.",
            **numbers,
        )
    above = tuple(bool(a) for a in _above_null(curve))
    state = _state(above, numbers["excess_change"], half_width)
    headline, detail = _wording(state, curve, numbers, above)
    return CurveVerdict(state, headline, detail, above_null=above, **numbers)


def _state(above: tuple[bool, ...], excess_change: float, half_width: float) -> str:
    if not above[-1]:
        return "undetermined" if any(above) else "null"
    if abs(excess_change) < half_width:
        return "converged"
    return "rising" if excess_change > 0 else "falling"


def _point(row: pd.Series) -> str:
    return f"{row['value']:+.3f} [{row['ci_low']:+.3f}, {row['ci_high']:+.3f}]"


def _null_point(row: pd.Series) -> str:
    if np.isfinite(row["null_ci_low"]):
        return f"{row['null']:+.3f} [{row['null_ci_low']:+.3f}, {row['null_ci_high']:+.3f}]"
    return f"{row['null']:+.3f}"


def _wording(state: str, curve: pd.DataFrame, num: dict, above: tuple[bool, ...]):
    """The banner's headline and detail for a state (every number in it is the curve's)."""
    last = curve.iloc[-1]
    sizes = f"{int(curve['n_train'].iloc[0]):,} to {num['n_train']:,} training rows"
    doubling = (
        f"from {num['n_train_previous']:,} to {num['n_train']:,} training rows LPS moved by "
        f"{num['change']:+.4f} and the null level by {num['null_change']:+.4f}, so the "
        f"excess over the null moved by {num['excess_change']:+.4f}"
    )
    if state == "null":
        return "No dependence detected at any N (LPS converged in N at the null level)", (
            f"at every size from {sizes}, the "
            f"LPS interval overlaps the null level's (at {num['n_train']:,} rows: LPS "
            f"{_point(last)}, null {_null_point(last)}). Over the last doubling LPS moved "
            f"by {num['change']:+.4f} and the null level by {num['null_change']:+.4f}: at the "
            "null level, movement with N is the small-N bias of held-out R2 and noise, not "
            "dependence. Not a proof of independence: a dependence this predictor cannot "
            "learn from this many rows would look the same."
        )
    if state == "undetermined":
        first = [int(n) for n, a in zip(curve["n_train"], above, strict=True) if a]
        return "No verdict on convergence in N", (
            f"LPS is above its null level at {', '.join(f'{n:,}' for n in first)} training "
            f"rows but not at {num['n_train']:,} (LPS {_point(last)}, null "
            f"{_null_point(last)}): the curve is too noisy at this N to judge."
        )
    if state == "converged":
        detail = (
            f"dependence detected (LPS {_point(last)} above the null level "
            f"{_null_point(last)} at {num['n_train']:,} rows); {doubling}, less than the "
            f"interval half-width {num['half_width']:.4f}."
        )
        if abs(num["change"]) >= num["half_width"]:
            detail += (
                " LPS itself still rises with N because the estimator's small-N bias "
                "shrinks (the null level rose too): the reported value is low by about "
                "the null level's shortfall below 0."
            )
        return "LPS converged in N", detail
    word = "still rising" if state == "rising" else "it fell"
    more = (
        "the predictor still finds more dependence with more rows, so the reported LPS "
        "understates what it would reach with more data"
        if state == "rising"
        else "unusual (more training rows rarely hurt a regressor): the fit is unstable at this N"
    )
    return f"LPS NOT converged in N: {word}", (
        f"dependence detected (LPS {_point(last)} above the null level "
        f"{_null_point(last)} at {num['n_train']:,} rows), but {doubling}, at least the "
        f"interval half-width {num['half_width']:.4f}: {more}."
    )
