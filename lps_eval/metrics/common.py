"""Shared plumbing of the supervised metrics: input checks, train/test split, factor codes,
the degenerate-input checks, the result class and the warning types.

Every public metric calls :func:`prepare` once: it validates the arrays (raising
:class:`~lps_eval.LpsInputError`), makes the seeded train/test split when the metric needs
one and none was given, subsamples to the study sizes (``num_train``/``num_test``), checks
that the metric can mean anything on these rows (see :func:`degenerate_checks`) and records
every choice in ``settings``.

When a metric cannot mean anything on its input, :func:`prepare` raises
:class:`MetricUndefined`; the registry (:mod:`lps_eval.metrics.registry`) turns it into a
NaN result whose ``reason`` names the problem and the fix, with an
:class:`LpsUndefinedWarning` saying the same. Because the checks live here and read the
needs each metric declares at registration, a new metric inherits them.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lps_eval._random import make_rng, subsample_rows
from lps_eval._validation import (
    LpsInputError,
    LpsInputWarning,
    check_factors,
    check_fraction,
    check_latents,
    check_positive_int,
)
from lps_eval.information import histogram_discretize, to_codes
from lps_eval.results import MetricResult, library_versions, make_row, tidy_frame

__all__ = [
    "NEEDS",
    "LpsMetricWarning",
    "LpsUndefinedWarning",
    "MetricCall",
    "MetricUndefined",
    "Prepared",
    "SupervisedResult",
    "annotate_rows",
    "current_call",
    "degenerate_checks",
    "discrete_factor_codes",
    "finite_mean",
    "id_like_factors",
    "is_integer_valued",
    "metric_call",
    "not_computable",
    "prepare",
    "prepare_discretized",
    "row_key",
    "seed_int",
    "top_two_gap",
    "warn",
    "warn_undefined",
    "widen_factors",
]


class LpsMetricWarning(UserWarning):
    """A metric was computed with a documented adjustment, or could not be computed."""


class LpsUndefinedWarning(LpsInputWarning, LpsMetricWarning):
    """A metric (or one of its rows) cannot mean anything on this input: its value is NaN,
    and the message names the problem and the fix.

    Both an :class:`~lps_eval.LpsInputWarning` (the input is the cause) and an
    :class:`LpsMetricWarning` (filters on either catch it).
    """


def warn(message: str) -> None:
    warnings.warn(message, LpsMetricWarning, stacklevel=3)


def warn_undefined(message: str, stacklevel: int = 3) -> None:
    warnings.warn(message, LpsUndefinedWarning, stacklevel=stacklevel)


class MetricUndefined(LpsInputError):
    """Raised inside a metric when its number cannot mean anything on the input.

    The registry catches it and returns a NaN result with ``reason`` (so a caller never
    sees it from a registered metric); ``settings`` are the ones recorded so far.
    """

    def __init__(self, reason: str, settings: Mapping[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.settings = dict(settings or {})


#: What a metric (or one of its rows) may declare it needs, checked by
#: :func:`degenerate_checks` on the rows it actually scores.
NEEDS = {
    "two_latents": "compares latents with each other: needs at least 2 varying latents",
    "two_factors": "compares factors with each other: needs at least 2 usable factors",
    "spare_latent": "compares with latents that serve no factor: needs more varying latents "
    "than usable factors",
    "test_split": "scores held-out rows: needs a factor with 2+ values in the test split and "
    "at least as many test rows as it has values",
}


# ---------------------------------------------------------------- the call in progress


@dataclass
class MetricCall:
    """State of one call of a registered metric, shared by the registry and :func:`prepare`.

    Attributes
    ----------
    name : str
        The metric.
    rows : tuple of str
        Its overall rows.
    needs : mapping
        Row -> the :data:`NEEDS` keys it declares.
    prepared : list of Prepared
        What :func:`prepare` returned in this call (the point estimate's rows), in order.
    replicate : callable or None
        Set by the interval engine for a replicate run: ``replicate(prepared) -> Prepared``
        gives the resampled rows; :func:`prepare` then returns it without recomputing.
    request : object or None
        The interval request (``n_boot``, ``seed``) a metric with its own fast resampling
        (unit ``test_rows``) reads (:class:`lps_eval.metrics.intervals.ReplicateRequest`).
    replicates : dict or None
        What such a metric puts back: replicate values by tidy row key
        (:func:`row_key`), arrays of length ``n_boot``.
    """

    name: str
    rows: tuple[str, ...] = ()
    needs: Mapping[str, frozenset[str]] = field(default_factory=dict)
    prepared: list[Prepared] = field(default_factory=list)
    replicate: Any = None
    request: Any = None
    replicates: dict | None = None
    position: int = 0

    def next_replicate(self) -> Prepared:
        if self.position >= len(self.prepared):
            raise RuntimeError(
                f"{self.name}: a replicate called prepare() more often than the estimate"
            )
        base = self.prepared[self.position]
        self.position += 1
        return self.replicate(base)


_CALL: ContextVar[MetricCall | None] = ContextVar("lps_eval_metric_call", default=None)


def current_call() -> MetricCall | None:
    """The registered-metric call in progress (None outside one)."""
    return _CALL.get()


@contextlib.contextmanager
def metric_call(call: MetricCall) -> Iterator[MetricCall]:
    """Make ``call`` the call in progress for the duration of the block."""
    token = _CALL.set(call)
    try:
        yield call
    finally:
        _CALL.reset(token)


# ---------------------------------------------------------------- prepared rows


@dataclass(frozen=True)
class Prepared:
    """Validated arrays of one metric call (rows = samples) plus the recorded settings.

    ``usable_factors`` marks the factors the metric can condition on (they vary and are not
    ID-like); ``test_factors`` those that can also be scored on the test split (None
    without one); ``varying_dims`` the non-constant latents; ``undefined_rows`` maps the
    overall rows whose declared needs are unmet to the reason (the metric reports NaN).
    """

    z: np.ndarray
    factors: np.ndarray
    z_test: np.ndarray | None
    factors_test: np.ndarray | None
    rng: np.random.Generator
    settings: dict[str, Any]
    usable_factors: np.ndarray | None = None
    test_factors: np.ndarray | None = None
    varying_dims: np.ndarray | None = None
    undefined_rows: Mapping[str, str] = field(default_factory=dict)

    def usable(self) -> np.ndarray:
        """Boolean mask of the usable factors (all True when unchecked)."""
        if self.usable_factors is None:
            return np.ones(self.factors.shape[1], dtype=bool)
        return self.usable_factors

    def scorable(self) -> np.ndarray:
        """Usable factors that the test split can score (the usable ones without a split)."""
        return self.usable() if self.test_factors is None else self.test_factors


def _check_given_split(z, factors, z_test, factors_test) -> tuple[np.ndarray, np.ndarray]:
    zt = check_latents(z_test, name="z_test", min_samples=1)
    ft = check_factors(factors_test, n_samples=zt.shape[0], name="factors_test")
    if zt.shape[1] != z.shape[1]:
        raise LpsInputError(
            f"z_test has {zt.shape[1]} dimensions but z has {z.shape[1]}; pass codes "
            "from the same encoder"
        )
    if ft.shape[1] != factors.shape[1]:
        raise LpsInputError(
            f"factors_test has {ft.shape[1]} factors but factors has "
            f"{factors.shape[1]}; pass the same factor columns"
        )
    return zt, ft


def _random_split(metric, z, factors, test_size, min_samples, rng):
    n = z.shape[0]
    n_test = int(round(n * test_size))
    if n_test < 1 or n - n_test < min_samples:
        raise LpsInputError(
            f"{metric} needs a test split but {n} samples leave too few rows; pass more "
            "samples or z_test/factors_test explicitly"
        )
    perm = rng.permutation(n)
    test_idx, train_idx = np.sort(perm[:n_test]), np.sort(perm[n_test:])
    return z[train_idx], factors[train_idx], z[test_idx], factors[test_idx]


def prepare(
    metric: str,
    z: Any,
    factors: Any,
    z_test: Any,
    factors_test: Any,
    *,
    seed: int,
    needs_test: bool,
    num_train: int | None,
    num_test: int | None = None,
    test_size: float = 1 / 3,
    min_samples: int = 2,
    params: dict[str, Any] | None = None,
) -> Prepared:
    """Validate inputs, split and subsample them, check them; the one boundary every metric
    passes.

    Parameters
    ----------
    metric : str
        Name for messages and settings.
    needs_test : bool
        The metric scores on held-out rows. If ``z_test`` is None, a random fraction
        ``test_size`` of the rows is held out with the seed (recorded as ``split="random"``).
        Metrics without a test split ignore ``z_test`` with a warning.
    num_train, num_test : int or None
        Use at most this many training / test rows (seeded uniform subsample; None = all).

    Raises
    ------
    MetricUndefined
        The metric cannot mean anything on these rows (:func:`degenerate_checks`); a
        registered metric turns it into a NaN result.

    Notes
    -----
    Inside a replicate run of the interval engine (:mod:`lps_eval.metrics.intervals`) this
    returns the resampled rows of the estimate's own prepared rows instead (same split,
    same subsample, same factor masks), without validating again.
    """
    call = current_call()
    if call is not None and call.replicate is not None:
        return call.next_replicate()
    rng = make_rng(seed)
    z = check_latents(z, min_samples=min_samples)
    factors = check_factors(factors, n_samples=z.shape[0])
    if num_train is not None:
        num_train = check_positive_int(num_train, name="num_train", minimum=2)
    if num_test is not None:
        num_test = check_positive_int(num_test, name="num_test", minimum=1)
    given = z_test is not None or factors_test is not None
    if given and (z_test is None or factors_test is None):
        raise LpsInputError(
            "pass both z_test and factors_test (or neither, to split z with the seed)"
        )
    zt = ft = None
    if given:
        zt, ft = _check_given_split(z, factors, z_test, factors_test)
        if not needs_test:
            warn(f"{metric} uses no test split; z_test and factors_test are ignored")
            zt = ft = None
        split = "given" if needs_test else "none"
    elif needs_test:
        test_size = check_fraction(test_size, name="test_size")
        z, factors, zt, ft = _random_split(metric, z, factors, test_size, min_samples, rng)
        split = "random"
    else:
        split = "none"
    idx = subsample_rows(z.shape[0], num_train, rng)
    if idx is not None:
        z, factors = z[idx], factors[idx]
    if zt is not None:
        idx = subsample_rows(zt.shape[0], num_test, rng) if num_test is not None else None
        if idx is not None:
            zt, ft = zt[idx], ft[idx]
    settings: dict[str, Any] = {
        "metric": metric,
        "seed": seed,
        "split": split,
        "test_size": test_size if split == "random" else None,
        "num_train": num_train,
        "num_test": num_test if needs_test else None,
        "n_train_used": int(z.shape[0]),
        "n_test_used": None if zt is None else int(zt.shape[0]),
        "n_dims": int(z.shape[1]),
        "n_factors": int(factors.shape[1]),
        **(params or {}),
    }
    return _checked(Prepared(z, factors, zt, ft, rng, settings), metric, call)


def _checked(prepared: Prepared, metric: str, call: MetricCall | None) -> Prepared:
    """Run the degenerate-input checks; record the masks; raise when nothing is left."""
    needs = call.needs if call is not None else {}
    rows = call.rows if call is not None else ()
    masks = degenerate_checks(prepared, metric=metric, needs=needs)
    usable, test_ok, varying, undefined = masks
    settings = prepared.settings
    settings["usable_factors"] = np.flatnonzero(usable).tolist()
    if undefined:
        settings["undefined_rows"] = dict(undefined)
    out = Prepared(
        prepared.z,
        prepared.factors,
        prepared.z_test,
        prepared.factors_test,
        prepared.rng,
        settings,
        usable,
        test_ok,
        varying,
        undefined,
    )
    if call is not None:
        call.prepared.append(out)
    if rows and all(r in undefined for r in rows):
        reasons = list(dict.fromkeys(undefined[r] for r in rows))
        raise MetricUndefined("; ".join(reasons), settings)
    for row, reason in undefined.items():
        warn_undefined(f"{row} not computable: {reason}")
    return out


# ---------------------------------------------------------------- degenerate inputs


def is_integer_valued(column: np.ndarray) -> bool:
    """True for integer/bool dtypes and for floats whose values are all whole numbers."""
    if column.dtype.kind in "biu":
        return True
    return bool(np.all(np.mod(column, 1) == 0))


def id_like_factors(factors: np.ndarray) -> np.ndarray:
    """Boolean mask of integer-valued factor columns that are IDs rather than factors.

    A factor is ID-like when more than half of the rows carry a value that no other row
    has (every value unique is the extreme): nothing can be compared across rows that share
    no value. Non-integer (continuous) columns are binned by the metrics, so never ID-like.
    """
    n = factors.shape[0]
    out = np.zeros(factors.shape[1], dtype=bool)
    for k in range(factors.shape[1]):
        col = factors[:, k]
        if not is_integer_valued(col):
            continue
        _, counts = np.unique(col, return_counts=True)
        out[k] = 2 * int(counts[counts == 1].sum()) > n
    return out


def _factor_reason(const: np.ndarray, ids: np.ndarray, n: int) -> str:
    c, i = np.flatnonzero(const).tolist(), np.flatnonzero(ids).tolist()
    if not i:
        return (
            f"every factor is constant (one value each over the {n} rows): there is no "
            "variation to explain; pass factors that vary across the rows"
        )
    text = (
        f"factor(s) {i} have a distinct value in (almost) every one of the {n} rows (an ID, "
        "not a factor of variation): rows that share no value cannot be compared"
    )
    if c:
        text += f", and factor(s) {c} are constant"
    return (
        text
        + "; pass discrete factor codes with repeated values (e.g. np.digitize a "
        + ("continuous factor into a few bins)")
    )


def _test_scorable(prepared: Prepared, usable: np.ndarray) -> np.ndarray:
    """Usable factors the test split can score: 2+ values there, and at least as many test
    rows as the factor has values in training (continuous factors are binned later, so only
    the first condition applies to them)."""
    ft = prepared.factors_test
    out = usable.copy()
    for k in np.flatnonzero(usable):
        values_test = np.unique(ft[:, k])
        if values_test.size < 2:
            out[k] = False
        elif is_integer_valued(prepared.factors[:, k]):
            out[k] = ft.shape[0] >= np.unique(prepared.factors[:, k]).size
    return out


def degenerate_checks(
    prepared: Prepared, *, metric: str, needs: Mapping[str, frozenset[str]]
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, dict[str, str]]:
    """Decide what the metric can mean on these rows.

    Universal (every metric): some latent varies, and some factor is usable (varies and is
    not ID-like, :func:`id_like_factors`); otherwise :class:`MetricUndefined`. Factors that
    are constant or ID-like are left out (warning); the metric reports NaN for them. Per
    row, the declared :data:`NEEDS`: ``two_latents`` (2+ varying latents), ``two_factors``
    (2+ usable factors), ``spare_latent`` (more varying latents than usable factors),
    ``test_split`` (when the metric scores a test split: some usable
    factor that the test split can score).

    Returns
    -------
    usable_factors, test_factors (None without a split), varying_dims, undefined_rows
    """
    z, f = prepared.z, prepared.factors
    n = z.shape[0]
    varying = np.ptp(z, axis=0) > 0
    if not varying.any():
        raise MetricUndefined(
            f"every latent is constant over the {n} rows: the codes carry no information, so "
            "no latent can be compared with a factor; pass the encoder's codes (constant "
            "codes mean a collapsed encoder or the wrong array)",
            prepared.settings,
        )
    const = np.ptp(f, axis=0) == 0
    ids = id_like_factors(f) & ~const
    usable = ~const & ~ids
    if not usable.any():
        raise MetricUndefined(_factor_reason(const, ids, n), prepared.settings)
    if const.any():
        warn(
            f"{metric}: factor(s) {np.flatnonzero(const).tolist()} take a single value over "
            f"the {n} rows (nothing to explain); left out, their rows are NaN"
        )
    if ids.any():
        warn(
            f"{metric}: factor(s) {np.flatnonzero(ids).tolist()} have a distinct value in "
            "most rows (ID-like); left out, their rows are NaN (pass binned codes)"
        )
    test_ok = None if prepared.z_test is None else _test_scorable(prepared, usable)
    if test_ok is not None and (usable & ~test_ok).any():
        warn(
            f"{metric}: factor(s) {np.flatnonzero(usable & ~test_ok).tolist()} cannot be "
            f"scored on the {prepared.z_test.shape[0]} test rows (one value there, or fewer "
            "rows than values); left out of the held-out scores"
        )
    undefined = _unmet_needs(needs, int(varying.sum()), int(usable.sum()), test_ok, prepared)
    return usable, test_ok, varying, undefined


def _unmet_needs(needs, n_varying, n_usable, test_ok, prepared) -> dict[str, str]:
    out: dict[str, str] = {}
    for row, wanted in needs.items():
        reasons = []
        if "two_latents" in wanted and n_varying < 2:
            reasons.append(
                f"it compares latents with each other but only {n_varying} latent varies; "
                "pass codes with at least two varying dimensions"
            )
        if "two_factors" in wanted and n_usable < 2:
            reasons.append(
                f"it compares factors with each other but only {n_usable} usable factor "
                "is left; pass at least two factors that vary"
            )
        if "spare_latent" in wanted and n_varying <= n_usable:
            reasons.append(
                f"it compares each factor's latent with the latents left over, but "
                f"{n_varying} varying latent(s) for {n_usable} usable factor(s) leave none; "
                "pass codes with more dimensions than factors"
            )
        if "test_split" in wanted and test_ok is not None and not test_ok.any():
            reasons.append(
                f"no factor can be scored on the {prepared.z_test.shape[0]} test rows (each "
                "takes one value there, or has more values than there are test rows); pass "
                "a larger or stratified test split"
            )
        if reasons:
            out[row] = "; ".join(reasons)
    return out


# ---------------------------------------------------------------- factor codes


def discrete_factor_codes(
    factors: np.ndarray,
    factors_test: np.ndarray | None,
    *,
    n_bins: int,
    metric: str,
) -> tuple[np.ndarray, np.ndarray | None, list[int]]:
    """Factor columns as integer codes ``0..K-1``, consistent between train and test.

    Integer-valued factors keep one code per distinct value (what disentanglement_lib
    does with them). Non-integer (continuous) factors are binned into ``n_bins``
    equal-width bins over their joint train+test range, with a warning: treating every
    distinct float as its own class (disentanglement_lib's behaviour) makes ``H(v)``
    equal ``log n`` and the scores meaningless.
    """
    stacked = factors if factors_test is None else np.concatenate([factors, factors_test])
    codes = np.empty(stacked.shape, dtype=np.int64)
    continuous = []
    for j in range(stacked.shape[1]):
        col = stacked[:, j]
        if is_integer_valued(col):
            codes[:, j] = to_codes(col[:, None])[0][:, 0]
        else:
            codes[:, j] = histogram_discretize(col[:, None], n_bins)[:, 0]
            continuous.append(j)
    if continuous:
        warn(
            f"{metric}: factor(s) {continuous} are continuous; discretized into {n_bins} "
            "equal-width bins (pass integer factor codes to control this)"
        )
    sizes = [int(c) + 1 for c in codes.max(axis=0)]
    n = factors.shape[0]
    return codes[:n], (None if factors_test is None else codes[n:]), sizes


def prepare_discretized(
    metric: str,
    z: Any,
    factors: Any,
    z_test: Any,
    factors_test: Any,
    *,
    seed: int,
    num_train: int | None,
    n_bins: int,
    params: dict[str, Any] | None = None,
) -> tuple[Prepared, np.ndarray, np.ndarray]:
    """Shared front of the MI-based metrics (MIG, MIG-sup, DCIMIG, JEMMIG).

    Validates ``n_bins``, prepares the training rows, discretizes every latent into
    ``n_bins`` equal-width bins and the factors into integer codes.

    Returns
    -------
    (prepared, latent_codes, factor_codes)
    """
    n_bins = check_positive_int(n_bins, name="n_bins", minimum=2)
    data = prepare(
        metric,
        z,
        factors,
        z_test,
        factors_test,
        seed=seed,
        needs_test=False,
        num_train=num_train,
        params={"n_bins": n_bins, **(params or {})},
    )
    latent_codes = histogram_discretize(data.z, n_bins)
    factor_codes, _, _ = discrete_factor_codes(data.factors, None, n_bins=n_bins, metric=metric)
    return data, latent_codes, factor_codes


def top_two_gap(matrix: np.ndarray, axis: int) -> np.ndarray:
    """Largest minus second-largest entry along ``axis`` (second = 0 when only one entry)."""
    srt = np.sort(matrix, axis=axis)
    top = np.take(srt, -1, axis=axis)
    second = np.take(srt, -2, axis=axis) if matrix.shape[axis] > 1 else np.zeros_like(top)
    return top - second


def masked_mean(values: np.ndarray, mask: np.ndarray) -> float:
    """Mean of ``values[mask]`` (NaN when the mask is empty)."""
    return float(np.mean(values[mask])) if mask.any() else math.nan


def finite_mean(values: Any) -> float:
    """Mean of the finite entries (NaN when there are none): the mean over the factors
    that have a value, a left-out factor's NaN aside."""
    values = np.asarray(values, dtype=float)
    return masked_mean(values, np.isfinite(values))


def widen_factors(
    values: np.ndarray,
    factor_ids: np.ndarray,
    n_factors: int,
    *,
    axes: tuple[int, ...] = (-1,),
    fill: float = math.nan,
) -> np.ndarray:
    """Put an array computed on some factors back at their input indices.

    ``values`` has one entry per kept factor (``factor_ids``, the input index of each)
    along each of ``axes``; the result has ``n_factors`` there, ``fill`` at the factors
    left out (constant or ID-like, :func:`degenerate_checks`).
    """
    out = np.asarray(values)
    for axis in axes:
        shape = list(out.shape)
        shape[axis] = n_factors
        wide = np.full(shape, fill, dtype=np.result_type(out.dtype, np.asarray(fill).dtype))
        index = [slice(None)] * out.ndim
        index[axis] = np.asarray(factor_ids, dtype=np.int64)
        wide[tuple(index)] = out
        out = wide
    return out


# ---------------------------------------------------------------- tidy rows


def row_key(row: Mapping[str, Any]) -> tuple[str, str, int | None, int | None]:
    """``(metric, scope, dim, factor)`` of a tidy row, the key intervals are stored under."""

    def index(v: Any) -> int | None:
        return None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else int(v)

    return (str(row["metric"]), str(row["scope"]), index(row.get("dim")), index(row.get("factor")))


def annotate_rows(
    rows: list[dict[str, Any]],
    *,
    row_reasons: Mapping[str, str] | None = None,
    intervals: Mapping[tuple, tuple[float, float]] | None = None,
) -> list[dict[str, Any]]:
    """Rows with the undefined ones set to NaN (overall rows carry the ``reason``) and the
    intervals filled into ``ci_low`` / ``ci_high``."""
    out = []
    for row in rows:
        row = dict(row)
        reason = (row_reasons or {}).get(row["metric"])
        if reason is not None:
            row["value"] = math.nan
            if row["scope"] == "overall":
                row["reason"] = reason
        ci = (intervals or {}).get(row_key(row))
        if ci is not None and reason is None:
            row["ci_low"], row["ci_high"] = float(ci[0]), float(ci[1])
        out.append(row)
    return out


def _row_extra(reason: str | None) -> dict[str, Any]:
    return {"reason": reason} if reason else {}


@dataclass(frozen=True, eq=False)
class SupervisedResult(MetricResult):
    """Result of a supervised metric: overall ``value``, optional per-factor / per-dim scores.

    Attributes
    ----------
    value : float
        The headline score (NaN when the metric was not computable; see ``reason``).
    metric : str
        The ``metric`` column of the tidy table.
    per_factor, per_dim : ndarray or None
        Scores of each factor / latent dimension, emitted as rows with scope
        ``"factor"`` / ``"dim"`` when present.
    reason : str or None
        Why the value is NaN (also a ``reason`` column of the overall row).
    intervals : dict or None
        ``(metric, scope, dim, factor) -> (ci_low, ci_high)`` of the tidy rows, set by the
        registry (:mod:`lps_eval.metrics.intervals`); ``ci_low`` / ``ci_high`` are the
        headline row's.
    row_reasons : dict or None
        Overall rows (by ``metric`` name) that are NaN because their declared needs are
        unmet on this input, with the reason.
    undefined_rows : tuple of str
        Set when the whole metric is undefined: the overall rows emitted as NaN.
    """

    metric: str = ""
    per_factor: np.ndarray | None = None
    per_dim: np.ndarray | None = None
    reason: str | None = None
    intervals: Mapping[tuple, tuple[float, float]] | None = field(default=None, repr=False)
    row_reasons: Mapping[str, str] | None = None
    undefined_rows: tuple[str, ...] = ()

    def rows(self) -> list[dict[str, Any]]:
        rows = [make_row(self.metric, self.value, **_row_extra(self.reason))]
        if self.per_factor is not None:
            rows += [
                make_row(self.metric, v, scope="factor", factor=k)
                for k, v in enumerate(self.per_factor)
            ]
        if self.per_dim is not None:
            rows += [
                make_row(self.metric, v, scope="dim", dim=i) for i, v in enumerate(self.per_dim)
            ]
        return rows

    def table_rows(self) -> list[dict[str, Any]]:
        """The tidy rows with undefined rows as NaN and the intervals filled in."""
        if self.undefined_rows:
            rows = [make_row(r, math.nan, reason=self.reason) for r in self.undefined_rows]
        else:
            rows = self.rows()
        rows = annotate_rows(rows, row_reasons=self.row_reasons, intervals=self.intervals)
        reference = self.settings.get("reference")
        if reference:
            for row in rows:
                if row["scope"] == "overall":
                    row["reference"] = reference
        return rows

    def to_frame(self) -> pd.DataFrame:
        """The result as a tidy DataFrame, intervals in ``ci_low`` / ``ci_high``."""
        attrs = {**self.settings, "versions": library_versions()}
        return tidy_frame(self.table_rows(), attrs=attrs)

    def _headline_ci(self) -> tuple[float, float]:
        name = self.undefined_rows[0] if self.undefined_rows else self.metric
        ci = (self.intervals or {}).get((name, "overall", None, None))
        return (math.nan, math.nan) if ci is None else (float(ci[0]), float(ci[1]))

    @property
    def ci_low(self) -> float:
        """Lower end of the headline row's interval (NaN without one)."""
        return self._headline_ci()[0]

    @property
    def ci_high(self) -> float:
        """Upper end of the headline row's interval (NaN without one)."""
        return self._headline_ci()[1]


def not_computable(metric: str, reason: str, settings: dict[str, Any], cls=SupervisedResult):
    """A NaN result carrying ``reason``, after warning with the same text."""
    warn_undefined(f"{metric} not computable: {reason}")
    return cls(
        value=math.nan, settings={**settings, "reason": reason}, metric=metric, reason=reason
    )


def seed_int(rng: np.random.Generator) -> int:
    """An int seed for estimators that take ``random_state`` (drawn from the metric's rng)."""
    return int(rng.integers(2**31 - 1))
