"""Model inputs: what "a list of models" means, in one place.

A *model* is one latent space: an in-memory array, an array file, or a run directory
written by ``lps-eval train``. Every command and function that takes several models
(``score`` sweeps, :func:`lps_eval.compare`, :func:`lps_eval.report`, the CLI) goes
through this module, so they agree on

- **expansion** (:func:`expand_models`): paths, glob patterns (``*``, ``?``, ``[``,
  ``**`` recursive; sorted; a pattern matching nothing is an error), arrays, or a
  mapping ``name -> source``;
- **names** (:func:`default_names`): a run directory's folder name (also for its
  ``latents.npz``), else the file stem, else ``model<i>`` for arrays; names that collide
  grow their parent folders until they are unique (``s0/mmd``, ``s1/mmd``);
- **reading** (:func:`read_model`): a run directory contributes its latents, factors,
  prior and per-dimension KL; a missing path is only an error when it is read, so a
  sweep turns it into an ``error`` row instead of stopping;
- **the run directory's file names** (:data:`LATENTS_FILE` and the others), which the
  trainer imports from here.
"""

from __future__ import annotations

import glob
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError

__all__ = [
    "CHECKPOINT_FILE",
    "CONFIG_FILE",
    "HISTORY_FILE",
    "INCOMPLETE_FILE",
    "LATENTS_FILE",
    "METRICS_FILE",
    "TRAINER_FILES",
    "WEIGHTS_FILE",
    "ModelInput",
    "ModelSpec",
    "default_names",
    "expand_models",
    "has_factors",
    "is_run_dir",
    "peek_rows",
    "read_model",
    "read_run_config",
]

#: Files of a run directory (``lps-eval train --out DIR``); see :mod:`lps_eval.train.checkpoint`.
WEIGHTS_FILE = "model.pt"
CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
LATENTS_FILE = "latents.npz"
METRICS_FILE = "metrics.json"
CHECKPOINT_FILE = "checkpoint.pt"
#: Written first and removed last by the trainer: its presence marks an unfinished run.
INCOMPLETE_FILE = "INCOMPLETE"
#: Every file the trainer writes into a run directory (and the only ones it replaces).
TRAINER_FILES = (
    WEIGHTS_FILE,
    CONFIG_FILE,
    HISTORY_FILE,
    LATENTS_FILE,
    METRICS_FILE,
    CHECKPOINT_FILE,
    INCOMPLETE_FILE,
)

_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class ModelSpec:
    """One model to score, not yet read: a display name and its source.

    Attributes
    ----------
    name : str
        Unique within one call; the ``model`` column of the tables.
    source : Path or array-like
        A file, a run directory, or the latents themselves.
    """

    name: str
    source: Any

    @property
    def is_path(self) -> bool:
        """True when the source is a file or directory (read where it is scored)."""
        return isinstance(self.source, (str, os.PathLike))


@dataclass(frozen=True)
class ModelInput:
    """A model once read: its latents and whatever its source says about it.

    Attributes
    ----------
    name : str
    z : array-like of shape (n_samples, n_dims)
        A ``.npy`` stays memory-mapped.
    factors : numpy.ndarray or None
        Ground-truth factors of a run directory (the dataset's), row for row.
    factor_names : list of str or None
    prior : str or None
        The prior spec the run was trained towards (its ``config.json``).
    kl : numpy.ndarray or None
        Per-dimension KL of a VAE run (mean over the evaluation rows), when saved.
    source : str or None
        Where the latents came from (a path, or the array's type).
    run_dir : Path or None
    """

    name: str
    z: Any
    factors: np.ndarray | None = None
    factor_names: list[str] | None = None
    prior: str | None = None
    kl: np.ndarray | None = None
    source: str | None = None
    run_dir: Path | None = None


def _has_magic(text: str) -> bool:
    return any(ch in text for ch in _GLOB_CHARS)


