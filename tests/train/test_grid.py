"""Training grids on a scheduler: a real Dask LocalCluster gives the serial runs bit for bit.

No mocks: ``scheduler="local:2"`` starts a ``dask.distributed.LocalCluster`` of two worker
processes, as a user's ``--scheduler local:2`` does; the interruption test sends SIGINT
to a real ``lps-eval train`` process group. Models are tiny (8x8 digits, width 4, a few
steps); starting the cluster (two processes importing torch) is most of the time.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("distributed")

from click.testing import CliRunner  # noqa: E402

from lps_eval import LpsInputError  # noqa: E402
from lps_eval.cli.console import EXIT_INPUT_ERROR, EXIT_INTERRUPTED  # noqa: E402
from lps_eval.cli.train import train_command as train_cmd  # noqa: E402
from lps_eval.train.checkpoint import CHECKPOINT_FILE, load_checkpoint  # noqa: E402
from lps_eval.train.grid import GridInterrupted, expand_grid, run_grid  # noqa: E402
from lps_eval.train.loop import TrainingInterrupted, fit, resume  # noqa: E402
from tests.conftest import TINY_TRAINING  # noqa: E402
from tests.conftest import TINY_TRAINING_CLI as TINY_CLI  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
#: fit() settings shared by every run.
COMMON = {**TINY_TRAINING, "eval_every": 3, "eval_budget": float("inf"), "steps": 6}
#: Index columns that measure time, the only ones allowed to differ between schedulers.
TIMING = ["train_seconds", "eval_fraction"]
#: A run whose settings fit() refuses (lr must lie in (0, 1]); it sits inside the grid.
BAD = {"name": "bad_lr_seed0", "objective": "mmd", "beta": 1.0, "seed": 0, "lr": 1e9}


def _runs() -> list[dict]:
    runs = expand_grid(["mmd", "kl"], [0, 1])  # kl draws torch noise, mmd numpy samples
    return [runs[0], BAD, *runs[1:]]


@pytest.fixture(scope="module")
def grids(tmp_path_factory):
    """The same grid trained serially and on a 2-worker LocalCluster (one cluster start)."""
    base = tmp_path_factory.mktemp("grids")
    serial = run_grid(_runs(), base / "serial", common=COMMON, progress=False)
    dask = run_grid(_runs(), base / "dask", common=COMMON, progress=False, scheduler="local:2")
    return base, serial, dask


def _assert_same_run(a: Path, b: Path) -> None:
    wa = torch.load(a / "model.pt", weights_only=True)
    wb = torch.load(b / "model.pt", weights_only=True)
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    za, zb = np.load(a / "latents.npz"), np.load(b / "latents.npz")
    assert sorted(za.files) == sorted(zb.files)
    for key in za.files:
        np.testing.assert_array_equal(za[key], zb[key])
    ha, hb = pd.read_csv(a / "history.csv"), pd.read_csv(b / "history.csv")
    cols = ["step", "loss", "recon", "reg", "lps_linear", "lps_hgb", "mmd2", "nmse_db"]
    pd.testing.assert_frame_equal(ha[cols], hb[cols], check_exact=True)


@pytest.mark.slow
def test_local_cluster_grid_equals_serial_bit_for_bit(grids):
    base, serial, dask = grids
    names = [r["name"] for r in _runs()]
    for frame in (serial, dask, pd.read_csv(base / "dask" / "index.csv")):
        assert list(frame["name"]) == names  # grid order, whatever order runs finished in
    assert list(dask.columns[-2:]) == ["status", "error"]  # as in a scoring sweep
    for name in names:
        if name != BAD["name"]:
            _assert_same_run(base / "serial" / name, base / "dask" / name)
    same = [c for c in serial.columns if c not in (*TIMING, "run_dir")]
    pd.testing.assert_frame_equal(serial[same], dask[same], check_exact=True)
    assert (dask["run_dir"] == [str(base / "dask" / n) for n in names]).all()
    # each worker trained with one torch thread, as the serial runs did
    config = json.loads((base / "dask" / "kl_seed1" / "config.json").read_text())
    assert config["num_threads"] == 1


@pytest.mark.slow
def test_failing_run_is_a_row_and_the_others_finish(grids):
    base, serial, dask = grids
    for frame in (serial, dask):
        row = frame.set_index("name").loc[BAD["name"]]
        assert row["status"] == "failed"
        assert row["error"].startswith("LpsInputError: lr must be a number in (0, 1]")
        assert set(frame["status"]) == {"done", "failed"}
        assert frame["error"].notna().sum() == 1
    assert not (base / "dask" / BAD["name"]).exists()  # refused before anything was written


@pytest.mark.slow
def test_rerun_skips_finished_runs_and_leaves_them_alone(grids):
    base, _, _ = grids
    good = [r for r in _runs() if r["name"] != BAD["name"]]
    before = {r["name"]: (base / "dask" / r["name"] / "model.pt").stat().st_mtime_ns for r in good}
    # every run finished: they are read where the grid is launched, no worker is needed
    again = run_grid(good, base / "dask", common=COMMON, progress=False, scheduler="local:2")
    assert list(again["name"]) == list(before) and set(again["status"]) == {"skipped"}
    after = {n: (base / "dask" / n / "model.pt").stat().st_mtime_ns for n in before}
    assert after == before


@pytest.mark.parametrize(
    "scheduler, needle",
    [
        ("nope", "unknown scheduler 'nope'"),
        ("local:0", "positive integer"),
        ("threads:2", "one process per run"),
    ],
)
def test_bad_scheduler_exits_2_with_one_line_before_any_work(tmp_path, scheduler, needle):
    out = tmp_path / "grid"
    args = [*TINY_CLI, "--steps", "2", "--seeds", "0-1", "--scheduler", scheduler]
    res = CliRunner().invoke(train_cmd, [*args, "--out", str(out)])
    assert res.exit_code == EXIT_INPUT_ERROR
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]
    assert not out.exists()
    with pytest.raises(LpsInputError, match=needle.split("'")[0]):
        run_grid(expand_grid(["mmd"], [0]), out, common=COMMON, scheduler=scheduler)


def test_scheduler_without_a_grid_is_refused(tmp_path):
    res = CliRunner().invoke(
        train_cmd, [*TINY_CLI, "--scheduler", "local:2", "--out", str(tmp_path / "r")]
    )
    assert res.exit_code == EXIT_INPUT_ERROR and "--seeds" in res.stderr
    assert not (tmp_path / "r").exists()


def test_serial_grid_reports_failures_and_exits_2(tmp_path):
    # a run directory holding a user's file is refused, never cleared: one failed row
    out = tmp_path / "grid"
    args = [*TINY_CLI, "--steps", "2", "--objective", "mmd,kl", "--seed", "0"]
    res = CliRunner().invoke(train_cmd, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    (out / "kl_seed1").mkdir()
    (out / "kl_seed1" / "notes.txt").write_text("mine")
    res = CliRunner().invoke(train_cmd, [*args, "--seeds", "0-1", "--out", str(out)])
    assert res.exit_code == EXIT_INPUT_ERROR
    index = pd.read_csv(out / "index.csv")
    assert list(index["status"]) == ["skipped", "skipped", "done", "failed"]
    assert "is not empty" in index["error"].iloc[3]
    assert res.stderr.strip().splitlines()[-1].startswith("error: kl_seed1: LpsInputError")
    assert json.loads(res.stdout)["status"] == {"skipped": 2, "done": 1, "failed": 1}
    assert (out / "kl_seed1" / "notes.txt").read_text() == "mine"


def test_a_run_stopped_before_its_first_checkpoint_starts_over(tmp_path):
    # what a killed worker leaves: the trainer's config.json, no checkpoint, no metrics
    runs = expand_grid(["kl"], [0])
    run_grid(runs, tmp_path / "ref", common=COMMON, progress=False)
    partial = tmp_path / "grid" / "kl_seed0"
    partial.mkdir(parents=True)
    (partial / "config.json").write_text(
        (tmp_path / "ref" / "kl_seed0" / "config.json").read_text()
    )
    (partial / "notes.txt").write_text("mine")
    (tmp_path / "grid" / "index.csv").write_text("name\n")
    index = run_grid(runs, tmp_path / "grid", common=COMMON, progress=False)
    assert list(index["status"]) == ["done"]
    _assert_same_run(tmp_path / "ref" / "kl_seed0", partial)
    assert (partial / "notes.txt").read_text() == "mine"


def test_serial_interrupt_is_a_grid_interruption(tmp_path, monkeypatch):
    calls = {"n": 0}
    from lps_eval.train import monitor

    real = monitor.encode_images

    def interrupt_in_second_run(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:  # two evaluations per run: the first of mmd_seed1
            signal.raise_signal(signal.SIGTERM)  # handled by the trainer: sets a flag
        return real(*args, **kwargs)

    monkeypatch.setattr(monitor, "encode_images", interrupt_in_second_run)
    with pytest.raises(GridInterrupted) as info:
        run_grid(expand_grid(["mmd"], [0, 1, 2]), tmp_path, common=COMMON, progress=False)
    assert isinstance(info.value, TrainingInterrupted) and info.value.signum == signal.SIGTERM
    message = str(info.value)
    assert "mmd_seed1 stopped at step 3" in message and "rerun the same command" in message
    index = pd.read_csv(tmp_path / "index.csv")
    assert list(index["status"]) == ["done", "interrupted", "pending"]
    assert load_checkpoint(tmp_path / "mmd_seed1")["step"] == 3
    monkeypatch.setattr(monitor, "encode_images", real)
    index = run_grid(expand_grid(["mmd"], [0, 1, 2]), tmp_path, common=COMMON, progress=False)
    assert list(index["status"]) == ["skipped", "resumed", "done"]


@pytest.mark.slow
def test_ctrl_c_stops_the_cluster_keeps_the_index_and_the_runs_resume(tmp_path):
    out = tmp_path / "grid"
    grid = [
        *TINY_CLI, "--objective", "mmd,kl", "--seed", "0", "--steps", "100000",
        "--eval-every", "0", "--checkpoint-every", "10",
    ]  # fmt: skip
    cmd = [sys.executable, "-m", "lps_eval.cli", "train", *grid, "--out", str(out)]
    proc = subprocess.Popen(
        [*cmd, "--scheduler", "local:2"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    deadline = time.monotonic() + 120
    while not list(out.glob(f"*/{CHECKPOINT_FILE}")) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches every process of the group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_INTERRUPTED, err
    # one error line (distributed's own shutdown warnings may surround it)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: grid interrupted: 0 of 2 runs")
    assert "rerun the same command" in errors[0]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the cluster's worker processes are gone too
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        pytest.fail("worker processes of the interrupted grid are still running")
    index = pd.read_csv(out / "index.csv")
    assert list(index["name"]) == ["mmd_seed0", "kl_seed0"]
    assert set(index["status"]) <= {"interrupted", "pending"} and "interrupted" in set(
        index["status"]
    )
    # a run stopped on a worker continues from its last periodic checkpoint, bit for bit
    stopped = next(n for n in index["name"] if (out / n / CHECKPOINT_FILE).is_file())
    step = int(load_checkpoint(out / stopped)["step"])
    assert step >= 10 and step % 10 == 0
    objective = stopped.split("_")[0]
    common = {**COMMON, "eval_every": 0, "progress": False}
    resume(out / stopped, steps=step + 5, progress=False)
    fit(**common | {"steps": step + 5}, objective=objective, out=tmp_path / "ref")
    _assert_same_run(tmp_path / "ref", out / stopped)
