"""Build the HTML report: score / compare the models, draw the figures, write one file.

The file is self-contained: figures are inline base64 PNG, the style sheet is inline,
there is no script and nothing is fetched from the network (system fonts only), so it
opens offline, can be mailed or attached to a paper review, and prints (``@media print``
keeps each figure on one page).
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lps_eval._validation import LpsInputError
from lps_eval.display import fmt_number, table_html
from lps_eval.models import ModelInput, expand_models, read_model
from lps_eval.multiple_testing import holm
from lps_eval.predictability import MAX_IMPORTANCE_DIMS, curve_verdict
from lps_eval.results import jsonable
from lps_eval.scoring import compare, format_summary, summarize
from lps_eval.scoring.gate import check_model_gates, parse_gate

__all__ = ["ReportResult", "curve_agrees", "report"]

#: PNG resolution of the inline figures.
DPI = 96


@dataclass(frozen=True)
class ReportResult:
    """What :func:`report` wrote and found.

    Attributes
    ----------
    path : Path
        The HTML file.
    table : DataFrame
        The :func:`lps_eval.compare` table the report shows.
    gates : list of (model, GateOutcome) or None
        Gate verdicts when ``fail_if`` was given.
    curves : dict
        Model name -> learning-curve DataFrame (empty when ``curve=False``).
    figures : list of str
        Figure titles in the order they appear.
    verdicts : dict
        Model name -> :class:`~lps_eval.predictability.CurveVerdict` of its curve.
    importance : dict
        Model name -> :class:`~lps_eval.predictability.LpsImportance` behind its
        structure figure (empty when ``importance=False``).
    """

    path: Path
    table: pd.DataFrame
    gates: list[tuple[str, Any]] | None = None
    curves: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)
    verdicts: dict[str, Any] = field(default_factory=dict)
    importance: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when no gate failed (or none was given)."""
        return not any(o.failed for _, o in (self.gates or []))


def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure_html(fig: Any, title: str, anchor: str) -> str:
    caption = html.escape(getattr(fig, "lps_caption", ""))
    return (
        f'<figure id="{anchor}"><img alt="{html.escape(title)}" '
        f'src="data:image/png;base64,{_png(fig)}">'
        f"<figcaption><b>{html.escape(title)}.</b> {caption}</figcaption></figure>"
    )


