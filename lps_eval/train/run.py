"""One training run in named steps: set up, train step by step, evaluate, checkpoint, finish.

:class:`TrainingRun` is what :func:`lps_eval.train.fit` and :func:`lps_eval.train.resume`
execute. Its steps, in order:

1. :meth:`~TrainingRun.prepare`: random streams, objective, evaluation set, ``config.json``;
2. :meth:`~TrainingRun.build`: seed torch, build the model, its optimizer and the
   in-training monitor, and restore a checkpoint when resuming;
3. :meth:`~TrainingRun.train`: one :meth:`~TrainingRun.step` per optimizer step, the
   in-training evaluation when it is due, periodic checkpoints, and the signal check;
4. :meth:`~TrainingRun.encode_eval_set` and :meth:`~TrainingRun.finish`: the final
   latents, the last checkpoint and the run directory's files.

Everything random comes from the seed (see :mod:`lps_eval.train.random_state`), so two
runs with the same settings on the CPU with the same thread count are bit-identical, and
a resumed run continues bit-identically.
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

from lps_eval.train import signals
from lps_eval.train.checkpoint import final_dir
from lps_eval.train.data import ImageSource
from lps_eval.train.encoding import encode_posterior, nmse_db
from lps_eval.train.monitor import EVAL_COLUMNS
from lps_eval.train.random_state import RandomStreams
from lps_eval.train.schedules import learning_rate

__all__ = ["LOG_COLUMNS", "TrainResult", "TrainingInterrupted", "TrainingRun", "resolve_device"]

#: Columns of the per-step log (``history.csv`` starts with them).
LOG_COLUMNS = ["step", "loss", "recon", "reg", "seconds"]


@dataclass
class TrainResult:
    """What :func:`~lps_eval.train.fit` returns.

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
    index : ndarray
        Dataset rows of the evaluation set, in the order of ``z``.
    """

    model: Any
    z: np.ndarray
    factors: np.ndarray | None
    history: pd.DataFrame
    nmse_db: float
    config: dict[str, Any]
    run_dir: Path | None = None
    index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


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

    def __init__(self, signum: int, step: int, run_dir: Path | None, *, note: str = "") -> None:
        self.signum = int(signum)
        self.step = int(step)
        self.run_dir = run_dir
        where = (
            f"checkpoint written to {run_dir}; resume with: lps-eval train --resume {run_dir}"
            if run_dir is not None
            else "nothing was saved (no output directory)"
        )
        super().__init__(f"training interrupted at step {step}; {note or where}")


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``.

    Raises
    ------
    LpsInputError
        ``cuda`` without a visible GPU, or an unknown device name.
    """
    import torch

    from lps_eval._validation import LpsInputError

    device = str(device).lower()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise LpsInputError("device 'cuda' requested but no GPU is visible; use --device cpu")
    if device != "cpu" and not device.startswith("cuda"):
        raise LpsInputError(f"device must be auto, cpu or cuda, got {device!r}")
    return device


