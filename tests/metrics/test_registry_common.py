"""Invariants every supervised metric must satisfy, checked over the one registry.

A metric registered tomorrow is checked here today, through what it declares: its
properties (:data:`lps_eval.metrics.registry.PROPERTIES`: invariances, known-answer
behaviour), its needs (:data:`lps_eval.metrics.common.NEEDS`) and its interval plan. The
sets:

- the tidy schema, seeded reproducibility, bad input, lists and frames;
- invariances: row order, latent order, affine rescaling of one latent, float32;
- known answers on :func:`lps_eval.simulations.known_world`: aligned codes above random
  codes, above rotated codes (rotation-sensitive rows), pure-noise latents ignored or
  penalized as declared;
- intervals: the estimate never moves, every finite row gets an interval, it brackets
  within the declared range, is seeded, and is invariant to row and latent order;
- degenerate inputs (:data:`lps_eval.simulations.DEGENERATE_WORLDS`): NaN with a reason
  exactly where the declared needs say the number cannot mean anything, a number
  everywhere else.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from lps_eval import LpsInputError, metrics
from lps_eval import simulations as sim
from lps_eval.metrics import (
    METRIC_ROWS,
    METRICS,
    LpsUndefinedWarning,
    metric_specs,
    register_metric,
)
from lps_eval.metrics.intervals import MIN_QUANTILE_BOOT
from lps_eval.results import TIDY_COLUMNS, RowsResult, make_row

N = 600
SIZES = (3, 4)
# Fast settings: small sample sizes keep the whole file quick; no interval unless a test
# asks for one.
FAST = {
    "beta_vae": {"num_train": 500, "num_eval": 2000, "batch_size": 16},
    "factor_vae": {
        "num_train": 500,
        "num_eval": 2000,
        "batch_size": 16,
        "num_variance_estimate": 600,
    },
    "strong_downstream": {"n_experiment": 2},
    # the degenerate worlds have 160 training rows: the efficiency ratio needs a headline
    # size above its numerator's (at the defaults 100 / 10,000 it is NaN, with its reason)
    "downstream": {"num_train": (10, 100), "efficiency_size": 10},
    "reduced_downstream": {"probe": "logistic"},
}
SPECS = metric_specs()
#: Replicates of the interval tests (below MIN_QUANTILE_BOOT: the normal-t path, cheap);
#: one test runs the quantile path.
N_BOOT = 20
#: The probe metrics refit every probe per replicate (seconds each): 4 replicates test the
#: same interval machinery (normal-t path) at a fifth of the cost.
PROBE_METRICS = {"downstream", "fairness", "strong_downstream", "reduced_downstream",
                 "probe_ladder", "dci_es", "infomec"}  # fmt: skip


def _n_boot(name):
    return 4 if name in PROBE_METRICS else N_BOOT


#: Invariance tolerances, named once. "exact" is float round-off; a tree probe's
#: tie-breaking and an intervention's draws move a value by at most the other two.
TOL_EXACT = 1e-9
TOL_TREE_PROBE = 0.03
TOL_SAMPLED = 0.05
#: float32 input vs the float64 baseline (the float32 values are read exactly; the
#: difference is the rounding of the data itself).
TOL_FLOAT32 = {"interventional": 0.05, "approx_latent_order": 0.03, "default": 0.02}
#: Known answers (known_world, 600 rows, noise 0.1): margins a working metric clears with
#: room to spare, and the move pure-noise latents may cause in a nuisance-invariant row
#: (plug-in MI of a noise latent and a probe's spread).
MARGIN_RANDOM = 0.15
MARGIN_ROTATION = 0.1
TOL_NUISANCE = 0.05
MARGIN_NUISANCE = 0.02

#: Every metric must declare how it behaves under row order and under column order, and
#: every row how it treats pure-noise latents.
SAMPLE_ORDER = {"exact_sample_order", "approx_sample_order"}
LATENT_ORDER = {"exact_latent_order", "approx_latent_order"}
NUISANCE = {"nuisance_invariant", "nuisance_penalized"}
ROWS = [(name, row) for name, spec in SPECS.items() for row in spec.rows]
#: The rows that score alignment (companion rows qualify a score and promise no ordering).
SCORE_ROWS = [
    (name, row) for name, row in ROWS if "companion" not in SPECS[name].properties_of(row)
]


def _has(name, prop, row=None):
    spec = SPECS[name]
    return prop in (spec.properties_of(row) if row else spec.properties)


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
    options = {"n_boot": 0, **FAST.get(name, {}), **kwargs}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return METRICS[name](**args, **options)


def _overall(res, column="value"):
    frame = res.to_frame()
    return frame[frame.scope == "overall"].set_index("metric")[column]


@pytest.fixture(scope="module")
def data():
    return _data()


@pytest.fixture(scope="module")
def baseline(data):
    return {name: _overall(_call(name, *data)) for name in METRICS}


@pytest.fixture(scope="module")
def with_intervals(data):
    return {name: _call(name, *data, n_boot=_n_boot(name)) for name in METRICS}


# ---------------------------------------------------------------- schema and input


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
    with pytest.raises(LpsInputError, match="n_boot"):
        fn(z, f, n_boot=-1)
    with pytest.raises(LpsInputError, match="confidence"):
        fn(z, f, confidence=1.5)


@pytest.mark.parametrize("name", list(METRICS))
def test_accepts_lists_and_frames(name, data):
    z, f = data
    ref = _call(name, z, f)
    from_frames = _call(name, pd.DataFrame(z), pd.DataFrame(f))
    from_lists = _call(name, z.tolist(), f.tolist())
    assert from_frames.value == pytest.approx(ref.value, nan_ok=True)
    assert from_lists.value == pytest.approx(ref.value, nan_ok=True)


# ---------------------------------------------------------------- invariances


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


@pytest.mark.parametrize(
    ("name", "row"),
    [
        (n, r)
        for n, r in ROWS
        if {"exact_latent_affine", "approx_latent_affine"} & SPECS[n].properties_of(r)
    ],
)
def test_affine_rescaling_of_one_latent(name, row, data, baseline):
    """z_1 -> -2.5 z_1 + 1 (a sign flip, a stretch, a shift) where the row promises it."""
    z, f = data
    moved = z.copy()
    moved[:, 1] = -2.5 * moved[:, 1] + 1.0
    got = _overall(_call(name, moved, f))[row]
    tol = TOL_EXACT if _has(name, "exact_latent_affine", row) else TOL_TREE_PROBE
    assert got == pytest.approx(baseline[name][row], abs=tol)


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
def test_every_metric_declares_its_invariances(name):
    """The completeness check: a registered metric that promises nothing is a bug."""
    props = SPECS[name].properties
    assert props & SAMPLE_ORDER, f"{name} declares no sample-order property"
    assert props & LATENT_ORDER, f"{name} declares no latent-order property"
    assert len(props & SAMPLE_ORDER) == 1 and len(props & LATENT_ORDER) == 1
    for row in SPECS[name].rows:
        row_props = SPECS[name].properties_of(row)
        assert len(row_props & NUISANCE) == 1, f"{row}: declare how pure-noise latents count"
        assert len(row_props & {"exact_latent_affine", "approx_latent_affine"}) <= 1


# ---------------------------------------------------------------- known answers


#: Metrics with a row that compares against latents serving no factor (need
#: ``spare_latent``, e.g. XMIG): the known worlds have one latent per factor, where such a
#: row is undefined by construction, so these metrics are scored on every world with one
#: pure-noise latent appended (the same column in every world; the nuisance world then has
#: three). The comparisons themselves are unchanged.
SPARE = {n for n, spec in SPECS.items() if any("spare_latent" in v for v in spec.needs.values())}


def _with_spare_latent(z):
    spare = 0.5 * np.random.default_rng(123).normal(size=(len(z), 1))
    return np.concatenate([z, spare], axis=1)


@pytest.fixture(scope="module")
def worlds():
    out = {}
    for kind in sim.KNOWN_WORLDS:
        w = sim.known_world(kind, n=N)
        out[kind] = {
            name: _overall(
                _call(name, _with_spare_latent(w["z"]) if name in SPARE else w["z"], w["factors"])
            )
            for name in METRICS
        }
    return out


@pytest.mark.parametrize(("name", "row"), SCORE_ROWS)
def test_aligned_codes_beat_random_codes(name, row, worlds):
    """Every row must tell codes aligned with the factors from codes that ignore them."""
    assert worlds["identity"][name][row] > worlds["random"][name][row] + MARGIN_RANDOM


@pytest.mark.parametrize(
    ("name", "row"), [(n, r) for n, r in SCORE_ROWS if _has(n, "rotation_sensitive", r)]
)
def test_rotation_sensitive_rows_drop_on_mixed_codes(name, row, worlds):
    assert worlds["identity"][name][row] > worlds["rotated"][name][row] + MARGIN_ROTATION


@pytest.mark.parametrize(("name", "row"), SCORE_ROWS)
def test_nuisance_latents_as_declared(name, row, worlds):
    aligned, noisy = worlds["identity"][name][row], worlds["nuisance"][name][row]
    if _has(name, "nuisance_invariant", row):
        assert noisy == pytest.approx(aligned, abs=TOL_NUISANCE)
    else:  # averaging over latents: the noise latents pull the value down
        assert noisy < aligned - MARGIN_NUISANCE


# ---------------------------------------------------------------- intervals


@pytest.mark.parametrize("name", list(METRICS))
def test_interval_never_moves_the_estimate(name, data, baseline, with_intervals):
    pd.testing.assert_series_equal(_overall(with_intervals[name]), baseline[name])


@pytest.mark.parametrize("name", list(METRICS))
def test_every_finite_row_has_an_interval_in_range(name, with_intervals):
    res = with_intervals[name]
    frame = res.to_frame()
    finite = frame[np.isfinite(frame.value)]
    assert finite.ci_low.notna().all() and finite.ci_high.notna().all(), "rows without interval"
    assert (finite.ci_low <= finite.ci_high).all()
    overall = finite[finite.scope == "overall"]
    if _has(name, "unit_interval"):
        assert ((overall.ci_low >= 0) & (overall.ci_high <= 1)).all()
    record = res.settings["interval"]
    assert record["n_boot"] == _n_boot(name) and record["confidence"] == 0.95
    assert record["unit"] and record["method"]
    assert (res.ci_low, res.ci_high) == tuple(overall[["ci_low", "ci_high"]].iloc[0])


@pytest.mark.parametrize("name", list(METRICS))
def test_interval_is_seeded(name, data, with_intervals):
    again = _call(name, *data, n_boot=_n_boot(name))
    pd.testing.assert_series_equal(
        _overall(again, "ci_low"), _overall(with_intervals[name], "ci_low")
    )


@pytest.mark.parametrize("name", [n for n in METRICS if _has(n, "exact_sample_order")])
def test_interval_invariant_to_row_order(name, data, with_intervals):
    z, f = data
    k = len(z) * 2 // 3
    rng = np.random.default_rng(1)
    order = np.concatenate([rng.permutation(k), k + rng.permutation(len(z) - k)])
    got = _call(name, z[order], f[order], n_boot=_n_boot(name))
    for column in ("ci_low", "ci_high"):
        np.testing.assert_allclose(
            _overall(got, column), _overall(with_intervals[name], column), atol=TOL_EXACT
        )


@pytest.mark.parametrize("name", [n for n in METRICS if _has(n, "exact_latent_order")])
def test_interval_invariant_to_latent_order(name, data, with_intervals):
    z, f = data
    got = _call(name, z[:, [2, 0, 1]], f, n_boot=_n_boot(name))
    for column in ("ci_low", "ci_high"):
        np.testing.assert_allclose(
            _overall(got, column), _overall(with_intervals[name], column), atol=TOL_EXACT
        )


def test_quantile_path_and_its_record(data):
    res = _call("mig", *data, n_boot=MIN_QUANTILE_BOOT)
    assert res.settings["interval"]["method"] == "basic"
    assert res.settings["interval"]["unit"] == "rows"
    assert np.isfinite([res.ci_low, res.ci_high]).all()


def test_no_interval_when_n_boot_is_zero(data):
    res = _call("mig", *data, n_boot=0)
    assert math.isnan(res.ci_low) and res.to_frame().ci_low.isna().all()


# ---------------------------------------------------------------- degenerate inputs

#: Worlds in which no supervised number can mean anything.
UNIVERSAL = {"all_factors_constant", "unique_factor_values", "constant_latents"}
#: World -> the need it breaks.
BROKEN_NEED = {
    "single_latent": "two_latents",
    "single_factor": "two_factors",
    "fewer_test_rows_than_classes": "test_split",
    "one_test_class": "test_split",
}


def _meaningless(name, row, world):
    if world in UNIVERSAL:
        return True
    need = BROKEN_NEED.get(world)
    if need is None:
        return False
    if need == "test_split" and not _has(name, "uses_test_split"):
        return False
    return need in SPECS[name].needs.get(row, ())


def _degenerate_call(name, world):
    a = sim.degenerate_world(world)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = METRICS[name](**a, **FAST.get(name, {}), n_boot=0)
    return res, [w for w in caught if issubclass(w.category, LpsUndefinedWarning)]


@pytest.mark.parametrize(
    ("name", "world"),
    [(n, w) for n in METRICS for w in sim.DEGENERATE_WORLDS],
)
def test_degenerate_inputs_give_nan_with_a_reason(name, world):
    """NaN where the number cannot mean anything (with a warning naming problem and fix),
    a number everywhere else: a metric can pass neither by always nor by never failing."""
    res, undefined = _degenerate_call(name, world)
    overall = res.to_frame().query("scope == 'overall'").set_index("metric")
    for row in SPECS[name].rows:
        value = overall.loc[row, "value"]
        if _meaningless(name, row, world):
            assert math.isnan(value), f"{row} = {value} on {world}, where it means nothing"
            assert isinstance(overall.loc[row, "reason"], str) and overall.loc[row, "reason"]
            assert undefined, f"{row}: NaN without an LpsUndefinedWarning on {world}"
            assert any(" pass " in str(w.message) or "rescale" in str(w.message) for w in undefined)
        else:
            assert np.isfinite(value), f"{row} is NaN on {world}, where it is defined"


@pytest.mark.parametrize("name", list(METRICS))
def test_a_constant_factor_changes_nothing(name):
    """A factor that never varies is left out: the numbers equal those without it, and its
    own rows are NaN."""
    a = sim.degenerate_world("one_factor_constant")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = METRICS[name](**a, **FAST.get(name, {}), n_boot=0)
        ref = METRICS[name](a["z"], a["factors"][:, :2], **FAST.get(name, {}), n_boot=0)
    frame = res.to_frame()
    np.testing.assert_allclose(_overall(res), _overall(ref), atol=TOL_EXACT)
    per_factor = frame[(frame.scope == "factor") & (frame.factor == 2)]
    assert per_factor.value.isna().all()


# ---------------------------------------------------------------- the registry


def test_registry_views_agree():
    assert list(METRICS) == list(METRIC_ROWS) == list(SPECS)
    for name, rows in METRIC_ROWS.items():
        assert rows and all(r == r.lower() and " " not in r for r in rows), (name, rows)
        assert METRICS[name] is getattr(metrics, name)


@pytest.mark.parametrize("name", list(METRICS))
def test_interval_options_in_the_namespace(name):
    options = SPECS[name].options()
    assert options["n_boot"] == SPECS[name].interval.n_boot and options["confidence"] == 0.95


def test_a_new_metric_is_one_function_and_one_decorator():
    """Registering a metric makes it scoreable by name, with its options in a namespace."""
    import lps_eval
    from lps_eval.metrics.registry import _REGISTRY

    @register_metric(
        rows=("toy_corr",),
        properties={"exact_sample_order", "exact_latent_order", "nuisance_invariant"},
    )
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
        assert table.attrs["options"]["toy_corr"] == {"power": 2, "n_boot": 200, "confidence": 0.95}
        # it never called prepare(): no rows to resample, said so instead of a fake interval
        assert math.isnan(table.ci_low.iloc[0])
        assert "prepare" in table.attrs["settings"]["toy_corr"]["interval"]["reason"]
        with pytest.raises(LpsInputError, match="did you mean 'power'"):
            lps_eval.score(z, factors=f, metrics=["toy_corr"], toy_corr={"powr": 2})
    finally:
        _REGISTRY.pop("toy_corr")


def test_a_new_metric_inherits_intervals_and_undefined_checks():
    """A metric that calls prepare() gets its interval and the degenerate checks for free."""
    from lps_eval.metrics.common import SupervisedResult, prepare
    from lps_eval.metrics.registry import _REGISTRY

    @register_metric(
        rows=("toy_mean_corr",),
        properties={"exact_sample_order", "exact_latent_order", "nuisance_invariant"},
        needs=("two_latents",),
    )
    def toy_mean_corr(z, factors, *, z_test=None, factors_test=None, seed=0):
        data = prepare("toy_mean_corr", z, factors, z_test, factors_test, seed=seed,
                       needs_test=False, num_train=None)  # fmt: skip
        c = np.corrcoef(data.z.T, data.factors.T)[: data.z.shape[1], data.z.shape[1] :]
        return SupervisedResult(
            value=float(np.nanmean(np.abs(c))), settings=data.settings, metric="toy_mean_corr"
        )

    try:
        z, f = _data()
        res = toy_mean_corr(z, f, n_boot=50)
        assert res.ci_low <= res.ci_high and np.isfinite([res.ci_low, res.ci_high]).all()
        with pytest.warns(LpsUndefinedWarning, match="every factor is constant"):
            assert math.isnan(toy_mean_corr(z, np.zeros_like(f)).value)
        with pytest.warns(LpsUndefinedWarning, match="only 1 latent varies"):
            assert math.isnan(toy_mean_corr(z[:, :1], f).value)
    finally:
        _REGISTRY.pop("toy_mean_corr")


def test_unknown_declarations_are_refused():
    with pytest.raises(ValueError, match="unknown metric properties"):
        register_metric(rows=("x",), properties={"fast"})
    with pytest.raises(ValueError, match="unknown metric needs"):
        register_metric(rows=("x",), needs={"x": ("three_latents",)})
    with pytest.raises(ValueError, match="not among the metric's rows"):
        register_metric(rows=("x",), row_properties={"y": ("unit_interval",)})
