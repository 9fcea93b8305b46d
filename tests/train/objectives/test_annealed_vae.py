"""The annealed VAE's capacity schedule C(t) = min(C_max, C_max (t - 1) / T) (Burgess et al.)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lps_eval.train.objectives import make_objective  # noqa: E402
from lps_eval.train.objectives.annealed_vae import capacity  # noqa: E402
from lps_eval.train.objectives.vae import Posterior  # noqa: E402


def test_capacity_grows_linearly_from_zero_and_stops_at_c_max():
    assert capacity(1, c_max=25, steps=100) == 0.0
    assert capacity(51, c_max=25, steps=100) == pytest.approx(12.5)
    assert capacity(101, c_max=25, steps=100) == pytest.approx(25.0)
    assert capacity(10_000, c_max=25, steps=100) == 25.0
    values = [capacity(t, c_max=3, steps=7) for t in range(1, 12)]
    assert np.all(np.diff(values) >= 0) and max(values) == 3.0


def test_loss_is_gamma_times_the_distance_to_the_capacity():
    obj = make_objective(
        "annealed_vae",
        latent_dim=2,
        params={"gamma": 10, "c_max": 4, "capacity_steps": 4},
        rng=np.random.default_rng(0),
    )
    q = Posterior.__new__(Posterior)
    q.kl = torch.tensor(1.5)
    for step, c in [(1, 0.0), (3, 2.0), (9, 4.0)]:
        total, extra = obj.total(torch.tensor(0.0), q, step)
        assert extra["capacity"] == pytest.approx(c)
        assert float(total) == pytest.approx(10 * abs(1.5 - c))
