"""Run management of the reference trainer: presets, safe run directories, checkpoints,
resume, signals, in-training evaluation, grids, and the CLI's error contract.

Every model is tiny (8x8 digits, width 4, a few dozen steps) so the file stays fast.
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

from click.testing import CliRunner  # noqa: E402

from lps_eval import LpsInputError  # noqa: E402
from lps_eval.cli.console import EXIT_INPUT_ERROR, fail  # noqa: E402
from lps_eval.cli.train import train_command as train_cmd  # noqa: E402
from lps_eval.train import TrainingInterrupted, fit, resume  # noqa: E402
from lps_eval.train.checkpoint import (  # noqa: E402
    CHECKPOINT_FILE,
    INCOMPLETE_FILE,
    TRAINER_FILES,
    atomic_write,
    load_checkpoint,
)
from lps_eval.train.grid import expand_grid, parse_seeds  # noqa: E402
from lps_eval.train.monitor import EVAL_COLUMNS  # noqa: E402
from lps_eval.train.objectives import objective_specs  # noqa: E402
from lps_eval.train.presets import PRESETS, resolve_settings  # noqa: E402
from tests.conftest import TINY_TRAINING  # noqa: E402
from tests.conftest import TINY_TRAINING_CLI as TINY_CLI  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TINY = {**TINY_TRAINING, "progress": False}


def _weights(run_dir: Path) -> dict:
    return torch.load(run_dir / "model.pt", weights_only=True)


def _assert_same_run(a: Path, b: Path, *, evals: bool = True) -> None:
    """Weights (an objective's own networks too), every latents array, the whole log
    (without the in-training evaluations when ``evals`` is False)."""
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    ca, cb = load_checkpoint(a), load_checkpoint(b)
    own_a, own_b = ca.get("objective", {}), cb.get("objective", {})
    assert own_a.keys() == own_b.keys()
    for key in own_a:  # FactorVAE: the discriminator and its optimizer's state
        flat_a, flat_b = _tensors(own_a[key]), _tensors(own_b[key])
        assert len(flat_a) == len(flat_b) and all(map(torch.equal, flat_a, flat_b))
    za = np.load(a / "latents.npz", allow_pickle=False)
    zb = np.load(b / "latents.npz", allow_pickle=False)
    assert sorted(za.files) == sorted(zb.files)
    for key in za.files:
        np.testing.assert_array_equal(za[key], zb[key])
    ha, hb = pd.read_csv(a / "history.csv"), pd.read_csv(b / "history.csv")
    cols = [c for c in ha.columns if c not in ("seconds", "eval_seconds")]
    if not evals:
        cols = [c for c in cols if c not in EVAL_COLUMNS]
    pd.testing.assert_frame_equal(ha[cols], hb[cols], check_exact=True)


def _tensors(tree) -> list:
    """Every tensor of a nested state dict, in a fixed order."""
    if isinstance(tree, torch.Tensor):
        return [tree]
    if isinstance(tree, dict):
        return [t for k in sorted(tree, key=str) for t in _tensors(tree[k])]
    if isinstance(tree, (list, tuple)):
        return [t for item in tree for t in _tensors(item)]
    return []


# --------------------------------------------------------------------------- presets


def test_preset_fills_unset_values_and_explicit_wins():
    cpu = resolve_settings("cpu", {"width": 8, "steps": None})
    assert cpu["width"] == 8 and cpu["batch_size"] == PRESETS["cpu"]["batch_size"]
    assert cpu["steps"] == PRESETS["cpu"]["steps"]
    paper = resolve_settings("paper", {})
    assert (paper["batch_size"], paper["width"], paper["hidden"]) == (512, 32, 256)
    with pytest.raises(LpsInputError, match="unknown preset"):
        resolve_settings("gpu", {})


def test_config_records_preset_and_effective_values(tmp_path):
    run = fit(**{**TINY, "batch_size": None}, preset="cpu", steps=3, out=tmp_path / "r")
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["preset"] == "cpu"
    assert config["batch_size"] == PRESETS["cpu"]["batch_size"]  # from the preset
    assert config["width"] == 4 and config["steps"] == 3  # explicit values win
    assert run.config == config


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--lr", "1e9"], "lr"),
        (["--lr", "nan"], "lr"),
        (["--width", "0"], "width"),
        (["--hidden", "-1"], "hidden"),
        (["--steps", "0"], "steps"),
        (["--batch-size", "1"], "batch_size"),
        (["--eval-budget", "-0.5"], "eval_budget"),
        (["--seeds", "4-1"], "backwards"),
        (["--objective", "mmd,gan"], "unknown objective"),
    ],
)
def test_invalid_hyperparameters_exit_2_with_one_line(tmp_path, flags, needle):
    res = CliRunner().invoke(train_cmd, [*TINY_CLI, *flags, "--out", str(tmp_path / "r")])
    assert res.exit_code == EXIT_INPUT_ERROR
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0]
    assert not (tmp_path / "r").exists()  # refused before anything was written


def test_fit_without_torch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(ImportError, match=r"lps-eval\[torch\]"):
        fit("digits", steps=1)
    with pytest.raises(ImportError, match=r"lps-eval\[torch\]"):
        resume("anywhere")


def test_console_fail_is_one_line_and_exits(capsys):
    with pytest.raises(SystemExit) as info:
        fail("two\nlines", code=7)
    assert info.value.code == 7
    assert capsys.readouterr().err == "error: two lines\n"


# --------------------------------------------------------------------------- run directories


def test_non_empty_out_is_refused_and_overwrite_keeps_user_files(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "sub").mkdir()
    res = CliRunner().invoke(train_cmd, [*TINY_CLI, "--steps", "2", "--out", str(out)])
    assert res.exit_code == 2 and "--overwrite" in res.output
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "sub"]
    res = CliRunner().invoke(
        train_cmd, [*TINY_CLI, "--steps", "2", "--out", str(out), "--overwrite"]
    )
    assert res.exit_code == 0, res.output
    assert (out / "notes.txt").read_text() == "mine" and (out / "sub").is_dir()
    finished = set(TRAINER_FILES) - {INCOMPLETE_FILE}  # the marker goes last
    assert {p.name for p in out.iterdir()} == {"notes.txt", "sub", *finished}


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")

    def broken(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, broken)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]  # no temporary left behind


def test_checkpoint_refuses_pickled_objects(tmp_path):
    torch.save({"step": 1, "payload": Path("x")}, tmp_path / CHECKPOINT_FILE)
    with pytest.raises(LpsInputError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path)


# --------------------------------------------------------------------------- resume


#: Small settings for objectives whose defaults are large (FactorVAE's 6 x 1000 MLP).
SMALL_PARAMS = {"factor_vae": {"disc_hidden": 16, "disc_layers": 2}}


@pytest.mark.parametrize("objective", list(objective_specs()))
def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path, objective):
    # kl draws torch noise, mmd numpy prior samples, factor_vae two batches, random
    # permutations and a second optimizer: all continue exactly from a checkpoint
    params = SMALL_PARAMS.get(objective, {})
    common = {
        **TINY,
        "objective": objective,
        "objective_params": params,
        "eval_every": 5,
        "checkpoint_every": 4,
    }
    fit(**common, steps=14, out=tmp_path / "full")
    fit(**common, steps=9, out=tmp_path / "part")  # stop early ...
    assert load_checkpoint(tmp_path / "part")["step"] == 9
    res = resume(tmp_path / "part", steps=14, progress=False)  # ... and continue
    # the shorter run also evaluated its last step (9); everything else is the same
    _assert_same_run(tmp_path / "full", tmp_path / "part", evals=False)
    assert res.config["resumed_from"] == [9]
    with pytest.raises(LpsInputError, match="go back"):
        resume(tmp_path / "part", steps=5)


def test_resume_refuses_a_directory_without_checkpoint(tmp_path):
    res = CliRunner().invoke(train_cmd, ["--resume", str(tmp_path)])
    assert res.exit_code == 2 and "no checkpoint.pt" in res.output
    fit(**TINY, steps=2, out=tmp_path / "r")
    res = CliRunner().invoke(train_cmd, ["--resume", str(tmp_path / "r"), "--width", "9"])
    assert res.exit_code == 2 and "--width" in res.output


@pytest.mark.parametrize(
    "objective, sig, code",
    [("kl", signal.SIGINT, 130), ("kl", signal.SIGTERM, 143), ("factor_vae", signal.SIGINT, 130)],
)
def test_signal_writes_checkpoint_exits_and_resumes_bit_identically(tmp_path, objective, sig, code):
    out = tmp_path / "sig"
    params = SMALL_PARAMS.get(objective, {})
    cmd = [
        sys.executable, "-c", "from lps_eval.cli import main; main()", "train", *TINY_CLI,
        "--objective", objective, "--steps", "1000000", "--eval-every", "0",
        "--checkpoint-every", "20", "--out", str(out),
        *[f"--objective-param={k}={v}" for k, v in params.items()],
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / CHECKPOINT_FILE).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    lines = err.strip().splitlines()
    assert f"--resume {out}" in lines[-1] and "interrupted at step" in lines[-1]
    step = int(load_checkpoint(out)["step"])
    assert step >= 20
    # continuing to step + 5 equals an uninterrupted run of that length
    resume(out, steps=step + 5, progress=False)
    fit(
        **TINY,
        objective=objective,
        objective_params=params,
        steps=step + 5,
        eval_every=0,
        out=tmp_path / "full",
    )
    _assert_same_run(tmp_path / "full", out)


def test_interrupt_in_process_raises_after_checkpoint(tmp_path, monkeypatch):
    from lps_eval.train import loop

    calls = {"n": 0}
    real = loop.encode_images

    def interrupt_on_second_eval(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            signal.raise_signal(signal.SIGINT)  # the trainer stops the evaluation at once
        return real(*args, **kwargs)

    monkeypatch.setattr("lps_eval.train.monitor.encode_images", interrupt_on_second_eval)
    with pytest.raises(TrainingInterrupted) as info:
        fit(**TINY, steps=50, eval_every=5, eval_budget=float("inf"), out=tmp_path / "r")
    assert info.value.step == 10 and info.value.signum == signal.SIGINT
    state = load_checkpoint(tmp_path / "r")
    assert state["step"] == 10 and state["pending_eval"] == 10  # stopped inside its evaluation
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored
    # the evaluation is run again on resume: the same log as an uninterrupted run
    monkeypatch.undo()
    resume(tmp_path / "r", steps=20, progress=False)
    fit(**TINY, steps=20, eval_every=5, eval_budget=float("inf"), out=tmp_path / "full")
    _assert_same_run(tmp_path / "full", tmp_path / "r")
    evals = pd.read_csv(tmp_path / "r" / "history.csv").dropna(subset=["lps_hgb"])
    assert list(evals["step"]) == [5, 10, 15, 20]


# --------------------------------------------------------------------------- monitoring


def test_history_logs_in_training_evaluation(tmp_path):
    run = fit(**TINY, steps=12, eval_every=4, eval_budget=float("inf"), out=tmp_path / "r")
    hist = pd.read_csv(tmp_path / "r" / "history.csv")
    evals = hist.dropna(subset=["lps_hgb"])
    assert list(evals["step"]) == [4, 8, 12]
    assert list(hist["step"]) == list(range(1, 13))
    # the last evaluation scores the final model on a subset of the evaluation set:
    # its NMSE matches the full-set number within subsampling noise, exactly when equal sets
    assert abs(evals["nmse_db"].iloc[-1] - run.nmse_db) < 1.0
    assert (evals["lps_linear"] <= 1).all() and (evals["mmd2"] > -0.1).all()
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["evals"] == 3 and metrics["evals_skipped"] == 0
    assert metrics["eval_seconds"] == pytest.approx(evals["eval_seconds"].sum())


def test_in_training_lps_matches_the_public_api(tmp_path):
    import lps_eval

    run = fit(**{**TINY, "eval_subset": 200}, steps=6, eval_every=0, out=tmp_path / "r")
    last = run.history.dropna(subset=["lps_hgb"]).iloc[-1]
    z = run.z.astype(np.float64)  # eval_subset == eval_size: the same images
    # the monitor uses one seeded held-out split (cheap enough to keep every point)
    common = {"null": False, "structure": False, "n_boot": 0, "seed": 0, "test_size": 0.25}
    ordered = z[np.argsort(run.index)]
    lin = lps_eval.lps(ordered, predictor="linear", max_samples=None, **common)
    assert last["lps_linear"] == pytest.approx(lin.value, abs=1e-9)
    hgb = lps_eval.lps(ordered, predictor="hgb", max_samples=2000, **common)
    assert last["lps_hgb"] == pytest.approx(hgb.value, abs=1e-9)


def test_zero_budget_keeps_only_the_final_evaluation(tmp_path):
    run = fit(**TINY, steps=10, eval_every=2, eval_budget=0.0, out=tmp_path / "r")
    evals = run.history.dropna(subset=["eval_seconds"])
    # the first scheduled evaluation is skipped too: with no budget nothing but the end fits
    assert list(evals["step"]) == [10]
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert metrics["evals_skipped"] == 4


# --------------------------------------------------------------------------- grids


def test_parse_seeds_and_seed_major_grid():
    assert parse_seeds("0-2,5") == [0, 1, 2, 5]
    for bad in ("a", "1-", "0,0"):
        with pytest.raises(LpsInputError):
            parse_seeds(bad)
    runs = expand_grid(["mmd", "kl"], [0, 1], [1.0, 4.0])
    assert [r["name"] for r in runs] == [
        "mmd_seed0", "kl_beta1_seed0", "kl_beta4_seed0",
        "mmd_seed1", "kl_beta1_seed1", "kl_beta4_seed1",
    ]  # fmt: skip


def test_grid_writes_index_and_skips_finished_runs(tmp_path):
    out = tmp_path / "grid"
    args = [*TINY_CLI, "--steps", "3", "--objective", "mmd,kl", "--seeds", "0-1"]
    res = CliRunner().invoke(train_cmd, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    index = pd.read_csv(out / "index.csv")
    assert list(index["name"]) == ["mmd_seed0", "kl_seed0", "mmd_seed1", "kl_seed1"]
    assert set(index["status"]) == {"done"}
    assert all((Path(d) / "metrics.json").is_file() for d in index["run_dir"])
    before = (out / "kl_seed1" / "model.pt").stat().st_mtime_ns
    res = CliRunner().invoke(train_cmd, [*args, "--out", str(out)])
    assert res.exit_code == 0
    assert set(pd.read_csv(out / "index.csv")["status"]) == {"skipped"}
    assert (out / "kl_seed1" / "model.pt").stat().st_mtime_ns == before


def test_grid_refuses_a_foreign_directory(tmp_path):
    (tmp_path / "mine.txt").write_text("x")
    res = CliRunner().invoke(
        train_cmd, [*TINY_CLI, "--steps", "2", "--seeds", "0-1", "--out", str(tmp_path)]
    )
    assert res.exit_code == 2 and "not a grid directory" in res.output


from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.lists(st.integers(0, 10**6), unique=True, max_size=20))
def test_parse_seeds_roundtrips_lists(seeds):
    if seeds:
        assert parse_seeds(",".join(map(str, seeds))) == seeds


@given(st.integers(0, 1000), st.integers(0, 50))
def test_parse_seeds_range_is_inclusive(lo, width):
    assert parse_seeds(f"{lo}-{lo + width}") == list(range(lo, lo + width + 1))
