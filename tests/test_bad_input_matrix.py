"""Every bad input: one ``error:`` line on stderr, exit status 2, never a traceback.

Each case builds its files in a temporary folder, runs the CLI through click's runner and
checks the exit code, the absence of a traceback, and the first words of the message
(a regular expression anchored at the start of the ``error:`` line).
"""

from __future__ import annotations

import json
import re
import sys
import zipfile
from fractions import Fraction

import numpy as np
import pytest
from click.testing import CliRunner

from lps_eval.cli import main

FAST = ["--metrics", "mmd", "-O", "mmd.permutations=10", "-O", "mmd.per_dim=false"]


def _z(n: int = 200, d: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d))


def _npy(tmp, name="z.npy", arr=None):
    path = tmp / name
    np.save(path, _z() if arr is None else arr)
    return path


def _pyproject(tmp, text):
    path = tmp / "pyproject.toml"
    path.write_text(text)
    return path


def _score(tmp, *extra, latents=None):
    return ["score", str(latents or _npy(tmp)), *extra]


# --------------------------------------------------------------------- case builders
# Each returns (argv, regex for the start of the message after "error: ").


def case_config_unknown_key(tmp):
    cfg = _pyproject(tmp, '[tool.lps-eval]\nfail_if = ["mmd > 5"]\n')
    return _score(tmp, *FAST, "--config", cfg), r"unknown key 'fail_if'.*did you mean 'fail-if'"


def case_config_near_miss_table(tmp):
    cfg = _pyproject(tmp, '[tool.lps_eval]\nfail-if = ["mmd > 5"]\n')
    return _score(tmp, *FAST, "--config", cfg), r"misspelt table \[tool\.lps_eval\]"


def case_config_seed_float(tmp):
    cfg = _pyproject(tmp, "[tool.lps-eval]\nseed = 1.9\n")
    return _score(tmp, *FAST, "--config", cfg), r"\[tool\.lps-eval\] seed must be"


def case_config_prior_type(tmp):
    cfg = _pyproject(tmp, "[tool.lps-eval]\nprior = 5\n")
    return _score(tmp, *FAST, "--config", cfg), r"\[tool\.lps-eval\] prior must be"


def case_config_fail_if_type(tmp):
    cfg = _pyproject(tmp, "[tool.lps-eval]\nfail-if = 3\n")
    return _score(tmp, *FAST, "--config", cfg), r"\[tool\.lps-eval\] fail-if"


def case_gate_column_typo(tmp):
    argv = _score(tmp, *FAST, "--fail-if", "mmd.pvalue < 0.01")
    return argv, r"gate 'mmd.pvalue < 0.01' names column 'pvalue' \(did you mean 'p_value'"


def case_gate_metric_typo(tmp):
    argv = _score(tmp, *FAST, "--fail-if", "mdd > 0.1")
    return argv, r"gate 'mdd > 0.1' names metric 'mdd'.*did you mean 'mmd'"


def case_option_bool(tmp):
    return _score(
        tmp, "--metrics", "mmd", "-O", "mmd.per_dim=abc"
    ), r"mmd\.per_dim must be true or false"


def case_option_unknown(tmp):
    return _score(tmp, *FAST, "-O", "mmd.permutatons=5"), r"unknown option.*permutations"


def case_predictor_param_unused(tmp):
    argv = _score(tmp, "--metrics", "lps", "--predictor", "linear", "-P", "max_iter=5")
    return argv, r"predictor 'linear' has no option 'max_iter'; valid options: ridge"


def case_predictor_param_abc(tmp):
    argv = _score(tmp, "--metrics", "lps", "--predictor", "hgb", "-P", "max_iter=abc")
    return argv, r"predictor 'hgb': .*max_iter"


def case_predictor_param_negative(tmp):
    argv = _score(tmp, "--metrics", "lps", "--predictor", "hgb", "-P", "max_iter=-5")
    return argv, r"predictor 'hgb': .*max_iter"


def case_predictor_param_fraction(tmp):
    argv = _score(tmp, "--metrics", "lps", "--predictor", "hgb", "-P", "max_iter=1.5")
    return argv, r"predictor 'hgb': .*max_iter"


def case_knn_zero(tmp):
    argv = _score(tmp, "--metrics", "lps", "--predictor", "knn", "-P", "n_neighbors=0")
    return argv, r"predictor 'knn': .*n_neighbors"


