"""Score many models: one task per model on a scheduler, with a cache.

A *model* (:mod:`lps_eval.models`: an array, an array file or a trainer run directory) is
the unit of work. :func:`score_many` scores every model with :func:`lps_eval.score` and
stacks the tables, with a ``model`` column first and ``status`` / ``error`` columns last,
in the order the models were given, whatever the scheduler
(:mod:`lps_eval.schedulers`). :func:`lps_eval.compare` runs on the same tasks.

Numbers do not depend on the scheduler: every model is scored by the same function from
the same seed, and every result passes through the same plain-record form (the one the
cache stores), so a serial run, a cluster run and a cached rerun give identical tables.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lps_eval._validation import LpsInputError
from lps_eval.models import (
    CONFIG_FILE,
    LATENTS_FILE,
    ModelInput,
    ModelSpec,
    expand_models,
    read_model,
)
from lps_eval.results import MetricResult, jsonable, library_versions, tidy_frame
from lps_eval.schedulers import (
    canonical_settings,
    content_hash,
    map_models,
    settings_key,
)

__all__ = [
    "ModelTask",
    "error_payload",
    "model_tasks",
    "recorded_settings",
    "run_model_tasks",
    "score_many",
    "score_model",
    "shared_factors",
    "stack_payloads",
    "table_payload",
]


@dataclass(frozen=True)
class ModelTask:
    """One model's work, as it travels to a worker (picklable).

    Attributes
    ----------
    spec : ModelSpec
        The model (read on the worker).
    score_kwargs : dict
        Keyword arguments of :func:`lps_eval.score`. ``prior=None`` means the model's own
        prior (a run directory's), else ``"gaussian"``; ``factors=None`` the model's own
        factors, when it has them.
    key : str, optional
        Array name inside ``.npz`` / ``.pt`` files.
    cores : int, optional
        Cores one model may use (1 when models run side by side; None: all).
    extra : dict
        Settings of the caller's own per-model work (e.g. :func:`lps_eval.compare`'s
        resampling); part of the cache key.
    """

    spec: ModelSpec
    score_kwargs: dict[str, Any]
    key: str | None = None
    cores: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def model_tasks(
    specs: Sequence[ModelSpec],
    score_kwargs: Mapping[str, Any],
    *,
    scheduler: Any = None,
    key: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> list[ModelTask]:
    """One :class:`ModelTask` per model; several models at once fit on one core each."""
    cores = None if scheduler in (None, "serial") or len(specs) < 2 else 1
    return [ModelTask(s, dict(score_kwargs), key, cores, dict(extra or {})) for s in specs]


def score_model(
    task: ModelTask, on_result: Callable[[MetricResult], None] | None = None
) -> tuple[pd.DataFrame, ModelInput]:
    """Read the task's model and score it: the tidy table and the model as read."""
    from lps_eval.predictors.sklearn_models import cores_per_model
    from lps_eval.scoring._score import score

    model = read_model(task.spec, key=task.key)
    kwargs = dict(task.score_kwargs)
    prior = kwargs.pop("prior", None)
    factors = kwargs.pop("factors", None)
    factor_names = kwargs.pop("factor_names", None)
    if factors is None and model.factors is not None:
        factors, factor_names = model.factors, model.factor_names
    with cores_per_model(task.cores):  # parallel sweeps: models are the unit of work
        table = score(
            model.z,
            prior=prior if prior is not None else (model.prior or "gaussian"),
            factors=factors,
            factor_names=factor_names,
            on_result=on_result,
            **kwargs,
        )
    return table, model


