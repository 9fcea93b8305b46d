"""evaluate(encoder, dataset): known answers on the synthetic worlds, every encoder form."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lps_eval
from lps_eval import LpsInputError
from lps_eval.data import get_dataset
from lps_eval.evaluation import DLIB_SAMPLE_SIZES, Representations, encode_dataset

CENTRES = np.arange(32) + 0.5


def centroid(images: np.ndarray) -> np.ndarray:
    """The intensity centroid (x, y) of each image: the world's position factors, exactly
    up to the anti-aliasing's 0.02 px."""
    w = images[:, 0].astype(np.float64)
    mass = w.sum(axis=(1, 2))
    return np.stack([(w.sum(1) * CENTRES).sum(1) / mass, (w.sum(2) * CENTRES).sum(1) / mass], 1)


def gaussian_centroid(images: np.ndarray):
    """A 'VAE': mean = (x, y, 0), logvar = (-6, -6, 0): the third dimension is inactive."""
    z = centroid(images)
    mean = np.column_stack([z, np.zeros(len(z))])
    logvar = np.column_stack([np.full((len(z), 2), -6.0), np.zeros(len(z))])
    return mean, logvar


def _overall(table, metric):
    return float(table.query("metric == @metric and scope == 'overall'")["value"].iloc[0])


def _expected_mig_identity(n_values: int = 32, bins: int = 20) -> float:
    """MIG of codes that are an increasing function of an evenly spaced factor, the other
    factor independent: I(z_k; v_k) = H(binned z_k), so MIG -> H(bins of 32 values) /
    log 32 minus the finite-sample MI with the other factor (zero in population)."""
    edges = np.histogram_bin_edges(np.arange(n_values), bins)
    counts = np.bincount(np.digitize(np.arange(n_values), edges[:-1]) - 1, minlength=bins)
    p = counts[counts > 0] / n_values
    return float(-(p * np.log(p)).sum() / math.log(n_values))


def test_identity_of_the_factors_scores_what_theory_says():
    table = lps_eval.evaluate(
        centroid, "xy", metrics=["mig", "dci", "beta_vae", "factor_vae", "lps"]
    )
    # the second factor's MI with each code is exactly 0 here: the grid is balanced
    assert _overall(table, "mig") == pytest.approx(_expected_mig_identity(), abs=1e-6)
    assert _overall(table, "dci_disentanglement") > 0.85
    assert _overall(table, "beta_vae") == 1.0 and _overall(table, "factor_vae") == 1.0
    assert abs(_overall(table, "lps")) < 0.02  # independent factors: nothing predictable
    record = table.attrs["evaluation"]
    assert record["full_grid"] and record["n_images_encoded"] == 1024
    assert record["study_sample_sizes"]["beta_vae"] == DLIB_SAMPLE_SIZES["beta_vae"]
    assert table.attrs["settings"]["mig"]["num_train"] == 10000


def test_an_encoder_that_ignores_the_images_scores_nothing():
    rng = np.random.default_rng(0)
    noise = lambda x: rng.normal(size=(len(x), 2))  # noqa: E731
    table = lps_eval.evaluate(noise, "xy", metrics=["mig", "beta_vae"])
    assert _overall(table, "mig") < 0.05 and _overall(table, "beta_vae") < 0.7


def test_dimension_order_does_not_move_mig():
    swapped = lambda x: centroid(x)[:, ::-1]  # noqa: E731
    a = lps_eval.evaluate(centroid, "xy", metrics=["mig"])
    b = lps_eval.evaluate(swapped, "xy", metrics=["mig"])
    assert _overall(a, "mig") == _overall(b, "mig")


def test_gaussian_encoders_keep_mean_sample_and_kl(tmp_path):
    table = lps_eval.evaluate(
        gaussian_centroid, "xy", metrics=["mig", "kl"], save=tmp_path / "z.npz"
    )
    kl = table.query("metric == 'kl' and scope == 'dim'")["value"].to_numpy()
    # KL of N(mu, e^-6) to N(0, 1) = 0.5 (mu^2 + e^-6 + 6 - 1); of N(0, 1): exactly 0
    mu2 = (centroid(get_dataset("xy").images(np.arange(1024))) ** 2).mean(0)
    np.testing.assert_allclose(kl[:2], 0.5 * (mu2 + math.exp(-6) + 5), rtol=1e-5)
    assert kl[2] == pytest.approx(0.0, abs=1e-12)
    assert _overall(table, "active_dims") == 2
    reps = Representations.load(tmp_path / "z.npz")
    assert reps.sampled.shape == (1024, 3) and reps.active_dims().tolist() == [0, 1]
    np.testing.assert_allclose(reps.sampled[:, 2].std(), 1.0, atol=0.1)  # unit noise
    active = lps_eval.evaluate(reps, "xy", active_only=True, metrics=["lps"])
    assert active.attrs["evaluation"]["active_dims"] == [0, 1]
    assert sorted(active["dim_name"].dropna().unique()) == ["0", "1"]
    sampled = lps_eval.evaluate(reps, "xy", representation="sampled", metrics=["mig"])
    assert 0 < _overall(sampled, "mig") <= _overall(table, "mig") + 1e-9


