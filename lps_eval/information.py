"""Discretization and discrete information quantities shared by the MI-based metrics.

disentanglement_lib discretizes each latent with ``np.digitize(x, np.histogram(x, 20)[1][:-1])``:
20 equal-width bins spanning the sample range of that latent (a constant column gets the
range ``[v - 0.5, v + 0.5]``), the maximum falling in the last bin. :func:`histogram_discretize`
reproduces those bin assignments exactly (codes are 0-based; mutual information does not
depend on the labels). Mutual information and entropies are plug-in estimates in nats, the
quantity ``sklearn.metrics.mutual_info_score`` returns, computed here from contingency counts:
table by table (:func:`mutual_info_matrix`, for two sets of codes) or from the pair counts of
one set, which add up over row blocks (:func:`pair_counts`, :func:`mutual_info_from_counts`,
used to stream a file). This is the only discretization and MI in the package, besides
:func:`mutual_info_knn_discrete`, the k-nearest-neighbour estimator (no discretization of
the continuous side) behind ``mig(discretizer="ksg")``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "MAX_PAIR_CELLS",
    "bin_edges",
    "digitize",
    "entropy",
    "histogram_discretize",
    "joint_entropy",
    "mutual_info_from_counts",
    "mutual_info_knn_discrete",
    "mutual_info_matrix",
    "pair_counts",
    "to_codes",
]


def bin_edges(low: np.ndarray, high: np.ndarray, n_bins: int) -> np.ndarray:
    """Left edges of ``n_bins`` equal-width bins per column, shape (n_bins, n_columns).

    ``linspace(min, max, n_bins + 1)[:-1]`` (``min - 0.5, max + 0.5`` for a constant
    column): the edges of ``np.histogram(column, n_bins)``, which depend on the range
    only, so a file can be binned block by block once its column ranges are known.
    """
    low = np.asarray(low, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    const = low == high
    low = np.where(const, low - 0.5, low)
    high = np.where(const, high + 0.5, high)
    return np.linspace(low, high, n_bins + 1, axis=0)[:-1]


def digitize(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index of every value: ``#{edges <= x} - 1`` per column (codes in [0, n_bins))."""
    x = np.asarray(x, dtype=np.float64)
    codes = np.empty(x.shape, dtype=np.int64)
    for j in range(x.shape[1]):  # one vectorized search per column (d loops, not n)
        codes[:, j] = np.searchsorted(edges[:, j], x[:, j], side="right") - 1
    return codes


def histogram_discretize(x: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin every column of ``x`` into ``n_bins`` equal-width bins over its sample range.

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_columns)
    n_bins : int

    Returns
    -------
    ndarray of int64, same shape
        Bin index in ``[0, n_bins)`` (:func:`bin_edges`, :func:`digitize`), identical to
        disentanglement_lib's ``_histogram_discretize`` minus one.
    """
    x = np.asarray(x, dtype=np.float64)
    return digitize(x, bin_edges(x.min(axis=0), x.max(axis=0), n_bins))


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


#: Most joint-histogram cells :func:`pair_counts` is asked to hold at once (int64: 256 MiB).
MAX_PAIR_CELLS = 1 << 25


def pair_counts(
    codes: np.ndarray, *, n_bins: int, rows: range | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Joint histogram counts of the column pairs ``i < j`` and every column's counts.

    Returns ``(joint, marginal)``: ``joint`` of shape (d, d, n_bins, n_bins) holds pair
    ``(i, j)``, ``i < j``, in ``joint[i, j]`` (one ``bincount`` per column ``i``,
    vectorized over samples; only ``i`` in ``rows`` when given, other entries 0);
    ``marginal`` has shape (d, n_bins). Counts of disjoint row blocks add up, so a file
    can be counted block by block with identical results.
    """
    d = codes.shape[1]
    cells = n_bins * n_bins
    joint = np.zeros((d, d, n_bins, n_bins), dtype=np.int64)
    # column-major codes: each pair's values lie together, so every bincount walks one
    # pair's block of n values into its own n_bins^2 cells (4x faster than row-major)
    columns = np.ascontiguousarray(codes.T)
    marginal = np.stack([np.bincount(columns[j], minlength=n_bins) for j in range(d)])
    for i in range(d - 1) if rows is None else rows:
        rest = d - i - 1
        if rest < 1:
            continue
        flat = columns[i + 1 :] + (cells * np.arange(rest))[:, None]
        flat += columns[i] * n_bins
        joint[i, i + 1 :] = np.bincount(flat.ravel(), minlength=cells * rest).reshape(
            rest, n_bins, n_bins
        )
    return joint, marginal


def mutual_info_from_counts(joint: np.ndarray, marginal: np.ndarray, n: int) -> np.ndarray:
    r"""Pairwise plug-in MI (nats) from :func:`pair_counts`; entropies on the diagonal.

    :math:`I(c_i; c_j) = \sum_{a,b} p_{ab} \log(p_{ab} / (p_a p_b))`, vectorized over the
    pairs of each column (the quantity :func:`mutual_info_matrix` computes table by table).
    """
    d = marginal.shape[0]
    mi = np.zeros((d, d))
    marg = marginal / n
    for i in range(d - 1):
        p = joint[i, i + 1 :] / n
        outer = marg[i][None, :, None] * marg[i + 1 :][:, None, :]
        ratio = np.divide(p, outer, out=np.ones_like(p), where=p > 0)
        mi[i, i + 1 :] = np.sum(p * np.log(ratio), axis=(1, 2))
    mi = mi + mi.T
    for j in range(d):  # I(c; c) = H(c)
        pj = marg[j][marg[j] > 0]
        mi[j, j] = -float(np.sum(pj * np.log(pj)))
    return mi


