r"""UDR: Unsupervised Disentanglement Ranking from several models' codes (Duan et al., 2020).

UDR ranks models without ground-truth factors. Its premise: a model that disentangles
well finds the *same* latents as other well-disentangled models trained on the same data
(up to permutation and sign), while entangled models each find a different rotation.
For every ordered pair of models :math:`(i, j)` it builds a similarity matrix
:math:`R \in \mathbb{R}_{\ge 0}^{d_i \times d_j}` between their latents (absolute Spearman
correlations, or absolute Lasso coefficients of model :math:`j`'s latents regressed on
model :math:`i`'s), keeps the *informative* latents (mean KL to the prior above a
threshold), and scores how one-to-one :math:`R` is with the *relative strength*

.. math::
    s_{\text{col}} = \frac{1}{d_j'}\sum_b \frac{\max_a R_{ab}^2}{\sum_a R_{ab}}, \qquad
    s_{\text{row}} = \frac{1}{d_i'}\sum_a \frac{\max_b R_{ab}^2}{\sum_b R_{ab}}, \qquad
    \mathrm{UDR}_{ij} = \tfrac12 (s_{\text{col}} + s_{\text{row}})

(a column or row of zeros counts 0). A model's score is the median of its pair scores
with every other model. This is exactly disentanglement_lib's ``compute_udr_sklearn``
(``variant="dlib"``, the default); ``variant="clean"`` removes its quirks (see
:func:`udr`). UDR needs no factors.

Reference: Duan, Matthey, Saraiva, Watters, Burgess, Lerchner, Higgins, "Unsupervised
Model Selection for Variational Disentangled Representation Learning", ICLR 2020
(arXiv 1905.12614); disentanglement_lib ``evaluation/udr/metrics/udr.py``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lps_eval._random import make_rng
from lps_eval._validation import (
    LpsInputError,
    as_numpy,
    check_bool,
    check_fraction,
    check_latents,
    check_positive_int,
)
from lps_eval.metrics.common import warn
from lps_eval.metrics.registry import register_metric
from lps_eval.results import library_versions, make_row, tidy_frame

__all__ = ["CORRELATIONS", "VARIANTS", "UDRResult", "udr"]

CORRELATIONS = ("lasso", "spearman")
VARIANTS = ("dlib", "clean")
#: disentanglement_lib zeroes latents with KL <= 0.01 whatever ``kl_threshold`` says.
DLIB_ZEROING_THRESHOLD = 0.01


@dataclass(frozen=True, eq=False)
class UDRResult:
    """UDR of several models.

    Attributes
    ----------
    model_scores : ndarray of shape (n_models,)
        One score per model, in input order (higher = more consistent with the others).
    pairwise : ndarray of shape (n_models, n_models)
        ``pairwise[i, j]``: the pair score with model ``i``'s latents as rows of the
        similarity matrix (Lasso: model ``j`` regressed on model ``i``). Diagonal: 0 as
        disentanglement_lib writes it (``variant="dlib"``) or NaN (``"clean"``).
    models : tuple of str
        Model names, in input order.
    active : tuple of ndarray of bool
        Informative latents of each model (the KL filter).
    correlations : tuple of tuple of ndarray or None
        ``correlations[i][j]``: the raw (d_i x d_j) similarity matrix of the pair, before
        the KL filter (None on the diagonal).
    ci_low, ci_high : ndarray or None
        Percentile bootstrap interval of each model score (``n_boot > 0``).
    settings : dict
        Every choice that produced the numbers.
    """

    model_scores: np.ndarray
    pairwise: np.ndarray
    models: tuple[str, ...]
    active: tuple[np.ndarray, ...]
    correlations: tuple[tuple[np.ndarray | None, ...], ...] = field(repr=False)
    ci_low: np.ndarray | None = None
    ci_high: np.ndarray | None = None
    settings: dict[str, Any] = field(default_factory=dict, repr=False)

    def rows(self) -> list[dict[str, Any]]:
        """``udr`` rows (one per model) then ``udr_pairwise`` rows (one per ordered pair)."""
        nan = np.full(len(self.models), math.nan)
        low = nan if self.ci_low is None else self.ci_low
        high = nan if self.ci_high is None else self.ci_high
        rows = [
            make_row(
                "udr",
                self.model_scores[i],
                ci_low=low[i],
                ci_high=high[i],
                model=name,
                n_active=int(self.active[i].sum()),
            )
            for i, name in enumerate(self.models)
        ]
        rows += [
            make_row("udr_pairwise", self.pairwise[i, j], model=a, other_model=b)
            for i, a in enumerate(self.models)
            for j, b in enumerate(self.models)
            if i != j
        ]
        return rows

    def to_frame(self) -> pd.DataFrame:
        """Tidy rows with a ``model`` column (``other_model`` for the pair rows)."""
        return tidy_frame(self.rows(), attrs={**self.settings, "versions": library_versions()})

    def _repr_html_(self) -> str:
        from lps_eval.display import table_html

        return table_html(self.to_frame())


# ------------------------------------------------------------------ inputs


def _named(models: Any, names: Sequence[str] | None) -> tuple[list[Any], list[str]]:
    if isinstance(models, Mapping):
        if names is not None:
            raise LpsInputError("pass names only with a list of models (a dict has its keys)")
        return list(models.values()), [str(k) for k in models]
    if isinstance(models, np.ndarray) or not isinstance(models, Sequence):
        raise LpsInputError(
            "udr compares several models: pass a list (or dict name -> array) of latent "
            "arrays, one per model, e.g. udr([z1, z2, z3])"
        )
    arrays = list(models)
    if names is None:
        return arrays, [str(i) for i in range(len(arrays))]
    names = [str(n) for n in names]
    if len(names) != len(arrays) or len(set(names)) != len(names):
        raise LpsInputError(
            f"names must be {len(arrays)} distinct strings, one per model, got {names!r}"
        )
    return arrays, names


def _check_models(arrays: list[Any], names: list[str]) -> list[np.ndarray]:
    if len(arrays) < 2:
        raise LpsInputError(
            f"udr compares models with each other but got {len(arrays)} model(s); pass at "
            "least 2 (the paper uses every seed of a hyperparameter setting, 5 or more)"
        )
    zs = [
        check_latents(z, name=f"model {n!r}", min_samples=3)
        for z, n in zip(arrays, names, strict=True)
    ]
    rows = {z.shape[0] for z in zs}
    if len(rows) > 1:
        sizes = ", ".join(f"{n!r}: {z.shape[0]}" for n, z in zip(names, zs, strict=True))
        raise LpsInputError(
            f"udr needs the codes of the same inputs, row for row, from every model; the row "
            f"counts differ ({sizes}): encode one shared evaluation set with each model"
        )
    return zs


def _check_kl(kl: Any, zs: list[np.ndarray], names: list[str]) -> list[np.ndarray | None]:
    """One KL vector (or None: every latent informative) per model."""
    if kl is None:
        return [None] * len(zs)
    if isinstance(kl, Mapping):
        missing = [n for n in names if n not in kl]
        if missing:
            raise LpsInputError(f"kl has no entry for model(s) {missing}; pass one per model")
        kl = [kl[n] for n in names]
    elif isinstance(kl, np.ndarray) and kl.ndim == 2 and kl.shape[0] == len(zs):
        kl = list(kl)
    elif isinstance(kl, np.ndarray) or not isinstance(kl, Sequence) or len(kl) != len(zs):
        raise LpsInputError(
            f"kl must be a list of {len(zs)} per-dimension KL vectors (or None), one per model"
        )
    out: list[np.ndarray | None] = []
    for vec, z, name in zip(kl, zs, names, strict=True):
        if vec is None:
            out.append(None)
            continue
        arr = as_numpy(vec, name=f"kl of model {name!r}").astype(np.float64).ravel()
        if arr.shape[0] != z.shape[1]:
            raise LpsInputError(
                f"kl of model {name!r} has {arr.shape[0]} values but the model has "
                f"{z.shape[1]} latent dimensions; pass one mean KL per dimension"
            )
        if not np.isfinite(arr).all() or (arr < -1e-9).any():
            raise LpsInputError(
                f"kl of model {name!r} contains NaN, inf or negative values; pass the mean "
                "KL(q(z_j|x) || p(z_j)) of each dimension (non-negative), or None"
            )
        out.append(arr)
    return out


# ------------------------------------------------------------------ similarity matrices


def _standardize(z: np.ndarray) -> np.ndarray:
    """disentanglement_lib's StandardScaler (ddof 0; a constant column becomes 0)."""
    from sklearn.preprocessing import StandardScaler

    return StandardScaler().fit_transform(z)


