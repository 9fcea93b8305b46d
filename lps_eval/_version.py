"""The installed version of lps-eval (one place, imported by the package and results)."""

__version__ = "0.3.0"