def _anchor(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-") or "x"


@dataclass(frozen=True)
class _Context:
    """What every model's section needs besides its own rows (one report's settings)."""

    prior: Any
    factors: Any
    factor_names: Sequence[str] | None
    seed: int
    curve: bool
    curve_dims: int | None
    curve_points: int
    importance: bool
    importance_dims: int | None
    max_plot_dims: int | None
    options: dict[str, Any]
    plots: Any


def report(
    models: Mapping[str, Any] | Sequence[Any] | Any,
    output: str | Path = "report.html",
    *,
    prior: Any = None,
    factors: Any = None,
    factor_names: Sequence[str] | None = None,
    baseline: str | None = None,
    seed: int = 0,
    metrics: Sequence[str] | str | None = None,
    fail_if: Sequence[str] = (),
    title: str | None = None,
    curve: bool = True,
    curve_dims: int | None = None,
    curve_points: int = 3,
    max_plot_dims: int | None = 8,
    importance: bool = True,
    importance_dims: int | None = MAX_IMPORTANCE_DIMS,
    scheduler: Any = None,
    cache: str | Path | None = None,
    key: str | None = None,
    progress: bool = False,
    **options: Any,
) -> ReportResult:
    """Write one self-contained HTML report of one or several latent spaces.

    Parameters
    ----------
    models : array, file, run directory, or a dict / list of them
        As in :func:`lps_eval.compare` (a single array or path is one model).
    output : str or Path, default "report.html"
    prior, factors, factor_names, baseline, seed, metrics
        As in :func:`lps_eval.compare`.
    fail_if : sequence of str
        Gate expressions (``'lps > 0.2'``) checked on every model; the verdicts appear in
        the header and in :attr:`ReportResult.gates`.
    title : str, optional
    curve : bool, default True
        Draw the LPS learning curve of every model (:func:`lps_eval.lps_curve`, with its
        null curve) and print the convergence verdict of
        :func:`~lps_eval.predictability.curve_verdict`.
    curve_dims : int or None, default None
        Target dimensions of the curve: None = all of them, so the curve is about the
        reported LPS (costs about a third of the LPS fit); an int scores a random subset,
        and the report then compares the curve with the reported R2 of those dimensions.
    curve_points : int, default 3
        Sizes on the curve (training rows n, n/2, n/4, ...).
    max_plot_dims : int or None, default 8
        Dimensions shown in the marginal plots (None = all; each costs two small axes).
    importance : bool, default True
        Show what the LPS predictor relies on in the structure figure
        (:func:`~lps_eval.predictability.lps_importance`: one more fit on one split).
    importance_dims : int or None, default 12
        Dimensions in that figure (the first ones; each target is still predicted from all).
    scheduler, cache, key
        As in :func:`lps_eval.compare` (where the models are scored; the figures are
        drawn here).
    **options
        Passed to :func:`lps_eval.score` (``predictor=``, ``n_boot=``, ...).

    Returns
    -------
    ReportResult
    """
    import lps_eval.reporting.figures as plots

    plots.figure(1, 1)  # fail early, with the extra's name, when matplotlib is missing
    inputs = [read_model(spec, key=key) for spec in expand_models(models)]
    parsed = _parse_gates(fail_if)
    table = compare(
        {m.name: m for m in inputs},
        scheduler=scheduler,
        cache=cache,
        prior=prior,
        factors=factors,
        factor_names=factor_names,
        baseline=baseline,
        seed=seed,
        metrics=metrics,
        progress=progress,
        **options,
    )
    gates = check_model_gates(table, parsed) if parsed else None
    ctx = _Context(
        prior=prior,
        factors=factors,
        factor_names=factor_names,
        seed=seed,
        curve=curve,
        curve_dims=curve_dims,
        curve_points=curve_points,
        importance=importance,
        importance_dims=importance_dims,
        max_plot_dims=max_plot_dims,
        options=options,
        plots=plots,
    )
    done = _model_sections(inputs, table, ctx)
    summary_html = ""
    if len(inputs) > 1:
        summary_html = _summary_section(table, done.verdicts, done.figures, plots)
    page = _page(
        title=title or _default_title(inputs),
        version=table.attrs.get("versions", {}).get("lps_eval", "?"),
        table=table,
        inputs=inputs,
        gates=gates,
        summary_html=summary_html,
        sections=done.sections,
        settings=_report_settings(table, ctx, metrics),
    )
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page, encoding="utf-8")
    return ReportResult(
        output, table, gates, done.curves, done.figures, done.verdicts, done.importance
    )


def _default_title(inputs: list[ModelInput]) -> str:
    names = ", ".join(m.name for m in inputs[:4])
    return "lps-eval report: " + names + (" ..." if len(inputs) > 4 else "")


def _report_settings(table: pd.DataFrame, ctx: _Context, metrics: Any) -> dict[str, Any]:
    return {
        "seed": ctx.seed,
        "prior": ctx.prior if ctx.prior is not None else "each model's own (default gaussian)",
        "metrics": metrics or "default sections",
        "options": ctx.options,
        "baseline": table.attrs.get("baseline"),
        "pairing": table.attrs.get("pairing"),
        "learning curve": (
            {
                "target dims": "all" if ctx.curve_dims is None else ctx.curve_dims,
                "points": ctx.curve_points,
                "null curve": "at every size (column-shuffled rows)",
            }
            if ctx.curve
            else "off"
        ),
        "predictor importance": (
            {"dims": "all" if ctx.importance_dims is None else ctx.importance_dims}
            if ctx.importance
            else "off"
        ),
    }


@dataclass
class _Sections:
    """The models' sections and what they found, filled model by model."""

    sections: list[str] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)
    curves: dict[str, pd.DataFrame] = field(default_factory=dict)
    verdicts: dict[str, Any] = field(default_factory=dict)
    importance: dict[str, Any] = field(default_factory=dict)


def _model_sections(inputs: list[ModelInput], table: pd.DataFrame, ctx: _Context) -> _Sections:
    """Every model's section. The fits behind its figures (the learning curve, the
    predictor importance: numpy / scikit-learn, which release the GIL) run in one
    background thread while the main thread draws (matplotlib, which holds it)."""
    done = _Sections()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = {
            model.name: {
                "curve": pool.submit(_curve, model, table, ctx) if ctx.curve else None,
                "importance": pool.submit(_importance, model, table, ctx)
                if ctx.importance
                else None,
            }
            for model in inputs
        }
        for model in inputs:
            rows = table[table["model"] == model.name]
            _model_section(model, rows, ctx, pending[model.name], done)
    return done


