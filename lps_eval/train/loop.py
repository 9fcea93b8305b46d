"""``fit``: train one model, encode the evaluation set, write the run directory.

Determinism: every random choice comes from the seed. The numpy
``SeedSequence(seed)`` is split into independent streams for the training batches and
the prior samples; torch's generator (initial weights, reparameterization noise) is
seeded with ``torch.manual_seed(seed)`` and deterministic algorithms are requested. The
evaluation set comes from ``eval_seed`` (default 0) so that models trained with different
seeds are scored on the same images. On the CPU, with the same thread count, two runs
with the same arguments give bit-identical weights and latents.

Checkpoints (:mod:`lps_eval.train.checkpoint`) hold the weights, the Adam state and every
random state (torch, numpy global, python, the batch and prior samplers), so
:func:`resume` continues a run bit-identically; SIGINT/SIGTERM finish the current step,
write a checkpoint and raise :class:`TrainingInterrupted`.
"""

from __future__ import annotations

import math
import random
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lps_eval._validation import LpsInputError, check_positive_int
from lps_eval.train.checkpoint import prepare_run_dir
from lps_eval.train.data import ImageSource, make_source
from lps_eval.train.encoding import encode_images, nmse_db
from lps_eval.train.monitor import EVAL_COLUMNS

__all__ = [
    "TrainResult",
    "TrainingInterrupted",
    "encode",
    "encode_images",
    "fit",
    "nmse_db",
    "require_torch",
    "resolve_device",
    "resume",
]


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
        One row per step: ``step, loss, recon, reg, seconds`` (cumulative training time),
        plus ``lps_linear, lps_hgb, mmd2, nmse_db, eval_seconds`` at the in-training
        evaluation steps (NaN elsewhere).
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


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM stopped training after a checkpoint was written.

    Attributes
    ----------
    signum : int
        The signal (``signal.SIGINT`` or ``signal.SIGTERM``).
    step : int
        The last completed step (saved in the checkpoint).
    run_dir : Path or None
        Where the checkpoint is (None when ``fit`` had no ``out``).
    """

    def __init__(self, signum: int, step: int, run_dir: Path | None) -> None:
        self.signum = int(signum)
        self.step = int(step)
        self.run_dir = run_dir
        where = (
            f"checkpoint written to {run_dir}; resume with: lps-eval train --resume {run_dir}"
            if run_dir is not None
            else "nothing was saved (no output directory)"
        )
        super().__init__(f"training interrupted at step {step}; {where}")


class _SignalGuard:
    """Turns SIGINT/SIGTERM into a flag the loop checks after each step.

    Installed only in the main thread and only while a run directory exists to hold the
    checkpoint; a second signal of the same kind falls through to the previous handler.
    """

    def __init__(self, active: bool) -> None:
        self.active = active and threading.current_thread() is threading.main_thread()
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:  # second signal: stop waiting for the step to finish
            previous = self._previous.get(signum)
            if callable(previous):
                previous(signum, frame)
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self) -> _SignalGuard:
        if self.active:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)


def _rng_state(data_rng: np.random.Generator, prior_rng: np.random.Generator) -> dict[str, Any]:
    """Every random state training depends on, as plain types and tensors (no pickled objects)."""
    import torch

    _, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002 (saved, not used)
    version, internal, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy_data": data_rng.bit_generator.state,
        "numpy_prior": prior_rng.bit_generator.state,
        "numpy_global": {
            "keys": torch.as_tensor(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": {"version": version, "internal": list(internal), "gauss": gauss},
    }


def _set_rng_state(
    state: dict[str, Any], data_rng: np.random.Generator, prior_rng: np.random.Generator
) -> None:
    import torch

    torch.set_rng_state(state["torch"])
    data_rng.bit_generator.state = state["numpy_data"]
    prior_rng.bit_generator.state = state["numpy_prior"]
    g = state["numpy_global"]
    keys = g["keys"].numpy().astype(np.uint32)
    legacy = ("MT19937", keys, g["pos"], g["has_gauss"], g["cached"])
    np.random.set_state(legacy)  # noqa: NPY002 (restored for code outside the trainer)
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss"]))


_LOG_COLUMNS = ["step", "loss", "recon", "reg", "seconds"]


def _history_frame(rows: list[list[float]], evals: list[dict[str, float]]) -> pd.DataFrame:
    """Per-step log with the in-training evaluations joined on ``step`` (NaN elsewhere)."""
    frame = pd.DataFrame(np.asarray(rows, dtype=np.float64).reshape(-1, 5), columns=_LOG_COLUMNS)
    frame["step"] = frame["step"].astype(np.int64)
    ev = pd.DataFrame(evals, columns=["step", *EVAL_COLUMNS])
    ev["step"] = ev["step"].astype(np.int64)
    return frame.merge(ev, on="step", how="left")


def require_torch() -> None:
    """Raise ImportError naming the ``torch`` extra when PyTorch is not installed."""
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "lps_eval.train needs PyTorch; install it with `pip install 'lps-eval[torch]'`"
        ) from exc


def _check_settings(s: dict[str, Any]) -> dict[str, Any]:
    """Validate hyperparameters; one clear LpsInputError for the first bad one."""
    for name in ("steps", "latent_dim", "width", "hidden"):
        s[name] = check_positive_int(s[name], name=name)
    s["batch_size"] = check_positive_int(s["batch_size"], name="batch_size", minimum=2)
    s["eval_size"] = check_positive_int(s["eval_size"], name="eval_size", minimum=2)
    s["eval_subset"] = check_positive_int(s["eval_subset"], name="eval_subset", minimum=20)
    for name in ("seed", "eval_seed", "checkpoint_every"):
        s[name] = check_positive_int(s[name], name=name, minimum=0)
    if s["eval_every"] is None:
        s["eval_every"] = max(1, s["steps"] // 10)
    s["eval_every"] = check_positive_int(s["eval_every"], name="eval_every", minimum=0)
    if s["num_threads"] is not None:
        s["num_threads"] = check_positive_int(s["num_threads"], name="num_threads")
    lr = s["lr"]
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and 0 < lr <= 1):
        raise LpsInputError(f"lr must be a number in (0, 1], got {lr}")
    budget = s["eval_budget"]
    if not (isinstance(budget, (int, float)) and budget >= 0 and not math.isnan(budget)):
        raise LpsInputError(f"eval_budget must be a fraction >= 0 (inf = no bound), got {budget}")
    s["lr"], s["eval_budget"] = float(lr), float(budget)
    return s


def _objective(s: dict[str, Any], prior: Any, rng: np.random.Generator) -> Any:
    """The objective of the settings ``s`` (one place that maps settings to its options)."""
    from lps_eval.train.objectives import make_objective

    return make_objective(
        s["objective"],
        latent_dim=s["latent_dim"],
        prior=prior,
        mmd_weight=s["mmd_weight"],
        kernel=s["kernel"],
        beta=s["beta"],
        recon=s["recon"],
        recon_reduction=s["recon_reduction"],
        rng=rng,
    )


def _validate_objective(s: dict[str, Any], prior: Any) -> None:
    _objective(s, prior, np.random.default_rng(0))


def fit(
    dataset: str | np.ndarray | ImageSource = "dsprites",
    *,
    objective: str = "mmd",
    prior: Any = "gaussian",
    latent_dim: int = 5,
    preset: str | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    mmd_weight: float = 0.3,
    kernel: str = "rbf_multiscale",
    beta: float = 1.0,
    recon: str = "bce",
    recon_reduction: str | None = None,
    width: int | None = None,
    hidden: int | None = None,
    eval_size: int | None = None,
    eval_seed: int = 0,
    eval_every: int | None = None,
    eval_subset: int | None = None,
    eval_budget: float | None = None,
    checkpoint_every: int | None = None,
    seed: int = 0,
    device: str = "auto",
    num_threads: int | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
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
    preset : {"cpu", "paper"}, optional
        Fills every size/budget argument left as None (see :mod:`lps_eval.train.presets`):
        ``cpu`` = batch 64, width 16, hidden 128, 3000 steps, one thread (minutes on a
        laptop); ``paper`` = batch 512, width 32, hidden 256 (a GPU). Explicit arguments
        win; without a preset the defaults are batch 512, width 32, hidden 256, 5000 steps.
    steps : int
        Optimizer steps; each draws a fresh batch (and fresh prior samples).
    batch_size : int
    lr : float
        Adam learning rate (default 5e-4, the paper's value); must lie in (0, 1].
    mmd_weight : float, default 0.3
        lambda of the paper.
    kernel : str, default "rbf_multiscale"
        Kernel of :func:`lps_eval.prior_matching.mmd2` (RBF at {0.5, 1, 2} x median distance).
    beta : float, default 1.0
    recon : {"bce", "mse"}, default "bce"
    recon_reduction : {"mean", "sum"}, optional
        Pixel reduction of the reconstruction term (default mean for ae/mmd, sum for kl).
    width, hidden : int
        Architecture size (see :class:`~lps_eval.train.models.ConvAutoencoder`).
    eval_size : int
        Images in the evaluation set encoded into ``latents.npz`` (default 10000).
    eval_seed : int, default 0
        Seed of the evaluation set (shared across training seeds).
    eval_every : int
        In-training evaluation (LPS linear and hgb, MMD^2, NMSE on ``eval_subset``
        images; see :mod:`lps_eval.train.monitor`) every this many steps; 0 = only at the
        end; default ``steps // 10``.
    eval_subset : int
        Images of the in-training evaluation (a fixed subset of the evaluation set).
    eval_budget : float
        Evaluations are skipped when they would exceed this fraction of training time
        (default 0.10; ``inf`` = never skip).
    checkpoint_every : int
        Write ``checkpoint.pt`` every this many steps (0 = only at the end and on a signal).
    seed : int, default 0
    device : {"auto", "cpu", "cuda"}, default "auto"
    num_threads : int, optional
        ``torch.set_num_threads`` for CPU training (default: torch's choice).
    out : path, optional
        Run directory to write (see :mod:`lps_eval.train.checkpoint`); nothing is written
        when None. A non-empty directory is refused unless ``overwrite``.
    overwrite : bool, default False
        Replace the trainer's files in a non-empty ``out`` (nothing else there is touched).
    progress : bool, default True
        tqdm progress bar on stderr (steps/s and time left).

    Returns
    -------
    TrainResult

    Raises
    ------
    TrainingInterrupted
        On SIGINT/SIGTERM (when ``out`` is set): a checkpoint was written first; continue
        with :func:`resume`.
    """
    from lps_eval.train.presets import resolve_settings

    require_torch()
    settings = resolve_settings(
        preset,
        {
            "steps": steps,
            "batch_size": batch_size,
            "lr": lr,
            "width": width,
            "hidden": hidden,
            "eval_size": eval_size,
            "eval_every": eval_every,
            "eval_subset": eval_subset,
            "eval_budget": eval_budget,
            "checkpoint_every": checkpoint_every,
            "num_threads": num_threads,
        },
    )
    settings.update(
        preset=preset,
        objective=objective,
        latent_dim=latent_dim,
        mmd_weight=mmd_weight,
        kernel=kernel,
        beta=beta,
        recon=recon,
        recon_reduction=recon_reduction,
        eval_seed=eval_seed,
        seed=seed,
    )
    settings = _check_settings(settings)
    source = make_source(dataset)
    dataset_name = str(dataset) if isinstance(dataset, (str, Path)) else source.name
    _validate_objective(settings, prior)  # refuse bad input before touching `out`
    run_dir = None
    if out is not None:
        run_dir = prepare_run_dir(out, overwrite=overwrite)
    return _train(
        source,
        dataset_name=dataset_name,
        prior=prior,
        settings=settings,
        device=device,
        run_dir=run_dir,
        checkpoint=None,
        progress=progress,
    )


