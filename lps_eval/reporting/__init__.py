"""One self-contained HTML report of one or several latent spaces: :func:`report`.

Figures come from :mod:`lps_eval.plot` (the ``plot`` extra: matplotlib); numbers from
:func:`lps_eval.compare`. matplotlib is imported only when a report is built.
"""

from lps_eval.reporting.builder import ReportResult, report

__all__ = ["ReportResult", "report"]
