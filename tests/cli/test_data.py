"""``lps-eval data list`` and ``lps-eval data download``."""

from __future__ import annotations

import hashlib
import json

from click.testing import CliRunner

from lps_eval.cli import main
from tests.data.test_downloads import Server, _closed_port, server, toy  # noqa: F401

RUNNER = CliRunner()


def test_list_shows_every_dataset_and_the_checksum_status(tmp_path):
    res = RUNNER.invoke(main, ["data", "list", "--format", "json", "--data-dir", str(tmp_path)])
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.stdout)["datasets"]}
    for name in ("xy", "xyc", "xycs", "dsprites", "shapes3d", "mpi3d_toy", "mpi3d_realistic",
                 "mpi3d_real", "smallnorb", "cars3d", "mnist", "cifar10", "tiny_imagenet"):  # fmt: skip
        assert name in rows
    assert rows["dsprites"]["checksum"] == "unverified: no published checksum"
    assert rows["cifar10"]["checksum"].startswith("md5:")
    assert rows["xy"]["present"] == "built in" and rows["shapes3d"]["present"] == "no"
    assert (
        rows["shapes3d"]["licence"] == "Apache-2.0" and rows["mpi3d_toy"]["licence"] == "CC-BY-4.0"
    )
    table = RUNNER.invoke(main, ["data", "list", "--data-dir", str(tmp_path)])
    assert table.exit_code == 0 and "unverified: no published checksum" in table.stdout


def test_download_then_list_says_present(toy, tmp_path):  # noqa: F811
    register, data, _ = toy
    register(("md5", hashlib.md5(data).hexdigest()))
    res = RUNNER.invoke(main, ["data", "download", "toy", "--dir", str(tmp_path / "d"), "--quiet"])
    assert res.exit_code == 0, res.output
    (entry,) = json.loads(res.stdout)
    assert entry["verification"] == "md5 (published)" and entry["downloaded"]
    listing = RUNNER.invoke(
        main, ["data", "list", "--format", "json", "--dir", str(tmp_path / "d")]
    )
    row = next(r for r in json.loads(listing.stdout)["datasets"] if r["name"] == "toy")
    assert row["present"] == "yes (md5 (published))"


def test_refusals_and_offline_are_one_line_exit_2(toy, tmp_path):  # noqa: F811
    register, *_ = toy
    register(None)
    res = RUNNER.invoke(main, ["data", "download", "toy", "--dir", str(tmp_path), "--quiet"])
    assert res.exit_code == 2 and "--trust-unverified" in res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.output
    url = f"http://127.0.0.1:{_closed_port()}/toy.npz"
    res = RUNNER.invoke(
        main,
        [
            "data",
            "download",
            "toy",
            "--dir",
            str(tmp_path),
            "--url",
            url,
            "--trust-unverified",
            "--quiet",
        ],
    )
    assert res.exit_code == 2 and url in res.stderr and "browser" in res.stderr
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1
    res = RUNNER.invoke(main, ["data", "download", "no_such"])
    assert res.exit_code == 2 and "unknown dataset" in res.stderr
