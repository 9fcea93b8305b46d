"""Options declared once: keyword defaults read from a function's signature, and
"did you mean" suggestions for names the user mistyped.

Registries (predictors, kernels, priors, supervised metrics) and the scorer's sections
read a function's options from its signature, so a default is written in exactly one
place: the function that uses it.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["did_you_mean", "keyword_defaults"]


def keyword_defaults(
    function: Callable[..., Any], *, exclude: Iterable[str] = ()
) -> dict[str, Any]:
    """Keyword options of ``function`` with their defaults, in signature order.

    Parameters without a default (the data arguments) and the names in ``exclude`` are
    left out.
    """
    skip = set(exclude)
    return {
        name: param.default
        for name, param in inspect.signature(function).parameters.items()
        if param.default is not inspect.Parameter.empty
        and param.kind in (param.KEYWORD_ONLY, param.POSITIONAL_OR_KEYWORD)
        and name not in skip
    }


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` for the closest choice, else ``""``.

    Case and ``-`` / ``_`` are ignored (``fail_if`` finds ``fail-if``, ``MIG`` finds ``mig``).
    """

    def fold(text: str) -> str:
        return str(text).lower().replace("-", "_")

    folded = {fold(c): str(c) for c in choices}
    key = fold(name)
    if key in folded and folded[key] != name:
        return f" (did you mean {folded[key]!r}?)"
    close = difflib.get_close_matches(key, list(folded), n=1, cutoff=0.6)
    return f" (did you mean {folded[close[0]]!r}?)" if close else ""
