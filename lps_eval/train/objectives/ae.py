"""``ae``: the plain autoencoder, L = R_mean(x, dec(mu(x))).

The deterministic baseline of Fruytier et al. (2025, "standard AE"): the encoder's mean
head is the code; its log-variance head exists (one architecture for every objective)
and is unused.
"""

from __future__ import annotations

from typing import Any

from lps_eval.train.objectives.base import Objective
from lps_eval.train.objectives.registry import register_objective

__all__ = ["Autoencoder", "PlainAutoencoder"]


class Autoencoder(Objective):
    """Deterministic autoencoders: z = mu(x); L = R_mean + :meth:`regularizer` (weighted).

    Subclasses set :attr:`weight_param` (the name of their weight parameter) and
    implement :meth:`regularizer`.
    """

    uses_prior = False
    weight_param: str | None = None

    def regularizer(self, z: Any) -> Any:
        """The unweighted penalty on the batch codes (a torch scalar)."""
        raise NotImplementedError

    def loss(self, model: Any, batches: list[Any], step: int) -> tuple[Any, dict[str, float]]:
        import torch

        x = batches[0]
        z, _ = model.encode(x)
        if self.weight_param is None:  # the plain AE: no term at all (not 0 x something)
            reg = torch.zeros((), device=x.device)
            recon = self.reconstruction(model.decode(z), x)
            return recon, self.parts(recon, recon, reg)
        reg = self.regularizer(z)
        recon = self.reconstruction(model.decode(z), x)
        total = recon + self.p[self.weight_param] * reg
        return total, self.parts(total, recon, reg)


@register_objective
class PlainAutoencoder(Autoencoder):
    """L = R_mean(x, dec(mu(x)))."""

    name = "ae"
    aliases = ("autoencoder",)
    summary = "plain autoencoder (no regularizer)"
    formula = "R_mean(x, dec(mu(x)))"
    reference = "the deterministic baseline of Fruytier et al. (2025)"
