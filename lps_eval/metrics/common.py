"""Shared plumbing of the supervised metrics: input checks, train/test split, factor codes,
the result class and the warning type.

Every public metric calls :func:`prepare` once: it validates the arrays (raising
:class:`~lps_eval.LpsInputError`), makes the seeded train/test split when the metric needs
one and none was given, subsamples to the study sizes (``num_train``/``num_test``) and
records every choice in ``settings``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._random import make_rng, subsample_rows
from lps_eval._validation import (
    LpsInputError,
    check_factors,
    check_fraction,
    check_latents,
    check_positive_int,
)
from lps_eval.information import histogram_discretize, to_codes
from lps_eval.results import MetricResult, make_row

__all__ = [
    "LpsMetricWarning",
    "Prepared",
    "SupervisedResult",
    "discrete_factor_codes",
    "is_integer_valued",
    "prepare",
    "top_two_gap",
]


class LpsMetricWarning(UserWarning):
    """A metric was computed with a documented adjustment, or could not be computed."""


def warn(message: str) -> None:
    warnings.warn(message, LpsMetricWarning, stacklevel=3)


@dataclass(frozen=True)
class Prepared:
    """Validated arrays of one metric call (rows = samples) plus the recorded settings."""

    z: np.ndarray
    factors: np.ndarray
    z_test: np.ndarray | None
    factors_test: np.ndarray | None
    rng: np.random.Generator
    settings: dict[str, Any]


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
    """Validate inputs, split and subsample them; the one boundary every metric passes.

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
    """
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
        if not needs_test:
            warn(f"{metric} uses no test split; z_test and factors_test are ignored")
            zt = ft = None
        split = "given" if needs_test else "none"
    elif needs_test:
        test_size = check_fraction(test_size, name="test_size")
        n = z.shape[0]
        n_test = int(round(n * test_size))
        if n_test < 1 or n - n_test < min_samples:
            raise LpsInputError(
                f"{metric} needs a test split but {n} samples leave too few rows; pass more "
                "samples or z_test/factors_test explicitly"
            )
        perm = rng.permutation(n)
        test_idx, train_idx = np.sort(perm[:n_test]), np.sort(perm[n_test:])
        zt, ft = z[test_idx], factors[test_idx]
        z, factors = z[train_idx], factors[train_idx]
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
    return Prepared(z, factors, zt, ft, rng, settings)


def is_integer_valued(column: np.ndarray) -> bool:
    """True for integer/bool dtypes and for floats whose values are all whole numbers."""
    if column.dtype.kind in "biu":
        return True
    return bool(np.all(np.mod(column, 1) == 0))


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
        params={"n_bins": n_bins},
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
    """

    metric: str = ""
    per_factor: np.ndarray | None = None
    per_dim: np.ndarray | None = None
    reason: str | None = None

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


def not_computable(metric: str, reason: str, settings: dict[str, Any], cls=SupervisedResult):
    """A NaN result carrying ``reason``, after warning with the same text."""
    warn(f"{metric} not computable: {reason}")
    return cls(
        value=math.nan, settings={**settings, "reason": reason}, metric=metric, reason=reason
    )


def seed_int(rng: np.random.Generator) -> int:
    """An int seed for estimators that take ``random_state`` (drawn from the metric's rng)."""
    return int(rng.integers(2**31 - 1))


__all__ += ["not_computable", "seed_int", "warn"]
