"""``lps-eval train`` and ``lps-eval encode``: click commands for the reference trainer.

Both are standalone :class:`click.Command` objects; the top-level group registers them
with ``main.add_command(train)`` and ``main.add_command(encode)``. torch is imported only
when a command runs. stdout carries data only (a JSON summary for ``train``); progress
and messages go to stderr. Exit status 2 with one line on stderr for bad input.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from lps_eval._validation import LpsInputError
from lps_eval.cli import _fail  # one way to report input errors: one stderr line, exit 2

__all__ = ["encode", "train"]


def _guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn input errors and a missing torch into one stderr line and exit status 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            import torch  # noqa: F401
        except ImportError:
            _fail("the trainer needs torch; install it with `pip install lps-eval[torch]`")
        try:
            return func(*args, **kwargs)
        except (LpsInputError, FileNotFoundError, NotADirectoryError) as exc:
            _fail(str(exc))

    return wrapper


@click.command("train")
@click.option(
    "--dataset",
    default="dsprites",
    show_default=True,
    help="dsprites (procedural), digits (scikit-learn 8x8) or a .npy image array "
    "(N, H, W) or (N, C, H, W).",
)
@click.option(
    "--objective",
    type=click.Choice(["ae", "mmd", "kl"]),
    default="mmd",
    show_default=True,
    help="ae: plain autoencoder; mmd: AE + MMD to --prior; kl: VAE (--beta).",
)
@click.option(
    "--prior",
    default="gaussian",
    show_default=True,
    help="Prior spec for --objective mmd: gaussian, uniform(-5, 5), bimodal(5, 1), "
    "hybrid(p1; p2; ...), samples:PATH ...",
)
@click.option("--latent-dim", type=click.IntRange(min=1), default=5, show_default=True)
@click.option("--steps", type=click.IntRange(min=1), default=5000, show_default=True)
@click.option("--batch-size", type=click.IntRange(min=1), default=512, show_default=True)
@click.option(
    "--lr",
    type=click.FloatRange(min=0, max=1.0, min_open=True),
    default=5e-4,
    show_default=True,
    help="Adam learning rate.",
)
@click.option(
    "--mmd-weight",
    type=click.FloatRange(min=0),
    default=0.3,
    show_default=True,
    help="lambda in AE loss + lambda MMD^2.",
)
@click.option(
    "--kernel", default="rbf_multiscale", show_default=True, help="MMD kernel (see lps_eval.mmd)."
)
@click.option(
    "--beta",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="KL weight for --objective kl (1 = VAE, 4 = beta-VAE).",
)
@click.option(
    "--recon",
    type=click.Choice(["bce", "mse"]),
    default="bce",
    show_default=True,
    help="Reconstruction loss.",
)
@click.option(
    "--width", type=click.IntRange(min=1), default=32, show_default=True, help="Conv channels."
)
@click.option(
    "--hidden", type=click.IntRange(min=1), default=256, show_default=True, help="FC width."
)
@click.option(
    "--eval-size",
    type=click.IntRange(min=1),
    default=10000,
    show_default=True,
    help="Images encoded into latents.npz.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option("--threads", type=click.IntRange(min=1), default=None, help="torch CPU threads.")
@click.option(
    "--out", "out", type=click.Path(file_okay=False), required=True, help="Run directory to write."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@_guarded
def train(**opts: Any) -> None:
    """Train an AE, AE + MMD (programmable prior) or (beta-)VAE; write a run directory.

    The run directory holds model.pt (weights, loadable without pickle), config.json,
    history.csv, latents.npz (z and factors of the evaluation set) and metrics.json
    (reconstruction NMSE in dB). A JSON summary is printed on stdout.
    """
    from lps_eval.train.loop import fit

    result = fit(
        opts["dataset"],
        objective=opts["objective"],
        prior=opts["prior"],
        latent_dim=opts["latent_dim"],
        steps=opts["steps"],
        batch_size=opts["batch_size"],
        lr=opts["lr"],
        mmd_weight=opts["mmd_weight"],
        kernel=opts["kernel"],
        beta=opts["beta"],
        recon=opts["recon"],
        width=opts["width"],
        hidden=opts["hidden"],
        eval_size=opts["eval_size"],
        seed=opts["seed"],
        device=opts["device"],
        num_threads=opts["threads"],
        out=opts["out"],
        progress=not opts["quiet"],
    )
    summary = {
        "run_dir": str(result.run_dir),
        "objective": result.config["objective"],
        "nmse_db": result.nmse_db,
        "final_loss": float(result.history["loss"].iloc[-5:].mean()),
        "n_eval": int(result.z.shape[0]),
        "latent_dim": int(result.z.shape[1]),
    }
    click.echo(json.dumps(summary))


@click.command("encode")
@click.argument("run_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("data", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    required=True,
    help="Output .npz (array z) or .npy.",
)
@click.option("--key", default=None, help="Array name inside an .npz input.")
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="cpu", show_default=True
)
@click.option("--batch-size", type=click.IntRange(min=1), default=1024, show_default=True)
@_guarded
def encode(
    run_dir: str, data: str, output: str, key: str | None, device: str, batch_size: int
) -> None:
    """Encode images in DATA with the model in RUN_DIR; write the posterior means z.

    DATA is an image array (.npy, .npz, .pt) of shape (N, H, W) or (N, C, H, W) with
    values in [0, 1] (uint8 is divided by 255).
    """
    import numpy as np

    from lps_eval.train.loop import encode as encode_run

    z = encode_run(run_dir, data, key=key, device=device, batch_size=batch_size)
    out = Path(output)
    if out.suffix.lower() == ".npy":
        np.save(out, z)
    else:
        if out.suffix.lower() != ".npz":
            _fail(f"output {out.name} must end in .npz or .npy")
        np.savez(out, z=z)
    click.echo(f"wrote {out} with z of shape {z.shape}", err=True)
