"""Scoring: run the sections that apply and assemble the tidy table.

:func:`score` (implementation in the private module ``_score``) collects the sections of
:func:`~lps_eval.scoring.sections.score_sections`, one explicit, ordered list; options live in
namespaces (:mod:`~lps_eval.scoring.namespaces`). This layer sits above the numerical
core and below the CLI and the report.
"""

from lps_eval.scoring._score import available_metrics, planned_metrics, score
from lps_eval.scoring.sections import ScoreContext, Section, namespace_defaults, score_sections

__all__ = [
    "ScoreContext",
    "Section",
    "available_metrics",
    "namespace_defaults",
    "planned_metrics",
    "score",
    "score_sections",
]
