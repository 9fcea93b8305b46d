r"""Kernels for MMD and how their widths are chosen.

Every kernel here is a function of the squared distance :math:`r = \|x - y\|^2`, summed
over a few scales:

``"rbf"``
    One Gaussian RBF :math:`k(x, y) = \exp(-r / (2 s^2))` of width ``s`` (``bandwidth``;
    the median heuristic when None).
``"rbf_multiscale"`` (default)
    The paper's kernel (Fruytier et al. 2025, arXiv 2510.11953): the sum of RBFs with
    :math:`s \in \{0.5, 1, 2\} \times s_0`, :math:`s_0` = median pairwise distance of the
    pooled sample (or ``bandwidth``).
``"imq"``
    WAE's inverse multiquadratic kernel (Tolstikhin et al., ICLR 2018):
    :math:`\sum_c C / (C + r)` over :math:`C \in \{0.1, 0.2, 0.5, 1, 2, 5, 10\} \times C_0`,
    :math:`C_0 = 2 d \sigma^2`. ``bandwidth`` sets :math:`C_0` directly; when None,
    :math:`\sigma^2` is the mean per-dimension variance of the pooled sample (1 for a
    standard normal prior, giving WAE's :math:`C_0 = 2d`). Note the squared distance.
``"distance"``
    The energy-distance kernel :math:`k(x, y) = -\|x - y\|` (conditionally positive
    definite); its biased MMD^2 equals the energy distance of Szekely & Rizzo.

Median heuristic: the median of :math:`\|x_i - x_j\|` over pairs ``i < j`` of the pooled
sample, over all pairs when there are at most ``max_pairs`` of them, else over
``max_pairs`` random pairs drawn with a seeded generator (the full N^2 set does not fit
in memory at large N). The median is never inverted and never squared by mistake: it is
the width ``s`` itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError
from lps_eval.options import did_you_mean
from lps_eval.prior_matching.backend import NUMPY, namespace

__all__ = [
    "FAMILIES",
    "KERNELS",
    "Kernel",
    "KernelFamily",
    "KernelSpec",
    "make_kernel",
    "median_pairwise_distance",
    "register_family",
    "register_kernel",
]

#: Largest number of pairs the median heuristic uses (all pairs below this).
MAX_MEDIAN_PAIRS = 2**17
#: Pairs per block of the median heuristic's distance computation.
MEDIAN_BLOCK = 2**13


class KernelFamily:
    """A family of kernels of the squared distance, summed over scales.

    A family implements :meth:`value` once against the array backend (numpy and torch),
    the kernel at zero distance (:meth:`diag`) and its default base bandwidth; it may
    override :meth:`inplace`, the numpy fast path of the tiled MMD engine (by default it
    is :meth:`value` on numpy). Register a new family with :func:`register_family`.
    """

    name: str = ""
    #: Whether priors' closed-form expectations (Gaussian RBF integrals) apply.
    closed_form_priors: bool = False

    def value(self, d2: Any, scales: tuple[float, ...], xp: Any) -> Any:  # pragma: no cover
        """Kernel values from squared distances ``d2`` (numpy array or torch tensor)."""
        raise NotImplementedError

    def diag(self, scales: tuple[float, ...]) -> float:
        """k(x, x): the kernel at zero distance."""
        return float(len(scales))

    def inplace(self, d2: np.ndarray, buf: np.ndarray, scales: tuple[float, ...]) -> np.ndarray:
        """numpy fast path: overwrite ``d2`` with the kernel values (``buf``: scratch)."""
        np.copyto(d2, self.value(d2, scales, NUMPY))
        return d2

    def default_base(
        self, pooled: Any, rng: np.random.Generator | int, max_pairs: int
    ) -> tuple[float, str]:
        """The base bandwidth when none is given, and how it was found."""
        return median_pairwise_distance(pooled, rng=rng, max_pairs=max_pairs), "median"


#: Kernel families by name.
FAMILIES: dict[str, KernelFamily] = {}


def register_family(cls: type[KernelFamily]) -> type[KernelFamily]:
    """Class decorator: register a :class:`KernelFamily` under ``cls.name``."""
    FAMILIES[cls.name] = cls()
    return cls


@register_family
class RbfFamily(KernelFamily):
    r"""Gaussian RBF :math:`\sum_s \exp(-r / (2 s^2))`; widths from the median heuristic."""

    name = "rbf"
    closed_form_priors = True

    def value(self, d2: Any, scales: tuple[float, ...], xp: Any) -> Any:
        return _rbf_sum(d2, scales, xp)

    def inplace(self, d2: np.ndarray, buf: np.ndarray, scales: tuple[float, ...]) -> np.ndarray:
        # Same formula as _rbf_sum without temporaries: one exp for the widest width,
        # repeated squaring for widths whose rate is a power-of-two multiple of it.
        rates = sorted(1.0 / (2.0 * s * s) for s in scales)
        d2 *= -rates[0]
        powers, others = _split_rates(rates)
        acc = None
        for ratio in others:  # rare: widths that are not power-of-two multiples
            term = np.exp(d2 * ratio)
            acc = term if acc is None else acc + term
        np.exp(d2, out=d2)
        if powers:
            np.copyto(buf, d2)
            power = 1
            for p in powers:
                while power < p:
                    np.multiply(buf, buf, out=buf)
                    power *= 2
                d2 += buf
        if acc is not None:
            d2 += acc
        return d2


@register_family
class ImqFamily(KernelFamily):
    r"""Inverse multiquadratic :math:`\sum_C C / (C + r)`; :math:`C_0 = 2 d \sigma^2`."""

    name = "imq"

    def value(self, d2: Any, scales: tuple[float, ...], xp: Any) -> Any:
        out = None
        for c in scales:
            term = c / (c + d2)
            out = term if out is None else out + term
        return out

    def inplace(self, d2: np.ndarray, buf: np.ndarray, scales: tuple[float, ...]) -> np.ndarray:
        np.copyto(buf, d2)
        d2.fill(0.0)
        tmp = np.empty_like(buf)
        for c in scales:
            np.add(buf, c, out=tmp)
            np.divide(c, tmp, out=tmp)
            d2 += tmp
        return d2

    def default_base(
        self, pooled: Any, rng: np.random.Generator | int, max_pairs: int
    ) -> tuple[float, str]:
        a = namespace(pooled).to_numpy(pooled).astype(np.float64, copy=False)
        var = float(np.mean(np.var(a, axis=0)))
        var = var if var > 0 else 1.0
        return 2.0 * a.shape[1] * var, "variance"


@register_family
class DistanceFamily(KernelFamily):
    """The energy-distance kernel :math:`-\\|x - y\\|` (no scales, no bandwidth)."""

    name = "distance"

    def value(self, d2: Any, scales: tuple[float, ...], xp: Any) -> Any:
        return -xp.sqrt(d2)

    def diag(self, scales: tuple[float, ...]) -> float:
        return 0.0

    def inplace(self, d2: np.ndarray, buf: np.ndarray, scales: tuple[float, ...]) -> np.ndarray:
        np.sqrt(d2, out=d2)
        np.negative(d2, out=d2)
        return d2

    def default_base(
        self, pooled: Any, rng: np.random.Generator | int, max_pairs: int
    ) -> tuple[float, str]:
        return math.nan, "none"


@dataclass(frozen=True)
class Kernel:
    """A concrete kernel: a family and the numeric scales it sums over.

    Attributes
    ----------
    name : str
        Registry name (``"rbf"``, ``"rbf_multiscale"``, ``"imq"``, ``"distance"``).
    family : str
        A key of :data:`FAMILIES` (``"rbf"``: scales are widths ``s``; ``"imq"``: scales
        are constants ``C``; ``"distance"``: no scales).
    scales : tuple of float
        Widths or constants, one kernel term each.
    base : float
        The base bandwidth the scales were derived from (``s_0`` or ``C_0``).
    bandwidth_source : str
        ``"given"``, ``"median"`` (median heuristic) or ``"variance"`` (IMQ default).
    """

    name: str
    family: str
    scales: tuple[float, ...]
    base: float = math.nan
    bandwidth_source: str = "given"

    @property
    def diag_value(self) -> float:
        """k(x, x): the kernel at zero distance."""
        return FAMILIES[self.family].diag(self.scales)

    @property
    def closed_form_priors(self) -> bool:
        """Whether the priors' closed-form expectations apply to this kernel."""
        return FAMILIES[self.family].closed_form_priors

    def from_sqdist(self, d2: Any, xp: Any = None) -> Any:
        """Kernel values from squared distances ``d2`` (numpy array or torch tensor)."""
        return FAMILIES[self.family].value(d2, self.scales, xp or namespace(d2))

    def __call__(self, x: Any, y: Any) -> Any:
        """The kernel matrix ``k(x_i, y_j)`` (small inputs; MMD sums are chunked)."""
        xp = namespace(x, y)
        return self.from_sqdist(xp.sqdist(x, y), xp)

    def inplace(self, d2: np.ndarray, buf: np.ndarray) -> np.ndarray:
        """numpy fast path: overwrite ``d2`` with the kernel values (``buf``: scratch, same shape).

        Same formulas as :meth:`from_sqdist`, without temporaries (the MMD engine calls it
        on cache-sized tiles, where fresh allocations would dominate the cost).
        """
        return FAMILIES[self.family].inplace(d2, buf, self.scales)

    def describe(self) -> dict[str, Any]:
        """Settings for result records."""
        return {
            "kernel": self.name,
            "kernel_family": self.family,
            "kernel_scales": [float(s) for s in self.scales],
            "bandwidth": float(self.base),
            "bandwidth_source": self.bandwidth_source,
        }


