"""The dataset registry: one :class:`DatasetSpec` per name, read by ``lps-eval data list``,
``lps-eval evaluate --dataset`` and ``lps-eval train --dataset`` alike.

Where files are looked for (:func:`resolve_data_dir`, :func:`locate`): the directory given
(``--data-dir``), else ``$LPS_EVAL_DATA``, else the user cache directory
(``$XDG_CACHE_HOME/lps-eval/data``, by default ``~/.cache/lps-eval/data``). Inside it a
file may sit at the top or in disentanglement_lib's sub-folder (``dsprites/``,
``3dshapes/``, ``mpi3d_toy/``, ``small_norb/``, ``cars/``), and
``$DISENTANGLEMENT_LIB_DATA`` is searched last, so a disentanglement_lib data folder
works as it is.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lps_eval._validation import LpsInputError
from lps_eval.options import did_you_mean

__all__ = [
    "DatasetSpec",
    "RemoteFile",
    "dataset_specs",
    "get_dataset",
    "get_spec",
    "locate",
    "missing_message",
    "register_dataset",
    "resolve_data_dir",
]

#: Environment variable naming the data directory.
DATA_ENV = "LPS_EVAL_DATA"
#: disentanglement_lib's data directory, searched last (its sub-folder layout).
DLIB_ENV = "DISENTANGLEMENT_LIB_DATA"


@dataclass(frozen=True)
class RemoteFile:
    """One published file of a dataset.

    Attributes
    ----------
    filename : str
        Name in the data directory.
    url : str
        The publisher's URL.
    checksum : (algorithm, hex digest) or None
        The checksum *the publisher* gives (None: none is published; never made up).
    alternates : tuple of str
        Other names the same content may have there: the file un-gzipped, or the folder
        an archive unpacks to.
    size : int or None
        Bytes, when the publisher states it.
    """

    filename: str
    url: str
    checksum: tuple[str, str] | None = None
    alternates: tuple[str, ...] = ()
    size: int | None = None


@dataclass(frozen=True)
class DatasetSpec:
    """A registered dataset: what it is, where it comes from, how to load it."""

    name: str
    title: str
    kind: str  # "procedural", "bundled" or "files"
    n_images: int
    image_shape: tuple[int, int, int]
    factors: tuple[tuple[str, int], ...] | None
    licence: str
    source: str
    load: Callable[[dict[str, Path], Path], Any] = field(repr=False)
    files: tuple[RemoteFile, ...] = ()
    dlib_folder: str | None = None
    memory: str = ""
    notes: str = ""

    @property
    def factor_sizes(self) -> tuple[int, ...] | None:
        return None if self.factors is None else tuple(s for _, s in self.factors)

    def checksum_status(self) -> str:
        """``md5:HEX`` per file, or why there is none."""
        if not self.files:
            return "nothing to download"
        out = []
        for f in self.files:
            out.append(
                f"{f.checksum[0]}:{f.checksum[1]}"
                if f.checksum
                else "unverified: no published checksum"
            )
        return "; ".join(dict.fromkeys(out))


_REGISTRY: dict[str, DatasetSpec] = {}


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    """Add ``spec`` to the registry (its name must be new)."""
    if spec.name in _REGISTRY:
        raise ValueError(f"dataset {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def dataset_specs() -> dict[str, DatasetSpec]:
    """Every registered dataset, name -> spec, in registration order.

    The built-ins (:mod:`lps_eval.data.catalog`) are registered when :mod:`lps_eval.data`
    is imported.
    """
    return dict(_REGISTRY)


def get_spec(name: str) -> DatasetSpec:
    """The spec of ``name``; an :class:`LpsInputError` naming the choices otherwise."""
    specs = dataset_specs()
    key = str(name).strip().lower()
    if key not in specs:
        raise LpsInputError(
            f"unknown dataset {name!r}{did_you_mean(key, specs)}; `lps-eval data list` shows "
            f"them: {', '.join(specs)}"
        )
    return specs[key]


def resolve_data_dir(explicit: str | Path | None = None) -> Path:
    """The data directory: ``explicit``, else ``$LPS_EVAL_DATA``, else the user cache."""
    if explicit is not None:
        return Path(explicit).expanduser()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "lps-eval" / "data"


def _candidates(spec: DatasetSpec, name: str, root: Path) -> list[Path]:
    out = [root / name]
    if spec.dlib_folder:
        out.append(root / spec.dlib_folder / name)
    return out


def locate(spec: DatasetSpec, remote: RemoteFile, directory: str | Path | None) -> Path | None:
    """Where ``remote`` (or one of its alternates) is on disk, or None."""
    roots = [resolve_data_dir(directory)]
    if os.environ.get(DLIB_ENV):
        roots.append(Path(os.environ[DLIB_ENV]))
    for root in roots:
        for name in (remote.filename, *remote.alternates):
            for path in _candidates(spec, name, root):
                if path.exists():
                    return path
    return None


def missing_message(spec: DatasetSpec, missing: list[RemoteFile], directory: Path) -> str:
    """One line: which files are missing, where they were looked for, what to do."""
    names = ", ".join(f.filename for f in missing)
    return (
        f"dataset {spec.name!r} needs {names}, not found in {directory}; run `lps-eval data "
        f"download {spec.name} --dir {directory}` or put the file(s) there (source: "
        f"{missing[0].url})"
    )


def get_dataset(name: str, data_dir: str | Path | None = None) -> Any:
    """Load a registered dataset as an :class:`~lps_eval.data.ImageSource`.

    Procedural and bundled datasets need no files; the others read their official files
    from the data directory (see the module docstring); nothing is downloaded here
    (``lps-eval data download NAME`` does that).
    """
    spec = get_spec(name)
    directory = resolve_data_dir(data_dir)
    paths: dict[str, Path] = {}
    missing = []
    for remote in spec.files:
        found = locate(spec, remote, directory)
        if found is None:
            missing.append(remote)
        else:
            paths[remote.filename] = found
    if missing:
        raise LpsInputError(missing_message(spec, missing, directory))
    return spec.load(paths, directory / ".lps-eval-cache")
