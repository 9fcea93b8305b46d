"""Training objectives: a registry of small classes, one module each.

``make_objective("beta_tcvae", latent_dim=5, params={"beta": 6}, rng=rng)`` builds one.
Each objective is a subclass of :class:`~lps_eval.train.objectives.base.Objective` that
declares its hyper-parameters (:class:`~lps_eval.train.objectives.base.Param`: default,
help text, range) and is registered with :func:`register_objective`; ``lps-eval train
--help``, the ``--objective-param KEY=VALUE`` checks, the "did you mean" errors, the
docs' table and ``config.json`` read everything from :func:`objective_specs`.

Registered (see each module for the formula and the paper):

========================  ==============================================================
``ae``                    plain autoencoder
``mmd``                   AE + lambda MMD^2 to a programmable prior (Fruytier et al.
                          2025; WAE-MMD, Tolstikhin et al. 2018, with ``kernel=imq``)
``ae_kld``                AE + lambda KL(N(mu_B, Sigma_B) || N(0, I)) of the batch codes
``kl``                    beta-VAE (Higgins et al. 2017; ``beta=1`` the VAE)
``beta_tcvae``            Chen et al. 2018 (MWS / MSS estimators of log q(z))
``factor_vae``            Kim & Mnih 2018 (a discriminator with its own optimizer)
``dip_vae_i/ii``          Kumar et al. 2018
``annealed_vae``          Burgess et al. 2018 (capacity schedule)
``info_vae``              Zhao et al. 2019
========================  ==============================================================
"""

# one module per objective; importing it registers it
from lps_eval.train.objectives import (
    ae,
    ae_kld,
    annealed_vae,
    beta_tcvae,
    beta_vae,
    dip_vae,
    factor_vae,
    info_vae,
    mmd,
)
from lps_eval.train.objectives.base import (
    RECONSTRUCTION_LOSSES,
    Objective,
    Param,
    kl_per_dimension,
    kl_to_standard_normal,
    recon_loss,
)
from lps_eval.train.objectives.registry import (
    DISPLAY_ORDER,
    RESERVED_COLUMNS,
    make_objective,
    normalize_objective,
    objective_specs,
    parse_assignments,
    register_objective,
    resolve_params,
    resolve_prior,
)

del ae, ae_kld, annealed_vae, beta_tcvae, beta_vae, dip_vae, factor_vae, info_vae, mmd

#: Registered objective names (a snapshot at import; :func:`objective_specs` is live).
OBJECTIVES = tuple(objective_specs())

__all__ = [
    "DISPLAY_ORDER",
    "OBJECTIVES",
    "RECONSTRUCTION_LOSSES",
    "RESERVED_COLUMNS",
    "Objective",
    "Param",
    "kl_per_dimension",
    "kl_to_standard_normal",
    "make_objective",
    "normalize_objective",
    "objective_specs",
    "parse_assignments",
    "recon_loss",
    "register_objective",
    "resolve_params",
    "resolve_prior",
]