def _split_rates(rates: list[float]) -> tuple[list[int], list[float]]:
    """Split rates (ascending) into power-of-two multiples of the first, and the rest.

    Returns the powers (2**k, ascending, for repeated squaring of exp(-rate_0 r)) and the
    remaining ratios rate / rate_0 (each needs its own exp).
    """
    base = rates[0]
    powers: list[int] = []
    others: list[float] = []
    for rate in rates[1:]:
        ratio = rate / base
        k = round(math.log2(ratio))
        if 1 <= k <= 8 and abs(ratio - 2.0**k) <= 1e-12 * ratio:
            powers.append(2**k)
        else:
            others.append(ratio)
    return powers, others


def _rbf_sum(d2: Any, widths: tuple[float, ...], xp: Any) -> Any:
    """Sum over widths of exp(-d2 / (2 s^2)).

    One ``exp`` for the widest kernel; narrower widths whose rate is the widest one's
    times a power of two (the paper's {0.5, 1, 2} x s0 are 1, 4 and 16 times) come from
    repeated squaring, which is several times cheaper than another ``exp``.
    """
    rates = sorted(1.0 / (2.0 * s * s) for s in widths)
    scaled = d2 * (-rates[0])
    powers, others = _split_rates(rates)
    e = xp.exp(scaled)
    out = e
    for ratio in others:
        out = out + xp.exp(scaled * ratio)
    power, current = 1, e
    for p in powers:
        while power < p:
            current = current * current
            power *= 2
        out = out + current
    return out


