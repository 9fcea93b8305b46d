"""Map a function over many items on a scheduler, with a result cache: the sweep engine.

:func:`map_models` applies a per-item function (score one model, train one run) to every
item, on the scheduler the user picked, and returns the results in the order of the
items, whatever order they finished in. Scoring sweeps (:func:`lps_eval.score_many`),
comparisons (:func:`lps_eval.compare`) and training grids (:func:`lps_eval.train.run_grid`)
all run on it.

Schedulers (``scheduler=``):

- ``None`` or ``"serial"``: one item after the other, in this process;
- ``"threads"`` / ``"threads:N"``: a thread pool (N threads, default: all cores);
- ``"processes"`` / ``"processes:N"``: a process pool (a script that uses it needs the
  ``if __name__ == "__main__":`` guard, as for any :mod:`multiprocessing` program);
- ``"local:N"``: a ``dask.distributed.LocalCluster`` of N single-threaded worker processes;
- ``"tcp://HOST:PORT"``: an existing Dask scheduler (its workers need lps-eval installed
  and must see the files);
- a ``dask.distributed.Client``: used as is (not closed).

The cache (``cache=DIR``) holds one JSON file per item, named by a key the caller derives
(:func:`settings_key`: the SHA-256 of the item's content hash, the full settings and the
lps-eval version); files are written atomically (temporary file + rename) as results
arrive, so a rerun computes only new or changed items and an interrupted run resumes where
it stopped. Failed items are never cached: a rerun tries them again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError

__all__ = [
    "SCHEDULER_CHOICES",
    "array_sha256",
    "canonical_settings",
    "content_hash",
    "failure",
    "file_sha256",
    "map_models",
    "scheduler_kind",
    "settings_key",
]

#: Bytes read at a time when hashing a file (memory stays flat at any file size).
HASH_CHUNK = 1 << 22


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes, read in chunks of :data:`HASH_CHUNK`."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def array_sha256(array: Any) -> str:
    """SHA-256 of an in-memory (or memory-mapped / dask) array's shape, dtype and values."""
    digest = hashlib.sha256()
    digest.update(repr((tuple(array.shape), str(array.dtype))).encode())
    step = max(1, HASH_CHUNK // max(1, int(np.prod(array.shape[1:], dtype=np.int64)) * 8))
    for start in range(0, int(array.shape[0]), step):
        block = np.ascontiguousarray(np.asarray(array[start : start + step]))
        digest.update(block.tobytes())
    return digest.hexdigest()


def content_hash(source: Any) -> str:
    """Content hash of an item: of a file's bytes, of a folder's files (names and bytes,
    in sorted order), or of an array's shape, dtype and values."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if path.is_dir():
            digest = hashlib.sha256()
            for child in sorted(p for p in path.iterdir() if p.is_file()):
                digest.update(f"{child.name}:{file_sha256(child)};".encode())
            return "dir:" + digest.hexdigest()
        return "file:" + file_sha256(path)
    return "array:" + array_sha256(source)


def settings_key(content: str, settings: Mapping[str, Any]) -> str:
    """Cache key: SHA-256 of the content hash, the settings (canonical JSON) and the version.

    Raises
    ------
    LpsInputError
        A setting has no stable text form (e.g. a Python object without a value-based
        ``repr``), so equal settings could not be recognised.
    """
    from lps_eval._version import __version__

    canonical = canonical_settings(settings)
    text = json.dumps(
        {"content": content, "settings": canonical, "lps_eval": __version__},
        sort_keys=True,
        allow_nan=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()


def canonical_settings(value: Any) -> Any:
    """Settings as plain JSON values in a fixed key order (the form cache keys hash)."""
    if isinstance(value, Mapping):
        return {
            str(k): canonical_settings(v)
            for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
        }
    if isinstance(value, (list, tuple)):
        return [canonical_settings(v) for v in value]
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


def failure(exc: BaseException) -> dict[str, Any]:
    """The result of an item whose task raised (or whose worker kept dying)."""
    return {"status": "error", "error": f"{type(exc).__name__}: {exc}", "rows": [], "attrs": {}}


class _Serial:
    def map_unordered(self, func, payloads):
        for index, payload in enumerate(payloads):
            try:
                result = func(payload)
            except Exception as exc:
                result = failure(exc)
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
                result = failure(exc)
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
                    result = failure(exc)
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
