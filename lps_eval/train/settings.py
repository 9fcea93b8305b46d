"""The settings of a run: hyperparameters checked once, before anything is written.

:func:`check_settings` validates the dict that :func:`lps_eval.train.fit` assembles from
its arguments and the preset (:mod:`lps_eval.train.presets`); the same dict is recorded
in ``config.json`` under ``settings`` and read back by :func:`lps_eval.train.resume`.
"""

from __future__ import annotations

import math
from typing import Any

from lps_eval._validation import LpsInputError, check_positive_int
from lps_eval.train.schedules import check_lr_schedule

__all__ = ["check_settings"]


def check_settings(s: dict[str, Any]) -> dict[str, Any]:
    """Validate hyperparameters in place; one clear LpsInputError for the first bad one.

    Parameters
    ----------
    s : dict
        ``steps, latent_dim, width, hidden, batch_size, eval_size, eval_subset, seed,
        eval_seed, checkpoint_every, eval_every, num_threads, lr, eval_budget`` and the
        objective's settings. ``eval_every=None`` becomes ``steps // 10`` (at least 1).

    Returns
    -------
    dict
        ``s`` with integers and floats normalized.
    """
    for name in ("steps", "latent_dim", "width", "hidden"):
        s[name] = check_positive_int(s[name], name=name)
    s["batch_size"] = check_positive_int(s["batch_size"], name="batch_size", minimum=2)
    s["eval_size"] = check_positive_int(s["eval_size"], name="eval_size", minimum=2)
    s["eval_subset"] = check_positive_int(s["eval_subset"], name="eval_subset", minimum=20)
    for name in ("seed", "eval_seed", "checkpoint_every"):
        s[name] = check_positive_int(s[name], name=name, minimum=0)
    if s["eval_every"] is None:
        s["eval_every"] = max(1, s["steps"] // 10)
    s["eval_every"] = check_positive_int(s["eval_every"], name="eval_every", minimum=0)
    if s["num_threads"] is not None:
        s["num_threads"] = check_positive_int(s["num_threads"], name="num_threads")
    lr = s["lr"]
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and 0 < lr <= 1):
        raise LpsInputError(f"lr must be a number in (0, 1], got {lr}")
    s["lr_schedule"] = check_lr_schedule(s.get("lr_schedule", "constant"))
    budget = s["eval_budget"]
    if not (isinstance(budget, (int, float)) and budget >= 0 and not math.isnan(budget)):
        raise LpsInputError(f"eval_budget must be a fraction >= 0 (inf = no bound), got {budget}")
    s["lr"], s["eval_budget"] = float(lr), float(budget)
    return s


def resolve_objective(s: dict[str, Any], *, shortcuts: bool = True) -> dict[str, Any]:
    """Canonical ``s["objective"]`` and its resolved ``s["objective_params"]``, in place.

    Parameters
    ----------
    s : dict
        Settings with ``objective``, optionally ``objective_params`` (explicit values) and
        the 0.2 shortcuts ``mmd_weight`` (lambda of ``mmd``), ``kernel`` and ``beta``.
    shortcuts : bool
        Apply the shortcuts (one the objective does not have is ignored with a
        deprecation warning). False reads recorded settings: this version's are complete
        in ``objective_params``; 0.2 wrote every shortcut whatever the objective, and
        those that apply fill the parameters, the others are silently ignored.

    Raises
    ------
    LpsInputError
        An unknown objective or parameter, a bad value.
    """
    from lps_eval.train.objectives import normalize_objective, resolve_params

    s["objective"] = normalize_objective(s["objective"])
    legacy = {"lambda": s.get("mmd_weight"), "kernel": s.get("kernel"), "beta": s.get("beta")}
    if "objective_params" in s and not shortcuts:  # recorded by this version: complete
        legacy = {}
    s["objective_params"] = resolve_params(
        s["objective"],
        s.get("objective_params"),
        legacy=legacy,
        unknown_shortcuts="warn" if shortcuts else "ignore",
    )
    return s
