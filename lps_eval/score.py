"""``lps_eval.score``: run every measurement that applies and assemble one tidy table.

Measurements are grouped in *sections* (LPS, prior matching, independence, supervised
metrics). Each section is one function ``run(context) -> list[MetricResult]`` plus one
:func:`register_section` line, so adding a measurement never touches this module's logic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lps_eval._validation import LpsInputError, check_factors, check_latents
from lps_eval.results import MetricResult, jsonable, library_versions, tidy_frame

__all__ = ["ScoreContext", "available_metrics", "planned_metrics", "register_section", "score"]


@dataclass(frozen=True)
class ScoreContext:
    """Everything a section needs: validated arrays and the user's options."""

    z: np.ndarray
    factors: np.ndarray | None
    prior: Any
    seed: int
    options: dict[str, Any] = field(default_factory=dict)
    factor_names: Sequence[str] | None = None


@dataclass(frozen=True)
class _Section:
    name: str
    metrics: tuple[str, ...]
    run: Callable[[ScoreContext], list[MetricResult]]
    needs_factors: bool
    default: bool
    options: tuple[str, ...]


_SECTIONS: dict[str, _Section] = {}


def register_section(
    name: str,
    run: Callable[[ScoreContext], list[MetricResult]],
    *,
    metrics: Sequence[str],
    needs_factors: bool = False,
    default: bool = True,
    options: Sequence[str] = (),
) -> None:
    """Register a group of measurements for :func:`score`.

    Parameters
    ----------
    name : str
        Section name; selecting it in ``metrics=`` selects all its metrics.
    run : callable
        ``run(context) -> list[MetricResult]``.
    metrics : sequence of str
        Metric names (the ``metric`` column) the section can produce.
    needs_factors : bool
        Only run when ground-truth factors were given.
    default : bool
        Run when ``metrics`` is None.
    options : sequence of str
        Keyword options of :func:`score` this section consumes (for the unknown-option check).
    """
    _SECTIONS[name] = _Section(name, tuple(metrics), run, needs_factors, default, tuple(options))


def available_metrics() -> dict[str, tuple[str, ...]]:
    """Section name -> metric names that :func:`score` can compute."""
    _load_sections()
    return {s.name: s.metrics for s in _SECTIONS.values()}


def _load_sections() -> None:
    # Import for the registration side effect; each module registers its own section.
    import lps_eval.independence
    import lps_eval.lps
    import lps_eval.metrics._section
    import lps_eval.mmd  # noqa: F401


def planned_metrics(metrics: Sequence[str] | str | None, *, has_factors: bool) -> set[str]:
    """Metric names that :func:`score` may produce for this selection (before any work)."""
    _load_sections()
    names: set[str] = set()
    for section, subset in _select(metrics, has_factors):
        names |= set(section.metrics) if subset is None else subset
    return names


def _select(
    metrics: Sequence[str] | str | None, has_factors: bool
) -> list[tuple[_Section, set[str] | None]]:
    if metrics is None:
        return [
            (s, None)
            for s in _SECTIONS.values()
            if s.default and (has_factors or not s.needs_factors)
        ]
    wanted = [metrics] if isinstance(metrics, str) else list(metrics)
    chosen: dict[str, set[str] | None] = {}
    for item in wanted:
        section = _SECTIONS.get(item)
        if section is not None:
            chosen[section.name] = None
            continue
        owners = [s for s in _SECTIONS.values() if item in s.metrics]
        if not owners:
            known = sorted({m for s in _SECTIONS.values() for m in (s.name, *s.metrics)})
            raise LpsInputError(f"unknown metric {item!r}; choose from: {', '.join(known)}")
        owner = owners[0]
        if chosen.get(owner.name, set()) is not None:
            chosen.setdefault(owner.name, set()).add(item)
    selected = []
    for name, subset in chosen.items():
        section = _SECTIONS[name]
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
    progress: bool = False,
    **options: Any,
) -> pd.DataFrame:
    """Score a latent space: one tidy row per measured quantity.

    Parameters
    ----------
    z : array-like of shape (n_samples, n_dims)
        Latent codes (float32/float64; lists, DataFrames and torch tensors accepted). A
        numpy memmap (``np.load(path, mmap_mode="r")``) or a ``dask.array`` is never
        loaded whole: sections read only the rows they use or stream in chunks, with the
        same numbers as the array in memory (see :mod:`lps_eval.streaming`).
    prior : str or object, default "gaussian"
        Prior spec for the prior-matching rows (see :mod:`lps_eval.priors`).
    factors : array-like of shape (n_samples, n_factors), optional
        Ground-truth factors; enables the supervised metrics.
    metrics : str or sequence of str, optional
        Metric or section names to compute (default: every default section that applies).
    seed : int, default 0
        Seed for every random choice (splits, bootstraps, permutations, models).
    factor_names : sequence of str, optional
        Names of the factor columns, recorded in ``attrs``.
    progress : bool, default False
        Show a progress bar on stderr.
    **options
        Passed to the sections, e.g. ``predictor="hgb"``, ``test_size=0.25``,
        ``n_boot=200``, ``max_samples=...``, ``kernel=...``, ``permutations=...``.

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
    _load_sections()
    # lazy: a memmap or dask array stays one; each section reads only the rows it uses
    z = check_latents(z, min_samples=4, min_dims=1, lazy=True)
    fac = None if factors is None else check_factors(factors, n_samples=z.shape[0])
    selected = _select(metrics, fac is not None)
    known_options = {o for s in _SECTIONS.values() for o in s.options}
    unknown = sorted(set(options) - known_options)
    if unknown:
        raise LpsInputError(
            f"unknown option(s) {unknown}; known options are: {', '.join(sorted(known_options))}"
        )
    context = ScoreContext(z, fac, prior, seed, dict(options), factor_names)
    frames = []
    settings: dict[str, Any] = {
        "seed": seed,
        "n_samples": int(z.shape[0]),
        "n_dims": int(z.shape[1]),
        "n_factors": None if fac is None else int(fac.shape[1]),
        "factor_names": None if factor_names is None else list(factor_names),
        "prior": prior if isinstance(prior, str) else repr(prior),
    }
    from tqdm.auto import tqdm

    for section, subset in tqdm(selected, desc="lps-eval", disable=not progress, leave=False):
        for result in section.run(context):
            frame = result.to_frame()
            if subset is not None:
                frame = frame[frame["metric"].isin(subset)]
            frames.append(frame)
            key = result.settings.get("metric", section.name)
            settings.setdefault("settings", {})[key] = jsonable(result.settings)
    rows = [r for f in frames for r in f.to_dict("records")]
    return tidy_frame(rows, attrs={**settings, "versions": library_versions()})