def case_knn_huge(tmp):
    argv = _score(tmp, "--metrics", "lps", "--predictor", "knn", "-P", "n_neighbors=100000")
    return argv, r"predictor 'knn'.*n_neighbors"


def case_prior_empty(tmp):
    return _score(tmp, *FAST, "--prior", ""), r"prior spec is empty"


def case_prior_huge_param(tmp):
    return _score(tmp, *FAST, "--prior", "gaussian(0, 1e308)"), r"prior 'gaussian\(0, 1e308\)'"


def case_prior_huge_mean(tmp):
    return _score(tmp, *FAST, "--prior", "uniform(-1e307, 1e308)"), r"prior 'uniform"


def case_prior_samples_empty(tmp):
    return _score(tmp, *FAST, "--prior", "samples:"), r"prior 'samples:' names no file"


def case_prior_hybrid_huge(tmp):
    return _score(tmp, *FAST, "--prior", "hybrid(gaussian*100000000)"), r"prior 'hybrid.*limit"


def case_mixture_strings(tmp):
    path = tmp / "mix.json"
    path.write_text(json.dumps({"weights": ["a", "b"], "means": [[0, 0, 0], [1, 1, 1]]}))
    return _score(tmp, *FAST, "--prior", f"mixture:{path}"), r"prior 'mixture:.*numbers"


def case_bandwidth_tiny(tmp):
    return _score(tmp, *FAST, "-O", "mmd.bandwidth=1e-300"), r"bandwidth must be a positive number"


def case_per_dim_max_samples_text(tmp):
    return _score(
        tmp, *FAST[:2], "-O", "mmd.per_dim_max_samples=abc"
    ), r"mmd\.per_dim_max_samples must"


def case_mi_bins_huge(tmp):
    argv = _score(tmp, "--metrics", "mutual_info_mean", "-O", "independence.n_bins=1000000000")
    return argv, r"independence\.n_bins must be an integer in \[2, 1000\]"


def case_null_dims_unused_but_bad(tmp):
    argv = _score(tmp, "--metrics", "lps", "--predictor", "linear", "-O", "lps.null_dims=-5")
    return argv, r"lps.null_dims must be"


def case_latents_huge_scale(tmp):
    return _score(tmp, *FAST, latents=_npy(tmp, arr=_z() * 1e300)), r"z has values up to"


def case_latents_tiny_scale(tmp):
    return _score(tmp, *FAST, latents=_npy(tmp, arr=_z() * 1e-300)), r"z has dimension"


def case_npy_unterminated_header(tmp):
    path = tmp / "bad.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00\x76\x00{'descr': '<f8', 'fortran_order': False, 'sha")
    return _score(tmp, latents=path), r"could not read .*bad\.npy"


def case_npy_structured(tmp):
    arr = np.zeros(10, dtype=[("a", "f8"), ("b", "f8")])
    return _score(tmp, latents=_npy(tmp, arr=arr)), r".*z\.npy holds a structured array"


def case_npz_scalar_member(tmp):
    path = tmp / "s.npz"
    np.savez(path, z=np.float64(3.0))
    return _score(tmp, latents=path), r"array 'z' in .*s\.npz is a scalar"


def case_npz_many_keys(tmp):
    path = tmp / "many.npz"
    np.savez(path, **{f"a{i}": np.zeros(1) for i in range(5000)})
    return _score(tmp, latents=path), r".*many\.npz holds 5000 arrays \(a0, a1"


def case_npz_bomb(tmp):
    path = tmp / "bomb.npz"
    np.savez_compressed(path, z=np.zeros((4000, 1000)))  # 32 MB inflated, tiny on disk
    return _score(tmp, "--max-bytes", "1000000", latents=path), r"array 'z' in .*bomb\.npz"


def case_csv_parses_over_cap(tmp):
    path = tmp / "ones.csv"
    path.write_text("\n".join(["1,0,1,0,1,0,1,0"] * 2000) + "\n")  # 32 KB on disk, 128 KB parsed
    return _score(tmp, "--max-bytes", "60000", latents=path), r".*ones\.csv parses to about"


def case_csv_header_only(tmp):
    path = tmp / "h.csv"
    path.write_text("a,b,c\n")
    return _score(tmp, latents=path), r".*h\.csv has a header but no data rows"


