"""``info_vae``: the ELBO with a re-weighted KL and an MMD term on the aggregate posterior.

Zhao, Song & Ermon, "InfoVAE: Balancing Learning and Inference in Variational
Autoencoders" (AAAI 2019), with the MMD as the divergence D:

    L = R_sum(x, dec(z)) + (1 - alpha) KL(q(z|x) || N(0, I))
        + (alpha + lambda - 1) MMD^2({z_i ~ q(z|x_i)}, {y_j ~ N(0, I)})

The paper requires alpha <= 1 and alpha + lambda - 1 >= 0 (checked here). alpha = 0 keeps
the full KL; the MMD-VAE uses alpha = 1. The MMD is :func:`lps_eval.prior_matching.mmd2`
on the sampled codes with fresh prior samples every step (kernel and estimator as for
``mmd``; Zhao et al. use one Gaussian kernel). Defaults alpha = 0, lambda = 1000 are our
choice for images with a summed reconstruction term.
"""

from __future__ import annotations

from typing import Any

from lps_eval._validation import LpsInputError
from lps_eval.train.objectives.base import Param
from lps_eval.train.objectives.mmd import kernel_names, mmd_penalty
from lps_eval.train.objectives.registry import register_objective
from lps_eval.train.objectives.vae import GaussianVAE, Posterior

__all__ = ["InfoVAE"]


@register_objective
class InfoVAE(GaussianVAE):
    """L = R_sum + (1 - alpha) KL + (alpha + lambda - 1) MMD^2(q(z), p)."""

    name = "info_vae"
    aliases = ("infovae", "mmd_vae")
    summary = "InfoVAE: (1 - alpha) KL + (alpha + lambda - 1) MMD^2 to N(0, I)"
    formula = "R_sum + (1 - alpha) KL(q(z|x) || p) + (alpha + lambda - 1) MMD^2(q(z), p)"
    reference = "Zhao, Song & Ermon, AAAI 2019"
    params = (
        Param("alpha", 0.0, "alpha of the paper (<= 1)", low=None, high=1.0),
        Param("lambda", 1000.0, "lambda of the paper (> 0; alpha + lambda >= 1)"),
        Param(
            "kernel",
            "rbf_multiscale",
            "MMD kernel (see --objective mmd)",
            kind="choice",
            choices=kernel_names,
        ),
        Param(
            "estimator",
            "biased",
            "MMD^2 estimator: biased or unbiased",
            kind="choice",
            choices=("biased", "unbiased"),
        ),
    )
    extra_columns = ("batch_mmd2",)

    def check(self) -> None:
        alpha, lam = self.p["alpha"], self.p["lambda"]
        if lam <= 0 or alpha + lam - 1 < 0:
            raise LpsInputError(
                f"info_vae needs lambda > 0 and alpha + lambda >= 1 (Zhao et al.), got "
                f"alpha={alpha:g}, lambda={lam:g}"
            )

    def total(self, recon: Any, q: Posterior, step: int) -> tuple[Any, dict[str, Any]]:
        alpha, lam = self.p["alpha"], self.p["lambda"]
        mmd2 = mmd_penalty(self, q.z)
        return recon + (1 - alpha) * q.kl + (alpha + lam - 1) * mmd2, {"batch_mmd2": mmd2}
