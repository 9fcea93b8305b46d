"""``fit``: train one model, encode the evaluation set, write the run directory.

Determinism: every random choice comes from the seed. The numpy
``SeedSequence(seed)`` is split into independent streams for the training batches and
the prior samples; torch's generator (initial weights, reparameterization noise) is
seeded with ``torch.manual_seed(seed)`` and deterministic algorithms are requested. The
evaluation set comes from ``eval_seed`` (default 0) so that models trained with different
seeds are scored on the same images. On the CPU, with the same thread count, two runs
with the same arguments give bit-identical weights and latents.

Checkpoints (:mod:`lps_eval.train.checkpoint`) hold the weights, the Adam state, an
objective's own networks and every random state (torch, numpy global, python, the batch
and prior samplers), so :func:`resume` continues a run bit-identically. SIGINT/SIGTERM
stop the computation at once, checkpoint the last completed step and raise
:class:`TrainingInterrupted` (:mod:`lps_eval.train.signals`). The steps of one run are
:class:`lps_eval.train.run.TrainingRun`'s.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError, LpsInputWarning
from lps_eval.train.checkpoint import prepare_run_dir
from lps_eval.train.data import ImageSource, make_source
from lps_eval.train.encoding import encode_images, nmse_db
from lps_eval.train.run import (
    TrainingInterrupted,
    TrainingRun,
    TrainResult,
    make_objective_for,
    resolve_device,
)
from lps_eval.train.settings import check_settings, resolve_objective

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


def require_torch() -> None:
    """Raise ImportError naming the ``torch`` extra when PyTorch is not installed."""
    try:
        import torch  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "lps_eval.train needs PyTorch; install it with `pip install 'lps-eval[torch]'`"
        ) from exc


def _note(message: str) -> None:
    """One ``note:`` line on stderr (what the trainer did with a run directory)."""
    print(f"note: {message}", file=sys.stderr, flush=True)


def _validate_objective(s: dict[str, Any], prior: Any, source: ImageSource) -> None:
    """Build the objective once, so that bad settings are refused before ``out`` is touched."""
    make_objective_for(s, prior, np.random.default_rng(0), source.n_images)


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
    lr_schedule: str | None = None,
    objective_params: dict[str, Any] | None = None,
    mmd_weight: float | None = None,
    kernel: str | None = None,
    beta: float | None = None,
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
    data_dir: str | Path | None = None,
) -> TrainResult:
    """Train a model with one of the registered objectives and encode an evaluation set.

    Parameters
    ----------
    dataset : {"dsprites", "digits"}, path to a ``.npy`` image array, array, or ImageSource
        Training images (see :mod:`lps_eval.train.data`); nothing is downloaded.
    objective : str, default "mmd"
        A registered objective (:func:`lps_eval.train.objectives.objective_specs`):
        ``ae``; ``mmd`` (AE + lambda MMD^2 to ``prior``, Fruytier et al. 2025; WAE-MMD);
        ``ae_kld``; ``kl`` (beta-VAE, Higgins et al. 2017); ``beta_tcvae``;
        ``factor_vae``; ``dip_vae_i``; ``dip_vae_ii``; ``annealed_vae``; ``info_vae``.
    prior : str or object, default "gaussian"
        Any prior spec (``gaussian``, ``uniform(-5, 5)``, ``bimodal(5, 1)``,
        ``hybrid(...)``, ``samples:PATH``...) or an object with ``sample(n, d, rng)``.
    latent_dim : int, default 5
    preset : {"cpu", "paper"}, optional
        Fills every size/budget argument left as None (see :mod:`lps_eval.train.presets`):
        ``cpu`` = batch 64, width 16, hidden 128, 6000 steps at lr 1e-3 with cosine decay,
        one thread (minutes on a laptop); ``paper`` = batch 512, width 32, hidden 256 (a GPU). Explicit arguments
        win; without a preset the defaults are batch 512, width 32, hidden 256, 5000 steps.
    steps : int
        Optimizer steps; each draws a fresh batch (and fresh prior samples).
    batch_size : int
    lr : float
        Adam learning rate (default 5e-4, the paper's value); must lie in (0, 1]. With a
        schedule, the peak rate.
    lr_schedule : {"constant", "cosine"}, optional
        :mod:`lps_eval.train.schedules`; default ``constant`` (the ``cpu`` preset:
        ``cosine``, warm-up then decay to lr/20). Recorded in ``config.json``.
    objective_params : dict, optional
        The objective's hyper-parameters (e.g. ``{"beta": 6, "estimator": "mss"}`` for
        ``beta_tcvae``); each objective declares its own, with defaults (``lps-eval
        train --help``, docs/trainer.md). Unknown names are refused.
    mmd_weight, kernel, beta : optional
        Shortcuts for the ``lambda`` and ``kernel`` parameters of ``mmd`` and the ``beta``
        of ``kl`` / ``beta_tcvae`` (the 0.2 keywords; defaults 0.3, "rbf_multiscale", 1).
        Refused for an objective that has no such parameter.
    recon : {"bce", "mse"}, default "bce"
        The likelihood: Bernoulli on logits or squared error.
    recon_reduction : {"mean", "sum"}, optional
        Pixel reduction of the reconstruction term (default mean for autoencoders, sum
        for VAEs).
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
        when None. It is marked ``INCOMPLETE`` until the run finishes. A non-empty
        directory is refused unless ``overwrite``, or unless it holds only an interrupted
        run with no checkpoint and no results (reused, with a ``note:`` line on stderr).
    overwrite : bool, default False
        Replace the trainer's files in a non-empty ``out`` (nothing else there is
        touched). A finished run is replaced only when the new one finishes: the new run
        trains in ``out/.overwrite`` meanwhile, so an interruption keeps the old results.
    progress : bool, default True
        tqdm progress bar on stderr (steps/s and time left).
    data_dir : path, optional
        Where a registered dataset's official files live (``lps-eval data download``);
        default ``$LPS_EVAL_DATA``, else ``~/.cache/lps-eval/data``. Recorded for
        ``resume``.

    Returns
    -------
    TrainResult

    Raises
    ------
    TrainingInterrupted
        On SIGINT/SIGTERM while training computes (when ``out`` is set): the last
        completed step was checkpointed first; continue with :func:`resume`.
    """
    from lps_eval.train.presets import resolve_settings

    require_torch()
    settings = resolve_settings(
        preset,
        {
            "steps": steps,
            "batch_size": batch_size,
            "lr": lr,
            "lr_schedule": lr_schedule,
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
        objective_params=dict(objective_params or {}),
        latent_dim=latent_dim,
        mmd_weight=mmd_weight,
        kernel=kernel,
        beta=beta,
        recon=recon,
        recon_reduction=recon_reduction,
        eval_seed=eval_seed,
        seed=seed,
    )
    settings = resolve_objective(check_settings(settings))
    source = make_source(dataset, data_dir=data_dir)
    dataset_name = str(dataset) if isinstance(dataset, (str, Path)) else source.name
    settings["data_dir"] = None if data_dir is None else str(Path(data_dir).resolve())
    _validate_objective(settings, prior, source)  # refuse bad input before touching `out`
    run_dir = None
    if out is not None:
        run_dir = prepare_run_dir(out, overwrite=overwrite, notify=_note)
    return TrainingRun(
        source,
        dataset_name=dataset_name,
        prior=prior,
        settings=settings,
        device=device,
        run_dir=run_dir,
        checkpoint=None,
        progress=progress,
    ).execute()


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
    run_dir = prepare_run_dir(run_dir, resume=True, notify=_note)
    config = read_config(run_dir)
    checkpoint = load_checkpoint(run_dir)
    settings = dict(config["settings"])
    done = int(checkpoint["step"])
    if steps is not None:
        _warn_if_schedule_changes(settings, steps)
        settings["steps"] = steps
    settings = resolve_objective(check_settings(settings), shortcuts=False)
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
    source = make_source(dataset, data_dir=settings.get("data_dir"))
    return TrainingRun(
        source,
        dataset_name=config["dataset"],
        prior=prior,
        settings=settings,
        device=device or config.get("device", "auto"),
        run_dir=run_dir,
        checkpoint=checkpoint,
        progress=progress,
        resumed_from=[*config.get("resumed_from", []), done],
    ).execute()


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


def _warn_if_schedule_changes(settings: dict[str, Any], steps: int) -> None:
    """Warn when a new ``steps`` re-times a schedule that depends on the run's length.

    A cosine rate at step t depends on the total T, so extending (or shortening) a run
    on resume changes the rates of its remaining steps: the result is a valid run, but
    not the uninterrupted ``steps``-step run.
    """
    schedule = settings.get("lr_schedule", "constant")
    if schedule != "constant" and steps != settings["steps"]:
        warnings.warn(
            f"lr_schedule {schedule} decays over the run's length; resuming with steps "
            f"{steps} instead of {settings['steps']} changes the rates of the remaining "
            f"steps, so the run will not equal an uninterrupted {steps}-step run (train a "
            "new run with --steps for that, or use --lr-schedule constant)",
            LpsInputWarning,
            stacklevel=3,
        )
