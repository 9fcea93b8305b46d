"""Batches of rows that share factor values, drawn the way the Ubisoft La Forge reference
(``ubisoft-laforge-disentanglement-metrics``, Carbonneau et al. 2022) draws them.

Z-diff, Z-min-var and Z-max-var work from binned arrays, with no simulator: a "fixed
factor" batch is a set of rows whose (binned) factor value is equal. The reference picks
the fixed value *uniformly among the values that have at least two rows* (not in proportion
to their frequency), draws the rows of a batch without replacement while the group has
enough of them and cycles through reshuffled passes of a small group otherwise, and makes
the two rows of a Z-diff pair distinct. This module reproduces those choices, vectorized
where the work scales with the number of rows.
"""

from __future__ import annotations

import numpy as np

from lps_eval._validation import LpsInputError, check_positive_int
from lps_eval.information import histogram_discretize, to_codes
from lps_eval.metrics.common import discrete_factor_codes

__all__ = [
    "CONTINUOUS_FACTOR_MODES",
    "Groups",
    "binned_factor_codes",
    "combination_groups",
    "draw_pairs",
    "scaled_accuracy",
    "stream_rows",
    "value_groups",
    "variance_votes",
    "vote_accuracy",
]

#: ``continuous_factors`` choices: ``"auto"`` bins only non-integer factors; ``True`` bins
#: every factor (the reference's default, ``continuous_factors=True``); ``False`` uses the
#: values as given (the reference's ``continuous_factors=False``).
CONTINUOUS_FACTOR_MODES = ("auto", True, False)

#: Batches whose rows are gathered at once when computing local variances.
_VOTE_CHUNK = 256


def binned_factor_codes(
    factors: np.ndarray, *, continuous_factors: str | bool, n_bins: int, metric: str
) -> np.ndarray:
    """Integer factor codes for the fixed-factor metrics.

    ``"auto"``: integer-valued factors keep one code per value, others are binned into
    ``n_bins`` equal-width bins with a warning (:func:`~lps_eval.metrics.common.discrete_factor_codes`).
    ``True``: every factor is binned into ``n_bins`` equal-width bins over its range (the
    reference min-max scales and digitizes with ``linspace(0, 1, n_bins + 1)[:-1]``; the
    bins are the same). ``False``: one code per distinct value, refused for non-integer
    factors (every float would be its own value and no two rows would share one).
    """
    if isinstance(continuous_factors, str):
        if continuous_factors != "auto":
            raise LpsInputError(
                f"continuous_factors must be 'auto', true or false, got {continuous_factors!r}"
            )
        codes, _, _ = discrete_factor_codes(factors, None, n_bins=n_bins, metric=metric)
        return codes
    if not isinstance(continuous_factors, (bool, np.bool_)):
        raise LpsInputError(
            f"continuous_factors must be 'auto', true or false, got {continuous_factors!r}"
        )
    if continuous_factors:
        return histogram_discretize(factors, n_bins)
    if not np.all(np.mod(factors, 1) == 0):
        raise LpsInputError(
            f"{metric}: continuous_factors=false needs integer factor codes; pass "
            "continuous_factors='auto' or true to bin real-valued factors"
        )
    return to_codes(factors)[0]


class Groups:
    """Row groups (each an index array) laid out flat: ``members[start[g]:start[g]+size[g]]``."""

    def __init__(self, groups: list[np.ndarray]) -> None:
        self.size = np.array([g.size for g in groups], dtype=np.int64)
        self.start = np.concatenate([[0], np.cumsum(self.size)[:-1]]).astype(np.int64)
        self.members = np.concatenate(groups) if groups else np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return int(self.size.size)

    def rows(self, g: int) -> np.ndarray:
        return self.members[self.start[g] : self.start[g] + self.size[g]]


def value_groups(codes: np.ndarray, *, min_rows: int = 2) -> Groups:
    """Rows sharing each value of one factor column; values with fewer rows are dropped."""
    order = np.argsort(codes, kind="stable")
    _, first, counts = np.unique(codes[order], return_index=True, return_counts=True)
    return Groups([order[s : s + c] for s, c in zip(first, counts, strict=True) if c >= min_rows])


