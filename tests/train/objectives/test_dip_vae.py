"""DIP-VAE's covariance penalty: zero exactly on the identity, the formula elsewhere.

lambda_od sum_{i != j} C_ij^2 + lambda_d sum_i (C_ii - 1)^2 (Kumar et al. 2018); DIP-VAE-I
penalizes C = Cov[mu(x)], DIP-VAE-II C = E[diag sigma^2(x)] + Cov[mu(x)].
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lps_eval.train.objectives import make_objective  # noqa: E402
from lps_eval.train.objectives.dip_vae import batch_covariance, dip_penalty  # noqa: E402
from lps_eval.train.objectives.vae import Posterior  # noqa: E402


def test_penalty_is_zero_on_the_identity_and_positive_otherwise():
    eye = torch.eye(4, dtype=torch.float64)
    assert float(dip_penalty(eye, lambda_od=10, lambda_d=100)) == 0.0
    cov = eye.clone()
    cov[0, 1] = cov[1, 0] = 0.5
    # two off-diagonal entries of 0.5: 10 * 2 * 0.25
    assert float(dip_penalty(cov, lambda_od=10, lambda_d=100)) == pytest.approx(5.0)
    cov = 2.0 * eye
    # four diagonal entries off by 1: 100 * 4
    assert float(dip_penalty(cov, lambda_od=10, lambda_d=100)) == pytest.approx(400.0)


def test_batch_covariance_is_the_maximum_likelihood_one():
    x = torch.randn(50, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    ref = np.cov(x.numpy(), rowvar=False, bias=True)
    np.testing.assert_allclose(batch_covariance(x).numpy(), ref, rtol=1e-12)


def _posterior(mean, logvar):
    q = Posterior.__new__(Posterior)
    q.mean, q.logvar, q.z, q.kl = mean, logvar, mean, torch.zeros((), dtype=mean.dtype)
    return q


def test_dip_ii_adds_the_mean_posterior_variance():
    g = torch.Generator().manual_seed(3)
    # whitened means (Cov[mu] = I exactly) and posterior variances 0.25
    raw = torch.randn(200, 2, generator=g, dtype=torch.float64)
    raw = raw - raw.mean(0)
    mean = raw @ torch.linalg.inv(torch.linalg.cholesky(batch_covariance(raw))).T
    logvar = torch.full_like(mean, np.log(0.25))
    rng = np.random.default_rng(0)
    one = make_objective("dip_vae_i", latent_dim=2, rng=rng)
    two = make_objective("dip_vae_ii", latent_dim=2, rng=rng)
    _, parts_i = one.total(torch.zeros((), dtype=torch.float64), _posterior(mean, logvar), 1)
    _, parts_ii = two.total(torch.zeros((), dtype=torch.float64), _posterior(mean, logvar), 1)
    assert abs(float(parts_i["dip"])) < 1e-9  # Cov[mu] = I
    # C = 1.25 I: lambda_d (default 10) * 2 * 0.25^2
    assert float(parts_ii["dip"]) == pytest.approx(10 * 2 * 0.0625)
