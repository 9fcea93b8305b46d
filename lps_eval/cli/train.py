"""``lps-eval train`` and ``lps-eval encode``: click commands for the reference trainer.

Both are standalone :class:`click.Command` objects registered lazily by the top-level
group. torch is imported only
when a command runs. stdout carries data only (a JSON summary for ``train``); progress
and messages go to stderr. Exit status 2 with one line on stderr for bad input, 130
(SIGINT) or 143 (SIGTERM) after writing a checkpoint, with one line saying how to resume.
A grid exits 2 when some run failed (its index row says why; the other runs finished).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from lps_eval._validation import LpsInputError
from lps_eval.cli.console import EXIT_INPUT_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED, fail
from lps_eval.options import did_you_mean
from lps_eval.schedulers import SCHEDULER_CHOICES
from lps_eval.train.objectives import objective_specs

__all__ = ["encode_command", "train_command"]


def _guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn input errors and a missing torch into one stderr line and exit status 2."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            import torch  # noqa: F401
        except ImportError:
            fail("the trainer needs torch; install it with `pip install 'lps-eval[torch]'`")
        try:
            return func(*args, **kwargs)
        except (LpsInputError, FileNotFoundError, NotADirectoryError) as exc:
            fail(str(exc))

    return wrapper


#: Options a preset fills when they are not given (click default None = "not given").
_PRESET_OPTIONS = (
    "steps",
    "batch_size",
    "lr",
    "lr_schedule",
    "width",
    "hidden",
    "eval_size",
    "eval_every",
    "eval_subset",
    "eval_budget",
    "checkpoint_every",
    "threads",
)
#: Options that --resume may change (everything else comes from the run's config.json).
_RESUME_OPTIONS = {"resume_dir", "steps", "quiet", "device"}
#: The 0.2 flags that set one objective parameter: option name -> parameter.
_SHORTCUTS = {"beta": "beta", "mmd_weight": "lambda", "kernel": "kernel"}


def _objectives_help() -> str:
    """``--objective``'s help: every registered name with its one-line summary."""
    listing = "; ".join(f"{name}: {cls.summary}" for name, cls in objective_specs().items())
    return f"{listing}. A comma list (mmd,kl,ae) trains a grid."


def _parameters_epilog() -> str:
    """The epilog of ``--help``: each objective's parameters and defaults."""
    lines = ["Objective parameters (--objective-param KEY=VALUE; defaults shown):"]
    for name, cls in objective_specs().items():
        params = ", ".join(p.describe() for p in cls.params) or "none"
        lines.append(f"{name}: {params}.")
    return "\b\n" + "\n".join(lines)


