r"""Programmable priors: one spec grammar for Python, the CLI and config files.

Grammar (whitespace ignored, names case-insensitive):

=============================  ============================================================
``gaussian``                   N(0, I) (alias ``normal``)
``gaussian(mean, std)``        N(mean, std^2) independently in every dimension
``uniform``                    U(-1, 1) per dimension
``uniform(low, high)``         U(low, high) per dimension
``laplace`` / ``laplace(loc, scale)``  Laplace(loc, scale) per dimension (default 0, 1)
``bimodal(mode, std)``         equal mixture of N(-mode, std^2) and N(+mode, std^2) per dim
``hybrid(p1; p2; ...)``        independent 1-D priors, one per dimension, in order;
                               ``p*k`` repeats a 1-D prior k times
``samples:PATH[#KEY]``         empirical prior: rows of a saved array ("latent space
                               copying"); ``#KEY`` picks an array inside an ``.npz``
``mixture:PATH``               full multivariate Gaussian mixture from ``.json`` or
                               ``.npz`` with ``weights`` (K,), ``means`` (K, d) and
                               ``covariances`` (K, d, d) or diagonal variances (K, d)
=============================  ============================================================

Any Python object with ``sample(n, d, rng) -> array (n, d)`` is a prior too.

Priors that are products of 1-D Gaussian mixtures or uniforms (``gaussian``,
``bimodal``, ``uniform``, ``hybrid`` of those) and Gaussian mixture files have
closed-form RBF expectations, so MMD needs no prior sampling for its value:

.. math::

    E_{y \sim N(\mu, \sigma^2)} e^{-(x-y)^2 / 2s^2}
      = \sqrt{\tfrac{s^2}{s^2+\sigma^2}} \, e^{-(x-\mu)^2 / 2(s^2+\sigma^2)},\qquad
    E_{y, y'} e^{-(y-y')^2/2s^2} = \sqrt{\tfrac{s^2}{s^2+2\sigma^2}}

per dimension (products over dimensions, sums over mixture components), and for a
d-variate component :math:`N(\mu, \Sigma)`:
:math:`E_y k(x, y) = \det(I + \Sigma/s^2)^{-1/2}
\exp(-\tfrac12 (x-\mu)^\top (s^2 I + \Sigma)^{-1} (x-\mu))`.
"""

from __future__ import annotations

import json
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtr

from lps_eval._validation import LpsInputError, check_ranges, check_scale
from lps_eval.io import check_npz_members, load_array
from lps_eval.options import did_you_mean
from lps_eval.streaming import column_range, take_rows

__all__ = [
    "MARGINAL_FORMS",
    "PRIOR_SOURCES",
    "EmpiricalPrior",
    "Marginal",
    "MarginalForm",
    "MixturePrior",
    "ObjectPrior",
    "Prior",
    "ProductPrior",
    "parse_prior",
    "prior_forms",
    "register_marginal",
    "register_prior_source",
]


# --------------------------------------------------------------------------- 1-D marginals


class Marginal(ABC):
    """A 1-D distribution: sampling plus (optionally) closed-form RBF expectations."""

    spec: str
    closed_form: bool = False

    @abstractmethod
    def sample(self, size: tuple[int, ...], rng: np.random.Generator) -> np.ndarray: ...

    def rbf_cross(self, x: np.ndarray, s: float) -> np.ndarray:  # pragma: no cover
        """E_y exp(-(x - y)^2 / (2 s^2)) for each entry of x."""
        raise NotImplementedError

    def rbf_self(self, s: float) -> float:  # pragma: no cover
        """E_{y, y'} exp(-(y - y')^2 / (2 s^2))."""
        raise NotImplementedError


