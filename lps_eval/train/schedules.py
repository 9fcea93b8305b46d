r"""Learning-rate schedules: the rate at each step as a pure function of the step.

A schedule that depends on the step alone needs no state of its own, so a resumed run
sets exactly the rates an uninterrupted one set (the checkpoint holds the step).

``constant``
    :math:`\eta_t = \eta` (the paper's Adam at 5e-4).
``cosine``
    linear warm-up over the first :math:`w = \min(500, T/20)` steps, then half a cosine
    from :math:`\eta` down to :math:`\eta / 20` at the last step :math:`T`
    (Loshchilov & Hutter, ICLR 2017, without restarts):

    .. math::
        \eta_t = \eta \, t / w \quad (t \le w), \qquad
        \eta_t = \eta_{\min} + \tfrac12 (\eta - \eta_{\min})
            \bigl(1 + \cos(\pi (t - w) / (T - w))\bigr) \quad (t > w).

    The warm-up lets a higher peak rate be used without early divergence; the decay
    removes the last few dB of reconstruction noise that a constant rate leaves.
"""

from __future__ import annotations

import math

from lps_eval._validation import LpsInputError

__all__ = ["LR_SCHEDULES", "check_lr_schedule", "learning_rate"]

#: Schedule name -> one-line description (help texts and docs read it).
LR_SCHEDULES = {
    "constant": "the same rate at every step",
    "cosine": "linear warm-up (min(500, steps/20) steps), then cosine decay to lr/20",
}
#: The floor of the cosine schedule, relative to the peak rate.
COSINE_FLOOR = 0.05


def check_lr_schedule(name: object) -> str:
    """The schedule's name, or one clear error naming the choices."""
    if name not in LR_SCHEDULES:
        raise LpsInputError(f"lr_schedule must be one of {', '.join(LR_SCHEDULES)}, got {name!r}")
    return str(name)


def learning_rate(step: int, total: int, lr: float, schedule: str) -> float:
    """The rate of optimizer step ``step`` (1-based) of ``total`` under ``schedule``."""
    if schedule == "constant":
        return lr
    warmup = max(1, min(500, total // 20))
    if step <= warmup:
        return lr * step / warmup
    floor = lr * COSINE_FLOOR
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return floor + 0.5 * (lr - floor) * (1.0 + math.cos(math.pi * progress))
