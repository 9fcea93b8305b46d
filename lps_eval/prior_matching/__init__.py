"""Does the aggregate posterior match the intended prior? MMD with programmable priors.

- :mod:`~lps_eval.prior_matching.priors`: the prior grammar and its registry of forms;
- :mod:`~lps_eval.prior_matching.kernels`: kernel families and bandwidth rules (registry);
- :func:`mmd` / :func:`mmd2` / :func:`permutation_test`: estimators and the test
  (implementation in the private module ``_mmd``);
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
    "parse_prior",
    "permutation_test",
    "register_kernel",
]
