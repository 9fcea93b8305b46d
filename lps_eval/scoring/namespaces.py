"""Options of :func:`lps_eval.score`, each in the namespace of the section that reads it.

Three spellings are accepted and mean the same::

    score(z, lps={"n_boot": 500}, mmd={"kernel": "imq"})
    score(z, **{"lps.n_boot": 500, "mmd.kernel": "imq"})
    lps-eval score z.npy -O lps.n_boot=500 -O mmd.kernel=imq

The flat names of 0.1 (``max_samples``, ``kernel``, ``permutations``, ... which silently
drove two sections at once) still work for this release, with an
:class:`~lps_eval.LpsDeprecationWarning` naming the namespaced spelling.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

from lps_eval._validation import LpsDeprecationWarning, LpsInputError
from lps_eval.options import did_you_mean
from lps_eval.scoring.option_rules import check_option

__all__ = ["DEPRECATED_FLAT_OPTIONS", "SHORTHANDS", "resolve_options"]

#: Flat names that stay first-class (the headline choice of LPS; CLI ``--predictor``).
SHORTHANDS: dict[str, tuple[str, str]] = {
    "predictor": ("lps", "predictor"),
    "predictor_params": ("lps", "predictor_params"),
}

_BOTH_TESTS = ("mmd", "independence")

#: 0.1 flat option name -> the namespaced options it now sets (removed in 0.3).
DEPRECATED_FLAT_OPTIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "test_size": (("lps", "test_size"),),
    "lps_max_samples": (("lps", "max_samples"),),
    "n_boot": (("lps", "n_boot"),),
    "confidence": (("lps", "confidence"),),
    "null": (("lps", "null"),),
    "null_dims": (("lps", "null_dims"),),
    "kernel": tuple((ns, "kernel") for ns in _BOTH_TESTS),
    "bandwidth": tuple((ns, "bandwidth") for ns in _BOTH_TESTS),
    "estimator": tuple((ns, "estimator") for ns in _BOTH_TESTS),
    "permutations": tuple((ns, "permutations") for ns in _BOTH_TESTS),
    "max_samples": tuple((ns, "max_samples") for ns in _BOTH_TESTS),
    "per_dim": (("mmd", "per_dim"),),
    "per_dim_max_samples": (("mmd", "per_dim_max_samples"),),
    "closed_form": (("mmd", "closed_form"),),
    "mi_bins": (("independence", "n_bins"),),
    "dci_mode": (("dci", "mode"),),
}


def _set(
    resolved: dict[str, dict[str, Any]],
    defaults: Mapping[str, Mapping[str, Any]],
    ns: str,
    key: str,
    value: Any,
    renames: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    if ns not in defaults:
        raise LpsInputError(
            f"unknown option namespace {ns!r}{did_you_mean(ns, defaults)}; "
            f"namespaces: {', '.join(defaults)}"
        )
    new = (renames or {}).get(ns, {}).get(key)
    if new is not None and key not in defaults[ns]:
        warnings.warn(
            f"option {ns}.{key} is renamed {ns}.{new}; the old name is removed in lps-eval 0.4",
            LpsDeprecationWarning,
            stacklevel=4,
        )
        key = new
    if key not in defaults[ns]:
        raise LpsInputError(
            f"unknown option {ns}.{key}{did_you_mean(key, defaults[ns])}; "
            f"options of {ns!r}: {', '.join(defaults[ns])}"
        )
    check_option(ns, key, value, defaults[ns][key])  # before any work
    resolved[ns][key] = value


def resolve_options(
    options: Mapping[str, Any],
    defaults: Mapping[str, Mapping[str, Any]],
    renames: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Every namespace's options: its defaults updated with what the user gave.

    Parameters
    ----------
    options : mapping
        ``{namespace: {key: value}}``, ``{"namespace.key": value}`` or a deprecated flat
        name (see :data:`DEPRECATED_FLAT_OPTIONS`).
    defaults : mapping
        ``{namespace: {key: default}}`` (see :func:`lps_eval.scoring.sections.namespace_defaults`).
    renames : mapping, optional
        ``{namespace: {old key: new key}}`` of renamed options, accepted with a warning
        (default: :func:`lps_eval.scoring.sections.namespace_renames`).

    Raises
    ------
    LpsInputError
        For an unknown namespace or key (with the closest valid spelling), or a value the
        option cannot hold (:mod:`lps_eval.scoring.option_rules`), before any work.
    """
    if renames is None:
        from lps_eval.scoring.sections import namespace_renames

        renames = namespace_renames()
    resolved = {ns: dict(values) for ns, values in defaults.items()}
    for name, value in options.items():
        if name in defaults and isinstance(value, Mapping):
            for key, item in value.items():
                _set(resolved, defaults, name, str(key), item, renames)
        elif "." in name:
            ns, key = name.split(".", 1)
            _set(resolved, defaults, ns, key, value, renames)
        elif name in SHORTHANDS:
            _set(resolved, defaults, *SHORTHANDS[name], value)
        elif name in DEPRECATED_FLAT_OPTIONS:
            targets = DEPRECATED_FLAT_OPTIONS[name]
            spelled = " and ".join(f"{ns}.{key}" for ns, key in targets)
            warnings.warn(
                f"option {name!r} is deprecated and will be removed in 0.3; use {spelled} "
                f"(Python: score(..., **{{'{targets[0][0]}.{targets[0][1]}': ...}}); "
                f"CLI: -O {targets[0][0]}.{targets[0][1]}=...)",
                LpsDeprecationWarning,
                stacklevel=3,
            )
            for ns, key in targets:
                if ns in resolved:  # a metric namespace exists only if registered
                    _set(resolved, defaults, ns, key, value)
        else:
            flat = [f"{ns}.{key}" for ns, keys in defaults.items() for key in keys]
            raise LpsInputError(
                f"unknown option {name!r}{did_you_mean(name, [*flat, *defaults])}; options are "
                "namespaced as SECTION.KEY (e.g. lps.n_boot, mmd.max_samples); "
                f"namespaces: {', '.join(defaults)}"
            )
    return resolved
