"""``lps-eval demo``: score built-in data (PCA codes of scikit-learn's digits)."""

from __future__ import annotations

import warnings
from pathlib import Path

import click
import numpy as np

from lps_eval.cli.console import fail
from lps_eval.cli.output import emit, show_warning
from lps_eval.cli.preparation import format_option

__all__ = ["demo_command"]


@click.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("lps-eval-demo"),
    show_default=True,
    help="Folder for the demo latents and factors.",
)
@format_option()
@click.option("--seed", type=int, default=0, show_default=True)
def demo_command(out_dir: Path, fmt: str, seed: int) -> None:
    """Score built-in data: PCA codes of scikit-learn's digits (no download).

    PCA codes are linearly uncorrelated, so linear LPS is ~0, but far from independent:
    the nonlinear LPS shows it. Writes the arrays so you can re-run `lps-eval score`.
    """
    from lps_eval.scoring import score
    from lps_eval.simulations import digits_latents

    warnings.showwarning = show_warning
    z, labels = digits_latents(n_components=8, seed=seed)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        np.save(out_dir / "digits_pca_latents.npy", z.astype(np.float32))
        np.save(out_dir / "digits_labels.npy", labels)
    except OSError as exc:
        fail(f"cannot write demo files to {out_dir}: {exc}")
    click.echo(
        f"demo data: {out_dir / 'digits_pca_latents.npy'} ({z.shape[0]} x {z.shape[1]})", err=True
    )
    emit(score(z, seed=seed), fmt, None)
