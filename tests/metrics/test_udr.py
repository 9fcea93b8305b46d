"""UDR: known answers, invariances, the KL filter, both variants, bad input, listing."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from lps_eval import LpsInputError, metrics
from lps_eval import simulations as sim
from lps_eval.metrics import LpsMetricWarning, metric_specs, multi_model_specs

ALPHA = 0.1


def _sources(n=2000, d=4, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


def _copy(s, seed):
    """A permuted, sign-flipped, positively rescaled copy (UDR is invariant to all three)."""
    rng = np.random.default_rng(seed)
    d = s.shape[1]
    return (s * rng.uniform(0.5, 3, d) * rng.choice([-1, 1], d))[:, rng.permutation(d)]


def _rotation_45(s):
    c = 1 / math.sqrt(2)
    return s @ np.array([[c, -c], [c, c]])


# ------------------------------------------------------------------ known answers


@pytest.mark.parametrize("variant", ["dlib", "clean"])
def test_lasso_of_identical_models_is_one_minus_alpha(variant):
    """Matched standardized latents get the Lasso coefficient ``1 - alpha`` and every other
    coefficient is 0 (sample correlations < alpha): each term is (1 - alpha)^2/(1 - alpha)."""
    s = _sources()
    res = metrics.udr([s, _copy(s, 1), _copy(s, 2)], variant=variant, num_samples=None)
    np.testing.assert_allclose(res.model_scores, 1 - ALPHA, atol=1e-9)
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose(res.pairwise[off], 1 - ALPHA, atol=1e-9)


def test_lasso_alpha_moves_the_ceiling():
    s = _sources()
    res = metrics.udr([s, _copy(s, 1)], lasso_alpha=0.2, num_samples=None)
    np.testing.assert_allclose(res.model_scores, 0.8, atol=1e-9)


def test_rotation_by_45_degrees_matches_the_closed_forms():
    """2-D codes rotated by 45 degrees: every |Pearson r| is 1/sqrt(2).

    Lasso coefficients are 1/sqrt(2) - alpha, so each term is c^2 / (2c) = c / 2; Spearman
    correlations of a Gaussian pair are (6/pi) asin(r/2), each term again half of it."""
    s = _sources(n=40000, d=2, seed=3)
    lasso = metrics.udr([s, _rotation_45(s)], num_samples=None)
    spear = metrics.udr([s, _rotation_45(s)], correlation="spearman", num_samples=None)
    np.testing.assert_allclose(lasso.model_scores, (1 / math.sqrt(2) - ALPHA) / 2, atol=0.01)
    rho_s = 6 / math.pi * math.asin(1 / (2 * math.sqrt(2)))
    np.testing.assert_allclose(spear.model_scores, rho_s / 2, atol=0.01)


def test_unrelated_models_score_zero_with_lasso():
    zs, kl = sim.udr_models("unrelated")
    assert np.all(metrics.udr(zs, kl).model_scores == 0.0)
    spear = metrics.udr(zs, kl, correlation="spearman").model_scores
    assert np.all(spear < 0.05)  # sample correlations of order 1/sqrt(n)


@pytest.mark.parametrize("correlation", ["lasso", "spearman"])
def test_aligned_above_rotated_above_unrelated(correlation):
    scores = {
        case: metrics.udr(*sim.udr_models(case), correlation=correlation).model_scores
        for case in ("aligned", "rotated", "unrelated")
    }
    assert scores["aligned"].min() > 0.85
    assert scores["aligned"].min() > scores["rotated"].max() + 0.4
    assert scores["rotated"].min() > scores["unrelated"].max()


@pytest.mark.parametrize("correlation", ["lasso", "spearman"])
def test_the_odd_model_out_ranks_last(correlation):
    """Three aligned models and one rotated: the aligned ones keep their high score (the
    median of their pairs is an aligned pair), the rotated one is last."""
    res = metrics.udr(*sim.udr_models("mixed"), correlation=correlation)
    assert int(np.argmin(res.model_scores)) == 3
    assert res.model_scores[:3].min() > 0.85 > 0.4 > res.model_scores[3]


def test_spearman_is_invariant_to_monotone_maps_of_each_latent():
    s = _sources(n=1500)
    warped = np.column_stack([np.exp(s[:, 0]), s[:, 1] ** 3, np.tanh(s[:, 2]), -s[:, 3]])
    plain = metrics.udr([s, _copy(s, 1)], correlation="spearman", num_samples=None)
    moved = metrics.udr([warped, _copy(s, 1)], correlation="spearman", num_samples=None)
    np.testing.assert_allclose(moved.model_scores, plain.model_scores, atol=1e-12)


@pytest.mark.parametrize("correlation", ["lasso", "spearman"])
def test_permuted_and_sign_flipped_copies_score_as_the_copy_itself(correlation):
    s = _sources(n=1500)
    same = metrics.udr([s, s.copy()], correlation=correlation, num_samples=None)
    moved = metrics.udr([s, _copy(s, 7)], correlation=correlation, num_samples=None)
    np.testing.assert_allclose(moved.model_scores, same.model_scores, atol=1e-9)


# ------------------------------------------------------------------ the KL filter


def _drop_inactive(zs, kls, threshold=0.01):
    return [z[:, k > threshold] for z, k in zip(zs, kls, strict=True)]


@pytest.mark.parametrize("correlation", ["lasso", "spearman"])
@pytest.mark.parametrize("case", ["inactive", "dead_latent"])
def test_kl_filter_equals_dropping_the_uninformative_latents(case, correlation):
    zs, kls = sim.udr_models(case)
    filtered = metrics.udr(zs, kls, correlation=correlation)
    dropped = metrics.udr(_drop_inactive(zs, kls), correlation=correlation)
    np.testing.assert_allclose(filtered.model_scores, dropped.model_scores, atol=1e-10)
    assert [int(a.sum()) for a in filtered.active] == [3 if case == "inactive" else 4] * 4


def test_collapsed_latents_would_sink_the_score_without_the_filter():
    """Collapsed latents (KL ~ 0) are tiny, but standardization blows them up to unit noise:
    unfiltered, they are zeroed (dlib) and their rows and columns count 0, so every pair
    score is 3/5 of the filtered one (3 informative latents of 5)."""
    zs, kls = sim.udr_models("inactive")
    kept = metrics.udr(zs, kls)
    unfiltered = metrics.udr(zs, kls, filter_low_kl=False)
    off = ~np.eye(4, dtype=bool)
    np.testing.assert_allclose(unfiltered.pairwise[off], 0.6 * kept.pairwise[off], atol=1e-10)
    # without any KL the collapsed latents look like unrelated noise dimensions
    assert metrics.udr(zs).model_scores.max() < kept.model_scores.min() - 0.2


def test_spearman_dlib_quirk_one_dead_latent_zeroes_everything_unfiltered():
    zs, kls = sim.udr_models("dead_latent")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dlib = metrics.udr(zs, kls, correlation="spearman", filter_low_kl=False)
        clean = metrics.udr(zs, kls, correlation="spearman", filter_low_kl=False, variant="clean")
    assert np.all(dlib.model_scores == 0.0)  # a NaN in every row and column
    filtered = metrics.udr(zs, kls, correlation="spearman", variant="clean")
    np.testing.assert_allclose(clean.model_scores, 0.8 * filtered.model_scores, atol=1e-10)


def test_kl_none_treats_every_latent_as_informative():
    zs, kls = sim.udr_models("aligned")
    a = metrics.udr(zs, None)
    b = metrics.udr(zs, [np.ones(z.shape[1]) for z in zs])
    c = metrics.udr(zs, [None, kls[1], None, kls[3]])
    np.testing.assert_array_equal(a.model_scores, b.model_scores)
    np.testing.assert_array_equal(a.model_scores, c.model_scores)
    assert a.settings["kl_given"] == [False] * 4 and c.settings["kl_given"][1]


def test_threshold_quirk_dlib_zeroes_at_001_whatever_the_threshold():
    """A weak latent (KL 0.03) with kl_threshold=0.05: both variants filter it out of the
    matrix, but disentanglement_lib zeroes only latents with KL <= 0.01, so the weak latent
    stays in the Lasso fit. Here it duplicates an informative latent and comes first, so
    coordinate descent gives it all the weight and the informative copy gets none."""
    s = _sources(n=1500, d=3)
    a = np.column_stack([s[:, 0], s])
    kl_a = np.array([0.03, 1.0, 1.0, 1.0])
    models, kls = [a, _copy(s, 1)], [kl_a, np.ones(3)]
    dlib = metrics.udr(models, kls, kl_threshold=0.05)
    clean = metrics.udr(models, kls, kl_threshold=0.05, variant="clean")
    dropped = metrics.udr([s, _copy(s, 1)], kl_threshold=0.05)
    np.testing.assert_allclose(clean.model_scores, dropped.model_scores, atol=1e-10)
    np.testing.assert_allclose(clean.model_scores, 1 - ALPHA, atol=1e-9)
    assert dlib.pairwise[0, 1] < 1 - ALPHA - 0.2  # the matched row lost its weight


def test_threshold_world_counts_weak_duplicates_at_001_not_at_005():
    zs, kls = sim.udr_models("threshold")
    low = metrics.udr(zs, kls).model_scores
    high = metrics.udr(zs, kls, kl_threshold=0.05).model_scores
    assert high.min() > 0.85 and low.max() < high.min() - 0.2


def test_a_model_without_informative_latents_warns_and_scores_zero():
    zs, kls = sim.udr_models("aligned")
    kls[2] = np.zeros(zs[2].shape[1])
    with pytest.warns(LpsMetricWarning, match="disentanglement_lib raises"):
        res = metrics.udr(zs, kls)
    assert res.model_scores[2] == 0.0 and res.model_scores[[0, 1, 3]].min() > 0.85


# ------------------------------------------------------------------ the variants


def test_clean_equals_dlib_when_the_pairs_are_symmetric_and_balanced():
    zs, kls = sim.udr_models("aligned")
    dlib = metrics.udr(zs, kls, correlation="spearman")
    clean = metrics.udr(zs, kls, correlation="spearman", variant="clean")
    np.testing.assert_allclose(clean.model_scores, dlib.model_scores, atol=1e-12)
    assert np.all(np.diag(dlib.pairwise) == 0) and np.isnan(np.diag(clean.pairwise)).all()


def test_dlib_median_uses_one_lasso_direction_clean_uses_both():
    zs, kls = sim.udr_models("rotated")
    dlib = metrics.udr(zs, kls)
    clean = metrics.udr(zs, kls, variant="clean")
    p = dlib.pairwise
    for i in range(4):
        others = [j for j in range(4) if j != i]
        assert dlib.model_scores[i] == pytest.approx(np.median(p[others, i]))
        sym = (p[i, others] + p[others, i]) / 2  # equal counts: pooled = mean of the two
        assert clean.model_scores[i] == pytest.approx(np.median(sym))


def test_clean_pools_rows_and_columns_over_informative_latents():
    """Models of different widths: the pooled form weighs each latent once."""
    corr = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])  # 2 x 3: one match, rest zero
    dlib = metrics._udr.relative_strength_dlib(corr)
    pooled = metrics._udr.relative_strength_pooled(corr)
    assert dlib == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert pooled == pytest.approx((1 + 1) / 5)


def test_models_of_different_widths():
    s = _sources(n=1500, d=4)
    wide = np.concatenate([_copy(s, 1), _sources(n=1500, d=2, seed=9)], axis=1)
    res = metrics.udr([s, wide], kl=[np.ones(4), np.r_[np.ones(4), 0.0, 0.0]])
    np.testing.assert_allclose(res.model_scores, 1 - ALPHA, atol=1e-9)
    assert res.correlations[0][1].shape == (4, 6)


# ------------------------------------------------------------------ invariances


def test_sample_order_model_order_and_latent_order():
    zs, kls = sim.udr_models("rotated")
    base = metrics.udr(zs, kls, num_samples=None)
    rows = np.random.default_rng(1).permutation(zs[0].shape[0])
    by_rows = metrics.udr([z[rows] for z in zs], kls, num_samples=None)
    np.testing.assert_allclose(by_rows.model_scores, base.model_scores, atol=1e-9)
    order = [2, 0, 3, 1]
    by_models = metrics.udr([zs[i] for i in order], [kls[i] for i in order], num_samples=None)
    np.testing.assert_allclose(by_models.model_scores, base.model_scores[order], atol=1e-12)
    cols = [4, 2, 0, 1, 3]
    by_cols = metrics.udr([zs[0][:, cols], *zs[1:]], [kls[0][cols], *kls[1:]], num_samples=None)
    # Lasso's coordinate descent visits features in order: equal up to its tolerance
    np.testing.assert_allclose(by_cols.model_scores, base.model_scores, atol=1e-4)
    spear = metrics.udr(zs, kls, correlation="spearman", num_samples=None)
    spear_cols = metrics.udr(
        [zs[0][:, cols], *zs[1:]],
        [kls[0][cols], *kls[1:]],
        correlation="spearman",
        num_samples=None,
    )
    np.testing.assert_allclose(spear_cols.model_scores, spear.model_scores, atol=1e-12)


def test_float32_and_affine_rescaling():
    zs, kls = sim.udr_models("mixed")
    base = metrics.udr(zs, kls)
    f32 = metrics.udr([z.astype(np.float32) for z in zs], kls)
    np.testing.assert_allclose(f32.model_scores, base.model_scores, atol=1e-5)
    moved = metrics.udr([3 * z - 7 for z in zs], kls)
    np.testing.assert_allclose(moved.model_scores, base.model_scores, atol=1e-9)


def test_subsample_is_shared_and_seeded():
    s = _sources(n=5000)
    res = metrics.udr([s, _copy(s, 1)], num_samples=800, seed=3)
    np.testing.assert_allclose(res.model_scores, 1 - ALPHA, atol=1e-9)  # rows stay paired
    assert res.settings["n_used"] == 800
    zs, kls = sim.udr_models("rotated", n=3000)
    a, b = metrics.udr(zs, kls, seed=1), metrics.udr(zs, kls, seed=1)
    np.testing.assert_array_equal(a.model_scores, b.model_scores)
    assert not np.array_equal(a.model_scores, metrics.udr(zs, kls, seed=2).model_scores)


def test_bootstrap_interval():
    zs, kls = sim.udr_models("mixed", n=600)
    res = metrics.udr(zs, kls, n_boot=30, seed=4)
    assert np.all(res.ci_low <= res.model_scores + 1e-9)
    assert np.all(res.model_scores <= res.ci_high + 1e-9)
    assert res.ci_high[3] < res.ci_low[:3].min()  # the odd model out, with its interval
    again = metrics.udr(zs, kls, n_boot=30, seed=4)
    np.testing.assert_array_equal(again.ci_low, res.ci_low)
    frame = res.to_frame()
    assert frame.loc[frame.metric == "udr", "ci_low"].notna().all()


# ------------------------------------------------------------------ table and registry


def test_to_frame_has_one_row_per_model_and_per_ordered_pair():
    zs, kls = sim.udr_models("mixed")
    res = metrics.udr(dict(zip("abcd", zs, strict=True)), dict(zip("abcd", kls, strict=True)))
    frame = res.to_frame()
    models = frame[frame.metric == "udr"]
    assert models.model.tolist() == list("abcd") and (models.scope == "overall").all()
    np.testing.assert_array_equal(models.value, res.model_scores)
    assert models.n_active.tolist() == [5, 5, 5, 5]
    pairs = frame[frame.metric == "udr_pairwise"]
    assert len(pairs) == 12 and set(pairs.other_model) == set("abcd")
    assert frame.attrs["correlation"] == "lasso" and frame.attrs["models"] == list("abcd")
    assert "versions" in frame.attrs and frame.attrs["seed"] == 0
    named = metrics.udr(zs, kls, names=["w", "x", "y", "z"])
    assert named.models == ("w", "x", "y", "z")


def test_registered_as_a_multi_model_metric():
    assert "udr" in multi_model_specs() and "udr" not in metric_specs()
    assert multi_model_specs()["udr"].function is metrics.udr
    from click.testing import CliRunner

    from lps_eval.cli import main

    out = CliRunner().invoke(main, ["metrics"])
    assert out.exit_code == 0 and "several models (compare): udr" in out.stdout


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda zs, kls: ([zs[0]], None), "at least 2"),
        (lambda zs, kls: (zs[0], None), "list"),
        (lambda zs, kls: ([zs[0], zs[1][:-1]], None), "row counts differ"),
        (lambda zs, kls: (zs, kls[:3]), "one per model"),
        (lambda zs, kls: (zs, [kls[0][:-1], *kls[1:]]), "latent dimensions"),
        (lambda zs, kls: (zs, [np.r_[np.nan, kls[0][1:]], *kls[1:]]), "NaN"),
        (lambda zs, kls: (zs, [-kls[0], *kls[1:]]), "negative"),
        (lambda zs, kls: ([np.where(zs[0] > 2, np.nan, zs[0]), *zs[1:]], None), "NaN"),
        (lambda zs, kls: ({"a": zs[0], "b": zs[1]}, {"a": kls[0]}), "no entry"),
    ],
)
def test_bad_input(build, match):
    zs, kls = sim.udr_models("aligned", n=50)
    models, kl = build(zs, kls)
    with pytest.raises(LpsInputError, match=match):
        metrics.udr(models, kl)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"correlation": "pearson"}, "correlation"),
        ({"variant": "paper"}, "variant"),
        ({"kl_threshold": -1}, "kl_threshold"),
        ({"lasso_alpha": 0}, "lasso_alpha"),
        ({"filter_low_kl": "yes"}, "filter_low_kl"),
        ({"num_samples": 2}, "num_samples"),
        ({"seed": None}, "seed"),
        ({"names": ["a", "a", "b", "c"]}, "distinct"),
        ({"n_boot": -1}, "n_boot"),
    ],
)
def test_bad_options(options, match):
    zs, kls = sim.udr_models("aligned", n=50)
    with pytest.raises(LpsInputError, match=match):
        metrics.udr(zs, kls, **options)
