"""Figures for latent spaces and comparisons (matplotlib, the ``plot`` extra).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot (no
global figure state, no GUI backend: it renders with Agg) and carrying a one-line
caption in ``fig.lps_caption`` that says how to read it. Inputs are the tidy tables of
:func:`lps_eval.score` / :func:`lps_eval.compare`, latent arrays, or anything with a
``to_frame()`` method (duck typing: this module imports no result class).

Figures: :func:`marginals` (histograms against the prior and QQ plots, with the
per-dimension MMD p-value and its Holm-adjusted value), :func:`r2_bars` (per-dimension R2
with intervals and the null band), :func:`structure` (what the LPS predictor relies on,
the linear structure and hexbins of the most dependent pairs, with everything that is
not above its null level greyed), :func:`learning_curve` (with the null curve),
:func:`dci_importance`, :func:`mi_matrix`, :func:`forest` (differences against a
baseline), :func:`training_curves` and :func:`result_figure` (what ``result.plot()``
shows). Every caption is a claim: it says what is above noise and what is not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lps_eval.multiple_testing import holm
from lps_eval.options import renamed_keywords
from lps_eval.results import set_figure_hook

__all__ = [
    "dci_importance",
    "figure",
    "forest",
    "learning_curve",
    "marginals",
    "mi_matrix",
    "pairwise_mutual_info",
    "pairwise_mutual_info_test",
    "r2_bars",
    "result_figure",
    "structure",
    "training_curves",
]

#: Colours (colour-blind safe, Okabe-Ito).
BLUE, ORANGE, GREEN, GREY = "#0072B2", "#E69F00", "#009E73", "#999999"


def figure(width: float = 6.4, height: float = 4.0, *, layout: str | None = "constrained") -> Any:
    """A new pyplot-free Figure rendered by Agg.

    ``layout=None`` skips the constrained layout solver (it dominates the drawing time of
    figures with many small axes; those set their margins by hand).

    Raises
    ------
    ImportError
        When matplotlib is missing, naming the extra to install.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"lps_eval.plot needs matplotlib ({exc}); install it with pip install 'lps-eval[plot]'"
        ) from None
    fig = Figure(figsize=(width, height), layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _locator(n: int) -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(n)


def _captioned(fig: Any, caption: str) -> Any:
    fig.lps_caption = caption
    return fig


def _frame(table: Any) -> pd.DataFrame:
    return table.to_frame() if hasattr(table, "to_frame") else table


def _rows(table: pd.DataFrame, metric: str, scope: str) -> pd.DataFrame:
    return table[(table["metric"] == metric) & (table["scope"] == scope)]


def _overall(table: pd.DataFrame, metric: str) -> pd.Series | None:
    rows = _rows(table, metric, "overall")
    return None if rows.empty else rows.iloc[0]


def _pick_dims(d: int, max_plot_dims: int | None, dims: Sequence[int] | None) -> list[int]:
    if dims is not None:
        return [int(j) for j in dims]
    return list(range(d if max_plot_dims is None else min(d, max_plot_dims)))


# --------------------------------------------------------------------------- marginals


@renamed_keywords(max_dims="max_plot_dims")  # max_dims means "refuse wider input" in lps()
def marginals(
    z: Any,
    prior: Any = "gaussian",
    *,
    p_values: Sequence[float] | None = None,
    p_values_holm: Sequence[float] | None = None,
    dims: Sequence[int] | None = None,
    max_plot_dims: int | None = 16,
    bins: int = 40,
    seed: int = 0,
    max_points: int = 5000,
) -> Any:
    """Per-dimension histogram against the prior's marginal, and a QQ plot beside it.

    Parameters
    ----------
    z : array (n, d)
    prior : str or prior object
        Spec understood by :func:`lps_eval.priors.parse_prior`; its marginal is drawn from
        ``max_points`` seeded samples (no density formula needed for any prior).
    p_values : sequence of float, optional
        Per-dimension MMD permutation p-values, one per dimension of ``z`` (shown in each
        title).
    p_values_holm : sequence of float, optional
        Their Holm-adjusted values (shown beside them); computed from ``p_values`` over
        all dimensions when not given (:func:`lps_eval.multiple_testing.holm`).
    dims, max_plot_dims
        Which dimensions to draw (default: the first ``max_plot_dims``; ``max_dims`` is
        the deprecated name).
    """
    from lps_eval.prior_matching import parse_prior

    z = np.asarray(z, dtype=np.float64)
    d = z.shape[1]
    chosen = _pick_dims(d, max_plot_dims, dims)
    if p_values is not None and p_values_holm is None:
        p_values_holm = holm(np.asarray(p_values, dtype=float))
    rng = np.random.default_rng([int(seed), 0x706C74])
    rows = z if z.shape[0] <= max_points else z[rng.choice(z.shape[0], max_points, replace=False)]
    prior_sample = parse_prior(prior, n_dims=d).sample(rows.shape[0], d, rng)
    per_row = 4
    n_rows = math.ceil(len(chosen) / per_row)
    fig = figure(13.0, 1.9 * n_rows + 0.4, layout=None)
    grid = fig.add_gridspec(
        n_rows,
        per_row * 2,
        left=0.03,
        right=0.99,
        bottom=0.06,
        top=0.93,
        wspace=0.25,
        hspace=0.55,
    )
    qs = np.linspace(0.005, 0.995, 99)
    for k, j in enumerate(chosen):
        r, c = divmod(k, per_row)
        ax = fig.add_subplot(grid[r, 2 * c])
        lo = min(rows[:, j].min(), np.quantile(prior_sample[:, j], 0.001))
        hi = max(rows[:, j].max(), np.quantile(prior_sample[:, j], 0.999))
        edges = np.linspace(lo, hi, bins + 1) if hi > lo else np.linspace(lo - 1, hi + 1, bins + 1)
        # np.histogram + one stairs artist each: far cheaper to draw than bar patches
        latent_density, _ = np.histogram(rows[:, j], bins=edges, density=True)
        prior_density, _ = np.histogram(prior_sample[:, j], bins=edges, density=True)
        ax.stairs(latent_density, edges, fill=True, color=BLUE, alpha=0.6, label="latent")
        ax.stairs(prior_density, edges, color=ORANGE, lw=1.5, label="prior")
        title = f"z{j}"
        if p_values is not None and j < len(p_values) and np.isfinite(p_values[j]):
            title += f"  p={p_values[j]:.3g}"
            if p_values_holm is not None and np.isfinite(p_values_holm[j]):
                title += f", Holm {p_values_holm[j]:.3g}"
        ax.set_title(title, fontsize=8)
        ax.set_yticks([])  # densities: the shape matters, not the scale
        ax.xaxis.set_major_locator(_locator(3))
        ax.tick_params(labelsize=6)
        if k == 0:
            ax.legend(fontsize=6, frameon=False)
        qq = fig.add_subplot(grid[r, 2 * c + 1])
        xq, yq = np.quantile(prior_sample[:, j], qs), np.quantile(rows[:, j], qs)
        qq.plot(xq, yq, ".", ms=2.5, color=BLUE)
        span = [min(xq.min(), yq.min()), max(xq.max(), yq.max())]
        qq.plot(span, span, "-", lw=0.8, color=GREY)
        qq.set_title("QQ: latent vs prior", fontsize=7)
        qq.set_xticks([])
        qq.set_yticks([])
    shown = "" if len(chosen) == d else f" (first {len(chosen)} of {d} dimensions)"
    tests = ""
    if p_values is not None:
        tests = (
            f"; p is the per-dimension MMD permutation p-value, Holm the same adjusted for "
            f"the {d} tests (one per dimension: on a perfect match about one raw p in 20 "
            "falls below 0.05 by chance, so read the Holm value; small = distinguishable "
            "from the prior)"
        )
    return _captioned(
        fig,
        "Each latent marginal (blue) against the prior's marginal (orange outline) and their "
        f"QQ plot (points on the diagonal = same distribution){tests}{shown}.",
    )


# --------------------------------------------------------------------------- R2 bars


@renamed_keywords(max_dims="max_plot_dims")  # max_dims means "refuse wider input" in lps()
def r2_bars(table: Any, *, metric: str = "lps", max_plot_dims: int | None = 64) -> Any:
    """Held-out R2 of every dimension with its interval, the null band and linear R2.

    ``max_plot_dims``: draw the first this many dimensions (``max_dims`` is the deprecated
    name).
    """
    table = _frame(table)
    dims = _rows(table, metric, "dim")
    if "source_dim" in dims.columns:
        dims = dims[dims["source_dim"].isna()]
    if dims.empty:
        raise ValueError(f"the table has no per-dimension rows of {metric!r}")
    dims = dims.sort_values("dim").head(max_plot_dims or len(dims))
    x = dims["dim"].astype(int).to_numpy()
    width = max(5.0, 0.28 * len(x) + 3.2)
    fig = figure(width, 3.2, layout=None)  # fixed margins: the layout solver dominates cost
    fig.subplots_adjust(left=0.75 / width, right=1 - 1.55 / width, bottom=0.17, top=0.9)
    ax = fig.add_subplot()
    value = dims["value"].to_numpy(dtype=float)
    err = np.vstack([value - dims["ci_low"], dims["ci_high"] - value]).astype(float)
    err = np.where(np.isfinite(err), np.abs(err), 0.0)
    ax.bar(x, value, color=BLUE, alpha=0.8, label=metric, yerr=err, capsize=2, ecolor="black")
    linear = _rows(table, "lps_linear", "dim") if metric != "lps_linear" else pd.DataFrame()
    if "source_dim" in linear.columns:
        linear = linear[linear["source_dim"].isna()]
    if not linear.empty:
        linear = linear.set_index(linear["dim"].astype(int)).reindex(x)
        ax.plot(x, linear["value"], "D", ms=4, color=ORANGE, label="linear R2")
    null = _overall(table, f"{metric}_null")
    if null is not None:
        lo, hi = null["ci_low"], null["ci_high"]
        if np.isfinite(lo) and np.isfinite(hi):
            ax.axhspan(lo, hi, color=GREY, alpha=0.3, label="null band")
        ax.axhline(null["value"], color=GREY, lw=1, ls="--")
    head = _overall(table, metric)
    if head is not None:
        ax.axhline(head["value"], color=BLUE, lw=1, ls=":", label=f"{metric} = {head['value']:.3f}")
    ax.axhline(0.0, color="black", lw=0.6)
    ax.set_xlabel("latent dimension")
    ax.set_ylabel("held-out R2")
    ax.set_title(f"Per-dimension predictability ({metric})")
    ax.set_xticks(x)
    ax.tick_params(axis="x", labelsize=7)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _captioned(
        fig,
        "Held-out R2 of each dimension predicted from all others (bars; interval as in the "
        "table, its upper end allowing for the estimator's small-N bias); diamonds: linear "
        "R2; grey band: the interval of the null level (mean R2 of column-shuffled data). A "
        "bar whose interval lies above the band is predictable from the other dimensions; "
        "one that overlaps it is not distinguishable from independence at this N (the band "
        "is for a mean over dimensions: one dimension's null R2 spreads wider).",
    )


# --------------------------------------------------------------------------- structure


def structure(
    table: Any,
    z: Any = None,
    *,
    pairs: int = 3,
    importance: Any = None,
    max_points: int = 5000,
    bins: int = 16,
    alpha: float = 0.05,
) -> Any:
    """The predictability structure: what explains what, with the null level marked.

    Panels, left to right: with ``importance`` (an :class:`~lps_eval.predictability.LpsImportance`)
    the R2 the LPS predictor loses when each source is shuffled (what it relies on,
    nonlinear dependence included) and the linear companion (drop in linear R2), each cell
    grey when it is not above its null level (Holm-adjusted p >= ``alpha``); without it the
    linear structure of the table's ``lps_structure`` rows, untested. Then, when ``z`` is
    given, hexbins of the ``pairs`` pairs with the highest binned mutual information, each
    marked when its MI is not above the null level at this N
    (:func:`pairwise_mutual_info_test`).
    """
    panels = _structure_panels(_frame(table), importance)
    pair_info = None
    if z is not None and pairs:
        z = np.asarray(z, dtype=np.float64)
        rng = np.random.default_rng(0)
        pts = z if z.shape[0] <= max_points else z[rng.choice(z.shape[0], max_points, False)]
        pair_info = (pts, *pairwise_mutual_info_test(pts, bins=bins))
    n_pairs = 0 if pair_info is None else pairs
    width = 4.2 * len(panels) + 2.6 * n_pairs
    fig = figure(width, 3.8, layout=None)  # fixed margins: the layout solver dominates cost
    grid = fig.add_gridspec(
        1,
        len(panels) + n_pairs,
        width_ratios=[1.6] * len(panels) + [1.0] * n_pairs,
        left=0.6 / width,
        right=1 - 0.15 / width,
        bottom=0.14,
        top=0.9,
        wspace=0.45,
    )
    for k, panel in enumerate(panels):
        _heatmap(fig, fig.add_subplot(grid[0, k]), panel)
    pair_words = ""
    if pair_info is not None:
        pair_words = _pair_hexbins(fig, grid, len(panels), pairs, pair_info, bins, alpha)
    return _captioned(fig, _structure_caption(panels, importance, alpha) + pair_words)


def _structure_panels(table: pd.DataFrame, importance: Any) -> list[dict[str, Any]]:
    """The heatmaps to draw: matrix, marks (None = untested), labels, title, colour label."""
    if importance is not None:
        labels = [int(j) for j in importance.dims]
        predictor = importance.settings.get("predictor", "LPS")
        return [
            {
                "matrix": importance.importance,
                "above": importance.above_null,
                "labels": labels,
                "title": f"What the {predictor} predictor relies on",
                "cbar": "R2 lost when j is shuffled",
            },
            {
                "matrix": importance.linear,
                "above": importance.linear_above_null,
                "labels": labels,
                "title": "Linear structure (companion)",
                "cbar": "linear R2 drop",
            },
        ]
    rows = table[(table["metric"] == "lps_structure") & table["source_dim"].notna()]
    if rows.empty:
        raise ValueError("the table has no lps_structure rows (score with the lps section)")
    d = int(max(rows["dim"].max(), rows["source_dim"].max())) + 1
    mat = np.full((d, d), np.nan)
    mat[rows["dim"].astype(int), rows["source_dim"].astype(int)] = rows["value"].astype(float)
    return [
        {
            "matrix": mat,
            "above": None,
            "labels": list(range(d)),
            "title": "Linear predictability structure",
            "cbar": "R2 drop",
        }
    ]


def _heatmap(fig: Any, ax: Any, panel: dict[str, Any]) -> None:
    """One structure matrix; cells not above their null level are grey (masked)."""
    from matplotlib import colormaps

    mat, above = np.asarray(panel["matrix"], dtype=float), panel["above"]
    cmap = colormaps["viridis"].with_extremes(bad="#dddddd")
    shown = mat if above is None else np.ma.masked_where(~np.asarray(above), mat)
    top = np.nanmax(mat) if above is None or not np.any(above) else np.max(mat[above])
    vmax = max(float(top) if np.isfinite(top) else 0.0, 0.05)
    image = ax.imshow(shown, cmap=cmap, vmin=0.0, vmax=vmax, interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8, label=panel["cbar"])
    labels = panel["labels"]
    if len(labels) <= 16:
        ax.set_xticks(range(len(labels)), [str(j) for j in labels], fontsize=7)
        ax.set_yticks(range(len(labels)), [str(j) for j in labels], fontsize=7)
    ax.set_xlabel("predictor dimension j")
    ax.set_ylabel("target dimension i")
    title = panel["title"]
    if above is not None and not np.any(above):
        title += "\n(no cell above the null)"
    ax.set_title(title, fontsize=9)


def _pair_hexbins(fig, grid, first: int, pairs: int, info, bins: int, alpha: float) -> str:
    """Hexbins of the pairs with the highest MI; returns the caption's words on them."""
    pts, mi, _, p_holm, null_level = info
    d = pts.shape[1]
    iu = np.triu_indices(d, 1)
    order = np.argsort(np.nan_to_num(mi[iu], nan=-1.0))[::-1][:pairs]
    for k, idx in enumerate(order):
        i, j = int(iu[0][idx]), int(iu[1][idx])
        above = bool(p_holm[i, j] < alpha)
        hx = fig.add_subplot(grid[0, first + k])
        hx.hexbin(pts[:, j], pts[:, i], gridsize=25, cmap="Blues" if above else "Greys", mincnt=1)
        hx.set_xlabel(f"z{j}")
        hx.set_ylabel(f"z{i}")
        mark = "" if above else ", not above null"
        hx.set_title(f"z{i} vs z{j} (MI {mi[i, j]:.2f} nats{mark})", fontsize=9)
    n_above = int(np.sum(p_holm[iu] < alpha))
    words = (
        f" Right: the {min(pairs, iu[0].size)} pairs with the highest binned mutual "
        f"information ({bins} quantile bins) as hexbins; the null level at n = "
        f"{pts.shape[0]:,} rows is (bins - 1)^2 / (2 n) = {null_level:.3f} nats, the mean MI "
        "of independent columns; a pair is above it when the G-test's Holm-adjusted p "
        f"(over the {iu[0].size} pairs) is below {alpha:g}, else it is grey and says 'not "
        "above null'."
    )
    if n_above == 0:
        words += " No pair above the null: these clouds are the least independent-looking "
        words += "noise, not structure."
    return words


def _structure_caption(panels: list[dict[str, Any]], importance: Any, alpha: float) -> str:
    if importance is None:
        return (
            "Left: drop in linear R2 of target i when predictor j is removed (its unique "
            "linear contribution; bright = j explains i), not tested against a null here: "
            "lps_eval.predictability.lps_importance marks the cells above their null level."
        )
    s = importance.settings
    capped = ""
    if len(importance.dims) < s.get("n_dims", len(importance.dims)):
        capped = (
            f" Only the first {len(importance.dims)} of {s['n_dims']} dimensions are shown "
            "(each target is still predicted from all the others)."
        )
    none_above = [p["title"] for p in panels if not np.any(p["above"])]
    words = (
        f"Left: held-out R2 of target i (row) that the LPS predictor ({s.get('predictor')}) "
        "loses when predictor j (column) is shuffled among the held-out rows: what it relies "
        "on, nonlinear dependence included. Middle: drop in linear R2 of i when j is removed "
        "(unique linear contribution, every row). Grey cells are not above their null level "
        f"at this N (null: no reliance, resp. zero partial correlation; Holm-adjusted p >= "
        f"{alpha:g} over all cells)."
    )
    if none_above:
        words += " No cell above the null in: " + "; ".join(none_above) + "."
    return words + capped


def pairwise_mutual_info(z: np.ndarray, *, bins: int = 16) -> np.ndarray:
    """Plug-in mutual information (nats) of every pair of columns, on quantile bins.

    Each column is cut into ``bins`` equal-frequency bins (ties broken at random, by a
    fixed seed, independently per column, so that discrete columns do not share a tie
    order); ``I(i; j)`` is the plug-in MI of the two codes (one ``bincount`` per pair).
    Catches nonlinear dependence that the linear structure misses; biased upwards by about
    ``(bins - 1)^2 / (2 n)``, the same for every pair (see
    :func:`pairwise_mutual_info_test`).
    """
    n, d = z.shape
    tiebreak = np.random.default_rng(0).random((n, d))
    ranks = np.empty((n, d), dtype=np.int64)
    for j in range(d):
        ranks[np.lexsort((tiebreak[:, j], z[:, j])), j] = np.arange(n)
    codes = ranks * bins // n
    p_marg = np.stack([np.bincount(codes[:, j], minlength=bins) for j in range(d)]) / n
    h_marg = -np.sum(np.where(p_marg > 0, p_marg * np.log(np.where(p_marg > 0, p_marg, 1)), 0), 1)
    out = np.full((d, d), np.nan)
    for i in range(d):
        for j in range(i + 1, d):
            joint = np.bincount(codes[:, i] * bins + codes[:, j], minlength=bins * bins) / n
            nz = joint[joint > 0]
            out[i, j] = out[j, i] = h_marg[i] + h_marg[j] + float(np.sum(nz * np.log(nz)))
    return out


def pairwise_mutual_info_test(
    z: np.ndarray, *, bins: int = 16
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Pairwise binned MI with its null level and a test of independence per pair.

    For independent columns ``2 n I`` (the G statistic of the ``bins x bins`` table) is
    asymptotically chi-square with ``(bins - 1)^2`` degrees of freedom, so the null level
    (the MI of independent columns at this n) is ``(bins - 1)^2 / (2 n)`` nats and
    ``p = P(chi2 >= 2 n I)``. P-values are Holm-adjusted over the ``d (d - 1) / 2`` pairs.

    Returns
    -------
    mi, p_value, p_value_holm : numpy.ndarray (d, d), NaN on the diagonal
    null_level : float
    """
    from scipy.stats import chi2

    n, d = z.shape
    mi = pairwise_mutual_info(z, bins=bins)
    dof = (bins - 1) ** 2
    p = chi2.sf(2.0 * n * mi, dof)
    iu = np.triu_indices(d, 1)
    adjusted = np.full((d, d), np.nan)
    adjusted[iu] = holm(p[iu])
    adjusted[(iu[1], iu[0])] = adjusted[iu]
    return mi, p, adjusted, dof / (2.0 * n)


# --------------------------------------------------------------------------- learning curve


def learning_curve(
    curve: pd.DataFrame, *, full_value: float | None = None, verdict: Any = None
) -> Any:
    """LPS against the number of training rows, with intervals and the null curve.

    ``full_value``: the reported LPS (drawn as a line); ``verdict``: a
    :class:`~lps_eval.predictability.CurveVerdict`, whose headline the caption carries.
    """
    if curve.empty:
        raise ValueError("empty learning curve")
    fig = figure(5.0, 3.2, layout=None)
    fig.subplots_adjust(left=0.15, right=0.97, bottom=0.16, top=0.9)
    ax = fig.add_subplot()
    x = curve["n_train"].to_numpy()
    ax.fill_between(x, curve["ci_low"], curve["ci_high"], color=BLUE, alpha=0.25, lw=0)
    ax.plot(x, curve["value"], "o-", color=BLUE, label="LPS")
    has_null = "null" in curve and curve["null"].notna().any()
    if has_null:
        ax.plot(x, curve["null"], "s--", color=GREY, label="null level")
        if "null_ci_low" in curve and curve["null_ci_low"].notna().any():
            for end in ("null_ci_low", "null_ci_high"):  # its interval, as thin lines
                ax.plot(x, curve[end], ":", color=GREY, lw=0.8)
    if full_value is not None and np.isfinite(full_value):
        ax.axhline(full_value, color=ORANGE, lw=1, ls=":", label=f"reported LPS {full_value:.3f}")
    ax.set_xscale("log", base=2)
    ax.set_xticks(x, [f"{v:,}" for v in x])
    ax.minorticks_off()
    ax.set_xlabel("training rows")
    ax.set_ylabel("LPS (held-out)")
    dims = curve.attrs.get("target_dims")
    ax.set_title("LPS learning curve" + (f" ({len(dims)} target dims)" if dims else ""))
    ax.legend(fontsize=7, frameon=False)
    caption = (
        "LPS as the predictor gets more training rows (same held-out rows; band = bootstrap "
        "interval over them)"
    )
    if has_null:
        caption += (
            " and the null level (grey, dotted: its interval; the same fit on "
            "column-shuffled rows, i.e. the estimator's bias at zero dependence); the verdict compares LPS with the null "
            "at each N, so a curve that rises with the null is bias, not dependence"
        )
    if verdict is not None:
        caption += f". Verdict: {verdict.headline}."
    else:
        caption += (
            ": a curve still rising above the null at the right end means more data would "
            "raise LPS; a flat end means it has converged."
        )
    return _captioned(fig, caption)


# --------------------------------------------------------------------------- supervised


def _matrix_figure(mat: np.ndarray, *, xlabel: str, ylabel: str, title: str, cbar: str) -> Any:
    fig = figure(max(3.5, 0.5 * mat.shape[1] + 2.5), max(3.0, 0.3 * mat.shape[0] + 1.5))
    ax = fig.add_subplot()
    image = ax.imshow(mat, cmap="magma", aspect="auto", vmin=0.0, interpolation="nearest")
    fig.colorbar(image, ax=ax, label=cbar)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.set_xticks(range(mat.shape[1]))
    return fig


def dci_importance(table: Any, *, factor_names: Sequence[str] | None = None) -> Any:
    """DCI importance matrix (latent dimensions x factors) from the ``dci_importance`` rows."""
    table = _frame(table)
    rows = table[table["metric"] == "dci_importance"]
    if rows.empty:
        raise ValueError("the table has no dci_importance rows (score with factors and 'dci')")
    d, k = int(rows["dim"].max()) + 1, int(rows["factor"].max()) + 1
    mat = np.zeros((d, k))
    mat[rows["dim"].astype(int), rows["factor"].astype(int)] = rows["value"].astype(float)
    fig = _matrix_figure(
        mat, xlabel="factor", ylabel="latent dimension", title="DCI importance", cbar="importance"
    )
    if factor_names:
        fig.axes[0].set_xticklabels(list(factor_names)[:k], rotation=45, ha="right")
    return _captioned(
        fig,
        "Importance of each latent dimension (row) for predicting each factor (column): "
        "one bright cell per row = disentangled, one per column = complete.",
    )


def mi_matrix(mutual_info: Any, *, factor_names: Sequence[str] | None = None) -> Any:
    """MIG's mutual information matrix (latent dimensions x factors, nats)."""
    mat = np.asarray(mutual_info, dtype=np.float64)
    fig = _matrix_figure(
        mat, xlabel="factor", ylabel="latent dimension", title="MIG mutual information", cbar="nats"
    )
    if factor_names:
        fig.axes[0].set_xticklabels(list(factor_names)[: mat.shape[1]], rotation=45, ha="right")
    return _captioned(
        fig,
        "Mutual information between each discretized latent dimension (row) and each factor "
        "(column); MIG is the gap between the two largest entries of a column over the "
        "factor's entropy.",
    )


# --------------------------------------------------------------------------- comparison


def forest(table: pd.DataFrame, *, metrics: Sequence[str] | None = None) -> Any:
    """Forest plot of the difference rows of :func:`lps_eval.compare`."""
    diffs = table[table["scope"] == "difference"]
    if metrics is not None:
        diffs = diffs[diffs["metric"].isin(metrics)]
    if diffs.empty:
        raise ValueError("the table has no difference rows (compare at least two models)")
    groups = list(dict.fromkeys(diffs["metric"]))
    fig = figure(4.0 * len(groups), 0.45 * diffs["model"].nunique() + 1.6)
    for k, metric in enumerate(groups):
        ax = fig.add_subplot(1, len(groups), k + 1)
        part = diffs[diffs["metric"] == metric]
        y = np.arange(len(part))[::-1]
        value = part["value"].to_numpy(dtype=float)
        err = np.abs(np.vstack([value - part["ci_low"], part["ci_high"] - value]).astype(float))
        err = np.where(np.isfinite(err), err, 0.0)
        ax.errorbar(value, y, xerr=err, fmt="o", color=BLUE, capsize=3)
        ax.axvline(0.0, color=GREY, lw=1, ls="--")
        ax.set_yticks(y)
        ax.set_yticklabels(part["model"] if k == 0 else [""] * len(part))
        ax.set_xlabel(f"difference in {metric}")
        ax.set_title(metric)
    return _captioned(
        fig,
        "Difference of each model from the baseline with its bootstrap interval "
        f"({table.attrs.get('pairing', 'paired or unpaired')}); an interval that excludes 0 "
        "(dashed) is a difference larger than the resampling noise (each interval on its "
        "own: not adjusted for the number of comparisons).",
    )


def training_curves(history: Any) -> Any:
    """Training loss curves from a trainer's ``history.csv`` (path or DataFrame)."""
    if isinstance(history, (str, Path)):
        history = pd.read_csv(history)
    columns = [c for c in ("loss", "recon", "reg") if c in history.columns]
    if history.empty or not columns or "step" not in history.columns:
        raise ValueError("history needs a step column and at least one of loss, recon, reg")
    fig = figure(4.0 * len(columns), 3.0)
    window = max(1, len(history) // 50)
    for k, col in enumerate(columns):
        ax = fig.add_subplot(1, len(columns), k + 1)
        values = history[col].astype(float)
        ax.plot(history["step"], values, color=GREY, lw=0.6, alpha=0.6, label="per step")
        smooth = values.rolling(window, min_periods=1).mean()
        ax.plot(history["step"], smooth, color=BLUE, lw=1.5, label=f"mean of {window}")
        ax.set_xlabel("step")
        ax.set_ylabel(col)
        ax.set_title(col)
        if values.gt(0).all():
            ax.set_yscale("log")
        if k == 0:
            ax.legend(fontsize=7, frameon=False)
    return _captioned(
        fig,
        "Training curves (grey: every step, blue: running mean): loss = recon + lambda * reg; "
        "a reg curve still falling at the end suggests the prior was not yet matched.",
    )


# --------------------------------------------------------------------------- dispatch


def result_figure(result: Any, **kwargs: Any) -> Any:
    """The natural figure of a result object (used by ``result.plot()``).

    Dispatch by attributes: per-dimension R2 intervals -> :func:`r2_bars`; per-dimension
    p-values -> bars of the per-dimension statistic; otherwise bars of the per-dimension
    or per-factor rows of ``to_frame()``.
    """
    frame = result.to_frame()
    metric = getattr(result, "metric", None) or str(frame["metric"].iloc[0])
    if hasattr(result, "per_dim_ci"):
        return r2_bars(frame, metric=metric, **kwargs)
    rows = frame[frame["scope"].isin(["dim", "factor"]) & (frame["metric"] == metric)]
    if "source_dim" in rows.columns:
        rows = rows[rows["source_dim"].isna()]
    fig = figure(5.0, 3.0)
    ax = fig.add_subplot()
    if rows.empty:
        ax.bar([metric], [float(result.value)], color=BLUE)
        ax.set_ylabel("value")
    else:
        scope = rows["scope"].iloc[0]
        x = rows[scope].astype(int).to_numpy()
        ax.bar(x, rows["value"].astype(float), color=BLUE)
        ax.set_xlabel("latent dimension" if scope == "dim" else "factor")
        ax.set_ylabel(metric)
        ax.set_xticks(x)
        if rows["p_value"].notna().any():
            for xi, v, p in zip(x, rows["value"], rows["p_value"], strict=True):
                ax.annotate(f"p={p:.2g}", (xi, v), fontsize=6, ha="center", va="bottom")
    ax.set_title(f"{metric} = {float(result.value):.4g}")
    return _captioned(fig, f"{metric}: overall value in the title, per-dimension/factor bars.")


set_figure_hook(result_figure)  # result.plot() (results never import this layer)
