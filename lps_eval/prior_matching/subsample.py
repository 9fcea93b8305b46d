r"""Exact order statistics of every column, in a few streamed passes.

The per-dimension MMD tests subsample each column on its own: the values of column
:math:`j` at seeded random *ranks* :math:`r_1, \dots, r_k` (positions in the sorted
column). Those values are a function of the column's multiset of values and the ranks
only: they do not depend on the order of the rows, on the position of the column, or on
any other column. A uniformly random set of ranks gives a uniformly random subsample of
the column (without replacement), exactly as a random set of rows would.

:func:`column_order_statistics` sorts columns of up to :data:`SORT_ROWS` rows (in
batches of columns, one read of the rows per batch). Longer columns are never held in
memory: their order statistics are found in a few streamed passes. Every float64 value is mapped to an
unsigned 64-bit *key* that sorts like the value (:func:`order_keys`). Each rank is
tracked inside a *bracket*, an interval of keys known to hold it, with the number of the
column's values below the bracket. One pass over the rows either

- counts the values of a bracket in equal-width key bins (integer shifts, exact), after
  which each rank's bracket shrinks to the one bin that holds it: the width drops by a
  factor of at least ``2**(MIN_BITS - 1)``, so a bounded number of passes suffices
  whatever the data (heavy tails, point masses, values near 0); or
- gathers the values of a bracket holding at most :data:`GATHER` values and sorts them.

A bracket of a single key (every value in it equal) is resolved without a pass. The
brackets form a tree (a bracket's children are some of its bins), so a value finds its
bracket by a few table look-ups, never a search. Smooth data needs three passes: a count
over the whole range, a finer count, a gather. Both ways give the same values, bit for
bit (``tests/prior_matching/test_subsample.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lps_eval._validation import LpsInputError
from lps_eval.streaming import column_range, iter_chunks

__all__ = [
    "GATHER",
    "GATHER_BUDGET",
    "MAX_BITS",
    "MIN_BITS",
    "SORT_ELEMENTS",
    "SORT_ROWS",
    "column_order_statistics",
    "from_order_keys",
    "order_keys",
]

#: Bins of a counted bracket: between 2**MIN_BITS and 2**MAX_BITS (about 4 x count /
#: GATHER), 2**ROOT_BITS for the first pass over a whole column.
MIN_BITS, MAX_BITS, ROOT_BITS = 6, 10, 15
#: Brackets holding at most this many values are gathered and sorted instead of counted.
GATHER = 1 << 8
#: Larger brackets are gathered too, smallest first, while a pass gathers at most this
#: many values in all.
GATHER_BUDGET = 1 << 21
#: Columns of at most this many rows are sorted instead (in batches of at most
#: SORT_ELEMENTS values: one read of the rows per batch); longer ones are bracketed.
SORT_ROWS = 1 << 22
SORT_ELEMENTS = 1 << 23
#: Values (rows x columns) looked up at once: bounds the temporaries of a pass.
LOOKUP_ELEMENTS = 1 << 21

_SIGN = np.uint64(1 << 63)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_COUNT, _GATHER, _SPLIT, _DONE = 0, 1, 2, 3


def order_keys(values: np.ndarray) -> np.ndarray:
    """Unsigned 64-bit keys that sort exactly like the float64 ``values`` (-0.0 as 0.0).

    Non-negative values get their sign bit set; negative values have every bit flipped,
    so a larger value always has a larger key (IEEE 754 bit patterns of one sign are
    ordered like their magnitudes).
    """
    v = np.asarray(values, dtype=np.float64) + 0.0  # a copy; -0.0 + 0.0 is +0.0
    bits = v.view(np.uint64)
    flip = (v.view(np.int64) >> 63).view(np.uint64)  # all ones where negative
    flip |= _SIGN
    bits ^= flip
    return bits


def from_order_keys(keys: np.ndarray) -> np.ndarray:
    """The float64 values of :func:`order_keys` keys."""
    keys = np.asarray(keys, dtype=np.uint64)
    bits = np.where(keys & _SIGN, keys ^ _SIGN, keys ^ _ALL)
    return bits.view(np.float64)


@dataclass
class _Tree:
    """Every bracket of every column (a node) and the tables that lead to its children.

    Nodes ``0 .. d - 1`` are the columns' whole ranges. A counted node becomes a split
    node: its bins form a slice of :attr:`table` holding the child node of each bin that
    holds a rank (-1 elsewhere), and a value reaches its bracket by following these.
    """

    column: list[int] = field(default_factory=list)
    lo: list[int] = field(default_factory=list)  # first key
    hi: list[int] = field(default_factory=list)  # last key
    below: list[int] = field(default_factory=list)  # column values below ``lo``
    count: list[int] = field(default_factory=list)  # column values inside
    state: list[int] = field(default_factory=list)  # _COUNT, _GATHER, _SPLIT or _DONE
    shift: list[int] = field(default_factory=list)  # bins are 2**shift keys wide
    offset: list[int] = field(default_factory=list)  # first bin (counts, then table)
    targets: list[np.ndarray] = field(default_factory=list)  # indices of its ranks
    table: list[np.ndarray] = field(default_factory=list)

    def add(self, column: int, lo: int, hi: int, below: int, count: int, targets: Any) -> None:
        self.column.append(column)
        self.lo.append(lo)
        self.hi.append(hi)
        self.below.append(below)
        self.count.append(count)
        self.state.append(_GATHER if count <= GATHER else _COUNT)
        self.shift.append(0)
        self.offset.append(0)
        self.targets.append(np.asarray(targets, dtype=np.int64))

    def open_nodes(self, state: int) -> list[int]:
        return [node for node, s in enumerate(self.state) if s == state]


def column_order_statistics(z: Any, ranks: np.ndarray) -> np.ndarray:
    """Values of every column of ``z`` at the given ranks of that column, exactly.

    Parameters
    ----------
    z : array, memmap or dask array of shape (n, d)
        Finite values (validated by the caller).
    ranks : int array of shape (k,)
        Positions ``0 .. n - 1`` in each sorted column; any order, repeats allowed.

    Returns
    -------
    numpy.ndarray of shape (k, d)
        ``out[i, j] = sort(z[:, j])[ranks[i]]``, in the order of ``ranks``.
    """
    n, d = z.shape
    ranks = np.asarray(ranks, dtype=np.int64).reshape(-1)
    if ranks.size and (ranks.min() < 0 or ranks.max() >= n):
        raise LpsInputError(f"ranks must lie in [0, {n - 1}], got [{ranks.min()}, {ranks.max()}]")
    if n <= SORT_ROWS:
        return _sorted_columns(z, ranks)
    targets, inverse = np.unique(ranks, return_inverse=True)
    found = np.zeros((targets.size, d), dtype=np.uint64)
    if targets.size:
        low, high = column_range(z)
        tree = _Tree()
        for j, (lo, hi) in enumerate(zip(order_keys(low), order_keys(high), strict=True)):
            tree.add(j, int(lo), int(hi), 0, n, np.arange(targets.size))
        root_bits = min(ROOT_BITS, max(MIN_BITS, (LOOKUP_ELEMENTS // d).bit_length() - 1))
        bits: int | None = root_bits
        while True:
            _resolve_points(tree, found)
            if not (tree.open_nodes(_COUNT) or tree.open_nodes(_GATHER)):
                break
            n_bins = _plan_bins(tree, bits)
            counts, gathered = _one_pass(z, tree, n_bins)
            _resolve_gathered(tree, gathered, targets, found)  # before new brackets open
            _split(tree, counts, targets)
            bits = None
    return from_order_keys(found)[inverse]


def _sorted_columns(z: Any, ranks: np.ndarray) -> np.ndarray:
    """The same order statistics by sorting batches of columns (short columns).

    Columns are gathered as rows of a ``(batch, n)`` buffer (sorted in place along its
    last axis) in the input's own float dtype when it has one: float32 and float16
    values convert to float64 exactly and in order, so sorting them first gives the same
    values at half the memory and time.
    """
    n, d = z.shape
    kind = np.dtype(z.dtype).kind
    dtype = np.dtype(z.dtype) if kind == "f" and z.dtype.itemsize <= 8 else np.dtype(np.float64)
    batch = max(1, SORT_ELEMENTS // n)
    out = np.empty((ranks.size, d))
    for first in range(0, d, batch):
        cols = slice(first, min(first + batch, d))
        part = np.empty((cols.stop - cols.start, n), dtype=dtype)
        if isinstance(z, np.ndarray) and not isinstance(z, np.memmap):
            part[:] = z[:, cols].T
        else:
            for row, block in iter_chunks(z):  # float64 copies of the input's values:
                part[:, row : row + block.shape[0]] = block[:, cols].T  # exact back
        part += 0  # -0.0 becomes 0.0, as in order_keys
        part.sort(axis=1)
        out[:, cols] = part[:, ranks].T  # float64 (exact from float16/32)
    return out


def _resolve_points(tree: _Tree, found: np.ndarray) -> None:
    """Open brackets of a single key hold one value: every rank in them has that value."""
    for node in tree.open_nodes(_COUNT) + tree.open_nodes(_GATHER):
        if tree.lo[node] == tree.hi[node]:
            found[tree.targets[node], tree.column[node]] = tree.lo[node]
            tree.state[node] = _DONE


def _plan_bins(tree: _Tree, bits: int | None) -> int:
    """Shift and first bin of every bracket counted in this pass; the number of bins.

    ``bits`` fixes the bins (``2**bits``, the first pass); None sizes them by the count.
    """
    _choose_gathered(tree)
    total = 0
    for node in tree.open_nodes(_COUNT):
        if bits is None:
            want = max(4 * tree.count[node] // GATHER, 1).bit_length()
            node_bits = min(max(want, MIN_BITS), MAX_BITS)
        else:
            node_bits = bits
        width = tree.hi[node] - tree.lo[node]
        shift = max(width.bit_length() - node_bits, 0)
        tree.shift[node] = shift
        tree.offset[node] = total
        total += (width >> shift) + 1
    return total


def _choose_gathered(tree: _Tree) -> None:
    """Gather the smallest open brackets while the pass stays within GATHER_BUDGET."""
    open_nodes = tree.open_nodes(_COUNT) + tree.open_nodes(_GATHER)
    budget = GATHER_BUDGET
    for node in sorted(open_nodes, key=lambda i: tree.count[i]):
        small = tree.count[node] <= GATHER
        if small or tree.count[node] <= budget:
            tree.state[node] = _GATHER
            budget -= tree.count[node]
        else:
            tree.state[node] = _COUNT


def _one_pass(z: Any, tree: _Tree, n_bins: int) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """One pass over the rows: bin counts of the counted brackets, values of the gathered.

    Returns the flat bin counts and ``(node, key)`` of every gathered value.
    """
    d = z.shape[1]
    lo = np.array(tree.lo, dtype=np.uint64)
    shift = np.array(tree.shift, dtype=np.uint64)
    offset = np.array(tree.offset, dtype=np.int64)
    state = np.array(tree.state, dtype=np.int64)
    table = np.concatenate(tree.table) if tree.table else np.zeros(0, dtype=np.int64)
    counts = np.zeros(n_bins, dtype=np.int64)
    nodes_kept, keys_kept = [], []
    columns = None
    for _, block in iter_chunks(z, rows=max(1, LOOKUP_ELEMENTS // d)):
        keys = order_keys(block).reshape(-1)  # row-major: element e is column e % d
        if columns is None or columns.size != keys.size:
            columns = np.tile(np.arange(d, dtype=np.int64), block.shape[0])
        node, keys = _find_brackets(keys, columns.copy(), lo, shift, offset, state, table)
        st = state[node]
        tally = st == _COUNT
        if tally.any():
            t = node[tally]
            bins = offset[t] + ((keys[tally] - lo[t]) >> shift[t]).astype(np.int64)
            counts += np.bincount(bins, minlength=n_bins)
        take = st == _GATHER
        if take.any():
            nodes_kept.append(node[take])
            keys_kept.append(keys[take])
    if nodes_kept:
        return counts, (np.concatenate(nodes_kept), np.concatenate(keys_kept))
    return counts, (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64))


def _find_brackets(
    keys: np.ndarray,
    node: np.ndarray,
    lo: np.ndarray,
    shift: np.ndarray,
    offset: np.ndarray,
    state: np.ndarray,
    table: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Walk every value from its column's root down the split nodes to an open bracket.

    Values in a bin without a rank, or in a resolved bracket, are dropped. Returns the
    open bracket of each remaining value and the value's key.
    """
    while True:
        st = state[node]
        alive = st != _DONE
        if not alive.all():
            keys, node, st = keys[alive], node[alive], st[alive]
        split = st == _SPLIT
        if not split.any():
            return node, keys
        at = node[split]
        step = ((keys[split] - lo[at]) >> shift[at]).astype(np.int64)
        node[split] = table[offset[at] + step]
        found = node >= 0
        if not found.all():
            keys, node = keys[found], node[found]


