"""``annealed_vae``: the beta-VAE with a growing information capacity C.

Burgess, Higgins, Pal, Matthey, Watters, Desjardins & Lerchner, "Understanding
disentangling in beta-VAE" (2018), eq. (8):

    L = R_sum(x, dec(z)) + gamma |KL(q(z|x) || N(0, I)) - C(t)|,
    C(t) = min(C_max, C_max (t - 1) / T)    at optimizer step t = 1, 2, ...

C grows linearly from 0 (the first step) to C_max after T steps. The defaults are the
paper's dSprites values (gamma = 1000, C_max = 25 nats, T = 100,000 steps); a short CPU run
should lower ``capacity_steps`` to its own length, or C never gets far from 0.
"""

from __future__ import annotations

from typing import Any

from lps_eval.train.objectives.base import Param
from lps_eval.train.objectives.registry import register_objective
from lps_eval.train.objectives.vae import GaussianVAE, Posterior

__all__ = ["AnnealedVAE", "capacity"]


def capacity(step: int, *, c_max: float, steps: int) -> float:
    """C(t) = min(C_max, C_max (t - 1) / T) for the 1-based step t."""
    return min(float(c_max), float(c_max) * (int(step) - 1) / float(steps))


@register_objective
class AnnealedVAE(GaussianVAE):
    """L = R_sum + gamma |KL - C(t)|."""

    name = "annealed_vae"
    aliases = ("annealedvae", "capacity_vae")
    summary = "annealed VAE: gamma |KL - C| with the capacity C growing to C_max"
    formula = "R_sum + gamma |KL(q(z|x) || N(0, I)) - C(t)|, C(t) = min(C_max, C_max (t-1)/T)"
    reference = "Burgess et al. 2018, Understanding disentangling in beta-VAE"
    params = (
        Param("gamma", 1000.0, "weight of |KL - C|"),
        Param("c_max", 25.0, "final capacity C_max in nats"),
        Param("capacity_steps", 100000, "steps T over which C grows to C_max", kind="int", low=1),
    )
    extra_columns = ("capacity",)

    def total(self, recon: Any, q: Posterior, step: int) -> tuple[Any, dict[str, Any]]:
        c = capacity(step, c_max=self.p["c_max"], steps=self.p["capacity_steps"])
        return recon + self.p["gamma"] * (q.kl - c).abs(), {"capacity": c}