def expand_models(inputs: Any, *, names: Sequence[str] | None = None) -> list[ModelSpec]:
    """The models named by ``inputs``, each with a unique name, in the order given.

    Parameters
    ----------
    inputs : path, glob pattern, array, or a sequence / mapping of them
        A mapping gives the names itself. Glob patterns expand to their matches in
        sorted order (``**`` matches folders recursively); a pattern that matches nothing
        is an error, so a typo never gives an empty sweep. A plain path is kept as given,
        even if it does not exist: reading it is what fails (an ``error`` row in sweeps).
    names : sequence of str, optional
        Names for the expanded models, one each (default: :func:`default_names`).

    Returns
    -------
    list of ModelSpec

    Raises
    ------
    LpsInputError
        No model, a pattern without a match, a wrong number of names, or a name used twice.
    """
    if isinstance(inputs, Mapping):
        specs = [ModelSpec(str(k), v) for k, v in inputs.items()]
        if names is not None:
            raise LpsInputError(
                "names= cannot be combined with a mapping of models (it names them)"
            )
    else:
        if isinstance(inputs, (str, os.PathLike, ModelInput)) or hasattr(inputs, "shape"):
            inputs = [inputs]
        sources: list[Any] = []
        for entry in inputs:
            if isinstance(entry, (str, os.PathLike)) and _has_magic(os.fspath(entry)):
                pattern = os.fspath(entry)
                matches = sorted(glob.glob(pattern, recursive=True))
                if not matches:
                    raise LpsInputError(
                        f"pattern {pattern!r} matches no file or directory; check the path "
                        "(quote patterns so the shell does not expand them)"
                    )
                sources += [Path(m) for m in matches]
            elif isinstance(entry, (str, os.PathLike)):
                sources.append(Path(entry))
            else:
                sources.append(entry)
        if names is None:
            given = default_names(sources)
        else:
            given = [str(n).strip() for n in names]
            if len(given) != len(sources):
                raise LpsInputError(
                    f"{len(given)} name(s) given for {len(sources)} model(s); give one name per model"
                )
        specs = [ModelSpec(n, s) for n, s in zip(given, sources, strict=True)]
    if not specs:
        raise LpsInputError("no models given; pass at least one file, run directory or array")
    seen = [s.name for s in specs]
    repeated = sorted({n for n in seen if seen.count(n) > 1})
    if repeated:
        raise LpsInputError(
            f"model name(s) used twice: {', '.join(repeated[:5])}; list each model once or "
            "pass unique names (--names a,b,...)"
        )
    return specs


def _name_parts(source: Any) -> list[str] | None:
    """Path components that name a source, most specific last (None: not a path)."""
    if isinstance(source, ModelInput):
        return [source.name]
    if not isinstance(source, (str, os.PathLike)):
        return None
    path = Path(source)
    if path.name == LATENTS_FILE:  # a run's latents: the run is the model
        path = path.parent
    parts = [p for p in path.parts if p not in ("/", "")]
    if not parts:
        return [str(source)]
    parts[-1] = Path(parts[-1]).stem if path.suffix else parts[-1]
    return parts


def default_names(sources: Sequence[Any]) -> list[str]:
    """Short unique names: the run directory or file stem, else ``model<i>``.

    Where two names collide, both grow their parent folders one at a time until every
    name is unique (``runs/s0/mmd/latents.npz`` and ``runs/s1/mmd/latents.npz`` become
    ``s0/mmd`` and ``s1/mmd``); names that stay equal (a run directory and its own
    ``latents.npz``) become the paths as given.
    """
    parts = [_name_parts(s) for s in sources]
    depth = [1] * len(sources)

    def name(i: int) -> str:
        if parts[i] is None:
            return f"model{i}"
        return "/".join(parts[i][-depth[i] :])

    for _ in range(max((len(p) for p in parts if p), default=1)):
        names = [name(i) for i in range(len(sources))]
        clashing = {n for n in names if names.count(n) > 1}
        grow = [i for i, n in enumerate(names) if n in clashing and parts[i] is not None]
        if not grow:
            break
        for i in grow:
            depth[i] = min(depth[i] + 1, len(parts[i]))
    names = [name(i) for i in range(len(sources))]
    # still equal (a run directory and its own latents.npz): the paths as given
    return [
        os.fspath(s) if names.count(n) > 1 and parts[i] is not None else n
        for i, (n, s) in enumerate(zip(names, sources, strict=True))
    ]


def is_run_dir(path: str | os.PathLike) -> bool:
    """True for a directory holding a trainer run's ``latents.npz``."""
    return (Path(path) / LATENTS_FILE).is_file()


def _run_dir_of(path: Path) -> Path | None:
    """The run directory a ``latents.npz`` belongs to (it has a ``config.json``)."""
    return path.parent if (path.parent / CONFIG_FILE).is_file() else None