def _split(tree: _Tree, counts: np.ndarray, targets: np.ndarray) -> None:
    """Each counted bracket becomes a split node; its bins that hold ranks, new brackets."""
    table_size = sum(t.size for t in tree.table)
    one = 1
    for node in tree.open_nodes(_COUNT):
        width = tree.hi[node] - tree.lo[node]
        shift = tree.shift[node]
        n_bins = (width >> shift) + 1
        start = tree.offset[node]
        cum = np.cumsum(counts[start : start + n_bins])
        mine = tree.targets[node]
        bins = np.searchsorted(cum, targets[mine] - tree.below[node], side="right")
        children = np.full(n_bins, -1, dtype=np.int64)
        for g in np.unique(bins).tolist():
            first = tree.lo[node] + (g << shift)
            last = min(tree.hi[node], first + (one << shift) - 1)
            before = int(cum[g - 1]) if g else 0
            children[g] = len(tree.lo)
            tree.add(
                tree.column[node],
                first,
                last,
                tree.below[node] + before,
                int(cum[g]) - before,
                mine[bins == g],
            )
        tree.table.append(children)
        tree.offset[node] = table_size
        table_size += n_bins
        tree.state[node] = _SPLIT


def _resolve_gathered(
    tree: _Tree, gathered: tuple[np.ndarray, ...], targets: np.ndarray, found: np.ndarray
) -> None:
    """Sort the gathered values of each small bracket and read off its ranks."""
    nodes, keys = gathered
    order = np.argsort(nodes, kind="stable")
    nodes, keys = nodes[order], keys[order]
    starts = np.searchsorted(nodes, np.arange(len(tree.lo) + 1), side="left")
    for node in tree.open_nodes(_GATHER):
        mine = tree.targets[node]
        values = np.sort(keys[starts[node] : starts[node + 1]])
        found[mine, tree.column[node]] = values[targets[mine] - tree.below[node]]
        tree.state[node] = _DONE
