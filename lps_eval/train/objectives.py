"""Training objectives: plain AE, AE + MMD to a programmable prior, (beta-)VAE.

All three share the model (:class:`~lps_eval.train.models.ConvAutoencoder`) and the
reconstruction term; they differ in the regularizer on the latent codes.

* ``ae``:  L = R_mean(x, x_hat(mu(x)))
* ``mmd``: L = R_mean(x, x_hat(mu(x))) + lambda * MMD^2_b({mu(x_i)}, {y_j ~ p})
  (Fruytier et al. 2025, section 3: "AE loss + lambda MMD^2", lambda = 0.3, a fresh
  batch of prior samples every step, biased V-statistic, sum of RBF kernels at
  {0.5, 1, 2} x the median pairwise distance). The MMD is :func:`lps_eval.prior_matching.mmd2`, the
  same code that scores the trained model; the prior is any :mod:`lps_eval.prior_matching.priors` spec.
* ``kl``:  L = R_sum(x, x_hat(z)) + beta * KL(N(mu, diag sigma^2) || N(0, I)),
  z = mu + sigma * eps (Kingma & Welling 2014; beta-VAE: Higgins et al., ICLR 2017;
  beta = 1 is the standard VAE). KL = 0.5 * sum_j (mu_j^2 + sigma_j^2 - log sigma_j^2 - 1).

R is the Bernoulli negative log-likelihood (binary cross-entropy on logits, the dSprites
convention) or the squared error; ``R_mean`` averages it over pixels ("AE loss", the scale
on which lambda = 0.3 is defined), ``R_sum`` sums it over pixels (the ELBO, the scale on
which beta is defined). Both average over the batch. ``recon_reduction`` overrides the
per-objective default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lps_eval._validation import LpsInputError

__all__ = ["OBJECTIVES", "Objective", "kl_to_standard_normal", "make_objective", "recon_loss"]

OBJECTIVES = ("ae", "mmd", "kl")
_ALIASES = {"vae": "kl", "beta_vae": "kl", "beta-vae": "kl", "wae": "mmd", "ae_mmd": "mmd"}


def recon_loss(logits: torch.Tensor, x: torch.Tensor, *, kind: str, reduction: str) -> torch.Tensor:
    """Reconstruction loss, averaged over the batch; summed or averaged over pixels.

    ``kind="bce"``: -[x log s(l) + (1 - x) log(1 - s(l))] with s the sigmoid (stable on
    logits); ``kind="mse"``: (x - s(l))^2.
    """
    if kind == "bce":
        per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    else:
        per_pixel = (torch.sigmoid(logits) - x) ** 2
    per_image = per_pixel.flatten(1)
    per_image = per_image.sum(1) if reduction == "sum" else per_image.mean(1)
    return per_image.mean()


def kl_to_standard_normal(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, I)) summed over dimensions, averaged over the batch."""
    return 0.5 * (mean.pow(2) + logvar.exp() - logvar - 1.0).sum(1).mean()


