"""``fit``: train one model, encode the evaluation set, write the run directory.

Determinism: every random choice comes from the seed. The numpy
``SeedSequence(seed)`` is split into independent streams for the training batches and
the prior samples; torch's generator (initial weights, reparameterization noise) is
seeded with ``torch.manual_seed(seed)`` and deterministic algorithms are requested. The
evaluation set comes from ``eval_seed`` (default 0) so that models trained with different
seeds are scored on the same images. On the CPU, with the same thread count, two runs
with the same arguments give bit-identical weights and latents.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lps_eval._validation import LpsInputError, check_positive_int
from lps_eval.train.data import ImageSource, make_source

__all__ = ["TrainResult", "encode", "encode_images", "fit", "nmse_db", "resolve_device"]


@dataclass
class TrainResult:
    """What :func:`fit` returns.

    Attributes
    ----------
    model : torch.nn.Module
        The trained :class:`~lps_eval.train.models.ConvAutoencoder` (eval mode, on CPU).
    z : ndarray (n_eval, d)
        Latent codes of the evaluation set (the posterior mean for VAEs).
    factors : ndarray (n_eval, n_factors) or None
        Ground-truth factors of the evaluation set, when the dataset has them.
    history : DataFrame
        One row per step: ``step, loss, recon, reg, seconds``.
    nmse_db : float
        Reconstruction NMSE in dB on the evaluation set:
        10 log10(sum ||x - x_hat||^2 / sum ||x||^2), x_hat = sigmoid(decoder(mu(x))).
    config : dict
        Everything needed to reproduce the run (also written to ``config.json``).
    run_dir : Path or None
        Where the run was written (None when ``out`` was not given).
    """

    model: Any
    z: np.ndarray
    factors: np.ndarray | None
    history: pd.DataFrame
    nmse_db: float
    config: dict[str, Any]
    run_dir: Path | None = None
    index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``."""
    import torch

    device = str(device).lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise LpsInputError("device 'cuda' requested but no GPU is visible; use --device cpu")
    if device != "cpu" and not device.startswith("cuda"):
        raise LpsInputError(f"device must be auto, cpu or cuda, got {device!r}")
    return device


