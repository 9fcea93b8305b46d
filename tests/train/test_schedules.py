"""Learning-rate schedules: known values, the warm-up, the floor, and the record."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lps_eval import LpsInputError
from lps_eval.train.schedules import COSINE_FLOOR, check_lr_schedule, learning_rate


def test_constant_is_the_rate_at_every_step():
    assert {learning_rate(t, 1000, 3e-4, "constant") for t in (1, 500, 1000)} == {3e-4}


def test_cosine_warms_up_linearly_then_decays_to_the_floor():
    total, lr = 2000, 1e-3
    warmup = 100  # min(500, 2000 // 20)
    assert learning_rate(1, total, lr, "cosine") == pytest.approx(lr / warmup)
    assert learning_rate(warmup // 2, total, lr, "cosine") == pytest.approx(lr / 2)
    assert learning_rate(warmup, total, lr, "cosine") == pytest.approx(lr)
    # half-way through the decay the cosine term is 1: the mean of peak and floor
    middle = warmup + (total - warmup) // 2
    floor = lr * COSINE_FLOOR
    assert learning_rate(middle, total, lr, "cosine") == pytest.approx((lr + floor) / 2)
    assert learning_rate(total, total, lr, "cosine") == pytest.approx(floor)
    decay = [learning_rate(t, total, lr, "cosine") for t in range(warmup, total + 1)]
    assert np.all(np.diff(decay) <= 0)


def test_warmup_is_at_most_500_steps_and_at_least_one():
    assert learning_rate(500, 100_000, 1.0, "cosine") == pytest.approx(1.0)
    assert learning_rate(499, 100_000, 1.0, "cosine") < 1.0
    assert math.isfinite(learning_rate(1, 1, 1.0, "cosine"))


def test_unknown_schedule_is_refused_with_the_choices():
    with pytest.raises(LpsInputError, match="constant, cosine"):
        check_lr_schedule("step")


def test_fit_records_the_schedule_and_sets_the_rate(tmp_path):
    pytest.importorskip("torch")
    from lps_eval.train import fit
    from tests.conftest import TINY_TRAINING

    res = fit(
        **TINY_TRAINING, objective="ae", steps=40, lr=1e-3, lr_schedule="cosine",
        eval_every=0, progress=False, out=tmp_path / "run",
    )  # fmt: skip
    assert res.config["lr_schedule"] == "cosine"
    with pytest.raises(LpsInputError, match="lr_schedule"):
        fit(**TINY_TRAINING, objective="ae", steps=2, lr_schedule="linear", progress=False)


def test_resuming_a_cosine_run_with_other_steps_warns_and_a_constant_one_does_not(tmp_path):
    pytest.importorskip("torch")
    import warnings

    from lps_eval import LpsInputWarning
    from lps_eval.train import fit, resume
    from tests.conftest import TINY_TRAINING

    common = {**TINY_TRAINING, "objective": "ae", "eval_every": 0, "progress": False}
    fit(**common, steps=4, lr_schedule="cosine", out=tmp_path / "cos")
    with pytest.warns(LpsInputWarning, match="will not equal an uninterrupted 6-step run"):
        resume(tmp_path / "cos", steps=6, progress=False)
    fit(**common, steps=4, lr_schedule="constant", out=tmp_path / "const")
    with warnings.catch_warnings():
        warnings.simplefilter("error", LpsInputWarning)
        warnings.filterwarnings("ignore", message=".*held-out rows")  # the tiny evaluation
        resume(tmp_path / "const", steps=6, progress=False)
