"""Score many models: sweeps over files, on all cores or on a Dask cluster, with a cache.

A *model* (one latent file or array) is the unit of work. :func:`score_many` scores every
model with :func:`lps_eval.score` and stacks the tables, with a ``model`` column first and
``status`` / ``error`` columns last, in the order the inputs were given, whatever the
scheduler. :func:`map_models` is the generic engine underneath (any per-model function).

Schedulers (``scheduler=``):

- ``None`` or ``"serial"``: one model after the other, in this process;
- ``"threads"`` / ``"threads:N"``: a thread pool (N threads, default: all cores);
- ``"processes"`` / ``"processes:N"``: a process pool (a script that uses it needs the
  ``if __name__ == "__main__":`` guard, as for any :mod:`multiprocessing` program);
- ``"local:N"``: a ``dask.distributed.LocalCluster`` of N single-threaded worker processes;
- ``"tcp://HOST:PORT"``: an existing Dask scheduler (its workers need lps-eval installed
  and must see the files);
- a ``dask.distributed.Client``: used as is (not closed).

Numbers do not depend on the scheduler: every model is scored by the same function from
the same seed, and every result passes through the same plain-record form (the one the
cache stores), so a serial run, a cluster run and a cached rerun give identical tables.

The cache (``cache=DIR``) holds one JSON file per model, named by the SHA-256 of the
model's content hash (SHA-256 of the file, streamed), the full settings and the lps-eval
version; files are written atomically (temporary file + rename) as results arrive, so a
rerun scores only new or changed models and an interrupted sweep resumes where it
stopped. Failed models are never cached: a rerun tries them again.
"""

from __future__ import annotations

import contextlib
import glob as _glob
import hashlib
import json
import os
import tempfile
import traceback
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lps_eval._validation import LpsInputError
from lps_eval.results import jsonable, library_versions, tidy_frame

__all__ = [
    "SCHEDULER_CHOICES",
    "ModelItem",
    "expand_inputs",
    "file_sha256",
    "map_models",
    "scheduler_kind",
    "score_many",
    "settings_key",
]

#: Bytes read at a time when hashing a file (memory stays flat at any file size).
HASH_CHUNK = 1 << 22


@dataclass(frozen=True)
class ModelItem:
    """One unit of work: a display name and the thing to score (a path or an array)."""

    name: str
    source: Any