def resume(
    run_dir: str | Path,
    *,
    steps: int | None = None,
    dataset: str | np.ndarray | ImageSource | None = None,
    prior: Any = None,
    device: str | None = None,
    progress: bool = True,
) -> TrainResult:
    """Continue an interrupted (or finished) run from its ``checkpoint.pt``.

    The run's recorded settings are used; on the CPU with the same thread count the
    result is bit-identical to an uninterrupted run of the same length.

    Parameters
    ----------
    run_dir : path
        A directory written by :func:`fit` / ``lps-eval train``.
    steps : int, optional
        New total step count (default: the recorded one); may extend a finished run but
        not go below the checkpoint's step.
    dataset, prior : optional
        Needed only when the run was trained on an in-memory array or a prior object
        (which ``config.json`` cannot hold).
    device : str, optional
        Default: the recorded device.
    """
    from lps_eval.train.checkpoint import load_checkpoint, read_config

    require_torch()
    run_dir = prepare_run_dir(run_dir, resume=True)
    config = read_config(run_dir)
    checkpoint = load_checkpoint(run_dir)
    settings = dict(config["settings"])
    done = int(checkpoint["step"])
    if steps is not None:
        settings["steps"] = steps
    settings = _check_settings(settings)
    if settings["steps"] < done:
        raise LpsInputError(
            f"{run_dir} is already at step {done}; --steps {settings['steps']} would go back"
        )
    if dataset is None:
        if not config.get("dataset_resumable", True):
            raise LpsInputError(
                f"{run_dir} was trained on an in-memory array; pass dataset= to resume it"
            )
        dataset = config["dataset"]
    if prior is None:
        if not isinstance(config.get("prior_spec"), str):
            raise LpsInputError(
                f"{run_dir} was trained with a prior object; pass prior= to resume it"
            )
        prior = config["prior_spec"]
    source = make_source(dataset)
    return _train(
        source,
        dataset_name=config["dataset"],
        prior=prior,
        settings=settings,
        device=device or config.get("device", "auto"),
        run_dir=run_dir,
        checkpoint=checkpoint,
        progress=progress,
        resumed_from=[*config.get("resumed_from", []), done],
    )


