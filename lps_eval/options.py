"""Options declared once: keyword defaults read from a function's signature, "did you
mean" suggestions for names the user mistyped, and renamed keywords that keep working.

Registries (predictors, kernels, priors, supervised metrics) and the scorer's sections
read a function's options from its signature, so a default is written in exactly one
place: the function that uses it.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import warnings
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from lps_eval._validation import LpsDeprecationWarning, LpsInputError

__all__ = ["did_you_mean", "keyword_defaults", "renamed_keywords", "renamed_of"]

F = TypeVar("F", bound=Callable[..., Any])

#: The release that removes keywords renamed in this one.
RENAMED_REMOVED_IN = "0.4"


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


def renamed_keywords(**renames: str) -> Callable[[F], F]:
    """Decorator: accept the old name of a renamed keyword, with a deprecation warning.

    ``@renamed_keywords(num_bins="n_bins")`` lets ``f(..., num_bins=10)`` keep working
    for one release (as ``n_bins=10``, warning once per call). The mapping is kept on the
    function (:func:`renamed_of`), so option namespaces accept the old spelling too.

    Raises
    ------
    LpsInputError
        Both the old and the new name were given.
    """

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise LpsInputError(
                        f"{function.__name__}: give {new}= only ({old}= is its old name)"
                    )
                warnings.warn(
                    f"{function.__name__}({old}=...) is renamed {new}=...; the old name is "
                    f"removed in lps-eval {RENAMED_REMOVED_IN}",
                    LpsDeprecationWarning,
                    stacklevel=2,
                )
                kwargs[new] = kwargs.pop(old)
            return function(*args, **kwargs)

        wrapper.__renamed_keywords__ = dict(renames)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def renamed_of(function: Callable[..., Any]) -> dict[str, str]:
    """Old keyword -> new keyword of a function decorated with :func:`renamed_keywords`."""
    return dict(getattr(function, "__renamed_keywords__", {}))
