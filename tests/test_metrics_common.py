"""Invariants every supervised metric must satisfy, checked over the one registry."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from lps_eval import LpsInputError
from lps_eval.metrics import METRIC_ROWS, METRICS
from lps_eval.results import TIDY_COLUMNS

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
}
# Metrics whose value does not depend on the column order of z (all of them promise it;
# tree probes up to tie-breaking, interventions up to the same random draws).
EXACT_PERMUTATION = (
    "mig",
    "sap",
    "modularity_explicitness",
    "irs",
    "mig_sup",
    "dcimig",
    "jemmig",
    "beta_vae",
    "factor_vae",
)
SAMPLED = ("beta_vae", "factor_vae")


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
    needs_test = name in ("sap", "dci", "modularity_explicitness")
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


@pytest.mark.parametrize("name", list(METRICS))
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
    tol = 0.05 if name in SAMPLED else (0.02 if name == "dci" else 1e-9)
    np.testing.assert_allclose(got.to_numpy(), baseline[name].to_numpy(), atol=tol)


@pytest.mark.parametrize("name", list(METRICS))
def test_latent_permutation(name, data, baseline):
    z, f = data
    got = _overall(_call(name, z[:, [2, 0, 1]], f))
    tol = 1e-9 if name in EXACT_PERMUTATION else 0.03
    if name in SAMPLED:  # the same draws select the same rows; only column order differs
        tol = 1e-9
    np.testing.assert_allclose(got.to_numpy(), baseline[name].to_numpy(), atol=tol)


@pytest.mark.parametrize("name", list(METRICS))
def test_float32_matches_float64(name, data, baseline):
    z, f = data
    z32 = z.astype(np.float32)
    got32 = _overall(_call(name, z32, f))
    got64 = _overall(_call(name, z32.astype(np.float64), f))
    pd.testing.assert_series_equal(got32, got64)  # float32 is read exactly
    tol = 0.05 if name in SAMPLED else (0.03 if name == "dci" else 0.02)
    np.testing.assert_allclose(got32.to_numpy(), baseline[name].to_numpy(), atol=tol)


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
    res = _call(name, pd.DataFrame(z), pd.DataFrame(f))
    ref = _call(name, z, f)
    assert res.value == pytest.approx(ref.value, nan_ok=True)


def test_registry_covers_issue_metrics():
    assert set(METRICS) == {
        "beta_vae",
        "factor_vae",
        "mig",
        "sap",
        "dci",
        "modularity_explicitness",
        "irs",
        "mig_sup",
        "dcimig",
        "jemmig",
    }
    assert not math.isnan(len(METRIC_ROWS))
