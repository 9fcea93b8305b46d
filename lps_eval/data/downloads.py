"""Download a dataset's published files: checksum-verified, resumable, written atomically.

Standard library only (:mod:`urllib.request`). Each file is streamed into
``NAME.part`` beside its final name; an interrupted transfer keeps the part, and the next
call resumes it with an HTTP ``Range`` request (a server that ignores ``Range`` answers
200 and the file starts over). When the transfer is complete the file is hashed, checked,
flushed to disk (``fsync``) and renamed into place (:func:`os.replace`, atomic on POSIX),
so a file under its final name is always whole.

Verification: a file is verified against the checksum its publisher gives, or against
``sha256=`` given by the caller. When there is neither, nothing is downloaded unless the
caller says ``trust_unverified=True``; the SHA-256 actually received is then recorded as
*unverified* in ``.lps-eval-downloads.json`` of the data directory (so a later download
can be compared with it), never as verified.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lps_eval._validation import LpsInputError
from lps_eval.data.registry import RemoteFile, get_spec, locate, resolve_data_dir

__all__ = ["DownloadError", "DownloadResult", "download", "file_digest", "read_manifest"]

#: Record of downloaded files in the data directory: name -> sha256 and how it was checked.
MANIFEST = ".lps-eval-downloads.json"
_BLOCK = 1 << 20


class DownloadError(LpsInputError):
    """A transfer that could not be completed (offline, refused, truncated, wrong checksum)."""


@dataclass(frozen=True)
class DownloadResult:
    """One file: where it is, its SHA-256 and how it was verified."""

    path: Path
    sha256: str
    verification: str  # "md5 (published)", "sha256 (given)", "unverified (trusted)", ...
    downloaded: bool


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file, read in 1 MiB blocks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(directory: Path) -> dict[str, Any]:
    """The data directory's download record (empty when there is none or it is damaged)."""
    try:
        data = json.loads((directory / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_manifest(directory: Path, entry: dict[str, Any]) -> None:
    record = {**read_manifest(directory), entry["filename"]: entry}
    tmp = directory / f".{MANIFEST}.tmp{os.getpid()}"
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, directory / MANIFEST)


def _manual_step(url: str, target: Path) -> str:
    return f"download {url} in a browser and put it at {target}"


def _open(url: str, start: int, timeout: float) -> Any:
    request = urllib.request.Request(url, headers={"User-Agent": "lps-eval"})
    if start:
        request.add_header("Range", f"bytes={start}-")
    return urllib.request.urlopen(request, timeout=timeout)


def _total_size(response: Any, start: int) -> int | None:
    """The full file size from Content-Range (a resumed 206) or Content-Length."""
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range and content_range.rsplit("/", 1)[1].strip().isdigit():
        return int(content_range.rsplit("/", 1)[1])
    length = response.headers.get("Content-Length")
    return int(length) + start if length and length.isdigit() else None


def _transfer(url: str, part: Path, target: Path, *, progress: bool, timeout: float) -> None:
    """Stream ``url`` into ``part``, resuming from its current size."""
    from tqdm.auto import tqdm

    start = part.stat().st_size if part.exists() else 0
    try:
        response = _open(url, start, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # the part is already complete
            return
        raise DownloadError(
            f"{url} answered HTTP {exc.code} {exc.reason}; {_manual_step(url, target)}"
        ) from None
    except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(
            f"cannot reach {url} ({reason}); you may be offline: {_manual_step(url, target)}"
        ) from None
    with response:
        resumed = start > 0 and response.status == 206
        if not resumed:
            start = 0  # the server sent the whole file
        total = _total_size(response, start)
        bar = tqdm(
            total=total,
            initial=start,
            unit="B",
            unit_scale=True,
            desc=target.name,
            file=sys.stderr,
            disable=not progress,
        )
        received = start
        try:
            with open(part, "ab" if resumed else "wb") as fh:
                for block in iter(lambda: response.read(_BLOCK), b""):
                    fh.write(block)
                    received += len(block)
                    bar.update(len(block))
                fh.flush()
                os.fsync(fh.fileno())
        except (OSError, ConnectionError) as exc:
            raise DownloadError(
                f"transfer of {url} interrupted after {received} bytes ({exc}); run the same "
                "command again to resume"
            ) from None
        finally:
            bar.close()
    if total is not None and received != total:
        raise DownloadError(
            f"transfer of {url} stopped at {received} of {total} bytes; run the same command "
            "again to resume"
        )


def _parse_sha256(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip().lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise LpsInputError(f"--sha256 must be 64 hexadecimal digits, got {value!r}")
    return text


def _expected(remote: RemoteFile, sha256: str | None, trust: bool) -> tuple[str, str, str]:
    """(algorithm, hex digest or "", label) the file is checked against."""
    if sha256:
        return "sha256", sha256, "sha256 (given)"
    if remote.checksum:
        algo, digest = remote.checksum
        return algo, digest.lower(), f"{algo} (published)"
    if trust:
        return "sha256", "", "unverified (trusted)"
    raise LpsInputError(
        f"{remote.filename}: no published checksum; pass --sha256 HEX to verify it, or "
        "--trust-unverified to download it unverified"
    )


def _fetch_one(
    remote: RemoteFile,
    directory: Path,
    *,
    url: str | None,
    sha256: str | None,
    trust: bool,
    progress: bool,
    timeout: float,
) -> DownloadResult:
    algo, want, label = _expected(remote, sha256, trust)
    target = directory / remote.filename
    part = target.with_name(target.name + ".part")
    source = url or remote.url
    if not target.exists():
        directory.mkdir(parents=True, exist_ok=True)
        _transfer(source, part, target, progress=progress, timeout=timeout)
        candidate, downloaded = part, True
    else:
        candidate, downloaded = target, False
    got = file_digest(candidate, algo)
    if want and got != want:
        if downloaded:
            part.unlink(missing_ok=True)  # a bad file must not be resumed either
        raise DownloadError(
            f"{remote.filename}: {algo} is {got}, expected {want}; "
            + (
                "the download was removed, try again or check --url"
                if downloaded
                else f"the file at {target} is not the published one; delete it and download again"
            )
        )
    if downloaded:
        os.replace(part, target)
    digest = got if algo == "sha256" else file_digest(target, "sha256")
    _write_manifest(
        directory,
        {"filename": remote.filename, "sha256": digest, "verification": label, "url": source},
    )
    return DownloadResult(target, digest, label, downloaded)


def _sha_for(files: tuple[RemoteFile, ...], sha256: str | dict[str, str] | None) -> dict:
    """``--sha256 HEX`` (one-file datasets) or ``{filename: HEX}`` as a per-file map."""
    if sha256 is None:
        return {}
    if isinstance(sha256, dict):
        unknown = set(sha256) - {f.filename for f in files}
        if unknown:
            raise LpsInputError(
                f"--sha256 names {sorted(unknown)}, not files of this dataset: "
                f"{', '.join(f.filename for f in files)}"
            )
        return {k: _parse_sha256(v) for k, v in sha256.items()}
    if len(files) != 1:
        raise LpsInputError(
            "this dataset has several files; pass --sha256 FILENAME=HEX for each one"
        )
    return {files[0].filename: _parse_sha256(sha256)}


def download(
    name: str,
    *,
    data_dir: str | Path | None = None,
    url: str | None = None,
    sha256: str | dict[str, str] | None = None,
    trust_unverified: bool = False,
    progress: bool = True,
    timeout: float = 60.0,
) -> list[DownloadResult]:
    """Download the published files of dataset ``name`` into the data directory.

    Parameters
    ----------
    name : str
        A registered dataset (``lps-eval data list``).
    data_dir : path, optional
        Target directory (default ``$LPS_EVAL_DATA``, else the user cache directory).
    url : str, optional
        Another address (a mirror) for a one-file dataset.
    sha256 : str or dict, optional
        Expected SHA-256 (``{filename: hex}`` for several files); wins over a published
        checksum.
    trust_unverified : bool, default False
        Download a file that has no published checksum and no ``sha256`` anyway; it is
        recorded as unverified.
    progress : bool, default True
        Progress bar on stderr.

    Returns
    -------
    list of DownloadResult
        Files already present are checked, not downloaded again.

    Raises
    ------
    DownloadError
        Offline, refused, interrupted (run again to resume) or a checksum mismatch.
    """
    spec = get_spec(name)
    if not spec.files:
        raise LpsInputError(f"dataset {spec.name!r} is {spec.kind}: there is nothing to download")
    if url is not None and len(spec.files) != 1:
        raise LpsInputError(f"--url works for one-file datasets; {spec.name} has {len(spec.files)}")
    directory = resolve_data_dir(data_dir)
    expected = _sha_for(spec.files, sha256)
    for remote in spec.files:  # refuse before transferring anything
        _expected(remote, expected.get(remote.filename), trust_unverified)
    results = []
    for remote in spec.files:
        present = locate(spec, remote, directory)
        if present is not None and present != directory / remote.filename:
            results.append(
                DownloadResult(present, "", "present (not checked: alternate name)", False)
            )
            continue
        results.append(
            _fetch_one(
                remote,
                directory,
                url=url,
                sha256=expected.get(remote.filename),
                trust=trust_unverified,
                progress=progress,
                timeout=timeout,
            )
        )
    return results