def case_csv_nullable(tmp):
    path = tmp / "n.csv"
    path.write_text("a,b\n1,2\n,3\n4,5\n6,7\n")
    return _score(tmp, *FAST, latents=path), r"z contains NaN"


def case_parquet_nullable(tmp):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    path = tmp / "n.parquet"
    frame = pd.DataFrame({"a": pd.array([1, None, 3, 4], dtype="Int64"), "b": [0.1, 2, 3, 4]})
    frame.to_parquet(path)
    return _score(tmp, *FAST, latents=path), r"z contains NaN"


def case_pt_pickled(tmp):
    torch = pytest.importorskip("torch")
    path = tmp / "p.pt"
    torch.save({"z": torch.zeros(3, 2), "obj": Fraction(1, 3)}, path)  # not a tensor type
    return _score(tmp, latents=path), r".*p\.pt holds pickled Python objects"


def case_pt_garbage(tmp):
    path = tmp / "g.pt"
    path.write_bytes(b"not a torch file at all")
    return _score(tmp, latents=path), r"could not read .*g\.pt"


def case_pt_sparse(tmp):
    torch = pytest.importorskip("torch")
    path = tmp / "sp.pt"
    torch.save(torch.eye(20).to_sparse(), path)
    return _score(tmp, latents=path), r".*sp\.pt holds a sparse tensor"


def case_metrics_case(tmp):
    return _score(tmp, "--metrics", "MIG"), r"unknown metric 'MIG' \(did you mean 'mig'"


def case_float_factors(tmp):
    fac = _npy(tmp, "f.npy", np.random.default_rng(1).normal(size=(200, 2)))
    argv = _score(tmp, "--factors", fac, "--metrics", "dci")
    return argv, r"dci: factor column 0 has .* distinct values"


def case_permutations_cap(tmp):
    return _score(
        tmp, "--metrics", "mmd", "-O", "mmd.permutations=1000000000"
    ), r"mmd\.permutations must"


def case_n_boot_cap(tmp):
    argv = _score(tmp, "--metrics", "lps", "--predictor", "linear", "--n-boot", "1000000000")
    return argv, r"lps\.n_boot must"


def case_index_col_missing(tmp):
    path = tmp / "z.csv"
    path.write_text("a,b\n1,2\n3,4\n5,6\n7,8\n")
    return _score(tmp, "--index-col", "c", latents=path), r"--index-col 'c'"


def _run_dir(tmp):
    torch = pytest.importorskip("torch")
    import pandas as pd

    from lps_eval.train.checkpoint import save_run
    from lps_eval.train.models import ConvAutoencoder

    run = tmp / "run"
    model = ConvAutoencoder((1, 8, 8), 2, width=4, hidden=8)
    config = {"architecture": {"image_shape": [1, 8, 8], "latent_dim": 2, "width": 4, "hidden": 8}}
    save_run(
        run,
        model=model,
        config=config,
        history=pd.DataFrame({"loss": [0.0]}),
        latents={"z": np.zeros((2, 2))},
        metrics={},
    )
    images = tmp / "images.npy"
    np.save(images, np.random.default_rng(0).random((5, 1, 8, 8)).astype(np.float32))
    return torch, run, images


def _encode(run, images, tmp):
    return ["encode", str(run), str(images), "-o", str(tmp / "out.npz")]


def case_encode_pickled_model(tmp):
    torch, run, images = _run_dir(tmp)
    torch.save({"weights": Fraction(1, 3)}, run / "model.pt")
    return _encode(run, images, tmp), r".*model\.pt holds pickled Python objects"


def case_encode_missing_keys(tmp):
    torch, run, images = _run_dir(tmp)
    state = torch.load(run / "model.pt", weights_only=True)
    state.pop(next(iter(state)))
    torch.save(state, run / "model.pt")
    return _encode(run, images, tmp), r".*model\.pt does not match"


def case_encode_wrong_keys(tmp):
    torch, run, images = _run_dir(tmp)
    torch.save({"foo": torch.zeros(2)}, run / "model.pt")
    return _encode(run, images, tmp), r".*model\.pt does not match"


