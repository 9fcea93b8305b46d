"""``beta_tcvae``: the ELBO's KL split into index-code MI, total correlation, dimension-wise KL.

Chen, Li, Grosse, Duvenaud, "Isolating Sources of Disentanglement in VAEs" (NeurIPS 2018),
eq. (2) and (4):

    L = R_sum(x, dec(z)) + alpha I_q(z; n) + beta TC(q(z)) + gamma sum_j KL(q(z_j) || p(z_j))

    I_q  = E[log q(z|n) - log q(z)]
    TC   = E[log q(z) - sum_j log q(z_j)]
    dimKL = E[sum_j log q(z_j) - log p(z)]

with alpha = gamma = 1 in the paper (beta alone varies). The aggregate posterior
q(z) = (1/N) sum_n q(z|n) is estimated on the minibatch {n_1..n_M} at each sampled z_i:

* ``mws`` (minibatch weighted sampling): q(z_i) ~ (1/M) sum_j q(z_i | n_j). Chen et al.
  print the normalizer as 1/(N M); the extra 1/N is a constant that leaves every
  gradient unchanged but shifts the estimate of TC by (d - 1) log N, so we use 1/M,
  which makes the logged TC an estimate of the TC (checked against the closed form of a
  correlated Gaussian in the tests).
* ``mss`` (minibatch stratified sampling, their appendix C.2): q(z_i) ~ sum_j w_ij
  q(z_i | n_j) with w_ii = 1/N, one other weight (N - M + 1) / (N (M - 1)) and the
  remaining M - 2 weights 1/(M - 1) (they sum to 1); N is the dataset size.

The same weights give each marginal q(z_ij) from the 1-D densities. ``reg`` in the log is
the closed-form KL (as for every VAE); ``mi``, ``tc`` and ``dim_kl`` are the estimates.
"""

from __future__ import annotations

import math
from typing import Any

from lps_eval._validation import LpsInputError
from lps_eval.train.objectives.base import Param, gaussian_log_density
from lps_eval.train.objectives.registry import register_objective
from lps_eval.train.objectives.vae import GaussianVAE, Posterior

__all__ = ["BetaTCVAE", "aggregate_log_densities", "log_importance_weights"]


def log_importance_weights(batch_size: int, dataset_size: int, *, like: Any) -> Any:
    """Log of the minibatch-stratified weights w_ij (M x M), row i for target z_i.

    w_ii = 1/N; w_i,(i+1 mod M) = (N - M + 1) / (N (M - 1)); the rest 1/(M - 1).
    """
    import torch

    m, n = int(batch_size), int(dataset_size)
    w = torch.full((m, m), 1.0 / (m - 1), dtype=like.dtype, device=like.device)
    rows = torch.arange(m, device=like.device)
    w[rows, (rows + 1) % m] = (n - m + 1) / (n * (m - 1))
    w[rows, rows] = 1.0 / n
    return w.log()


def aggregate_log_densities(
    z: Any, mean: Any, logvar: Any, *, estimator: str = "mws", dataset_size: int | None = None
) -> tuple[Any, Any]:
    """Minibatch estimates of log q(z_i) and sum_j log q(z_ij) for each row i.

    Parameters
    ----------
    z, mean, logvar : tensors (M, d)
        Samples z_i ~ q(z | n_i) and the posterior parameters of the batch.
    estimator : {"mws", "mss"}
    dataset_size : int
        N, the number of training examples (``mss`` only).

    Returns
    -------
    (log_qz, log_prod_qz) : tensors (M,)
    """
    import torch

    m = z.shape[0]
    # log q(z_i,k | n_j) for every pair (i, j) and dimension k: (M, M, d)
    pairs = gaussian_log_density(z[:, None, :], mean[None, :, :], logvar[None, :, :])
    if estimator == "mss":
        logw = log_importance_weights(m, dataset_size, like=z)
        log_qz = torch.logsumexp(logw + pairs.sum(2), dim=1)
        log_prod = torch.logsumexp(logw[:, :, None] + pairs, dim=1).sum(1)
    else:
        log_qz = torch.logsumexp(pairs.sum(2), dim=1) - math.log(m)
        log_prod = (torch.logsumexp(pairs, dim=1) - math.log(m)).sum(1)
    return log_qz, log_prod


@register_objective
class BetaTCVAE(GaussianVAE):
    """L = R_sum + alpha MI + beta TC + gamma dimKL (minibatch estimates)."""

    name = "beta_tcvae"
    aliases = ("btcvae", "tcvae", "beta_tc_vae")
    summary = "beta-TCVAE: ELBO with the KL split into MI + beta TC + dimension-wise KL"
    formula = "R_sum + alpha I_q(z;n) + beta TC(q(z)) + gamma sum_j KL(q(z_j) || p(z_j))"
    reference = "Chen, Li, Grosse & Duvenaud, NeurIPS 2018"
    params = (
        Param("alpha", 1.0, "weight of the index-code mutual information"),
        Param("beta", 4.0, "weight of the total correlation (4 in the paper's comparison)"),
        Param("gamma", 1.0, "weight of the dimension-wise KL"),
        Param(
            "estimator",
            "mws",
            "log q(z) estimator: mws (minibatch weighted) or mss (minibatch stratified)",
            kind="choice",
            choices=("mws", "mss"),
        ),
    )
    extra_columns = ("mi", "tc", "dim_kl")

    def check(self) -> None:
        if self.p["estimator"] == "mss" and not self.dataset_size:
            raise LpsInputError("beta_tcvae with estimator=mss needs the dataset size")

    def total(self, recon: Any, q: Posterior, step: int) -> tuple[Any, dict[str, Any]]:
        p = self.p
        if p["estimator"] == "mss" and q.z.shape[0] > self.dataset_size:
            raise LpsInputError(
                f"estimator=mss needs a batch no larger than the dataset ({self.dataset_size} "
                f"images), got {q.z.shape[0]} rows; lower batch_size or use estimator=mws"
            )
        log_qz, log_prod = aggregate_log_densities(
            q.z, q.mean, q.logvar, estimator=p["estimator"], dataset_size=self.dataset_size
        )
        log_qz_x = gaussian_log_density(q.z, q.mean, q.logvar).sum(1)
        log_pz = gaussian_log_density(q.z, 0.0 * q.z, 0.0 * q.z).sum(1)
        mi = (log_qz_x - log_qz).mean()
        tc = (log_qz - log_prod).mean()
        dim_kl = (log_prod - log_pz).mean()
        total = recon + p["alpha"] * mi + p["beta"] * tc + p["gamma"] * dim_kl
        return total, {"mi": mi, "tc": tc, "dim_kl": dim_kl}
