"""Discretization and discrete information quantities shared by the MI-based metrics.

disentanglement_lib discretizes each latent with ``np.digitize(x, np.histogram(x, 20)[1][:-1])``:
20 equal-width bins spanning the sample range of that latent (a constant column gets the
range ``[v - 0.5, v + 0.5]``), the maximum falling in the last bin. :func:`histogram_discretize`
reproduces those bin assignments exactly (codes are 0-based; mutual information does not
depend on the labels). Mutual information and entropies are plug-in estimates in nats, the
quantity ``sklearn.metrics.mutual_info_score`` returns, computed here from contingency counts:
table by table (:func:`mutual_info_matrix`, for two sets of codes) or from the pair counts of
one set, which add up over row blocks (:func:`pair_counts`, :func:`mutual_info_from_counts`,
used to stream a file). This is the only discretization and MI in the package.

Beside the plug-in estimates sit the k-nearest-neighbour estimators that latte and InfoMEC
use through scikit-learn, written here on sorted arrays (O(n log n) per pair, no tree in one
dimension): :func:`ksg_mutual_info` (Kraskov, Stoegbauer, Grassberger 2004, estimator 1,
between continuous variables) and :func:`ksg_mutual_info_cd` (Ross 2014, continuous against
discrete), with :func:`ksg_mutual_info_matrix` for every latent against every factor. Ties
are broken by a tiny noise (scikit-learn's 1e-10 relative amplitude) drawn from the seed and
the data themselves (:func:`tie_breaking_noise`), so the estimate depends neither on the
order of the rows nor on the order of the columns.
"""

from __future__ import annotations

import zlib

import numpy as np

