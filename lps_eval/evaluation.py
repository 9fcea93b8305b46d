"""Evaluate any encoder on a dataset, the way disentanglement_lib does, without TensorFlow.

:func:`evaluate` encodes a dataset in batches (:func:`encode_dataset`), then scores the
codes with :func:`lps_eval.score`: LPS, MMD to the encoder's prior, the independence
companions and, on a factor dataset, the full supervised suite with disentanglement_lib's
study sample sizes (:data:`DLIB_SAMPLE_SIZES`, recorded in ``attrs["evaluation"]``).

The encoder may be

* a trainer run directory (``lps-eval train``): its weights (no pickle), its prior from
  ``config.json``, its image shape checked;
* a ``torch.nn.Module`` (its ``encode`` method when it has one, else ``forward``), or a
  TorchScript file (``torch.jit.save``);
* any Python function from images to codes.

It receives float32 images (n, C, H, W) in [0, 1] and must return codes (n, d), or a pair
``(mean, logvar)`` for a Gaussian encoder (a VAE). For VAEs the mean and a sampled
representation and the per-dimension KL to N(0, I) are kept (:class:`Representations`),
saved with ``save=`` and usable: ``representation="sampled"``, ``active_only=True``
(dimensions whose mean KL exceeds ``active_threshold`` nats), and UDR-style comparisons.

Interventional metrics: on a factor dataset the whole grid is encoded by default, so
drawing rows that share a factor value is exactly the intervention of
disentanglement_lib's samplers (each image's code is computed once instead of once per
draw). With ``max_images`` a seeded uniform subset is encoded instead, and the metrics
condition within it (recorded as ``full_grid: false``).
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lps_eval._validation import LpsInputError, check_positive_int

__all__ = [
    "DLIB_SAMPLE_SIZES",
    "Encoder",
    "Representations",
    "as_encoder",
    "encode_dataset",
    "evaluate",
]

#: disentanglement_lib's unsupervised_study_v1 sample sizes per metric (REFERENCE.md s. 4).
DLIB_SAMPLE_SIZES: dict[str, dict[str, Any]] = {
    "beta_vae": {"batch_size": 64, "num_train": 10000, "num_eval": 5000},
    "factor_vae": {
        "batch_size": 64,
        "num_train": 10000,
        "num_eval": 5000,
        "num_variance_estimate": 10000,
        "prune_threshold": 0.05,
    },
    "mig": {"num_train": 10000, "n_bins": 20},
    "sap": {"num_train": 10000, "num_test": 5000},
    "dci": {"num_train": 10000, "num_test": 5000},
    "modularity_explicitness": {"num_train": 10000, "num_test": 5000, "n_bins": 20},
    "irs": {"num_train": 10000, "diff_quantile": 0.99, "n_bins": 20},
}

#: Objectives of the reference trainer whose encoder is a Gaussian posterior.
STOCHASTIC_OBJECTIVES = frozenset(
    {"kl", "vae", "beta_vae", "beta_tcvae", "tcvae", "factor_vae", "factorvae", "dip_vae"}
)
#: Suffixes read as TorchScript files.
TORCHSCRIPT_SUFFIXES = (".pt", ".pth", ".ts", ".jit", ".ptl")


@dataclass
class Encoder:
    """A callable from images (n, C, H, W) to ``(mean, logvar or None)`` with what is known
    about it (its prior, the image shape it was trained on, its training dataset)."""

    function: Callable[[np.ndarray], Any]
    description: str
    prior: Any = None
    image_shape: tuple[int, int, int] | None = None
    dataset: str | None = None
    stochastic: bool | None = None  # None: decided by what it returns

    def __call__(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        out = self.function(images)
        mean, logvar = _split(out, images.shape[0], self.description)
        if self.stochastic is False:
            logvar = None
        return mean, logvar


def _as_array(value: Any, n: int, what: str) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise LpsInputError(f"{what} returned {arr.dtype} values; it must return numbers")
    if arr.ndim == 1 and n == arr.shape[0]:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n:
        raise LpsInputError(
            f"{what} returned shape {arr.shape} for {n} images; it must return codes of shape "
            f"({n}, d) (flatten them, or return the mean)"
        )
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        raise LpsInputError(f"{what} returned NaN or inf codes; check the model and its inputs")
    return arr


def _split(out: Any, n: int, what: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Codes, or ``(mean, logvar)``: the two output forms an encoder may have."""
    if isinstance(out, (tuple, list)):
        if len(out) != 2:
            raise LpsInputError(
                f"{what} returned {len(out)} outputs; return codes (n, d) or (mean, logvar)"
            )
        mean, logvar = _as_array(out[0], n, what), _as_array(out[1], n, f"{what} (logvar)")
        if mean.shape != logvar.shape:
            raise LpsInputError(
                f"{what} returned mean {mean.shape} and logvar {logvar.shape}; they must match"
            )
        return mean, logvar
    return _as_array(out, n, what), None


