"""Bigger than memory: memmaps and dask arrays give the in-memory numbers; streamed
passes agree with the one-shot formulas."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lps_eval
import lps_eval.streaming as streaming
from lps_eval import LpsInputError, information
from lps_eval._random import canonical_row_order
from lps_eval._validation import check_latents
from lps_eval.independence import mutual_info_mean
from lps_eval.io import load_array

FAST = {"permutations": 20, "n_boot": 20}


def _latents(n=3000, d=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    x[:, 1] = 0.7 * x[:, 0] + 0.5 * x[:, 1]
    x[:, 2] = np.sin(2 * x[:, 3]) + 0.3 * x[:, 2]
    return (x + 5.0).astype(np.float32)  # an offset: moments must not lose digits


@pytest.fixture
def saved(tmp_path):
    x = _latents()
    path = tmp_path / "z.npy"
    np.save(path, x)
    return x, path


@pytest.fixture
def small_stream(monkeypatch):
    """Make the streamed (chunked) paths run on small test arrays, in several blocks."""
    monkeypatch.setattr(streaming, "STREAM_ELEMENTS", 1000)
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 512)


def test_npy_is_memory_mapped_and_not_copied(saved):
    x, path = saved
    z = load_array(path)
    assert isinstance(z, np.memmap)
    assert check_latents(z, lazy=True) is z  # validated without a copy
    np.testing.assert_array_equal(streaming.take_rows(z, [5, 0, 5, 2999]), x[[5, 0, 5, 2999]])


def test_lazy_check_finds_bad_rows_in_a_memmap(tmp_path):
    x = _latents()
    x[1234, 2] = np.nan
    x[2000, 0] = np.inf
    np.save(tmp_path / "bad.npy", x)
    with pytest.raises(LpsInputError, match=r"NaN or inf in 2 row\(s\) \(first: row 1234\)"):
        lps_eval.score(load_array(tmp_path / "bad.npy"))


@pytest.mark.parametrize("streamed", [False, True])
def test_memmap_and_dask_score_equal_in_memory_exactly(saved, streamed, request):
    if streamed:
        request.getfixturevalue("small_stream")
    da = pytest.importorskip("dask.array")
    x, path = saved
    memory = lps_eval.score(x, **FAST)
    mapped = lps_eval.score(load_array(path), **FAST)
    chunked = lps_eval.score(da.from_array(x, chunks=(700, 4)), **FAST)
    pd.testing.assert_frame_equal(memory, mapped, check_exact=True)
    pd.testing.assert_frame_equal(memory, chunked, check_exact=True)


def test_memory_mapped_linear_lps_equals_the_in_memory_fit(saved, monkeypatch):
    """A memmap goes through the same chunked cross-fitting as an array in memory (rows
    are read when used, in sorted order): the same numbers, not an approximation."""
    x, path = saved
    whole = lps_eval.lps(x, predictor="linear", max_samples=None, n_boot=100)
    monkeypatch.setattr(streaming, "STREAM_ELEMENTS", 1000)  # treat the file as big
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 256)
    mapped = np.load(path, mmap_mode="r")
    streamed = lps_eval.lps(mapped, predictor="linear", max_samples=None, n_boot=100)
    np.testing.assert_allclose(streamed.per_dim, whole.per_dim, rtol=0, atol=1e-12)
    np.testing.assert_allclose(streamed.structure, whole.structure, rtol=0, atol=1e-10)
    assert (streamed.ci_low, streamed.ci_high) == pytest.approx((whole.ci_low, whole.ci_high))
    assert streamed.null_value == pytest.approx(whole.null_value)


@pytest.mark.parametrize("split", [{}, {"test_size": 0.25}])
def test_file_order_linear_passes_equal_the_gather_and_ignore_thread_count(
    saved, small_stream, monkeypatch, split
):
    """Above the switch the linear cross-fit reads the file in its own order (rows
    labelled by fold) instead of gathering each fold's rows: the same fit up to the
    order of floating-point additions, and the same bits whatever the thread count."""
    import os

    from lps_eval.predictability import _lps

    x, path = saved
    options = {"predictor": "linear", "max_samples": None, "interval": "delta", **split}
    monkeypatch.setattr(streaming, "STREAM_ELEMENTS", 10**9)
    gathered = lps_eval.lps(x, **options)
    monkeypatch.setattr(streaming, "STREAM_ELEMENTS", 1000)
    monkeypatch.setattr(_lps, "SEGMENT_ROWS", 700)  # several segments, a ragged last one
    in_order = lps_eval.lps(np.load(path, mmap_mode="r"), **options)
    np.testing.assert_allclose(in_order.per_dim, gathered.per_dim, rtol=0, atol=1e-12)
    assert (in_order.ci_low, in_order.ci_high) == pytest.approx(
        (gathered.ci_low, gathered.ci_high), abs=1e-12
    )
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    one_thread = lps_eval.lps(x, **options)
    assert one_thread.per_dim.tobytes() == in_order.per_dim.tobytes()
    assert (one_thread.ci_low, one_thread.ci_high) == (in_order.ci_low, in_order.ci_high)


def test_file_summaries_are_read_once_per_file(saved, small_stream, monkeypatch):
    """Validation, constant columns, ranges and moments of a read-only memmap are one
    pass each for the whole score, not one per section."""
    _, path = saved
    calls = {"range": 0}
    original = streaming._column_range

    def counting(z):
        calls["range"] += 1
        return original(z)

    monkeypatch.setattr(streaming, "_column_range", counting)
    z = np.load(path, mmap_mode="r")
    lps_eval.score(z, **FAST)
    assert calls["range"] == 1
    writable = np.array(z)  # an in-memory array can change between calls: never remembered
    streaming.column_range(writable)
    streaming.column_range(writable)
    assert calls["range"] == 3


def test_streamed_null_is_near_zero_and_interval_covers_for_independent_data(monkeypatch):
    monkeypatch.setattr(streaming, "STREAM_ELEMENTS", 1000)
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 512)
    z = np.random.default_rng(3).normal(size=(8000, 5))
    res = lps_eval.lps(z, predictor="linear", max_samples=None, n_boot=200)
    assert res.ci_low <= 0.0 <= res.ci_high + 1e-3
    assert abs(res.value - res.null_value) < 0.01


def test_streamed_moments_equal_numpy_covariance():
    x = _latents(n=5000).astype(np.float64) * 1e3 + 1e6  # large mean: the pairwise update
    moments = streaming.column_moments(x)
    np.testing.assert_allclose(moments.mean, x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(moments.covariance(), np.cov(x, rowvar=False), rtol=1e-9)


def test_streamed_mutual_information_matches_the_one_shot_value(small_stream):
    x = _latents(n=4000, d=5).astype(np.float64)
    codes = information.histogram_discretize(x, 20)
    mi = information.mutual_info_matrix(codes, codes)
    expected = (mi.sum() - np.trace(mi)) / 20
    # the table-by-table and the streamed pair-count MI agree to round-off
    assert mutual_info_mean(x).value == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_streamed_mutual_information_in_column_batches(monkeypatch):
    x = _latents(n=3000, d=6).astype(np.float64)
    full = mutual_info_mean(x).value
    monkeypatch.setattr(information, "MAX_PAIR_CELLS", 6 * 400)  # one column i per pass
    assert mutual_info_mean(x).value == full


def _resident_bytes_of(path) -> int:
    """Resident bytes of this process's mappings of ``path`` (Linux /proc/self/smaps)."""
    total, inside = 0, False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            first = line.split(maxsplit=1)[0]
            if "-" in first and not first.endswith(":"):  # a mapping's header line
                inside = line.rstrip().endswith(str(path))
            elif inside and first == "Rss:":
                total += int(line.split()[1]) * 1024
    return total