def _parse_gates(fail_if: Sequence[str]) -> list:
    if isinstance(fail_if, str):
        fail_if = [fail_if]
    return [parse_gate(e) for e in fail_if or ()]


def _lps_options(ctx: _Context) -> dict[str, Any]:
    """The ``lps`` namespace of the scoring options, as :func:`lps_eval.score` resolves it."""
    from lps_eval.scoring import namespace_defaults
    from lps_eval.scoring.namespaces import resolve_options

    section_options = {k: v for k, v in ctx.options.items() if k not in ("n_boot", "confidence")}
    return resolve_options(section_options, namespace_defaults())["lps"]


def _has_lps(model: ModelInput, table: pd.DataFrame) -> bool:
    rows = table[
        (table["model"] == model.name) & (table["metric"] == "lps") & (table["scope"] == "overall")
    ]
    return not rows.empty and np.asarray(model.z).shape[1] >= 2


def _curve_split(lps_opts: dict[str, Any], table: pd.DataFrame) -> float:
    """The curve's held-out share, chosen so that its last point trains on as many rows as
    the reported LPS did: the LPS ``test_size``; the shared split's of a paired comparison;
    else one cross-fitting fold's (1 / folds)."""
    from lps_eval.predictability import DEFAULT_FOLDS, SINGLE_SPLIT_TEST_SIZE

    if lps_opts.get("test_size"):
        return float(lps_opts["test_size"])
    if table.attrs.get("pairing") == "paired":
        return SINGLE_SPLIT_TEST_SIZE
    return 1.0 / float(lps_opts.get("folds") or DEFAULT_FOLDS)


def _curve(model: ModelInput, table: pd.DataFrame, ctx: _Context) -> pd.DataFrame | None:
    """The model's learning curve with its null curve (None without an LPS row)."""
    from lps_eval.predictability import default_sizes, lps_curve, resolve_max_samples

    if not _has_lps(model, table):
        return None
    z = np.asarray(model.z, dtype=np.float64)
    lps_opts = _lps_options(ctx)
    cap = resolve_max_samples(lps_opts["max_samples"], lps_opts["predictor"])
    n_cap = z.shape[0] if cap is None else min(z.shape[0], int(cap))
    test_size = _curve_split(lps_opts, table)
    n_train = n_cap - int(round(test_size * n_cap))
    return lps_curve(
        z,
        sizes=default_sizes(n_train, points=ctx.curve_points),
        predictor=lps_opts["predictor"],
        predictor_params=lps_opts["predictor_params"],
        seed=ctx.seed,
        test_size=test_size,
        max_samples=cap,
        n_boot=ctx.options.get("n_boot", 200),
        confidence=ctx.options.get("confidence", 0.95),
        null=True,
        target_dims=ctx.curve_dims,
        null_dims=lps_opts["null_dims"],
    )


def _importance(model: ModelInput, table: pd.DataFrame, ctx: _Context) -> Any:
    """What the model's LPS predictor relies on (None without LPS structure rows)."""
    from lps_eval.predictability import lps_importance

    rows = table[(table["model"] == model.name) & (table["metric"] == "lps_structure")]
    if rows.empty or not _has_lps(model, table):
        return None
    lps_opts = _lps_options(ctx)
    return lps_importance(
        np.asarray(model.z, dtype=np.float64),
        predictor=lps_opts["predictor"],
        predictor_params=lps_opts["predictor_params"],
        test_size=_curve_split(lps_opts, table),
        max_samples=lps_opts["max_samples"],
        max_dims=ctx.importance_dims,
        seed=ctx.seed,
    )


def _result(future: Any, what: str) -> tuple[Any, str]:
    """A background result, or None and a warning paragraph when it was refused."""
    if future is None:
        return None, ""
    try:
        return future.result(), ""
    except LpsInputError as exc:
        return None, f"<p class=warn>No {what}: {html.escape(str(exc))}</p>"


