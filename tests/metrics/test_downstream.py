"""Downstream probes: known answers, the sample-efficiency table and figure, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lps_eval import LpsInputError, metrics
from lps_eval import simulations as sim
from lps_eval.metrics import LpsMetricWarning, metric_specs
from lps_eval.metrics._downstream import sample_efficiency_figure

CHANCE = float(np.mean([1 / k for k in sim.FACTOR_CASE_SIZES]))


def _grid(case, n=3000, seed=5):
    rng = np.random.default_rng(seed)
    f = sim.sample_grid_factors(n, rng)
    return sim.factor_case_latents(case, f, rng), f


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def test_identity_codes_are_read_perfectly_by_trees():
    z, f = _grid("identity")
    res = metrics.downstream(z, f, probe="fast_gbt", num_train=(100, 1000), num_test=1000, n_boot=0)
    np.testing.assert_array_equal(res.test_accuracy, 1.0)
    assert res.value == 1.0 and res.efficiency == 1.0 and res.headline_size == 1000


def test_random_codes_score_chance():
    z, f = _grid("random")
    res = _quiet(metrics.downstream, z, f, num_train=(100, 1000), num_test=1000)
    assert res.value == pytest.approx(CHANCE, abs=0.04)


def test_a_linear_probe_cannot_see_a_rotation():
    """L2-penalized multinomial regression is rotation-equivariant (the penalty and the
    loss are), so rotated codes get the same predictions; the tree probe does see it, as
    a loss of sample efficiency.
    ``sample="prefix"``: the same rows for both (the grid rows are drawn at random)."""
    z, f = _grid("identity_noisy")
    q = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))[0]
    opts = {"num_train": (100, 1000), "num_test": 1000, "sample": "prefix"}

    def split(codes):
        return {
            "z": codes[:2000],
            "factors": f[:2000],
            "z_test": codes[2000:],
            "factors_test": f[2000:],
        }

    plain = metrics.downstream(**split(z), **opts, n_boot=0)
    rotated = metrics.downstream(**split(z @ q), **opts, n_boot=0)
    np.testing.assert_allclose(rotated.test_accuracy, plain.test_accuracy, atol=2e-3)
    exact = sim.factor_case_latents("identity", f, None)  # axis-aligned steps: easy for trees
    gbt_plain = metrics.downstream(**split(exact), probe="fast_gbt", **opts, n_boot=0)
    gbt_rotated = metrics.downstream(**split(exact @ q), probe="fast_gbt", **opts, n_boot=0)
    # 120 distinct grid points: trees memorize the rotated ones too, but need more rows
    assert gbt_plain.efficiency == 1.0 and gbt_rotated.efficiency < 0.95


def test_nuisance_dimensions_do_not_hurt_much():
    z, f = _grid("identity_noisy")
    noisy = np.concatenate([z, np.random.default_rng(2).normal(size=(len(z), 3))], axis=1)
    opts = {"probe": "fast_gbt", "num_train": (1000,), "num_test": 1000}
    assert (
        metrics.downstream(noisy, f, **opts, n_boot=0).value
        > metrics.downstream(z, f, **opts, n_boot=0).value - 0.05
    )


def test_prefix_sample_equals_scikit_learn_on_the_first_rows():
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.model_selection import KFold

    a = sim.factor_case("nuisance")
    res = metrics.downstream(**a, num_train=(100,), num_test=500, sample="prefix", n_boot=0)
    for k in range(3):
        model = LogisticRegressionCV(Cs=10, cv=KFold(5), scoring="accuracy")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(a["z"][:100], a["factors"][:100, k])
        expected = np.mean(model.predict(a["z_test"][:500]) == a["factors_test"][:500, k])
        assert res.test_accuracy[0, k] == pytest.approx(expected, abs=1e-12)


def test_sizes_beyond_the_rows_are_nan_and_the_headline_uses_the_largest_that_fits():
    z, f = _grid("identity_noisy", n=900)
    with pytest.warns(LpsMetricWarning, match="exceed the 600 training rows"):
        res = metrics.downstream(z, f, probe="fast_gbt", n_boot=0)
    assert res.headline_size == 100 and np.isnan(res.test_accuracy[2:]).all()
    assert np.isnan(res.efficiency) and "above 100" in res.efficiency_reason
    frame = res.to_frame()
    head = frame[frame.metric == "downstream"].iloc[0]
    assert head.num_train == 100 and head.probe == "fast_gbt"
    assert frame.loc[frame.metric == "downstream_efficiency", "reason"].iloc[0]
    curve = frame[frame.metric == "downstream_test_accuracy"]
    assert sorted(set(curve.num_train)) == [10, 100, 1000, 10000] and len(curve) == 12
    with pytest.warns(LpsMetricWarning, match="not computable"):
        none = metrics.downstream(z[:12], f[:12], num_train=(50,), n_boot=0)
    assert np.isnan(none.value) and none.reason


def test_curve_table_and_efficiency():
    z, f = _grid("identity_noisy")
    res = metrics.downstream(
        z, f, probe="fast_gbt", num_train=(10, 100, 1000), num_test=800, n_boot=0
    )
    curve = res.curve
    assert list(curve.columns[:5]) == ["probe", "num_train", "split", "mean", "min"]
    test = curve[curve.split == "test"].set_index("num_train")["mean"]
    assert res.value == pytest.approx(test[1000])
    assert res.efficiency == pytest.approx(test[100] / test[1000])
    assert res.settings["sample"] == "random" and res.settings["headline_size"] == 1000


def test_one_class_in_training_predicts_that_class():
    z, f = _grid("identity_noisy", n=600)
    f = f.copy()
    f[:, 2] = np.where(np.arange(600) < 595, 0, 1)  # 5 rows of value 1 only
    with pytest.warns(LpsMetricWarning, match="one value of a factor"):
        res = metrics.downstream(z, f, probe="fast_gbt", num_train=(10,), num_test=200, n_boot=0)
    assert res.test_accuracy[0, 2] >= 0.95


def test_continuous_factors_are_binned_with_a_warning():
    z, f = _grid("identity_noisy", n=900)
    cont = f + np.random.default_rng(0).uniform(0, 0.5, f.shape)
    with pytest.warns(LpsMetricWarning, match="continuous"):
        metrics.downstream(z, cont, probe="fast_gbt", num_train=(100,), n_boot=0)


def test_sizes_from_the_command_line():
    from lps_eval.metrics.classifier_probes import check_sizes

    assert check_sizes("10,100") == check_sizes("[100, 10]") == check_sizes((100, 10)) == (10, 100)
    assert check_sizes(1000) == (1000,)


def test_registered_off_the_default_section():
    spec = metric_specs()["downstream"]
    assert not spec.default
    assert {"uses_test_split", "exact_sample_order", "exact_latent_order"} <= spec.properties
    import lps_eval

    z, f = _grid("identity", n=600)
    default = lps_eval.score(z, factors=f, metrics=["supervised"], mig={"n_bins": 10})
    assert "downstream" not in set(default.metric)
    chosen = lps_eval.score(
        z, factors=f, metrics=["downstream"], downstream={"probe": "fast_gbt", "num_train": 100}
    )
    assert set(chosen.loc[chosen.scope == "overall", "metric"]) == {
        "downstream",
        "downstream_efficiency",
    }


def test_sample_efficiency_figure_one_line_per_model():
    pytest.importorskip("matplotlib")
    import pandas as pd

    tables = []
    for case in ("identity_noisy", "random"):
        z, f = _grid(case, n=1500)
        res = _quiet(metrics.downstream, z, f, probe="fast_gbt", num_train=(10, 100, 900))
        tables.append(res.to_frame().assign(model=case))
    fig = sample_efficiency_figure(pd.concat(tables))
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 2 and ax.get_xscale() == "log"
    assert "Sample efficiency" in fig.lps_caption
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "identity_noisy (fast_gbt)",
        "random (fast_gbt)",
    ]
    assert res.figure().axes[0].get_lines()
    with pytest.raises(LpsInputError, match="no downstream_test_accuracy rows"):
        sample_efficiency_figure(pd.DataFrame({"metric": ["mig"], "value": [0.1]}))


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"probe": "svm"}, "probe"),
        ({"num_train": []}, "num_train"),
        ({"num_train": [1, 10]}, "num_train"),
        ({"num_train": "ten"}, "num_train"),
        ({"num_train": b"10"}, "num_train"),
        ({"num_test": 0}, "num_test"),
        ({"sample": "first"}, "sample"),
        ({"efficiency_size": 1}, "efficiency_size"),
    ],
)
def test_bad_options(options, match):
    z, f = _grid("identity", n=60)
    with pytest.raises(LpsInputError, match=match):
        metrics.downstream(z, f, **options, n_boot=0)
