"""The batch-KLD autoencoder's penalty against the closed form of a Gaussian KL.

KL(N(m, S) || N(0, I)) = 0.5 (tr S + m'm - d - log det S), with m and S the batch's mean
and 1/n covariance; checked against torch.distributions and on a whitened batch (0).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lps_eval.train.objectives.ae_kld import batch_gaussian_kl  # noqa: E402
from lps_eval.train.objectives.dip_vae import batch_covariance  # noqa: E402


def test_batch_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(400, 3, generator=g, dtype=torch.float64) @ torch.tensor(
        [[1.0, 0.3, 0.0], [0.0, 0.7, 0.2], [0.0, 0.0, 1.5]], dtype=torch.float64
    ) + torch.tensor([0.5, -1.0, 0.2], dtype=torch.float64)
    fit = torch.distributions.MultivariateNormal(z.mean(0), batch_covariance(z))
    prior = torch.distributions.MultivariateNormal(
        torch.zeros(3, dtype=torch.float64), torch.eye(3, dtype=torch.float64)
    )
    ref = torch.distributions.kl_divergence(fit, prior)
    torch.testing.assert_close(batch_gaussian_kl(z), ref)


def test_batch_kl_is_zero_on_a_whitened_batch():
    raw = torch.randn(100, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    raw = raw - raw.mean(0)
    z = raw @ torch.linalg.inv(torch.linalg.cholesky(batch_covariance(raw))).T
    assert abs(float(batch_gaussian_kl(z))) < 1e-10


def test_a_singular_batch_gives_an_infinite_penalty():
    z = torch.ones(10, 3, dtype=torch.float64)
    assert not np.isfinite(float(batch_gaussian_kl(z)))