def _model_section(model: ModelInput, rows: pd.DataFrame, ctx: _Context, pending, done) -> None:
    """One model's section: header, banner, tables and figures (appended to ``done``)."""
    name, plots = model.name, ctx.plots
    z = np.asarray(model.z, dtype=np.float64)
    source = model.source or ""
    parts = [
        f'<section class="model" id="model-{_anchor(name)}"><h2>Model: {html.escape(name)}</h2>',
        f"<p class=meta>{z.shape[0]:,} rows x {z.shape[1]} dimensions"
        + (f"; source <code>{html.escape(source)}</code>" if source else "")
        + "</p>",
    ]
    tidy = rows.drop(columns=["model", "pairing", "status", "error"], errors="ignore")
    tidy = tidy[tidy["scope"] != "difference"]

    def add(fig: Any, title: str) -> None:
        done.figures.append(f"{name}: {title}")
        parts.append(_figure_html(fig, title, _anchor(f"{name}-{title}")))

    verdict_at = len(parts)  # filled in once the curve (computed meanwhile) is ready
    parts.append(table_html(tidy, per_dim=False))
    _marginals_figure(model, z, tidy, ctx, add, parts)
    if not tidy[(tidy["metric"] == "lps") & (tidy["scope"] == "dim")].empty:
        add(plots.r2_bars(tidy), "Per-dimension R2")
    if not tidy[tidy["metric"] == "lps_structure"].empty:
        found, warn = _result(pending["importance"], "predictor importance")
        if found is not None:
            done.importance[name] = found
        add(plots.structure(tidy, z, importance=found), "Predictability structure")
        parts.append(warn)
    model_curve, banner = _result(pending["curve"], "learning curve")
    if model_curve is not None:
        verdict = curve_verdict(model_curve)
        done.curves[name], done.verdicts[name] = model_curve, verdict
        reported = _reported_lps(tidy, model_curve)
        banner = _verdict_html(name, verdict) + _agreement_html(model_curve, reported)
        add(
            plots.learning_curve(model_curve, full_value=reported[0], verdict=verdict),
            "LPS learning curve",
        )
    parts.insert(verdict_at, banner)
    _supervised_figures(model, z, tidy, ctx, add, parts)
    history = None if model.run_dir is None else Path(model.run_dir) / "history.csv"
    if history is not None and history.is_file():
        add(plots.training_curves(history), "Training curves")
    parts.append("</section>")
    done.sections.append("\n".join(parts))


def _mmd_p_values(tidy: pd.DataFrame, d: int) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per-dimension MMD p-values indexed by dimension, and their Holm-adjusted values:
    the table's ``p_value_holm`` column when it has one, else Holm over these p-values."""
    rows = tidy[(tidy["metric"] == "mmd") & (tidy["scope"] == "dim")]
    if rows.empty:
        return None, None
    dims = rows["dim"].astype(int).to_numpy()
    raw = np.full(d, np.nan)
    raw[dims] = rows["p_value"].to_numpy(dtype=float)
    if "p_value_holm" in rows and rows["p_value_holm"].notna().any():
        adjusted = np.full(d, np.nan)
        adjusted[dims] = rows["p_value_holm"].to_numpy(dtype=float)
        return raw, adjusted
    return raw, holm(raw)


def _marginals_figure(model, z, tidy, ctx: _Context, add, parts) -> None:
    try:
        p_values, p_values_holm = _mmd_p_values(tidy, z.shape[1])
        model_prior = ctx.prior if ctx.prior is not None else (model.prior or "gaussian")
        fig = ctx.plots.marginals(
            z,
            model_prior,
            p_values=p_values,
            p_values_holm=p_values_holm,
            max_plot_dims=ctx.max_plot_dims,
            seed=ctx.seed,
        )
        add(fig, "Marginals against the prior")
    except (LpsInputError, ValueError) as exc:
        parts.append(f"<p class=warn>No marginal plot: {html.escape(str(exc))}</p>")


def _supervised_figures(model, z, tidy, ctx: _Context, add, parts) -> None:
    fac = ctx.factors if ctx.factors is not None else model.factors
    names = ctx.factor_names if ctx.factors is not None else model.factor_names
    if not tidy[tidy["metric"] == "dci_importance"].empty:
        add(ctx.plots.dci_importance(tidy, factor_names=names), "DCI importance")
    if fac is None:
        return
    from lps_eval.metrics import mig

    try:
        result = mig(z, np.asarray(fac), seed=ctx.seed)
        if getattr(result, "mutual_info", None) is not None:
            add(
                ctx.plots.mi_matrix(result.mutual_info, factor_names=names),
                "MIG mutual information",
            )
    except (LpsInputError, ValueError) as exc:
        parts.append(f"<p class=warn>No MI matrix: {html.escape(str(exc))}</p>")


