"""What every option of :func:`lps_eval.score` may hold, checked when options are parsed.

0.2.1 checked an option only when the section that reads it ran: ``-O mmd.block=-5``
returned a wrong MMD with exit 0, ``-O mmd.block=0`` ended in an unexpected error, both
after the other sections' work. Now every value a user gives is checked here, in
:func:`~lps_eval.scoring.namespaces.resolve_options`, before any work:

1. a **rule by option name** (:data:`RULES`): one name means one kind of value in every
   namespace (``n_boot`` is a resample count wherever it appears, ``confidence`` a
   fraction), so a rule is written once and new metrics that reuse a name inherit it;
   a rule keyed ``namespace.name`` applies to that namespace only (an MMD ``estimator``
   is not an MI ``estimator``) and wins over the name's rule;
2. otherwise **the type of the default**: a flag must be a bool, a count an integer, a
   number a finite number, a choice a string.

The functions keep their own checks (they are called directly too); these rules may be
stricter, never looser.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from lps_eval._validation import MAX_PERMUTATIONS, LpsInputError, check_permutations
from lps_eval.options import did_you_mean

__all__ = ["RULES", "check_option"]

Rule = Callable[[str, Any], None]


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def integer(minimum: int, maximum: int | None = None, *, none: bool = False) -> Rule:
    """An integer in ``[minimum, maximum]`` (or None when ``none``)."""
    span = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    what = f"an integer {span}" + (" or none" if none else "")

    def rule(name: str, value: Any) -> None:
        if value is None and none:
            return
        if not _is_int(value) or value < minimum or (maximum is not None and value > maximum):
            raise LpsInputError(f"{name} must be {what}, got {value!r}")

    return rule


def fraction(*, none: bool = False, closed: bool = False) -> Rule:
    """A number in (0, 1) (``[0, 1]`` when ``closed``), or None when ``none``."""
    what = ("a number in [0, 1]" if closed else "a number in (0, 1)") + (" or none" if none else "")

    def rule(name: str, value: Any) -> None:
        if value is None and none:
            return
        ok = _is_number(value) and (0.0 <= value <= 1.0 if closed else 0.0 < value < 1.0)
        if not ok:
            raise LpsInputError(f"{name} must be {what}, got {value!r}")

    return rule


def positive_number(*, none: bool = False) -> Rule:
    """A finite number > 0 (or None when ``none``)."""

    def rule(name: str, value: Any) -> None:
        if value is None and none:
            return
        if not _is_number(value) or not math.isfinite(float(value)) or value <= 0:
            extra = " or none" if none else ""
            raise LpsInputError(f"{name} must be a finite number > 0{extra}, got {value!r}")

    return rule


def choice(*choices: Any) -> Rule:
    """One of ``choices`` (compared by value)."""

    def rule(name: str, value: Any) -> None:
        if not any(value == c and type(value) is type(c) for c in choices):
            shown = ", ".join(repr(c) for c in choices)
            hint = did_you_mean(str(value), [str(c) for c in choices])
            raise LpsInputError(f"{name} must be one of {shown}, got {value!r}{hint}")

    return rule


def _kernel(name: str, value: Any) -> None:
    from lps_eval.prior_matching.kernels import KERNELS

    if not isinstance(value, str) or value not in KERNELS:
        hint = did_you_mean(str(value), KERNELS)
        raise LpsInputError(
            f"{name} must be a kernel name{hint}; choose from: {', '.join(KERNELS)}"
        )


def _estimator(name: str, value: Any) -> None:
    from lps_eval.prior_matching import ESTIMATORS

    choice(*ESTIMATORS)(name, value)


def _permutations(name: str, value: Any) -> None:
    try:
        check_permutations(value)
    except LpsInputError:
        raise LpsInputError(
            f"{name} must be an integer in [0, {MAX_PERMUTATIONS}] (0 skips the test), "
            f"got {value!r}"
        ) from None


def _lps_max_samples(name: str, value: Any) -> None:
    """LPS's row cap: "auto" (every row for linear, 10,000 otherwise), an integer or None."""
    if value == "auto":
        return
    try:
        integer(2, none=True)(name, value)
    except LpsInputError:
        raise LpsInputError(
            f"{name} must be 'auto', an integer >= 2 or none (every row), got {value!r}"
        ) from None


def _training_sizes(name: str, value: Any) -> None:
    """The downstream probes' training sizes: one integer, a list, or "10,100" text."""
    from lps_eval.metrics.classifier_probes import check_sizes

    check_sizes(value, name=name)


def _mapping(name: str, value: Any) -> None:
    if value is not None and not isinstance(value, dict):
        raise LpsInputError(
            f"{name} must be a mapping of options (CLI: -P KEY=VALUE), got {value!r}"
        )


#: Rules by option name (the same name means the same kind of value in every namespace).
RULES: dict[str, Rule] = {
    "block": integer(1),
    "n_boot": integer(0, 100_000),
    "permutations": _permutations,
    "confidence": fraction(),
    "test_size": fraction(none=True),
    "max_samples": integer(2, none=True),
    "per_dim_max_samples": integer(2, none=True),
    "null_dims": integer(1, none=True),
    "folds": integer(2, 100, none=True),
    "max_dims": integer(2, none=True),
    "n_bins": integer(2, 1000),
    "bandwidth": positive_number(none=True),
    "lps.max_samples": _lps_max_samples,
    "downstream.num_train": _training_sizes,
    "reduced_downstream.num_train": _training_sizes,
    "strong_downstream.num_train": _training_sizes,
    "mmd.kernel": _kernel,
    "independence.kernel": _kernel,
    "mmd.estimator": _estimator,
    "independence.estimator": _estimator,
    "closed_form": choice("auto", True, False),
    "null_method": choice("auto", "shuffle", "closed_form"),
    "interval": choice("auto", "bootstrap", "delta"),
    "predictor_params": _mapping,
    "batch_size": integer(1),
    "num_train": integer(1),
    "num_test": integer(1),
    "num_eval": integer(1),
    "num_variance_estimate": integer(2),
    "min_rows": integer(1),
    "diff_quantile": fraction(),
    "prune_threshold": positive_number(),
    "C": positive_number(),
}

#: Options whose values are objects the section checks itself (a predictor, a split).
FREE = frozenset({"predictor", "split"})


def _by_default(name: str, value: Any, default: Any) -> None:
    """The type the default implies (None defaults imply nothing)."""
    if default is None or name in FREE:
        return
    if isinstance(default, bool):
        if not isinstance(value, (bool, np.bool_)):
            raise LpsInputError(f"{name} must be true or false, got {value!r}")
    elif isinstance(default, int):
        if not _is_int(value):
            raise LpsInputError(f"{name} must be an integer, got {value!r}")
    elif isinstance(default, float):
        if not _is_number(value) or not math.isfinite(float(value)):
            raise LpsInputError(f"{name} must be a finite number, got {value!r}")
    elif isinstance(default, str) and not isinstance(value, str):
        raise LpsInputError(f"{name} must be a string, got {value!r}")


def check_option(namespace: str, key: str, value: Any, default: Any) -> None:
    """Refuse a value that option ``namespace.key`` cannot hold (see the module docstring).

    Raises
    ------
    LpsInputError
        Naming the option as the user writes it (``mmd.block``) and what it may hold.
    """
    name = f"{namespace}.{key}"
    rule = RULES.get(name, RULES.get(key))
    if rule is not None:
        rule(name, value)
    else:
        _by_default(name, value, default)
