"""beta-TCVAE's minibatch estimators of log q(z) against the closed-form total correlation.

Known answer: a "dataset" of posteriors q(z|n) = N(mu_n, s^2 I) with mu_n ~ N(0, S - s^2 I)
has the aggregate posterior q(z) = N(0, S) (as the dataset grows), whose total correlation
is 0.5 (sum_i log S_ii - log det S); for a bivariate S with unit variances and
correlation rho that is -0.5 log(1 - rho^2) (0.511 at rho = 0.8). On a batch of 1,024
such z_i, both estimators (minibatch weighted ``mws`` and minibatch stratified ``mss``,
N = 10^9) must give it within 0.06 nats, on five independent batches (observed spread
about 0.03); an independent pair must give 0 within 0.06.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lps_eval.train.objectives import make_objective  # noqa: E402
from lps_eval.train.objectives.base import gaussian_log_density  # noqa: E402
from lps_eval.train.objectives.beta_tcvae import (  # noqa: E402
    aggregate_log_densities,
    log_importance_weights,
)

BATCH = 1024
TOLERANCE = 0.06


def _batch(rho: float, seed: int, s2: float = 0.1):
    cov = torch.tensor([[1.0, rho], [rho, 1.0]], dtype=torch.float64)
    chol = torch.linalg.cholesky(cov - s2 * torch.eye(2, dtype=torch.float64))
    g = torch.Generator().manual_seed(seed)
    mean = torch.randn(BATCH, 2, generator=g, dtype=torch.float64) @ chol.T
    logvar = torch.full((BATCH, 2), math.log(s2), dtype=torch.float64)
    z = mean + math.sqrt(s2) * torch.randn(BATCH, 2, generator=g, dtype=torch.float64)
    return z, mean, logvar


@pytest.mark.parametrize("estimator", ["mws", "mss"])
@pytest.mark.parametrize("rho", [0.0, 0.8])
def test_tc_estimate_matches_the_closed_form(estimator, rho):
    closed_form = -0.5 * math.log(1 - rho**2)
    for seed in range(5):
        z, mean, logvar = _batch(rho, seed)
        log_qz, log_prod = aggregate_log_densities(
            z, mean, logvar, estimator=estimator, dataset_size=10**9
        )
        assert abs(float((log_qz - log_prod).mean()) - closed_form) < TOLERANCE


def test_stratified_weights_follow_the_paper():
    n, m = 50, 6
    w = log_importance_weights(m, n, like=torch.zeros(1, dtype=torch.float64)).exp()
    torch.testing.assert_close(w.sum(1), torch.ones(m, dtype=torch.float64))
    assert torch.allclose(w.diagonal(), torch.full((m,), 1 / n, dtype=torch.float64))
    for i in range(m):  # one stratum weight per row, the rest 1/(M - 1)
        assert w[i, (i + 1) % m] == pytest.approx((n - m + 1) / (n * (m - 1)))
        others = [w[i, j] for j in range(m) if j not in (i, (i + 1) % m)]
        assert all(float(v) == pytest.approx(1 / (m - 1)) for v in others)


@pytest.mark.parametrize("estimator", ["mws", "mss"])
def test_the_three_terms_add_up_to_the_monte_carlo_kl(estimator):
    # MI + TC + dimKL = E[log q(z|n) - log p(z)] whatever the estimate of q(z): the
    # decomposition telescopes (Chen et al. eq. 2), so alpha = beta = gamma = 1 is the VAE
    obj = make_objective(
        "beta_tcvae",
        latent_dim=3,
        params={"alpha": 1, "beta": 1, "gamma": 1, "estimator": estimator},
        rng=np.random.default_rng(0),
        dataset_size=1000,
    )
    g = torch.Generator().manual_seed(1)
    mean, logvar = torch.randn(32, 3, generator=g), 0.3 * torch.randn(32, 3, generator=g)
    from lps_eval.train.objectives.vae import Posterior

    q = Posterior.__new__(Posterior)
    q.mean, q.logvar = mean, logvar
    q.z = mean + torch.randn(32, 3, generator=g) * (0.5 * logvar).exp()
    q.kl = torch.zeros(())
    total, parts = obj.total(torch.zeros(()), q, step=1)
    mc_kl = (
        gaussian_log_density(q.z, mean, logvar).sum(1)
        - gaussian_log_density(q.z, torch.zeros_like(q.z), torch.zeros_like(q.z)).sum(1)
    ).mean()
    torch.testing.assert_close(total, mc_kl, rtol=1e-5, atol=1e-5)
    assert parts["tc"] == pytest.approx(float(parts["tc"]))


def test_stratified_estimator_refuses_a_batch_larger_than_the_dataset():
    from lps_eval import LpsInputError

    obj = make_objective(
        "beta_tcvae",
        latent_dim=2,
        params={"estimator": "mss"},
        rng=np.random.default_rng(0),
        dataset_size=8,
    )
    z, mean, logvar = (t[:16].float() for t in _batch(0.5, 0))
    from lps_eval.train.objectives.vae import Posterior

    q = Posterior.__new__(Posterior)
    q.z, q.mean, q.logvar, q.kl = z, mean, logvar, torch.zeros(())
    with pytest.raises(LpsInputError, match="no larger than the dataset"):
        obj.total(torch.zeros(()), q, step=1)
