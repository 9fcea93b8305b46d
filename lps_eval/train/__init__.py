"""Reference trainer: AE, AE + MMD with programmable priors, and (beta-)VAE.

Requires torch (``pip install lps-eval[torch]``); the rest of lps_eval does not.

>>> from lps_eval.train import fit                                   # doctest: +SKIP
>>> run = fit("dsprites", objective="mmd", prior="gaussian", latent_dim=5,
...           steps=3000, seed=0, out="runs/mmd")                    # doctest: +SKIP
>>> run.z.shape, run.nmse_db                                         # doctest: +SKIP
"""

from lps_eval.train.checkpoint import load_model, read_config
from lps_eval.train.data import ProceduralDSprites, digits, make_source, render_dsprites
from lps_eval.train.loop import TrainingInterrupted, TrainResult, encode, fit, nmse_db, resume

__all__ = [
    "ProceduralDSprites",
    "TrainResult",
    "TrainingInterrupted",
    "digits",
    "encode",
    "fit",
    "load_model",
    "make_source",
    "nmse_db",
    "read_config",
    "render_dsprites",
    "resume",
]