def table_payload(table: pd.DataFrame, **extra: Any) -> dict[str, Any]:
    """A score table as plain records (the form results travel and are cached in)."""
    rows = [
        {k: (None if v is pd.NA else _plain(v)) for k, v in row.items()}
        for row in table.astype(object).to_dict("records")
    ]
    return {
        "status": "ok",
        "error": None,
        "rows": rows,
        "attrs": jsonable(dict(table.attrs)),
        **extra,
    }


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def error_payload(exc: BaseException) -> dict[str, Any]:
    """The payload of a model that could not be scored: ``status="error"`` and why.

    Input errors say what is wrong; an unexpected exception also says where it was raised.
    """
    where = ""
    if not isinstance(exc, (LpsInputError, OSError, MemoryError)):
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" (at {Path(last[0].filename).name}:{last[0].lineno})" if last else ""
    return {
        "status": "error",
        "error": f"{type(exc).__name__}: {exc}{where}",
        "rows": [],
        "attrs": {},
    }


def _score_one(task: ModelTask) -> dict[str, Any]:
    """Worker function: one model's table as a payload (never raises).

    Module-level so that process pools and Dask workers can pickle it.
    """
    try:
        table, _ = score_model(task)
        return table_payload(table)
    except Exception as exc:  # one bad model never stops the sweep: its row says why
        return error_payload(exc)


def _content(spec: ModelSpec) -> str:
    """What defines a model's numbers: its latents (and a run's config), hashed."""
    if not spec.is_path:
        source = spec.source.z if isinstance(spec.source, ModelInput) else spec.source
        return content_hash(source)
    path = Path(spec.source)
    if path.is_dir():
        parts = [content_hash(path / LATENTS_FILE)]
        if (path / CONFIG_FILE).is_file():
            parts.append(content_hash(path / CONFIG_FILE))
        return "+".join(parts)
    return content_hash(path)


def _cache_key(task: ModelTask) -> str | None:
    spec = task.spec
    if spec.is_path and not Path(spec.source).exists():
        return None  # a missing file is an error row, never cached
    settings = {**task.score_kwargs, "key": task.key, "extra": task.extra}
    if settings.get("factors") is not None:
        settings["factors"] = content_hash(settings["factors"])
    return settings_key(_content(spec), settings)


def run_model_tasks(
    worker: Callable[[ModelTask], dict[str, Any]],
    tasks: Sequence[ModelTask],
    *,
    scheduler: Any = None,
    cache: str | os.PathLike | None = None,
    progress: bool = False,
) -> tuple[list[dict[str, Any]], int]:
    """Run ``worker`` on every task (see :func:`lps_eval.schedulers.map_models`).

    Returns
    -------
    (payloads, n_cached)
        One payload per task, in task order, and how many came from the cache.
    """
    hits = [0]

    def report(i: int, result: Any, cached: bool) -> None:
        hits[0] += cached
        if progress:
            state = "cached" if cached else result["status"]
            print(f"lps-eval: {tasks[i].spec.name}: {state}", file=sys.stderr)

    payloads = map_models(
        worker,
        tasks,
        scheduler=scheduler,
        cache_key=_cache_key if cache is not None else None,
        cache=cache,
        on_result=report,
    )
    return payloads, hits[0]


def _frame(name: str, payload: Mapping[str, Any]) -> pd.DataFrame:
    if payload["status"] == "ok":
        frame = tidy_frame(payload["rows"])
    else:
        frame = tidy_frame([{"metric": "", "scope": ""}])
        frame.loc[:, ["metric", "scope"]] = pd.NA
    frame.insert(0, "model", name)
    frame["status"] = payload["status"]
    frame["error"] = payload["error"]
    return frame