PASSES = {
    "canonical_order": lambda z: lps_eval.predictability.canonical_order(z),
    "canonical_row_order": lambda z: canonical_row_order(z),
    "linear_lps": lambda z: lps_eval.lps(z, predictor="linear", max_samples=None),
    "hgb_lps": lambda z: lps_eval.lps(z, n_boot=0, null=False),
    "mmd": lambda z: lps_eval.mmd(z, "gaussian", permutations=20, per_dim=False),
    "mutual_info": lambda z: mutual_info_mean(z),
    "moments": lambda z: streaming.column_moments(z),
}


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("name", sorted(PASSES))
def test_passes_over_a_memmap_do_not_leave_it_resident(tmp_path, monkeypatch, name):
    """Every pass over a memmap releases its pages as it goes, so a file larger than
    memory never counts as this process's memory: after each pass almost none of the
    file is resident (the memo of column ranges is cleared so each pass reads)."""
    monkeypatch.setattr(streaming, "STREAM_ELEMENTS", 1000)
    x = np.random.default_rng(0).normal(size=(400_000, 8)).astype(np.float32)  # 12.8 MB
    path = tmp_path / "big.npy"
    np.save(path, x)
    z = np.load(path, mmap_mode="r")
    PASSES[name](z)
    assert _resident_bytes_of(path) < x.nbytes / 8


