"""Ctrl-C and SIGTERM in ``lps-eval train``: every phase stops at once, with one line.

Real processes (``python -m lps_eval.cli train``) are sent SIGINT during the import of
torch, during the first steps, during an in-training evaluation and after the last step.
Each must exit 130 within 2 s with exactly one stderr line (``error: ...``, no
traceback), and leave a directory that is either resumable (a checkpoint; the resumed
run equals an uninterrupted one bit for bit) or marked ``INCOMPLETE`` and reusable by the
same command without ``--overwrite``. The tests synchronize on what the process itself
shows (torch's library mapped into it, its run directory's files), never on sleeps alone,
so they hold on a loaded 2-core machine.
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

from lps_eval.cli.console import EXIT_INTERRUPTED, EXIT_TERMINATED  # noqa: E402
from lps_eval.train import TrainingInterrupted, fit, resume  # noqa: E402
from lps_eval.train import signals as train_signals  # noqa: E402
from lps_eval.train.checkpoint import (  # noqa: E402
    CHECKPOINT_FILE,
    INCOMPLETE_FILE,
    LATENTS_FILE,
    METRICS_FILE,
    STAGING_DIR,
    WEIGHTS_FILE,
    is_finished,
    load_checkpoint,
)
from tests.conftest import TINY_TRAINING  # noqa: E402
from tests.conftest import TINY_TRAINING_CLI as TINY_CLI  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TINY = {**TINY_TRAINING, "progress": False}
#: The issue's bound: from the signal to the process's exit.
STOP_SECONDS = 2.0
#: History columns that measure time (the only ones two identical runs may differ in).
TIMING = ("seconds", "eval_seconds")


def _spawn(out: Path, *flags: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "lps_eval.cli", "train", *TINY_CLI, *flags, "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until(proc: subprocess.Popen, ready, timeout: float = 240.0) -> None:
    """Poll the process's own progress (a file it writes, a library it maps)."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"the process ended (rc {proc.returncode}) before the phase began")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the phase did not begin in time")
        time.sleep(0.005)


def _interrupt(proc: subprocess.Popen, sig: int = signal.SIGINT) -> tuple[float, list[str]]:
    """Send ``sig``; seconds until the process exited, and its stderr lines."""
    start = time.monotonic()
    proc.send_signal(sig)
    proc.wait(timeout=60)
    elapsed = time.monotonic() - start
    _, err = proc.communicate(timeout=10)
    return elapsed, err.strip().splitlines()


def _assert_one_line(proc: subprocess.Popen, elapsed: float, lines: list[str], code: int) -> None:
    assert proc.returncode == code, lines
    assert elapsed < STOP_SECONDS, f"took {elapsed:.2f} s to stop"
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "Traceback" not in lines[0]


def _assert_same_run(a: Path, b: Path) -> None:
    """Weights, every latents array and the whole log (timing columns aside) are equal."""
    wa = torch.load(a / WEIGHTS_FILE, weights_only=True)
    wb = torch.load(b / WEIGHTS_FILE, weights_only=True)
    assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)
    za, zb = np.load(a / LATENTS_FILE), np.load(b / LATENTS_FILE)
    assert sorted(za.files) == sorted(zb.files)
    for key in za.files:
        np.testing.assert_array_equal(za[key], zb[key])
    ha, hb = pd.read_csv(a / "history.csv"), pd.read_csv(b / "history.csv")
    cols = [c for c in ha.columns if c not in TIMING]
    pd.testing.assert_frame_equal(ha[cols], hb[cols], check_exact=True)


def _maps_torch(proc: subprocess.Popen):
    maps = Path(f"/proc/{proc.pid}/maps")
    return lambda: "libtorch" in maps.read_text() if maps.exists() else False


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc (Linux)")
def test_ctrl_c_while_torch_imports_exits_130_with_one_line(tmp_path):
    out = tmp_path / "run"
    proc = _spawn(out, "--steps", "400")
    _wait_until(proc, _maps_torch(proc))  # libtorch is loaded: `import torch` is running
    elapsed, lines = _interrupt(proc)
    _assert_one_line(proc, elapsed, lines, EXIT_INTERRUPTED)
    assert lines == ["error: interrupted"]
    # nothing was written yet, or a directory the same command may reuse
    assert not out.exists() or not (out / CHECKPOINT_FILE).exists()