def encode_images(
    model: Any, images: np.ndarray, *, device: str = "cpu", batch_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior means and sigmoid reconstructions of ``images`` (float32 N, C, H, W).

    Returns
    -------
    (z, x_hat) : float32 arrays of shapes (N, d) and (N, C, H, W).
    """
    import torch

    model.eval()
    zs, xs = [], []
    with torch.no_grad():
        for start in range(0, images.shape[0], batch_size):
            x = torch.as_tensor(images[start : start + batch_size], device=device)
            mean, _ = model.encode(x)
            zs.append(mean.cpu().numpy())
            xs.append(torch.sigmoid(model.decode(mean)).cpu().numpy())
    return np.concatenate(zs), np.concatenate(xs)


def encode(
    run_dir: str | Path,
    images: Any,
    *,
    key: str | None = None,
    device: str = "cpu",
    batch_size: int = 1024,
) -> np.ndarray:
    """Encode images with a trained run: posterior means (n, d), float32.

    Parameters
    ----------
    run_dir : path
        A directory written by :func:`fit` / ``lps-eval train``.
    images : array (N, H, W) or (N, C, H, W), or a path to a ``.npy``/``.npz`` file
        Same preprocessing as training: uint8 is divided by 255, floats must be in [0, 1].
        The image shape must match the one the model was trained on.
    """
    from lps_eval.train.checkpoint import load_model
    from lps_eval.train.data import from_array, load_images

    device = resolve_device(device)
    model, config = load_model(run_dir, device=device)
    if isinstance(images, (str, Path)):
        images = load_images(images, key=key)
    data = from_array(np.asarray(images), name="images").data
    expected = tuple(config["architecture"]["image_shape"])
    if tuple(data.shape[1:]) != expected:
        raise LpsInputError(
            f"images have shape {tuple(data.shape[1:])} (C, H, W) but the model was trained "
            f"on {expected}; resize the images or train on this shape"
        )
    z, _ = encode_images(model, data, device=device, batch_size=batch_size)
    return z


def nmse_db(x: np.ndarray, x_hat: np.ndarray) -> float:
    """Normalized reconstruction error in dB: 10 log10(sum (x - x_hat)^2 / sum x^2)."""
    x = np.asarray(x, dtype=np.float64)
    err = np.sum((x - np.asarray(x_hat, dtype=np.float64)) ** 2)
    return float(10.0 * math.log10(err / np.sum(x**2)))


def _eval_images(source: ImageSource, index: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Evaluation images rendered chunk by chunk (same result, bounded peak memory)."""
    return np.concatenate(
        [source.images(index[i : i + chunk]) for i in range(0, index.size, chunk)]
    )


@contextmanager
def _torch_settings(num_threads: int | None) -> Iterator[None]:
    """Thread count and deterministic algorithms for one run, restored afterwards."""
    import torch

    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        if num_threads is not None:
            torch.set_num_threads(num_threads)
        torch.use_deterministic_algorithms(True, warn_only=True)
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


def _optimize(
    model: Any,
    obj: Any,
    source: ImageSource,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    data_rng: np.random.Generator,
    device: str,
    progress: bool,
) -> list[dict[str, float]]:
    """Adam steps on fresh batches; one log row per step."""
    import torch
    from tqdm.auto import tqdm

    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    rows = []
    start = time.perf_counter()
    bar = tqdm(
        range(1, steps + 1),
        desc=f"train {obj.name}",
        file=sys.stderr,
        disable=not progress,
        mininterval=1.0,
    )
    model.train()
    for step in bar:
        x = torch.as_tensor(source.images(source.sample_index(batch_size, data_rng)), device=device)
        loss, parts = obj(model, x)
        if not math.isfinite(parts["loss"]):
            raise FloatingPointError(
                f"loss became {parts['loss']} at step {step}; lower lr (now {lr}) or the "
                "regularizer weight"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        rows.append({"step": step, **parts, "seconds": time.perf_counter() - start})
        if step % 50 == 0 or step == steps:
            bar.set_postfix(loss=f"{parts['loss']:.4g}", reg=f"{parts['reg']:.3g}")
    bar.close()
    return rows


def fit(
    dataset: str | np.ndarray | ImageSource = "dsprites",
    *,
    objective: str = "mmd",
    prior: Any = "gaussian",
    latent_dim: int = 5,
    steps: int = 5000,
    batch_size: int = 512,
    lr: float = 5e-4,
    mmd_weight: float = 0.3,
    kernel: str = "rbf_multiscale",
    beta: float = 1.0,
    recon: str = "bce",
    recon_reduction: str | None = None,
    width: int = 32,
    hidden: int = 256,
    eval_size: int = 10000,
    eval_seed: int = 0,
    seed: int = 0,
    device: str = "auto",
    num_threads: int | None = None,
    out: str | Path | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train an AE, AE + MMD (programmable prior) or (beta-)VAE and encode an eval set.

    Parameters
    ----------
    dataset : {"dsprites", "digits"}, path to a ``.npy`` image array, array, or ImageSource
        Training images (see :mod:`lps_eval.train.data`); nothing is downloaded.
    objective : {"ae", "mmd", "kl"}
        Loss (see :mod:`lps_eval.train.objectives`): plain AE; AE + ``mmd_weight`` x
        MMD^2 to ``prior`` (Fruytier et al. 2025); VAE with ``beta`` x KL (``beta=1`` the
        standard VAE, ``beta=4`` the beta-VAE of Higgins et al. 2017).
    prior : str or object, default "gaussian"
        Any prior spec (``gaussian``, ``uniform(-5, 5)``, ``bimodal(5, 1)``,
        ``hybrid(...)``, ``samples:PATH``...) or an object with ``sample(n, d, rng)``.
    latent_dim : int, default 5
    steps : int, default 5000
        Optimizer steps; each draws a fresh batch (and fresh prior samples).
    batch_size : int, default 512
    lr : float, default 5e-4
        Adam learning rate (the paper's value).
    mmd_weight : float, default 0.3
        lambda of the paper.
    kernel : str, default "rbf_multiscale"
        Kernel of :func:`lps_eval.mmd.mmd2` (RBF at {0.5, 1, 2} x median distance).
    beta : float, default 1.0
    recon : {"bce", "mse"}, default "bce"
    recon_reduction : {"mean", "sum"}, optional
        Pixel reduction of the reconstruction term (default mean for ae/mmd, sum for kl).
    width, hidden : int
        Architecture size (see :class:`~lps_eval.train.models.ConvAutoencoder`).
    eval_size : int, default 10000
        Images in the evaluation set encoded into ``latents.npz``.
    eval_seed : int, default 0
        Seed of the evaluation set (shared across training seeds).
    seed : int, default 0
    device : {"auto", "cpu", "cuda"}, default "auto"
    num_threads : int, optional
        ``torch.set_num_threads`` for CPU training (default: torch's choice).
    out : path, optional
        Run directory to write (model.pt, config.json, history.csv, latents.npz,
        metrics.json); nothing is written when None.
    progress : bool, default True
        tqdm progress bar on stderr.

    Returns
    -------
    TrainResult
    """
    import torch

    from lps_eval.train.checkpoint import save_run
    from lps_eval.train.models import ConvAutoencoder
    from lps_eval.train.objectives import make_objective

    steps = check_positive_int(steps, name="steps")
    batch_size = check_positive_int(batch_size, name="batch_size", minimum=2)
    latent_dim = check_positive_int(latent_dim, name="latent_dim")
    eval_size = check_positive_int(eval_size, name="eval_size", minimum=2)
    seed = check_positive_int(seed, name="seed", minimum=0)
    eval_seed = check_positive_int(eval_seed, name="eval_seed", minimum=0)
    if not (np.isfinite(lr) and lr > 0):
        raise LpsInputError(f"lr must be a positive number, got {lr}")
    source = make_source(dataset)
    device = resolve_device(device)
    if num_threads is not None:
        num_threads = check_positive_int(num_threads, name="num_threads")

    data_seq, prior_seq = np.random.SeedSequence(seed).spawn(2)
    data_rng = np.random.default_rng(data_seq)
    prior_rng = np.random.default_rng(prior_seq)
    obj = make_objective(
        objective,
        latent_dim=latent_dim,
        prior=prior,
        mmd_weight=mmd_weight,
        kernel=kernel,
        beta=beta,
        recon=recon,
        recon_reduction=recon_reduction,
        rng=prior_rng,
    )
    start = time.perf_counter()
    with _torch_settings(num_threads):
        torch.manual_seed(seed)
        model = ConvAutoencoder(source.image_shape, latent_dim, width=width, hidden=hidden)
        model = model.to(device)
        rows = _optimize(
            model,
            obj,
            source,
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            data_rng=data_rng,
            device=device,
            progress=progress,
        )
        train_seconds = time.perf_counter() - start
        model = model.eval()
        index = source.eval_index(eval_size, np.random.default_rng(eval_seed))
        images = _eval_images(source, index)
        z, x_hat = encode_images(model, images, device=device)
    nmse = nmse_db(images, x_hat)
    factors = source.factors(index)
    history = pd.DataFrame(rows, columns=["step", "loss", "recon", "reg", "seconds"])
    model = model.to("cpu")

    config = {
        "dataset": str(dataset) if isinstance(dataset, (str, Path)) else source.name,
        "objective": obj.name,
        "prior": prior if isinstance(prior, str) else repr(prior),
        "latent_dim": latent_dim,
        "steps": steps,
        "batch_size": batch_size,
        "lr": float(lr),
        "mmd_weight": obj.mmd_weight,
        "kernel": kernel,
        "mmd_estimator": obj.estimator,
        "beta": obj.beta,
        "recon": obj.recon,
        "recon_reduction": obj.recon_reduction,
        "width": width,
        "hidden": hidden,
        "eval_size": int(index.size),
        "eval_seed": eval_seed,
        "seed": seed,
        "device": device,
        "num_threads": num_threads or torch.get_num_threads(),
        "architecture": {
            "name": "ConvAutoencoder",
            "image_shape": list(source.image_shape),
            "latent_dim": latent_dim,
            "width": width,
            "hidden": hidden,
        },
        "factor_names": None if source.factor_names is None else list(source.factor_names),
        "versions": _versions(),
    }
    result = TrainResult(
        model=model, z=z, factors=factors, history=history, nmse_db=nmse, config=config, index=index
    )
    if out is not None:
        latents: dict[str, np.ndarray] = {"z": z, "index": index}
        if factors is not None:
            latents["factors"] = factors
            latents["factor_names"] = np.array(source.factor_names, dtype=str)
        metrics = {
            "nmse_db": nmse,
            "train_seconds": train_seconds,
            "final_loss": float(history["loss"].iloc[-5:].mean()),
            "steps": steps,
        }
        result.run_dir = save_run(
            out, model=model, config=config, history=history, latents=latents, metrics=metrics
        )
    return result


def _versions() -> dict[str, str]:
    import torch

    from lps_eval import __version__

    return {"lps_eval": __version__, "torch": torch.__version__, "numpy": np.__version__}