def _spearman(zs: list[np.ndarray], *, nan_to_zero: bool) -> list[list[np.ndarray | None]]:
    """|Spearman correlation| of every pair of models' latents, from one ranking per model.

    Pearson correlation of average ranks (what ``scipy.stats.spearmanr`` computes); a
    constant column has no correlation: NaN as scipy says (``nan_to_zero=False``), or 0.
    """
    from scipy.stats import rankdata

    n = zs[0].shape[0]
    ranked = []
    for z in zs:
        r = rankdata(z, axis=0)
        r = r - r.mean(axis=0)
        sd = np.sqrt(np.einsum("ij,ij->j", r, r) / n)
        with np.errstate(divide="ignore", invalid="ignore"):
            ranked.append(np.where(sd > 0, r / np.where(sd > 0, sd, 1.0), np.nan))
    out: list[list[np.ndarray | None]] = [[None] * len(zs) for _ in zs]
    for i, a in enumerate(ranked):
        for j in range(i + 1, len(zs)):
            c = np.abs(a.T @ ranked[j] / n)
            if nan_to_zero:
                c = np.nan_to_num(c, nan=0.0)
            out[i][j], out[j][i] = c, c.T.copy()
    return out


def _lasso(zs: list[np.ndarray], *, alpha: float, seed: int) -> list[list[np.ndarray | None]]:
    """|Lasso coefficients|: ``out[i][j][a, b]`` weighs latent ``a`` of model ``i`` in the
    regression of latent ``b`` of model ``j`` (disentanglement_lib's
    ``lasso_correlation_matrix``). One multi-target fit per model: scikit-learn fits the
    targets independently, so this equals the pairwise fits exactly."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import Lasso

    out: list[list[np.ndarray | None]] = [[None] * len(zs) for _ in zs]
    for i, x in enumerate(zs):
        others = [j for j in range(len(zs)) if j != i]
        targets = np.concatenate([zs[j] for j in others], axis=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            coef = Lasso(alpha=alpha, random_state=seed).fit(x, targets).coef_
        coef = np.abs(np.atleast_2d(coef)).T  # (d_i, sum of d_j)
        edges = np.cumsum([0] + [zs[j].shape[1] for j in others])
        for k, j in enumerate(others):
            out[i][j] = coef[:, edges[k] : edges[k + 1]]
    return out


# ------------------------------------------------------------------ scores


def relative_strength_dlib(corr: np.ndarray) -> float:
    """disentanglement_lib's ``relative_strength_disentanglement``, operation for operation.

    ``(mean_b max_a R^2 / sum_a R + mean_a max_b R^2 / sum_b R) / 2``; a NaN (0 / 0, or a
    NaN correlation anywhere in a row or column) counts 0. An empty matrix (no informative
    latent in one model) makes disentanglement_lib raise; here it scores 0.
    """
    if corr.size == 0:
        return 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        score_x = np.nanmean(
            np.nan_to_num(np.power(np.max(corr, axis=0), 2) / np.sum(corr, axis=0))
        )
        score_y = np.nanmean(
            np.nan_to_num(np.power(np.max(corr, axis=1), 2) / np.sum(corr, axis=1))
        )
    return float((score_x + score_y) / 2)


def relative_strength_pooled(corr: np.ndarray) -> float:
    """The paper's pooled form: the row and column terms summed over every informative
    latent of both models and divided by their number, ``d_i' + d_j'``; NaN (constant)
    correlations count 0, an all-zero row or column counts 0; NaN when neither model has
    an informative latent."""
    c = np.nan_to_num(np.asarray(corr, dtype=np.float64), nan=0.0)
    n_rows, n_cols = c.shape
    if n_rows + n_cols == 0:
        return math.nan

    def terms(axis: int) -> np.ndarray:
        if c.shape[axis] == 0:
            return np.zeros(c.shape[1 - axis])
        top, total = c.max(axis=axis), c.sum(axis=axis)
        return np.where(total > 0, top**2 / np.where(total > 0, total, 1.0), 0.0)

    return float((terms(0).sum() + terms(1).sum()) / (n_rows + n_cols))


def _pair_scores(
    corr: list[list[np.ndarray | None]], active: list[np.ndarray], *, variant: str, filt: bool
) -> np.ndarray:
    m = len(corr)
    pair = np.zeros((m, m)) if variant == "dlib" else np.full((m, m), math.nan)
    score = relative_strength_dlib if variant == "dlib" else relative_strength_pooled
    for i in range(m):
        for j in range(m):
            if i == j:
                continue
            c = corr[i][j]
            if filt:
                c = c[active[i]][:, active[j]]
            pair[i, j] = score(c)
    return pair


def _model_scores(pair: np.ndarray, *, variant: str) -> np.ndarray:
    """dlib: median over ``j != i`` of ``pair[j, i]`` (model ``i`` as the columns, i.e. the
    Lasso target); clean: median of the symmetrized pair scores (both fit directions)."""
    m = pair.shape[0]
    off = ~np.eye(m, dtype=bool)
    if variant == "dlib":
        return np.array([np.median(pair[:, i][off[:, i]]) for i in range(m)])
    sym = (pair + pair.T) / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: no informative latents
        return np.array([np.nanmedian(sym[i][off[i]]) for i in range(m)])


def _prepared_codes(
    zs: list[np.ndarray],
    kls: list[np.ndarray | None],
    *,
    variant: str,
    kl_threshold: float,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Standardized codes with uninformative latents zeroed, and the informative masks."""
    zeroing = DLIB_ZEROING_THRESHOLD if variant == "dlib" else kl_threshold
    codes, active = [], []
    for z, kl in zip(zs, kls, strict=True):
        std = _standardize(z)
        if kl is None:  # no KL (e.g. a deterministic autoencoder): every latent informative
            active.append(np.ones(z.shape[1], dtype=bool))
        else:
            std = std * np.greater(kl, zeroing)
            active.append(kl > kl_threshold)
        codes.append(std)
    return codes, active


