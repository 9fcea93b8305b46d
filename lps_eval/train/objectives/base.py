"""What every objective shares: declared hyper-parameters, the likelihood, Gaussian helpers.

An objective is one small class (a subclass of :class:`Objective`) and one registration
(:func:`~lps_eval.train.objectives.register_objective`). It declares its hyper-parameters
as :class:`Param` entries (name, default, help text, type and range); the CLI's help, the
``--objective-param`` checks, the error messages, the docs' table and ``config.json`` all
read them from there.

The reconstruction term R is chosen by name (:data:`RECONSTRUCTION_LOSSES`): ``bce``, the
Bernoulli negative log-likelihood on logits (the dSprites convention), or ``mse``, the
squared error of the sigmoid output. ``R_mean`` averages over pixels (the "AE loss", the
scale on which the paper's lambda = 0.3 is defined), ``R_sum`` sums over pixels (the
ELBO, the scale on which beta is defined); both average over the batch.

torch is imported inside the functions, so the registry (and ``lps-eval train --help``)
loads without it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from lps_eval._validation import LpsInputError

__all__ = [
    "RECONSTRUCTION_LOSSES",
    "Objective",
    "Param",
    "gaussian_log_density",
    "kl_per_dimension",
    "kl_to_standard_normal",
    "recon_loss",
]


@dataclass(frozen=True)
class Param:
    """One declared hyper-parameter of an objective.

    Attributes
    ----------
    name : str
        Key in ``objective_params`` / ``--objective-param KEY=VALUE``.
    default : float, int or str
    help : str
        One line: what it is, with the paper's symbol.
    kind : {"float", "int", "choice"}
    low, high : float, optional
        Inclusive bounds for numbers (None = unbounded).
    choices : tuple of str or callable returning one
        The allowed values of a ``choice``.
    """

    name: str
    default: Any
    help: str
    kind: str = "float"
    low: float | None = 0.0
    high: float | None = None
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] = field(default=())

    def allowed(self) -> tuple[str, ...]:
        """The allowed values of a ``choice`` parameter."""
        return tuple(self.choices() if callable(self.choices) else self.choices)

    def describe(self) -> str:
        """``name=default`` and the allowed range, for help texts and errors."""
        if self.kind == "choice":
            if callable(self.choices):  # a live registry (kernels): not loaded for a help text
                return f"{self.name}={self.default}"
            return f"{self.name}={self.default} ({'|'.join(self.allowed())})"
        bounds = ""
        if self.low is not None or self.high is not None:
            lo = "-inf" if self.low is None else f"{self.low:g}"
            hi = "inf" if self.high is None else f"{self.high:g}"
            bounds = f" in [{lo}, {hi}]"
        return f"{self.name}={self.default:g}{bounds}"

    def parse(self, value: Any, *, objective: str) -> Any:
        """``value`` (a CLI string or a Python value) checked and converted.

        Raises
        ------
        LpsInputError
            Not of the declared type, outside the range, or not one of the choices.
        """
        where = f"objective {objective!r} parameter {self.name}"
        if self.kind == "choice":
            text = str(value).strip().lower()
            if text not in self.allowed():
                raise LpsInputError(
                    f"{where} must be one of {', '.join(self.allowed())}, got {value!r}"
                )
            return text
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise LpsInputError(f"{where} must be a number, got {value!r}") from None
        if isinstance(value, bool) or not math.isfinite(number):
            raise LpsInputError(f"{where} must be a finite number, got {value!r}")
        if self.kind == "int":
            if number != int(number):
                raise LpsInputError(f"{where} must be an integer, got {value!r}")
            number = int(number)
        if (self.low is not None and number < self.low) or (
            self.high is not None and number > self.high
        ):
            raise LpsInputError(
                f"{where} must lie in {self.describe().split(' in ')[1]}, got {value}"
            )
        return number


def recon_loss(logits: Any, x: Any, *, kind: str, reduction: str) -> Any:
    """Reconstruction loss, averaged over the batch; summed or averaged over pixels.

    ``kind="bce"``: -[x log s(l) + (1 - x) log(1 - s(l))] with s the sigmoid (stable on
    logits); ``kind="mse"``: (x - s(l))^2.
    """
    return RECONSTRUCTION_LOSSES[kind](logits, x, reduction)


def _reduce(per_pixel: Any, reduction: str) -> Any:
    per_image = per_pixel.flatten(1)
    per_image = per_image.sum(1) if reduction == "sum" else per_image.mean(1)
    return per_image.mean()


def _bernoulli(logits: Any, x: Any, reduction: str) -> Any:
    import torch.nn.functional as F

    return _reduce(F.binary_cross_entropy_with_logits(logits, x, reduction="none"), reduction)


def _squared_error(logits: Any, x: Any, reduction: str) -> Any:
    import torch

    return _reduce((torch.sigmoid(logits) - x) ** 2, reduction)


#: Likelihoods by name: ``name -> f(logits, x, reduction)`` (``config.json`` records the name).
RECONSTRUCTION_LOSSES: dict[str, Callable[[Any, Any, str], Any]] = {
    "bce": _bernoulli,
    "mse": _squared_error,
}


def kl_per_dimension(mean: Any, logvar: Any) -> Any:
    """KL(N(mean_j, exp(logvar_j)) || N(0, 1)) per row and dimension, shape (n, d).

    0.5 (mu^2 + sigma^2 - log sigma^2 - 1); torch tensors or numpy arrays.
    """
    exp = np.exp if isinstance(mean, np.ndarray) else (lambda t: t.exp())
    return 0.5 * (mean**2 + exp(logvar) - logvar - 1.0)


def kl_to_standard_normal(mean: Any, logvar: Any) -> Any:
    """KL(N(mean, exp(logvar)) || N(0, I)) summed over dimensions, averaged over the batch."""
    return 0.5 * (mean.pow(2) + logvar.exp() - logvar - 1.0).sum(1).mean()


def gaussian_log_density(z: Any, mean: Any, logvar: Any) -> Any:
    """Elementwise log N(z; mean, exp(logvar)) (torch; broadcasts)."""
    return -0.5 * (math.log(2 * math.pi) + logvar + (z - mean) ** 2 * (-logvar).exp())


class Objective:
    """A training loss with its declared hyper-parameters.

    Subclasses set the class attributes and implement :meth:`loss`; objectives that
    train a second network (FactorVAE's discriminator) also implement :meth:`build`,
    :meth:`after_backward`, :meth:`apply_updates`, :meth:`state_dict` and
    :meth:`load_state_dict`, so that checkpoints hold its weights and optimizer.

    Class attributes
    ----------------
    name, aliases, summary, formula, reference : str
        Registry name, other accepted names, one line, the loss, the paper.
    params : tuple of Param
    stochastic : bool
        True for a Gaussian posterior sampled during training (VAE family): the run
        directory then also saves ``z_sampled`` and the per-dimension ``kl``.
    default_reduction : {"mean", "sum"}
        Pixel reduction of R (``mean`` for autoencoders, ``sum`` for ELBOs).
    any_prior : bool
        True when the prior can be any prior spec (MMD to samples); otherwise only
        ``gaussian`` (closed-form KL to N(0, I)), or unused (``uses_prior = False``).
    uses_prior : bool
    batches_per_step : int
        Fresh training batches per optimizer step (2 for FactorVAE).
    extra_columns : tuple of str
        Per-step log values beyond ``loss, recon, reg`` (``history.csv`` columns).

    Parameters
    ----------
    params : dict
        Checked hyper-parameter values (see :func:`~lps_eval.train.objectives.resolve_params`).
    latent_dim : int
    prior : object or None
        A prior object with ``sample(n, d, rng)`` (MMD objectives) or None.
    recon : str
        A name of :data:`RECONSTRUCTION_LOSSES`.
    recon_reduction : {"mean", "sum"}
    rng : numpy.random.Generator
        Source of prior samples.
    dataset_size : int, optional
        Training images (beta-TCVAE's stratified estimator needs it).
    """

    name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    summary: ClassVar[str] = ""
    formula: ClassVar[str] = ""
    reference: ClassVar[str] = ""
    params: ClassVar[tuple[Param, ...]] = ()
    stochastic: ClassVar[bool] = False
    default_reduction: ClassVar[str] = "mean"
    any_prior: ClassVar[bool] = False
    uses_prior: ClassVar[bool] = True
    batches_per_step: ClassVar[int] = 1
    extra_columns: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        params: dict[str, Any],
        latent_dim: int,
        prior: Any = None,
        recon: str = "bce",
        recon_reduction: str | None = None,
        rng: np.random.Generator | None = None,
        dataset_size: int | None = None,
    ) -> None:
        self.p = dict(params)
        self.latent_dim = int(latent_dim)
        self.prior = prior
        self.recon = recon
        self.recon_reduction = recon_reduction or self.default_reduction
        self.rng = rng
        self.dataset_size = dataset_size
        self.check()

    # ------------------------------------------------------------------ to override

    def check(self) -> None:
        """Refuse parameter combinations the paper excludes (one LpsInputError)."""

    def loss(self, model: Any, batches: list[Any], step: int) -> tuple[Any, dict[str, float]]:
        """``(total, parts)`` for one step; ``parts`` has ``loss, recon, reg`` and the extras.

        ``reg`` is the divergence the objective regularizes, unweighted: KL(q(z|x) || p)
        for VAEs, MMD^2 or the batch KL for autoencoders, 0 for ``ae``.
        """
        raise NotImplementedError

    def build(self, model: Any, *, lr: float, device: str) -> None:
        """Create auxiliary networks and their optimizers (after the model: torch's RNG)."""

    def after_backward(self) -> None:
        """Gradients of auxiliary networks, after the model's ``loss.backward()``."""

    def apply_updates(self) -> None:
        """Optimizer steps of auxiliary networks (after the model's step, never interrupted)."""

    def state_dict(self) -> dict[str, Any]:
        """Tensors and plain values of auxiliary networks and optimizers, for checkpoints."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved."""

    # ------------------------------------------------------------------ shared

    def __call__(self, model: Any, x: Any) -> tuple[Any, dict[str, float]]:
        """One-batch loss (the 0.2 API): ``loss(model, [x], step=1)``."""
        return self.loss(model, [x], 1)

    def reconstruction(self, logits: Any, x: Any) -> Any:
        """R(x, logits) with this objective's likelihood and pixel reduction."""
        return recon_loss(logits, x, kind=self.recon, reduction=self.recon_reduction)

    def prior_sample(self, z: Any) -> Any:
        """Fresh prior samples for an MMD term: as many rows as ``z`` (at most the stored
        rows of a finite-sample prior, never duplicates), same dtype and device."""
        import torch

        n, d = z.shape
        rows = getattr(self.prior, "n_rows", None)
        m = n if rows is None else min(n, rows)
        y = np.asarray(self.prior.sample(m, d, self.rng))
        return torch.as_tensor(y, dtype=z.dtype, device=z.device)

    @staticmethod
    def parts(total: Any, recon: Any, reg: Any, **extra: Any) -> dict[str, float]:
        """The floats of the training log."""
        out = {
            "loss": float(total.detach()),
            "recon": float(recon.detach()),
            "reg": float(reg.detach()),
        }
        out.update(
            {k: float(v.detach()) if hasattr(v, "detach") else float(v) for k, v in extra.items()}
        )
        return out

    # the 0.2 attributes, read by config.json and older code
    @property
    def mmd_weight(self) -> float | None:
        """lambda of an MMD objective (None for the others)."""
        return self.p.get("lambda") if self.name == "mmd" else None

    @property
    def beta(self) -> float | None:
        """beta of an objective that has one (None for the others)."""
        return self.p.get("beta")

    @property
    def kernel(self) -> str | None:
        """The MMD kernel of an objective that has one."""
        return self.p.get("kernel")

    @property
    def estimator(self) -> str | None:
        """The MMD estimator of an objective that has one."""
        return self.p.get("estimator") if "kernel" in self.p else None

    @property
    def weight(self) -> float:
        """The regularizer's weight (lambda for mmd, beta for kl, 0 for ae)."""
        for key in ("beta", "lambda", "gamma"):
            if key in self.p:
                return float(self.p[key])
        return 0.0
