"""Sweeps: many models on a real Dask LocalCluster give the serial numbers, once each.

No mocks: the cluster is a ``dask.distributed.LocalCluster`` with 2 worker processes;
the worker-death tests really kill a worker process (``os._exit`` inside it).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lps_eval
from lps_eval import LpsInputError
from lps_eval.models import expand_models
from lps_eval.schedulers import file_sha256, map_models
from lps_eval.scoring import score_many

distributed = pytest.importorskip("distributed")

#: Small and fast settings: the point is equality across schedulers, not the values.
FAST = {
    "lps": {"n_boot": 20, "max_samples": 300},
    "mmd": {"permutations": 20},
    "independence": {"permutations": 20},
}


def _write_models(folder: Path, count: int = 6) -> list[Path]:
    paths = []
    for i in range(count):
        rng = np.random.default_rng(100 + i)
        x = rng.normal(size=(300, 3))
        x[:, 1] += 0.3 * i * x[:, 0]  # models differ in dependence
        path = folder / f"model_{i}.npy"
        np.save(path, x.astype(np.float32))
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def client():
    # Two single-threaded worker processes, as on a small shared machine.
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    dask_client = distributed.Client(cluster)
    yield dask_client
    dask_client.close()
    cluster.close()


def test_cluster_sweep_equals_serial_exactly(tmp_path, client):
    paths = _write_models(tmp_path)
    serial = score_many(str(tmp_path / "model_*.npy"), **FAST)
    clustered = score_many(str(tmp_path / "model_*.npy"), scheduler=client, **FAST)
    pd.testing.assert_frame_equal(serial, clustered, check_exact=True)
    assert serial["model"].unique().tolist() == [p.stem for p in paths]
    assert (serial["status"] == "ok").all()
    # each model's block equals a plain score() of that file
    one = lps_eval.score(np.load(paths[3]), **FAST)
    block = serial[serial["model"] == paths[3].stem].drop(columns=["model", "status", "error"])
    np.testing.assert_array_equal(block["value"].to_numpy(), one["value"].to_numpy())


def test_threads_processes_and_own_local_cluster_equal_serial(tmp_path):
    _write_models(tmp_path, count=3)
    pattern = str(tmp_path / "model_*.npy")
    serial = score_many(pattern, **FAST)
    for scheduler in ("threads:2", "processes:2", "local:1"):
        other = score_many(pattern, scheduler=scheduler, **FAST)
        pd.testing.assert_frame_equal(serial, other, check_exact=True)


def _die_once(item):
    """Kill the worker process the first time an item runs (a worker lost mid-task)."""
    folder, index = item
    marker = Path(folder) / f"started_{index}"
    if index == 2 and not marker.exists():
        marker.write_text("x")
        os._exit(1)  # no cleanup, no exception: the process is gone
    with open(Path(folder) / f"ran_{index}_{time.monotonic_ns()}", "w"):
        pass
    return {"status": "ok", "index": index, "square": index * index}


def test_killed_worker_loses_and_duplicates_nothing(tmp_path, client):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests
    items = [(str(tmp_path), i) for i in range(6)]
    results = map_models(_die_once, items, scheduler=client)
    assert (tmp_path / "started_2").exists()  # the worker really died once
    assert [r["index"] for r in results] == list(range(6))
    assert [r["square"] for r in results] == [i * i for i in range(6)]
    runs = sorted(p.name.split("_")[1] for p in tmp_path.glob("ran_*"))
    assert runs.count("2") == 1  # the killed task finished exactly once, on a new attempt
    assert len(runs) >= 6
    # the cluster is whole again for the next test
    client.wait_for_workers(2, timeout=60)


def test_worker_killed_during_score_sweep(tmp_path, client):
    _write_models(tmp_path)
    pattern = str(tmp_path / "model_*.npy")
    serial = score_many(pattern, **FAST)
    client.wait_for_workers(2, timeout=60)
    import signal
    import threading

    pids = client.run(os.getpid)  # worker address -> process id
    killed = []

    def killer():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not killed:
            busy = [w for w, keys in client.processing().items() if keys]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)  # the worker process dies mid-task
                killed.append(busy[0])
            time.sleep(0.01)

    thread = threading.Thread(target=killer)
    thread.start()
    clustered = score_many(pattern, scheduler=client, **FAST)
    thread.join()
    assert killed, "no worker was busy, so none was killed"
    pd.testing.assert_frame_equal(serial, clustered, check_exact=True)
    client.wait_for_workers(2, timeout=60)


def test_cache_hit_miss_and_resume(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    paths = _write_models(models, count=3)
    cache = tmp_path / "cache"
    pattern = str(models / "model_*.npy")
    first = score_many(pattern, cache=cache, **FAST)
    assert first.attrs["sweep"]["n_cached"] == 0
    assert len(list(cache.glob("*.json"))) == 3
    again = score_many(pattern, cache=cache, **FAST)
    assert again.attrs["sweep"]["n_cached"] == 3
    pd.testing.assert_frame_equal(first, again, check_exact=True)

    # a changed model is rescored; other settings are a different key
    np.save(paths[1], np.load(paths[1]) * 2.0)
    changed = score_many(pattern, cache=cache, **FAST)
    assert changed.attrs["sweep"]["n_cached"] == 2
    other_seed = score_many(pattern, cache=cache, **{**FAST, "seed": 1})
    assert other_seed.attrs["sweep"]["n_cached"] == 0

    # resume: an interrupted sweep left one entry; a new model is added
    fresh = tmp_path / "fresh_cache"
    score_many([str(paths[0])], cache=fresh, **FAST)
    np.save(models / "model_9.npy", np.random.default_rng(9).normal(size=(300, 3)))
    resumed = score_many(pattern, cache=fresh, **FAST)
    assert resumed.attrs["sweep"]["n_cached"] == 1
    assert resumed["model"].nunique() == 4
    plain = score_many(pattern, **FAST)
    pd.testing.assert_frame_equal(plain, resumed, check_exact=True)

    # a corrupt (half-written) entry is recomputed, not trusted
    entry = next(fresh.glob("*.json"))
    entry.write_text('{"key": ')
    again = score_many(pattern, cache=fresh, **FAST)
    pd.testing.assert_frame_equal(plain, again, check_exact=True)
    json.loads(entry.read_text())  # rewritten whole


def test_cache_key_is_content_not_name(tmp_path):
    a, b = tmp_path / "a.npy", tmp_path / "b.npy"
    x = np.random.default_rng(0).normal(size=(200, 3))
    np.save(a, x)
    np.save(b, x)
    assert file_sha256(a) == file_sha256(b)
    cache = tmp_path / "cache"
    score_many([str(a)], cache=cache, **FAST)
    second = score_many([str(b)], cache=cache, **FAST)
    assert second.attrs["sweep"]["n_cached"] == 1


def test_bad_file_is_a_row_not_a_crash(tmp_path, client):
    _write_models(tmp_path, count=2)
    (tmp_path / "model_5.npy").write_bytes(b"not an array")
    missing = tmp_path / "model_7.npy"
    inputs = [*sorted(str(p) for p in tmp_path.glob("model_*.npy")), str(missing)]
    for scheduler in (None, client):
        table = score_many(inputs, scheduler=scheduler, cache=tmp_path / "c", **FAST)
        status = table.groupby("model", sort=False)["status"].first()
        assert status.tolist() == ["ok", "ok", "error", "error"]
        errors = table[table["status"] == "error"]
        assert len(errors) == 2
        assert errors["error"].iloc[0].startswith("LpsInputError: could not read")
        assert "file not found" in errors["error"].iloc[1]
        assert errors["value"].isna().all()
        assert table.attrs["sweep"]["n_failed"] == 2
    assert len(list((tmp_path / "c").glob("*.json"))) == 2  # failures are never cached


def test_arrays_and_mapping_inputs_keep_order_and_names():
    rng = np.random.default_rng(0)
    zs = {"b": rng.normal(size=(200, 3)), "a": rng.normal(size=(200, 3))}
    table = score_many(zs, metrics=["lps"], predictor="linear", lps={"n_boot": 0})
    assert table["model"].unique().tolist() == ["b", "a"]
    listed = score_many(list(zs.values()), metrics=["lps"], predictor="linear", lps={"n_boot": 0})
    assert listed["model"].unique().tolist() == ["model0", "model1"]
    np.testing.assert_array_equal(table["value"].to_numpy(), listed["value"].to_numpy())


def test_input_errors_are_loud(tmp_path):
    with pytest.raises(LpsInputError, match="matches no file"):
        expand_models(str(tmp_path / "nothing_*.npy"))
    with pytest.raises(LpsInputError, match="unknown scheduler"):
        score_many([np.zeros((10, 2))], scheduler="gpu")
    with pytest.raises(LpsInputError, match="worker count"):
        score_many([np.zeros((10, 2))], scheduler="threads:0")
    with pytest.raises(LpsInputError, match="used twice"):
        expand_models([str(tmp_path / "x.npy"), str(tmp_path / "x.npy")])
    with pytest.raises(LpsInputError, match="needs cache_key"):
        map_models(len, [[1]], cache=tmp_path)


def test_cli_score_many_files(tmp_path):
    from click.testing import CliRunner

    from lps_eval.cli import main

    paths = _write_models(tmp_path, count=2)
    fast = [
        "-O",
        "mmd.permutations=20",
        "-O",
        "independence.permutations=20",
        "--n-boot",
        "20",
        "-O",
        "lps.max_samples=300",
    ]
    runner = CliRunner()
    pattern = str(tmp_path / "model_*.npy")
    res = runner.invoke(main, ["score", pattern, *fast, "--format", "csv", "--no-config"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(__import__("io").StringIO(res.stdout))
    assert table["model"].unique().tolist() == [p.stem for p in paths]
    direct = score_many(pattern, **FAST)
    np.testing.assert_allclose(table["value"], direct["value"], rtol=1e-15)  # CSV text round trip

    args = ["score", pattern, *fast, "--no-config", "--fail-if", "lps > -10"]
    res = runner.invoke(main, args)
    assert res.exit_code == 1
    assert f"gate failed: [{paths[0].stem}] lps.value" in res.stderr

    (tmp_path / "broken.npy").write_bytes(b"junk")
    res = runner.invoke(main, ["score", str(paths[0]), str(tmp_path / "broken.npy"), *fast])
    assert res.exit_code == 2
    assert "error: " in res.stderr and "broken.npy" in res.stderr
    assert "Traceback" not in res.output

    res = runner.invoke(main, ["score", str(paths[0]), "--scheduler", "nope"])
    assert res.exit_code == 2 and res.stderr.startswith("error: unknown scheduler")


def _fails_on_three(item):
    if item == 3:
        raise RuntimeError("model 3 is broken")
    return {"status": "ok", "value": item}


def test_map_models_turns_a_raising_item_into_an_error_result():
    for scheduler in (None, "threads:2"):
        results = map_models(_fails_on_three, range(5), scheduler=scheduler)
        assert [r["status"] for r in results] == ["ok", "ok", "ok", "error", "ok"]
        assert results[3]["error"] == "RuntimeError: model 3 is broken"
        assert [r.get("value") for r in results] == [0, 1, 2, None, 4]