def _udr_once(codes, active, *, correlation, variant, filt, alpha, seed):
    if correlation == "lasso":
        corr = _lasso(codes, alpha=alpha, seed=seed)
    else:
        corr = _spearman(codes, nan_to_zero=variant == "clean")
    pair = _pair_scores(corr, active, variant=variant, filt=filt)
    return corr, pair, _model_scores(pair, variant=variant)


def _bootstrap(zs, kls, *, n_boot, confidence, rng, kl_threshold, **kw):
    """Percentile interval of every model score over row resamples (shared across models);
    each replicate reruns the whole computation, standardization included."""
    n = zs[0].shape[0]
    reps = np.empty((n_boot, len(zs)))
    for b in range(n_boot):
        rows = rng.integers(n, size=n)
        codes, active = _prepared_codes(
            [z[rows] for z in zs], kls, variant=kw["variant"], kl_threshold=kl_threshold
        )
        reps[b] = _udr_once(codes, active, **kw)[2]
    tail = (1 - confidence) / 2 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanpercentile(reps, tail, axis=0), np.nanpercentile(reps, 100 - tail, axis=0)


def _check_options(correlation, variant, kl_threshold, lasso_alpha, filter_low_kl):
    if correlation not in CORRELATIONS:
        raise LpsInputError(f"correlation must be one of {CORRELATIONS}, got {correlation!r}")
    if variant not in VARIANTS:
        raise LpsInputError(f"variant must be one of {VARIANTS}, got {variant!r}")
    for name, value in (("kl_threshold", kl_threshold), ("lasso_alpha", lasso_alpha)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise LpsInputError(f"{name} must be a non-negative number, got {value!r}")
    if lasso_alpha == 0:
        raise LpsInputError("lasso_alpha must be > 0 (0 is least squares: use a small value)")
    return check_bool(filter_low_kl, name="filter_low_kl")


@register_metric(
    rows=("udr", "udr_pairwise"),
    properties=("approx_sample_order", "approx_latent_order"),
    multi_model=True,
)
def udr(
    models: Any,
    kl: Any = None,
    *,
    names: Sequence[str] | None = None,
    correlation: str = "lasso",
    variant: str = "dlib",
    kl_threshold: float = 0.01,
    filter_low_kl: bool = True,
    lasso_alpha: float = 0.1,
    num_samples: int | None = 1000,
    n_boot: int = 0,
    confidence: float = 0.95,
    seed: int = 0,
) -> UDRResult:
    """UDR score of each of several models, from their codes of the same inputs.

    Parameters
    ----------
    models : list of array-like, or dict name -> array-like
        One (n_samples, d_m) latent array (the encoder means) per model, all encoding
        the same inputs row for row. No factors: UDR is unsupervised. Models may differ
        in width (disentanglement_lib requires equal widths; the numbers agree when they
        are equal).
    kl : list (or dict) of per-dimension KL vectors, or None
        Mean KL(q(z_j|x) || N(0, 1)) of each latent of each model (the trainer saves it in
        ``latents.npz``; :func:`lps_eval.models.read_model` returns it as ``.kl``). A
        ``None`` entry, or ``kl=None``, treats every latent of that model as informative
        (a deterministic autoencoder has no KL).
    names : sequence of str, optional
        Model names for the table (default ``"0"``, ``"1"``, ... or the dict's keys).
    correlation : {"lasso", "spearman"}
        Similarity of two models' latents: absolute Lasso coefficients (``alpha =
        lasso_alpha`` on standardized codes) or absolute Spearman correlations.
    variant : {"dlib", "clean"}
        ``"dlib"`` reproduces ``compute_udr_sklearn`` number for number, quirks included:

        1. latents with KL <= 0.01 are zeroed before the fit whatever ``kl_threshold``
           is (only the filter uses ``kl_threshold``);
        2. the pair score is the plain mean of the column and the row averages, however
           many informative latents each model has;
        3. a model's score is the median of ``pairwise[j, i]`` over ``j`` only: with
           Lasso, the fits that predict model ``i`` from the others (the other direction
           is computed and ignored);
        4. Spearman on a constant (zeroed) latent gives NaN, and a NaN anywhere in a row
           or column scores that row or column 0 (with ``filter_low_kl=False`` one dead
           latent makes the whole pair score 0);
        5. the diagonal of ``pairwise`` (a model against itself) is 0, never computed,
           and excluded from the median; a model with no informative latent makes
           disentanglement_lib raise (here its pairs score 0, with a warning).

        ``"clean"`` uses ``kl_threshold`` for both zeroing and filtering, pools the row and
        column terms over the informative latents of both models (the paper's
        ``1 / (d_a + d_b)`` form), takes the median of the symmetrized pair scores
        ``(pairwise[i, j] + pairwise[j, i]) / 2``, counts a NaN correlation as 0, and
        puts NaN on the diagonal.
    kl_threshold : float, default 0.01
        A latent is informative when its KL exceeds this (nats).
    filter_low_kl : bool, default True
        Drop uninformative latents from the similarity matrices (disentanglement_lib's
        option; False keeps them, as zero rows and columns).
    lasso_alpha : float, default 0.1
        disentanglement_lib's Lasso penalty. Perfectly matched standardized latents get
        coefficients ``1 - lasso_alpha``, so the Lasso UDR of identical models is
        ``1 - lasso_alpha`` = 0.9, not 1.
    num_samples : int or None, default 1000
        Rows used (a seeded subsample shared by every model; the study's
        ``num_data_points``); None uses every row.
    n_boot : int, default 0
        Bootstrap replicates (rows resampled, shared by every model) for a percentile
        interval of each model score in ``ci_low``/``ci_high``; 0 skips it.
    confidence : float, default 0.95
    seed : int
        Seed of the subsample, the bootstrap and the Lasso's ``random_state``.

    Returns
    -------
    UDRResult
        ``.model_scores`` (input order), ``.pairwise``, ``.active``, ``.to_frame()``
        (``udr`` rows with a ``model`` column, ``udr_pairwise`` rows with ``model`` and
        ``other_model``) and ``.settings``.

    Notes
    -----
    The paper compares each model with the other seeds of its own hyperparameter setting
    and reports the median; comparing with every model given (what this function and
    disentanglement_lib do with the models you pass) is its UDR_A2A variant. Pass the
    models you want compared.

    References
    ----------
    Duan et al., "Unsupervised Model Selection for Variational Disentangled
    Representation Learning", ICLR 2020 (arXiv 1905.12614); disentanglement_lib
    ``compute_udr_sklearn``.
    """
    filt = _check_options(correlation, variant, kl_threshold, lasso_alpha, filter_low_kl)
    n_boot = check_positive_int(n_boot, name="n_boot", minimum=0)
    confidence = check_fraction(confidence, name="confidence")
    rng = make_rng(seed)
    arrays, labels = _named(models, names)
    zs = _check_models(arrays, labels)
    kls = _check_kl(kl, zs, labels)
    n = zs[0].shape[0]
    if num_samples is not None:
        num_samples = check_positive_int(num_samples, name="num_samples", minimum=3)
        if n > num_samples:
            rows = np.sort(rng.choice(n, size=num_samples, replace=False))
            zs = [z[rows] for z in zs]
    codes, active = _prepared_codes(zs, kls, variant=variant, kl_threshold=float(kl_threshold))
    empty = [labels[i] for i, a in enumerate(active) if filt and not a.any()]
    if empty:
        warn(
            f"udr: model(s) {empty} have no latent with KL above {kl_threshold}; their pairs "
            "score 0" + (" (disentanglement_lib raises here)" if variant == "dlib" else "")
        )
    kw = {
        "correlation": correlation,
        "variant": variant,
        "filt": filt,
        "alpha": float(lasso_alpha),
        "seed": int(seed),
    }
    corr, pair, scores = _udr_once(codes, active, **kw)
    low = high = None
    if n_boot:
        low, high = _bootstrap(
            zs,
            kls,
            n_boot=n_boot,
            confidence=confidence,
            rng=rng,
            kl_threshold=float(kl_threshold),
            **kw,
        )
    settings = {
        "metric": "udr",
        "seed": seed,
        "correlation": correlation,
        "variant": variant,
        "kl_threshold": float(kl_threshold),
        "filter_low_kl": filt,
        "lasso_alpha": float(lasso_alpha) if correlation == "lasso" else None,
        "num_samples": num_samples,
        "n_used": int(zs[0].shape[0]),
        "n_models": len(zs),
        "models": labels,
        "n_dims": [int(z.shape[1]) for z in zs],
        "n_active": [int(a.sum()) for a in active],
        "kl_given": [k is not None for k in kls],
        "n_boot": n_boot,
        "confidence": confidence if n_boot else None,
    }
    return UDRResult(
        model_scores=scores,
        pairwise=pair,
        models=tuple(labels),
        active=tuple(active),
        correlations=tuple(tuple(row) for row in corr),
        ci_low=low,
        ci_high=high,
        settings=settings,
    )