def test_ctrl_c_in_the_first_steps_leaves_a_resumable_run(tmp_path):
    out = tmp_path / "run"
    flags = ["--steps", "400", "--checkpoint-every", "2", "--eval-every", "0"]
    proc = _spawn(out, *flags)
    _wait_until(proc, (out / CHECKPOINT_FILE).exists)
    elapsed, lines = _interrupt(proc)
    _assert_one_line(proc, elapsed, lines, EXIT_INTERRUPTED)
    assert f"--resume {out}" in lines[0]
    assert (out / INCOMPLETE_FILE).is_file() and not is_finished(out)
    step = int(load_checkpoint(out)["step"])
    resume(out, steps=step + 4, progress=False)
    assert is_finished(out) and not (out / INCOMPLETE_FILE).exists()
    fit(**TINY, steps=step + 4, eval_every=0, out=tmp_path / "full")
    _assert_same_run(tmp_path / "full", out)


def test_ctrl_c_during_an_evaluation_resumes_with_the_same_evaluations(tmp_path):
    out = tmp_path / "run"
    # a slow evaluation (every digit image) right after the checkpoint at step 4
    slow = ["--eval-size", "1797", "--eval-subset", "1797", "--eval-budget", "inf"]
    flags = ["--steps", "400", "--checkpoint-every", "4", "--eval-every", "5", *slow]
    proc = _spawn(out, *flags)
    _wait_until(proc, (out / CHECKPOINT_FILE).exists)
    time.sleep(0.05)  # step 5 takes milliseconds; its evaluation about a second
    elapsed, lines = _interrupt(proc)
    _assert_one_line(proc, elapsed, lines, EXIT_INTERRUPTED)
    state = load_checkpoint(out)
    step = int(state["step"])
    assert step >= 4 and int(state["pending_eval"]) in (-1, step)
    resume(out, steps=12, progress=False)
    settings = {"eval_size": 1797, "eval_subset": 1797, "eval_budget": float("inf")}
    fit(**{**TINY, **settings}, steps=12, eval_every=5, out=tmp_path / "full")
    _assert_same_run(tmp_path / "full", out)
    evals = pd.read_csv(out / "history.csv").dropna(subset=["lps_hgb"])
    assert list(evals["step"]) == [5, 10, 12]  # the interrupted evaluation was run again


def test_ctrl_c_after_the_last_step_leaves_a_finished_or_resumable_run(tmp_path):
    out = tmp_path / "run"
    # the final evaluation and encoding of every digit image follow the checkpoint at 19
    flags = ["--steps", "20", "--checkpoint-every", "19", "--eval-every", "0"]
    proc = _spawn(out, *flags, "--eval-size", "1797")
    _wait_until(proc, (out / CHECKPOINT_FILE).exists)
    elapsed, lines = _interrupt(proc)
    if proc.returncode == 0:  # it finished before the signal arrived: nothing to check
        pytest.skip("the run finished before the signal arrived")
    _assert_one_line(proc, elapsed, lines, EXIT_INTERRUPTED)
    if not is_finished(out):
        assert (out / INCOMPLETE_FILE).is_file() and int(load_checkpoint(out)["step"]) >= 19
        resume(out, progress=False)
    fit(**{**TINY, "eval_size": 1797}, steps=20, eval_every=0, out=tmp_path / "full")
    _assert_same_run(tmp_path / "full", out)