def read_run_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """A run directory's ``config.json`` as a dict ({} when there is none)."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise LpsInputError(f"could not read {path}: {exc}; restore it from the run") from None
    if not isinstance(config, dict):
        raise LpsInputError(f"{path} must hold a JSON object; restore it from the run")
    return config


def _holds_latents(path: Path) -> bool:
    """An ``.npz`` with a ``z`` member (the trainer's latents file), read from its index."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "z.npy" in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def _from_latents_npz(name: str, path: Path) -> ModelInput:
    from lps_eval.io import load_npz_arrays

    arrays = load_npz_arrays(path)
    if "z" not in arrays:
        raise LpsInputError(f"{path} has no array 'z'; available: {', '.join(arrays) or 'none'}")
    run_dir = _run_dir_of(path)
    config = read_run_config(run_dir) if run_dir is not None else {}
    factors = arrays.get("factors")
    factor_names = arrays.get("factor_names")
    kl = arrays.get("kl")
    return ModelInput(
        name,
        arrays["z"],
        factors=None if factors is None or factors.size == 0 else factors,
        factor_names=None if factor_names is None else [str(v) for v in factor_names],
        prior=config.get("prior"),
        kl=None if kl is None or kl.size == 0 else kl,
        source=str(path),
        run_dir=run_dir,
    )


def read_model(
    spec: ModelSpec | Any, *, key: str | None = None, name: str | None = None
) -> ModelInput:
    """Read one model: an array, an array file, or a trainer run directory.

    Parameters
    ----------
    spec : ModelSpec, ModelInput, path or array-like
    key : str, optional
        Array name inside an ``.npz`` / ``.pt`` file that holds several.
    name : str, optional
        Name of a bare source (default ``"model"``).

    Returns
    -------
    ModelInput
        A run directory (or its ``latents.npz``, or any ``.npz`` holding ``z``) gives its
        latents ``z``, its ``factors`` / ``factor_names``, its per-dimension ``kl`` and its
        prior (``config.json``); any other file must hold one array (``.npy`` is
        memory-mapped).

    Raises
    ------
    LpsInputError
        A missing path, a directory that is not a run, or a file that cannot be read.
    """
    if isinstance(spec, ModelInput):
        return spec
    if not isinstance(spec, ModelSpec):
        spec = ModelSpec(name or "model", spec)
    if isinstance(spec.source, ModelInput):
        return spec.source
    if not spec.is_path:
        return ModelInput(spec.name, spec.source, source=type(spec.source).__name__)
    path = Path(spec.source)
    if path.is_dir():
        if not is_run_dir(path):
            raise LpsInputError(
                f"{path} is a directory without {LATENTS_FILE}; pass an array file or a run "
                "directory written by `lps-eval train`"
            )
        return _from_latents_npz(spec.name, path / LATENTS_FILE)
    if not path.exists():
        raise LpsInputError(f"file not found: {path}; check the path")
    if key is None and path.suffix.lower() == ".npz" and _holds_latents(path):
        return _from_latents_npz(spec.name, path)
    from lps_eval.io import load_array

    return ModelInput(spec.name, load_array(path, key=key), source=str(path))


def has_factors(spec: ModelSpec) -> bool:
    """True when a model's source carries ground-truth factors (a run directory's latents)."""
    if isinstance(spec.source, ModelInput):
        return spec.source.factors is not None
    if not spec.is_path:
        return False
    path = Path(spec.source)
    latents = path / LATENTS_FILE if path.is_dir() else path
    if latents.suffix.lower() != ".npz" or not latents.is_file():
        return False
    try:
        with zipfile.ZipFile(latents) as archive:
            return "factors.npy" in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def peek_rows(spec: ModelSpec, *, key: str | None = None) -> int | None:
    """Number of rows of a model without reading its values (None: it cannot be read).

    ``.npy`` files and ``.npz`` members are sized from their headers; other formats are
    read.
    """
    try:
        if not spec.is_path:
            source = spec.source.z if isinstance(spec.source, ModelInput) else spec.source
            shape = getattr(source, "shape", None)
            return int(shape[0]) if shape else len(source)
        path = Path(spec.source)
        if path.is_dir():
            path = path / LATENTS_FILE
        suffix = path.suffix.lower()
        if suffix == ".npy":
            return int(np.load(path, mmap_mode="r", allow_pickle=False).shape[0])
        if suffix == ".npz":
            member = "z" if key is None and _holds_latents(path) else key
            return _npz_member_rows(path, member)
        return int(read_model(spec, key=key).z.shape[0])
    except (LpsInputError, OSError, ValueError, TypeError, IndexError, zipfile.BadZipFile):
        return None


def _npz_member_rows(path: Path, member: str | None) -> int | None:
    """Rows of one member of an ``.npz``, read from its ``.npy`` header only."""
    from numpy.lib import format as npy_format

    with zipfile.ZipFile(path) as archive:
        members = [n for n in archive.namelist() if n.endswith(".npy")]
        if member is None:
            if len(members) != 1:
                return None
            name = members[0]
        else:
            name = f"{member}.npy"
        with archive.open(name) as handle:
            major, _ = npy_format.read_magic(handle)
            read_header = (
                npy_format.read_array_header_1_0 if major == 1 else npy_format.read_array_header_2_0
            )
            shape, _, _ = read_header(handle)
    return int(shape[0]) if shape else None