def median_pairwise_distance(
    w: Any, *, rng: np.random.Generator | int = 0, max_pairs: int = MAX_MEDIAN_PAIRS
) -> float:
    """Median Euclidean distance over pairs ``i < j`` of the rows of ``w`` (no gradient).

    Parameters
    ----------
    w : array or tensor of shape (n, d)
        Pooled sample.
    rng : Generator or int
        Seed for the random pairs (used only when there are more than ``max_pairs``).
    max_pairs : int
        Use every pair when ``n (n - 1) / 2 <= max_pairs``, else this many random pairs.

    Returns
    -------
    float
        The median distance; a positive fallback (1.0) when all rows are identical.
    """
    xp = namespace(w)
    a = xp.to_numpy(w).astype(np.float64, copy=False)
    n = a.shape[0]
    if n < 2:
        raise LpsInputError("the median heuristic needs at least 2 samples; pass more rows")
    n_pairs = n * (n - 1) // 2
    if n_pairs <= max_pairs:
        i, j = np.triu_indices(n, k=1)
    else:
        gen = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
        i = gen.integers(0, n, size=max_pairs)
        j = gen.integers(0, n - 1, size=max_pairs)
        j = j + (j >= i)  # uniform over j != i
    # distances in blocks of pairs: memory O(block x d), not O(max_pairs x d)
    dist = np.empty(i.size)
    for lo in range(0, i.size, MEDIAN_BLOCK):
        diff = a[i[lo : lo + MEDIAN_BLOCK]] - a[j[lo : lo + MEDIAN_BLOCK]]
        dist[lo : lo + MEDIAN_BLOCK] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    med = float(np.median(dist))
    return med if med > 0 else 1.0


