"""Named training configurations: ``cpu`` (a laptop, minutes) and ``paper`` (a GPU).

A preset fills every hyperparameter the caller leaves unset; explicit arguments always
win, and ``config.json`` records the preset name next to the effective values.

``cpu``
    batch 64, width 16, hidden 128, 6000 Adam steps from a peak rate of 1e-3 with a
    linear warm-up and cosine decay (:mod:`lps_eval.train.schedules`), Bernoulli
    likelihood (``recon="bce"``, binary-valued images), one torch thread. Measured on the
    2-core development machine: on ``xy`` (32 x 32) about 55 steps/s, and a plain AE
    reaches -26.8 dB NMSE at step 4000 (2 min 13 s for 6000 steps; the 0.2 preset's
    constant 5e-4 for 1500 steps gave -12.3 dB). On procedural dSprites (64 x 64) about
    13-16 steps/s alone, so 6-8 minutes per model; AE + MMD reached -8.8 dB at 6000
    steps, short of the paper's -17.9 dB (the paper trains far longer on a GPU).
``paper``
    the paper's batch 512 and the Higgins et al. (2017) dSprites network (width 32,
    hidden 256), 20,000 steps; the paper does not state its step count. Meant for a GPU:
    on the 2-core CPU one step took 6.6-6.9 s (about 2.7 hours per 1500 steps).
"""

from __future__ import annotations

from typing import Any

from lps_eval._validation import LpsInputError

__all__ = ["DEFAULTS", "PRESETS", "resolve_settings"]

#: Values used when neither the caller nor a preset sets a hyperparameter.
DEFAULTS: dict[str, Any] = {
    "steps": 5000,
    "batch_size": 512,
    "lr": 5e-4,
    "lr_schedule": "constant",
    "width": 32,
    "hidden": 256,
    "eval_size": 10000,
    "eval_every": None,  # None = about 10 evaluations per run (steps // 10)
    "eval_subset": 1000,
    "eval_budget": 0.10,
    "checkpoint_every": 500,
    "num_threads": None,
}

PRESETS: dict[str, dict[str, Any]] = {
    "cpu": {
        "steps": 6000,
        "lr": 1e-3,
        "batch_size": 64,
        "width": 16,
        "hidden": 128,
        "eval_every": 250,
        "eval_subset": 1000,
        "checkpoint_every": 500,
        "num_threads": 1,
        "lr_schedule": "cosine",
    },
    "paper": {
        "steps": 20000,
        "batch_size": 512,
        "width": 32,
        "hidden": 256,
        "eval_every": 1000,
        "eval_subset": 5000,
        "checkpoint_every": 1000,
    },
}


def resolve_settings(preset: str | None, explicit: dict[str, Any]) -> dict[str, Any]:
    """Effective settings: ``DEFAULTS``, then the preset, then explicit non-None values.

    Parameters
    ----------
    preset : {"cpu", "paper"} or None
    explicit : dict
        Values the caller set; ``None`` means "not set".
    """
    if preset is not None and preset not in PRESETS:
        raise LpsInputError(f"unknown preset {preset!r}; choose {' or '.join(PRESETS)}")
    out = dict(DEFAULTS)
    if preset is not None:
        out.update(PRESETS[preset])
    out.update({k: v for k, v in explicit.items() if v is not None})
    return out
