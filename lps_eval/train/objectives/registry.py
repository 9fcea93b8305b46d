"""The objectives' registry: registration, names, parameters, construction.

Objective modules register their class with :func:`register_objective`; everything that
lists, validates or builds objectives (the CLI, the trainer, the docs) goes through the
functions here, re-exported by :mod:`lps_eval.train.objectives`.
"""

from __future__ import annotations

import difflib
import warnings
from typing import Any

import numpy as np

from lps_eval._validation import LpsDeprecationWarning, LpsInputError
from lps_eval.train.objectives.base import RECONSTRUCTION_LOSSES, Objective

__all__ = [
    "DISPLAY_ORDER",
    "RESERVED_COLUMNS",
    "make_objective",
    "normalize_objective",
    "objective_specs",
    "parse_assignments",
    "register_objective",
    "resolve_params",
    "resolve_prior",
]

_SPECS: dict[str, type[Objective]] = {}
_ALIASES: dict[str, str] = {}
#: Columns of history.csv that the trainer writes itself (the per-step log and the
#: in-training evaluation); an objective's ``extra_columns`` must not reuse them.
RESERVED_COLUMNS = frozenset(
    {"step", "loss", "recon", "reg", "seconds"}
    | {"lps_linear", "lps_hgb", "mmd2", "nmse_db", "eval_seconds"}
)


def register_objective(cls: type[Objective]) -> type[Objective]:
    """Class decorator: make ``cls`` available as ``objective=cls.name`` (and its aliases).

    Raises
    ------
    ValueError
        No name, a name or alias already taken, or two parameters with one name.
    """
    names = [p.name for p in cls.params]
    if not cls.name or len(set(names)) != len(names):
        raise ValueError(f"objective {cls.__name__} needs a name and distinct parameter names")
    clash = RESERVED_COLUMNS.intersection(cls.extra_columns)
    if clash:
        raise ValueError(f"objective {cls.name}: extra columns {sorted(clash)} are reserved")
    for key in (cls.name, *cls.aliases):
        owner = _SPECS.get(key) or _SPECS.get(_ALIASES.get(key, ""))
        if owner is not None and owner is not cls:
            raise ValueError(f"objective name {key!r} is taken by {owner.__name__}")
    _SPECS[cls.name] = cls
    _ALIASES.update({alias: cls.name for alias in cls.aliases})
    return cls


#: The order of help texts and the docs' table (objectives registered elsewhere follow).
DISPLAY_ORDER = (
    "ae",
    "mmd",
    "ae_kld",
    "kl",
    "beta_tcvae",
    "factor_vae",
    "dip_vae_i",
    "dip_vae_ii",
    "annealed_vae",
    "info_vae",
)


def objective_specs() -> dict[str, type[Objective]]:
    """Every registered objective class by name: :data:`DISPLAY_ORDER`, then the rest."""
    ranked = sorted(_SPECS, key=lambda n: DISPLAY_ORDER.index(n) if n in DISPLAY_ORDER else 99)
    return {name: _SPECS[name] for name in ranked}