# ---------------------------------------------------------------- kNN (KSG family)


def _knn_radius_1d(
    x_sorted: np.ndarray, group_start: np.ndarray, group_size: np.ndarray, k: np.ndarray
) -> np.ndarray:
    """Distance of every point to its ``k``-th nearest neighbour within its group (1-D).

    ``x_sorted`` is sorted by group, then by value; in one dimension the ``k`` nearest
    neighbours lie among the ``k`` positions either side, so the ``k``-th smallest of those
    ``2k`` distances is the exact answer (vectorized over points; ``k`` >= 1 per point).
    """
    n = x_sorted.size
    kmax = int(k.max())
    pos = np.arange(n) - group_start
    cand = np.full((n, 2 * kmax), np.inf)
    for c, off in enumerate([*range(-kmax, 0), *range(1, kmax + 1)]):
        ok = (pos + off >= 0) & (pos + off < group_size)
        cand[ok, c] = np.abs(x_sorted[np.flatnonzero(ok) + off] - x_sorted[ok])
    cand.sort(axis=1)
    return cand[np.arange(n), k - 1]


def _count_closer(pool: np.ndarray, x: np.ndarray, d: np.ndarray) -> np.ndarray:
    """``#{j : |pool_j - x_i| < d_i}`` for every i (``pool`` sorted), the point itself
    included: a binary search on ``x -+ d``, then steps that settle the two boundaries with
    the exact comparison (``x + d`` rounds, and the k-th neighbour sits on the boundary)."""
    n = pool.size
    lo = np.searchsorted(pool, x - d, side="left")
    hi = np.searchsorted(pool, x + d, side="left")
    for _ in range(64):
        lo_prev = (lo > 0) & (x - pool[np.maximum(lo - 1, 0)] < d)
        lo_next = (lo < n) & ~(x - pool[np.minimum(lo, n - 1)] < d)
        hi_prev = (hi > 0) & (pool[np.maximum(hi - 1, 0)] - x >= d)
        hi_next = (hi < n) & ~(pool[np.minimum(hi, n - 1)] - x >= d)
        if not (lo_prev.any() or lo_next.any() or hi_prev.any() or hi_next.any()):
            break
        lo = lo - lo_prev + (lo_next & ~lo_prev)
        hi = hi - hi_prev + (hi_next & ~hi_prev)
    return hi - lo


def _mi_continuous_discrete(x: np.ndarray, labels: np.ndarray, n_neighbors: int) -> float:
    from scipy.special import digamma

    order = np.lexsort((x, labels))
    xs, ls = x[order], labels[order]
    starts = np.flatnonzero(np.r_[True, ls[1:] != ls[:-1]])
    sizes = np.diff(np.r_[starts, xs.size])
    size = np.repeat(sizes, sizes)
    keep = size > 1  # points whose label occurs once are ignored (as scikit-learn does)
    if keep.sum() < 2:
        return 0.0
    k = np.minimum(n_neighbors, np.maximum(size - 1, 1))
    radius = _knn_radius_1d(xs, np.repeat(starts, sizes), size, k)
    xk = xs[keep]
    m = _count_closer(np.sort(xk), xk, radius[keep])
    mi = digamma(xk.size) + np.mean(digamma(k[keep])) - np.mean(digamma(size[keep]))
    return max(float(mi - np.mean(digamma(m))), 0.0)


def mutual_info_knn_discrete(
    x: np.ndarray,
    codes: np.ndarray,
    *,
    n_neighbors: int = 3,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    r"""kNN mutual information (nats) between continuous columns and discrete codes.

    .. math::
        \hat I(x; y) = \psi(N) + \langle \psi(k) \rangle - \langle \psi(N_{y_i}) \rangle
            - \langle \psi(m_i) \rangle

    with :math:`N_{y_i}` the rows sharing row i's label, :math:`d_i` the distance to its
    ``k``-th nearest neighbour among them and :math:`m_i` the rows of any label closer than
    :math:`d_i` (Ross 2014, the continuous-discrete member of the Kraskov, Stögbauer &
    Grassberger 2004 family; scikit-learn's ``mutual_info_classif``). Rows whose label
    occurs once are ignored; negative estimates become 0. As scikit-learn does, each column
    is scaled to unit standard deviation and, when ``rng`` is given, receives noise of
    ``1e-10 * max(1, mean |x|)`` to break ties (duplicated values make kNN distances 0).

    Parameters
    ----------
    x : ndarray of shape (n, d)
    codes : ndarray of non-negative int, shape (n, K)
    n_neighbors : int, default 3

    Returns
    -------
    ndarray of shape (d, K)
    """
    x = np.asarray(x, dtype=np.float64)
    std = x.std(axis=0)
    x = x / np.where(std > 0, std, 1.0)
    if rng is not None:
        x = x + 1e-10 * np.maximum(1.0, np.abs(x).mean(axis=0)) * rng.standard_normal(x.shape)
    out = np.zeros((x.shape[1], codes.shape[1]))
    for j in range(x.shape[1]):
        if std[j] == 0:
            continue  # a constant column shares no information
        for k in range(codes.shape[1]):
            out[j, k] = _mi_continuous_discrete(x[:, j], codes[:, k], n_neighbors)
    return out