# --------------------------------------------------------------------------- linear MMD


def _mmd_linear(z, prior="gaussian", **kwargs):
    return lps_eval.mmd(z, prior, estimator="linear", max_samples=None, **kwargs)


@pytest.fixture
def big_z(tmp_path):
    """20,000 x 4 float32 latents (3 blocks of the streamed statistic) and their file."""
    z = np.random.default_rng(11).normal(size=(20000, 4)).astype(np.float32)
    np.save(tmp_path / "big.npy", z)
    return z, tmp_path / "big.npy"


def test_streamed_linear_mmd_identical_for_array_memmap_and_dask(big_z, small_stream):
    da = pytest.importorskip("dask.array")
    z, path = big_z
    results = [
        _mmd_linear(a, seed=3, permutations=30)
        for a in (z, load_array(path), da.from_array(z, chunks=(1000, 4)))
    ]
    first = results[0]
    assert first.settings["streamed"] and first.settings["test"] == "asymptotic_normal"
    assert first.settings["n_pairs"] == 10000
    for other in results[1:]:
        assert (other.value, other.p_value) == (first.value, first.p_value)
        np.testing.assert_array_equal(other.per_dim, first.per_dim)
        np.testing.assert_array_equal(other.per_dim_p_value, first.per_dim_p_value)


def test_streamed_linear_mmd_is_row_order_invariant(big_z, small_stream):
    z, _ = big_z
    shuffled = z[np.random.default_rng(5).permutation(z.shape[0])]
    a, b = _mmd_linear(z, seed=2, per_dim=False), _mmd_linear(shuffled, seed=2, per_dim=False)
    assert (a.value, a.p_value) == (b.value, b.p_value)