@dataclass(frozen=True)
class _GaussMix1D(Marginal):
    """Mixture of 1-D Gaussians (a single Gaussian is K = 1)."""

    spec: str
    weights: tuple[float, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]
    closed_form: bool = True

    def sample(self, size: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        mu, sd = np.asarray(self.means), np.asarray(self.stds)
        if len(self.weights) == 1:
            return rng.normal(mu[0], sd[0], size=size)
        comp = rng.choice(len(self.weights), size=size, p=np.asarray(self.weights))
        return mu[comp] + sd[comp] * rng.standard_normal(size)

    def rbf_cross(self, x: np.ndarray, s: float) -> np.ndarray:
        out = np.zeros_like(x, dtype=np.float64)
        for w, mu, sd in zip(self.weights, self.means, self.stds, strict=True):
            v = s * s + sd * sd
            out += w * math.sqrt(s * s / v) * np.exp(-((x - mu) ** 2) / (2.0 * v))
        return out

    def rbf_self(self, s: float) -> float:
        total = 0.0
        for wa, ma, sa in zip(self.weights, self.means, self.stds, strict=True):
            for wb, mb, sb in zip(self.weights, self.means, self.stds, strict=True):
                v = s * s + sa * sa + sb * sb
                total += wa * wb * math.sqrt(s * s / v) * math.exp(-((ma - mb) ** 2) / (2 * v))
        return total


@dataclass(frozen=True)
class _Uniform1D(Marginal):
    spec: str
    low: float
    high: float
    closed_form: bool = True

    def sample(self, size: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return rng.uniform(self.low, self.high, size=size)

    def rbf_cross(self, x: np.ndarray, s: float) -> np.ndarray:
        # s sqrt(2 pi) / L * [Phi((b - x)/s) - Phi((a - x)/s)]
        length = self.high - self.low
        return (
            s
            * math.sqrt(2 * math.pi)
            / length
            * (ndtr((self.high - x) / s) - ndtr((self.low - x) / s))
        )

    def rbf_self(self, s: float) -> float:
        # y - y' is triangular on [-L, L]: 2/L^2 * int_0^L (L - u) exp(-u^2 / 2 s^2) du
        length = self.high - self.low
        a = length * s * math.sqrt(2 * math.pi) * (float(ndtr(length / s)) - 0.5)
        b = s * s * (1.0 - math.exp(-(length**2) / (2 * s * s)))
        return 2.0 / length**2 * (a - b)


@dataclass(frozen=True)
class _Laplace1D(Marginal):
    spec: str
    loc: float
    scale: float

    def sample(self, size: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
        return rng.laplace(self.loc, self.scale, size=size)


# --------------------------------------------------------------------------- priors


class Prior(ABC):
    """Base class: ``sample(n, d, rng)`` plus optional closed-form RBF expectations.

    Attributes
    ----------
    spec : str
        The spec string (or a description) the prior was built from.
    n_dims : int or None
        Fixed dimensionality (hybrid, samples, mixture) or None (any ``d``).
    closed_form : bool
        True when :meth:`rbf_cross` and :meth:`rbf_self` are available.
    """

    spec: str = ""
    n_dims: int | None = None
    closed_form: bool = False
    #: Number of stored rows when the prior is a finite sample (``samples:``), else None.
    #: Such a prior is never resampled with replacement: tests use at most ``n_rows`` rows.
    n_rows: int | None = None

    @abstractmethod
    def _sample(self, n: int, d: int, rng: np.random.Generator) -> np.ndarray: ...

    def sample(self, n: int, d: int, rng: np.random.Generator | int) -> np.ndarray:
        """Draw ``n`` samples of dimension ``d`` as a float64 array of shape (n, d)."""
        self.check_dims(d)
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        return np.ascontiguousarray(self._sample(int(n), int(d), gen), dtype=np.float64)

    def block_sampler(
        self, m: int, d: int, rng: np.random.Generator, block: int
    ) -> Callable[[int], np.ndarray]:
        """One sample of ``m`` rows, drawn block by block on demand (memory O(block x d)).

        Returns ``draw(b)``: rows ``b * block`` up to ``min((b + 1) * block, m)`` of the
        sample, as float64. Block ``b`` comes from its own generator, seeded by one draw of
        ``rng`` and ``b``, so it is the same whichever blocks were drawn before it and however
        often it is drawn: the sample depends on ``rng``, ``m`` and ``block`` only, never on
        how a caller walks through it.
        """
        self.check_dims(d)
        key = int(rng.integers(0, 2**63))

        def draw(b: int) -> np.ndarray:
            lo = b * block
            if not 0 <= lo < m:
                raise IndexError(f"block {b} is outside a sample of {m} rows")
            return self.sample(min(block, m - lo), d, np.random.default_rng([key, b]))

        return draw

    def check_dims(self, d: int) -> None:
        """Raise :class:`LpsInputError` when the prior cannot produce ``d`` dimensions."""
        if self.n_dims is not None and self.n_dims != d:
            raise LpsInputError(
                f"prior {self.spec!r} has {self.n_dims} dimension(s) but the latents have {d}; "
                f"give a prior with {d} dimension(s)"
            )

    def rbf_cross(self, x: np.ndarray, s: float) -> np.ndarray:  # pragma: no cover
        """E_y exp(-||x_i - y||^2 / (2 s^2)) for each row of ``x`` (closed-form priors)."""
        raise NotImplementedError(f"prior {self.spec!r} has no closed form")

    def rbf_self(self, d: int, s: float) -> float:  # pragma: no cover
        """E_{y, y'} exp(-||y - y'||^2 / (2 s^2)) (closed-form priors)."""
        raise NotImplementedError(f"prior {self.spec!r} has no closed form")

    def marginal(self, j: int, d: int) -> Prior:
        """The 1-D marginal of dimension ``j`` (by sampling unless overridden)."""
        return _SampledMarginal(self, j, d)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"


class ProductPrior(Prior):
    """Independent 1-D marginals: one repeated (any d) or one per dimension (hybrid)."""

    def __init__(self, spec: str, marginals: list[Marginal], *, repeat: bool) -> None:
        self.spec = spec
        self.marginals = list(marginals)
        self.repeat = repeat
        self.n_dims = None if repeat else len(marginals)
        self.closed_form = all(m.closed_form for m in marginals)

    def _margs(self, d: int) -> list[Marginal]:
        return self.marginals * d if self.repeat else self.marginals

    def _sample(self, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
        if self.repeat:
            return self.marginals[0].sample((n, d), rng)
        return np.column_stack([m.sample((n,), rng) for m in self.marginals])

    def rbf_cross(self, x: np.ndarray, s: float) -> np.ndarray:
        d = x.shape[1]
        self.check_dims(d)
        if self.repeat:
            return np.prod(self.marginals[0].rbf_cross(x, s), axis=1)
        out = np.ones(x.shape[0])
        for j, m in enumerate(self.marginals):
            out *= m.rbf_cross(x[:, j], s)
        return out

    def rbf_self(self, d: int, s: float) -> float:
        self.check_dims(d)
        return float(np.prod([m.rbf_self(s) for m in self._margs(d)]))

    def marginal(self, j: int, d: int) -> Prior:
        self.check_dims(d)
        m = self._margs(d)[j]
        return ProductPrior(m.spec, [m], repeat=False)


class _SampledMarginal(Prior):
    """Column ``j`` of a joint prior's samples."""

    def __init__(self, parent: Prior, j: int, d: int) -> None:
        self.parent, self.j, self.d = parent, j, d
        self.spec = f"{parent.spec}[dim {j}]"
        self.n_dims = 1

    def _sample(self, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
        return self.parent.sample(n, self.d, rng)[:, [self.j]]


class MixturePrior(Prior):
    """Multivariate Gaussian mixture sum_k w_k N(mu_k, Sigma_k)."""

    def __init__(self, spec: str, weights: Any, means: Any, covariances: Any = None) -> None:
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        mu = np.asarray(means, dtype=np.float64)
        if mu.ndim == 1:
            mu = mu.reshape(1, -1)
        k, d = mu.shape
        if covariances is None:
            cov = np.broadcast_to(np.eye(d), (k, d, d)).copy()
        else:
            cov = np.asarray(covariances, dtype=np.float64)
            if cov.ndim == 2 and cov.shape == (k, d):
                cov = np.stack([np.diag(c) for c in cov])
            elif cov.ndim == 2 and cov.shape == (d, d) and k == 1:
                cov = cov[None]
        if w.shape != (k,) or cov.shape != (k, d, d):
            raise LpsInputError(
                f"mixture {spec!r}: expected weights (K,), means (K, d), covariances (K, d, d) "
                f"or (K, d); got {w.shape}, {mu.shape}, {cov.shape}"
            )
        if not (np.all(np.isfinite(w)) and np.all(w >= 0) and w.sum() > 0):
            raise LpsInputError(f"mixture {spec!r}: weights must be non-negative and sum to > 0")
        if not (np.all(np.isfinite(mu)) and np.all(np.isfinite(cov))):
            raise LpsInputError(f"mixture {spec!r}: means and covariances must be finite")
        try:
            chol = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            raise LpsInputError(
                f"mixture {spec!r}: a covariance is not positive definite; fix the file"
            ) from None
        self.spec = spec
        self.weights, self.means, self.covariances, self._chol = w / w.sum(), mu, cov, chol
        self.n_dims = d
        self.closed_form = True

    def _sample(self, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
        comp = rng.choice(len(self.weights), size=n, p=self.weights)
        eps = rng.standard_normal((n, d))
        return self.means[comp] + np.einsum("nij,nj->ni", self._chol[comp], eps)

    def rbf_cross(self, x: np.ndarray, s: float) -> np.ndarray:
        d = x.shape[1]
        self.check_dims(d)
        out = np.zeros(x.shape[0])
        eye = np.eye(d)
        for w, mu, cov in zip(self.weights, self.means, self.covariances, strict=True):
            m = s * s * eye + cov
            _, logdet = np.linalg.slogdet(eye + cov / (s * s))
            diff = x - mu
            quad = np.einsum("ij,ij->i", diff, np.linalg.solve(m, diff.T).T)
            out += w * np.exp(-0.5 * logdet - 0.5 * quad)
        return out

    def rbf_self(self, d: int, s: float) -> float:
        self.check_dims(d)
        eye = np.eye(d)
        total = 0.0
        for wa, ma, ca in zip(self.weights, self.means, self.covariances, strict=True):
            for wb, mb, cb in zip(self.weights, self.means, self.covariances, strict=True):
                c = ca + cb
                _, logdet = np.linalg.slogdet(eye + c / (s * s))
                diff = ma - mb
                quad = float(diff @ np.linalg.solve(s * s * eye + c, diff))
                total += wa * wb * math.exp(-0.5 * logdet - 0.5 * quad)
        return total

    def marginal(self, j: int, d: int) -> Prior:
        self.check_dims(d)
        return MixturePrior(
            f"{self.spec}[dim {j}]",
            self.weights,
            self.means[:, [j]],
            self.covariances[:, j : j + 1, j : j + 1],
        )


class EmpiricalPrior(Prior):
    """Rows of a saved array ("latent space copying").

    ``sample(n)`` draws ``n`` distinct stored rows (without replacement) and refuses
    ``n`` above the number of stored rows (:attr:`n_rows`): duplicated reference rows
    break the exchangeability a permutation test relies on (with 300 stored rows
    resampled to 1000, a true null was rejected at 0.05 in 19 of 20 seeds). Callers that
    need more rows than stored use an unbalanced statistic with ``m = n_rows``
    (:func:`lps_eval.mmd` does, and records ``prior_rows_policy``).

    A 2-D memory-mapped array (a ``samples:`` ``.npy`` file) stays mapped: it is
    validated block by block and only the drawn rows are read.
    """

    def __init__(self, spec: str, samples: Any) -> None:
        if isinstance(samples, np.memmap) and samples.ndim == 2 and samples.dtype.kind in "fiu":
            arr = samples
            if arr.shape[0] < 2:
                raise LpsInputError(
                    f"prior {spec!r}: need a 2-D array with at least 2 rows, got {arr.shape}"
                )
            _check_blocks(arr, spec)
        else:
            arr = np.asarray(samples, dtype=np.float64)
            if arr.ndim == 1:
                arr = arr.reshape(-1, 1)
            if arr.ndim != 2 or arr.shape[0] < 2:
                raise LpsInputError(
                    f"prior {spec!r}: need a 2-D array with at least 2 rows, got {arr.shape}"
                )
            if not np.isfinite(arr).all():
                raise LpsInputError(f"prior {spec!r}: samples contain NaN or inf; clean the file")
            check_scale(arr, name=f"prior {spec!r}")
        self.spec = spec
        self.samples = arr
        self.n_dims = arr.shape[1]
        self.n_rows = arr.shape[0]

    def _check_rows(self, n: int) -> None:
        if n > self.n_rows:
            raise LpsInputError(
                f"prior {self.spec!r} holds {self.n_rows} rows but {n} were requested; a "
                "finite sample is never drawn with replacement (use at most n_rows rows)"
            )

    def _sample(self, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
        self._check_rows(n)
        return take_rows(self.samples, rng.choice(self.n_rows, size=n, replace=False))

    def block_sampler(
        self, m: int, d: int, rng: np.random.Generator, block: int
    ) -> Callable[[int], np.ndarray]:
        """``m`` distinct stored rows in a seeded random order, read block by block.

        The order is one permutation of the stored rows (8 bytes per stored row); block
        ``b`` reads only its own rows (sorted positions of a memmap).
        """
        self.check_dims(d)
        self._check_rows(m)
        order = rng.permutation(self.n_rows)[:m]

        def draw(b: int) -> np.ndarray:
            lo = b * block
            if not 0 <= lo < m:
                raise IndexError(f"block {b} is outside a sample of {m} rows")
            return take_rows(self.samples, order[lo : lo + block])

        return draw


def _check_blocks(arr: np.ndarray, spec: str) -> None:
    """Finite values and a sane scale from the column ranges (one streamed pass, remembered
    per file): a NaN or inf shows in the ranges, and a memmap is never copied."""
    low, high = column_range(arr)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise LpsInputError(f"prior {spec!r}: samples contain NaN or inf; clean the file")
    check_ranges(np.asarray(low, float), np.asarray(high, float), name=f"prior {spec!r}")


class ObjectPrior(Prior):
    """Wrap a user object with ``sample(n, d, rng)`` and check what it returns."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.spec = getattr(obj, "spec", None) or repr(obj)
        self.n_dims = getattr(obj, "n_dims", None)

    def _sample(self, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
        out = self.obj.sample(n, d, rng)
        if hasattr(out, "detach"):
            out = out.detach().cpu().numpy()
        arr = np.asarray(out, dtype=np.float64)
        if arr.shape != (n, d):
            raise LpsInputError(
                f"prior {self.spec}: sample({n}, {d}, rng) returned shape {arr.shape}; "
                f"it must return an array of shape ({n}, {d})"
            )
        if not np.isfinite(arr).all():
            raise LpsInputError(f"prior {self.spec}: sample() returned NaN or inf")
        return arr


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class MarginalForm:
    """A registered 1-D prior form, usable alone (``name(a, b)`` in every dimension) or
    inside ``hybrid(...)``.

    Attributes
    ----------
    name : str
        Spec name (lower case).
    build : callable
        ``build(canonical_spec, a, b, *, spec) -> Marginal``; raises ``LpsInputError``
        for invalid parameters.
    parameters : tuple of str
        Names of the two numbers, for help texts.
    defaults : tuple of float or None
        Values used when the name is given without arguments (None: arguments required).
    aliases : tuple of str
        Other accepted names.
    description : str
        One line for help texts and the docs' table.
    """

    name: str
    build: Callable[..., Marginal]
    parameters: tuple[str, str]
    defaults: tuple[float, float] | None
    aliases: tuple[str, ...]
    description: str


#: 1-D prior forms by name (aliases resolved through :func:`_form`).
MARGINAL_FORMS: dict[str, MarginalForm] = {}
#: ``prefix:`` prior sources (file-backed priors) -> ``loader(rest, spec) -> Prior``.
PRIOR_SOURCES: dict[str, Callable[[str, str], Prior]] = {}


def register_marginal(
    name: str,
    *,
    parameters: tuple[str, str],
    defaults: tuple[float, float] | None = None,
    aliases: tuple[str, ...] = (),
    description: str = "",
) -> Callable[[Callable[..., Marginal]], Callable[..., Marginal]]:
    """Decorator: make ``build`` available as the 1-D prior form ``name``.

    Example
    -------
    ::

        @register_marginal("shifted_exp", parameters=("loc", "rate"), defaults=(0.0, 1.0))
        def shifted_exp(canonical, loc, rate, *, spec):
            return MyShiftedExponential(canonical, loc, rate)   # a Marginal subclass
    """

    def decorate(build: Callable[..., Marginal]) -> Callable[..., Marginal]:
        MARGINAL_FORMS[name] = MarginalForm(
            name, build, parameters, defaults, tuple(aliases), description
        )
        return build

    return decorate


def register_prior_source(
    prefix: str,
) -> Callable[[Callable[[str, str], Prior]], Callable[[str, str], Prior]]:
    """Decorator: ``prefix:REST`` specs are built by ``loader(rest, spec)``."""

    def decorate(loader: Callable[[str, str], Prior]) -> Callable[[str, str], Prior]:
        PRIOR_SOURCES[prefix] = loader
        return loader

    return decorate


def _form(name: str) -> MarginalForm | None:
    for form in MARGINAL_FORMS.values():
        if name == form.name or name in form.aliases:
            return form
    return None


def _all_names() -> list[str]:
    names = [n for f in MARGINAL_FORMS.values() for n in (f.name, *f.aliases)]
    return [*names, "hybrid", *PRIOR_SOURCES]


def prior_forms() -> list[str]:
    """Every spec form, for help texts and error messages (from the registries)."""
    forms = [
        f"{f.name}({', '.join(f.parameters)})" if f.defaults is None else f.name
        for f in MARGINAL_FORMS.values()
    ]
    return [*forms, "hybrid(p1; p2; ...)", *(f"{p}:PATH" for p in PRIOR_SOURCES)]


def _positive(value: float, what: str, spec: str) -> None:
    if not value > 0:
        raise LpsInputError(f"prior {spec!r}: {what} must be > 0, got {value}")


@register_marginal(
    "gaussian",
    parameters=("mean", "std"),
    defaults=(0.0, 1.0),
    aliases=("normal",),
    description="N(mean, std^2) in every dimension; `gaussian` = N(0, 1)",
)
def _gaussian(canonical: str, mean: float, std: float, *, spec: str) -> Marginal:
    _positive(std, "std", spec)
    return _GaussMix1D(canonical, (1.0,), (mean,), (std,))


@register_marginal(
    "uniform",
    parameters=("low", "high"),
    defaults=(-1.0, 1.0),
    description="U(low, high) in every dimension; `uniform` = U(-1, 1)",
)
def _uniform(canonical: str, low: float, high: float, *, spec: str) -> Marginal:
    if not high > low:
        raise LpsInputError(f"prior {spec!r}: uniform needs low < high, got ({low}, {high})")
    return _Uniform1D(canonical, low, high)


@register_marginal(
    "laplace",
    parameters=("loc", "scale"),
    defaults=(0.0, 1.0),
    description="Laplace(loc, scale) in every dimension (sampled; no closed form)",
)
def _laplace(canonical: str, loc: float, scale: float, *, spec: str) -> Marginal:
    _positive(scale, "laplace scale", spec)
    return _Laplace1D(canonical, loc, scale)


@register_marginal(
    "bimodal",
    parameters=("mode", "std"),
    description="equal mixture of N(-mode, std^2) and N(+mode, std^2) in every dimension",
)
def _bimodal(canonical: str, mode: float, std: float, *, spec: str) -> Marginal:
    _positive(std, "bimodal std", spec)
    return _GaussMix1D(canonical, (0.5, 0.5), (-mode, mode), (std, std))


# --------------------------------------------------------------------------- parsing

#: Largest magnitude of a prior parameter: its square (a variance, a squared distance)
#: must stay far from float64 overflow (1.8e308).
MAX_PARAMETER = 1e100
#: Most dimensions a ``hybrid(...)`` spec may expand to (checked before expansion).
MAX_HYBRID_DIMS = 100_000

_NAME_ARGS = re.compile(r"^([a-z_]+)\s*(?:\((.*)\))?$", re.DOTALL)


def _numbers(
    name: str, args: str | None, defaults: tuple[float, ...], spec: str
) -> tuple[float, ...]:
    if args is None:
        if defaults:
            return defaults
        raise LpsInputError(f"prior {spec!r}: {name} needs arguments, e.g. {name}(2, 0.5)")
    parts = [p.strip() for p in args.split(",")]
    if len(parts) != 2:
        raise LpsInputError(
            f"prior {spec!r}: {name}(...) takes exactly 2 numbers, got {len(parts)}"
        )
    try:
        vals = tuple(float(p) for p in parts)
    except ValueError:
        raise LpsInputError(f"prior {spec!r}: {name}(...) arguments must be numbers") from None
    if not all(math.isfinite(v) and abs(v) <= MAX_PARAMETER for v in vals):
        raise LpsInputError(
            f"prior {spec!r}: {name}(...) arguments must be finite and at most "
            f"{MAX_PARAMETER:g} in magnitude (squared distances must not overflow)"
        )
    return vals


def _parse_marginal(text: str, spec: str) -> Marginal:
    """Parse one 1-D prior (a registered form with optional arguments)."""
    t = text.strip().lower()
    m = _NAME_ARGS.match(t)
    if not m:
        raise LpsInputError(
            f"malformed prior {spec!r} at {text.strip()!r}; expected e.g. gaussian(0, 1)"
        )
    name, args = m.group(1), m.group(2)
    form = _form(name)
    if form is None:
        known = ", ".join(prior_forms())
        raise LpsInputError(
            f"unknown prior {text.strip()!r} in {spec!r}{did_you_mean(name, _all_names())}; "
            f"choose from: {known}"
        )
    values = _numbers(name, args, form.defaults or (), spec)
    return form.build(t.replace(" ", ""), *values, spec=spec)


def _parse_hybrid(body: str, spec: str) -> ProductPrior:
    items = [p for p in body.split(";")]
    marginals: list[Marginal] = []
    for item in items:
        if not item.strip():
            raise LpsInputError(
                f"prior {spec!r}: empty entry in hybrid(...); separate priors with ';'"
            )
        text, _, count = item.partition("*")
        k = 1
        if count:
            try:
                k = int(count.strip())
            except ValueError:
                raise LpsInputError(
                    f"prior {spec!r}: repeat count in {item.strip()!r} must be an integer"
                ) from None
            if k < 1:
                raise LpsInputError(f"prior {spec!r}: repeat count must be >= 1, got {k}")
        if len(marginals) + k > MAX_HYBRID_DIMS:  # before expanding anything
            raise LpsInputError(
                f"prior {spec!r} expands to more than {MAX_HYBRID_DIMS} dimensions, above the "
                "limit; a hybrid prior has one entry per latent dimension"
            )
        if "hybrid" in text.lower() or ":" in text:
            raise LpsInputError(
                f"prior {spec!r}: hybrid entries must be 1-D priors such as gaussian(0, 2)"
            )
        marginals.extend([_parse_marginal(text, spec)] * k)
    return ProductPrior(spec, marginals, repeat=False)


def _split_key(rest: str) -> tuple[Path, str | None]:
    path = Path(rest)
    if path.exists() or "#" not in rest:
        return path, None
    file, _, key = rest.rpartition("#")
    return Path(file), key or None


def _load_mixture(rest: str, spec: str) -> MixturePrior:
    path = Path(rest)
    if not path.exists():
        raise LpsInputError(f"prior {spec!r}: file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            data = json.loads(path.read_text())
            if not isinstance(data, dict):
                raise LpsInputError(
                    f"prior {spec!r}: the JSON must be an object with weights, means, covariances"
                )
            fields = {k: data.get(k) for k in ("weights", "means", "covariances")}
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as npz:
                check_npz_members(npz, list(npz.files), path)  # sizes before inflating
                fields = {
                    k: (npz[k] if k in npz.files else None)
                    for k in ("weights", "means", "covariances")
                }
        else:
            raise LpsInputError(
                f"prior {spec!r}: a mixture file must be .json or .npz, got {suffix or '(none)'}"
            )
    except (OSError, ValueError) as exc:
        if isinstance(exc, LpsInputError):
            raise
        raise LpsInputError(
            f"prior {spec!r}: could not read {path}: {str(exc).splitlines()[0]}"
        ) from None
    if fields["means"] is None:
        raise LpsInputError(
            f"prior {spec!r}: the mixture file needs 'means' (and 'weights', 'covariances')"
        )
    for name, value in fields.items():
        if value is None:
            continue
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise LpsInputError(
                f"prior {spec!r}: {name!r} in {path} must be numbers (nested lists of "
                f"numbers), got {str(value)[:80]}"
            ) from None
        if np.any(np.abs(arr) > MAX_PARAMETER):
            raise LpsInputError(
                f"prior {spec!r}: {name!r} in {path} has entries above {MAX_PARAMETER:g} in "
                "magnitude; squared distances would overflow"
            )
        fields[name] = arr
    means = fields["means"]
    k = 1 if means.ndim == 1 else means.shape[0]
    weights = fields["weights"] if fields["weights"] is not None else np.full(k, 1.0 / k)
    try:
        return MixturePrior(spec, weights, means, fields["covariances"])
    except ValueError as exc:
        if isinstance(exc, LpsInputError):
            raise
        raise LpsInputError(f"prior {spec!r}: {exc}") from None


@register_prior_source("samples")
def _samples_source(rest: str, spec: str) -> Prior:
    if not rest:
        raise LpsInputError(f"prior {spec!r} names no file; write samples:PATH[#KEY]")
    path, key = _split_key(rest)
    return EmpiricalPrior(spec, load_array(path, key=key))


@register_prior_source("mixture")
def _mixture_source(rest: str, spec: str) -> Prior:
    if not rest:
        raise LpsInputError(f"prior {spec!r} names no file; write mixture:PATH")
    return _load_mixture(rest, spec)


def _parse(spec: str) -> Prior:
    text = spec.strip()
    prefix, colon, rest = text.partition(":")
    if colon and prefix.strip().lower() in PRIOR_SOURCES:
        return PRIOR_SOURCES[prefix.strip().lower()](rest.strip(), text)
    m = _NAME_ARGS.match(text.lower())
    if m and m.group(1) == "hybrid":
        if m.group(2) is None:
            raise LpsInputError(
                f"prior {spec!r}: hybrid needs 1-D priors, e.g. hybrid(uniform(-5, 5); gaussian)"
            )
        return _parse_hybrid(text[text.index("(") + 1 : text.rindex(")")], text)
    marginal = _parse_marginal(text, text)
    return ProductPrior(marginal.spec, [marginal], repeat=True)


def parse_prior(spec: Any, *, n_dims: int | None = None) -> Prior:
    """Build a :class:`Prior` from a spec string, a :class:`Prior`, or a sampler object.

    Parameters
    ----------
    spec : str, Prior or object with ``sample(n, d, rng)``
        See the module docstring for the grammar.
    n_dims : int, optional
        Latent dimensionality to check the prior against (hybrid length, samples and
        mixture dimensions).

    Returns
    -------
    Prior

    Raises
    ------
    LpsInputError
        Malformed spec, unreadable file, or a dimension mismatch.

    Examples
    --------
    >>> import numpy as np
    >>> p = parse_prior("hybrid(uniform(-5, 5); gaussian(0, 2); bimodal(5, 1))")
    >>> p.sample(4, 3, np.random.default_rng(0)).shape
    (4, 3)
    """
    if isinstance(spec, Prior):
        prior = spec
    elif isinstance(spec, str):
        if not spec.strip():
            raise LpsInputError("prior spec is empty; use e.g. 'gaussian' or 'uniform(-1, 1)'")
        prior = _parse(spec)
    elif callable(getattr(spec, "sample", None)):
        prior = ObjectPrior(spec)
    else:
        raise LpsInputError(
            "prior must be a spec string or an object with sample(n, d, rng), "
            f"got {type(spec).__name__}"
        )
    if n_dims is not None:
        prior.check_dims(int(n_dims))
    return prior
