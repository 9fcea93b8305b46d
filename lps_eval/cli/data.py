"""``lps-eval data list`` and ``lps-eval data download NAME``: the datasets and their files.

``list`` prints every registered dataset (name, images, image shape, factor sizes,
licence, source, checksum status, and whether its files are present in the data
directory); ``download`` fetches the published files (checksum-verified, resumable,
written atomically; see :mod:`lps_eval.data.downloads`). Offline or refused: exit 2 with
one line naming the URL and the manual step.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from lps_eval._validation import LpsInputError
from lps_eval.cli.console import fail
from lps_eval.cli.preparation import format_option

__all__ = ["data_command"]

_DIR_HELP = "Data directory. [default: $LPS_EVAL_DATA, else ~/.cache/lps-eval/data]"


@click.group("data")
def data_command() -> None:
    """The datasets: list them, download their official files."""


def _present(spec: Any, directory: Path) -> str:
    from lps_eval.data import locate, read_manifest

    if not spec.files:
        return "built in"
    found = [locate(spec, f, directory) for f in spec.files]
    if not any(found):
        return "no"
    if not all(found):
        return f"partly ({sum(map(bool, found))} of {len(found)} files)"
    record = read_manifest(directory)
    checks = {record.get(f.filename, {}).get("verification") for f in spec.files}
    checks.discard(None)
    return "yes" + (f" ({', '.join(sorted(checks))})" if checks else "")


def _rows(directory: Path) -> list[dict[str, Any]]:
    from lps_eval.data import dataset_specs

    rows = []
    for spec in dataset_specs().values():
        size = sum(f.size or 0 for f in spec.files) if spec.files else None
        rows.append(
            {
                "name": spec.name,
                "kind": spec.kind,
                "images": spec.n_images,
                "image_shape": "x".join(str(s) for s in spec.image_shape),
                "factors": None
                if spec.factors is None
                else "x".join(str(s) for _, s in spec.factors),
                "size_bytes": size or None,
                "licence": spec.licence,
                "source": spec.source,
                "urls": [f.url for f in spec.files],
                "checksum": spec.checksum_status(),
                "present": _present(spec, directory),
            }
        )
    return rows


@data_command.command("list")
@click.option("--data-dir", "--dir", "directory", type=click.Path(path_type=Path), help=_DIR_HELP)
@format_option(("table", "json"))
def list_command(directory: Path | None, fmt: str) -> None:
    """Every dataset: images, factors, licence, source, checksum, present or not."""
    from lps_eval.data import resolve_data_dir

    root = resolve_data_dir(directory)
    rows = _rows(root)
    if fmt == "json":
        click.echo(json.dumps({"data_dir": str(root), "datasets": rows}, indent=2))
        return
    import pandas as pd

    frame = pd.DataFrame(rows).drop(columns=["urls", "size_bytes", "kind"])
    frame["factors"] = frame["factors"].fillna("-")
    click.echo(frame.to_string(index=False, max_colwidth=60))
    click.echo(f"data directory: {root}", err=True)


def _sha_option(values: tuple[str, ...]) -> str | dict[str, str] | None:
    if not values:
        return None
    if len(values) == 1 and "=" not in values[0]:
        return values[0]
    out = {}
    for value in values:
        if "=" not in value:
            raise LpsInputError(f"--sha256 {value!r}: with several, write FILENAME=HEX each")
        name, digest = value.split("=", 1)
        out[name.strip()] = digest.strip()
    return out


@data_command.command("download")
@click.argument("name")
@click.option("--dir", "--data-dir", "directory", type=click.Path(path_type=Path), help=_DIR_HELP)
@click.option("--url", default=None, help="Download from this address instead (a mirror).")
@click.option(
    "--sha256",
    "sha256",
    multiple=True,
    metavar="HEX|FILENAME=HEX",
    help="Expected SHA-256 (wins over a published checksum); FILENAME=HEX per file for "
    "datasets with several files.",
)
@click.option(
    "--trust-unverified",
    is_flag=True,
    help="Download files that have no published checksum, recorded as unverified.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
def download_command(
    name: str,
    directory: Path | None,
    url: str | None,
    sha256: tuple[str, ...],
    trust_unverified: bool,
    quiet: bool,
) -> None:
    """Download NAME's official files into the data directory (resumable, verified)."""
    from lps_eval.data import download

    try:
        results = download(
            name,
            data_dir=directory,
            url=url,
            sha256=_sha_option(sha256),
            trust_unverified=trust_unverified,
            progress=not quiet,
        )
    except (LpsInputError, OSError) as exc:
        fail(str(exc))
    for r in results:
        state = "downloaded" if r.downloaded else "present"
        digest = f" sha256 {r.sha256}" if r.sha256 else ""
        click.echo(f"{state}: {r.path} [{r.verification}]{digest}", err=True)
    click.echo(json.dumps([{"path": str(r.path), "sha256": r.sha256 or None,
                            "verification": r.verification, "downloaded": r.downloaded}
                           for r in results]))  # fmt: skip
