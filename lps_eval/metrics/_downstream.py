r"""Downstream classification: how well, and from how few labels, probes read the factors.

For each training size :math:`n` in ``num_train`` (10, 100, 1,000, 10,000 as in
disentanglement_lib's study), one probe per factor :math:`v_k` is trained on :math:`n` rows
and scored on ``num_test`` held-out rows:

.. math::
    \mathrm{acc}_k(n) = \frac{1}{|T|} \sum_{t \in T} [\hat v_k(z_t) = v_{k,t}], \qquad
    \mathrm{downstream}(n) = \frac1K \sum_k \mathrm{acc}_k(n).

The headline ``downstream`` is the mean test accuracy at the largest training size the
rows allow; ``downstream_efficiency`` is Locatello et al.'s *statistical efficiency*, the
mean test accuracy at 100 training rows divided by the one at the headline size (10,000
in the study). This is disentanglement_lib's ``compute_downstream_task`` on arrays (same
probes, same accuracies); see :mod:`lps_eval.metrics.classifier_probes`.

Reference: Locatello et al., "Challenging Common Assumptions in the Unsupervised Learning
of Disentangled Representations", ICML 2019, section 5 (downstream tasks);
disentanglement_lib ``evaluation/metrics/downstream_task.py``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lps_eval._validation import LpsInputError, check_positive_int
from lps_eval.metrics.classifier_probes import (
    check_probe,
    check_sizes,
    probe_accuracies,
    split_pools,
)
from lps_eval.metrics.common import SupervisedResult, finite_mean, seed_int, warn
from lps_eval.metrics.intervals import IntervalPlan
from lps_eval.metrics.registry import register_metric
from lps_eval.results import make_row

__all__ = [
    "DownstreamResult",
    "downstream",
    "sample_efficiency_figure",
]

STUDY_SIZES = (10, 100, 1000, 10000)
#: Colour-blind safe line colours (Okabe-Ito), as in :mod:`lps_eval.reporting.figures`.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")


@dataclass(frozen=True, eq=False)
class DownstreamResult(SupervisedResult):
    """Downstream accuracies per training size and factor.

    Attributes
    ----------
    value : float
        Mean test accuracy over factors at ``headline_size``.
    sizes : tuple of int
        The requested training sizes (rows of the accuracy arrays).
    train_accuracy, test_accuracy : ndarray of shape (n_sizes, n_factors)
        NaN for a size larger than the training rows, and for a factor left out
        (constant or ID-like).
    headline_size : int or None
        The largest computed size.
    efficiency : float
        Mean test accuracy at ``efficiency_size`` over the one at ``headline_size``.
    """

    probe: str = ""
    sizes: tuple[int, ...] = ()
    train_accuracy: np.ndarray | None = None
    test_accuracy: np.ndarray | None = None
    headline_size: int | None = None
    efficiency: float = math.nan
    efficiency_size: int | None = None
    efficiency_reason: str | None = None

    @property
    def curve(self) -> pd.DataFrame:
        """The sample-efficiency table: one row per (training size, split), mean and min
        over factors and one column per factor (disentanglement_lib's score keys)."""
        rows = []
        for s, size in enumerate(self.sizes):
            for split, acc in (("train", self.train_accuracy), ("test", self.test_accuracy)):
                row = {"probe": self.probe, "num_train": size, "split": split}
                finite = acc[s][np.isfinite(acc[s])]  # a left-out factor is NaN
                row["mean"] = finite_mean(acc[s])
                row["min"] = float(finite.min()) if finite.size else math.nan
                row.update({f"factor_{k}": float(v) for k, v in enumerate(acc[s])})
                rows.append(row)
        return pd.DataFrame(rows)

    def rows(self) -> list[dict[str, Any]]:
        extra = {"probe": self.probe, "num_train": self.headline_size}
        head = make_row("downstream", self.value, **extra, **_reason(self.reason))
        eff = make_row(
            "downstream_efficiency",
            self.efficiency,
            probe=self.probe,
            num_train=self.headline_size,
            num_train_small=self.efficiency_size,
            **_reason(self.efficiency_reason),
        )
        rows = [head, eff]
        if self.headline_size is not None:
            at = self.sizes.index(self.headline_size)
            rows += _factor_rows("downstream", self.test_accuracy[at], **extra)
        # largest size first: a one-row-per-factor view (the CLI table) shows the headline
        for s, size in reversed(list(enumerate(self.sizes))):
            for name, acc in (
                ("downstream_test_accuracy", self.test_accuracy),
                ("downstream_train_accuracy", self.train_accuracy),
            ):
                rows += _factor_rows(name, acc[s], probe=self.probe, num_train=size)
        return rows

    def figure(self) -> Any:
        """:func:`sample_efficiency_figure` of this result."""
        return sample_efficiency_figure(self.to_frame())


def _reason(reason: str | None) -> dict[str, Any]:
    return {"reason": reason} if reason else {}


def _factor_rows(metric: str, values: np.ndarray, **extra: Any) -> list[dict[str, Any]]:
    return [make_row(metric, v, scope="factor", factor=k, **extra) for k, v in enumerate(values)]


def _efficiency(test, sizes, headline, efficiency_size):
    """(value, reason) of mean acc at ``efficiency_size`` over mean acc at ``headline``."""
    if headline is None:
        return math.nan, "no training size fits the rows"
    if efficiency_size not in sizes:
        return math.nan, f"efficiency_size {efficiency_size} is not among num_train {sizes}"
    if efficiency_size >= headline:
        return math.nan, (
            f"needs a training size above {efficiency_size}; the rows allow at most {headline}"
        )
    small = finite_mean(test[sizes.index(efficiency_size)])
    return small / finite_mean(test[sizes.index(headline)]), None


@register_metric(
    rows=("downstream", "downstream_efficiency"),
    properties=(
        "exact_sample_order",
        "exact_latent_order",
        "uses_test_split",
        "nuisance_invariant",
    ),
    default=False,
    interval=IntervalPlan(unit="half_rows", n_boot=10),
    row_properties={"downstream_efficiency": ("companion",)},
    needs=("test_split",),
)
def downstream(
    z: Any,
    factors: Any,
    *,
    z_test: Any = None,
    factors_test: Any = None,
    seed: int = 0,
    probe: str = "logistic",
    num_train: Sequence[int] | int = STUDY_SIZES,
    num_test: int = 5000,
    efficiency_size: int = 100,
    sample: str = "random",
) -> DownstreamResult:
    """Test accuracy of a probe per factor, at several training sizes.

    Parameters
    ----------
    z, factors : array-like, rows = samples
        Factors are integer class codes (continuous ones are binned into 20 bins with a
        warning).
    z_test, factors_test : array-like, optional
        Held-out rows; without them a seeded third of the rows is held out.
    seed : int
        Seed of the row draws and of the probes.
    probe : {"logistic", "gbt", "fast_gbt"}
        ``"logistic"`` (default) and ``"gbt"`` are disentanglement_lib's two study
        probes (``downstream_task_logistic_regression`` / ``_boosted_trees``); see
        :mod:`lps_eval.metrics.classifier_probes`.
    num_train : int or sequence of int, default (10, 100, 1000, 10000)
        Training sizes. Each size takes the first ``n`` rows of one seeded draw order
        (nested training sets; disentanglement_lib draws a fresh set per size). A size
        larger than the training rows gets NaN rows.
    num_test : int, default 5000
        Test rows (the same for every size; fewer if fewer are given).
    efficiency_size : int, default 100
        Numerator size of ``downstream_efficiency`` (Locatello et al.: 100 over 10,000).
    sample : {"random", "prefix"}
        ``"prefix"`` uses the rows in the order given (for rows already drawn at random,
        and for parity with disentanglement_lib).

    Returns
    -------
    DownstreamResult
        ``value`` = mean test accuracy at the largest computed size; ``curve`` the
        sample-efficiency table; rows ``downstream`` (with ``probe`` and ``num_train``
        columns), ``downstream_efficiency``, and per-factor ``downstream_test_accuracy`` /
        ``downstream_train_accuracy`` rows for every size.

    References
    ----------
    Locatello et al., ICML 2019; disentanglement_lib ``compute_downstream_task``.
    """
    probe = check_probe(probe)
    sizes = check_sizes(num_train)
    num_test = check_positive_int(num_test, name="num_test")
    efficiency_size = check_positive_int(efficiency_size, name="efficiency_size", minimum=2)
    params = {
        "probe": probe,
        "num_train": list(sizes),
        "num_test": num_test,
        "efficiency_size": efficiency_size,
    }
    pools = split_pools(
        "downstream", z, factors, z_test, factors_test, seed=seed, sample=sample, params=params
    )
    data, x, y = pools.data, pools.x, pools.y
    xt, yt = pools.xt[:num_test], pools.yt[:num_test]
    k = y.shape[1]
    train = np.full((len(sizes), k), math.nan)
    test = np.full((len(sizes), k), math.nan)
    probe_seed = seed_int(data.rng)
    fitted = [n for n in sizes if n <= x.shape[0]]
    for n in fitted:
        s = sizes.index(n)
        train[s], test[s] = probe_accuracies(
            probe, x[:n], y[:n], xt, yt, probe_seed, metric="downstream"
        )
    headline = fitted[-1] if fitted else None
    reason = None
    if headline is None:
        reason = f"the smallest training size {sizes[0]} exceeds the {x.shape[0]} training rows"
        warn(f"downstream not computable: {reason}")
    elif headline < sizes[-1]:
        warn(
            f"downstream: sizes {[n for n in sizes if n > headline]} exceed the "
            f"{x.shape[0]} training rows (NaN rows); the headline uses {headline}"
        )
    eff, eff_reason = _efficiency(test, sizes, headline, efficiency_size)
    settings = data.settings
    settings.update(n_test_used=int(xt.shape[0]), headline_size=headline)
    return DownstreamResult(
        value=math.nan if headline is None else float(np.mean(test[sizes.index(headline)])),
        settings=settings,
        metric="downstream",
        reason=reason,
        probe=probe,
        sizes=sizes,
        train_accuracy=pools.widen(train),
        test_accuracy=pools.widen(test),
        headline_size=headline,
        efficiency=eff,
        efficiency_size=efficiency_size,
        efficiency_reason=eff_reason,
    )


# ------------------------------------------------------------------ figure


def _figure(width: float, height: float) -> Any:
    """A pyplot-free Agg figure (the conventions of :mod:`lps_eval.reporting.figures`)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"the figure needs matplotlib ({exc}); install it with pip install 'lps-eval[plot]'"
        ) from None
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def sample_efficiency_figure(table: Any, *, split: str = "test") -> Any:
    """Mean accuracy over factors against the number of training rows, one line per model
    and probe, the band spanning the factors' accuracies.

    Parameters
    ----------
    table : DataFrame or result
        Tidy rows of :func:`downstream` (``result.to_frame()``), several models'
        concatenated with a ``model`` column (as :func:`lps_eval.compare` writes them), or
        a :class:`DownstreamResult`.
    split : {"test", "train"}

    Returns
    -------
    matplotlib.figure.Figure
        With the reading instructions in ``fig.lps_caption``.
    """
    frame = table.to_frame() if hasattr(table, "to_frame") else pd.DataFrame(table)
    metric = f"downstream_{split}_accuracy"
    rows = frame[(frame["metric"] == metric) & frame["value"].notna()]
    if rows.empty:
        raise LpsInputError(f"the table has no {metric} rows; pass downstream(...).to_frame()")
    rows = rows.assign(model=rows.get("model", "model"))
    fig = _figure(5.6, 3.6)
    ax = fig.add_subplot()
    groups = rows.groupby(["model", "probe"], sort=False)
    for n, ((model, probe), part) in enumerate(groups):
        by = part.groupby("num_train")["value"]
        sizes = np.asarray(by.mean().index, dtype=float)
        label = f"{model} ({probe})" if rows["model"].nunique() > 1 else str(probe)
        colour = OKABE_ITO[n % len(OKABE_ITO)]
        ax.plot(sizes, by.mean().to_numpy(), marker="o", color=colour, label=label)
        ax.fill_between(sizes, by.min(), by.max(), color=colour, alpha=0.15, lw=0)
    ax.set_xscale("log")
    ticks = sorted(set(rows["num_train"].astype(int)))
    ax.set_xticks(ticks, [f"{t:,}" for t in ticks])
    ax.minorticks_off()
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("training rows per probe (log scale)")
    ax.set_ylabel(f"mean {split} accuracy over factors")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.lps_caption = (
        f"Sample efficiency: mean {split} accuracy of one probe per factor against the "
        "number of training rows (log scale); the band spans the least and the best read "
        "factor. A curve that is high already at 10-100 rows means factors are easy to "
        "read from few labels; compare models at equal size, never across sizes."
    )
    return fig