__all__ = [
    "MAX_PAIR_CELLS",
    "bin_edges",
    "digitize",
    "entropy",
    "histogram_discretize",
    "joint_entropy",
    "ksg_mutual_info",
    "ksg_mutual_info_cd",
    "ksg_mutual_info_matrix",
    "mutual_info_from_counts",
    "mutual_info_matrix",
    "pair_counts",
    "row_rank",
    "tie_breaking_noise",
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


# ---------------------------------------------------------------- k-nearest-neighbour MI

#: Relative amplitude of the tie-breaking noise (scikit-learn's ``_estimate_mi``).
KSG_NOISE = 1e-10


def row_rank(*blocks: np.ndarray) -> np.ndarray:
    """Dense rank of every row in the lexicographic order of the given column blocks.

    Equal rows get equal ranks, so the ranks depend on the multiset of rows only: pass
    blocks whose columns do not move when the caller's columns are permuted (e.g. the
    factors) and the ranks are invariant to both row and column order.
    """
    table = np.column_stack([np.asarray(b).reshape(len(np.asarray(b)), -1) for b in blocks])
    return np.unique(table, axis=0, return_inverse=True)[1].ravel().astype(np.int64)


def tie_breaking_noise(
    x: np.ndarray,
    *,
    seed: int = 0,
    amplitude: float = KSG_NOISE,
    row_keys: np.ndarray | None = None,
) -> np.ndarray:
    """Tiny noise that separates tied values, drawn from the seed and the data.

    Column ``j`` gets ``amplitude * max(1, mean |x_j|) * e`` (scikit-learn's scale) where the
    standard normal draws ``e`` come from a generator seeded by ``seed`` and a checksum of
    the column's sorted values, and are handed out in the order of ``(x_j, row_keys)``.
    The noise of a column therefore follows its values, not its position: permuting rows
    or columns permutes the noise with them. Rows tied in both the column's value and
    ``row_keys`` may swap their noise, which leaves any estimate between that column and
    the variables behind the keys unchanged: pass ``row_rank(factors)`` and the k-NN MI of
    every latent with every factor is exactly invariant to row and column order.

    Parameters
    ----------
    x : ndarray of shape (n, d)
    seed : int
    amplitude : float, default 1e-10
    row_keys : ndarray of shape (n,), optional
        Order-invariant ranks of the rows (default: the row index).

    Returns
    -------
    ndarray of shape (n, d)
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    keys = np.arange(n) if row_keys is None else np.asarray(row_keys)
    noise = np.empty_like(x)
    for j in range(x.shape[1]):  # one vectorized draw per column
        col = x[:, j]
        ranked = np.sort(col) + 0.0  # + 0.0 turns -0.0 into 0.0: equal values, equal bytes
        rng = np.random.default_rng([int(seed), zlib.crc32(ranked.tobytes())])
        order = np.lexsort((keys, col))
        noise[order, j] = rng.standard_normal(n)
        noise[:, j] *= amplitude * max(1.0, float(np.mean(np.abs(ranked))))
    return noise


def _standardize_like_sklearn(x: np.ndarray) -> np.ndarray:
    """``sklearn.preprocessing.scale(x, with_mean=False)``: divide by the std (ddof 0);
    a constant column keeps its values. Each std is summed over the column's sorted values
    on its own, so that it is bit-for-bit the same whatever the order of the rows and the
    position of the column (numpy's axis-0 reductions round differently per position)."""
    std = np.array([np.sort(x[:, j]).std() for j in range(x.shape[1])])
    return x / np.where(std > 0, std, 1.0)


def _count_sorted(xs: np.ndarray, r: np.ndarray) -> np.ndarray:
    """``#{j : |x_j - x_i| <= r_i}`` for every ``i`` (itself included) of an ascending 1-D
    array, with the exact float predicate.

    Two binary searches find the interval; a few vectorized corrections then enforce the
    very comparison a tree search makes (``x_i + r`` may round past a neighbour that
    ``|x_j - x_i| <= r`` excludes). The passing set is contiguous in sorted order, so the
    corrections move each end over whole runs of equal values until both ends agree.
    """
    n = xs.size
    lo = np.searchsorted(xs, xs - r, side="left")
    hi = np.searchsorted(xs, xs + r, side="right")
    rows = np.arange(n)

    def passes(pos: np.ndarray) -> np.ndarray:
        inside = (pos >= 0) & (pos < n)
        return inside & (np.abs(xs[np.clip(pos, 0, n - 1)] - xs[rows]) <= r)

    for _ in range(n + 1):  # each round moves an end past a run of equal values
        grow_lo = (lo > 0) & passes(lo - 1)
        shrink_lo = ~grow_lo & (lo < n) & ~passes(lo)
        grow_hi = (hi < n) & passes(hi)
        shrink_hi = ~grow_hi & (hi > 0) & ~passes(hi - 1)
        if not (grow_lo.any() or shrink_lo.any() or grow_hi.any() or shrink_hi.any()):
            break
        lo[grow_lo] = np.searchsorted(xs, xs[lo[grow_lo] - 1], side="left")
        lo[shrink_lo] = np.searchsorted(xs, xs[lo[shrink_lo]], side="right")
        hi[grow_hi] = np.searchsorted(xs, xs[hi[grow_hi]], side="right")
        hi[shrink_hi] = np.searchsorted(xs, xs[hi[shrink_hi] - 1], side="left")
    return np.maximum(hi - lo, 0)


def _count_within(values: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """:func:`_count_sorted` for unsorted values (sorted, counted, mapped back)."""
    order = np.argsort(values, kind="stable")
    out = np.empty(values.size, dtype=np.int64)
    out[order] = _count_sorted(values[order], radius[order])
    return out


def _kth_sorted(xs: np.ndarray, k: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """Distance to the k-th nearest *other* point of the same group, for points sorted by
    group and, within a group, ascending (1-D).

    The neighbours of distance rank 1..k lie among the k points on either side; with
    ``L_a``, ``R_a`` the distances to the a-th point on the left and on the right (both
    increasing in a, infinite past the group's end), the k-th smallest of their union is
    ``min_a max(L_a, R_(k-a))`` over ``a = 0..k`` (``L_0 = R_0 = -inf``): an (n, k+1) array,
    no sort and no tree.
    """
    n = xs.size
    kmax = int(k.max())
    steps = np.arange(1, kmax + 1)
    left_pos = np.arange(n)[:, None] - steps
    right_pos = np.arange(n)[:, None] + steps
    left_at = np.maximum(left_pos, 0)
    right_at = np.minimum(right_pos, n - 1)
    left = np.where(left_pos >= 0, xs[:, None] - xs[left_at], np.inf)
    right = np.where(right_pos < n, xs[right_at] - xs[:, None], np.inf)
    if groups is not None:
        left[groups[left_at] != groups[:, None]] = np.inf
        right[groups[right_at] != groups[:, None]] = np.inf
    pad = np.full((n, 1), -np.inf)  # column 0: "none taken from this side"
    left = np.hstack([pad, left])
    right = np.hstack([pad, right])
    kk = k[:, None]
    a = np.arange(kmax + 1)[None, :]
    best = np.maximum(left, np.take_along_axis(right, np.clip(kk - a, 0, kmax), axis=1))
    return np.where(a <= kk, best, np.inf).min(axis=1)


def _kth_neighbour_distance_1d(
    x: np.ndarray, k: np.ndarray | int, groups: np.ndarray | None = None
) -> np.ndarray:
    """:func:`_kth_sorted` for unsorted points (and optional group labels)."""
    k = np.broadcast_to(np.asarray(k, dtype=np.int64), x.shape)
    order = np.argsort(x, kind="stable")
    if groups is not None:  # group-major, ascending within each group
        order = order[np.argsort(groups[order], kind="stable")]
    out = np.empty(x.size)
    out[order] = _kth_sorted(x[order], k[order], None if groups is None else groups[order])
    return out


def _kth_neighbour_distance(points: np.ndarray, k: int) -> np.ndarray:
    """Max-norm distance to the k-th nearest other point (any dimension, via a k-d tree)."""
    if points.shape[1] == 1:
        return _kth_neighbour_distance_1d(points[:, 0], k)
    from scipy.spatial import cKDTree

    # k + 1 neighbours include the point itself (or a duplicate at distance 0)
    dist, _ = cKDTree(points).query(points, k=k + 1, p=np.inf)
    return dist[:, -1]


def _count_within_nd(points: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """``#{j : ||p_j - p_i||_inf <= radius_i}`` (self included), any dimension."""
    if points.shape[1] == 1:
        return _count_within(points[:, 0], radius)
    from scipy.spatial import cKDTree

    return np.asarray(
        cKDTree(points).query_ball_point(points, radius, p=np.inf, return_length=True)
    )


def _as_2d(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x[:, None] if x.ndim == 1 else x


def _check_k(k: int, n: int) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if n <= k:
        raise ValueError(f"k-nearest-neighbour MI needs more than k={k} samples, got {n}")
    return int(k)


def _ksg_cc(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """KSG estimator 1 on prepared (scaled, tie-broken) arrays; unclipped."""
    from scipy.special import digamma

    n = x.shape[0]
    eps = _kth_neighbour_distance(np.hstack([x, y]), k)
    radius = np.nextafter(eps, 0)  # strictly closer than the k-th joint neighbour
    nx = _count_within_nd(x, radius) - 1  # minus the point itself
    ny = _count_within_nd(y, radius) - 1
    return float(digamma(n) + digamma(k) - np.mean(digamma(nx + 1)) - np.mean(digamma(ny + 1)))


def _label_counts(labels: np.ndarray, k: int):
    """Per point: class index, class size, and ``k_i = min(k, size - 1)``; ``keep`` marks
    the points whose class has at least two members (the others are left out)."""
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    count = counts[inverse]
    return inverse, count, np.minimum(k, count - 1), count > 1


def _ksg_cd_1d(x: np.ndarray, labels_info: tuple, order: np.ndarray | None = None) -> float:
    """Ross's estimator for a prepared 1-D ``x``; unclipped. ``order`` is ``argsort(x)``
    when the caller has it (one sort per latent serves every factor)."""
    from scipy.special import digamma

    inverse, count, k_each, keep = labels_info
    if order is None:
        order = np.argsort(x, kind="stable")
    order = order[keep[order]]  # kept points, ascending
    if order.size < 2:
        return 0.0
    xs, groups, kk, cnt = x[order], inverse[order], k_each[order], count[order]
    by_group = np.argsort(groups, kind="stable")  # group-major, still ascending inside
    radius = np.empty(xs.size)
    radius[by_group] = _kth_sorted(xs[by_group], kk[by_group], groups[by_group])
    m = _count_sorted(xs, np.nextafter(radius, 0))  # itself included, as sklearn counts
    return float(
        digamma(xs.size) + np.mean(digamma(kk)) - np.mean(digamma(cnt)) - np.mean(digamma(m))
    )


def _ksg_cd(x: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Ross's estimator on a prepared (scaled, tie-broken) ``x`` of shape (n, d); unclipped.
    Points whose label occurs once are left out (scikit-learn's ``_compute_mi_cd``)."""
    info = _label_counts(labels, k)
    if x.shape[1] == 1:
        return _ksg_cd_1d(x[:, 0], info)
    from scipy.spatial import cKDTree
    from scipy.special import digamma

    inverse, count, k_each, keep = info
    if keep.sum() < 2:
        return 0.0
    x, inverse, count, k_each = x[keep], inverse[keep], count[keep], k_each[keep]
    radius = np.empty(x.shape[0])
    for label in np.unique(inverse):  # one tree per class (multivariate x only)
        rows = np.flatnonzero(inverse == label)
        kk = int(k_each[rows[0]])
        dist, _ = cKDTree(x[rows]).query(x[rows], k=kk + 1, p=np.inf)
        radius[rows] = dist[:, -1]
    m = _count_within_nd(x, np.nextafter(radius, 0))
    n = x.shape[0]
    return float(
        digamma(n) + np.mean(digamma(k_each)) - np.mean(digamma(count)) - np.mean(digamma(m))
    )


def ksg_mutual_info(
    x: np.ndarray,
    y: np.ndarray,
    *,
    k: int = 3,
    noise: float = KSG_NOISE,
    seed: int = 0,
    row_keys: np.ndarray | None = None,
    clip: bool = True,
) -> float:
    r"""Kraskov-Stoegbauer-Grassberger mutual information (nats) of two continuous variables.

    .. math::
        \hat I(X; Y) = \psi(k) + \psi(N) - \langle \psi(n_x + 1) + \psi(n_y + 1) \rangle

    where, for each point, :math:`\varepsilon` is the max-norm distance to its k-th
    nearest neighbour in the joint space and :math:`n_x, n_y` count the other points
    strictly closer than :math:`\varepsilon` in each marginal (estimator 1 of the paper).
    Each column is divided by its standard deviation and tie-broken
    (:func:`tie_breaking_noise`) first, as ``sklearn.feature_selection.mutual_info_regression``
    does; on data without ties the two agree to rounding.

    Parameters
    ----------
    x, y : ndarray of shape (n,) or (n, d)
        Samples (rows); multivariate x or y use the max-norm over their columns.
    k : int, default 3
        Neighbours (scikit-learn's default).
    noise : float, default 1e-10
        Relative amplitude of the tie-breaking noise (0 turns it off).
    seed : int
    row_keys : ndarray of shape (n,), optional
        Order-invariant row ranks for the tie-breaking (:func:`row_rank`).
    clip : bool, default True
        Replace a negative estimate by 0 (scikit-learn and latte do).

    References
    ----------
    Kraskov, Stoegbauer, Grassberger, "Estimating mutual information", Phys. Rev. E 69,
    066138 (2004).
    """
    x, y = _as_2d(x), _as_2d(y)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]}")
    k = _check_k(k, x.shape[0])
    if np.all(x.std(axis=0) == 0) or np.all(y.std(axis=0) == 0):
        return 0.0  # a constant variable shares no information
    xs, ys = _standardize_like_sklearn(x), _standardize_like_sklearn(y)
    if noise:
        xs = xs + tie_breaking_noise(xs, seed=seed, amplitude=noise, row_keys=row_keys)
        ys = ys + tie_breaking_noise(ys, seed=seed + 1, amplitude=noise, row_keys=row_keys)
    mi = _ksg_cc(xs, ys, k)
    return max(mi, 0.0) if clip else mi


def ksg_mutual_info_cd(
    x: np.ndarray,
    labels: np.ndarray,
    *,
    k: int = 3,
    noise: float = KSG_NOISE,
    seed: int = 0,
    row_keys: np.ndarray | None = None,
    clip: bool = True,
) -> float:
    r"""Ross's k-nearest-neighbour mutual information (nats) of a continuous and a discrete
    variable.

    .. math::
        \hat I(X; L) = \psi(N) - \langle \psi(N_{l_i}) \rangle + \langle \psi(k_i) \rangle
        - \langle \psi(m_i) \rangle

    For point i with label :math:`l_i` (:math:`N_{l_i}` points), :math:`d_i` is the distance
    to its :math:`k_i = \min(k, N_{l_i} - 1)`-th nearest neighbour of the same label and
    :math:`m_i` counts all points strictly closer than :math:`d_i` (itself included). Points
    whose label occurs once are left out. This is
    ``sklearn.feature_selection.mutual_info_classif`` on a continuous feature (the
    estimator latte and InfoMEC use); on data without ties the two agree to rounding.

    Parameters
    ----------
    x : ndarray of shape (n,) or (n, d)
    labels : ndarray of shape (n,)
    k, noise, seed, row_keys, clip
        As in :func:`ksg_mutual_info`.

    References
    ----------
    Ross, "Mutual Information between Discrete and Continuous Data Sets", PLoS ONE 9(2),
    e87357 (2014).
    """
    x = _as_2d(x)
    labels = np.asarray(labels).ravel()
    if x.shape[0] != labels.size:
        raise ValueError(f"x has {x.shape[0]} rows but labels has {labels.size}")
    k = _check_k(k, x.shape[0])
    if np.all(x.std(axis=0) == 0) or np.unique(labels).size < 2:
        return 0.0
    xs = _standardize_like_sklearn(x)
    if noise:
        xs = xs + tie_breaking_noise(xs, seed=seed, amplitude=noise, row_keys=row_keys)
    mi = _ksg_cd(xs, labels, k)
    return max(mi, 0.0) if clip else mi


def ksg_mutual_info_matrix(
    z: np.ndarray,
    factors: np.ndarray,
    *,
    discrete: bool | np.ndarray = True,
    k: int = 3,
    noise: float = KSG_NOISE,
    seed: int = 0,
    row_keys: np.ndarray | None = None,
) -> np.ndarray:
    """k-nearest-neighbour MI (nats, clipped at 0) of every latent column with every factor.

    Discrete factors use :func:`ksg_mutual_info_cd`, continuous ones
    :func:`ksg_mutual_info`. Each latent column is scaled and tie-broken once (not once per
    pair), with the same noise the single-pair functions would draw.

    Parameters
    ----------
    z : ndarray of shape (n, d)
    factors : ndarray of shape (n, K)
    discrete : bool or array of K bools, default True
    k, noise, seed, row_keys
        As in :func:`ksg_mutual_info`.

    Returns
    -------
    ndarray of shape (d, K)
    """
    z, factors = _as_2d(z), _as_2d(factors)
    k = _check_k(k, z.shape[0])
    flags = np.broadcast_to(np.asarray(discrete, dtype=bool), (factors.shape[1],))
    constant = z.std(axis=0) == 0
    zs = _standardize_like_sklearn(z)
    if noise:
        zs = zs + tie_breaking_noise(zs, seed=seed, amplitude=noise, row_keys=row_keys)
    out = np.zeros((z.shape[1], factors.shape[1]))
    active = np.flatnonzero(~constant)
    orders = {i: np.argsort(zs[:, i], kind="stable") for i in active}  # one sort per latent
    for j in range(factors.shape[1]):
        f = factors[:, j]
        if flags[j]:
            if np.unique(f).size < 2:
                continue
            info = _label_counts(f, k)
            for i in active:
                out[i, j] = max(_ksg_cd_1d(zs[:, i], info, orders[i]), 0.0)
            continue
        if f.std() == 0:
            continue
        fs = _standardize_like_sklearn(f[:, None])
        if noise:
            fs = fs + tie_breaking_noise(fs, seed=seed + 1, amplitude=noise, row_keys=row_keys)
        for i in active:
            out[i, j] = max(_ksg_cc(zs[:, i : i + 1], fs, k), 0.0)
    return out