def combination_groups(codes: np.ndarray, k: int, *, min_rows: int = 2) -> Groups:
    """Rows sharing the values of every factor except ``k`` (Z-max-var's batches)."""
    others = np.delete(codes, k, axis=1)
    if others.shape[1] == 0:
        key = np.zeros(codes.shape[0], dtype=np.int64)
    else:
        key = np.unique(others, axis=0, return_inverse=True)[1].ravel()
    return value_groups(key, min_rows=min_rows)


def stream_rows(rows: np.ndarray, total: int, rng: np.random.Generator) -> np.ndarray:
    """``total`` rows taken from consecutive passes over ``rows``, each pass reshuffled:
    the reference's way of filling batches (a batch is distinct rows unless it straddles
    two passes, which happens when the group is small)."""
    passes = -(-total // rows.size)
    order = np.argsort(rng.random((passes, rows.size)), axis=1)
    return rows[order].ravel()[:total]


def draw_pairs(
    groups: Groups, chosen: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Two distinct rows of the same group per entry of ``chosen`` (fully vectorized)."""
    size = groups.size[chosen]
    first = rng.integers(0, size)
    second = (first + 1 + rng.integers(0, size - 1)) % size  # uniform over the others
    start = groups.start[chosen]
    return groups.members[start + first], groups.members[start + second]


def vote_accuracy(train_votes: np.ndarray, eval_votes: np.ndarray) -> tuple[float, float]:
    """Accuracy of the majority-vote classifier (latent -> factor) on its training and
    evaluation votes, both of shape (n_dims, n_factors)."""
    classifier = np.argmax(train_votes, axis=1)
    dims = np.arange(train_votes.shape[0])
    train = float(train_votes[dims, classifier].sum() / max(train_votes.sum(), 1))
    evaluation = float(eval_votes[dims, classifier].sum() / max(eval_votes.sum(), 1))
    return train, evaluation


def scaled_accuracy(accuracy: float, n_factors: int) -> float:
    """``(accuracy - 1/K) / (1 - 1/K)``: 0 for chance, 1 for perfect, negative below chance."""
    chance = 1.0 / n_factors
    return (accuracy - chance) / (1.0 - chance)


def variance_votes(
    z: np.ndarray,
    groups: list[Groups],
    counts: tuple[int, int],
    batch_size: int,
    global_var: np.ndarray,
    rng: np.random.Generator,
    *,
    pick: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Training and evaluation votes (n_dims, n_factors) of fixed-factor batches.

    ``counts = (n_train, n_eval)`` batches; each picks a factor ``k`` uniformly and a group
    of ``groups[k]`` uniformly, and votes for ``(argmin or argmax over dims of
    Var_batch(z_j) / global_var_j, k)`` (``pick="min"``: Z-min-var; ``"max"``: Z-max-var;
    variances with ddof 1). As in the reference, all the batches of one group, training
    ones first, are filled from one stream of reshuffled passes over its rows
    (:func:`stream_rows`), so training and evaluation batches of a group share no row
    within a pass.
    """
    batch_size = check_positive_int(batch_size, name="batch_size", minimum=2)
    n_factors = len(groups)
    labels = [rng.integers(n_factors, size=count) for count in counts]
    votes = [np.zeros((z.shape[1], n_factors), dtype=np.int64) for _ in counts]
    choose = np.argmin if pick == "min" else np.argmax
    for k in range(n_factors):
        n_train, n_eval = (int(np.sum(lab == k)) for lab in labels)
        chosen = rng.integers(len(groups[k]), size=n_train + n_eval)
        split = np.arange(chosen.size) >= n_train  # False: training batch
        for g in np.unique(chosen):  # one stream per group that was drawn
            total = int(np.sum(chosen == g))
            n_train_g = int(np.sum((chosen == g) & ~split))
            stream = stream_rows(groups[k].rows(int(g)), total * batch_size, rng)
            batches = stream.reshape(total, batch_size)
            is_eval = np.arange(total) >= n_train_g  # training batches come first
            for lo in range(0, total, _VOTE_CHUNK):  # bounded memory: chunk x batch x dims
                local = z[batches[lo : lo + _VOTE_CHUNK]].var(axis=1, ddof=1)
                winners = choose(local / global_var, axis=1)
                evaluation = is_eval[lo : lo + _VOTE_CHUNK]
                np.add.at(votes[0], (winners[~evaluation], k), 1)
                np.add.at(votes[1], (winners[evaluation], k), 1)
    return votes[0], votes[1]
