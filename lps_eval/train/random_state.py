"""Every random stream a training run draws from, saved and restored as plain values.

A run draws from five generators: torch's global one (initial weights, the VAE's
reparameterization noise, permutations), two seeded numpy Generators spawned from
``SeedSequence(seed)`` (the training batches and the prior samples), and, for code
outside the trainer, numpy's legacy global generator and python's ``random``. A
checkpoint holds all five as tensors, numbers, strings, lists and dicts, so it is read
back with ``torch.load(weights_only=True)`` and the continuation is bit-identical.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

__all__ = ["RandomStreams"]


class RandomStreams:
    """The seeded numpy streams of one run, and the capture / restore of every stream.

    Parameters
    ----------
    seed : int
        ``SeedSequence(seed).spawn(2)`` gives the batch stream and the prior stream.

    Attributes
    ----------
    data : numpy.random.Generator
        Draws the training batches.
    prior : numpy.random.Generator
        Draws the prior samples of MMD objectives.
    """

    def __init__(self, seed: int) -> None:
        data_seq, prior_seq = np.random.SeedSequence(seed).spawn(2)
        self.data = np.random.default_rng(data_seq)
        self.prior = np.random.default_rng(prior_seq)

    def capture(self) -> dict[str, Any]:
        """Every random state training depends on (no pickled objects)."""
        import torch

        _, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002 (saved, not used)
        version, internal, gauss = random.getstate()
        return {
            "torch": torch.get_rng_state(),
            "numpy_data": self.data.bit_generator.state,
            "numpy_prior": self.prior.bit_generator.state,
            "numpy_global": {
                "keys": torch.as_tensor(keys.astype(np.int64)),
                "pos": int(pos),
                "has_gauss": int(has_gauss),
                "cached": float(cached),
            },
            "python": {"version": version, "internal": list(internal), "gauss": gauss},
        }

    def capture_training(self) -> dict[str, Any]:
        """The streams a training step draws from (torch, batches, prior), cheaply."""
        import torch

        return {
            "torch": torch.get_rng_state(),
            "numpy_data": self.data.bit_generator.state,
            "numpy_prior": self.prior.bit_generator.state,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Put every stream back where :meth:`capture` found it."""
        import torch

        torch.set_rng_state(state["torch"])
        self.data.bit_generator.state = state["numpy_data"]
        self.prior.bit_generator.state = state["numpy_prior"]
        g = state["numpy_global"]
        keys = g["keys"].numpy().astype(np.uint32)
        legacy = ("MT19937", keys, g["pos"], g["has_gauss"], g["cached"])
        np.random.set_state(legacy)  # noqa: NPY002 (restored for code outside the trainer)
        p = state["python"]
        random.setstate((p["version"], tuple(p["internal"]), p["gauss"]))