@dataclass
class Objective:
    """A loss ``objective(model, x) -> (total, parts)`` with its settings.

    ``parts`` maps ``"recon"`` and ``"reg"`` (MMD^2 or KL, 0 for ``ae``) to floats for the
    training log. Prior samples for ``mmd`` come from ``rng`` (a seeded numpy Generator).
    """

    name: str
    recon: str = "bce"
    recon_reduction: str = "mean"
    mmd_weight: float = 0.3
    kernel: str = "rbf_multiscale"
    estimator: str = "biased"
    beta: float = 1.0
    prior: Any = None
    rng: np.random.Generator | None = None

    @property
    def stochastic(self) -> bool:
        """True when the encoder is a Gaussian posterior (sampling during training)."""
        return self.name == "kl"

    @property
    def weight(self) -> float:
        """The regularizer's weight (lambda for mmd, beta for kl, 0 for ae)."""
        return {"ae": 0.0, "mmd": self.mmd_weight, "kl": self.beta}[self.name]

    def __call__(
        self, model: torch.nn.Module, x: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        mean, logvar = model.encode(x)
        if self.name == "kl":
            z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
            reg = kl_to_standard_normal(mean, logvar)
        else:
            z = mean
            reg = self._mmd(z) if self.name == "mmd" else torch.zeros((), device=x.device)
        recon = recon_loss(model.decode(z), x, kind=self.recon, reduction=self.recon_reduction)
        total = recon + self.weight * reg if self.name != "ae" else recon
        return total, {
            "loss": float(total.detach()),
            "recon": float(recon.detach()),
            "reg": float(reg.detach()),
        }

    def _mmd(self, z: torch.Tensor) -> torch.Tensor:
        from lps_eval.prior_matching import mmd2

        n, d = z.shape
        # a finite-sample prior (samples:) gives at most its stored rows, never duplicates
        m = n if self.prior.n_rows is None else min(n, self.prior.n_rows)
        y = np.asarray(self.prior.sample(m, d, self.rng))
        y_t = torch.as_tensor(y, dtype=z.dtype, device=z.device)
        return mmd2(z, y_t, kernel=self.kernel, bandwidth=None, estimator=self.estimator)


def normalize_objective(name: str) -> str:
    """Canonical objective name (``vae``/``beta_vae`` -> ``kl``, ``wae`` -> ``mmd``)."""
    key = str(name).lower()
    key = _ALIASES.get(key, key)
    if key not in OBJECTIVES:
        raise LpsInputError(
            f"unknown objective {name!r}; choose ae, mmd (AE + MMD to a prior) or kl (VAE)"
        )
    return key


def make_objective(
    name: str,
    *,
    latent_dim: int,
    prior: Any = "gaussian",
    mmd_weight: float = 0.3,
    kernel: str = "rbf_multiscale",
    beta: float = 1.0,
    recon: str = "bce",
    recon_reduction: str | None = None,
    rng: np.random.Generator,
) -> Objective:
    """Build and validate an :class:`Objective`.

    Parameters
    ----------
    name : {"ae", "mmd", "kl"}
        Objective (aliases: ``vae``, ``beta_vae`` -> kl; ``wae`` -> mmd).
    latent_dim : int
        d, needed to parse per-dimension priors such as ``hybrid(...)``.
    prior : str or object
        Prior spec for ``mmd`` (any :func:`lps_eval.prior_matching.priors.parse_prior` spec or an object
        with ``sample(n, d, rng)``); ``kl`` supports only ``gaussian`` (its KL is closed
        form against N(0, I)); ignored by ``ae``.
    mmd_weight, kernel, beta, recon, recon_reduction
        See the module docstring. ``recon_reduction`` defaults to ``"mean"`` for ae/mmd and
        ``"sum"`` for kl.
    rng : numpy.random.Generator
        Source of prior samples.
    """
    key = normalize_objective(name)
    if recon not in ("bce", "mse"):
        raise LpsInputError(f"recon must be 'bce' or 'mse', got {recon!r}")
    reduction = recon_reduction or ("sum" if key == "kl" else "mean")
    if reduction not in ("mean", "sum"):
        raise LpsInputError(f"recon_reduction must be 'mean' or 'sum', got {reduction!r}")
    if not np.isfinite(mmd_weight) or mmd_weight < 0:
        raise LpsInputError(f"mmd_weight must be a finite number >= 0, got {mmd_weight}")
    if not np.isfinite(beta) or beta < 0:
        raise LpsInputError(f"beta must be a finite number >= 0, got {beta}")
    prior_obj = None
    if key == "mmd":
        prior_obj = resolve_prior(prior, latent_dim)
    elif key == "kl" and not (isinstance(prior, str) and prior.strip().lower() == "gaussian"):
        raise LpsInputError(
            f"objective kl supports only the gaussian prior, got {prior!r}; use --objective mmd "
            "for other priors"
        )
    return Objective(
        name=key,
        recon=recon,
        recon_reduction=reduction,
        mmd_weight=float(mmd_weight),
        kernel=kernel,
        beta=float(beta),
        prior=prior_obj,
        rng=rng,
    )


def resolve_prior(prior: Any, latent_dim: int) -> Any:
    """A prior object with ``sample(n, d, rng)`` from a spec string or an object."""
    if hasattr(prior, "sample") and not isinstance(prior, str):
        return prior
    from lps_eval.prior_matching import parse_prior

    return parse_prior(prior, n_dims=latent_dim)