def test_mismatched_outputs_are_explained_in_one_line():
    cases = [
        (lambda x: np.zeros((len(x), 2, 2)), "must return codes of shape"),
        (lambda x: np.zeros((3, 2)), "for 256 images"),
        (lambda x: np.full((len(x), 2), np.nan), "NaN"),
        (lambda x: (np.zeros((len(x), 2)), np.zeros((len(x), 3))), "must match"),
    ]
    for func, message in cases:
        with pytest.raises(LpsInputError, match=message) as info:
            encode_dataset(func, "xy")
        assert "\n" not in str(info.value)
    with pytest.raises(LpsInputError, match="Gaussian encoder"):
        lps_eval.evaluate(centroid, "xy", representation="sampled")
    with pytest.raises(LpsInputError, match="unknown dataset"):
        lps_eval.evaluate(centroid, "no_such_set")


def test_a_subset_is_recorded_and_seeded():
    a = encode_dataset(centroid, "xycs", max_images=3000, seed=1)
    b = encode_dataset(centroid, "xycs", max_images=3000, seed=1)
    np.testing.assert_array_equal(a.index, b.index)
    assert a.settings["full_grid"] is False and a.index.size == 3000
    np.testing.assert_array_equal(a.factors, get_dataset("xycs").factors(a.index))


torch = pytest.importorskip("torch")


class CentroidModule(torch.nn.Module):
    def forward(self, x):
        w = x[:, 0]
        c = torch.arange(32, dtype=x.dtype) + 0.5
        mass = w.sum(dim=(1, 2))
        return torch.stack([(w.sum(1) * c).sum(1) / mass, (w.sum(2) * c).sum(1) / mass], 1)


def test_module_torchscript_and_function_agree(tmp_path):
    module = CentroidModule()
    torch.jit.save(torch.jit.script(module), tmp_path / "enc.pt")
    ref = encode_dataset(centroid, "xy").mean
    for enc in (module, tmp_path / "enc.pt", str(tmp_path / "enc.pt")):
        np.testing.assert_allclose(encode_dataset(enc, "xy").mean, ref, atol=1e-4)
    (tmp_path / "bad.pt").write_bytes(b"not torchscript")
    with pytest.raises(LpsInputError, match="TorchScript"):
        encode_dataset(tmp_path / "bad.pt", "xy")


def test_a_trained_run_is_evaluated_with_its_prior_and_shape(tmp_path):
    from lps_eval.train import fit
    from tests.conftest import TINY_TRAINING

    run = {**TINY_TRAINING, "dataset": "xy", "eval_size": 100, "progress": False}
    fit(**run, objective="mmd", prior="uniform(-2, 2)", steps=5, out=tmp_path / "run")
    table = lps_eval.evaluate(tmp_path / "run", "xy", metrics=["mmd", "mig"])
    assert table.attrs["prior"] == "uniform(-2, 2)"
    assert table.attrs["evaluation"]["trained_on"] == "xy"
    assert "kl" not in set(table["metric"])  # an MMD autoencoder is not Gaussian
    with pytest.raises(LpsInputError, match=r"trained on images \(1, 32, 32\)"):
        lps_eval.evaluate(tmp_path / "run", "digits")
    fit(**{**run, "latent_dim": 2}, objective="kl", steps=5, out=tmp_path / "vae")
    vae = lps_eval.evaluate(tmp_path / "vae", "xy", metrics=["mig", "kl"])
    assert vae.query("metric == 'kl' and scope == 'dim'").shape[0] == 2


def test_study_sizes_are_the_metrics_own_defaults():
    """disentanglement_lib's study sizes, written once in evaluation.py, still equal the
    metrics' signature defaults (if a metric's default moves, evaluate keeps dlib's)."""
    from lps_eval.metrics import metric_specs

    specs = metric_specs()
    for metric, sizes in DLIB_SAMPLE_SIZES.items():
        options = specs[metric].options()
        assert {k: options[k] for k in sizes} == sizes, metric
