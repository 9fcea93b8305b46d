"""Downloads from a server on 127.0.0.1: resume, checksums, refusals, offline."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from lps_eval import LpsInputError
from lps_eval.data import DownloadError, download, get_dataset, read_manifest, registry
from lps_eval.data.registry import DatasetSpec, RemoteFile
from tests.data.official_files import dsprites_npz


class Server:
    """Serves ``files`` (name -> bytes) with HTTP Range support; ``truncate_next`` makes
    the next response announce the full length and stop halfway."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.truncate_next = False
        self.requests: list[tuple[str, str | None]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                name = self.path.lstrip("/")
                owner.requests.append((name, self.headers.get("Range")))
                if name not in owner.files:
                    self.send_error(404)
                    return
                data = owner.files[name]
                start = 0
                ranged = self.headers.get("Range", "")
                if ranged.startswith("bytes="):
                    start = int(ranged[6:].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                body = data[start:]
                if owner.truncate_next:
                    owner.truncate_next = False
                    body = body[: len(body) // 2]
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def toy(server, monkeypatch, tmp_path):
    """A registered one-file dataset served locally, in the dSprites format."""
    path = dsprites_npz(tmp_path / "src.npz", marker=tmp_path / "pickle-ran")
    data = path.read_bytes()
    server.files["toy.npz"] = data

    def register(checksum=None):
        from lps_eval.data import factor_sets

        spec = DatasetSpec(
            name="toy",
            title="toy",
            kind="files",
            n_images=192,
            image_shape=(1, 64, 64),
            factors=None,
            licence="test",
            source="test",
            files=(RemoteFile("toy.npz", server.url("toy.npz"), checksum=checksum),),
            load=lambda paths, cache: factor_sets.dsprites(paths["toy.npz"]),
        )
        monkeypatch.setitem(registry._REGISTRY, "toy", spec)
        return spec

    return register, data, tmp_path / "pickle-ran"


def test_truncated_transfer_resumes_with_a_range_request(server, toy, tmp_path):
    register, data, marker = toy
    register(("md5", hashlib.md5(data).hexdigest()))
    server.truncate_next = True
    target = tmp_path / "data"
    with pytest.raises(DownloadError, match="run the same command again to resume"):
        download("toy", data_dir=target, progress=False)
    part = target / "toy.npz.part"
    assert part.exists() and 0 < part.stat().st_size < len(data)
    assert not (target / "toy.npz").exists()  # never a partial file under the final name
    (result,) = download("toy", data_dir=target, progress=False)
    assert server.requests[-1] == ("toy.npz", f"bytes={len(data) // 2}-")
    assert result.downloaded and result.verification == "md5 (published)"
    assert (target / "toy.npz").read_bytes() == data and not part.exists()
    assert read_manifest(target)["toy.npz"]["sha256"] == hashlib.sha256(data).hexdigest()
    ds = get_dataset("toy", data_dir=target)  # and it loads, without unpickling metadata
    assert ds.n_images == 192 and not marker.exists()
    again = download("toy", data_dir=target, progress=False)  # present: checked, not fetched
    assert not again[0].downloaded and len(server.requests) == 2


def test_wrong_checksum_is_refused_and_removed(server, toy, tmp_path):
    register, _data, _ = toy
    register(("md5", "0" * 32))
    with pytest.raises(DownloadError, match="expected 0000"):
        download("toy", data_dir=tmp_path / "d", progress=False)
    assert not (tmp_path / "d" / "toy.npz").exists()
    assert not (tmp_path / "d" / "toy.npz.part").exists()


def test_no_published_checksum_needs_a_decision(server, toy, tmp_path):
    register, data, _ = toy
    register(None)
    with pytest.raises(LpsInputError, match=r"--sha256 HEX .* or --trust-unverified"):
        download("toy", data_dir=tmp_path / "d", progress=False)
    assert not server.requests  # refused before any transfer
    good = hashlib.sha256(data).hexdigest()
    with pytest.raises(DownloadError, match="sha256"):
        download("toy", data_dir=tmp_path / "d", sha256="f" * 64, progress=False)
    (given,) = download("toy", data_dir=tmp_path / "d", sha256=good, progress=False)
    assert given.verification == "sha256 (given)"
    (trusted,) = download("toy", data_dir=tmp_path / "e", trust_unverified=True, progress=False)
    assert trusted.verification == "unverified (trusted)" and trusted.sha256 == good
    assert read_manifest(tmp_path / "e")["toy.npz"]["verification"] == "unverified (trusted)"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_names_the_url_and_the_manual_step(toy, tmp_path):
    register, *_ = toy
    register(None)
    url = f"http://127.0.0.1:{_closed_port()}/toy.npz"
    with pytest.raises(DownloadError) as info:
        download("toy", data_dir=tmp_path, url=url, trust_unverified=True, progress=False)
    message = str(info.value)
    assert url in message and "browser" in message and str(tmp_path / "toy.npz") in message
    assert "\n" not in message


def test_http_errors_and_bad_arguments(server, toy, tmp_path):
    register, *_ = toy
    register(None)
    with pytest.raises(DownloadError, match="404"):
        download(
            "toy", data_dir=tmp_path, url=server.url("nope"), trust_unverified=True, progress=False
        )
    with pytest.raises(LpsInputError, match="64 hexadecimal"):
        download("toy", data_dir=tmp_path, sha256="abc", progress=False)
    with pytest.raises(LpsInputError, match="nothing to download"):
        download("xy", data_dir=tmp_path)
    with pytest.raises(LpsInputError, match="FILENAME=HEX"):
        download("mnist", data_dir=tmp_path, sha256="0" * 64)


def test_published_checksums_are_real_digests():
    """Every recorded checksum is a well-formed digest of a known algorithm (never made up:
    only CIFAR-10's publisher lists one)."""
    from lps_eval.data import dataset_specs

    sums = {f.filename: f.checksum for s in dataset_specs().values() for f in s.files if f.checksum}
    assert sums == {"cifar-10-binary.tar.gz": ("md5", "c32a1d4ab5d03f1284b67883e8d87530")}
    for algo, digest in sums.values():
        assert len(digest) == hashlib.new(algo).digest_size * 2
    assert np.all(
        [s.startswith("http") for s in (f.url for sp in dataset_specs().values() for f in sp.files)]
    )


def test_dataset_in_a_disentanglement_lib_folder_is_found(toy, tmp_path, monkeypatch):
    register, data, _ = toy
    spec = register(None)
    monkeypatch.setitem(
        registry._REGISTRY, "toy", DatasetSpec(**{**spec.__dict__, "dlib_folder": "toyfolder"})
    )
    (tmp_path / "dlib" / "toyfolder").mkdir(parents=True)
    (tmp_path / "dlib" / "toyfolder" / "toy.npz").write_bytes(data)
    with pytest.raises(LpsInputError, match="lps-eval data download toy"):
        get_dataset("toy", data_dir=tmp_path / "empty")
    monkeypatch.setenv("DISENTANGLEMENT_LIB_DATA", str(tmp_path / "dlib"))
    assert get_dataset("toy", data_dir=tmp_path / "empty").n_images == 192
    monkeypatch.delenv("DISENTANGLEMENT_LIB_DATA")
    monkeypatch.setenv("LPS_EVAL_DATA", str(tmp_path / "dlib"))
    assert get_dataset("toy").n_images == 192
    assert Path(registry.resolve_data_dir()) == tmp_path / "dlib"
