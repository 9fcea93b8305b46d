"""InfoVAE's loss: R + (1 - alpha) KL + (alpha + lambda - 1) MMD^2, and its constraints."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lps_eval import LpsInputError  # noqa: E402
from lps_eval.prior_matching import mmd2  # noqa: E402
from lps_eval.train.objectives import make_objective  # noqa: E402
from lps_eval.train.objectives.vae import Posterior  # noqa: E402


def test_loss_weights_the_kl_and_the_mmd_as_in_the_paper():
    obj = make_objective(
        "info_vae", latent_dim=2, params={"alpha": 0.5, "lambda": 10}, rng=np.random.default_rng(0)
    )
    q = Posterior.__new__(Posterior)
    q.z = torch.randn(64, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    q.kl = torch.tensor(2.0, dtype=torch.float64)
    total, extra = obj.total(torch.tensor(1.0, dtype=torch.float64), q, 1)
    # the same prior samples again: the objective's generator, reset
    y = np.random.default_rng(0).standard_normal((64, 2))
    ref_mmd = mmd2(q.z, torch.as_tensor(y), kernel="rbf_multiscale", estimator="biased")
    torch.testing.assert_close(extra["batch_mmd2"], ref_mmd)
    assert float(total) == pytest.approx(1.0 + 0.5 * 2.0 + 9.5 * float(ref_mmd))


@pytest.mark.parametrize("params", [{"alpha": 1.5}, {"alpha": -2, "lambda": 2}, {"lambda": 0}])
def test_the_papers_constraints_are_enforced(params):
    with pytest.raises(LpsInputError):
        make_objective("info_vae", latent_dim=2, params=params, rng=np.random.default_rng(0))
