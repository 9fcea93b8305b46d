"""The "supervised" section of :func:`lps_eval.score`: every metric, study defaults."""

from __future__ import annotations

from lps_eval.metrics import METRIC_ROWS, METRICS
from lps_eval.results import MetricResult
from lps_eval.score import ScoreContext, register_section

__all__ = ["run_supervised"]


def _run(name: str, context: ScoreContext) -> MetricResult:
    params = {"mode": context.options.get("dci_mode", "fast")} if name == "dci" else {}
    return METRICS[name](context.z, context.factors, seed=context.seed, **params)


def run_supervised(context: ScoreContext) -> list[MetricResult]:
    """Run every supervised metric on ``context.z`` / ``context.factors`` (seeded).

    Options read from ``context.options``: ``dci_mode`` ("fast" default, or "parity").
    """
    return [_run(name, context) for name in METRICS]


# One non-default section per metric function, registered first: selecting a single
# metric (``metrics=["mig"]``, ``--metrics dci_completeness``) then runs only that function
# instead of the whole suite. ``metrics=None`` runs the default "supervised" section.
for _name, _rows in METRIC_ROWS.items():
    register_section(
        _name,
        lambda context, _name=_name: [_run(_name, context)],
        metrics=_rows,
        needs_factors=True,
        default=False,
        options=("dci_mode",),
    )

register_section(
    "supervised",
    run_supervised,
    metrics=[m for rows in METRIC_ROWS.values() for m in rows],
    needs_factors=True,
    options=("dci_mode",),
)
