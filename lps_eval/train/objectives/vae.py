"""The VAE family's shared step: a Gaussian posterior, the reparameterization, the ELBO.

q(z|x) = N(mu(x), diag sigma^2(x)); z = mu + sigma eps with eps ~ N(0, I) from torch's
seeded generator; KL(q(z|x) || N(0, I)) = 0.5 sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1)
(Kingma & Welling 2014), averaged over the batch. Every subclass adds its own term to
R_sum(x, dec(z)) in :meth:`GaussianVAE.total`; ``reg`` in the log is always this KL.
"""

from __future__ import annotations

from typing import Any

from lps_eval.train.objectives.base import Objective, kl_to_standard_normal

__all__ = ["GaussianVAE", "Posterior"]


class Posterior:
    """One batch through the encoder: mean, log-variance, a sample and the KL."""

    def __init__(self, model: Any, x: Any) -> None:
        import torch

        self.mean, self.logvar = model.encode(x)
        self.z = self.mean + torch.randn_like(self.mean) * torch.exp(0.5 * self.logvar)
        self.kl = kl_to_standard_normal(self.mean, self.logvar)


class GaussianVAE(Objective):
    """VAE objectives: ``total(recon, posterior, step)`` adds the regularizer to R_sum."""

    stochastic = True
    default_reduction = "sum"

    def total(self, recon: Any, q: Posterior, step: int) -> tuple[Any, dict[str, Any]]:
        """The loss from R and the posterior, and the extra log values."""
        raise NotImplementedError

    def loss(self, model: Any, batches: list[Any], step: int) -> tuple[Any, dict[str, float]]:
        x = batches[0]
        q = Posterior(model, x)
        recon = self.reconstruction(model.decode(q.z), x)
        total, extra = self.total(recon, q, step)
        return total, self.parts(total, recon, q.kl, **extra)
