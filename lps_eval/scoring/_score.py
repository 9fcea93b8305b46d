"""``lps_eval.score``: run every measurement that applies and assemble one tidy table.

Measurements are grouped in *sections* (:mod:`lps_eval.scoring.sections`: LPS, prior
matching, independence, supervised metrics), listed once, in order; each reads its
options from its own namespace (:mod:`lps_eval.scoring.namespaces`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from lps_eval._validation import LpsInputError, check_factors, check_latents
from lps_eval.options import did_you_mean
from lps_eval.results import MetricResult, jsonable, library_versions, tidy_frame
from lps_eval.scoring.namespaces import resolve_options
from lps_eval.scoring.sections import ScoreContext, Section, namespace_defaults, score_sections

__all__ = ["available_metrics", "planned_metrics", "score"]


def available_metrics() -> dict[str, tuple[str, ...]]:
    """Section name -> metric names that :func:`score` can compute."""
    return {s.name: s.metrics for s in score_sections()}


def planned_metrics(metrics: Sequence[str] | str | None, *, has_factors: bool) -> set[str]:
    """Metric names that :func:`score` may produce for this selection (before any work)."""
    names: set[str] = set()
    for section, subset in _select(metrics, has_factors):
        names |= set(section.metrics) if subset is None else subset
    return names


def _select(
    metrics: Sequence[str] | str | None, has_factors: bool
) -> list[tuple[Section, set[str] | None]]:
    every = score_sections()
    if metrics is None:
        return [(s, None) for s in every if s.default and (has_factors or not s.needs_factors)]
    by_name = {s.name: s for s in every}
    wanted = [metrics] if isinstance(metrics, str) else list(metrics)
    chosen: dict[str, set[str] | None] = {}
    for item in wanted:
        if item in by_name:
            chosen[item] = None
            continue
        owners = [s for s in every if item in s.metrics]
        if not owners:
            known = sorted({m for s in every for m in (s.name, *s.metrics)})
            # the sections only: every metric name would not fit on one readable line
            raise LpsInputError(
                f"unknown metric {item!r}{did_you_mean(item, known)}; choose a metric or one "
                f"of the sections {', '.join(by_name)} (lps-eval metrics lists every metric)"
            )
        owner = owners[0]
        if chosen.get(owner.name, set()) is not None:
            chosen.setdefault(owner.name, set()).add(item)
    selected = []
    for name, subset in chosen.items():
        section = by_name[name]
        if section.needs_factors and not has_factors:
            raise LpsInputError(
                f"metric(s) of {name!r} need ground-truth factors; pass factors= "
                "(CLI: --factors FILE)"
            )
        selected.append((section, subset))
    return selected


def score(
    z: Any,
    *,
    prior: Any = "gaussian",
    factors: Any = None,
    metrics: Sequence[str] | str | None = None,
    seed: int = 0,
    factor_names: Sequence[str] | None = None,
    predictor: Any = None,
    predictor_params: dict[str, Any] | None = None,
    dim_names: Sequence[str] | None = None,
    progress: bool = False,
    on_result: Callable[[MetricResult], None] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """Score a latent space: one tidy row per measured quantity.

    Parameters
    ----------
    z : array-like of shape (n_samples, n_dims)
        Latent codes (float32/float64; lists, DataFrames and torch tensors accepted).
    prior : str or object, default "gaussian"
        Prior spec for the prior-matching rows (see :mod:`lps_eval.prior_matching.priors`).
    factors : array-like of shape (n_samples, n_factors), optional
        Ground-truth factors; enables the supervised metrics.
    metrics : str or sequence of str, optional
        Metric or section names to compute (default: every default section that applies).
    seed : int, default 0
        Seed for every random choice (splits, bootstraps, permutations, models).
    factor_names : sequence of str, optional
        Names of the factor columns, recorded in ``attrs``.
    predictor : str or object, optional
        Shorthand for ``lps={"predictor": ...}`` (default ``"hgb"``).
    predictor_params : dict, optional
        Shorthand for ``lps={"predictor_params": ...}``.
        Names of the factor columns (default: the columns of a DataFrame ``factors``);
        they fill the ``factor_name`` column and ``attrs``.
    dim_names : sequence of str, optional
        Names of the latent dimensions (default: the columns of a DataFrame ``z``); they
        fill the ``dim_name`` column (``source_dim_name`` for predictability rows).
    progress : bool, default False
        Show a progress bar on stderr.
    on_result : callable, optional
        Called with every :class:`~lps_eval.results.MetricResult` as it is produced, for
        callers that need more than the table (e.g. held-out predictions of LPS).
    **options
        Section options by namespace: ``lps={"n_boot": 500}``, ``mmd={"kernel": "imq"}``,
        ``independence={...}``, one namespace per supervised metric (``dci={"mode":
        "parity"}``), or dotted keys (``**{"mmd.max_samples": 10000}``). Defaults are the
        functions' own (:func:`lps_eval.lps`, :func:`lps_eval.mmd`, ...) except the caps in
        :data:`lps_eval.scoring.sections.SCORE_OVERRIDES`; every resolved value is recorded
        in ``attrs["options"]``. The flat names of 0.1 still work, with a deprecation
        warning.

    Returns
    -------
    pandas.DataFrame
        Columns ``metric, scope, dim, factor, value, ci_low, ci_high, p_value`` then extras;
        ``attrs`` holds seed, sizes, every section's settings and library versions.

    Examples
    --------
    >>> import numpy as np, lps_eval
    >>> z = np.random.default_rng(0).normal(size=(2000, 4))
    >>> table = lps_eval.score(z, metrics=["lps"])
    >>> float(table.query("metric == 'lps' and scope == 'overall'").value.iloc[0]) < 0.05
    True
    """
    if dim_names is None and isinstance(z, pd.DataFrame):
        dim_names = [str(c) for c in z.columns]
    if factor_names is None and isinstance(factors, pd.DataFrame):
        factor_names = [str(c) for c in factors.columns]
    z = check_latents(z, min_samples=4, min_dims=1, lazy=True)  # a memmap stays one
    fac = None if factors is None else check_factors(factors, n_samples=z.shape[0])
    dim_names = _check_names(dim_names, z.shape[1], "dim_names", "latent dimensions")
    if factor_names is not None and fac is None:
        raise LpsInputError("factor_names were given without factors; pass factors= too")
    factor_names = _check_names(
        factor_names, None if fac is None else fac.shape[1], "factor_names", "factor columns"
    )
    selected = _select(metrics, fac is not None)
    if predictor is not None:
        options = {**options, "lps.predictor": predictor}
    if predictor_params is not None:
        options = {**options, "lps.predictor_params": predictor_params}
    resolved = resolve_options(options, namespace_defaults())
    context = ScoreContext(z, fac, prior, seed, resolved, factor_names)
    frames = []
    settings: dict[str, Any] = {
        "seed": seed,
        "n_samples": int(z.shape[0]),
        "n_dims": int(z.shape[1]),
        "n_factors": None if fac is None else int(fac.shape[1]),
        "factor_names": None if factor_names is None else list(factor_names),
        "dim_names": None if dim_names is None else list(dim_names),
        "prior": prior if isinstance(prior, str) else repr(prior),
        "options": {
            ns: jsonable({k: _recordable(v) for k, v in resolved[ns].items()})
            for section, _ in selected
            for ns in section.namespaces
        },
    }
    from tqdm.auto import tqdm

    for section, subset in tqdm(selected, desc="lps-eval", disable=not progress, leave=False):
        for result in section.run(context):
            if on_result is not None:
                on_result(result)
            frame = result.to_frame()
            if subset is not None:
                frame = frame[frame["metric"].isin(subset)]
            frames.append(frame)
            key = result.settings.get("metric", section.name)
            settings.setdefault("settings", {})[key] = jsonable(result.settings)
    rows = [r for f in frames for r in f.to_dict("records")]
    table = tidy_frame(rows, attrs={**settings, "versions": library_versions()})
    return _add_names(table, dim_names, factor_names)


def _check_names(names: Any, count: int | None, what: str, of: str) -> list[str] | None:
    """Names as a list of strings, one per column (``count``), or None."""
    if names is None:
        return None
    if isinstance(names, str) or not hasattr(names, "__len__"):
        raise LpsInputError(f"{what} must be a sequence of strings, got {names!r}")
    names = [str(n) for n in names]
    if count is not None and len(names) != count:
        raise LpsInputError(
            f"{what} has {len(names)} name(s) but there are {count} {of}; pass one name each"
        )
    return names


def _add_names(
    table: pd.DataFrame, dim_names: list[str] | None, factor_names: list[str] | None
) -> pd.DataFrame:
    """``dim_name`` / ``factor_name`` (and ``source_dim_name``) columns from the indices.

    The names default to the indices as text, so the columns are always present.
    """
    attrs = table.attrs
    for col, names in (("dim", dim_names), ("factor", factor_names), ("source_dim", dim_names)):
        if col not in table.columns:
            continue
        index = table[col].to_numpy(dtype=np.float64, na_value=np.nan)
        present = ~np.isnan(index)
        codes = index[present].astype(np.int64)
        if names is None:
            count = int(codes.max()) + 1 if codes.size else 0
            labels = np.array([str(i) for i in range(count)], dtype=object)  # per column
        else:
            labels = np.asarray(names, dtype=object)
        out = np.full(index.shape[0], None, dtype=object)
        out[present] = labels[codes]
        table[f"{col}_name"] = out
    table.attrs = attrs
    return table


def _recordable(value: Any) -> Any:
    """An option value as it is recorded in ``attrs``: plain values as they are, arrays
    by their shape (an explicit split holds thousands of indices), objects by repr."""
    if value is None or isinstance(value, (bool, int, float, str, np.generic)):
        return value
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape}"
    if isinstance(value, (list, tuple)):
        return [_recordable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _recordable(v) for k, v in value.items()}
    return repr(value)