def eval_images(source: ImageSource, index: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Evaluation images rendered chunk by chunk (same result, bounded peak memory)."""
    return np.concatenate(
        [source.images(index[i : i + chunk]) for i in range(0, index.size, chunk)]
    )


@contextmanager
def torch_settings(num_threads: int | None) -> Iterator[None]:
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


def history_frame(
    rows: list[list[float]], evals: list[dict[str, float]], extra: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Per-step log with the in-training evaluations joined on ``step`` (NaN elsewhere).

    ``rows`` hold ``step, loss, recon, reg, seconds`` and then the objective's ``extra``
    values (``tc`` for FactorVAE...), which become columns after ``seconds``.
    """
    columns = [*LOG_COLUMNS, *extra]
    frame = pd.DataFrame(
        np.asarray(rows, dtype=np.float64).reshape(-1, len(columns)), columns=columns
    )
    frame["step"] = frame["step"].astype(np.int64)
    ev = pd.DataFrame(evals, columns=["step", *EVAL_COLUMNS])
    ev["step"] = ev["step"].astype(np.int64)
    return frame.merge(ev, on="step", how="left")


def make_objective_for(
    s: dict[str, Any], prior: Any, rng: np.random.Generator, dataset_size: int | None
) -> Any:
    """The objective of the settings ``s`` (its parameters resolved in ``objective_params``)."""
    from lps_eval.train.objectives import make_objective

    return make_objective(
        s["objective"],
        latent_dim=s["latent_dim"],
        prior=prior,
        params=s["objective_params"],
        recon=s["recon"],
        recon_reduction=s["recon_reduction"],
        rng=rng,
        dataset_size=dataset_size,
    )


def _resumable(name: str) -> bool:
    """A dataset ``resume`` can reopen by name: built in, registered, or a file on disk."""
    from lps_eval.data import dataset_specs

    return (
        name in ("dsprites", "dsprites_procedural", "digits")
        or name in dataset_specs()
        or (Path(name).exists())
    )


class TrainingRun:
    """Train one model from its checked settings, optionally into a run directory.

    Parameters
    ----------
    source : ImageSource
        Training images.
    dataset_name : str
        Recorded in ``config.json`` (a name or a path; resumable when it is one).
    prior : str or object
        The prior spec (or an object with ``sample(n, d, rng)``).
    settings : dict
        Checked settings (:func:`lps_eval.train.settings.check_settings`).
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    run_dir : Path or None
        A prepared run directory, or None to write nothing.
    checkpoint : dict or None
        A checkpoint to continue from (``resume``).
    progress : bool
        Show a progress bar on stderr.
    resumed_from : list of int, optional
        Steps of earlier checkpoints this run continues (recorded in the config).
    """

    def __init__(
        self,
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
    ) -> None:
        self.source = source
        self.dataset_name = dataset_name
        self.prior = prior
        self.s = settings
        self.device = device
        self.run_dir = run_dir
        self.checkpoint = checkpoint
        self.progress = progress
        self.resumed_from = resumed_from or []
        self.rows: list[list[float]] = []
        self.done = 0  # the last step whose update is applied (the committed state)
        self.pending_eval: int | None = None  # a scheduled evaluation not yet run
        self.train_seconds = 0.0
        self.train_cpu = 0.0
        self.bar: Any = None
        # where results go: the run directory, or the parent of a .overwrite staging one
        self.final_dir = None if run_dir is None else final_dir(run_dir)

    # ------------------------------------------------------------------ the whole run

    def execute(self) -> TrainResult:
        """Run every step and return the result (the run directory written when given).

        Signals (see :mod:`lps_eval.train.signals`): while training computes, SIGINT /
        SIGTERM stop it at once and the last completed step is checkpointed; file writes
        and optimizer updates finish first.

        Raises
        ------
        TrainingInterrupted
            SIGINT / SIGTERM, after the checkpoint was written.
        FloatingPointError
            The loss became NaN or infinite.
        """
        self.describe_state()
        self.prepare()
        with torch_settings(self.s["num_threads"]):
            self.build()
            try:
                with signals.interruptible(self.run_dir is not None):
                    self.train()
                    images, latents, x_hat = self.encode_eval_set()
            except signals.Stop as stop:
                self.stopped(stop.signum)
            self.save_checkpoint(self.s["steps"])
        return self.finish(images, latents, x_hat)

    def describe_state(self) -> None:
        """The line a signal prints if it ends the process outside training (the CLI)."""
        if self.final_dir is None:
            signals.describe("interrupted; nothing was saved (no output directory)")
        elif self.checkpoint is None:
            signals.describe(
                f"interrupted before the first step; {self.final_dir} holds no results "
                f"(marked INCOMPLETE); rerun the same command to start over"
            )
        else:
            signals.describe(
                f"interrupted before training resumed; {self.final_dir} is unchanged; "
                f"resume with: lps-eval train --resume {self.final_dir}"
            )

    def stopped(self, signum: int) -> None:
        """A signal stopped the computation: checkpoint the last completed step and report.

        Raises
        ------
        TrainingInterrupted
            Always (with a note when even the checkpoint could not be written).
        """
        if self.bar is not None:
            self.bar.close()
        note = ""
        try:
            self.save_checkpoint(self.done, interrupted=True)
        except Exception as exc:  # never a traceback on Ctrl-C: say what stays
            note = (
                f"the checkpoint could not be written ({type(exc).__name__}: {exc}); the "
                f"last periodic checkpoint in {self.final_dir} stays; resume with: "
                f"lps-eval train --resume {self.final_dir}"
            )
        if self.final_dir is not None and self.final_dir != self.run_dir and not note:
            note = (
                f"checkpoint written to {self.run_dir} (the previous results in "
                f"{self.final_dir} are kept until it finishes); resume with: "
                f"lps-eval train --resume {self.final_dir}"
            )
        raise TrainingInterrupted(signum, self.done, self.final_dir, note=note) from None

    # ------------------------------------------------------------------ 1. set up

    def prepare(self) -> None:
        """Random streams, objective and evaluation set; write ``config.json``."""
        from lps_eval.train.checkpoint import mark_incomplete, write_config

        s = self.s
        self.device = resolve_device(self.device)
        self.streams = RandomStreams(s["seed"])
        self.objective = make_objective_for(s, self.prior, self.streams.prior, self.source.n_images)
        self.index = self.source.eval_index(s["eval_size"], np.random.default_rng(s["eval_seed"]))
        # the in-training subset: a fixed random part of the evaluation set (which is sorted
        # by dataset index, i.e. by shape first, so its first rows are not a random sample)
        sub_rng = np.random.default_rng([s["eval_seed"], 1])
        self.subset = np.sort(sub_rng.permutation(self.index)[: s["eval_subset"]])
        self.config = self.make_config()
        if self.run_dir is not None:
            mark_incomplete(self.run_dir, final=self.final_dir)  # first: (still) unfinished
            write_config(self.run_dir, self.config)

    def make_config(self) -> dict[str, Any]:
        """Everything needed to rerun: settings, architecture, versions (``config.json``)."""
        import torch

        s, obj, prior, name = self.s, self.objective, self.prior, self.dataset_name
        return {
            "dataset": name,
            "dataset_resumable": isinstance(name, str) and _resumable(name),
            "data_dir": s.get("data_dir"),
            "prior": prior if isinstance(prior, str) else repr(prior),
            "prior_spec": prior if isinstance(prior, str) else None,
            **{k: s[k] for k in ("objective", "latent_dim", "steps", "batch_size", "lr")},
            "lr_schedule": s["lr_schedule"],
            "objective_params": dict(obj.p),
            "objective_reference": obj.reference,
            "mmd_weight": obj.mmd_weight,
            "kernel": obj.kernel,
            "mmd_estimator": obj.estimator,
            "beta": obj.beta,
            "recon": obj.recon,
            "recon_reduction": obj.recon_reduction,
            "width": s["width"],
            "hidden": s["hidden"],
            "eval_size": int(self.index.size),
            "eval_seed": s["eval_seed"],
            "seed": s["seed"],
            "preset": s["preset"],
            "device": self.device,
            "num_threads": s["num_threads"] or torch.get_num_threads(),
            "architecture": {
                "name": "ConvAutoencoder",
                "image_shape": list(self.source.image_shape),
                "latent_dim": s["latent_dim"],
                "width": s["width"],
                "hidden": s["hidden"],
            },
            "factor_names": None
            if self.source.factor_names is None
            else list(self.source.factor_names),
            "settings": {**s, "num_threads": s["num_threads"]},
            "resumed_from": self.resumed_from,
            "versions": versions(),
        }

    def build(self) -> None:
        """Seed torch, build model, optimizer and monitor; restore a checkpoint if given."""
        # torch.optim imports torch._dynamo on its first call; import it here, where a
        # signal ends the process, never in a step, where a signal would leave it half done
        import torch
        import torch._dynamo

        from lps_eval.train.models import ConvAutoencoder
        from lps_eval.train.monitor import EvalMonitor

        s = self.s
        torch.manual_seed(s["seed"])
        self.model = ConvAutoencoder(
            self.source.image_shape, s["latent_dim"], width=s["width"], hidden=s["hidden"]
        ).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=s["lr"])
        obj = self.objective
        obj.build(self.model, lr=s["lr"], device=self.device)  # after the model: torch's RNG
        self.monitor = EvalMonitor(
            eval_images(self.source, self.subset),
            prior=obj.prior if obj.prior is not None else "gaussian",
            every=s["eval_every"],
            budget=s["eval_budget"],
            hgb_rows=s["eval_subset"],
            seed=s["eval_seed"],
            device=self.device,
        )
        if self.checkpoint is not None:
            self.restore(self.checkpoint)
        self.rng_committed = self.streams.capture_training()

    def restore(self, checkpoint: dict[str, Any]) -> None:
        """Weights, optimizer, random streams, step, timings and logs from a checkpoint."""
        self.model.load_state_dict(checkpoint["model"])
        self.optimizer.load_state_dict(checkpoint["optimizer"])
        self.objective.load_state_dict(checkpoint.get("objective", {}))
        self.streams.restore(checkpoint["rng"])
        self.done = int(checkpoint["step"])
        self.train_seconds = float(checkpoint["train_seconds"])
        self.train_cpu = float(checkpoint.get("train_cpu_seconds", self.train_seconds))
        self.rows = checkpoint["history"].tolist()
        names = ["step", *EVAL_COLUMNS]
        monitor = self.monitor
        monitor.rows = [
            {k: float(v) for k, v in zip(names, r, strict=True)}
            for r in checkpoint["evals"].tolist()
        ]
        monitor.seconds = float(checkpoint["eval_seconds"])
        monitor.cpu_seconds = float(checkpoint.get("eval_cpu_seconds", monitor.seconds))
        monitor.skipped = int(checkpoint["evals_skipped"])
        pending = checkpoint.get("pending_eval")
        self.pending_eval = None if pending is None or int(pending) < 0 else int(pending)

    # ------------------------------------------------------------------ 2. train

    def train(self) -> None:
        """Steps ``done + 1 .. steps``: train, evaluate when due, checkpoint periodically."""
        s, steps = self.s, self.s["steps"]
        self.bar = bar = progress_bar(self.objective.name, self.done, steps, self.progress)
        self.model.train()
        if self.pending_eval is not None:  # interrupted during this evaluation: run it now
            self.evaluate_if_due(self.pending_eval, {"loss": math.nan, "reg": math.nan}, bar)
        self._tick, self._cpu_tick = time.perf_counter(), time.process_time()
        for step in range(self.done + 1, steps + 1):
            parts = self.step(step)
            self.evaluate_if_due(step, parts, bar)
            bar.update(1)
            if s["checkpoint_every"] and step % s["checkpoint_every"] == 0 and step < steps:
                self.save_checkpoint(step)
            self._tick, self._cpu_tick = time.perf_counter(), time.process_time()
        bar.close()
        if self.done == steps and not self.monitor.rows:  # resumed an already finished run
            self.monitor.evaluate(self.model, steps)

    def step(self, step: int) -> dict[str, float]:
        """One optimizer step on a fresh batch; appends its row to the log.

        Raises
        ------
        FloatingPointError
            The loss is NaN or infinite.
        """
        import torch

        s, source, obj = self.s, self.source, self.objective
        batches = [
            torch.as_tensor(
                source.images(source.sample_index(s["batch_size"], self.streams.data)),
                device=self.device,
            )
            for _ in range(obj.batches_per_step)
        ]
        loss, parts = obj.loss(self.model, batches, step)
        if not math.isfinite(parts["loss"]):
            raise FloatingPointError(
                f"loss became {parts['loss']} at step {step}; lower lr (now {s['lr']}) or "
                "the regularizer weight"
            )
        self.optimizer.zero_grad(set_to_none=True)
        rate = learning_rate(step, s["steps"], s["lr"], s["lr_schedule"])
        for group in self.optimizer.param_groups:
            group["lr"] = rate
        loss.backward()
        obj.after_backward()
        with signals.critical():  # apply the update and commit the step as one
            self.optimizer.step()
            obj.apply_updates()
            self.train_seconds += time.perf_counter() - self._tick
            self.train_cpu += time.process_time() - self._cpu_tick
            row = [step, parts["loss"], parts["recon"], parts["reg"], self.train_seconds]
            self.rows.append(row + [parts[c] for c in obj.extra_columns])
            self.done = step
            self.rng_committed = self.streams.capture_training()
            every = self.s["eval_every"]
            if step == self.s["steps"] or (every > 0 and step % every == 0):
                self.pending_eval = step
        return parts

    def evaluate_if_due(self, step: int, parts: dict[str, float], bar: Any) -> None:
        """The in-training evaluation when it is scheduled and affordable; the bar's text."""
        monitor = self.monitor
        if monitor.due(step, self.s["steps"], self.train_cpu):
            row = monitor.evaluate(self.model, step)
            with signals.critical():
                self.pending_eval = None
                self.rng_committed = self.streams.capture_training()
            bar.set_postfix(
                loss=f"{parts['loss']:.4g}",
                lps_hgb=f"{row['lps_hgb']:.3f}",
                eval=f"{monitor.cpu_seconds / max(self.train_cpu, 1e-9):.0%}",
            )
            return
        self.pending_eval = None
        if step % 50 == 0:
            bar.set_postfix(loss=f"{parts['loss']:.4g}", reg=f"{parts['reg']:.3g}")

    # ------------------------------------------------------------------ 3. checkpoint

    def save_checkpoint(self, step: int, *, interrupted: bool = False) -> None:
        """Write ``checkpoint.pt`` and ``history.csv`` (nothing without a run directory).

        ``interrupted``: the random streams of the committed state (a signal may have
        stopped a step after it drew its batch), and the evaluation still pending.
        """
        if self.run_dir is None:
            return
        rng = self.streams.capture()
        if interrupted:
            rng.update(self.rng_committed)
        pending = self.pending_eval if interrupted and self.pending_eval is not None else -1
        with signals.critical():  # the checkpoint and its history.csv as one
            self._write_checkpoint(step, rng, pending)

    def _write_checkpoint(self, step: int, rng: dict[str, Any], pending: int) -> None:
        import torch

        from lps_eval.train.checkpoint import save_checkpoint, write_history

        monitor = self.monitor
        ev = [[r["step"], *(r[c] for c in EVAL_COLUMNS)] for r in monitor.rows]
        save_checkpoint(
            self.run_dir,
            {
                "step": step,
                "pending_eval": pending,
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "rng": rng,
                "train_seconds": self.train_seconds,
                "train_cpu_seconds": self.train_cpu,
                "eval_seconds": monitor.seconds,
                "eval_cpu_seconds": monitor.cpu_seconds,
                "evals_skipped": monitor.skipped,
                "history": torch.tensor(self.rows, dtype=torch.float64).reshape(
                    -1, len(LOG_COLUMNS) + len(self.objective.extra_columns)
                ),
                "evals": torch.tensor(ev, dtype=torch.float64).reshape(-1, 1 + len(EVAL_COLUMNS)),
                **({"objective": extra} if (extra := self.objective.state_dict()) else {}),
            },
        )
        write_history(self.run_dir, self.history())

    def history(self) -> pd.DataFrame:
        """The log so far (``history.csv``)."""
        return history_frame(self.rows, self.monitor.rows, self.objective.extra_columns)

    # ------------------------------------------------------------------ 4. finish

    def encode_eval_set(self) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """The evaluation images, their latents and reconstructions (model in eval mode).

        The latents are ``z`` (the posterior mean) and, for VAEs, ``z_sampled`` (one draw
        z = mu + sigma eps, eps from a generator seeded by ``[seed, eval_seed, 2]``) and
        ``kl`` (the per-dimension KL to N(0, 1), mean over the evaluation rows, (d,)).
        """
        from lps_eval.train.objectives import kl_per_dimension

        self.model = self.model.eval()
        images = eval_images(self.source, self.index)
        mean, logvar, x_hat = encode_posterior(self.model, images, device=self.device)
        latents = {"z": mean}
        if self.objective.stochastic:
            rng = np.random.default_rng([self.s["seed"], self.s["eval_seed"], 2])
            eps = rng.standard_normal(mean.shape, dtype=np.float32)
            latents["z_sampled"] = mean + np.exp(0.5 * logvar) * eps
            kl = kl_per_dimension(mean.astype(np.float64), logvar.astype(np.float64))
            latents["kl"] = kl.mean(0)
        return images, latents, x_hat

    def finish(
        self, images: np.ndarray, latents: dict[str, np.ndarray], x_hat: np.ndarray
    ) -> TrainResult:
        """The result; ``model.pt``, ``latents.npz`` and ``metrics.json`` when writing."""
        from lps_eval.train.checkpoint import publish, save_run

        factors = self.source.factors(self.index)
        history = self.history()
        self.model = self.model.to("cpu")
        result = TrainResult(
            model=self.model,
            z=latents["z"],
            factors=factors,
            history=history,
            nmse_db=nmse_db(images, x_hat),
            config=self.config,
            index=self.index,
        )
        signals.describe(f"interrupted as the run finished; {self.final_dir} is complete")
        if self.run_dir is not None:
            latents = {**latents, "index": self.index}
            if factors is not None:
                latents["factors"] = factors
                latents["factor_names"] = np.array(self.source.factor_names, dtype=str)
            with signals.critical():  # every file, then the swap of an --overwrite run
                save_run(
                    self.run_dir,
                    model=self.model,
                    config=self.config,
                    history=history,
                    latents=latents,
                    metrics=self.metrics(result.nmse_db, history),
                )
                if self.final_dir != self.run_dir:
                    publish(self.run_dir, self.final_dir)
            result.run_dir = self.final_dir
        return result

    def metrics(self, nmse: float, history: pd.DataFrame) -> dict[str, Any]:
        """``metrics.json``: reconstruction, times, evaluation cost, final in-training scores."""
        monitor, steps = self.monitor, self.s["steps"]
        train_s, train_cpu = self.train_seconds, self.train_cpu
        last = monitor.rows[-1] if monitor.rows else {}
        return {
            "nmse_db": nmse,
            "train_seconds": train_s,
            "eval_seconds": monitor.seconds,
            "train_cpu_seconds": train_cpu,
            "eval_cpu_seconds": monitor.cpu_seconds,
            "eval_fraction": monitor.cpu_seconds / train_cpu if train_cpu > 0 else None,
            "eval_fraction_wall": monitor.seconds / train_s if train_s > 0 else None,
            "evals": len(monitor.rows),
            "evals_skipped": monitor.skipped,
            "final_loss": float(history["loss"].iloc[-5:].mean()),
            "steps": steps,
            "steps_per_second": steps / train_s if train_s > 0 else None,
            **{f"final_{c}": last.get(c) for c in ("lps_linear", "lps_hgb", "mmd2")},
        }


def progress_bar(name: str, done: int, steps: int, enabled: bool) -> Any:
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


def versions() -> dict[str, str]:
    """Versions recorded in ``config.json``: lps_eval, torch, numpy."""
    import torch

    from lps_eval._version import __version__

    return {"lps_eval": __version__, "torch": torch.__version__, "numpy": np.__version__}
