"""Odd but valid inputs: pandas index columns, names kept, conversions that warn.

Bad inputs (exit 2, one line) are in ``test_bad_input_matrix.py``; these are the cases
where lps-eval should give the right numbers, with a warning when it adjusted the input.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import lps_eval
from lps_eval import LpsInputError, LpsInputWarning
from lps_eval.cli import main
from lps_eval.io import load_table

FAST_MMD = ["--metrics", "mmd", "-O", "mmd.permutations=10"]


def _frame(n=300, seed=0):
    z = np.random.default_rng(seed).normal(size=(n, 3))
    return pd.DataFrame(z, columns=["alpha", "beta", "gamma"])


# --------------------------------------------------------------------- pandas index column


def test_to_csv_index_column_is_dropped_with_a_warning(tmp_path):
    frame = _frame()
    frame.to_csv(tmp_path / "z.csv")  # writes an unnamed first column 0..n-1
    with pytest.warns(LpsInputWarning, match="pandas index"):
        array, names = load_table(tmp_path / "z.csv")
    assert names == ["alpha", "beta", "gamma"]
    np.testing.assert_allclose(array, frame.to_numpy())


def test_reset_index_column_is_dropped(tmp_path):
    frame = _frame()
    frame.reset_index().to_csv(tmp_path / "z.csv", index=False)  # a column named "index"
    with pytest.warns(LpsInputWarning, match="pandas index"):
        array, names = load_table(tmp_path / "z.csv")
    assert names == ["alpha", "beta", "gamma"] and array.shape == (300, 3)


def test_headerless_range_column_is_dropped(tmp_path):
    frame = _frame()
    frame.insert(0, "i", np.arange(len(frame)))
    np.savetxt(tmp_path / "z.csv", frame.to_numpy(), delimiter=",", fmt="%.17g")
    # savetxt writes 0.0, 1.0 ...: read as floats, so only an integer 0..n-1 column counts
    frame.to_csv(tmp_path / "y.csv", index=False, header=False)
    with pytest.warns(LpsInputWarning, match="0..n-1"):
        array, names = load_table(tmp_path / "y.csv")
    assert names is None and array.shape == (300, 3)


def test_index_col_explicit_and_none(tmp_path):
    frame = _frame()
    frame.to_csv(tmp_path / "z.csv")
    array, names = load_table(tmp_path / "z.csv", index_col=False)
    assert array.shape == (300, 4) and names[0] == "Unnamed: 0"
    frame.to_csv(tmp_path / "k.csv", index=False)
    array, names = load_table(tmp_path / "k.csv", index_col="beta")
    assert names == ["alpha", "gamma"]
    np.testing.assert_allclose(array, frame[["alpha", "gamma"]].to_numpy())


def test_index_column_does_not_change_the_scores(tmp_path):
    frame = _frame()
    frame.to_csv(tmp_path / "with_index.csv")
    frame.to_csv(tmp_path / "plain.csv", index=False)
    runner = CliRunner()
    outs = [
        runner.invoke(main, ["score", str(tmp_path / name), *FAST_MMD, "--format", "csv"])
        for name in ("with_index.csv", "plain.csv")
    ]
    assert [o.exit_code for o in outs] == [0, 0]
    assert outs[0].stdout == outs[1].stdout
    assert "pandas index" in outs[0].stderr and "pandas index" not in outs[1].stderr


# --------------------------------------------------------------------- names kept


def test_dataframe_columns_become_dim_names():
    frame = _frame()
    table = lps_eval.score(frame, metrics=["mmd"], permutations=0)
    dims = table[table["scope"] == "dim"]
    assert list(dims["dim_name"]) == ["alpha", "beta", "gamma"]
    assert table.attrs["dim_names"] == ["alpha", "beta", "gamma"]


def test_factor_names_fill_factor_name_and_dci_display():
    rng = np.random.default_rng(0)
    factors = rng.integers(0, 4, size=(1200, 2))
    z = np.column_stack([factors[:, 1], factors[:, 0]]) + 0.05 * rng.normal(size=(1200, 2))
    table = lps_eval.score(z, factors=factors, factor_names=["shape", "scale"], metrics=["dci"])
    per_factor = table[table["scope"] == "factor"]
    assert set(per_factor["factor_name"]) == {"shape", "scale"}
    imp = table[table["metric"] == "dci_importance"]
    assert len(imp) == 4  # the full dim x factor matrix stays in the tidy rows
    # the formatted table shows, per dim, the factor it captures and that importance
    from lps_eval.cli.output import format_table as _format_table

    text = _format_table(table)
    block = text.split("per dimension:")[1].split("per factor:")[0]
    rows = [line.split() for line in block.strip().splitlines()[2:]]
    top = {r[0]: r for r in rows}
    assert "scale" in top["0"] and "shape" in top["1"]
    value = imp[(imp["dim"] == 1) & (imp["factor"] == 0)]["value"].iloc[0]
    assert value > 0.5 and f"{value:.4g}" in top["1"]


def test_csv_header_names_reach_json_output(tmp_path):
    _frame().to_csv(tmp_path / "z.csv", index=False)
    out = CliRunner().invoke(
        main, ["score", str(tmp_path / "z.csv"), *FAST_MMD, "--format", "json"]
    )
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)["results"]
    assert [r["dim_name"] for r in rows if r["scope"] == "dim"] == ["alpha", "beta", "gamma"]


def test_npz_factor_keys_become_factor_names(tmp_path):
    rng = np.random.default_rng(1)
    f = rng.integers(0, 3, size=(600, 2))
    z = f + 0.1 * rng.normal(size=(600, 2))
    np.save(tmp_path / "z.npy", z)
    np.savez(tmp_path / "f.npz", color=f[:, 0], size=f[:, 1])
    argv = ["score", str(tmp_path / "z.npy"), "--factors", str(tmp_path / "f.npz")]
    out = CliRunner().invoke(main, [*argv, "--metrics", "mig", "--format", "csv"])
    assert out.exit_code == 0, out.output
    table = pd.read_csv(__import__("io").StringIO(out.stdout))
    assert set(table.loc[table["scope"] == "factor", "factor_name"]) == {"color", "size"}


def test_wrong_length_names_are_refused():
    z = np.random.default_rng(0).normal(size=(100, 2))
    f = np.random.default_rng(1).integers(0, 3, size=(100, 2))
    with pytest.raises(LpsInputError, match="factor_names has 3 name"):
        lps_eval.score(z, factors=f, factor_names=["a", "b", "c"], metrics=["mig"])
    with pytest.raises(LpsInputError, match="dim_names has 1 name"):
        lps_eval.score(z, dim_names=["a"], metrics=["mmd"], permutations=0)


# --------------------------------------------------------------------- conversions


def test_bfloat16_tensor_is_converted_with_a_warning(tmp_path):
    torch = pytest.importorskip("torch")
    z = torch.randn(50, 3)
    torch.save(z.to(torch.bfloat16), tmp_path / "z.pt")
    with pytest.warns(LpsInputWarning, match="bfloat16"):
        array, _ = load_table(tmp_path / "z.pt")
    assert array.dtype == np.float32
    np.testing.assert_allclose(array, z.to(torch.bfloat16).float().numpy())


def test_boolean_and_nullable_columns(tmp_path):
    (tmp_path / "b.csv").write_text("a,b\n1.5,true\n2.5,false\n3.5,true\n")
    with pytest.warns(LpsInputWarning, match="boolean"):
        array, _ = load_table(tmp_path / "b.csv")
    np.testing.assert_array_equal(array, [[1.5, 1.0], [2.5, 0.0], [3.5, 1.0]])


@pytest.mark.parametrize("scale", [1e-95, 1e95])
def test_large_and_small_but_safe_scales_give_finite_numbers(scale):
    z = np.random.default_rng(0).normal(size=(400, 3)) * scale
    metrics = ["lps", "mmd", "independence"]
    table = lps_eval.score(z, metrics=metrics, predictor="linear", permutations=20)
    assert np.isfinite(table["value"]).all()
    base = lps_eval.score(z / scale, metrics=["lps"], predictor="linear")
    lps_value = table.query("metric == 'lps' and scope == 'overall'")["value"].iloc[0]
    base_value = base.query("metric == 'lps' and scope == 'overall'")["value"].iloc[0]
    assert lps_value == pytest.approx(base_value, abs=1e-9)  # LPS is scale-free


def test_gate_near_miss_config_is_not_silent(tmp_path):
    from lps_eval.scoring.gate import load_config

    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.lps-eval]\nfail-if = ["lps > 0.2"]\nseed = 3\nmetrics = "lps, mmd"\n')
    config = load_config(path)
    assert config["fail-if"] == ["lps > 0.2"] and config["seed"] == 3
    assert config["metrics"] == ["lps", "mmd"]
    path.write_text("[tool.lps-eval]\nFail-If = []\n")
    with pytest.raises(LpsInputError, match="did you mean 'fail-if'"):
        load_config(path)


def test_nullable_dataframe_columns_are_numbers_not_objects():
    frame = pd.DataFrame({"a": pd.array([1, 2, None, 4] * 10, dtype="Int64"), "b": np.arange(40.0)})
    with pytest.raises(LpsInputError, match="NaN"):  # not "an object array"
        lps_eval.score(frame, metrics=["mmd"], permutations=0)
    flags = pd.DataFrame({"a": pd.array([True, False] * 20, dtype="boolean"), "b": np.arange(40.0)})
    table = lps_eval.score(flags, metrics=["mmd"], permutations=0)
    assert np.isfinite(table["value"]).all()


def test_mmd2_on_overflowing_samples_is_an_input_error():
    from lps_eval.prior_matching import mmd2

    x = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(LpsInputError, match="rescale"):
        mmd2(x * 1e300, x * 1e300 + 1.0)


def test_bfloat16_and_sparse_tensors_in_python():
    torch = pytest.importorskip("torch")
    z = torch.randn(200, 3)
    with pytest.warns(LpsInputWarning, match="bfloat16"):
        table = lps_eval.score(z.to(torch.bfloat16), metrics=["mmd"], permutations=0)
    assert np.isfinite(table["value"]).all()
    with pytest.raises(LpsInputError, match="sparse"):
        lps_eval.score(z.to_sparse(), metrics=["mmd"], permutations=0)


def test_structured_array_message_does_not_suggest_reshape():
    arr = np.zeros(20, dtype=[("a", "f8"), ("b", "f8")])
    with pytest.raises(LpsInputError, match="structured array") as err:
        lps_eval.score(arr, metrics=["mmd"], permutations=0)
    assert "reshape" not in str(err.value)
