"""The run directory: weights without pickle, a config that reproduces the run, the log.

Layout of ``RUN_DIR``::

    model.pt      plain state_dict of tensors (torch.save); read with
                  torch.load(weights_only=True), which refuses arbitrary pickled objects
    config.json   every argument of :func:`lps_eval.train.fit` plus architecture and versions
    history.csv   one row per step: step, loss, recon, reg, seconds
    latents.npz   z (posterior mean), index (rows of the dataset), factors and
                  factor_names when the dataset has them
    metrics.json  reconstruction NMSE in dB on the evaluation set, training and
                  evaluation time; written last of the results
    checkpoint.pt weights, optimizer state, every RNG state (torch, numpy global, python,
                  the batch sampler, the prior sampler), step and the log so far: what
                  ``--resume`` needs for a bit-identical continuation on the CPU
    INCOMPLETE    written first, removed last: while it exists the run is unfinished
                  (interrupted, or still training); a finished run has metrics.json and
                  no INCOMPLETE
    .overwrite/   only while ``--overwrite`` retrains a finished run: the new run trains
                  here and its files replace the previous ones when it finishes, so a
                  Ctrl-C never loses the previous results

Every file is written to a temporary name in the same directory and then moved into
place with :func:`os.replace` (atomic on POSIX), so an interrupted write never leaves a
truncated file behind; signals wait until a write is done
(:func:`lps_eval.train.signals.critical`). The trainer writes and replaces only the files
named above; anything else in a run directory is left alone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError
from lps_eval.io import load_tensors
from lps_eval.models import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    HISTORY_FILE,
    INCOMPLETE_FILE,
    LATENTS_FILE,
    METRICS_FILE,
    TRAINER_FILES,
    WEIGHTS_FILE,
)
from lps_eval.train.signals import critical

__all__ = [
    "CHECKPOINT_FILE",
    "CONFIG_FILE",
    "HISTORY_FILE",
    "INCOMPLETE_FILE",
    "LATENTS_FILE",
    "METRICS_FILE",
    "STAGING_DIR",
    "TRAINER_FILES",
    "WEIGHTS_FILE",
    "atomic_write",
    "final_dir",
    "is_finished",
    "is_incomplete",
    "load_checkpoint",
    "load_model",
    "mark_incomplete",
    "prepare_run_dir",
    "publish",
    "read_config",
    "resumable_dir",
    "save_checkpoint",
    "save_run",
    "write_config",
    "write_history",
]

#: The run directory's file names live with the other model inputs (lps_eval.models).
#: Where ``--overwrite`` trains a replacement for a finished run (see the module docstring).
STAGING_DIR = ".overwrite"


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then rename it to ``path``.

    The rename (:func:`os.replace`) is atomic on POSIX, so readers see either the old
    file or the complete new one, never a partial write; SIGINT / SIGTERM wait until it
    is done.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with critical():
        try:
            write(tmp)
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
    return path


def _write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text))


def _write_json(path: Path, obj: Any) -> None:
    _write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def is_finished(run_dir: str | Path) -> bool:
    """True when ``run_dir`` holds a completed run: ``metrics.json`` and no ``INCOMPLETE``."""
    run_dir = Path(run_dir)
    return (run_dir / METRICS_FILE).is_file() and not (run_dir / INCOMPLETE_FILE).exists()


def is_incomplete(run_dir: str | Path) -> bool:
    """True when ``run_dir`` holds an unfinished run (the ``INCOMPLETE`` marker)."""
    return (Path(run_dir) / INCOMPLETE_FILE).is_file()


def mark_incomplete(run_dir: Path, *, final: Path | None = None) -> None:
    """Write the ``INCOMPLETE`` marker: what it means and how to go on."""
    final = final or run_dir
    text = (
        "This directory holds an unfinished lps-eval training run (interrupted, or still\n"
        "training). Files other than checkpoint.pt, config.json and history.csv may be\n"
        "missing or come from an earlier run.\n"
        f"Continue it (when checkpoint.pt exists): lps-eval train --resume {final}\n"
        f"Start over: lps-eval train --out {final} ... (no --overwrite needed while it\n"
        "holds no checkpoint and no results)\n"
    )
    atomic_write(run_dir / INCOMPLETE_FILE, lambda tmp: tmp.write_text(text))


def final_dir(run_dir: str | Path) -> Path:
    """Where a run's results end up: the parent of a ``.overwrite`` staging directory."""
    run_dir = Path(run_dir)
    return run_dir.parent if run_dir.name == STAGING_DIR else run_dir


def resumable_dir(run_dir: str | Path) -> Path:
    """The directory ``--resume run_dir`` continues: an unfinished ``--overwrite`` run
    staged inside (when it has a checkpoint), else ``run_dir`` itself."""
    staged = Path(run_dir) / STAGING_DIR
    return staged if (staged / CHECKPOINT_FILE).is_file() else Path(run_dir)


