"""Figures without golden images: axes, labels, titles, captions and non-empty artists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib")

import lps_eval
from lps_eval.reporting import figures as plot


@pytest.fixture(scope="module")
def z():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(1500, 5))
    z[:, 1] = 0.8 * z[:, 0] + 0.6 * z[:, 1]
    return z


@pytest.fixture(scope="module")
def table(z):
    return lps_eval.score(
        z,
        predictor="knn",
        lps={"n_boot": 30},
        mmd={"permutations": 20},
        independence={"permutations": 20},
    )


def has_caption(fig):
    caption = getattr(fig, "lps_caption", "")
    return isinstance(caption, str) and len(caption) > 40 and "\n" not in caption


def test_marginals_one_hist_and_qq_per_dim(z, table):
    p = table[(table.metric == "mmd") & (table.scope == "dim")].sort_values("dim").p_value
    fig = plot.marginals(z, "gaussian", p_values=p.to_numpy(), max_dims=4)
    assert len(fig.axes) == 8 and has_caption(fig)
    hists, qqs = fig.axes[0::2], fig.axes[1::2]
    for j, ax in enumerate(hists):
        assert ax.get_title().startswith(f"z{j}  p=")
        assert len(ax.patches) == 2  # latent and prior stairs
    for ax in qqs:
        assert len(ax.lines) == 2 and len(ax.lines[0].get_xdata()) == 99
    assert "first 4 of 5" in fig.lps_caption


def test_marginals_qq_is_diagonal_for_the_prior_itself():
    sample = np.random.default_rng(1).uniform(-1, 1, size=(5000, 2))
    fig = plot.marginals(sample, "uniform(-1, 1)")
    x, y = fig.axes[1].lines[0].get_data()
    assert np.max(np.abs(np.asarray(x) - np.asarray(y))) < 0.1


def test_r2_bars_intervals_null_band_and_labels(table):
    fig = plot.r2_bars(table)
    ax = fig.axes[0]
    bars = next(c for c in ax.containers if type(c).__name__ == "BarContainer")
    heights = [b.get_height() for b in bars]
    per_dim = table[(table.metric == "lps") & (table.scope == "dim")].value.to_numpy()
    np.testing.assert_allclose(sorted(heights), sorted(per_dim))
    assert ax.get_xlabel() == "latent dimension" and ax.get_ylabel() == "held-out R2"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "null band" in labels and "linear R2" in labels
    assert has_caption(fig)


def test_structure_heatmap_and_strongest_pair(table, z):
    fig = plot.structure(table, z, pairs=2)
    heat = fig.axes[0]
    image = heat.get_images()[0].get_array()
    assert image.shape == (5, 5)
    # the dependent pair (0, 1) is the strongest and is drawn first (axes[1] is the colorbar)
    assert fig.axes[2].get_title().startswith("z0 vs z1 (MI ")
    assert len(fig.axes[2].collections) == 1  # the hexbin
    assert has_caption(fig)


def test_pairwise_mutual_info_finds_nonlinear_dependence():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4000, 3))
    x[:, 2] = x[:, 0] ** 2 + 0.1 * rng.normal(size=4000)  # uncorrelated with x0, dependent
    mi = plot.pairwise_mutual_info(x)
    assert np.allclose(mi, mi.T, equal_nan=True) and np.isnan(np.diag(mi)).all()
    assert mi[0, 2] > 0.5 and mi[0, 1] < 0.05 and mi[1, 2] < 0.05
    assert abs(np.corrcoef(x[:, 0], x[:, 2])[0, 1]) < 0.1  # invisible to linear structure


def test_learning_curve_figure(z):
    curve = lps_eval.lps_curve(z, predictor="linear", n_boot=20, sizes=[100, 200, 400])
    fig = plot.learning_curve(curve, full_value=0.1)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [100, 200, 400])
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "training rows"
    assert len(ax.collections) == 1  # interval band
    assert has_caption(fig)


def test_supervised_matrices(z):
    factors = np.column_stack([(z[:, 0] > 0), np.digitize(z[:, 2], [-1, 0, 1])]).astype(int)
    table = lps_eval.score(z, factors=factors, metrics=["dci"], seed=0)
    fig = plot.dci_importance(table, factor_names=["sign", "bin"])
    assert fig.axes[0].get_images()[0].get_array().shape == (5, 2)
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["sign", "bin"]
    mi = lps_eval.metrics.mig(z, factors).mutual_info
    fig = plot.mi_matrix(mi)
    assert fig.axes[0].get_title() == "MIG mutual information" and has_caption(fig)


def test_forest_plot_one_panel_per_metric(z):
    t = lps_eval.compare(
        {"a": z, "b": z[:, ::-1].copy(), "c": np.random.default_rng(2).normal(size=z.shape)},
        metrics=["lps", "mmd"],
        predictor="knn",
        n_boot=30,
        mmd={"permutations": 10},
    )
    fig = plot.forest(t)
    assert [ax.get_title() for ax in fig.axes] == ["lps", "lps_linear", "mmd"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["b - a", "c - a"]
    assert has_caption(fig)
    with pytest.raises(ValueError, match="difference rows"):
        plot.forest(t[t.scope != "difference"])


def test_training_curves(tmp_path):
    history = pd.DataFrame(
        {
            "step": np.arange(100),
            "loss": np.linspace(2, 1, 100),
            "recon": np.linspace(1.5, 0.8, 100),
            "reg": np.linspace(0.5, 0.2, 100),
            "seconds": 0.1,
        }
    )
    path = tmp_path / "history.csv"
    history.to_csv(path, index=False)
    fig = plot.training_curves(path)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "recon", "reg"]
    assert all(len(ax.lines) == 2 for ax in fig.axes) and has_caption(fig)


def test_result_plot_and_html_repr(z):
    res = lps_eval.lps(z, predictor="linear", n_boot=20)
    fig = res.plot()
    assert fig.axes[0].get_title() == "Per-dimension predictability (lps)"
    html = res._repr_html_()
    assert html.startswith('<table class="lps-overall">') and "lps_null" in html
    m = lps_eval.mmd(z, permutations=20)
    fig = m.plot()
    assert fig.axes[0].get_title().startswith("mmd = ") and len(fig.axes[0].patches) == 5
    from lps_eval.display import show

    shown = show(lps_eval.score(z, metrics=["lps"], predictor="linear", lps={"n_boot": 10}))
    assert "<th>metric</th>" in shown._repr_html_() and "lps-per-dim" in shown._repr_html_()


# --- every mark is a claim: known worlds (issue 17) ---------------------------------

from lps_eval.predictability import curve_verdict, lps_importance  # noqa: E402
from lps_eval.simulations import (  # noqa: E402
    SINE_PRODUCT_CONDITIONAL,
    SINE_PRODUCT_MARGINAL,
    gaussian_latents,
    sine_product_latents,
)


def coloured_cells(ax):
    """(row, column) of the heatmap cells drawn in colour (not masked grey)."""
    image = np.ma.getmaskarray(ax.get_images()[0].get_array())
    return {(int(i), int(j)) for i, j in zip(*np.nonzero(~image), strict=True)}


def test_pairwise_mi_null_level_and_test_on_known_worlds():
    ind = gaussian_latents(3000, 6, seed=2)
    mi, p, holm, null_level = plot.pairwise_mutual_info_test(ind)
    assert null_level == pytest.approx(15**2 / (2 * 3000))
    iu = np.triu_indices(6, 1)
    assert abs(np.mean(mi[iu]) - null_level) < 0.25 * null_level  # the bias, not structure
    assert np.all(holm[iu] >= 0.05) and np.all(holm[iu] >= p[iu])
    _, _, holm, _ = plot.pairwise_mutual_info_test(sine_product_latents(3000, seed=1))
    above = {(int(i), int(j)) for i, j in zip(*iu, strict=True) if holm[i, j] < 0.05}
    assert above == SINE_PRODUCT_MARGINAL  # z2, z3 are independent on their own


def test_discrete_columns_do_not_share_a_tie_order():
    rng = np.random.default_rng(10)
    codes = rng.integers(0, 3, size=(3000, 2)).astype(float)  # independent, heavily tied
    _, _, holm, _ = plot.pairwise_mutual_info_test(codes)
    assert holm[0, 1] >= 0.05


def test_structure_marks_nothing_on_independent_data():
    z = gaussian_latents(3000, 6, seed=2)
    table = lps_eval.score(z, metrics=["lps"], predictor="linear", lps={"n_boot": 10})
    imp = lps_importance(z, predictor="knn")
    fig = plot.structure(table, z, importance=imp)
    heat, linear = fig.axes[0], fig.axes[2]  # axes[1], axes[3]: colour bars
    assert coloured_cells(heat) == set() and coloured_cells(linear) == set()
    assert "no cell above the null" in heat.get_title()
    hexbins = fig.axes[4:]
    assert len(hexbins) == 3 and all("not above null" in ax.get_title() for ax in hexbins)
    assert "No pair above the null" in fig.lps_caption
    assert f"{15**2 / 6000:.3f} nats" in fig.lps_caption and has_caption(fig)


def test_structure_marks_the_true_pairs_of_a_strong_world():
    z = sine_product_latents(3000, seed=1)
    table = lps_eval.score(z, metrics=["lps"], predictor="linear", lps={"n_boot": 10})
    imp = lps_importance(z, predictor="knn")
    fig = plot.structure(table, z, importance=imp)
    assert coloured_cells(fig.axes[0]) == set(SINE_PRODUCT_CONDITIONAL)
    assert fig.axes[0].get_title() == "What the knn predictor relies on"
    for ax in fig.axes[4:]:  # the top-MI pairs: the marginally dependent ones, in blue
        i, j = (int(s[1:]) for s in ax.get_title().split(" (")[0].split(" vs "))
        assert (min(i, j), max(i, j)) in SINE_PRODUCT_MARGINAL
        assert "not above null" not in ax.get_title()
    assert "No pair above the null" not in fig.lps_caption


def test_marginals_show_holm_beside_raw_p_values(z):
    raw = np.array([0.03, 0.5, 0.2, 0.01, 0.9])
    fig = plot.marginals(z, "gaussian", p_values=raw, max_plot_dims=5)
    titles = [ax.get_title() for ax in fig.axes[0::2]]
    assert titles[0] == "z0  p=0.03, Holm 0.12" and titles[3] == "z3  p=0.01, Holm 0.05"
    given = plot.marginals(z, "gaussian", p_values=raw, p_values_holm=np.ones(5))
    assert given.axes[0].get_title() == "z0  p=0.03, Holm 1"
    assert "Holm" in fig.lps_caption and "5 tests" in fig.lps_caption


def test_max_dims_is_renamed_max_plot_dims(z, table):
    with pytest.warns(lps_eval.LpsDeprecationWarning, match="max_plot_dims"):
        old = plot.marginals(z, "gaussian", max_dims=2)
    assert len(old.axes) == len(plot.marginals(z, "gaussian", max_plot_dims=2).axes) == 4
    with pytest.warns(lps_eval.LpsDeprecationWarning, match="max_plot_dims"):
        bars = plot.r2_bars(table, max_dims=3)
    assert len(bars.axes[0].get_xticks()) == 3
    with pytest.raises(lps_eval.LpsInputError, match="max_plot_dims= only"):
        plot.r2_bars(table, max_dims=3, max_plot_dims=3)


def test_learning_curve_draws_the_null_and_carries_the_verdict():
    z = gaussian_latents(2000, 4, seed=11)
    curve = lps_eval.lps_curve(z, predictor="linear", n_boot=50, sizes=[300, 600, 1200])
    verdict = curve_verdict(curve)
    fig = plot.learning_curve(curve, verdict=verdict)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "null level" in labels
    assert verdict.headline in fig.lps_caption and has_caption(fig)
