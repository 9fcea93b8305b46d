"""Tests of the reference trainer (lps_eval.train): data, model, losses, loop, run dir, CLI.

Models are tiny (width 4-8, a few dozen steps, small batches) so the file runs in well
under a minute on two shared cores.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from lps_eval import LpsInputError  # noqa: E402
from lps_eval.cli.train import encode_command as encode_cmd  # noqa: E402
from lps_eval.cli.train import train_command as train_cmd  # noqa: E402
from lps_eval.train import data as tdata  # noqa: E402
from lps_eval.train.checkpoint import WEIGHTS_FILE, load_model  # noqa: E402
from lps_eval.train.loop import encode, fit, nmse_db, resume  # noqa: E402
from lps_eval.train.models import ConvAutoencoder  # noqa: E402
from lps_eval.train.objectives import (  # noqa: E402
    kl_to_standard_normal,
    make_objective,
    recon_loss,
)

TINY = {"width": 4, "hidden": 16, "progress": False, "num_threads": 1}


# --------------------------------------------------------------------------- data


def _idx(shape, scale, orient, x, y):
    return np.array([[shape, scale, orient, x, y]])


def test_square_area_is_closed_form():
    # unit-scale square: side 2 * 0.8 * 10 = 16 px, axis aligned at orientation 0
    img = tdata.render_dsprites(_idx(0, 5, 0, 16, 16))[0, 0]
    assert img.sum() == 256
    rows, cols = np.nonzero(img)
    assert np.ptp(rows) + 1 == 16 and np.ptp(cols) + 1 == 16


@pytest.mark.parametrize("shape, area", [(1, math.pi * 10 * 5), (0, 16 * 16)])
def test_scale_changes_area_quadratically(shape, area):
    big = tdata.render_dsprites(_idx(shape, 5, 3, 10, 20)).sum()
    small = tdata.render_dsprites(_idx(shape, 0, 3, 10, 20)).sum()
    assert abs(big - area) / area < 0.05
    assert abs(small / big - 0.25) < 0.04


def test_ellipse_quarter_turn_is_transpose():
    # theta = pi/2 swaps the roles of x and y; with pos_x == pos_y that is a transpose
    a = tdata.render_dsprites(_idx(1, 4, 0, 13, 13))[0, 0]
    b = tdata.render_dsprites(_idx(1, 4, 10, 13, 13))[0, 0]
    assert (a != b.T).sum() <= 2
    assert (a != b).sum() > 20  # and the ellipse is not rotation invariant


def test_position_moves_centroid_linearly():
    imgs = tdata.render_dsprites(np.array([[2, 3, 7, k, 9] for k in (0, 10, 31)]))[:, 0]
    cols = np.arange(64) + 0.5
    cx = (imgs.sum(axis=1) * cols).sum(axis=1) / imgs.sum(axis=(1, 2))
    step = 39.0 / 31.0
    np.testing.assert_allclose(np.diff(cx), [10 * step, 21 * step], atol=0.3)


def test_dsprites_grid_and_factors_roundtrip():
    src = tdata.ProceduralDSprites()
    assert src.n_images == 3 * 6 * 40 * 32 * 32
    rng = np.random.default_rng(1)
    index = src.sample_index(50, rng)
    fac = src.factors(index)
    np.testing.assert_array_equal(np.ravel_multi_index(fac.T, (3, 6, 40, 32, 32)), index)
    np.testing.assert_array_equal(src.images(index), tdata.render_dsprites(fac))
    assert set(np.unique(src.images(index))) <= {0.0, 1.0}
    ev = src.eval_index(100, np.random.default_rng(0))
    assert np.unique(ev).size == 100
    np.testing.assert_array_equal(ev, src.eval_index(100, np.random.default_rng(0)))


def test_digits_and_user_arrays():
    dig = tdata.digits()
    assert dig.image_shape == (1, 8, 8) and dig.n_images == 1797
    x = dig.images(np.arange(5))
    assert x.dtype == np.float32 and x.min() >= 0.0 and x.max() <= 1.0
    u8 = np.full((3, 6, 5), 255, dtype=np.uint8)
    src = tdata.from_array(u8)
    assert src.image_shape == (1, 6, 5) and src.images(np.arange(3)).max() == 1.0
    with pytest.raises(LpsInputError, match=r"\[0, 1\]"):
        tdata.from_array(np.full((3, 8, 8), 2.0))
    with pytest.raises(LpsInputError, match="shape"):
        tdata.from_array(np.zeros((3, 8)))
    with pytest.raises(LpsInputError, match="unknown dataset"):
        tdata.make_source("no_such_dataset")


def test_official_files_from_data_dir_reach_the_trainer(tmp_path, monkeypatch):
    """`--data-dir` is where the trainer reads official files: dSprites from its npz (no
    warning), the procedural re-drawing (with a warning) only when the file is absent."""
    from lps_eval import LpsDeprecationWarning
    from tests.conftest import TINY_TRAINING
    from tests.data.official_files import dsprites_npz

    monkeypatch.setenv("LPS_EVAL_DATA", str(tmp_path / "empty"))
    with pytest.warns(LpsDeprecationWarning, match="procedural"):
        assert isinstance(tdata.make_source("dsprites"), tdata.ProceduralDSprites)
    with pytest.raises(LpsInputError, match="not found in"):
        tdata.make_source("mnist", data_dir=tmp_path / "empty")
    data = tmp_path / "data"
    data.mkdir()
    dsprites_npz(data / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error", LpsDeprecationWarning)
        source = tdata.make_source("dsprites", data_dir=data)
    assert not isinstance(source, tdata.ProceduralDSprites) and source.n_images == 192
    options = {**TINY_TRAINING, "dataset": "dsprites", "eval_size": 50, "eval_subset": 40}
    res = fit(**options, objective="ae", steps=3, eval_every=0, data_dir=data,
              progress=False, out=tmp_path / "run")  # fmt: skip
    assert res.config["data_dir"] == str(data.resolve()) and res.config["dataset_resumable"]
    again = resume(tmp_path / "run", steps=4, progress=False)
    assert again.config["steps"] == 4


# --------------------------------------------------------------------------- model, losses


@pytest.mark.parametrize("shape", [(1, 64, 64), (1, 8, 8), (3, 28, 28), (2, 7, 9), (1, 4, 4)])
def test_model_roundtrip_shapes(shape):
    model = ConvAutoencoder(shape, 3, width=4, hidden=8)
    x = torch.rand(2, *shape)
    mean, logvar = model.encode(x)
    assert mean.shape == (2, 3) and logvar.shape == (2, 3)
    assert model.decode(mean).shape == (2, *shape)


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mean, logvar = torch.randn(7, 4, generator=g), torch.randn(7, 4, generator=g)
    q = torch.distributions.Normal(mean, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros(4), torch.ones(4))
    ref = torch.distributions.kl_divergence(q, p).sum(1).mean()
    torch.testing.assert_close(kl_to_standard_normal(mean, logvar), ref)
    assert float(kl_to_standard_normal(torch.zeros(3, 2), torch.zeros(3, 2))) == 0.0


def test_recon_loss_reductions_and_reference():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 1, 5, 6, generator=g)
    x = torch.rand(4, 1, 5, 6, generator=g)
    ref = torch.nn.BCELoss()(torch.sigmoid(logits), x)
    mean = recon_loss(logits, x, kind="bce", reduction="mean")
    torch.testing.assert_close(mean, ref, rtol=1e-5, atol=1e-6)
    total = recon_loss(logits, x, kind="bce", reduction="sum")
    torch.testing.assert_close(total, mean * 30)
    mse = recon_loss(logits, x, kind="mse", reduction="mean")
    torch.testing.assert_close(mse, torch.mean((torch.sigmoid(logits) - x) ** 2))


def test_objective_validation():
    rng = np.random.default_rng(0)
    with pytest.raises(LpsInputError, match="only the gaussian prior"):
        make_objective("kl", latent_dim=2, prior="uniform", rng=rng)
    with pytest.raises(LpsInputError, match="unknown objective"):
        make_objective("gan", latent_dim=2, rng=rng)
    assert make_objective("beta_vae", latent_dim=2, beta=4, rng=rng).weight == 4.0
    assert make_objective("kl", latent_dim=2, rng=rng).recon_reduction == "sum"
    assert make_objective("ae", latent_dim=2, rng=rng).recon_reduction == "mean"


def test_nmse_db_known_answers():
    x = np.random.default_rng(0).random((5, 1, 4, 4))
    assert nmse_db(x, np.zeros_like(x)) == pytest.approx(0.0)
    assert nmse_db(x, 0.9 * x) == pytest.approx(-20.0)


# --------------------------------------------------------------------------- training


@pytest.fixture(scope="module")
def ae_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "ae"
    result = fit(
        "digits",
        objective="ae",
        latent_dim=3,
        steps=80,
        batch_size=64,
        lr=3e-3,
        eval_size=300,
        seed=3,
        out=out,
        **TINY,
    )
    return result


def _first_last(history, k=10):
    return history["loss"].iloc[:k].mean(), history["loss"].iloc[-k:].mean()


def test_ae_loss_decreases_and_run_dir_complete(ae_run):
    first, last = _first_last(ae_run.history)
    assert last < first
    files = {p.name for p in ae_run.run_dir.iterdir()}
    assert {"model.pt", "config.json", "history.csv", "latents.npz", "metrics.json"} <= files
    saved = np.load(ae_run.run_dir / "latents.npz", allow_pickle=False)
    np.testing.assert_array_equal(saved["z"], ae_run.z)
    assert saved["z"].shape == (300, 3)
    assert "factors" not in saved  # digits have no generative factors
    metrics = json.loads((ae_run.run_dir / "metrics.json").read_text())
    assert metrics["nmse_db"] == pytest.approx(ae_run.nmse_db) and metrics["nmse_db"] < 0
    assert len(ae_run.history) == 80


def test_weights_reload_without_pickle(ae_run):
    state = torch.load(ae_run.run_dir / WEIGHTS_FILE, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    model, config = load_model(ae_run.run_dir)
    for name, tensor in ae_run.model.state_dict().items():
        torch.testing.assert_close(model.state_dict()[name], tensor, rtol=0, atol=0)
    assert config["objective"] == "ae" and config["seed"] == 3


def test_config_reproduces_run(ae_run, tmp_path):
    config = json.loads((ae_run.run_dir / "config.json").read_text())
    keys = [
        "objective",
        "prior",
        "latent_dim",
        "steps",
        "batch_size",
        "lr",
        "mmd_weight",
        "kernel",
        "beta",
        "recon",
        "recon_reduction",
        "width",
        "hidden",
        "eval_size",
        "eval_seed",
        "seed",
        "device",
        "num_threads",
    ]
    again = fit(config["dataset"], **{k: config[k] for k in keys}, progress=False)
    np.testing.assert_array_equal(again.z, ae_run.z)
    other = fit("digits", **{k: config[k] for k in keys if k != "seed"}, seed=4, progress=False)
    assert not np.array_equal(other.z, ae_run.z)


def test_encode_reproduces_latents_python_and_cli(ae_run, tmp_path):
    saved = np.load(ae_run.run_dir / "latents.npz")
    images = tdata.digits().images(saved["index"])[:, 0]  # (N, H, W) as a user would save
    np.testing.assert_allclose(encode(ae_run.run_dir, images), saved["z"], rtol=0, atol=1e-6)
    path = tmp_path / "images.npy"
    np.save(path, images)
    out = tmp_path / "z.npz"
    res = CliRunner().invoke(encode_cmd, [str(ae_run.run_dir), str(path), "-o", str(out)])
    assert res.exit_code == 0, res.output
    np.testing.assert_allclose(np.load(out)["z"], saved["z"], rtol=0, atol=1e-6)
    np.save(tmp_path / "bad.npy", np.zeros((4, 16, 16), np.float32))
    res = CliRunner().invoke(
        encode_cmd, [str(ae_run.run_dir), str(tmp_path / "bad.npy"), "-o", str(out)]
    )
    assert res.exit_code == 2 and "trained on" in res.output


def test_vae_on_dsprites_uses_posterior_mean(tmp_path):
    result = fit(
        "dsprites",
        objective="kl",
        beta=4.0,
        latent_dim=4,
        steps=25,
        batch_size=32,
        eval_size=64,
        seed=0,
        out=tmp_path / "kl",
        **TINY,
    )
    first, last = _first_last(result.history, 5)
    assert last < first
    assert (result.history["reg"] >= 0).all()
    saved = np.load(tmp_path / "kl" / "latents.npz")
    src = tdata.ProceduralDSprites()
    np.testing.assert_array_equal(saved["factors"], src.factors(saved["index"]))
    assert list(saved["factor_names"]) == list(tdata.DSPRITES_FACTOR_NAMES)
    with torch.no_grad():
        mean, _ = result.model.encode(torch.as_tensor(src.images(saved["index"])))
    np.testing.assert_allclose(saved["z"], mean.numpy(), atol=1e-5)


def test_mmd_objective_pulls_latents_towards_prior():
    from lps_eval.prior_matching import mmd2
    from lps_eval.prior_matching.priors import parse_prior

    kw = dict(latent_dim=3, steps=60, batch_size=64, lr=3e-3, eval_size=500, seed=0, **TINY)
    with_mmd = fit("digits", objective="mmd", prior="gaussian", mmd_weight=1.0, **kw)
    plain = fit("digits", objective="ae", **kw)
    y = parse_prior("gaussian").sample(500, 3, np.random.default_rng(1))
    assert mmd2(with_mmd.z, y) < 0.6 * mmd2(plain.z, y)
    assert np.isfinite(with_mmd.history["reg"]).all()


def test_mmd_accepts_hybrid_prior_and_checks_its_length():
    prior = "hybrid(uniform(-5, 5); gaussian(0, 2); bimodal(5, 1))"
    kw = dict(steps=3, batch_size=16, eval_size=20, seed=0, **TINY)
    result = fit("digits", objective="mmd", prior=prior, latent_dim=3, **kw)
    assert result.config["prior"] == prior and (result.history["reg"] > 0).all()
    with pytest.raises(LpsInputError, match="dimension"):
        fit("digits", objective="mmd", prior=prior, latent_dim=2, **kw)


# --------------------------------------------------------------------------- CLI


def test_cli_train_prints_json_summary(tmp_path):
    out = tmp_path / "run"
    args = [
        "--dataset",
        "digits",
        "--objective",
        "kl",
        "--beta",
        "1",
        "--latent-dim",
        "2",
        "--steps",
        "5",
        "--batch-size",
        "16",
        "--width",
        "4",
        "--hidden",
        "8",
        "--eval-size",
        "50",
        "--threads",
        "1",
        "--quiet",
        "--out",
        str(out),
    ]
    res = CliRunner().invoke(train_cmd, args)
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["n_eval"] == 50 and summary["latent_dim"] == 2
    assert (out / "latents.npz").exists()
    bad = CliRunner().invoke(train_cmd, [*args[:-2], "--prior", "uniform", "--out", str(out) + "2"])
    assert bad.exit_code == 2 and "gaussian prior" in bad.output


def test_cli_module_does_not_import_torch():
    code = "import sys, lps_eval, lps_eval.cli.train; print('torch' in sys.modules)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "False"


def test_fit_restores_global_torch_settings():
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    fit(
        "digits",
        objective="ae",
        latent_dim=2,
        steps=2,
        batch_size=8,
        eval_size=10,
        width=4,
        hidden=8,
        progress=False,
        num_threads=threads + 1,
    )
    assert torch.get_num_threads() == threads
    assert torch.are_deterministic_algorithms_enabled() == deterministic