def _reported_lps(tidy: pd.DataFrame, curve: pd.DataFrame) -> tuple[float, float, float, str]:
    """The reported quantity the curve is about: ``(value, ci_low, ci_high, what)``.

    LPS itself when the curve scores every dimension; else the mean reported R2 of the
    curve's target dimensions (no interval).
    """
    overall = tidy[(tidy["metric"] == "lps") & (tidy["scope"] == "overall")]
    per_dim = tidy[(tidy["metric"] == "lps") & (tidy["scope"] == "dim")]
    if "source_dim" in per_dim:
        per_dim = per_dim[per_dim["source_dim"].isna()]
    targets = list(curve.attrs.get("target_dims") or [])
    scored = per_dim[per_dim["value"].notna()]["dim"].astype(int).tolist()
    if overall.empty:
        return math.nan, math.nan, math.nan, "LPS"
    row = overall.iloc[0]
    if not targets or sorted(targets) == sorted(scored):
        return float(row["value"]), float(row["ci_low"]), float(row["ci_high"]), "LPS"
    values = per_dim.set_index(per_dim["dim"].astype(int))["value"].reindex(targets)
    what = f"mean reported R2 of the curve's {len(targets)} target dimensions"
    return float(values.mean()), math.nan, math.nan, what


def _verdict_html(name: str, verdict: Any) -> str:
    return (
        f'<p class="verdict verdict-{verdict.state}" id="verdict-{_anchor(name)}">'
        f"<b>{html.escape(verdict.headline)}</b>: {html.escape(verdict.detail)}</p>"
    )


def _agreement_html(curve: pd.DataFrame, reported: tuple[float, float, float, str]) -> str:
    """Does the curve's last point estimate the reported quantity? Say so either way."""
    value, low, high, what = reported
    end = curve.iloc[-1]
    if not np.isfinite(value):
        return ""
    agree = curve_agrees(end, value, low, high)
    design = (
        f"the curve's last point trains on {int(end['n_train']):,} rows and holds out "
        f"{int(end['n_test']):,} fixed rows once; the reported value comes from its own "
        "split of the scored rows"
    )
    reported_text = f"{value:.4f}" + (
        f" [{low:.4f}, {high:.4f}]" if np.isfinite(low) and np.isfinite(high) else ""
    )
    numbers = (
        f"its last point, {end['value']:.4f} [{end['ci_low']:.4f}, {end['ci_high']:.4f}], "
        f"and the reported {html.escape(what)}, {reported_text}"
    )
    if agree:
        return (
            f"<p class=meta>The curve is about the reported number: {numbers}, agree within "
            f"their intervals ({design}).</p>"
        )
    return (
        f"<p class=warn>The curve's end does not agree with the reported number: {numbers}, "
        f"differ by more than their intervals allow ({design}): the verdict describes the "
        "curve's estimate, so read it with caution.</p>"
    )


def curve_agrees(end: pd.Series, value: float, low: float, high: float) -> bool:
    """Do the curve's last point and the reported value estimate the same number?

    True when they differ by at most ``sqrt(h_end^2 + h_reported^2)``, the half-width of
    their difference for two independent estimates (``h``: half of each interval; the
    reported one counts 0 when it has none). The two share rows, so their difference
    varies less than that: a disagreement by this rule is a real one.
    """
    h_end = float(end["ci_high"] - end["ci_low"]) / 2.0
    h_rep = (high - low) / 2.0 if np.isfinite(low) and np.isfinite(high) else 0.0
    if not np.isfinite(h_end):
        return False
    return bool(abs(float(end["value"]) - value) <= math.hypot(h_end, h_rep))


