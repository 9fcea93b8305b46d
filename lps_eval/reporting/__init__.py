"""Reports and figures: one self-contained HTML report of one or several latent spaces.

- :func:`report` (:mod:`~lps_eval.reporting.builder`): numbers from :func:`lps_eval.compare`,
  figures drawn into one HTML file;
- :mod:`~lps_eval.reporting.figures`: every figure (the ``plot`` extra: matplotlib,
  imported only when a figure is drawn); importing this package installs
  ``result.plot()``.
"""

from lps_eval.reporting import figures
from lps_eval.reporting.builder import ReportResult, report

__all__ = ["ReportResult", "figures", "report"]
