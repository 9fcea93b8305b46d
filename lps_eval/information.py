"""Discretization and discrete information quantities shared by the MI-based metrics.

disentanglement_lib discretizes each latent with ``np.digitize(x, np.histogram(x, 20)[1][:-1])``:
20 equal-width bins spanning the sample range of that latent (a constant column gets the
range ``[v - 0.5, v + 0.5]``), the maximum falling in the last bin. :func:`histogram_discretize`
reproduces those bin assignments exactly (codes are 0-based; mutual information does not
depend on the labels). Mutual information and entropies are plug-in estimates in nats, the
quantity ``sklearn.metrics.mutual_info_score`` returns, computed here from contingency counts.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "entropy",
    "histogram_discretize",
    "joint_entropy",
    "mutual_info_matrix",
    "to_codes",
]


def histogram_discretize(x: np.ndarray, num_bins: int) -> np.ndarray:
    """Bin every column of ``x`` into ``num_bins`` equal-width bins over its sample range.

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_columns)
    num_bins : int

    Returns
    -------
    ndarray of int64, same shape
        Bin index in ``[0, num_bins)``: ``#{edges[:-1] <= x} - 1`` with
        ``edges = linspace(min, max, num_bins + 1)`` (``min - 0.5, max + 0.5`` for a
        constant column), identical to disentanglement_lib's ``_histogram_discretize``
        minus one.
    """
    x = np.asarray(x, dtype=np.float64)
    lo = x.min(axis=0)
    hi = x.max(axis=0)
    const = lo == hi
    lo = np.where(const, lo - 0.5, lo)
    hi = np.where(const, hi + 0.5, hi)
    edges = np.linspace(lo, hi, num_bins + 1, axis=0)[:-1]  # (num_bins, n_columns)
    codes = np.empty(x.shape, dtype=np.int64)
    for j in range(x.shape[1]):  # one vectorized search per column
        codes[:, j] = np.searchsorted(edges[:, j], x[:, j], side="right") - 1
    return codes


def to_codes(values: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Relabel every column to ``0..K_j-1`` (sorted distinct values); returns codes and K_j."""
    values = np.asarray(values)
    codes = np.empty(values.shape, dtype=np.int64)
    sizes = []
    for j in range(values.shape[1]):
        _, inverse = np.unique(values[:, j], return_inverse=True)
        codes[:, j] = inverse.ravel()
        sizes.append(int(inverse.max()) + 1)
    return codes, sizes


def _contingency(a: np.ndarray, b: np.ndarray, ka: int, kb: int) -> np.ndarray:
    return np.bincount(a * kb + b, minlength=ka * kb).reshape(ka, kb)


def _mi_from_counts(counts: np.ndarray) -> float:
    """Plug-in MI of a contingency table, term by term as scikit-learn's
    ``mutual_info_score`` arranges it (terms below machine epsilon are zeroed and a
    constant variable has exactly zero MI)."""
    n = float(counts.sum())
    row = counts.sum(axis=1)
    col = counts.sum(axis=0)
    if np.count_nonzero(row) < 2 or np.count_nonzero(col) < 2:
        return 0.0  # a constant variable shares no information (exactly, as sklearn)
    nzx, nzy = np.nonzero(counts)
    c = counts[nzx, nzy].astype(np.float64)
    p = c / n
    log_outer = -np.log(row[nzx].astype(np.float64) * col[nzy]) + 2 * np.log(n)
    terms = p * (np.log(c) - np.log(n)) + p * log_outer
    terms = np.where(np.abs(terms) < np.finfo(np.float64).eps, 0.0, terms)
    return max(float(terms.sum()), 0.0)


def mutual_info_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Plug-in mutual information (nats) between every column of ``a`` and of ``b``.

    .. math:: I(a_i; b_j) = \\sum_{u,v} p(u, v) \\log \\frac{p(u, v)}{p(u) p(v)}

    Parameters
    ----------
    a, b : ndarray of non-negative int codes, shapes (n, da) and (n, db)

    Returns
    -------
    ndarray of shape (da, db)
    """
    ka = a.max(axis=0) + 1
    kb = b.max(axis=0) + 1
    out = np.empty((a.shape[1], b.shape[1]))
    for i in range(a.shape[1]):
        for j in range(b.shape[1]):
            out[i, j] = _mi_from_counts(_contingency(a[:, i], b[:, j], int(ka[i]), int(kb[j])))
    return out


def entropy(codes: np.ndarray) -> np.ndarray:
    """Plug-in entropy (nats) of every column of integer codes: ``-sum p log p``."""
    out = np.empty(codes.shape[1])
    for j in range(codes.shape[1]):
        counts = np.bincount(codes[:, j])
        p = counts[counts > 0] / codes.shape[0]
        out[j] = float(-np.sum(p * np.log(p)))
    return out


def joint_entropy(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Plug-in joint entropy (nats) ``H(a_i, b_j)`` for every pair of columns."""
    ka = a.max(axis=0) + 1
    kb = b.max(axis=0) + 1
    n = a.shape[0]
    out = np.empty((a.shape[1], b.shape[1]))
    for i in range(a.shape[1]):
        for j in range(b.shape[1]):
            counts = _contingency(a[:, i], b[:, j], int(ka[i]), int(kb[j]))
            p = counts[counts > 0] / n
            out[i, j] = float(-np.sum(p * np.log(p)))
    return out
