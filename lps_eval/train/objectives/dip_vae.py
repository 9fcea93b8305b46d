"""``dip_vae_i`` and ``dip_vae_ii``: the ELBO plus a penalty on the covariance of the codes.

Kumar, Sattigeri & Balakrishnan, "Variational Inference of Disentangled Latent Concepts
from Unlabeled Observations" (ICLR 2018):

    L = R_sum + KL(q(z|x) || N(0, I)) + lambda_od sum_{i != j} C_ij^2 + lambda_d sum_i (C_ii - 1)^2

* DIP-VAE-I: C = Cov_p(x)[mu(x)], the covariance of the posterior means over the batch;
* DIP-VAE-II: C = E_p(x)[diag sigma^2(x)] + Cov_p(x)[mu(x)], the covariance of q(z).

Covariances are the batch's (1/M). The paper sets lambda_d = 10 lambda_od for DIP-VAE-I and
lambda_d = lambda_od for DIP-VAE-II; the defaults follow that with lambda_od = 10.
"""

from __future__ import annotations

from typing import Any

from lps_eval.train.objectives.base import Param
from lps_eval.train.objectives.registry import register_objective
from lps_eval.train.objectives.vae import GaussianVAE, Posterior

__all__ = ["DipVAEI", "DipVAEII", "batch_covariance", "dip_penalty"]


def batch_covariance(x: Any) -> Any:
    """Covariance of the rows of ``x`` (n, d) with the 1/n normalization."""
    centred = x - x.mean(0)
    return centred.T @ centred / x.shape[0]


def dip_penalty(cov: Any, *, lambda_od: float, lambda_d: float) -> Any:
    """lambda_od sum_{i != j} C_ij^2 + lambda_d sum_i (C_ii - 1)^2 (zero iff C = I)."""
    diag = cov.diagonal()
    off = cov - diag.diag_embed()
    return lambda_od * (off**2).sum() + lambda_d * ((diag - 1.0) ** 2).sum()


class _DipVAE(GaussianVAE):
    extra_columns = ("dip",)

    def covariance(self, q: Posterior) -> Any:
        raise NotImplementedError

    def total(self, recon: Any, q: Posterior, step: int) -> tuple[Any, dict[str, Any]]:
        dip = dip_penalty(
            self.covariance(q), lambda_od=self.p["lambda_od"], lambda_d=self.p["lambda_d"]
        )
        return recon + q.kl + dip, {"dip": dip}


@register_objective
class DipVAEI(_DipVAE):
    """C = Cov[mu(x)]."""

    name = "dip_vae_i"
    aliases = ("dip_vae", "dipvae_i", "dip_i")
    summary = "DIP-VAE-I: ELBO + penalty pushing Cov[mu(x)] to the identity"
    formula = (
        "R_sum + KL + lambda_od sum_{i!=j} C_ij^2 + lambda_d sum_i (C_ii - 1)^2, C = Cov[mu(x)]"
    )
    reference = "Kumar, Sattigeri & Balakrishnan, ICLR 2018"
    params = (
        Param("lambda_od", 10.0, "weight of the off-diagonal entries"),
        Param("lambda_d", 100.0, "weight of the diagonal entries (10 lambda_od in the paper)"),
    )

    def covariance(self, q: Posterior) -> Any:
        return batch_covariance(q.mean)


@register_objective
class DipVAEII(_DipVAE):
    """C = E[diag sigma^2(x)] + Cov[mu(x)]."""

    name = "dip_vae_ii"
    aliases = ("dipvae_ii", "dip_ii")
    summary = "DIP-VAE-II: ELBO + penalty pushing Cov[z] under q(z) to the identity"
    formula = "as dip_vae_i with C = E[diag sigma^2(x)] + Cov[mu(x)]"
    reference = "Kumar, Sattigeri & Balakrishnan, ICLR 2018"
    params = (
        Param("lambda_od", 10.0, "weight of the off-diagonal entries"),
        Param("lambda_d", 10.0, "weight of the diagonal entries (lambda_od in the paper)"),
    )

    def covariance(self, q: Posterior) -> Any:
        return batch_covariance(q.mean) + q.logvar.exp().mean(0).diag_embed()