def stack_payloads(names: Sequence[str], payloads: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The models' tables stacked in order: ``model`` first, ``status`` / ``error`` last."""
    frames = [_frame(name, p) for name, p in zip(names, payloads, strict=True)]
    table = pd.concat(frames, ignore_index=True)
    for col in ("dim", "factor", "source_dim"):
        if col in table.columns:
            table[col] = table[col].astype("Int64")
    front = ["model", *[c for c in table.columns if c not in ("model", "status", "error")]]
    return table[[*front, "status", "error"]]


def shared_factors(score_kwargs: dict[str, Any]) -> dict[str, Any]:
    """``score_kwargs`` with a factors *file* read once, here (its names kept)."""
    factors = score_kwargs.get("factors")
    if not isinstance(factors, (str, os.PathLike)):
        return score_kwargs
    from lps_eval.io import load_factors

    values, names = load_factors(factors)
    out = {**score_kwargs, "factors": values}
    out.setdefault("factor_names", names)
    return out


def recorded_settings(settings: Mapping[str, Any]) -> Any:
    """Shared settings as recorded in ``attrs`` (objects without a stable text by repr)."""
    try:
        return jsonable(canonical_settings(settings))
    except LpsInputError:
        return {k: repr(v) for k, v in settings.items()}


def score_many(
    inputs: Any,
    *,
    scheduler: Any = None,
    cache: str | os.PathLike | None = None,
    key: str | None = None,
    names: Sequence[str] | None = None,
    progress: bool = False,
    **score_kwargs: Any,
) -> pd.DataFrame:
    """Score many models (files, run directories, glob patterns or arrays).

    Parameters
    ----------
    inputs : path, pattern, array, or a sequence / mapping of them
        Models to score; see :func:`lps_eval.models.expand_models`. Each is read where it
        is scored (on the worker), ``.npy`` files memory-mapped. A run directory brings its
        own prior and factors unless ``prior`` / ``factors`` are given.
    scheduler : str, dask Client or None
        ``None``/``"serial"``, ``"threads[:N]"``, ``"processes[:N]"``, ``"local:N"``
        (a Dask LocalCluster of N worker processes) or ``"tcp://HOST:PORT"``; see
        :mod:`lps_eval.schedulers`.
    cache : path, optional
        Folder of per-model results keyed by the content hash (SHA-256) of the model,
        the settings and the lps-eval version.
    key : str, optional
        Array name inside ``.npz`` / ``.pt`` files.
    names : sequence of str, optional
        Model names (default: :func:`lps_eval.models.default_names`).
    progress : bool, default False
        One line per finished model on stderr.
    **score_kwargs
        Passed to :func:`lps_eval.score` for every model (``seed``, ``metrics``,
        ``prior``, ``factors``, options).

    Returns
    -------
    pandas.DataFrame
        The tidy tables of all models stacked in input order: ``model`` first, then the
        tidy columns, then ``status`` (``ok`` / ``error``) and ``error`` (the message).
        ``attrs["models"]`` maps each model to its settings (``score``'s ``attrs``);
        ``attrs["sweep"]`` records the scheduler, cache hits and the shared settings.

    Examples
    --------
    >>> import numpy as np, lps_eval
    >>> rng = np.random.default_rng(0)
    >>> zs = {"a": rng.normal(size=(500, 3)), "b": rng.normal(size=(500, 3))}
    >>> t = lps_eval.score_many(zs, metrics=["lps"], predictor="linear", lps={"n_boot": 0})
    >>> t.query("metric == 'lps' and scope == 'overall'")[["model", "status"]].values.tolist()
    [['a', 'ok'], ['b', 'ok']]
    """
    specs = expand_models(inputs, names=names)
    kwargs = shared_factors({"seed": 0, "prior": None, **score_kwargs})
    tasks = model_tasks(specs, kwargs, scheduler=scheduler, key=key)
    payloads, n_cached = run_model_tasks(
        _score_one, tasks, scheduler=scheduler, cache=cache, progress=progress
    )
    table = stack_payloads([s.name for s in specs], payloads)
    shared = {k: v for k, v in kwargs.items() if k != "factors"}
    table.attrs = {
        "sweep": {
            "n_models": len(specs),
            "n_failed": sum(p["status"] != "ok" for p in payloads),
            "n_cached": n_cached,
            "scheduler": scheduler if scheduler is None or isinstance(scheduler, str) else "client",
            "cache": None if cache is None else os.fspath(cache),
            "settings": recorded_settings(shared),
        },
        "models": {s.name: p["attrs"] for s, p in zip(specs, payloads, strict=True)},
        "versions": library_versions(),
    }
    return table