def _summary_section(table, verdicts, figures, plots) -> str:
    summary = summarize(table)
    best = summary.attrs.get("best", {})
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["model", *summary.columns])
    if verdicts:
        head += "<th>LPS converged in N</th>"
    body = []
    for model in summary.index:
        cells = [f"<td>{html.escape(str(model))}</td>"]
        for metric in summary.columns:
            text = fmt_number(summary.at[model, metric], 4)
            winner = best.get(metric)
            if text and winner is not None and text == fmt_number(summary.at[winner, metric], 4):
                text = f"<b>{text}</b>"
            cells.append(f"<td>{text}</td>")
        if verdicts:
            verdict = verdicts.get(model)
            cells.append(f"<td>{'' if verdict is None else html.escape(verdict.short)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    parts = [
        '<section id="summary"><h2>Summary</h2>',
        "<p>One row per model; bold = best in the column (lower LPS / MMD, higher supervised "
        "scores). Markdown for a paper: <code>lps-eval compare ... --format markdown</code>.</p>",
        f'<div class="scroll"><table class="summary"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>",
        f"<details><summary>Markdown</summary><pre>{html.escape(format_summary(summary))}</pre></details>",
    ]
    diffs = table[table["scope"] == "difference"]
    if not diffs.empty:
        parts.append(
            f"<h3>Differences against {html.escape(str(table.attrs.get('baseline')))}</h3>"
        )
        parts.append(table_html(diffs, per_dim=False))
        fig = plots.forest(table)
        figures.insert(0, "Differences against the baseline")  # shown before the models
        parts.append(_figure_html(fig, "Differences against the baseline", "forest"))
    parts.append("</section>")
    return "\n".join(parts)


_CSS = """
:root { color-scheme: light; }
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .85rem; }
th, td { border: 1px solid #ddd; padding: .2rem .5rem; text-align: right; }
th { background: #f3f5f7; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .85rem; color: #444; }
.meta { color: #555; } .warn { color: #a33; }
.pass { color: #11772d; font-weight: bold; } .fail { color: #b00020; font-weight: bold; }
.verdict { background: #f6f8fa; padding: .4rem .6rem; border-left: 4px solid #0072B2; }
.verdict-rising, .verdict-falling { border-left-color: #E69F00; }
.verdict-undetermined { border-left-color: #999999; }
pre { background: #f6f8fa; padding: .5rem; overflow-x: auto; font-size: .8rem; }
.scroll { overflow-x: auto; max-width: 100%; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  figure, table, .verdict { break-inside: avoid; page-break-inside: avoid; }
  section.model { break-before: page; }
  .scroll { overflow: visible; } table { font-size: 8pt; }
  a { color: inherit; text-decoration: none; }
}
"""


def _kv_table(items: Mapping[str, Any]) -> str:
    rows = []
    for key, value in items.items():
        value = jsonable(value)
        text = value if isinstance(value, str) else str(value)
        rows.append(f"<tr><th>{html.escape(str(key))}</th><td>{html.escape(text)}</td></tr>")
    return f'<table class="kv">{"".join(rows)}</table>'


def _page(*, title, version, table, inputs, gates, summary_html, sections, settings) -> str:
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = [
        f"<header><h1>{html.escape(title)}</h1>",
        f"<p class=meta>lps-eval {html.escape(version)}, {now}; {len(inputs)} model(s): "
        + ", ".join(f'<a href="#model-{_anchor(m.name)}">{html.escape(m.name)}</a>' for m in inputs)
        + "</p>",
    ]
    if gates is not None:
        failed = [(m, o) for m, o in gates if o.failed]
        status = (
            '<span class="fail">FAILED</span>' if failed else '<span class="pass">passed</span>'
        )
        header.append(f"<h2>Quality gates: {status}</h2><ul>")
        for model, outcome in gates:
            cls = "fail" if outcome.failed else "pass"
            header.append(
                f'<li><span class="{cls}">{"fail" if outcome.failed else "pass"}</span> '
                f"[{html.escape(model)}] {html.escape(outcome.reason)}</li>"
            )
        header.append("</ul>")
    header.append("<h2>Settings</h2>" + _kv_table(settings))
    versions = table.attrs.get("versions", {})
    header.append(
        "<details><summary>Library versions</summary>" + _kv_table(versions) + "</details>"
    )
    header.append("</header>")
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{_CSS}</style></head><body>",
            *header,
            summary_html,
            *sections,
            "<footer><p class=meta>Self-contained report: no script, no network access. "
            "Definitions: LPS = mean held-out R2 of each dimension predicted from the others "
            "(Fruytier et al., arXiv:2510.11953); MMD^2 to the prior with a permutation test "
            "(Gretton et al., JMLR 2012).</p></footer>",
            "</body></html>",
        ]
    )
