"""``lps-eval metrics``: what ``score`` can compute, by section, or its options."""

from __future__ import annotations

import click

__all__ = ["metrics_command"]


@click.command("metrics")
@click.option(
    "--options", "show_options", is_flag=True, help="List every option namespace with defaults."
)
def metrics_command(show_options: bool) -> None:
    """List the metrics `score` can compute, by section (or the options, by namespace)."""
    from lps_eval.metrics import multi_model_specs
    from lps_eval.scoring import available_metrics, namespace_defaults

    if show_options:
        for space, defaults in namespace_defaults().items():
            values = ", ".join(f"{k}={v!r}" for k, v in defaults.items())
            click.echo(f"{space}: {values}")
        return
    for section, names in available_metrics().items():
        click.echo(f"{section}: {', '.join(names)}")
    several = multi_model_specs()
    if several:  # metrics of several models at once (UDR): computed by compare, not score
        click.echo(f"several models (compare): {', '.join(several)}")