@dataclass(frozen=True)
class KernelSpec:
    """A named kernel: a family, the scale multipliers, and an optional base rule."""

    family: str
    multipliers: tuple[float, ...]
    default_base: Callable[[Any, np.random.Generator | int, int], tuple[float, str]] | None = None

    def base(
        self, pooled: Any, rng: np.random.Generator | int, max_pairs: int
    ) -> tuple[float, str]:
        if self.default_base is not None:
            return self.default_base(pooled, rng, max_pairs)
        return FAMILIES[self.family].default_base(pooled, rng, max_pairs)


#: Kernel registry: name -> family and scale multipliers (x the base bandwidth).
KERNELS: dict[str, KernelSpec] = {
    "rbf": KernelSpec("rbf", (1.0,)),
    "rbf_multiscale": KernelSpec("rbf", (0.5, 1.0, 2.0)),
    "imq": KernelSpec("imq", (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)),
    "distance": KernelSpec("distance", ()),
}


def register_kernel(
    name: str,
    family: str,
    multipliers: tuple[float, ...],
    default_base: Callable[[Any, np.random.Generator | int, int], tuple[float, str]] | None = None,
) -> None:
    """Add a named kernel: a registered ``family``, scales = multipliers x base bandwidth.

    ``default_base(pooled, rng, max_pairs) -> (base, source)`` overrides the family's rule.
    """
    if family not in FAMILIES:
        raise LpsInputError(
            f"unknown kernel family {family!r}; registered families: {', '.join(FAMILIES)}"
        )
    KERNELS[name] = KernelSpec(family, tuple(float(m) for m in multipliers), default_base)


def make_kernel(
    kernel: str | Kernel = "rbf_multiscale",
    *,
    bandwidth: float | None = None,
    pooled: Any = None,
    rng: np.random.Generator | int = 0,
    max_pairs: int = MAX_MEDIAN_PAIRS,
) -> Kernel:
    """Resolve a kernel name and bandwidth into a concrete :class:`Kernel`.

    Parameters
    ----------
    kernel : str or Kernel
        A name from :data:`KERNELS`, or a ready :class:`Kernel` (returned unchanged).
    bandwidth : float, optional
        RBF base width ``s_0`` or IMQ base constant ``C_0``; None = data-driven default
        (median heuristic for RBF, ``2 d var`` for IMQ) computed on ``pooled``.
    pooled : array or tensor, optional
        The pooled sample, needed when ``bandwidth`` is None.
    rng : Generator or int
        Seed for the median heuristic's random pairs.
    max_pairs : int
        Pairs used by the median heuristic (all pairs when there are fewer).
    """
    if isinstance(kernel, Kernel):
        return kernel
    spec = KERNELS.get(kernel) if isinstance(kernel, str) else None
    if spec is None:
        raise LpsInputError(
            f"unknown kernel {kernel!r}{did_you_mean(str(kernel), KERNELS)}; choose one of: {', '.join(sorted(KERNELS))}"
        )
    if not spec.multipliers:  # a kernel without scales has no bandwidth
        return Kernel(kernel, spec.family, (), math.nan, "none")
    if bandwidth is None:
        if pooled is None:
            raise LpsInputError(f"kernel {kernel!r} needs a bandwidth or a sample to estimate it")
        base, source = spec.base(pooled, rng, max_pairs)
        if not 1e-100 <= base <= 1e100:  # data far outside float64's comfortable range
            raise LpsInputError(
                f"the data-driven bandwidth of kernel {kernel!r} is {base:.3g}, outside "
                "[1e-100, 1e100]; rescale the samples (e.g. divide by their std)"
            )
    else:
        try:
            base = float(bandwidth)
        except (TypeError, ValueError):
            raise LpsInputError(f"bandwidth must be a positive number, got {bandwidth!r}") from None
        if not (1e-100 <= base <= 1e100):  # 1 / (2 s^2) must stay a finite, non-zero rate
            raise LpsInputError(
                f"bandwidth must be a positive number in [1e-100, 1e100], got {bandwidth!r}"
            )
        source = "given"
    scales = tuple(m * base for m in spec.multipliers)
    return Kernel(kernel, spec.family, scales, base, source)
