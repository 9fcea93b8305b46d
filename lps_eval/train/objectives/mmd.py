"""``mmd``: AE + lambda MMD^2 to a programmable prior (the paper's objective; WAE-MMD).

L = R_mean(x, dec(mu(x))) + lambda MMD^2({mu(x_i)}, {y_j ~ p}), with a fresh batch of
prior samples every step. Defaults are the paper's (Fruytier et al. 2025, section 3):
lambda = 0.3, the biased V-statistic, a sum of RBF kernels at {0.5, 1, 2} x the median
pairwise distance. With ``kernel=imq`` and ``estimator=unbiased`` it is the WAE-MMD of
Tolstikhin et al. (ICLR 2018): inverse multiquadratics C / (C + ||x - y||^2) summed over
C in {0.1, ..., 10} x 2 d var. The MMD is :func:`lps_eval.prior_matching.mmd2`, the same
code that scores the trained model; the prior is any prior spec.
"""

from __future__ import annotations

from typing import Any

from lps_eval.train.objectives.ae import Autoencoder
from lps_eval.train.objectives.base import Param
from lps_eval.train.objectives.registry import register_objective

__all__ = ["MmdAutoencoder", "kernel_names", "mmd_penalty"]


def kernel_names() -> tuple[str, ...]:
    """The kernels of :mod:`lps_eval.prior_matching.kernels` (registered ones included)."""
    from lps_eval.prior_matching import KERNELS

    return tuple(KERNELS)


def mmd_penalty(objective: Any, z: Any) -> Any:
    """MMD^2 between the codes ``z`` and fresh samples of the objective's prior."""
    from lps_eval.prior_matching import mmd2

    y = objective.prior_sample(z)
    return mmd2(
        z, y, kernel=objective.p["kernel"], bandwidth=None, estimator=objective.p["estimator"]
    )


@register_objective
class MmdAutoencoder(Autoencoder):
    """L = R_mean + lambda MMD^2(q(z), p)."""

    name = "mmd"
    aliases = ("wae", "ae_mmd", "wae_mmd")
    summary = "AE + lambda MMD^2 to --prior (the paper's objective; WAE-MMD)"
    formula = "R_mean(x, dec(mu(x))) + lambda MMD^2({mu(x_i)}, {y_j ~ p})"
    reference = "Fruytier et al. 2025 (arXiv 2510.11953); Tolstikhin et al., ICLR 2018 (WAE-MMD)"
    params = (
        Param("lambda", 0.3, "weight of MMD^2 (the paper's lambda)"),
        Param(
            "kernel",
            "rbf_multiscale",
            "MMD kernel: rbf_multiscale (paper), imq (WAE), rbf, distance",
            kind="choice",
            choices=kernel_names,
        ),
        Param(
            "estimator",
            "biased",
            "MMD^2 estimator: biased V-statistic (paper) or unbiased U-statistic (WAE)",
            kind="choice",
            choices=("biased", "unbiased"),
        ),
    )
    any_prior = True
    uses_prior = True
    weight_param = "lambda"

    def regularizer(self, z: Any) -> Any:
        return mmd_penalty(self, z)
