"""The objective registry: every objective declares, validates and runs the same way."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from click.testing import CliRunner  # noqa: E402

from lps_eval import LpsDeprecationWarning, LpsInputError  # noqa: E402
from lps_eval.cli.train import train_command  # noqa: E402
from lps_eval.train import fit  # noqa: E402
from lps_eval.train.models import ConvAutoencoder  # noqa: E402
from lps_eval.train.monitor import EVAL_COLUMNS  # noqa: E402
from lps_eval.train.objectives import (  # noqa: E402
    RESERVED_COLUMNS,
    make_objective,
    normalize_objective,
    objective_specs,
    parse_assignments,
    resolve_params,
)
from lps_eval.train.run import LOG_COLUMNS  # noqa: E402
from tests.conftest import TINY_TRAINING  # noqa: E402

SPECS = objective_specs()
SMALL = {"factor_vae": {"disc_hidden": 8, "disc_layers": 2}}
TINY_CLI = [
    "--dataset", "digits", "--latent-dim", "3", "--batch-size", "16", "--width", "4",
    "--hidden", "8", "--eval-size", "60", "--eval-subset", "50", "--threads", "1", "--quiet",
    "--steps", "3",
]  # fmt: skip


def test_the_issue_s_objectives_are_registered():
    wanted = {"ae", "mmd", "kl", "beta_tcvae", "factor_vae", "dip_vae_i", "dip_vae_ii"}
    wanted |= {"annealed_vae", "info_vae", "ae_kld"}
    assert wanted <= set(SPECS)


@pytest.mark.parametrize("name", list(SPECS))
def test_every_objective_documents_itself(name):
    cls = SPECS[name]
    assert cls.summary and cls.formula and cls.reference
    for p in cls.params:
        assert p.help and p.parse(p.default, objective=name) == p.default
    assert not RESERVED_COLUMNS.intersection(cls.extra_columns)


def test_reserved_columns_are_the_trainer_s():
    assert set(LOG_COLUMNS) | set(EVAL_COLUMNS) == RESERVED_COLUMNS


@pytest.mark.parametrize("name", list(SPECS))
def test_every_objective_gives_a_finite_loss_with_its_columns(name):
    cls = SPECS[name]
    obj = make_objective(
        name, latent_dim=3, params=SMALL.get(name), rng=np.random.default_rng(0), dataset_size=100
    )
    torch.manual_seed(0)
    model = ConvAutoencoder((1, 8, 8), 3, width=4, hidden=8)
    obj.build(model, lr=1e-3, device="cpu")
    batches = [torch.rand(16, 1, 8, 8) for _ in range(cls.batches_per_step)]
    total, parts = obj.loss(model, batches, step=1)
    assert total.requires_grad and math.isfinite(float(total))
    assert set(parts) == {"loss", "recon", "reg", *cls.extra_columns}
    assert parts["loss"] == pytest.approx(float(total))
    total.backward()
    obj.after_backward()
    obj.apply_updates()


def test_names_and_parameters_are_checked_with_suggestions():
    assert normalize_objective("beta-VAE") == "kl" and normalize_objective("WAE") == "mmd"
    with pytest.raises(LpsInputError, match="did you mean 'beta_tcvae'"):
        normalize_objective("beta_tcva")
    with pytest.raises(LpsInputError, match="did you mean 'gamma'"):
        resolve_params("factor_vae", {"gama": 5})
    with pytest.raises(LpsInputError, match="must be one of mws, mss"):
        resolve_params("beta_tcvae", {"estimator": "exact"})
    with pytest.raises(LpsInputError, match="must be an integer"):
        resolve_params("annealed_vae", {"capacity_steps": "2.5"})
    with pytest.raises(LpsInputError, match="must lie in"):
        resolve_params("kl", {"beta": -1})
    assert resolve_params("beta_tcvae", {"beta": "6"})["beta"] == 6.0
    with pytest.raises(LpsInputError, match="KEY=VALUE"):
        parse_assignments(["beta"])


def test_a_shortcut_for_a_parameter_the_objective_lacks_warns():
    with pytest.warns(LpsDeprecationWarning, match="beta=1.0 is ignored"):
        resolve_params("mmd", legacy={"beta": 1.0})


def test_config_records_the_objective_and_its_parameters(tmp_path):
    run = fit(
        **TINY_TRAINING,
        objective="beta_tcvae",
        objective_params={"beta": 6, "estimator": "mss"},
        steps=3,
        progress=False,
        out=tmp_path / "r",
    )
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["objective"] == "beta_tcvae" and config["beta"] == 6.0
    assert config["objective_params"] == {
        "alpha": 1.0,
        "beta": 6.0,
        "gamma": 1.0,
        "estimator": "mss",
    }
    assert config["objective_reference"].startswith("Chen")
    assert {"mi", "tc", "dim_kl"} <= set(run.history.columns)


def test_vae_runs_save_sampled_codes_and_the_kl_per_dimension(tmp_path):
    run = fit(**TINY_TRAINING, objective="kl", steps=3, progress=False, out=tmp_path / "v")
    latents = np.load(tmp_path / "v" / "latents.npz")
    z, sampled, kl = latents["z"], latents["z_sampled"], latents["kl"]
    assert sampled.shape == z.shape and kl.shape == (z.shape[1],) and np.all(kl >= 0)
    assert not np.array_equal(sampled, z)
    np.testing.assert_array_equal(z, run.z)
    ae = fit(**TINY_TRAINING, objective="ae", steps=2, progress=False, out=tmp_path / "a")
    assert ae.run_dir is not None
    assert "kl" not in np.load(tmp_path / "a" / "latents.npz").files


def test_cli_objective_param_is_validated_before_any_work(tmp_path):
    out = tmp_path / "r"
    res = CliRunner().invoke(
        train_command, [*TINY_CLI, "--objective", "beta_tcvae", "-O", "gama=3", "--out", str(out)]
    )
    assert res.exit_code == 2 and "did you mean 'gamma'" in res.output and not out.exists()
    res = CliRunner().invoke(
        train_command, [*TINY_CLI, "--objective", "mmd", "--beta", "4", "--out", str(out)]
    )
    assert res.exit_code == 2 and "--beta" in res.output and not out.exists()
    res = CliRunner().invoke(
        train_command,
        [*TINY_CLI, "--objective", "dip_vae_ii", "-O", "lambda_od=2", "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    config = json.loads((out / "config.json").read_text())
    assert config["objective_params"] == {"lambda_od": 2.0, "lambda_d": 10.0}


def test_help_lists_every_objective_and_its_parameters():
    res = CliRunner().invoke(train_command, ["--help"])
    assert res.exit_code == 0
    for name, cls in SPECS.items():
        assert name in res.output
        for p in cls.params:
            assert p.name in res.output