def case_encode_truncated(tmp):
    _, run, images = _run_dir(tmp)
    data = (run / "model.pt").read_bytes()
    (run / "model.pt").write_bytes(data[: len(data) // 2])
    return _encode(run, images, tmp), r"could not read .*model\.pt"


def case_encode_bad_json(tmp):
    _, run, images = _run_dir(tmp)
    (run / "config.json").write_text("{not json")
    return _encode(run, images, tmp), r".*config\.json is not valid JSON"


def case_encode_no_architecture(tmp):
    _, run, images = _run_dir(tmp)
    (run / "config.json").write_text("{}")
    return _encode(run, images, tmp), r".*config\.json has no valid 'architecture'"


def case_encode_wrong_latent_dim(tmp):
    _, run, images = _run_dir(tmp)
    cfg = json.loads((run / "config.json").read_text())
    cfg["architecture"]["latent_dim"] = 7
    (run / "config.json").write_text(json.dumps(cfg))
    return _encode(run, images, tmp), r".*model\.pt does not match"


def case_encode_missing_model(tmp):
    _, run, images = _run_dir(tmp)
    (run / "model.pt").unlink()
    return _encode(run, images, tmp), r".*model\.pt not found"


def case_train_width_zero(tmp):
    return ["train", "--width", "0", "--out", str(tmp / "r")], r"width must be an integer >= 1"


def case_train_lr(tmp):
    return ["train", "--lr", "1e9", "--out", str(tmp / "r")], r"lr must be a number in \(0, 1\]"


CASES = {name[5:]: fn for name, fn in dict(globals()).items() if name.startswith("case_")}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input(name, tmp_path):
    argv, expected = CASES[name](tmp_path)
    result = CliRunner().invoke(main, [str(a) for a in argv])
    output = result.output
    assert "Traceback" not in output, output
    assert result.exit_code == 2, (result.exit_code, output, result.exception)
    errors = [line for line in output.splitlines() if line.startswith(("error: ", "Error: "))]
    assert len(errors) == 1, output
    message = re.sub(r"^(error|Error): ", "", errors[0])
    assert re.match(expected, message), message
    assert len(errors[0]) < 600, errors[0]  # one readable line, never a 34 KB listing
    assert "weights_only=False" not in output


def test_npz_bomb_reads_nothing(tmp_path, monkeypatch):
    """The size check uses the zip headers: the member is never inflated."""
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, z=np.zeros((4000, 1000)))
    opened = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, *args, **kwargs):
        opened.append(name)
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    from lps_eval import LpsInputError
    from lps_eval.io import load_array

    with pytest.raises(LpsInputError, match="max_bytes"):
        load_array(path, max_bytes=10**6)
    assert opened == []


def test_interrupt_exits_130(tmp_path, monkeypatch):
    score_module = sys.modules["lps_eval.scoring"]

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(score_module, "score", interrupted)
    result = CliRunner().invoke(main, ["score", str(_npy(tmp_path)), "--metrics", "mmd"])
    assert result.exit_code == 130
    assert "Aborted" not in result.output
    assert result.output.strip().splitlines()[-1] == "error: interrupted"


def test_unexpected_error_is_one_line_exit_2(tmp_path, monkeypatch):
    """A bug inside a section must not look like a failed gate (exit 1) or print a traceback."""
    score_module = sys.modules["lps_eval.scoring"]

    def broken(*args, **kwargs):
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(score_module, "score", broken)
    monkeypatch.delenv("LPS_EVAL_TRACEBACK", raising=False)
    result = CliRunner().invoke(main, ["score", str(_npy(tmp_path)), "--metrics", "mmd"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1].startswith("error: unexpected ZeroDivisionError")


def test_id_like_factors_give_nan_and_a_warning_not_an_error(tmp_path):
    """Issue 17: ID-like factors (a distinct value in every row) leave nothing to measure,
    so the metric is NaN with a warning naming the problem and the fix (exit 0), as every
    undefined metric is; it was an error from DCI alone before."""
    fac = np.random.default_rng(1).integers(0, 10**12, size=(200, 2))
    argv = _score(tmp_path, "--factors", _npy(tmp_path, "f.npy", fac), "--metrics", "dci")
    result = CliRunner().invoke(main, [str(a) for a in argv])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    assert re.search(
        r"dci not computable: factor\(s\) \[0, 1\] have a distinct value", result.output
    )
    assert "pass discrete factor codes" in result.output
