"""``kl``: the (beta-)VAE, L = R_sum(x, dec(z)) + beta KL(q(z|x) || N(0, I)).

Kingma & Welling (ICLR 2014) for beta = 1; Higgins et al. (ICLR 2017) for the beta-VAE
(beta = 4 in Fruytier et al.'s comparison). z = mu + sigma eps.
"""

from __future__ import annotations

from typing import Any

from lps_eval.train.objectives.base import Param
from lps_eval.train.objectives.registry import register_objective
from lps_eval.train.objectives.vae import GaussianVAE, Posterior

__all__ = ["BetaVAE"]


@register_objective
class BetaVAE(GaussianVAE):
    """L = R_sum + beta KL."""

    name = "kl"
    aliases = ("vae", "beta_vae", "betavae")
    summary = "beta-VAE: ELBO with beta x KL (beta = 1 is the VAE)"
    formula = "R_sum(x, dec(z)) + beta KL(q(z|x) || N(0, I))"
    reference = "Kingma & Welling, ICLR 2014; Higgins et al., ICLR 2017"
    params = (Param("beta", 1.0, "KL weight (1 = VAE, 4 = the paper's beta-VAE)"),)

    def total(self, recon: Any, q: Posterior, step: int) -> tuple[Any, dict[str, Any]]:
        return recon + self.p["beta"] * q.kl, {}
