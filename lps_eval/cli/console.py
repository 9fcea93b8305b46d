"""Shared command-line conventions: exit codes and the one-line error report.

Every ``lps-eval`` command reports bad input the same way: one line ``error: <message>``
on stderr and exit status :data:`EXIT_INPUT_ERROR`. Commands import :func:`fail` from
here instead of from each other.
"""

from __future__ import annotations

import sys
from typing import NoReturn

__all__ = [
    "EXIT_GATE_FAILED",
    "EXIT_INPUT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TERMINATED",
    "fail",
]

#: Success.
EXIT_OK = 0
#: A CI gate ran and at least one threshold failed.
EXIT_GATE_FAILED = 1
#: Bad input, a missing optional dependency, a refused operation (one stderr line).
EXIT_INPUT_ERROR = 2
#: Stopped by SIGINT (Ctrl-C): 128 + 2, the shell convention.
EXIT_INTERRUPTED = 130
#: Stopped by SIGTERM: 128 + 15.
EXIT_TERMINATED = 143


def fail(message: str, code: int = EXIT_INPUT_ERROR) -> NoReturn:
    """Print ``error: <message>`` as one line on stderr and exit with ``code``.

    Newlines in ``message`` are folded into spaces so the report stays one line.
    """
    line = " ".join(str(message).split())
    print(f"error: {line}", file=sys.stderr, flush=True)
    raise SystemExit(code)
