"""Reference trainer: autoencoders and VAEs with a registry of objectives.

Requires torch (``pip install lps-eval[torch]``); the rest of lps_eval does not. The
names below are loaded when first used, so ``lps_eval.train.signals`` (the Ctrl-C
handling that ``lps-eval train`` installs before anything heavy) and
``lps_eval.train.objectives`` (the registry the CLI's help reads) import in
milliseconds.

>>> from lps_eval.train import fit                                   # doctest: +SKIP
>>> run = fit("dsprites", objective="mmd", prior="gaussian", latent_dim=5,
...           steps=3000, seed=0, out="runs/mmd")                    # doctest: +SKIP
>>> run.z.shape, run.nmse_db                                         # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public name -> the module that defines it.
_EXPORTS = {
    "ProceduralDSprites": "lps_eval.train.data",
    "digits": "lps_eval.train.data",
    "make_source": "lps_eval.train.data",
    "render_dsprites": "lps_eval.train.data",
    "load_model": "lps_eval.train.checkpoint",
    "read_config": "lps_eval.train.checkpoint",
    "TrainingInterrupted": "lps_eval.train.run",
    "TrainResult": "lps_eval.train.run",
    "encode": "lps_eval.train.loop",
    "fit": "lps_eval.train.loop",
    "nmse_db": "lps_eval.train.loop",
    "resume": "lps_eval.train.loop",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Load a public name on first use (and keep it)."""
    if name not in _EXPORTS:
        raise AttributeError(f"module 'lps_eval.train' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