def _remove_trainer_files(run_dir: Path) -> None:
    with critical():
        for name in TRAINER_FILES:
            if name != INCOMPLETE_FILE:
                (run_dir / name).unlink(missing_ok=True)
        staged = run_dir / STAGING_DIR
        if staged.is_dir():
            _remove_trainer_files(staged)
            _remove_marker_and_dir(staged)


def _remove_marker_and_dir(staged: Path) -> None:
    (staged / INCOMPLETE_FILE).unlink(missing_ok=True)
    if staged.is_dir() and not any(staged.iterdir()):
        staged.rmdir()


def _reusable(run_dir: Path) -> bool:
    """An interrupted run with nothing to keep: no results, no checkpoint (``INCOMPLETE``)."""
    return (
        is_incomplete(run_dir)
        and not (run_dir / CHECKPOINT_FILE).exists()
        and not (run_dir / METRICS_FILE).exists()
        and not (run_dir / STAGING_DIR).exists()
    )


def prepare_run_dir(
    out: str | Path,
    *,
    overwrite: bool = False,
    resume: bool = False,
    notify: Callable[[str], None] | None = None,
) -> Path:
    """Create or check a run directory before training writes anything; mark it incomplete.

    * a missing or empty directory is used as is (created with its parents);
    * a directory holding only an interrupted run with nothing to keep (``INCOMPLETE``,
      no checkpoint, no results) is reused: its trainer files are replaced, and
      ``notify`` is told so in one line;
    * ``resume``: it must hold a checkpoint (or an unfinished ``--overwrite`` run with
      one, which is then the directory returned);
    * ``overwrite`` of a finished run: the new run trains in ``out/.overwrite`` (returned)
      and replaces the previous results only when it finishes (:func:`publish`); of an
      unfinished one: its trainer files are removed (nothing else is touched);
    * any other non-empty directory is refused.

    Returns
    -------
    Path
        The directory to write into (``out`` or its ``.overwrite`` staging directory).

    Raises
    ------
    LpsInputError
        ``out`` is a file, is not empty (without ``overwrite``), or has nothing to resume.
    """
    run_dir = Path(out)
    if run_dir.exists() and not run_dir.is_dir():
        raise LpsInputError(f"--out {run_dir} exists and is not a directory")
    if resume:
        target = resumable_dir(run_dir)
        if not (target / CHECKPOINT_FILE).is_file():
            raise LpsInputError(
                f"cannot resume {run_dir}: no {CHECKPOINT_FILE} there (was it written by "
                "`lps-eval train`?)"
            )
        if target != run_dir and notify is not None:
            notify(
                f"resuming the unfinished --overwrite run in {target}; the previous results "
                f"in {run_dir} stay until it finishes"
            )
        return target  # marked incomplete when training starts (after every check)
    if run_dir.is_dir() and any(run_dir.iterdir()):
        if _reusable(run_dir):
            if notify is not None:
                notify(f"{run_dir} held an interrupted run with no checkpoint; starting over")
        elif not overwrite:
            _refuse_non_empty(run_dir)
        elif is_finished(run_dir):  # keep the previous results until the new ones exist
            staged = run_dir / STAGING_DIR
            if staged.is_dir():
                _remove_trainer_files(staged)
            staged.mkdir(exist_ok=True)
            mark_incomplete(staged, final=run_dir)
            return staged
        _remove_trainer_files(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    mark_incomplete(run_dir)
    return run_dir


def _refuse_non_empty(run_dir: Path) -> None:
    if (resumable_dir(run_dir) / CHECKPOINT_FILE).is_file() and not is_finished(run_dir):
        raise LpsInputError(
            f"--out {run_dir} holds an interrupted run; continue it with --resume {run_dir}, "
            "pass --overwrite to start over (the trainer's files only), or choose another "
            "directory"
        )
    raise LpsInputError(
        f"--out {run_dir} is not empty; pass --overwrite to replace the trainer's files "
        f"there (nothing else is touched; finished results stay until the new run "
        f"finishes), --resume {run_dir} to continue it, or choose another directory"
    )


def publish(staged: Path, final: Path) -> Path:
    """Move a finished ``.overwrite`` run's files over the previous run's, results last.

    ``final`` is marked incomplete during the moves (a crash in between leaves it marked),
    ``metrics.json`` comes last and the marker goes after it.
    """
    with critical():
        mark_incomplete(final)
        for name in (WEIGHTS_FILE, CONFIG_FILE, HISTORY_FILE, LATENTS_FILE, CHECKPOINT_FILE):
            if (staged / name).exists():
                os.replace(staged / name, final / name)
            else:
                (final / name).unlink(missing_ok=True)
        os.replace(staged / METRICS_FILE, final / METRICS_FILE)
        (final / INCOMPLETE_FILE).unlink(missing_ok=True)
        _remove_marker_and_dir(staged)
    return final


def save_checkpoint(run_dir: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (tensors, numbers, strings, lists, dicts) to ``checkpoint.pt`` atomically."""
    import torch

    return atomic_write(Path(run_dir) / CHECKPOINT_FILE, lambda tmp: torch.save(state, tmp))


def load_checkpoint(run_dir: str | Path, *, device: str = "cpu") -> dict[str, Any]:
    """Read ``checkpoint.pt`` with ``torch.load(weights_only=True)`` (no arbitrary objects)."""
    import torch

    path = Path(run_dir) / CHECKPOINT_FILE
    if not path.is_file():
        raise LpsInputError(f"{path} not found; nothing to resume")
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # a damaged or foreign file: refuse, do not guess
        raise LpsInputError(f"cannot read checkpoint {path}: {exc}") from exc


def save_run(
    run_dir: str | Path,
    *,
    model: Any,
    config: dict[str, Any],
    history: Any,
    latents: dict[str, np.ndarray],
    metrics: dict[str, Any],
) -> Path:
    """Write every file of a run directory (created if needed), then remove ``INCOMPLETE``.

    Signals wait until every file is written (one critical section).
    """
    with critical():
        return _save_run(run_dir, model, config, history, latents, metrics)


def _save_run(
    run_dir: str | Path,
    model: Any,
    config: dict[str, Any],
    history: Any,
    latents: dict[str, np.ndarray],
    metrics: dict[str, Any],
) -> Path:
    import torch

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    atomic_write(run_dir / WEIGHTS_FILE, lambda tmp: torch.save(state, tmp))
    _write_json(run_dir / CONFIG_FILE, config)
    write_history(run_dir, history)

    def _savez(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # a file object: np.savez would append ".npz" to a name
            np.savez(fh, **latents)

    atomic_write(run_dir / LATENTS_FILE, _savez)
    _write_json(run_dir / METRICS_FILE, metrics)  # the last result
    (run_dir / INCOMPLETE_FILE).unlink(missing_ok=True)  # last: the run is finished
    return run_dir


def write_config(run_dir: str | Path, config: dict[str, Any]) -> None:
    """Write ``config.json`` atomically."""
    _write_json(Path(run_dir) / CONFIG_FILE, config)


def write_history(run_dir: str | Path, history: Any) -> None:
    """Write the history DataFrame to ``history.csv`` atomically."""
    atomic_write(Path(run_dir) / HISTORY_FILE, lambda tmp: history.to_csv(tmp, index=False))


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``config.json`` as a dict."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise LpsInputError(f"{path} not found; pass a run directory written by `lps-eval train`")
    try:
        config = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LpsInputError(
            f"{path} is not valid JSON ({exc}); restore it from the run or train again"
        ) from None
    if not isinstance(config, dict):
        raise LpsInputError(f"{path} must hold a JSON object; restore it from the run")
    return config


def _architecture(config: dict[str, Any], path: Path) -> dict[str, Any]:
    """The ``architecture`` entry of a config, checked field by field."""
    arch = config.get("architecture")
    problem = None
    if not isinstance(arch, dict):
        problem = "it is missing"
    else:
        shape = arch.get("image_shape")
        if not (
            isinstance(shape, list)
            and len(shape) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in shape)
        ):
            problem = f"image_shape must be [C, H, W] positive integers, got {shape!r}"
        for key in ("latent_dim", "width", "hidden"):
            value = arch.get(key)
            if problem is None and not (
                isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 2**16
            ):
                problem = f"{key} must be a positive integer, got {value!r}"
    if problem:
        raise LpsInputError(
            f"{path} has no valid 'architecture' ({problem}); restore it from the run"
        )
    return arch


def load_model(run_dir: str | Path, *, device: str = "cpu") -> tuple[Any, dict[str, Any]]:
    """Rebuild the model of a run and load its weights without unpickling objects.

    Returns
    -------
    (model, config)
        The :class:`~lps_eval.train.models.ConvAutoencoder` in eval mode, and the config.
    """
    import torch

    from lps_eval.train.models import ConvAutoencoder

    config = read_config(run_dir)
    weights = Path(run_dir) / WEIGHTS_FILE
    if not weights.is_file():
        raise LpsInputError(f"{weights} not found; the run directory is incomplete")
    arch = _architecture(config, Path(run_dir) / CONFIG_FILE)
    try:
        model = ConvAutoencoder(
            tuple(arch["image_shape"]),
            arch["latent_dim"],
            width=arch["width"],
            hidden=arch["hidden"],
        )
    except (ValueError, RuntimeError, TypeError) as exc:
        raise LpsInputError(
            f"{Path(run_dir) / CONFIG_FILE}: cannot build the model ({exc}); restore the config"
        ) from None
    # tensors only, never pickled objects; sizes checked before reading
    state = load_tensors(weights, map_location=device)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise LpsInputError(
            f"{weights} does not match the model: it must hold a state_dict (names -> tensors)"
        )
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()
        detail = " ".join(line.strip() for line in first[1:3])[:300] if len(first) > 1 else ""
        raise LpsInputError(
            f"{weights} does not match the model described in {CONFIG_FILE} ({detail}); "
            "the weights and config come from different runs or were edited"
        ) from None
    return model.to(device).eval(), config
