"""The convergence verdict: synthetic curves for every rule, then the known worlds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import lps_eval
from lps_eval.predictability import VERDICT_STATES, curve_verdict, default_sizes
from lps_eval.simulations import (
    gaussian_latents,
    nonlinear_pair,
    paired_linear_latents,
    slow_dependence_latents,
)


def curve(values, half, nulls, null_half=0.01, sizes=(1125, 2250)):
    values, nulls = np.asarray(values, float), np.asarray(nulls, float)
    return pd.DataFrame(
        {
            "n_train": list(sizes),
            "value": values,
            "ci_low": values - half,
            "ci_high": values + half,
            "null": nulls,
            "null_ci_low": nulls - null_half,
            "null_ci_high": nulls + null_half,
        }
    )


def test_the_issue_independent_curve_is_never_called_unconverged():
    # issue 17: LPS -0.0484 -> -0.0014 (+0.047) on N(0, I); the null moves with it
    verdict = curve_verdict(curve([-0.0484, -0.0014], 0.02, [-0.050, -0.004]))
    assert verdict.state == "null" and verdict.converged
    assert verdict.headline.startswith("No dependence detected at any N")
    assert "NOT converged" not in verdict.headline + verdict.detail
    assert "Not a proof of independence" in verdict.detail
    assert verdict.change == pytest.approx(0.047)
    assert verdict.above_null == (False, False)


@pytest.mark.parametrize(
    ("values", "nulls", "state"),
    [
        ([0.50, 0.51], [-0.01, 0.0], "converged"),  # excess moved 0.0 < 0.02
        ([0.40, 0.50], [-0.01, 0.0], "rising"),  # excess moved +0.09
        ([0.50, 0.40], [-0.01, 0.0], "falling"),
        ([0.00, 0.001], [0.0, 0.0], "null"),  # overlapping intervals at every N
        ([0.50, 0.01], [0.0, 0.0], "undetermined"),  # above the null at n/2 only
        ([-0.02, 0.30], [-0.02, 0.0], "rising"),  # detected only at the largest N
    ],
)
def test_each_rule(values, nulls, state):
    verdict = curve_verdict(curve(values, 0.02, nulls))
    assert verdict.state == state and state in VERDICT_STATES
    assert ("NOT converged" in verdict.headline) == (state in ("rising", "falling"))
    assert verdict.short  # a summary-table word for every state


def test_bias_alone_does_not_make_a_dependent_curve_unconverged():
    # LPS rises 0.05 and the null rises 0.045: the dependence found has converged
    verdict = curve_verdict(curve([0.25, 0.30], 0.02, [-0.05, -0.005]))
    assert verdict.state == "converged"
    assert verdict.excess_change == pytest.approx(0.005)
    assert "small-N bias" in verdict.detail


def test_the_doubling_rule_is_strict_at_the_half_width():
    assert curve_verdict(curve([0.5, 0.52], 0.02, [0, 0])).state == "rising"  # 0.02, not <
    assert curve_verdict(curve([0.5, 0.5199], 0.02, [0, 0])).state == "converged"


def test_no_verdict_without_a_null_curve_or_two_points():
    no_null = curve([-0.05, 0.0], 0.02, [math.nan, math.nan])
    assert curve_verdict(no_null).state == "undetermined"
    assert curve_verdict(no_null.drop(columns=["null_ci_low"])).state == "undetermined"
    assert curve_verdict(curve([0.5], 0.02, [0.0], sizes=(100,))).state == "undetermined"


def test_every_number_in_the_detail_is_the_curves():
    c = curve([0.40, 0.50], 0.02, [-0.01, 0.0])
    detail = curve_verdict(c).detail
    for text in ("+0.500 [+0.480, +0.520]", "1,125", "2,250", "+0.1000", "+0.0100", "0.0200"):
        assert text in detail, text


# --- known worlds (issue 17) -------------------------------------------------------


def report_curve(z, predictor, seed=0):
    """The curve the report draws: every target, one fold's share held out, 3 sizes."""
    n_cap = z.shape[0] if predictor == "linear" else min(z.shape[0], 10_000)
    n_train = n_cap - round(0.2 * n_cap)
    sizes = default_sizes(n_train, points=3)
    return lps_eval.lps_curve(z, predictor=predictor, test_size=0.2, sizes=sizes, seed=seed)


@pytest.mark.parametrize("predictor", ["linear", "knn"])
def test_independent_world_no_dependence_at_any_n(predictor):
    for seed in range(3):
        verdict = curve_verdict(report_curve(gaussian_latents(3000, 6, seed=seed), predictor))
        assert verdict.state == "null", (seed, verdict.detail)


def test_strongly_dependent_world_at_large_n_has_converged():
    z, _ = paired_linear_latents(20_000, 6, r2=0.5, seed=3)
    for predictor in ("linear", "knn"):
        verdict = curve_verdict(report_curve(z, predictor))
        assert verdict.state == "converged", (predictor, verdict.detail)
        assert all(verdict.above_null)


def test_a_dependence_small_n_cannot_learn_is_not_converged():
    z = slow_dependence_latents(4000, seed=3)  # z3 = z0 z1 z2 + noise
    verdict = curve_verdict(report_curve(z, "knn"))
    assert verdict.state == "rising", verdict.detail
    assert verdict.headline == "LPS NOT converged in N: still rising"


@pytest.mark.slow
def test_known_worlds_with_the_default_predictor():
    """hgb, the report's default: the same three verdicts."""
    ind = curve_verdict(report_curve(gaussian_latents(3000, 6, seed=2), "hgb"))
    assert ind.state == "null", ind.detail
    z, _ = nonlinear_pair(20_000, extra_dims=4, seed=4)
    dep = curve_verdict(report_curve(z, "hgb"))
    assert dep.state == "converged", dep.detail
    slow = curve_verdict(report_curve(slow_dependence_latents(4000, seed=3), "hgb"))
    assert slow.state == "rising", slow.detail