@click.command("train", epilog=_parameters_epilog())
@click.option(
    "--preset",
    type=click.Choice(["cpu", "paper"]),
    default="cpu",
    show_default=True,
    help="cpu: batch 64, width 16, hidden 128, 6000 steps, lr 1e-3 with cosine decay, 1 "
    "thread (about 2 min per xy model, 6-8 min per dSprites model on a laptop); paper: "
    "batch 512, width 32, hidden 256, 20000 steps (a GPU). Explicit options override it.",
)
@click.option(
    "--dataset",
    default="dsprites",
    show_default=True,
    help="A dataset of `lps-eval data list` (xy, xyc, xycs, dsprites_procedural and digits "
    "are built in; dsprites, shapes3d, mpi3d_*, smallnorb, cars3d, mnist, cifar10, "
    "tiny_imagenet read their official files from --data-dir) or a .npy image array "
    "(N, H, W) or (N, C, H, W). 'dsprites' still means the procedural re-drawing in 0.3 "
    "(with a warning).",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where official dataset files live (`lps-eval data download NAME`) "
    "[$LPS_EVAL_DATA, else ~/.cache/lps-eval/data].",
)
@click.option("--objective", default="mmd", show_default=True, help=_objectives_help())
@click.option(
    "--objective-param",
    "-O",
    "objective_param",
    multiple=True,
    metavar="KEY=VALUE",
    help="A hyper-parameter of the objective (repeatable), e.g. -O beta=6 -O estimator=mss "
    "for beta_tcvae; see the list below. In a grid it applies to the objectives that have it.",
)
@click.option(
    "--prior",
    default="gaussian",
    show_default=True,
    help="Prior spec for --objective mmd: gaussian, uniform(-5, 5), bimodal(5, 1), "
    "hybrid(p1; p2; ...), samples:PATH ...",
)
@click.option("--latent-dim", type=int, default=5, show_default=True)
@click.option("--steps", type=int, default=None, help="Optimizer steps [preset].")
@click.option("--batch-size", type=int, default=None, help="[preset]")
@click.option(
    "--lr", type=float, default=None, help="Adam learning rate (peak with a schedule) [5e-4]."
)
@click.option(
    "--lr-schedule",
    type=click.Choice(["constant", "cosine"]),
    default=None,
    help="constant, or cosine: warm-up, then decay to lr/20 [preset: cpu cosine, else constant].",
)
@click.option(
    "--mmd-weight",
    type=click.FloatRange(min=0),
    default=None,
    help="lambda in AE loss + lambda MMD^2 (the same as -O lambda=VALUE for mmd) [0.3].",
)
@click.option(
    "--kernel",
    default=None,
    help="MMD kernel of mmd / info_vae (-O kernel=NAME): rbf_multiscale, imq, rbf, "
    "distance [rbf_multiscale].",
)
@click.option(
    "--beta",
    default=None,
    help="beta of kl (1 = VAE, 4 = beta-VAE) and beta_tcvae (-O beta=VALUE); a comma "
    "list (1,4) trains one model per value [the objective's default].",
)
@click.option(
    "--recon",
    type=click.Choice(["bce", "mse"]),
    default="bce",
    show_default=True,
    help="Reconstruction loss.",
)
@click.option("--width", type=int, default=None, help="Conv channels [preset].")
@click.option("--hidden", type=int, default=None, help="FC width [preset].")
@click.option(
    "--eval-size", type=int, default=None, help="Images encoded into latents.npz [10000]."
)
@click.option(
    "--eval-every",
    type=int,
    default=None,
    help="In-training LPS/MMD/NMSE every this many steps; 0 = only at the end [preset].",
)
@click.option(
    "--eval-subset", type=int, default=None, help="Images of the in-training evaluation [2000]."
)
@click.option(
    "--eval-budget",
    type=float,
    default=None,
    help="Skip in-training evaluations beyond this fraction of training time [0.1].",
)
@click.option(
    "--checkpoint-every", type=int, default=None, help="Steps between checkpoints [preset]."
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--seeds", default=None, help="Train a grid over seeds: 0-4 or 0,2,5.")
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option("--threads", type=int, default=None, help="torch CPU threads [preset].")
@click.option(
    "--out", "out", type=click.Path(file_okay=False), default=None, help="Run directory to write."
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Allow a non-empty --out: replace the trainer's own files there (nothing else).",
)
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Continue the run in this directory from its checkpoint (--steps may extend it).",
)
@click.option(
    "--scheduler",
    default=None,
    help=f"Grids: where the runs train: {SCHEDULER_CHOICES}, except threads (torch's random "
    "state is per process). One run per worker process, 1 torch thread unless --threads.",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
@_guarded
def train_command(ctx: click.Context, **opts: Any) -> None:
    """Train an autoencoder or VAE with one of the objectives below; write a run directory.

    The run directory holds model.pt (weights, loadable without pickle), config.json,
    history.csv (per-step loss; LPS, MMD^2 and NMSE at evaluation steps), latents.npz
    (z and factors of the evaluation set), metrics.json and checkpoint.pt. A JSON summary
    is printed on stdout. Ctrl-C or SIGTERM writes a checkpoint and exits 130 / 143;
    continue with --resume DIR.
    """
    from lps_eval.train.loop import TrainingInterrupted

    try:
        if opts["resume_dir"] is not None:
            result = _resume(ctx, opts)
        else:
            if opts["out"] is None:
                fail("--out is required (or --resume DIR)")
            objectives = _objectives(opts)
            betas = _betas(opts["beta"])
            if opts["seeds"] is not None or len(objectives) > 1 or (betas and len(betas) > 1):
                _grid(ctx, opts, objectives, betas)
                return
            if opts["scheduler"] is not None:
                fail(
                    "--scheduler trains the runs of a grid; add --seeds (or a comma list of "
                    "--objective / --beta)"
                )
            beta = betas[0] if betas else None
            result = _fit(opts, objective=objectives[0], beta=beta, seed=opts["seed"])
    except TrainingInterrupted as exc:  # a grid's too: one line, 130 / 143, at once
        import signal

        from lps_eval.train.signals import end_process

        code = EXIT_TERMINATED if exc.signum == signal.SIGTERM else EXIT_INTERRUPTED
        try:
            fail(str(exc), code=code)
        except SystemExit:
            end_process(code)
    summary = {
        "run_dir": str(result.run_dir),
        "objective": result.config["objective"],
        "preset": result.config["preset"],
        "steps": result.config["steps"],
        "nmse_db": result.nmse_db,
        "final_loss": float(result.history["loss"].iloc[-5:].mean()),
        "n_eval": int(result.z.shape[0]),
        "latent_dim": int(result.z.shape[1]),
    }
    click.echo(json.dumps(summary))


def _betas(text: str | None) -> list[float] | None:
    from lps_eval.train.grid import parse_list

    return None if text is None else parse_list(text, cast=float, name="--beta")


def _objectives(opts: dict[str, Any]) -> list[str]:
    """The ``--objective`` list, its parameters checked against each objective before any work.

    ``--objective-param`` keys and the shortcut flags apply to the objectives that declare
    them; one that none of them declares is refused (with "did you mean").
    """
    from lps_eval.train.grid import parse_list
    from lps_eval.train.objectives import normalize_objective, parse_assignments, resolve_params

    objectives = [normalize_objective(o) for o in parse_list(opts["objective"], name="--objective")]
    given = parse_assignments(opts["objective_param"])
    for option, param in _SHORTCUTS.items():
        if opts[option] is not None and param in given:
            fail(f"{param} is given twice (--{option.replace('_', '-')} and -O {param}=...)")
    shortcuts = {
        param: opts[option]
        for option, param in _SHORTCUTS.items()
        if opts[option] is not None and option != "beta"
    }
    if opts["beta"] is not None:
        shortcuts["beta"] = _betas(opts["beta"])[0]  # one value checks them all
    wanted = {**given, **shortcuts}
    for key in wanted:
        owners = [o for o in objectives if key in _declared(o)]
        if not owners:
            if key in given and len(objectives) == 1:  # the objective's own error
                resolve_params(objectives[0], {key: wanted[key]})
            known = sorted(set().union(*(_declared(o) for o in objectives)))
            flag = {v: k for k, v in _SHORTCUTS.items()}.get(key) if key not in given else None
            how = f"--{flag.replace('_', '-')}" if flag else f"-O {key}"
            fail(
                f"{how}: no objective of {','.join(objectives)} has a parameter {key!r}"
                f"{did_you_mean(key, known)}; theirs: {', '.join(known) or '(none)'}"
            )
    for objective in objectives:
        resolve_params(objective, _params_for(objective, wanted))
    opts["objective_params_given"] = given
    return objectives


def _declared(objective: str) -> set[str]:
    return {p.name for p in objective_specs()[objective].params}


def _params_for(objective: str, given: dict[str, Any]) -> dict[str, Any]:
    """The ``--objective-param`` values this objective declares."""
    return {k: v for k, v in given.items() if k in _declared(objective)}


def _common(opts: dict[str, Any]) -> dict[str, Any]:
    """fit() arguments shared by a single run and every run of a grid."""
    explicit = {k: opts[k] for k in _PRESET_OPTIONS}
    explicit["num_threads"] = explicit.pop("threads")
    return {
        "dataset": opts["dataset"],
        "data_dir": opts["data_dir"],
        "prior": opts["prior"],
        "latent_dim": opts["latent_dim"],
        "preset": opts["preset"],
        "recon": opts["recon"],
        "device": opts["device"],
        **explicit,
    }


def _objective_kwargs(opts: dict[str, Any], objective: str) -> dict[str, Any]:
    """fit()'s objective arguments for one run: the parameters and shortcuts it declares."""
    declared = _declared(objective)
    kwargs: dict[str, Any] = {
        "objective_params": _params_for(objective, opts["objective_params_given"])
    }
    for option in ("mmd_weight", "kernel"):
        if opts[option] is not None and _SHORTCUTS[option] in declared:
            kwargs[option] = opts[option]
    return kwargs


def _fit(opts: dict[str, Any], *, objective: str, **varying: Any) -> Any:
    from lps_eval.train.loop import fit

    return fit(
        **_common(opts),
        **_objective_kwargs(opts, objective),
        objective=objective,
        **varying,
        out=opts["out"],
        overwrite=opts["overwrite"],
        progress=not opts["quiet"],
    )


def _resume(ctx: click.Context, opts: dict[str, Any]) -> Any:
    from click.core import ParameterSource

    from lps_eval.train.loop import resume

    given = [
        name
        for name in opts
        if ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE
        and name not in _RESUME_OPTIONS
        and not (name == "out" and opts["out"] == opts["resume_dir"])
    ]
    if given:
        flags = ", ".join("--" + g.replace("_", "-") for g in sorted(given))
        fail(
            f"--resume continues a run with its recorded settings; drop {flags} "
            "(only --steps, --device and --quiet may be given)"
        )
    device = (
        opts["device"]
        if ctx.get_parameter_source("device") == ParameterSource.COMMANDLINE
        else None
    )
    return resume(
        opts["resume_dir"], steps=opts["steps"], device=device, progress=not opts["quiet"]
    )


def _grid(
    ctx: click.Context, opts: dict[str, Any], objectives: list[str], betas: list[float]
) -> None:
    from lps_eval.train.grid import INDEX_FILE, expand_grid, parse_seeds, run_grid

    seeds = parse_seeds(opts["seeds"]) if opts["seeds"] is not None else [opts["seed"]]
    runs = [
        {**run, **_objective_kwargs(opts, run["objective"])}
        for run in expand_grid(objectives, seeds, betas)
    ]
    index = run_grid(
        runs,
        opts["out"],
        common=_common(opts),
        overwrite=opts["overwrite"],
        progress=not opts["quiet"],
        scheduler=opts["scheduler"],
    )
    click.echo(
        json.dumps(
            {
                "grid_dir": str(opts["out"]),
                "index": str(Path(opts["out"]) / INDEX_FILE),
                "runs": len(index),
                "status": index["status"].value_counts().to_dict(),
            }
        )
    )
    failed = index[index["status"] == "failed"]
    if len(failed):  # as a scoring sweep: the other runs finished; each failure named
        for name, message in zip(failed["name"], failed["error"], strict=True):
            click.echo(f"error: {name}: {' '.join(str(message).split())}", err=True)
        raise SystemExit(EXIT_INPUT_ERROR)


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
def encode_command(
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
            fail(f"output {out.name} must end in .npz or .npy")
        np.savez(out, z=z)
    click.echo(f"wrote {out} with z of shape {z.shape}", err=True)