def expand_inputs(inputs: Any) -> list[ModelItem]:
    """Models from paths, glob patterns, arrays, or a mapping ``name -> path or array``.

    Glob patterns (``*``, ``?``, ``[``) expand to their matches in sorted order; a
    pattern that matches nothing is an error (a typo must not give an empty sweep).
    A plain path that does not exist is kept: it becomes an ``error`` row of the sweep.
    Arrays are named ``array[i]`` by position.
    """
    if isinstance(inputs, Mapping):
        return [ModelItem(str(k), v) for k, v in inputs.items()]
    if isinstance(inputs, (str, os.PathLike)) or hasattr(inputs, "shape"):
        inputs = [inputs]
    items: list[ModelItem] = []
    for i, entry in enumerate(inputs):
        if isinstance(entry, (str, os.PathLike)):
            text = os.fspath(entry)
            if _glob.has_magic(text):
                matches = sorted(_glob.glob(text, recursive=True))
                if not matches:
                    raise LpsInputError(f"pattern {text!r} matches no file; check the path")
                items += [ModelItem(m, Path(m)) for m in matches]
            else:
                items.append(ModelItem(text, Path(text)))
        else:
            items.append(ModelItem(f"array[{i}]", entry))
    if not items:
        raise LpsInputError("no models to score; pass at least one file, pattern or array")
    names = [item.name for item in items]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise LpsInputError(f"model(s) listed twice: {', '.join(duplicates[:5])}; list each once")
    return items


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in chunks of :data:`HASH_CHUNK`."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _array_sha256(array: Any) -> str:
    """SHA-256 of an in-memory (or memory-mapped / dask) array's shape, dtype and values."""
    digest = hashlib.sha256()
    digest.update(repr((tuple(array.shape), str(array.dtype))).encode())
    step = max(1, HASH_CHUNK // max(1, int(np.prod(array.shape[1:], dtype=np.int64)) * 8))
    for start in range(0, int(array.shape[0]), step):
        block = np.ascontiguousarray(np.asarray(array[start : start + step]))
        digest.update(block.tobytes())
    return digest.hexdigest()


def content_hash(source: Any) -> str:
    """Content hash of a model: of the file's bytes for a path, of the values for an array."""
    if isinstance(source, (str, os.PathLike)):
        return "file:" + file_sha256(source)
    return "array:" + _array_sha256(source)


def settings_key(content: str, settings: Mapping[str, Any]) -> str:
    """Cache key: SHA-256 of the content hash, the settings (canonical JSON) and the version.

    Raises
    ------
    LpsInputError
        A setting has no stable text form (e.g. a Python object without a value-based
        ``repr``), so equal settings could not be recognised.
    """
    from lps_eval._version import __version__

    canonical = _canonical(settings)
    text = json.dumps(
        {"content": content, "settings": canonical, "lps_eval": __version__},
        sort_keys=True,
        allow_nan=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    text = repr(value)
    if " at 0x" in text:
        raise LpsInputError(
            f"cannot cache with the setting {text[:80]}: it has no stable text form; "
            "pass it as a spec string (e.g. prior='gaussian(0, 2)') or run without cache"
        )
    return f"{type(value).__name__}:{text}"


# ------------------------------------------------------------------------------ schedulers


def _failure(exc: BaseException) -> dict[str, Any]:
    """The result of an item whose task raised (or whose worker kept dying)."""
    return {"status": "error", "error": f"{type(exc).__name__}: {exc}", "rows": [], "attrs": {}}


class _Serial:
    def map_unordered(self, func, payloads):
        for index, payload in enumerate(payloads):
            try:
                result = func(payload)
            except Exception as exc:
                result = _failure(exc)
            yield index, result

    def close(self):
        pass


class _Pool:
    def __init__(self, kind: str, workers: int | None) -> None:
        count = workers or os.cpu_count() or 1
        if kind == "threads":
            self.pool: Any = ThreadPoolExecutor(max_workers=count)
        else:  # forkserver: forking a process that runs threads (BLAS, OpenMP) can deadlock
            import multiprocessing

            context = multiprocessing.get_context("forkserver")
            self.pool = ProcessPoolExecutor(count, mp_context=context)

    def map_unordered(self, func, payloads):
        futures = {self.pool.submit(func, p): i for i, p in enumerate(payloads)}
        for future in as_completed(futures):
            try:
                result = future.result()
            except Exception as exc:  # incl. BrokenProcessPool: a worker process died
                result = _failure(exc)
            yield futures[future], result

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Dask:
    def __init__(self, client: Any, cluster: Any = None, own: bool = False) -> None:
        self.client, self.cluster, self.own = client, cluster, own

    def map_unordered(self, func, payloads):
        from distributed import as_completed as dask_completed

        # pure=False: every model is its own task even if two payloads look alike; a
        # task whose worker dies is rerun elsewhere by the scheduler (allowed-failures).
        futures = self.client.map(func, list(payloads), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        try:
            for future in dask_completed(futures):
                try:
                    result = future.result()
                except Exception as exc:  # e.g. KilledWorker: the model killed every worker
                    result = _failure(exc)
                yield index[future.key], result
                future.release()
        except BaseException:
            # Ctrl-C or an error while waiting: queued tasks must not start later on a
            # cluster this process does not own (a running task cannot be stopped)
            with contextlib.suppress(Exception):  # a client already gone has nothing left
                self.client.cancel(futures)
            raise

    def close(self):
        if self.own:
            self.client.close()
            if self.cluster is not None:
                self.cluster.close()


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise LpsInputError(
            "this scheduler needs dask.distributed: pip install 'lps-eval[dask]'"
        ) from None
    return distributed


#: The values ``scheduler=`` / ``--scheduler`` accept, for help texts.
SCHEDULER_CHOICES = "serial, threads[:N], processes[:N], local:N (Dask) or tcp://HOST:PORT"

_SCHEDULER_HELP = (
    "use serial, threads[:N], processes[:N], local:N (a Dask LocalCluster) or "
    "tcp://HOST:PORT (an existing Dask scheduler)"
)
_ADDRESS_PREFIXES = ("tcp://", "tls://", "ws://", "wss://", "inproc://")


def _parse_scheduler(scheduler: Any) -> tuple[str, int | None]:
    """``(kind, workers)`` with kind one of serial, threads, processes, local, address, client."""
    if scheduler is None or scheduler == "serial":
        return "serial", None
    if not isinstance(scheduler, str):
        if type(scheduler).__name__ == "Client" and hasattr(scheduler, "map"):
            return "client", None
        raise LpsInputError(f"unknown scheduler {scheduler!r}; {_SCHEDULER_HELP}")
    kind, _, count = scheduler.partition(":")
    if kind in ("threads", "processes", "local"):
        workers = None
        if count:
            if not count.isdigit() or int(count) < 1:
                raise LpsInputError(
                    f"scheduler {scheduler!r}: the worker count must be a positive integer"
                )
            workers = int(count)
        return kind, workers
    if scheduler.startswith(_ADDRESS_PREFIXES):
        return "address", None
    raise LpsInputError(f"unknown scheduler {scheduler!r}; {_SCHEDULER_HELP}")


def scheduler_kind(scheduler: Any) -> str:
    """Check a ``scheduler`` argument without starting anything; its kind.

    Parameters
    ----------
    scheduler : str, dask Client or None
        See the module docstring.

    Returns
    -------
    str
        ``"serial"``, ``"threads"``, ``"processes"`` or ``"dask"`` (``local:N``, an
        address or a Client).

    Raises
    ------
    LpsInputError
        An unknown scheduler or a worker count that is not a positive integer (the same
        one-line message :func:`map_models` gives).
    """
    kind, _ = _parse_scheduler(scheduler)
    return "dask" if kind in ("local", "address", "client") else kind


def _make_scheduler(scheduler: Any):
    """A runner for the ``scheduler`` argument (see the module docstring)."""
    kind, workers = _parse_scheduler(scheduler)
    if kind == "serial":
        return _Serial()
    if kind == "client":
        return _Dask(scheduler)
    if kind in ("threads", "processes"):
        return _Pool(kind, workers)
    distributed = _import_distributed()
    if kind == "local":
        cluster = distributed.LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
        return _Dask(distributed.Client(cluster), cluster, own=True)
    try:
        client = distributed.Client(scheduler, timeout="30s")
    except OSError as exc:
        raise LpsInputError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    return _Dask(client, own=True)


# ------------------------------------------------------------------------------ the engine


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows: readers see old or new, never half
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _read_cache(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)["result"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # missing or unreadable entry: recompute (and overwrite it)


def map_models(
    func: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    scheduler: Any = None,
    cache_key: Callable[[Any], str | None] | None = None,
    cache: str | os.PathLike | None = None,
    on_result: Callable[[int, Any, bool], None] | None = None,
) -> list[Any]:
    """Apply ``func`` to every item on a scheduler; results in the order of ``items``.

    Parameters
    ----------
    func : callable
        ``func(item) -> result``. For ``processes`` and Dask schedulers it must be
        picklable (a module-level function) and its result JSON-serialisable when a cache
        is used (Python floats round-trip exactly through JSON).
    items : sequence
        The units of work (models).
    scheduler : str, Client or None
        See the module docstring.
    cache_key : callable, optional
        ``cache_key(item) -> str or None``: the key of an item's result (None: do not
        cache this item). Needed with ``cache``.
    cache : path, optional
        Folder of cached results, one ``KEY.json`` per item, written atomically as soon
        as each result arrives.
    on_result : callable, optional
        ``on_result(index, result, cached)`` called as each result arrives (progress).

    Returns
    -------
    list
        ``[func(item) for item in items]``, computed once per item that is not cached.

    Notes
    -----
    A result is cached only if it is "ok": when it is a dict with ``status != "ok"`` it
    is returned but not stored, so a failed model is retried by the next run. When
    ``func`` raises for an item (or, on Dask, the item's task killed its workers more
    than ``distributed.scheduler.allowed-failures`` times), that item's result is
    ``{"status": "error", "error": "Type: message", "rows": [], "attrs": {}}`` and the
    other items go on.
    """
    items = list(items)
    if cache is not None and cache_key is None:
        raise LpsInputError("map_models: cache= needs cache_key= (the key of each item)")
    results: list[Any] = [None] * len(items)
    done = [False] * len(items)
    keys: list[str | None] = [None] * len(items)
    folder = None if cache is None else Path(cache)
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for i, item in enumerate(items):
            keys[i] = cache_key(item)
            if keys[i] is None:
                continue
            hit = _read_cache(folder / f"{keys[i]}.json")
            if hit is not None:
                results[i], done[i] = hit, True
                if on_result is not None:
                    on_result(i, hit, True)
    todo = [i for i in range(len(items)) if not done[i]]
    if not todo:
        return results
    runner = _make_scheduler(scheduler)
    try:
        for position, result in runner.map_unordered(func, [items[i] for i in todo]):
            i = todo[position]
            if done[i]:  # never count a result twice (e.g. a task rerun after a worker died)
                continue
            results[i], done[i] = result, True
            ok = not (isinstance(result, dict) and result.get("status", "ok") != "ok")
            if folder is not None and keys[i] is not None and ok:
                _atomic_write(
                    folder / f"{keys[i]}.json",
                    json.dumps({"key": keys[i], "result": result}, allow_nan=True),
                )
            if on_result is not None:
                on_result(i, result, False)
    finally:
        runner.close()
    return results


# ------------------------------------------------------------------------------ score_many


def _payload(table: pd.DataFrame) -> dict[str, Any]:
    """A score table as plain records (the form results travel and are cached in)."""
    rows = []
    for row in table.astype(object).to_dict("records"):
        rows.append({k: (None if v is pd.NA else _plain(v)) for k, v in row.items()})
    return {"status": "ok", "error": None, "rows": rows, "attrs": jsonable(dict(table.attrs))}


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _score_one(task: tuple[str, Any, dict[str, Any], int | None]) -> dict[str, Any]:
    """Worker function: load one model, score it, return the plain-record payload.

    Any failure becomes ``{"status": "error", "error": "..."}`` so one bad model never
    stops the sweep. Module-level so that process pools and Dask workers can pickle it.
    """
    _name, source, kwargs, cores = task
    try:
        from lps_eval.predictors.sklearn_models import cores_per_model
        from lps_eval.scoring import score

        kwargs = dict(kwargs)
        key = kwargs.pop("key", None)
        if isinstance(source, (str, os.PathLike)):
            from lps_eval.io import load_array

            z = load_array(source, key=key)
        else:
            z = source
        with cores_per_model(cores):  # parallel sweeps: models are the unit of work
            return _payload(score(z, **kwargs))
    except (LpsInputError, OSError, MemoryError) as exc:
        return {"status": "error", "error": f"{type(exc).__name__}: {exc}", "rows": [], "attrs": {}}
    except Exception as exc:  # an unexpected failure of one model: report it, keep going
        last = traceback.extract_tb(exc.__traceback__)[-1:]
        where = f" (at {Path(last[0].filename).name}:{last[0].lineno})" if last else ""
        return {
            "status": "error",
            "error": f"{type(exc).__name__}: {exc}{where}",
            "rows": [],
            "attrs": {},
        }


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


def score_many(
    inputs: Any,
    *,
    scheduler: Any = None,
    cache: str | os.PathLike | None = None,
    key: str | None = None,
    progress: bool = False,
    **score_kwargs: Any,
) -> pd.DataFrame:
    """Score many models (files, glob patterns or arrays) with :func:`lps_eval.score`.

    Parameters
    ----------
    inputs : path, pattern, array, or a sequence / mapping of them
        Models to score; see :func:`expand_inputs`. Each is loaded where it is scored
        (on the worker), ``.npy`` files memory-mapped.
    scheduler : str, dask Client or None
        ``None``/``"serial"``, ``"threads[:N]"``, ``"processes[:N]"``, ``"local:N"``
        (a Dask LocalCluster of N worker processes) or ``"tcp://HOST:PORT"``.
    cache : path, optional
        Folder of per-model results keyed by the content hash (SHA-256) of the model,
        the settings and the lps-eval version; see :func:`map_models`.
    key : str, optional
        Array name inside ``.npz`` / ``.pt`` files.
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
    items = expand_inputs(inputs)
    kwargs = dict(score_kwargs)
    kwargs.setdefault("seed", 0)
    if key is not None:
        kwargs["key"] = key
    factors = kwargs.get("factors")
    if isinstance(factors, (str, os.PathLike)):
        from lps_eval.io import load_factors

        fac, names = load_factors(factors)
        kwargs["factors"] = fac
        kwargs.setdefault("factor_names", names)
    # several models at once: each fits its dimensions on one core (same numbers)
    cores = None if scheduler in (None, "serial") or len(items) < 2 else 1
    tasks = [(item.name, item.source, kwargs, cores) for item in items]

    def cache_key(task: tuple[str, Any, dict[str, Any], int | None]) -> str | None:
        _, source, opts, _cores = task
        if isinstance(source, (str, os.PathLike)) and not Path(source).is_file():
            return None  # a missing file is an error row, never cached
        settings = dict(opts)
        if settings.get("factors") is not None:
            settings["factors"] = content_hash(settings["factors"])
        return settings_key(content_hash(source), settings)

    hits = [0]

    def report(i: int, result: Any, cached: bool) -> None:
        hits[0] += cached
        if progress:
            import sys

            state = "cached" if cached else result["status"]
            print(f"lps-eval: {items[i].name}: {state}", file=sys.stderr)

    results = map_models(
        _score_one,
        tasks,
        scheduler=scheduler,
        cache_key=cache_key if cache is not None else None,
        cache=cache,
        on_result=report,
    )
    frames = [_frame(item.name, result) for item, result in zip(items, results, strict=True)]
    table = pd.concat(frames, ignore_index=True)
    for col in ("dim", "factor", "source_dim"):
        if col in table.columns:
            table[col] = table[col].astype("Int64")
    front = ["model", *[c for c in table.columns if c not in ("model", "status", "error")]]
    table = table[[*front, "status", "error"]]
    shared = {k: v for k, v in kwargs.items() if k not in ("factors",)}
    table.attrs = {
        "sweep": {
            "n_models": len(items),
            "n_failed": sum(r["status"] != "ok" for r in results),
            "n_cached": hits[0],
            "scheduler": scheduler if scheduler is None or isinstance(scheduler, str) else "client",
            "cache": None if cache is None else os.fspath(cache),
            "settings": jsonable(_canonical_safe(shared)),
        },
        "models": {item.name: r["attrs"] for item, r in zip(items, results, strict=True)},
        "versions": library_versions(),
    }
    return table


def _canonical_safe(settings: Mapping[str, Any]) -> Any:
    try:
        return _canonical(settings)
    except LpsInputError:
        return {k: repr(v) for k, v in settings.items()}