def test_sigterm_before_the_first_step_marks_the_run_incomplete_and_reusable(tmp_path):
    out = tmp_path / "run"
    proc = _spawn(out, "--steps", "400", "--checkpoint-every", "1000", "--eval-every", "0")
    _wait_until(proc, (out / INCOMPLETE_FILE).exists)  # written first, before the config
    elapsed, lines = _interrupt(proc, signal.SIGTERM)
    _assert_one_line(proc, elapsed, lines, EXIT_TERMINATED)
    assert (out / INCOMPLETE_FILE).is_file() and not (out / METRICS_FILE).exists()
    if (out / CHECKPOINT_FILE).exists():  # the signal came once training had started
        assert f"--resume {out}" in lines[0]
        return
    # the same command again, without --overwrite: it starts over and says so in one line
    again = subprocess.run(
        [sys.executable, "-m", "lps_eval.cli", "train", *TINY_CLI, "--steps", "3",
         "--out", str(out)],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    notes = [line for line in again.stderr.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1 and "starting over" in notes[0]
    assert is_finished(out)


# --------------------------------------------------------------------------- --overwrite


def test_overwrite_keeps_the_previous_results_until_the_new_run_finishes(tmp_path):
    out = tmp_path / "run"
    fit(**TINY, steps=3, eval_every=0, out=out)
    before = {name: (out / name).read_bytes() for name in (WEIGHTS_FILE, LATENTS_FILE)}
    proc = _spawn(out, "--overwrite", "--seed", "1", "--steps", "400", "--checkpoint-every", "2")
    staged = out / STAGING_DIR
    _wait_until(proc, (staged / CHECKPOINT_FILE).exists)
    assert is_finished(out)  # while the new run trains, the old one is still complete
    elapsed, lines = _interrupt(proc)
    _assert_one_line(proc, elapsed, lines, EXIT_INTERRUPTED)
    assert "previous results" in lines[0] and f"--resume {out}" in lines[0]
    assert is_finished(out)
    assert all((out / name).read_bytes() == data for name, data in before.items())
    # --resume continues the new run; when it finishes, its files replace the old ones
    step = int(load_checkpoint(staged)["step"])
    res = resume(out, steps=step + 3, progress=False)
    assert res.run_dir == out and not staged.exists() and is_finished(out)
    fit(**TINY, seed=1, steps=step + 3, eval_every=250, out=tmp_path / "full")  # cpu preset
    _assert_same_run(tmp_path / "full", out)
    assert json.loads((out / "config.json").read_text())["seed"] == 1


def test_overwrite_replaces_a_finished_run_when_it_finishes(tmp_path):
    out = tmp_path / "run"
    fit(**TINY, steps=3, out=out)
    (out / "notes.txt").write_text("mine")
    res = fit(**TINY, seed=2, steps=4, out=out, overwrite=True)
    assert res.run_dir == out and not (out / STAGING_DIR).exists() and is_finished(out)
    assert (out / "notes.txt").read_text() == "mine"
    assert int(load_checkpoint(out)["step"]) == 4
    fit(**TINY, seed=2, steps=4, out=tmp_path / "fresh")
    _assert_same_run(tmp_path / "fresh", out)


# --------------------------------------------------------------------------- in process


def test_a_signal_during_a_write_waits_for_the_write(tmp_path, monkeypatch):
    from lps_eval.train import checkpoint

    real = checkpoint.write_history
    calls, written = {"n": 0}, []

    def signal_mid_write(run_dir, history):
        calls["n"] += 1
        if calls["n"] == 2:  # the periodic checkpoint at step 4, between its two files
            signal.raise_signal(signal.SIGINT)
        real(run_dir, history)
        written.append(calls["n"])

    monkeypatch.setattr(checkpoint, "write_history", signal_mid_write)
    with pytest.raises(TrainingInterrupted) as info:
        fit(**TINY, steps=50, eval_every=0, checkpoint_every=2, out=tmp_path / "r")
    assert 2 in written  # the write the signal arrived in was completed first
    assert info.value.step == 4  # then the signal stopped training
    assert int(load_checkpoint(tmp_path / "r")["step"]) == 4
    assert len(pd.read_csv(tmp_path / "r" / "history.csv")) == 4
    assert not [p for p in (tmp_path / "r").iterdir() if ".tmp" in p.name]


def test_python_sessions_keep_their_own_ctrl_c(tmp_path):
    # outside the trainer's sections a Python session's KeyboardInterrupt is untouched
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt), train_signals.critical():
        signal.raise_signal(signal.SIGINT)  # held back, then delivered as usual
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(train_signals.Stop), train_signals.interruptible():
        signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