def _did_you_mean(name: str, choices: Any) -> str:
    close = difflib.get_close_matches(str(name).lower(), list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def normalize_objective(name: str) -> str:
    """Canonical objective name (``vae``/``beta_vae`` -> ``kl``, ``wae`` -> ``mmd``, ...).

    Raises
    ------
    LpsInputError
        An unknown name (with the closest registered one).
    """
    key = str(name).strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in _SPECS:
        raise LpsInputError(
            f"unknown objective {name!r}{_did_you_mean(key, [*_SPECS, *_ALIASES])}; choose "
            f"one of {', '.join(objective_specs())}"
        )
    return key


def parse_assignments(items: Any) -> dict[str, str]:
    """``["beta=4", "estimator=mss"]`` -> ``{"beta": "4", "estimator": "mss"}``.

    Raises
    ------
    LpsInputError
        An item without ``=`` or a key given twice.
    """
    out: dict[str, str] = {}
    for item in items or ():
        key, sep, value = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise LpsInputError(f"--objective-param takes KEY=VALUE, got {item!r}")
        if key in out:
            raise LpsInputError(f"--objective-param {key} is given twice")
        out[key] = value.strip()
    return out


def resolve_params(
    name: str,
    params: dict[str, Any] | None = None,
    *,
    legacy: dict[str, Any] | None = None,
    unknown_shortcuts: str = "warn",
) -> dict[str, Any]:
    """The objective's parameters: declared defaults, then ``legacy``, then ``params``.

    Parameters
    ----------
    name : str
        An objective name or alias.
    params : dict, optional
        Explicit values (strings from the CLI are converted); unknown keys are refused.
    legacy : dict, optional
        The 0.2 shortcuts (``beta``, ``lambda`` from ``mmd_weight``, ``kernel``); None
        values are "not given".
    unknown_shortcuts : {"warn", "ignore"}
        A given shortcut that the objective does not have (``beta`` with ``mmd``), which
        0.2 ignored: ``warn`` ignores it with an :class:`LpsDeprecationWarning` (an error
        from 0.4); ``ignore`` is for reading settings recorded by 0.2, which hold every
        shortcut whatever the objective.

    Raises
    ------
    LpsInputError
        An unknown parameter (with "did you mean"), a bad value, a shortcut given twice.
    """
    cls = _SPECS[normalize_objective(name)]
    declared = {p.name: p for p in cls.params}
    values = {p.name: p.default for p in cls.params}
    for key, value in (legacy or {}).items():
        if value is None:
            continue
        if key not in declared:
            if unknown_shortcuts == "warn":
                flag = {"lambda": "mmd_weight"}.get(key, key)
                warnings.warn(
                    f"{flag}={value!r} is ignored: objective {cls.name!r} has no parameter "
                    f"{key!r}; passing it is deprecated (an error in lps-eval 0.4)",
                    LpsDeprecationWarning,
                    stacklevel=4,
                )
            continue
        if params and key in params:
            raise LpsInputError(
                f"{key} is given twice (as a shortcut and in objective_params); give it once"
            )
        values[key] = declared[key].parse(value, objective=cls.name)
    for key, value in (params or {}).items():
        if key not in declared:
            raise LpsInputError(
                f"objective {cls.name!r} has no parameter {key!r}"
                f"{_did_you_mean(key, declared)}; its parameters: {_listing(cls)}"
            )
        values[key] = declared[key].parse(value, objective=cls.name)
    return values


def _listing(cls: type[Objective]) -> str:
    return ", ".join(p.describe() for p in cls.params) or "(none)"


def resolve_prior(prior: Any, latent_dim: int) -> Any:
    """A prior object with ``sample(n, d, rng)`` from a spec string or an object."""
    if hasattr(prior, "sample") and not isinstance(prior, str):
        return prior
    from lps_eval.prior_matching import parse_prior

    return parse_prior(prior, n_dims=latent_dim)


def _is_gaussian(prior: Any) -> bool:
    return isinstance(prior, str) and prior.strip().lower() == "gaussian"


def make_objective(
    name: str,
    *,
    latent_dim: int,
    prior: Any = "gaussian",
    params: dict[str, Any] | None = None,
    mmd_weight: float | None = None,
    kernel: str | None = None,
    beta: float | None = None,
    recon: str = "bce",
    recon_reduction: str | None = None,
    rng: np.random.Generator,
    dataset_size: int | None = None,
    unknown_shortcuts: str = "warn",
) -> Objective:
    """Build and validate an objective.

    Parameters
    ----------
    name : str
        A registered name or alias (:func:`objective_specs`).
    latent_dim : int
        d, needed to parse per-dimension priors such as ``hybrid(...)``.
    prior : str or object
        Any prior spec for objectives that match samples (``mmd``); objectives with a
        closed-form KL support only ``gaussian``; ignored by ``ae``.
    params : dict, optional
        Hyper-parameters (see each objective's ``params``); defaults for the others.
    mmd_weight, kernel, beta : optional
        Shortcuts for the ``lambda``, ``kernel`` and ``beta`` parameters (0.2 keywords).
    recon : {"bce", "mse"}
    recon_reduction : {"mean", "sum"}, optional
        Default: the objective's (``mean`` for autoencoders, ``sum`` for VAEs).
    rng : numpy.random.Generator
        Source of prior samples.
    dataset_size : int, optional
        Training images (the stratified estimator of ``beta_tcvae`` needs it).
    unknown_shortcuts : {"warn", "ignore"}
        See :func:`resolve_params`.

    Raises
    ------
    LpsInputError
        Any bad name, parameter, likelihood, reduction or prior.
    """
    key = normalize_objective(name)
    cls = _SPECS[key]
    legacy = {"lambda": mmd_weight, "kernel": kernel, "beta": beta}
    values = resolve_params(key, params, legacy=legacy, unknown_shortcuts=unknown_shortcuts)
    if recon not in RECONSTRUCTION_LOSSES:
        raise LpsInputError(
            f"recon must be one of {', '.join(RECONSTRUCTION_LOSSES)}, got {recon!r}"
        )
    reduction = recon_reduction or cls.default_reduction
    if reduction not in ("mean", "sum"):
        raise LpsInputError(f"recon_reduction must be 'mean' or 'sum', got {reduction!r}")
    prior_obj = None
    if cls.any_prior:
        prior_obj = resolve_prior(prior, latent_dim)
    elif cls.uses_prior:
        if not _is_gaussian(prior):
            raise LpsInputError(
                f"objective {key} supports only the gaussian prior, got {prior!r}; use "
                "--objective mmd for other priors"
            )
        if "kernel" in values:  # an MMD term against N(0, I) samples
            prior_obj = resolve_prior("gaussian", latent_dim)
    return cls(
        params=values,
        latent_dim=latent_dim,
        prior=prior_obj,
        recon=recon,
        recon_reduction=reduction,
        rng=rng,
        dataset_size=dataset_size,
    )
