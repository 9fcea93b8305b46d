"""Invariants every supervised metric must satisfy, checked over the one registry."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from lps_eval import LpsInputError, metrics
from lps_eval.metrics import METRIC_ROWS, METRICS, metric_specs, register_metric
from lps_eval.results import TIDY_COLUMNS, RowsResult, make_row

N = 600
SIZES = (3, 4)
# Fast settings: small sample sizes keep the whole file quick.
FAST = {
    "beta_vae": {"num_train": 500, "num_eval": 2000, "batch_size": 16},
    "factor_vae": {
        "num_train": 500,
        "num_eval": 2000,
        "batch_size": 16,
        "num_variance_estimate": 600,
    },
    "strong_downstream": {"n_experiment": 2},
    "reduced_downstream": {"probe": "logistic"},
}
SPECS = metric_specs()

#: Invariance tolerances, named once. "exact" is float round-off; a tree probe's
#: tie-breaking and an intervention's draws move a value by at most the other two.
TOL_EXACT = 1e-9
TOL_TREE_PROBE = 0.03
TOL_SAMPLED = 0.05
#: float32 input vs the float64 baseline (the float32 values are read exactly; the
#: difference is the rounding of the data itself).
TOL_FLOAT32 = {"interventional": 0.05, "approx_latent_order": 0.03, "default": 0.02}

#: Every metric must declare how it behaves under row order and under column order.
SAMPLE_ORDER = {"exact_sample_order", "approx_sample_order"}
LATENT_ORDER = {"exact_latent_order", "approx_latent_order"}


def _has(name, prop):
    return prop in SPECS[name].properties


def _data(seed=0, n=N):
    rng = np.random.default_rng(seed)
    f = np.stack([rng.integers(0, k, n) for k in SIZES], axis=1)
    s = f / np.array(SIZES)
    z = np.concatenate(
        [
            s @ np.array([[1.0, 0.3], [0.0, 1.0]]) + 0.2 * rng.normal(size=(n, 2)),
            rng.normal(size=(n, 1)),
        ],
        axis=1,
    )
    return z, f


def _split(z, f):
    k = len(z) * 2 // 3
    return {"z": z[:k], "factors": f[:k], "z_test": z[k:], "factors_test": f[k:]}


def _call(name, z, f, **kwargs):
    needs_test = _has(name, "uses_test_split")
    args = _split(z, f) if needs_test else {"z": z, "factors": f}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return METRICS[name](**args, **FAST.get(name, {}), **kwargs)


def _overall(res):
    frame = res.to_frame()
    return frame[frame.scope == "overall"].set_index("metric")["value"]


@pytest.fixture(scope="module")
def data():
    return _data()


@pytest.fixture(scope="module")
def baseline(data):
    return {name: _overall(_call(name, *data)) for name in METRICS}


@pytest.mark.parametrize("name", list(METRICS))
def test_tidy_frame_schema(name, baseline, data):
    res = _call(name, *data)
    frame = res.to_frame()
    assert tuple(frame.columns[: len(TIDY_COLUMNS)]) == TIDY_COLUMNS
    overall = frame[frame.scope == "overall"]
    assert tuple(overall.metric) == METRIC_ROWS[name]
    assert frame.scope.isin(["overall", "dim", "factor"]).all()
    dims = frame[frame.scope == "dim"]
    assert dims.dim.notna().all()
    factors = frame[(frame.scope == "factor")]
    assert factors.factor.notna().all() and factors.dim.isna().all()
    assert frame.attrs["seed"] == 0 and "versions" in frame.attrs
    assert res.value == pytest.approx(overall.value.iloc[0], nan_ok=True)
    assert float(res) == pytest.approx(res.value)


@pytest.mark.parametrize("name", [n for n in METRICS if _has(n, "unit_interval")])
def test_values_in_unit_interval(name, baseline):
    values = baseline[name].to_numpy()
    assert np.all((values >= -1e-9) & (values <= 1 + 1e-9)), values


@pytest.mark.parametrize("name", list(METRICS))
def test_same_seed_same_numbers(name, data, baseline):
    pd.testing.assert_series_equal(_overall(_call(name, *data)), baseline[name])


@pytest.mark.parametrize("name", list(METRICS))
def test_sample_order(name, data, baseline):
    z, f = data
    k = len(z) * 2 // 3
    rng = np.random.default_rng(1)
    order = np.concatenate([rng.permutation(k), k + rng.permutation(len(z) - k)])
    got = _overall(_call(name, z[order], f[order]))
    tol = TOL_EXACT if _has(name, "exact_sample_order") else TOL_SAMPLED
    np.testing.assert_allclose(got.to_numpy(), baseline[name].to_numpy(), atol=tol)


@pytest.mark.parametrize("name", list(METRICS))
def test_latent_permutation(name, data, baseline):
    z, f = data
    got = _overall(_call(name, z[:, [2, 0, 1]], f))
    # interventional metrics: the same draws select the same rows; only column order differs
    tol = TOL_EXACT if _has(name, "exact_latent_order") else TOL_TREE_PROBE
    np.testing.assert_allclose(got.to_numpy(), baseline[name].to_numpy(), atol=tol)


@pytest.mark.parametrize("name", list(METRICS))
def test_float32_matches_float64(name, data, baseline):
    z, f = data
    z32 = z.astype(np.float32)
    got32 = _overall(_call(name, z32, f))
    got64 = _overall(_call(name, z32.astype(np.float64), f))
    pd.testing.assert_series_equal(got32, got64)  # float32 is read exactly
    kind = next((p for p in ("interventional", "approx_latent_order") if _has(name, p)), "default")
    np.testing.assert_allclose(got32.to_numpy(), baseline[name].to_numpy(), atol=TOL_FLOAT32[kind])


@pytest.mark.parametrize("name", list(METRICS))
def test_input_validation(name, data):
    z, f = data
    fn = METRICS[name]
    with pytest.raises(LpsInputError, match="rows"):
        fn(z, f[:-1])
    bad = z.copy()
    bad[3, 1] = np.nan
    with pytest.raises(LpsInputError, match="NaN"):
        fn(bad, f)
    with pytest.raises(LpsInputError, match="samples"):
        fn(z[:1], f[:1])
    with pytest.raises(LpsInputError, match="factors_test"):
        fn(z, f, z_test=z)
    with pytest.raises(LpsInputError, match="seed"):
        fn(z, f, seed=None)


@pytest.mark.parametrize("name", list(METRICS))
def test_accepts_lists_and_frames(name, data):
    z, f = data
    ref = _call(name, z, f)
    from_frames = _call(name, pd.DataFrame(z), pd.DataFrame(f))
    from_lists = _call(name, z.tolist(), f.tolist())
    assert from_frames.value == pytest.approx(ref.value, nan_ok=True)
    assert from_lists.value == pytest.approx(ref.value, nan_ok=True)


@pytest.mark.parametrize("name", list(METRICS))
def test_every_metric_declares_its_invariances(name):
    """The completeness check: a registered metric that promises nothing is a bug."""
    props = SPECS[name].properties
    assert props & SAMPLE_ORDER, f"{name} declares no sample-order property"
    assert props & LATENT_ORDER, f"{name} declares no latent-order property"
    assert len(props & SAMPLE_ORDER) == 1 and len(props & LATENT_ORDER) == 1


def test_registry_views_agree():
    assert list(METRICS) == list(METRIC_ROWS) == list(SPECS)
    for name, rows in METRIC_ROWS.items():
        assert rows and all(r == r.lower() and " " not in r for r in rows), (name, rows)
        assert METRICS[name] is getattr(metrics, name)


def test_a_new_metric_is_one_function_and_one_decorator():
    """Registering a metric makes it scoreable by name, with its options in a namespace."""
    import lps_eval
    from lps_eval.metrics.registry import _REGISTRY

    @register_metric(rows=("toy_corr",), properties={"exact_sample_order", "exact_latent_order"})
    def toy_corr(z, factors, *, z_test=None, factors_test=None, seed=0, power=1):
        z, f = np.asarray(z, float), np.asarray(factors, float)
        value = float(abs(np.corrcoef(z[:, 0], f[:, 0])[0, 1]) ** power)
        return RowsResult(
            value=value, settings={"metric": "toy_corr"}, table=(make_row("toy_corr", value),)
        )

    try:
        z, f = _data()
        table = lps_eval.score(z, factors=f, metrics=["toy_corr"], toy_corr={"power": 2})
        assert table.metric.tolist() == ["toy_corr"]
        expected = abs(np.corrcoef(z[:, 0], f[:, 0])[0, 1]) ** 2
        assert table.value.iloc[0] == pytest.approx(expected)
        assert table.attrs["options"]["toy_corr"] == {"power": 2}
        with pytest.raises(LpsInputError, match="did you mean 'power'"):
            lps_eval.score(z, factors=f, metrics=["toy_corr"], toy_corr={"powr": 2})
    finally:
        _REGISTRY.pop("toy_corr")
