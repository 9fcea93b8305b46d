"""The ``lps-eval`` command line: one module per command, loaded when it is invoked.

stdout carries data only (the table, JSON or CSV); warnings, progress and gate verdicts
go to stderr. Exit codes (:mod:`lps_eval.cli.console`): 0 ok, 1 a ``--fail-if``
threshold failed, 2 usage, input or I/O error (one line on stderr, no traceback), 130
interrupted (Ctrl-C), 143 terminated.

Commands are listed in :data:`COMMANDS` (name -> ``module:function``) and imported only
when run, so ``lps-eval --help`` and a Ctrl-C during start-up stay fast and clean.
``lps-eval train`` installs its SIGINT / SIGTERM handling (:mod:`lps_eval.train.signals`)
before anything heavy is imported: from the first milliseconds, a Ctrl-C prints one line
and exits 130.
"""

from __future__ import annotations

import os
import sys


def _command_of(argv: list[str]) -> str | None:
    """The command word of an ``lps-eval`` command line (the first non-option argument)."""
    return next((a for a in argv if not a.startswith("-")), None)


def _train_signals() -> None:
    from lps_eval.train.signals import install_for_command_line

    install_for_command_line()


# `python -m lps_eval.cli train` / the `lps-eval` script: before click, torch and the rest
if (
    os.path.basename(sys.argv[0]) in ("-m", "lps-eval", "__main__.py")
    and _command_of(sys.argv[1:]) == "train"
):
    _train_signals()

import importlib  # noqa: E402
from typing import Any, ClassVar  # noqa: E402

import click  # noqa: E402

from lps_eval.cli.console import EXIT_INPUT_ERROR, EXIT_INTERRUPTED, fail  # noqa: E402

__all__ = ["COMMANDS", "main"]

#: Every command: name -> "module:function" (imported when the command runs).
COMMANDS = {
    "score": "lps_eval.cli.score:score_command",
    "compare": "lps_eval.cli.compare:compare_command",
    "report": "lps_eval.cli.report:report_command",
    "demo": "lps_eval.cli.demo:demo_command",
    "metrics": "lps_eval.cli.metrics:metrics_command",
    "train": "lps_eval.cli.train:train_command",
    "encode": "lps_eval.cli.train:encode_command",
    "data": "lps_eval.cli.data:data_command",
    "evaluate": "lps_eval.cli.evaluate:evaluate_command",
}


class _LazyGroup(click.Group):
    """A group whose commands are imported only when invoked."""

    lazy: ClassVar[dict[str, str]] = COMMANDS

    def main(
        self,
        args: Any = None,
        prog_name: Any = None,
        complete_var: Any = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        if args is None and _command_of(sys.argv[1:]) == "train":  # the process's own command
            _train_signals()
        # click's own usage errors print three lines; every lps-eval error prints one
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            fail(_usage_line(exc), code=exc.exit_code or EXIT_INPUT_ERROR)
        except click.Abort:
            click.echo("error: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        # Ctrl-C: one line and 130 (the shell convention), never click's "Aborted!" with
        # exit 1, which a CI job would read as a failed gate.
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # a bug: never a traceback with exit 1 (the gate's code)
            if os.environ.get("LPS_EVAL_TRACEBACK"):
                raise
            first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            fail(
                f"unexpected {type(exc).__name__}: {first} (a bug in lps-eval, please report "
                "it; set LPS_EVAL_TRACEBACK=1 to see the traceback)"
            )

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, attr = self.lazy[name].split(":")
            try:
                command = getattr(importlib.import_module(module), attr)
            except ImportError as exc:
                fail(
                    f"'lps-eval {name}' needs an optional dependency ({exc}); "
                    "pip install 'lps-eval[all]'"
                )
            self.add_command(command, name)
            return command
        return super().get_command(ctx, name)


def _usage_line(exc: click.ClickException) -> str:
    """click's error as one line, naming the command and where to read its help."""
    message = exc.format_message()
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    return message


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="lps-eval")
def main() -> None:
    """Is this latent space any good? Score latent codes from any encoder."""
