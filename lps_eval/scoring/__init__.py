"""Scoring: run the sections that apply and assemble the tidy table; many models at once.

- :func:`score` (implementation in the private module ``_score``) collects the sections of
  :func:`~lps_eval.scoring.sections.score_sections`, one explicit, ordered list; options
  live in namespaces (:mod:`~lps_eval.scoring.namespaces`);
- :func:`score_many` (:mod:`~lps_eval.scoring.sweep`) and :func:`compare`
  (:mod:`~lps_eval.scoring.comparison`) score many models on one engine: a task per model
  on the schedulers of :mod:`lps_eval.schedulers`, with a cache;
- :mod:`~lps_eval.scoring.gate`: ``--fail-if`` thresholds and ``[tool.lps-eval]``.

This layer sits above the numerical core and below the CLI, the report and the trainer.
"""

from lps_eval.scoring._score import available_metrics, planned_metrics, score
from lps_eval.scoring.comparison import compare, format_summary, summarize
from lps_eval.scoring.sections import ScoreContext, Section, namespace_defaults, score_sections
from lps_eval.scoring.sweep import score_many

__all__ = [
    "ScoreContext",
    "Section",
    "available_metrics",
    "compare",
    "format_summary",
    "namespace_defaults",
    "planned_metrics",
    "score",
    "score_many",
    "score_sections",
    "summarize",
]
