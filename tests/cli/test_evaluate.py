"""``lps-eval evaluate``: run dirs and functions, gates, formats, refusals."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from lps_eval.cli import main

RUNNER = CliRunner()


@pytest.fixture
def encoder_module(tmp_path, monkeypatch):
    """A module ``lps_eval_test_encoders`` with a centroid encoder and a Gaussian one."""
    (tmp_path / "lps_eval_test_encoders.py").write_text(
        "import numpy as np\n"
        "C = np.arange(32) + 0.5\n"
        "def centroid(x):\n"
        "    w = x[:, 0].astype(float); m = w.sum((1, 2))\n"
        "    return np.stack([(w.sum(1) * C).sum(1) / m, (w.sum(2) * C).sum(1) / m], 1)\n"
        "def gaussian(x):\n"
        "    z = centroid(x)\n"
        "    return z, np.full(z.shape, -4.0)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "lps_eval_test_encoders"
    sys.modules.pop("lps_eval_test_encoders", None)


def _run(*args):
    return RUNNER.invoke(main, ["evaluate", *args, "--no-config"])


def test_function_encoder_gates_and_json(encoder_module):
    enc = f"{encoder_module}:centroid"
    ok = _run(
        enc,
        "--dataset",
        "xy",
        "--metrics",
        "mig,beta_vae",
        "--fail-if",
        "mig < 0.5",
        "--format",
        "json",
    )
    assert ok.exit_code == 0, ok.output
    payload = json.loads(ok.stdout)
    assert payload["gate"]["passed"] and payload["settings"]["evaluation"]["full_grid"]
    assert payload["settings"]["evaluation"]["study_sample_sizes"]["beta_vae"]["num_train"] == 10000
    bad = _run(enc, "--dataset", "xy", "--metrics", "mig", "--fail-if", "mig > 0.5")
    assert bad.exit_code == 1 and "gate failed: mig.value" in bad.stderr


def test_gates_on_kl_and_active_dims(encoder_module, tmp_path):
    enc = f"{encoder_module}:gaussian"
    res = _run(enc, "--dataset", "xy", "--metrics", "mig,kl", "--fail-if", "active_dims < 2",
               "--save", str(tmp_path / "z.npz"), "--format", "csv")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "active_dims" in res.stdout and (tmp_path / "z.npz").is_file()
    res = _run(enc, "--dataset", "xy", "--metrics", "kl", "--fail-if", "kl > 1")
    assert res.exit_code == 1 and "kl.value" in res.stderr


def test_refusals_are_one_line(encoder_module, tmp_path):
    enc = f"{encoder_module}:centroid"
    for args, message in (
        ([enc], "--dataset NAME is required"),
        ([enc, "--dataset", "nope"], "unknown dataset"),
        ([enc, "--dataset", "xy", "--factors", "f.npy"], "--factors does not apply"),
        ([enc, "--dataset", "xy", "--representation", "sampled"], "Gaussian encoder"),
        (
            [enc, "--dataset", "shapes3d", "--data-dir", str(tmp_path)],
            "lps-eval data download shapes3d",
        ),
        (["nomodule:nofunc", "--dataset", "xy"], "cannot import encoder"),
        ([enc, "--dataset", "xy", "--fail-if", "nonsense"], "malformed gate"),
    ):
        res = _run(*args)
        assert res.exit_code == 2, (args, res.output)
        assert message in res.stderr and res.stderr.count("\n") == 1, res.stderr


def test_a_run_directory_on_its_own_dataset(tmp_path):
    pytest.importorskip("torch")
    from lps_eval.train import fit
    from tests.conftest import TINY_TRAINING

    fit(**{**TINY_TRAINING, "progress": False}, steps=5, out=tmp_path / "run")
    res = _run(str(tmp_path / "run"), "--metrics", "lps,mmd", "--format", "json")
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["settings"]["evaluation"]["dataset"] == "digits"
    assert payload["settings"]["evaluation"]["n_images_encoded"] == 1797
    assert {r["metric"] for r in payload["results"]} >= {"lps", "mmd"}
    assert np.isfinite(next(r["value"] for r in payload["results"] if r["metric"] == "lps"))