def _torch_function(module: Any, device: str) -> Callable[[np.ndarray], Any]:
    import torch

    target = module.encode if hasattr(module, "encode") else module

    def call(images: np.ndarray) -> Any:
        with torch.no_grad():
            return target(torch.as_tensor(images, device=device))

    return call


def _run_encoder(path: Path, device: str) -> Encoder:
    from lps_eval.train import load_model

    model, config = load_model(path, device=device)
    objective = str(config.get("objective", "")).lower()
    stochastic = bool(config.get("stochastic", objective in STOCHASTIC_OBJECTIVES))
    shape = tuple(config.get("architecture", {}).get("image_shape", ())) or None
    return Encoder(
        _torch_function(model, device),
        description=f"run {path}",
        prior=config.get("prior_spec") or "gaussian",
        image_shape=shape,
        dataset=config.get("dataset"),
        stochastic=stochastic,
    )


def _script_encoder(path: Path, device: str) -> Encoder:
    import torch

    try:
        module = torch.jit.load(str(path), map_location=device)
    except (RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise LpsInputError(
            f"{path} is not a TorchScript file ({first}); save the encoder with "
            "torch.jit.save(torch.jit.script(model), PATH), or pass the nn.Module in Python"
        ) from None
    module.eval()
    return Encoder(_torch_function(module, device), description=f"TorchScript {path}")


def _import_function(spec: str) -> Encoder:
    module_name, _, attr = spec.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise LpsInputError(
            f"cannot import encoder {spec!r} ({exc}); write MODULE:FUNCTION with MODULE on "
            "the Python path"
        ) from None
    if not callable(function):
        raise LpsInputError(f"{spec} is not callable; name a function from images to codes")
    return Encoder(function, description=f"function {spec}")


def as_encoder(obj: Any, *, device: str = "cpu") -> Encoder:
    """An :class:`Encoder` from a run directory, TorchScript file, ``MODULE:FUNCTION``,
    ``torch.nn.Module`` or a Python callable (see the module docstring)."""
    if isinstance(obj, Encoder):
        return obj
    if isinstance(obj, (str, Path)):
        path = Path(obj)
        if path.is_dir():
            return _run_encoder(path, device)
        if path.suffix.lower() in TORCHSCRIPT_SUFFIXES and path.is_file():
            return _script_encoder(path, device)
        if ":" in str(obj) and not path.exists():
            return _import_function(str(obj))
        raise LpsInputError(
            f"encoder {obj!r} is neither a run directory, a TorchScript file "
            f"({', '.join(TORCHSCRIPT_SUFFIXES)}) nor MODULE:FUNCTION"
        )
    if type(obj).__module__.startswith("torch") or hasattr(obj, "state_dict"):
        if hasattr(obj, "eval"):
            obj.eval()
        return Encoder(_torch_function(obj, device), description=type(obj).__name__)
    if callable(obj):
        return Encoder(obj, description=getattr(obj, "__name__", type(obj).__name__))
    raise LpsInputError(
        f"cannot use {type(obj).__name__} as an encoder; pass a run directory, an nn.Module, "
        "a TorchScript file or a function from images (n, C, H, W) to codes (n, d)"
    )


@dataclass
class Representations:
    """Codes of a dataset's images: the mean and, for Gaussian encoders, more.

    Attributes
    ----------
    dataset : str
    index : int64 (n,)
        Image indices encoded (sorted).
    factors : int64 (n, n_factors) or None
    factor_names : list of str or None
    mean : float32 (n, d)
        The codes (the posterior mean of a VAE).
    logvar, sampled : float32 (n, d) or None
        Log-variance and one draw ``mean + exp(logvar / 2) * eps`` (seeded).
    kl_per_dim : float64 (d,) or None
        Mean over the images of ``0.5 (mu^2 + sigma^2 - log sigma^2 - 1)``, the KL to
        N(0, 1) per dimension, in nats.
    settings : dict
    """

    dataset: str
    index: np.ndarray
    factors: np.ndarray | None
    factor_names: list[str] | None
    mean: np.ndarray
    logvar: np.ndarray | None = None
    sampled: np.ndarray | None = None
    kl_per_dim: np.ndarray | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def active_dims(self, threshold: float = 0.01) -> np.ndarray:
        """Dimensions whose mean KL exceeds ``threshold`` nats (all when no KL is known)."""
        if self.kl_per_dim is None:
            return np.arange(self.mean.shape[1])
        return np.flatnonzero(self.kl_per_dim > threshold)

    def save(self, path: str | Path) -> Path:
        """Write an ``.npz`` (plain arrays and a JSON string: loadable without pickle)."""
        arrays: dict[str, np.ndarray] = {"z_mean": self.mean, "index": self.index}
        for key, value in (
            ("z_logvar", self.logvar),
            ("z_sampled", self.sampled),
            ("kl_per_dim", self.kl_per_dim),
            ("factors", self.factors),
        ):
            if value is not None:
                arrays[key] = value
        if self.factor_names is not None:
            arrays["factor_names"] = np.array(self.factor_names, dtype=str)
        meta = {"dataset": self.dataset, "settings": self.settings}
        arrays["meta"] = np.array(json.dumps(meta, default=str))
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Representations:
        """Read what :meth:`save` wrote (``allow_pickle=False``)."""
        with np.load(path, allow_pickle=False) as data:
            get = {k: data[k] for k in data.files}
        meta = json.loads(str(get["meta"]))
        names = get.get("factor_names")
        return cls(
            dataset=meta["dataset"],
            index=get["index"],
            factors=get.get("factors"),
            factor_names=None if names is None else [str(n) for n in names],
            mean=get["z_mean"],
            logvar=get.get("z_logvar"),
            sampled=get.get("z_sampled"),
            kl_per_dim=get.get("kl_per_dim"),
            settings=meta.get("settings", {}),
        )


def _source(dataset: Any, data_dir: Any) -> Any:
    from lps_eval.data import ImageSource, get_dataset

    if isinstance(dataset, ImageSource):
        return dataset
    if not isinstance(dataset, str):
        raise LpsInputError(f"dataset must be a name or an ImageSource, got {dataset!r}")
    return get_dataset(dataset, data_dir=data_dir)


def _rows_to_encode(source: Any, max_images: int | None, seed: int) -> np.ndarray:
    if max_images is None or max_images >= source.n_images:
        return np.arange(source.n_images)
    max_images = check_positive_int(max_images, name="max_images", minimum=10)
    rng = np.random.default_rng([seed, 0x656E63])  # its own stream: "enc"
    return np.sort(rng.choice(source.n_images, size=max_images, replace=False))


def _encode_batches(enc: Encoder, source: Any, index: np.ndarray, batch_size: int, progress: bool):
    from tqdm.auto import tqdm

    means, logvars = [], []
    bar = tqdm(
        total=index.size, desc=f"encode {source.name}", unit="img", file=sys.stderr,
        disable=not progress, mininterval=1.0,
    )  # fmt: skip
    with bar:
        for lo in range(0, index.size, batch_size):
            mean, logvar = enc(source.images(index[lo : lo + batch_size]))
            if means and mean.shape[1] != means[0].shape[1]:
                raise LpsInputError(
                    f"{enc.description} returned {mean.shape[1]} dimensions for one batch and "
                    f"{means[0].shape[1]} for another; it must return a fixed d"
                )
            means.append(mean)
            if logvar is not None:
                logvars.append(logvar)
            bar.update(mean.shape[0])
    if logvars and len(logvars) != len(means):
        raise LpsInputError(f"{enc.description} returned (mean, logvar) for some batches only")
    return np.concatenate(means), (np.concatenate(logvars) if logvars else None)


def encode_dataset(
    encoder: Any,
    dataset: Any,
    *,
    data_dir: str | Path | None = None,
    max_images: int | None = None,
    batch_size: int = 256,
    seed: int = 0,
    progress: bool = False,
    device: str = "cpu",
) -> Representations:
    """Encode a dataset's images in batches (see the module docstring).

    Parameters
    ----------
    encoder : run directory, nn.Module, TorchScript file, ``MODULE:FUNCTION`` or callable
    dataset : str or ImageSource
        A registered name (``lps-eval data list``) or a source.
    max_images : int, optional
        Encode a seeded uniform subset of this many images (default: all of them).
    batch_size : int, default 256
    seed : int, default 0
        Seeds the subset and the sampled representation.
    progress : bool
        Progress bar on stderr.
    """
    enc = as_encoder(encoder, device=device)
    source = _source(dataset, data_dir)
    batch_size = check_positive_int(batch_size, name="batch_size")
    if enc.image_shape is not None and tuple(enc.image_shape) != tuple(source.image_shape):
        raise LpsInputError(
            f"{enc.description} was trained on images {tuple(enc.image_shape)} (C, H, W) but "
            f"dataset {source.name!r} has {tuple(source.image_shape)}; evaluate it on a dataset "
            "of its own image shape"
        )
    index = _rows_to_encode(source, max_images, seed)
    tick = time.perf_counter()
    mean, logvar = _encode_batches(enc, source, index, batch_size, progress)
    seconds = time.perf_counter() - tick
    sampled = kl = None
    if logvar is not None:
        noise = np.random.default_rng([seed, 0x736D70]).standard_normal(mean.shape)
        sampled = (mean + np.exp(0.5 * logvar) * noise).astype(np.float32)
        kl = 0.5 * np.mean(mean.astype(np.float64) ** 2 + np.exp(logvar) - logvar - 1.0, axis=0)
    factors = source.factors(index)
    names = None if source.factor_names is None or factors is None else list(source.factor_names)
    grid = getattr(source, "grid", None)
    settings = {
        "encoder": enc.description,
        "n_images_dataset": int(source.n_images),
        "n_images_encoded": int(index.size),
        "full_grid": bool(grid is not None and index.size == grid.n_cells),
        "max_images": max_images,
        "batch_size": batch_size,
        "seed": seed,
        "encode_seconds": seconds,
        "images_per_second": index.size / seconds if seconds > 0 else None,
        "stochastic": logvar is not None,
        "trained_on": enc.dataset,
    }
    return Representations(source.name, index, factors, names, mean, logvar, sampled, kl, settings)


def _with_study_sizes(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The user's options plus disentanglement_lib's sample sizes where the user set none,
    and the sizes in effect per metric (what is recorded)."""
    from lps_eval.metrics import metric_specs

    specs = metric_specs()
    merged = dict(options)
    used: dict[str, dict[str, Any]] = {}
    for metric, sizes in DLIB_SAMPLE_SIZES.items():
        if metric not in specs:
            continue
        known = specs[metric].options()
        given = options.get(metric) if isinstance(options.get(metric), dict) else {}
        for key, value in sizes.items():
            if key not in known:
                continue
            dotted = f"{metric}.{key}"
            if key in given:
                value = given[key]
            elif dotted in options:
                value = options[dotted]
            else:
                merged[dotted] = value
            used.setdefault(metric, {})[key] = value
    return merged, used


def _kl_rows(reps: Representations, threshold: float, kept: np.ndarray) -> list[dict[str, Any]]:
    from lps_eval.results import make_row

    if reps.kl_per_dim is None:
        return []
    rows = [make_row("kl", float(reps.kl_per_dim.sum()), definition="sum over dims, nats")]
    rows += [make_row("kl", float(v), scope="dim", dim=j) for j, v in enumerate(reps.kl_per_dim)]
    rows.append(make_row("active_dims", float(kept.size), threshold=threshold))
    return rows


# long: one place that turns the options into the scored table and its record
def evaluate(
    encoder: Any,
    dataset: Any,
    *,
    data_dir: str | Path | None = None,
    representation: str = "mean",
    active_only: bool = False,
    active_threshold: float = 0.01,
    max_images: int | None = None,
    batch_size: int = 256,
    seed: int = 0,
    metrics: Any = None,
    prior: Any = None,
    save: str | Path | None = None,
    progress: bool = False,
    device: str = "cpu",
    **options: Any,
) -> pd.DataFrame:
    """Encode ``dataset`` with ``encoder`` and score everything that applies.

    Parameters
    ----------
    encoder : run directory, nn.Module, TorchScript file, ``MODULE:FUNCTION``, callable or
        :class:`Representations` (saved codes: nothing is encoded again)
    dataset : str or ImageSource
        A registered dataset (``lps-eval data list``) or a source.
    data_dir : path, optional
        Where the official files are.
    representation : {"mean", "sampled"}
        Which codes to score; ``sampled`` needs a Gaussian encoder.
    active_only : bool
        Score only the dimensions whose mean KL exceeds ``active_threshold`` nats (needs
        a Gaussian encoder; at least two must remain).
    max_images, batch_size, seed, progress, device
        See :func:`encode_dataset`; ``seed`` also seeds every metric.
    metrics, prior, **options
        As in :func:`lps_eval.score`. ``prior`` defaults to the run's own prior, else
        ``gaussian``. Supervised metrics default to disentanglement_lib's sample sizes
        (:data:`DLIB_SAMPLE_SIZES`); an option given here wins.
    save : path, optional
        Write the :class:`Representations` to this ``.npz``.

    Returns
    -------
    pandas.DataFrame
        :func:`lps_eval.score`'s table plus, for a Gaussian encoder, ``kl`` (overall:
        total; per dimension) and ``active_dims``; ``attrs["evaluation"]`` records the
        dataset, the encoder, the images encoded, ``full_grid``, the representation, the
        active dimensions and the study sample sizes used.
    """
    from lps_eval.scoring import score

    if representation not in ("mean", "sampled"):
        raise LpsInputError(f"representation must be 'mean' or 'sampled', got {representation!r}")
    if isinstance(encoder, Representations):
        reps, enc_prior = encoder, None
    else:
        enc = as_encoder(encoder, device=device)
        reps = encode_dataset(
            enc,
            dataset,
            data_dir=data_dir,
            max_images=max_images,
            batch_size=batch_size,
            seed=seed,
            progress=progress,
            device=device,
        )
        enc_prior = enc.prior
    if (representation == "sampled" or active_only) and reps.logvar is None:
        what = "representation='sampled'" if representation == "sampled" else "active_only"
        raise LpsInputError(
            f"{what} needs a Gaussian encoder (one that returns (mean, logvar)); this one "
            "returns codes only"
        )
    z = reps.sampled if representation == "sampled" else reps.mean
    kept = reps.active_dims(active_threshold)
    if active_only:
        if kept.size < 2:
            raise LpsInputError(
                f"only {kept.size} dimension(s) have KL > {active_threshold} nats; LPS needs 2 "
                "(lower active_threshold or score every dimension)"
            )
        z = z[:, kept]
    if save is not None:
        reps.save(save)
    merged, used = _with_study_sizes(options) if reps.factors is not None else (options, {})
    wanted = None if metrics is None else _names(metrics)
    selection = None if wanted is None else [m for m in wanted if m not in _OWN_ROWS] or None
    table = score(
        z,
        prior=prior if prior is not None else (enc_prior or "gaussian"),
        factors=reps.factors,
        factor_names=reps.factor_names,
        metrics=selection,
        seed=seed,
        progress=progress,
        dim_names=[str(j) for j in (kept if active_only else range(z.shape[1]))],
        **merged,
    )
    attrs = dict(table.attrs)
    extra = _kl_rows(reps, active_threshold, kept)
    if extra and (wanted is None or any(m in _OWN_ROWS for m in wanted)):
        rows = pd.DataFrame(extra)
        rows["dim_name"] = [None if pd.isna(d) else str(d) for d in rows["dim"]]
        table = pd.concat([table, rows], ignore_index=True)
        for col in ("dim", "factor"):
            table[col] = table[col].astype("Int64")
    attrs["evaluation"] = {
        "dataset": reps.dataset,
        **reps.settings,
        "representation": representation,
        "active_only": bool(active_only),
        "active_threshold": active_threshold,
        "active_dims": None if reps.kl_per_dim is None else kept.tolist(),
        "study_sample_sizes": used,
        "study_defaults": "disentanglement_lib unsupervised_study_v1",
    }
    table.attrs = attrs
    return table


#: Rows that :func:`evaluate` adds to :func:`lps_eval.score`'s table.
_OWN_ROWS = ("kl", "active_dims")


def _names(metrics: Any) -> list[str]:
    return [metrics] if isinstance(metrics, str) else list(metrics)
