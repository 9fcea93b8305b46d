"""MMD estimators, closed forms, permutation test and score integration (lps_eval.mmd)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lps_eval
from lps_eval import LpsInputError
from lps_eval.prior_matching import mmd, mmd2, permutation_test
from lps_eval.prior_matching._mmd import _label_matrix
from lps_eval.prior_matching.kernels import make_kernel

RNG = np.random.default_rng
KERNELS = ["rbf", "rbf_multiscale", "imq", "distance"]
ESTIMATORS = ["biased", "unbiased", "linear"]


def _dcor():
    """dcor, imported when a test needs it (its numba JIT compiles at import)."""
    return pytest.importorskip("dcor")


def _naive_mmd2(x, y, kern, estimator):
    """Plain full-matrix MMD^2 (the textbook formulas, no chunking, no pooling tricks)."""
    kxx, kyy, kxy = kern(x, x), kern(y, y), kern(x, y)
    n, m = len(x), len(y)
    if estimator == "biased":
        return kxx.mean() + kyy.mean() - 2 * kxy.mean()
    if estimator == "unbiased":
        sxx = (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
        syy = (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        return sxx + syy - 2 * kxy.mean()
    half = min(n, m) // 2
    h = [
        kern(x[2 * i : 2 * i + 1], x[2 * i + 1 : 2 * i + 2])
        + kern(y[2 * i : 2 * i + 1], y[2 * i + 1 : 2 * i + 2])
        - kern(x[2 * i : 2 * i + 1], y[2 * i + 1 : 2 * i + 2])
        - kern(x[2 * i + 1 : 2 * i + 2], y[2 * i : 2 * i + 1])
        for i in range(half)
    ]
    return float(np.mean(h))


def _closed_mean_shift(mu, s):
    """REFERENCE.md: MMD^2(N(0, I), N(mu, I)), one RBF of width s."""
    d = len(mu)
    return (
        2 * (s * s / (s * s + 2)) ** (d / 2) * (1 - math.exp(-np.dot(mu, mu) / (2 * (s * s + 2))))
    )


# --------------------------------------------------------------------------- mmd2


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_mmd2_matches_the_full_matrix_formula(kernel, estimator):
    x, y = RNG(0).normal(size=(37, 3)), RNG(1).normal(size=(29, 3)) + 0.4
    kern = make_kernel(kernel, pooled=np.vstack([x, y]))
    expect = _naive_mmd2(x, y, kern, estimator)
    got = mmd2(x, y, kernel=kernel, estimator=estimator, block=8)
    assert got == pytest.approx(expect, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_torch_and_numpy_give_the_same_numbers(kernel, estimator):
    x, y = RNG(0).normal(size=(40, 4)), RNG(1).normal(size=(50, 4)) * 1.3
    a = mmd2(x, y, kernel=kernel, estimator=estimator)
    b = mmd2(torch.from_numpy(x), torch.from_numpy(y), kernel=kernel, estimator=estimator)
    assert isinstance(b, torch.Tensor) and b.ndim == 0
    assert float(b) == pytest.approx(a, rel=1e-10, abs=1e-13)


def test_torch_loss_is_differentiable_and_gradcheck_passes():
    x = torch.tensor(RNG(0).normal(size=(12, 3)), requires_grad=True)
    y = torch.tensor(RNG(1).normal(size=(10, 3)) + 0.5)
    for kernel in ("rbf_multiscale", "imq"):
        assert torch.autograd.gradcheck(
            lambda a, k=kernel: mmd2(a, y, kernel=k, bandwidth=1.5), (x,), eps=1e-6, atol=1e-5
        )
    loss = mmd2(x, y)  # median bandwidth, computed without gradient
    loss.backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_torch_float32_batch_like_the_trainer():
    x = torch.randn(512, 8, generator=torch.Generator().manual_seed(0), requires_grad=True)
    y = torch.randn(512, 8, generator=torch.Generator().manual_seed(1))
    loss = mmd2(x, y)
    assert loss.dtype == torch.float32
    loss.backward()
    assert torch.isfinite(x.grad).all()
    assert float(loss.detach()) == pytest.approx(
        mmd2(x.detach().numpy(), y.numpy()), rel=1e-4, abs=1e-6
    )


def test_sample_against_itself():
    x = RNG(0).normal(size=(300, 3))
    assert mmd2(x, x, estimator="biased") == pytest.approx(0.0, abs=1e-12)
    # unbiased: the cross term keeps the diagonal, so x vs x is slightly negative
    assert mmd2(x, x, estimator="unbiased") < 0
    stat, p, _ = permutation_test(
        x, x, make_kernel("rbf", bandwidth=1.0), estimator="biased", permutations=50
    )
    assert stat == pytest.approx(0.0, abs=1e-12)
    assert p == 1.0  # every relabeling gives a V-statistic >= 0


def test_mean_shift_closed_form_from_the_reference():
    mu, s, n = np.array([1.0, 0.5]), 1.0, 3000
    expect = _closed_mean_shift(mu, s)
    x = RNG(0).normal(size=(n, 2)) + mu
    y = RNG(1).normal(size=(n, 2))
    assert mmd2(x, y, kernel="rbf", bandwidth=s, estimator="unbiased") == pytest.approx(
        expect, abs=0.012
    )
    r = mmd(
        x, "gaussian", kernel="rbf", bandwidth=s, permutations=0, max_samples=None, per_dim=False
    )
    assert r.settings["prior_terms"] == "closed_form"
    assert r.value == pytest.approx(expect, abs=0.012)


def test_closed_form_is_unbiased_and_less_noisy_than_sampling():
    mu, s = np.array([0.6, 0.0, 0.0]), 1.2
    expect = _closed_mean_shift(mu, s)
    closed, sampled = [], []
    for seed in range(12):
        z = RNG(seed).normal(size=(400, 3)) + mu
        kw = {"kernel": "rbf", "bandwidth": s, "permutations": 0, "per_dim": False, "seed": seed}
        closed.append(mmd(z, "gaussian", **kw).value)
        sampled.append(mmd(z, "gaussian", closed_form=False, **kw).value)
    assert np.mean(closed) == pytest.approx(expect, abs=3 * np.std(closed) / math.sqrt(12))
    assert np.std(closed) < np.std(sampled)


def test_linear_estimator_is_unbiased():
    mu, s = np.array([0.8, 0.0]), 1.0
    expect = _closed_mean_shift(mu, s)
    vals = [
        mmd2(
            RNG(seed).normal(size=(2000, 2)) + mu,
            RNG(seed + 100).normal(size=(2000, 2)),
            kernel="rbf",
            bandwidth=s,
            estimator="linear",
        )
        for seed in range(30)
    ]
    assert np.mean(vals) == pytest.approx(expect, abs=4 * np.std(vals) / math.sqrt(30))


def test_distance_kernel_is_the_energy_distance_of_dcor():
    x, y = RNG(0).normal(size=(80, 3)), RNG(1).standard_t(3, size=(60, 3))
    assert mmd2(x, y, kernel="distance", estimator="biased") == pytest.approx(
        float(_dcor().energy_distance(x, y)), rel=1e-10
    )
    assert mmd2(x, y, kernel="distance", estimator="unbiased") == pytest.approx(
        float(_dcor().energy_distance(x, y, estimation_stat="u_statistic")), rel=1e-10
    )


@pytest.mark.parametrize(("shift", "seed"), [(0.0, 0), (0.25, 1), (0.35, 2)])
def test_permutation_p_value_agrees_with_dcor_energy_test(shift, seed):
    x = RNG(seed).normal(size=(60, 2))
    y = RNG(seed + 10).normal(size=(60, 2)) + shift
    kern = make_kernel("distance")
    _, p_ours, _ = permutation_test(x, y, kern, estimator="biased", permutations=999, rng=seed)
    ref = _dcor().homogeneity.energy_test(x, y, num_resamples=999, random_state=seed)
    # both are Monte Carlo p-values of the same statistic: 999 draws -> sd <= 0.016
    assert p_ours == pytest.approx(ref.pvalue, abs=0.06)


# --------------------------------------------------------------------------- permutation test


@pytest.mark.parametrize("estimator", ["unbiased", "biased"])
def test_one_pass_permutations_equal_explicit_relabelings(estimator):
    n, m, b, seed = 23, 31, 15, 4
    x, y = RNG(0).normal(size=(n, 3)), RNG(1).normal(size=(m, 3)) + 0.3
    kern = make_kernel("rbf_multiscale", pooled=np.vstack([x, y]))
    stat, p, null = permutation_test(
        x, y, kern, estimator=estimator, permutations=b, rng=seed, block=7
    )
    labels = _label_matrix(n, m, b, RNG(seed))
    w = np.vstack([x, y])
    explicit = [
        _naive_mmd2(w[labels[:, c] == 1], w[labels[:, c] == 0], kern, estimator)
        for c in range(1, b + 1)
    ]
    np.testing.assert_allclose(null, explicit, rtol=1e-9, atol=1e-12)
    assert stat == pytest.approx(_naive_mmd2(x, y, kern, estimator), rel=1e-9)
    assert p == (1 + np.sum(np.asarray(explicit) >= stat)) / (1 + b)


def test_p_value_is_never_zero_and_detects_a_shift():
    x, y = RNG(0).normal(size=(200, 2)), RNG(1).normal(size=(200, 2)) + 1.0
    _, p, null = permutation_test(x, y, make_kernel("rbf", bandwidth=1.0), permutations=99)
    assert p == pytest.approx(1 / 100)
    assert null.shape == (99,)


def test_permutations_zero_skips_the_test():
    x = RNG(0).normal(size=(50, 2))
    r = mmd(x, permutations=0, per_dim=True)
    assert math.isnan(r.p_value) and r.per_dim_p_value is None
    assert r.per_dim.shape == (2,)


def test_null_calibration_rejection_rate_near_nominal():
    rejections = []
    for seed in range(200):
        z = RNG(seed).normal(size=(60, 2))
        r = mmd(z, "gaussian", permutations=99, per_dim=False, seed=seed)
        rejections.append(r.p_value <= 0.05)
    rate = float(np.mean(rejections))
    # binomial(200, 0.05): sd 0.015; [0.01, 0.10] is beyond 3 sd on both sides
    assert 0.01 <= rate <= 0.10


def test_linear_estimator_permutation_test():
    z = RNG(0).normal(size=(400, 2)) + np.array([1.0, 0.0])
    r = mmd(z, estimator="linear", permutations=99, per_dim=False)
    assert r.p_value == pytest.approx(0.01)
    assert r.settings["prior_terms"] == "samples"


# --------------------------------------------------------------------------- mmd()


def test_mmd_result_frame_and_settings():
    z = RNG(0).normal(size=(300, 3))
    r = mmd(z, "gaussian", permutations=50, seed=3)
    frame = r.to_frame()
    overall = frame[frame.scope == "overall"]
    assert list(overall.metric) == ["mmd"]
    assert overall.p_value.iloc[0] == r.p_value
    assert overall.value.iloc[0] == r.value
    dims = frame[frame.scope == "dim"]
    assert list(dims.dim) == [0, 1, 2]
    assert dims.p_value.notna().all()
    for key in ("kernel", "bandwidth", "estimator", "permutations", "max_samples", "seed", "prior"):
        assert key in frame.attrs
    assert frame.attrs["prior_terms"] == "closed_form"


def test_mmd_is_reproducible_and_seed_dependent():
    z = RNG(0).normal(size=(400, 2))
    a, b = mmd(z, seed=1, permutations=30), mmd(z, seed=1, permutations=30)
    assert a.value == b.value and a.p_value == b.p_value
    np.testing.assert_array_equal(a.per_dim, b.per_dim)
    assert mmd(z, seed=2, permutations=30).statistic != a.statistic


def test_wrong_prior_is_detected_and_per_dim_localizes_it():
    rng = RNG(0)
    z = np.column_stack([rng.normal(size=1500), rng.uniform(-3, 3, size=1500)])
    r = mmd(z, "gaussian", permutations=99)
    assert r.p_value <= 0.02
    assert r.per_dim[1] > 10 * abs(r.per_dim[0])
    assert r.per_dim_p_value[1] <= 0.02
    good = mmd(z, "hybrid(gaussian; uniform(-3, 3))", permutations=99)
    assert good.p_value > 0.01 and good.value < r.value


def test_max_samples_none_uses_every_row():
    z = RNG(0).normal(size=(700, 2))
    assert mmd(z, max_samples=None, permutations=0).settings["n_samples_used"] == 700
    assert mmd(z, max_samples=100, permutations=0).settings["n_samples_used"] == 100


def test_mmd_value_equals_mmd2_without_closed_form():
    z = RNG(0).normal(size=(150, 2))
    # a Generator as seed: the prior sample is the draw after the row shuffle
    r = mmd(z, "laplace(0, 1)", permutations=10, per_dim=False, max_samples=None, seed=RNG(5))
    assert r.settings["prior_terms"] == "samples"
    assert r.value == r.statistic
    gen = RNG(5)
    gen.permutation(150)  # the seeded row shuffle (row order does not change the value)
    y = lps_eval.prior_matching.priors.parse_prior("laplace(0, 1)").sample(150, 2, gen)
    assert r.value == pytest.approx(
        mmd2(z, y, bandwidth=r.settings["bandwidth"], estimator="unbiased"), rel=1e-9
    )


def test_prior_sample_does_not_replay_the_users_seed():
    z = RNG(0).normal(size=(200, 2))
    r = mmd(z, "gaussian", permutations=0, per_dim=False, closed_form=False, seed=0)
    # were the prior sample RNG(0).normal(...) again, the statistic would be about -1/n
    assert r.value != pytest.approx(mmd2(z, RNG(0).normal(size=(200, 2)), estimator="unbiased"))


def test_mixed_backends_and_bad_options_are_input_errors():
    x = RNG(0).normal(size=(10, 2))
    with pytest.raises(LpsInputError, match="mix"):
        mmd2(x, torch.from_numpy(x))
    with pytest.raises(LpsInputError, match="estimator"):
        mmd2(x, x, estimator="fast")
    with pytest.raises(LpsInputError, match="columns"):
        mmd2(x, x[:, :1])
    with pytest.raises(LpsInputError, match="permutations"):
        mmd(x, permutations=-1)
    with pytest.raises(LpsInputError, match="closed_form"):
        mmd(x, "laplace", closed_form=True)
    with pytest.raises(LpsInputError, match="dimension"):
        mmd(x, "hybrid(gaussian; gaussian; gaussian)")


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(4, 40),
    m=st.integers(4, 40),
    d=st.integers(1, 4),
    seed=st.integers(0, 2**16),
    kernel=st.sampled_from(["rbf", "rbf_multiscale", "imq"]),
)
def test_mmd2_properties(n, m, d, seed, kernel):
    rng = RNG(seed)
    x, y = rng.normal(size=(n, d)), rng.normal(size=(m, d)) * 1.5
    biased = mmd2(x, y, kernel=kernel)
    assert biased >= -1e-12  # a squared RKHS norm
    assert biased == pytest.approx(mmd2(y, x, kernel=kernel), rel=1e-9, abs=1e-12)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    shift = rng.normal(size=d)
    moved = mmd2(x @ q + shift, y @ q + shift, kernel=kernel, estimator="unbiased")
    assert moved == pytest.approx(
        mmd2(x, y, kernel=kernel, estimator="unbiased"), rel=1e-7, abs=1e-10
    )


# --------------------------------------------------------------------------- score


def test_score_adds_mmd_rows_and_the_prior_flows_in():
    z = RNG(0).uniform(-1, 1, size=(800, 3))
    table = lps_eval.score(z, prior="gaussian", metrics=["mmd"], mmd={"permutations": 50})
    overall = table[(table.metric == "mmd") & (table.scope == "overall")]
    assert len(overall) == 1 and overall.p_value.iloc[0] <= 0.05
    assert (table[table.metric == "mmd"].scope == "dim").sum() == 3
    matched = lps_eval.score(z, prior="uniform", metrics=["mmd"], mmd={"permutations": 50})
    m_overall = matched[(matched.metric == "mmd") & (matched.scope == "overall")]
    assert m_overall.value.iloc[0] < overall.value.iloc[0]
    assert m_overall.p_value.iloc[0] > 0.05


def test_score_default_row_cap_is_recorded():
    z = RNG(0).normal(size=(5000, 2))
    table = lps_eval.score(z, metrics=["mmd"], mmd={"permutations": 10})
    assert table.attrs["settings"]["mmd"]["n_samples_used"] == 3000
    assert table.attrs["options"]["mmd"]["max_samples"] == 3000


def test_rbf_mmd_against_sklearn_pairwise_kernels():
    from sklearn.metrics.pairwise import rbf_kernel

    x, y = RNG(0).normal(size=(60, 4)), RNG(1).normal(size=(45, 4)) * 0.8
    s = 1.7
    gamma = 1.0 / (2 * s * s)
    kxx, kyy, kxy = (
        rbf_kernel(x, x, gamma=gamma),
        rbf_kernel(y, y, gamma=gamma),
        rbf_kernel(x, y, gamma=gamma),
    )
    biased = kxx.mean() + kyy.mean() - 2 * kxy.mean()
    assert mmd2(x, y, kernel="rbf", bandwidth=s) == pytest.approx(biased, rel=1e-10)
    assert float(mmd2(torch.from_numpy(x), torch.from_numpy(y), kernel="rbf", bandwidth=s)) == (
        pytest.approx(biased, rel=1e-10)
    )


def test_cli_prior_flows_in_and_gates_on_the_p_value(tmp_path):
    from click.testing import CliRunner

    from lps_eval.cli import main

    path = tmp_path / "z.npy"
    np.save(path, RNG(0).uniform(-2, 2, size=(600, 2)))
    runner = CliRunner()
    base = ["score", str(path), "--metrics", "mmd", "-O", "mmd.permutations=199"]
    gate = ["--fail-if", "mmd.p_value < 0.01"]
    wrong = runner.invoke(main, [*base, "--prior", "gaussian", *gate])
    assert wrong.exit_code == 1, wrong.output
    right = runner.invoke(main, [*base, "--prior", "uniform(-2, 2)", *gate])
    assert right.exit_code == 0, right.output
    bad = runner.invoke(main, [*base, "--prior", "hybrid(gaussian; gaussian; gaussian)"])
    assert bad.exit_code == 2