def _train(
    source: ImageSource,
    *,
    dataset_name: str,
    prior: Any,
    settings: dict[str, Any],
    device: str,
    run_dir: Path | None,
    checkpoint: dict[str, Any] | None,
    progress: bool,
    resumed_from: list[int] | None = None,
) -> TrainResult:
    import torch

    from lps_eval.train.checkpoint import (
        save_checkpoint,
        save_run,
        write_config,
        write_history,
    )
    from lps_eval.train.models import ConvAutoencoder
    from lps_eval.train.monitor import EvalMonitor

    s = settings
    device = resolve_device(device)
    data_seq, prior_seq = np.random.SeedSequence(s["seed"]).spawn(2)
    data_rng = np.random.default_rng(data_seq)
    prior_rng = np.random.default_rng(prior_seq)
    obj = _objective(s, prior, prior_rng)
    index = source.eval_index(s["eval_size"], np.random.default_rng(s["eval_seed"]))
    # the in-training subset: a fixed random part of the evaluation set (which is sorted
    # by dataset index, i.e. by shape first, so its first rows are not a random sample)
    sub_rng = np.random.default_rng([s["eval_seed"], 1])
    sub = np.sort(sub_rng.permutation(index)[: s["eval_subset"]])
    steps = s["steps"]

    config = {
        "dataset": dataset_name,
        "dataset_resumable": isinstance(dataset_name, str)
        and (dataset_name in ("dsprites", "digits") or Path(dataset_name).exists()),
        "prior": prior if isinstance(prior, str) else repr(prior),
        "prior_spec": prior if isinstance(prior, str) else None,
        **{k: s[k] for k in ("objective", "latent_dim", "steps", "batch_size", "lr")},
        "mmd_weight": obj.mmd_weight,
        "kernel": s["kernel"],
        "mmd_estimator": obj.estimator,
        "beta": obj.beta,
        "recon": obj.recon,
        "recon_reduction": obj.recon_reduction,
        "width": s["width"],
        "hidden": s["hidden"],
        "eval_size": int(index.size),
        "eval_seed": s["eval_seed"],
        "seed": s["seed"],
        "preset": s["preset"],
        "device": device,
        "num_threads": s["num_threads"] or torch.get_num_threads(),
        "architecture": {
            "name": "ConvAutoencoder",
            "image_shape": list(source.image_shape),
            "latent_dim": s["latent_dim"],
            "width": s["width"],
            "hidden": s["hidden"],
        },
        "factor_names": None if source.factor_names is None else list(source.factor_names),
        "settings": {**s, "num_threads": s["num_threads"]},
        "resumed_from": resumed_from or [],
        "versions": _versions(),
    }
    if run_dir is not None:
        write_config(run_dir, config)

    with _torch_settings(s["num_threads"]), _SignalGuard(run_dir is not None) as guard:
        torch.manual_seed(s["seed"])
        model = ConvAutoencoder(
            source.image_shape, s["latent_dim"], width=s["width"], hidden=s["hidden"]
        ).to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=s["lr"])
        monitor = EvalMonitor(
            _eval_images(source, sub),
            prior=obj.prior if obj.prior is not None else "gaussian",
            every=s["eval_every"],
            budget=s["eval_budget"],
            hgb_rows=s["eval_subset"],
            seed=s["eval_seed"],
            device=device,
        )
        rows: list[list[float]] = []
        done, train_seconds, train_cpu = 0, 0.0, 0.0
        if checkpoint is not None:
            model.load_state_dict(checkpoint["model"])
            optimizer.load_state_dict(checkpoint["optimizer"])
            _set_rng_state(checkpoint["rng"], data_rng, prior_rng)
            done = int(checkpoint["step"])
            train_seconds = float(checkpoint["train_seconds"])
            train_cpu = float(checkpoint.get("train_cpu_seconds", train_seconds))
            rows = checkpoint["history"].tolist()
            names = ["step", *EVAL_COLUMNS]
            monitor.rows = [
                {k: float(v) for k, v in zip(names, r, strict=True)}
                for r in checkpoint["evals"].tolist()
            ]
            monitor.seconds = float(checkpoint["eval_seconds"])
            monitor.cpu_seconds = float(checkpoint.get("eval_cpu_seconds", monitor.seconds))
            monitor.skipped = int(checkpoint["evals_skipped"])

        def snapshot(step: int) -> None:
            if run_dir is None:
                return
            ev = [[r["step"], *(r[c] for c in EVAL_COLUMNS)] for r in monitor.rows]
            save_checkpoint(
                run_dir,
                {
                    "step": step,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "rng": _rng_state(data_rng, prior_rng),
                    "train_seconds": train_seconds,
                    "train_cpu_seconds": train_cpu,
                    "eval_seconds": monitor.seconds,
                    "eval_cpu_seconds": monitor.cpu_seconds,
                    "evals_skipped": monitor.skipped,
                    "history": torch.tensor(rows, dtype=torch.float64).reshape(-1, 5),
                    "evals": torch.tensor(ev, dtype=torch.float64).reshape(
                        -1, 1 + len(EVAL_COLUMNS)
                    ),
                },
            )
            write_history(run_dir, _history_frame(rows, monitor.rows))

        bar = _progress_bar(obj.name, done, steps, progress)
        model.train()
        tick, cpu_tick = time.perf_counter(), time.process_time()
        for step in range(done + 1, steps + 1):
            x = torch.as_tensor(
                source.images(source.sample_index(s["batch_size"], data_rng)), device=device
            )
            loss, parts = obj(model, x)
            if not math.isfinite(parts["loss"]):
                raise FloatingPointError(
                    f"loss became {parts['loss']} at step {step}; lower lr (now {s['lr']}) or "
                    "the regularizer weight"
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            train_seconds += time.perf_counter() - tick
            train_cpu += time.process_time() - cpu_tick
            rows.append([step, parts["loss"], parts["recon"], parts["reg"], train_seconds])
            if monitor.due(step, steps, train_cpu):
                row = monitor.evaluate(model, step)
                bar.set_postfix(
                    loss=f"{parts['loss']:.4g}",
                    lps_hgb=f"{row['lps_hgb']:.3f}",
                    eval=f"{monitor.cpu_seconds / max(train_cpu, 1e-9):.0%}",
                )
            elif step % 50 == 0:
                bar.set_postfix(loss=f"{parts['loss']:.4g}", reg=f"{parts['reg']:.3g}")
            bar.update(1)
            if s["checkpoint_every"] and step % s["checkpoint_every"] == 0 and step < steps:
                snapshot(step)
            if guard.signum is not None:
                bar.close()
                snapshot(step)
                raise TrainingInterrupted(guard.signum, step, run_dir)
            tick, cpu_tick = time.perf_counter(), time.process_time()
        bar.close()
        if done == steps and not monitor.rows:  # resumed an already finished run
            monitor.evaluate(model, steps)
        model = model.eval()
        images = _eval_images(source, index)
        z, x_hat = encode_images(model, images, device=device)
        snapshot(steps)
    nmse = nmse_db(images, x_hat)
    factors = source.factors(index)
    history = _history_frame(rows, monitor.rows)
    model = model.to("cpu")
    result = TrainResult(
        model=model, z=z, factors=factors, history=history, nmse_db=nmse, config=config, index=index
    )
    if run_dir is not None:
        latents: dict[str, np.ndarray] = {"z": z, "index": index}
        if factors is not None:
            latents["factors"] = factors
            latents["factor_names"] = np.array(source.factor_names, dtype=str)
        last = monitor.rows[-1] if monitor.rows else {}
        metrics = {
            "nmse_db": nmse,
            "train_seconds": train_seconds,
            "eval_seconds": monitor.seconds,
            "train_cpu_seconds": train_cpu,
            "eval_cpu_seconds": monitor.cpu_seconds,
            "eval_fraction": monitor.cpu_seconds / train_cpu if train_cpu > 0 else None,
            "eval_fraction_wall": monitor.seconds / train_seconds if train_seconds > 0 else None,
            "evals": len(monitor.rows),
            "evals_skipped": monitor.skipped,
            "final_loss": float(history["loss"].iloc[-5:].mean()),
            "steps": steps,
            "steps_per_second": steps / train_seconds if train_seconds > 0 else None,
            **{f"final_{c}": last.get(c) for c in ("lps_linear", "lps_hgb", "mmd2")},
        }
        result.run_dir = save_run(
            run_dir, model=model, config=config, history=history, latents=latents, metrics=metrics
        )
    return result


def _progress_bar(name: str, done: int, steps: int, enabled: bool) -> Any:
    """tqdm on stderr: steps/s and time left (the ETA counts training only, not evals)."""
    from tqdm.auto import tqdm

    return tqdm(
        total=steps,
        initial=done,
        desc=f"train {name}",
        unit="step",
        file=sys.stderr,
        disable=not enabled,
        mininterval=1.0,
        dynamic_ncols=True,
    )


def _versions() -> dict[str, str]:
    import torch

    from lps_eval._version import __version__

    return {"lps_eval": __version__, "torch": torch.__version__, "numpy": np.__version__}