def test_streamed_linear_mmd_is_the_linear_statistic_of_its_pairs(big_z, small_stream):
    """The streamed value equals mmd2(..., estimator="linear") on the same rows in memory:
    latents in the seeded canonical order, prior rows from the block-seeded sample."""
    from lps_eval._random import STREAM_MMD, shuffled_rows, stream
    from lps_eval.prior_matching import mmd2, parse_prior
    from lps_eval.prior_matching._mmd import LINEAR_BLOCK

    z, _ = big_z
    r = _mmd_linear(z, "uniform(-2, 2)", seed=7, per_dim=False)
    rng = stream(7, STREAM_MMD)
    x = z[shuffled_rows(z, None, rng)].astype(np.float64)
    draw = parse_prior("uniform(-2, 2)").block_sampler(20000, 4, rng, LINEAR_BLOCK)
    y = np.vstack([draw(b) for b in range(-(-20000 // LINEAR_BLOCK))])
    assert y.shape == (20000, 4)
    expected = mmd2(x, y, bandwidth=r.settings["bandwidth"], estimator="linear")
    assert r.value == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_streamed_prior_sample_depends_on_the_seed_only(big_z, monkeypatch):
    """Prior rows are drawn per block from their own seeds: walking the blocks in another
    order, or reading the latents in other chunks, gives the same sample and value."""
    from lps_eval.prior_matching import parse_prior

    prior = parse_prior("bimodal(2, 0.5)")
    a = prior.block_sampler(5000, 3, np.random.default_rng(1), 1024)
    b = prior.block_sampler(5000, 3, np.random.default_rng(1), 1024)
    forward = [a(i) for i in range(5)]
    backward = [b(i) for i in reversed(range(5))][::-1]
    for f, g in zip(forward, backward, strict=True):
        np.testing.assert_array_equal(f, g)
    assert [f.shape[0] for f in forward] == [1024] * 4 + [904]
    sample = np.vstack(forward)
    assert abs(sample.mean()) < 0.1 and np.std(sample) == pytest.approx(2.06, abs=0.05)

    z, _ = big_z
    monkeypatch.setattr(streaming, "STREAM_ELEMENTS", 1000)
    values = []
    for rows in (256, 1 << 15):  # latent rows gathered 8,192 or 32,768 at a time
        monkeypatch.setattr(streaming, "CHUNK_ROWS", rows)
        values.append(_mmd_linear(z, seed=4, per_dim=False).value)
    assert values[0] == values[1]


def test_streamed_linear_mmd_known_answers(small_stream):
    """Same distribution: MMD_l^2 within noise of 0; a mean shift: the closed form of
    MMD^2(N(0, I), N(mu, I)) for one RBF of width s (REFERENCE.md) within 4 standard errors."""
    rng = np.random.default_rng(8)
    n, s, mu = 20000, 1.5, np.array([0.4, 0.0, -0.3])
    same = _mmd_linear(rng.normal(size=(n, 3)), kernel="rbf", bandwidth=s, per_dim=False)
    se = same.settings["h_std"] / math.sqrt(same.settings["n_pairs"])
    assert abs(same.value) < 4 * se and same.p_value > 0.001
    shifted = _mmd_linear(rng.normal(size=(n, 3)) + mu, kernel="rbf", bandwidth=s, per_dim=False)
    expected = 2 * (s * s / (s * s + 2)) ** 1.5 * (1 - math.exp(-mu @ mu / (2 * (s * s + 2))))
    se = shifted.settings["h_std"] / math.sqrt(shifted.settings["n_pairs"])
    assert shifted.value == pytest.approx(expected, abs=4 * se)
    assert shifted.p_value < 1e-6


def test_streamed_linear_mmd_samples_prior_stays_memory_mapped(tmp_path, big_z, small_stream):
    from lps_eval.prior_matching.priors import EmpiricalPrior, parse_prior

    z, _ = big_z
    ref = np.random.default_rng(12).normal(size=(12000, 4)).astype(np.float32)
    np.save(tmp_path / "ref.npy", ref)
    spec = f"samples:{tmp_path / 'ref.npy'}"
    assert isinstance(parse_prior(spec).samples, np.memmap)
    mapped = _mmd_linear(z, spec, seed=1)
    in_memory = _mmd_linear(z, EmpiricalPrior(spec, ref), seed=1)
    assert (mapped.value, mapped.p_value) == (in_memory.value, in_memory.p_value)
    np.testing.assert_array_equal(mapped.per_dim, in_memory.per_dim)
    assert mapped.settings["n_prior_samples"] == 12000 and mapped.settings["n_pairs"] == 6000


def test_streamed_linear_mmd_memory_is_bounded(tmp_path, monkeypatch):
    """300,000 x 32 float64 on disk (77 MB): the streamed statistic allocates a small
    fraction of it (blocks of rows, the bandwidth's pooled rows, and the row order's index
    arrays of a few 8-byte values per row)."""
    import tracemalloc

    n, d = 300_000, 32
    path = tmp_path / "wide.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, d))
    rng = np.random.default_rng(0)
    for lo in range(0, n, 50_000):
        out[lo : lo + 50_000] = rng.normal(size=(50_000, d))
    out.flush()
    del out
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 4096)
    monkeypatch.setattr(streaming, "STREAM_ELEMENTS", 1 << 20)  # 9.6e6 values now stream
    z = load_array(path)
    tracemalloc.start()
    try:
        r = _mmd_linear(z, seed=0, per_dim=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.settings["streamed"] and r.settings["n_pairs"] == n // 2
    assert peak < z.nbytes / 4, f"peak {peak / 2**20:.1f} MiB for a {z.nbytes / 2**20:.0f} MiB file"


def test_streamed_per_dim_needs_a_row_cap(big_z, small_stream):
    z, _ = big_z
    with pytest.raises(LpsInputError, match="per_dim_max_samples=None would read all"):
        _mmd_linear(z, per_dim_max_samples=None)
    assert _mmd_linear(z, per_dim_max_samples=None, per_dim=False).per_dim is None


def test_cli_streams_the_linear_mmd_of_a_big_file(big_z, small_stream):
    from click.testing import CliRunner

    from lps_eval.cli import main

    _, path = big_z
    args = ["score", str(path), "--metrics", "mmd", "--format", "json", "--no-config"]
    args += ["-O", "mmd.estimator=linear", "-O", "mmd.max_samples=none"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    settings = json.loads(result.stdout)["settings"]["settings"]["mmd"]
    assert settings["streamed"] and settings["test"] == "asymptotic_normal"
    assert settings["n_samples_used"] == 20000 and settings["max_samples"] is None
