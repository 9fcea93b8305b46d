"""``factor_vae``: the ELBO plus gamma x a discriminator's estimate of the total correlation.

Kim & Mnih, "Disentangling by Factorising" (ICML 2018), eq. (2) and Algorithm 2:

    L_VAE = R_sum(x, dec(z)) + KL(q(z|x) || N(0, I)) + gamma E_q(z)[log D(z) / (1 - D(z))]

D is a classifier of "sample of q(z)" against "sample of prod_j q(z_j)"; the density-ratio
trick makes log D(z) / (1 - D(z)) an estimate of log q(z) / prod_j q(z_j), so its mean is
an estimate of TC(q(z)). Each step uses two batches: z from the first for the VAE
loss and as D's positives, and the codes of the second, each dimension permuted
independently across the batch (``permute_dims``), as D's negatives. D minimizes

    -0.5 (E[log D(z)] + E[log (1 - D(perm(z')))]),

with its own Adam optimizer (the paper: lr 1e-4, betas (0.5, 0.9)); D is an MLP of
``disc_layers`` hidden layers of ``disc_hidden`` units with LeakyReLU(0.2) and two
logits (the paper: 6 layers of 1000 units). D's weights and optimizer are saved in every
checkpoint, so a resumed run continues bit-identically.
"""

from __future__ import annotations

from typing import Any

from lps_eval.train.objectives.base import Param
from lps_eval.train.objectives.registry import register_objective
from lps_eval.train.objectives.vae import GaussianVAE, Posterior

__all__ = [
    "FactorVAE",
    "discriminator_loss",
    "make_discriminator",
    "permute_dims",
    "tc_estimate",
]


def make_discriminator(latent_dim: int, *, hidden: int, layers: int) -> Any:
    """MLP d -> [hidden, LeakyReLU(0.2)] x layers -> 2 logits (class 0: q(z), 1: permuted)."""
    from torch import nn

    modules: list[Any] = []
    width = latent_dim
    for _ in range(layers):
        modules += [nn.Linear(width, hidden), nn.LeakyReLU(0.2)]
        width = hidden
    modules.append(nn.Linear(width, 2))
    return nn.Sequential(*modules)


def permute_dims(z: Any) -> Any:
    """Each column of ``z`` (n, d) shuffled independently (a sample of prod_j q(z_j))."""
    import torch

    n = z.shape[0]
    return torch.stack([z[torch.randperm(n, device=z.device), j] for j in range(z.shape[1])], 1)


def tc_estimate(discriminator: Any, z: Any) -> Any:
    """Mean of log D(z) / (1 - D(z)) = logit_0 - logit_1: the density-ratio estimate of TC."""
    logits = discriminator(z)
    return (logits[:, 0] - logits[:, 1]).mean()


def discriminator_loss(discriminator: Any, z: Any, z_permuted: Any) -> Any:
    """0.5 (CE(D(z), class 0) + CE(D(z_perm), class 1)): D's loss on detached codes."""
    import torch
    import torch.nn.functional as F

    real = discriminator(z)
    fake = discriminator(z_permuted)
    zeros = torch.zeros(real.shape[0], dtype=torch.long, device=real.device)
    ones = torch.ones(fake.shape[0], dtype=torch.long, device=fake.device)
    return 0.5 * (F.cross_entropy(real, zeros) + F.cross_entropy(fake, ones))


@register_objective
class FactorVAE(GaussianVAE):
    """L = R_sum + KL + gamma TC_D, with D trained alongside by its own optimizer."""

    name = "factor_vae"
    aliases = ("factorvae",)
    summary = "FactorVAE: ELBO + gamma x a discriminator's TC estimate (own optimizer)"
    formula = "R_sum + KL(q(z|x) || N(0, I)) + gamma E[log D(z) / (1 - D(z))]"
    reference = "Kim & Mnih, ICML 2018"
    params = (
        Param("gamma", 10.0, "weight of the TC estimate (10 in the paper's comparison)"),
        Param("disc_hidden", 1000, "discriminator hidden units", kind="int", low=1),
        Param("disc_layers", 6, "discriminator hidden layers", kind="int", low=1),
        Param("disc_lr", 1e-4, "discriminator Adam learning rate", low=1e-12, high=1.0),
        Param("disc_beta1", 0.5, "discriminator Adam beta1", high=0.999999),
        Param("disc_beta2", 0.9, "discriminator Adam beta2", high=0.999999),
    )
    batches_per_step = 2
    extra_columns = ("tc", "disc_loss")

    def build(self, model: Any, *, lr: float, device: str) -> None:
        import torch

        p = self.p
        self.discriminator = make_discriminator(
            self.latent_dim, hidden=p["disc_hidden"], layers=p["disc_layers"]
        ).to(device)
        self.disc_optimizer = torch.optim.Adam(
            self.discriminator.parameters(),
            lr=p["disc_lr"],
            betas=(p["disc_beta1"], p["disc_beta2"]),
        )

    def loss(self, model: Any, batches: list[Any], step: int) -> tuple[Any, dict[str, float]]:
        import torch

        x, x2 = batches
        q = Posterior(model, x)
        recon = self.reconstruction(model.decode(q.z), x)
        tc = tc_estimate(self.discriminator, q.z)
        total = recon + q.kl + self.p["gamma"] * tc
        with torch.no_grad():  # D's negatives: the second batch's codes, permuted
            z2 = Posterior(model, x2).z
        self._disc_loss = discriminator_loss(self.discriminator, q.z.detach(), permute_dims(z2))
        return total, self.parts(total, recon, q.kl, tc=tc, disc_loss=self._disc_loss)

    def after_backward(self) -> None:
        # the VAE's backward also reached D through the TC term: D learns from its own loss
        self.disc_optimizer.zero_grad(set_to_none=True)
        self._disc_loss.backward()

    def apply_updates(self) -> None:
        self.disc_optimizer.step()

    def state_dict(self) -> dict[str, Any]:
        return {
            "discriminator": self.discriminator.state_dict(),
            "disc_optimizer": self.disc_optimizer.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.discriminator.load_state_dict(state["discriminator"])
        self.disc_optimizer.load_state_dict(state["disc_optimizer"])
