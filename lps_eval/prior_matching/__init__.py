"""Does the aggregate posterior match the intended prior? MMD with programmable priors.

- :mod:`~lps_eval.prior_matching.priors`: the prior grammar and its registry of forms;
- :mod:`~lps_eval.prior_matching.kernels`: kernel families and bandwidth rules (registry);
- :func:`mmd` / :func:`mmd2` / :func:`permutation_test`: estimators and the test
  (implementation in the private module ``_mmd``);
- :func:`mmd_replicates`: bootstrap replicates of a result, for paired differences
  (:mod:`~lps_eval.prior_matching.resampling`);
- :mod:`~lps_eval.prior_matching.backend`: the numpy / torch operations the MMD sums use.
"""

from lps_eval.prior_matching._mmd import (
    BLOCK,
    ESTIMATORS,
    MmdResult,
    mmd,
    mmd2,
    permutation_test,
)
from lps_eval.prior_matching.kernels import KERNELS, Kernel, make_kernel, register_kernel
from lps_eval.prior_matching.priors import Prior, parse_prior
from lps_eval.prior_matching.resampling import mmd_replicates

__all__ = [
    "BLOCK",
    "ESTIMATORS",
    "KERNELS",
    "Kernel",
    "MmdResult",
    "Prior",
    "make_kernel",
    "mmd",
    "mmd2",
    "mmd_replicates",
    "parse_prior",
    "permutation_test",
    "register_kernel",
]
