"""The run directory: weights without pickle, a config that reproduces the run, the log.

Layout of ``RUN_DIR``::

    model.pt      plain state_dict of tensors (torch.save); read with
                  torch.load(weights_only=True), which refuses arbitrary pickled objects
    config.json   every argument of :func:`lps_eval.train.fit` plus architecture and versions
    history.csv   one row per step: step, loss, recon, reg, seconds
    latents.npz   z (posterior mean), index (rows of the dataset), factors and
                  factor_names when the dataset has them
    metrics.json  reconstruction NMSE in dB on the evaluation set, training time
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError
from lps_eval.io import load_tensors

__all__ = [
    "CONFIG_FILE",
    "LATENTS_FILE",
    "METRICS_FILE",
    "WEIGHTS_FILE",
    "load_model",
    "read_config",
    "save_run",
]

WEIGHTS_FILE = "model.pt"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
LATENTS_FILE = "latents.npz"
METRICS_FILE = "metrics.json"


def save_run(
    run_dir: str | Path,
    *,
    model: Any,
    config: dict[str, Any],
    history: Any,
    latents: dict[str, np.ndarray],
    metrics: dict[str, Any],
) -> Path:
    """Write every file of a run directory (created if needed) and return its path."""
    import torch

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, run_dir / WEIGHTS_FILE)
    (run_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    history.to_csv(run_dir / HISTORY_FILE, index=False)
    np.savez(run_dir / LATENTS_FILE, **latents)
    (run_dir / METRICS_FILE).write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    return run_dir


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
