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
from lps_eval.results import jsonable
from lps_eval.scoring import compare, format_summary, summarize
from lps_eval.scoring.gate import check_model_gates, parse_gate

__all__ = ["ReportResult", "report"]

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
    """

    path: Path
    table: pd.DataFrame
    gates: list[tuple[str, Any]] | None = None
    curves: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)

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
    curve_dims: int | None = 3,
    curve_points: int = 3,
    max_plot_dims: int | None = 8,
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
        Draw the LPS learning curve of every model (:func:`lps_eval.lps_curve`) and state
        whether LPS has converged (last doubling moved it less than its half-width).
    curve_dims : int or None, default 3
        Target dimensions of the curve (a random subset, the same at every size; None =
        all). Keeps the report's cost close to :func:`lps_eval.score`'s.
    curve_points : int, default 3
        Sizes on the curve (training rows n, n/2, n/4, ...).
    max_plot_dims : int or None, default 8
        Dimensions shown in the marginal plots (None = all; each costs two small axes).
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
    output = Path(output)
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

    figures: list[str] = []
    sections: list[str] = []
    curves: dict[str, pd.DataFrame] = {}
    convergence: dict[str, dict[str, Any]] = {}
    # The learning-curve fits (numpy / scikit-learn, which release the GIL) run in one
    # background thread while the main thread draws the figures (matplotlib, which holds
    # it): on two or more cores the curve costs little extra wall time.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = {
            model.name: pool.submit(_curve, model, table, seed, curve_dims, curve_points, options)
            for model in inputs
            if curve
        }
        for model in inputs:
            rows = table[table["model"] == model.name]
            body, model_curve, conv = _model_section(
                model,
                rows,
                prior=prior,
                factors=factors,
                factor_names=factor_names,
                seed=seed,
                curve_future=pending.get(model.name),
                max_plot_dims=max_plot_dims,
                figures=figures,
                plots=plots,
            )
            sections.append(body)
            if model_curve is not None:
                curves[model.name] = model_curve
                convergence[model.name] = conv

    summary_html = ""
    if len(inputs) > 1:
        summary_html = _summary_section(table, convergence, figures, plots)
    page = _page(
        title=title
        or (
            "lps-eval report: "
            + ", ".join(m.name for m in inputs[:4])
            + (" ..." if len(inputs) > 4 else "")
        ),
        version=table.attrs.get("versions", {}).get("lps_eval", "?"),
        table=table,
        inputs=inputs,
        gates=gates,
        summary_html=summary_html,
        sections=sections,
        settings={
            "seed": seed,
            "prior": prior if prior is not None else "each model's own (default gaussian)",
            "metrics": metrics or "default sections",
            "options": options,
            "baseline": table.attrs.get("baseline"),
            "pairing": table.attrs.get("pairing"),
            "learning curve": (
                {"target dims": curve_dims, "points": curve_points} if curve else "off"
            ),
        },
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(page, encoding="utf-8")
    return ReportResult(output, table, gates, curves, figures)


def _parse_gates(fail_if: Sequence[str]) -> list:
    if isinstance(fail_if, str):
        fail_if = [fail_if]
    return [parse_gate(e) for e in fail_if or ()]


def _curve(
    model: ModelInput,
    table: pd.DataFrame,
    seed: int,
    curve_dims: int | None,
    curve_points: int,
    options: dict[str, Any],
) -> pd.DataFrame | None:
    """The model's learning curve (None when it has no LPS row or fewer than 2 dims)."""
    from lps_eval.predictability import SINGLE_SPLIT_TEST_SIZE
    from lps_eval.predictability.curve import default_sizes, lps_curve
    from lps_eval.scoring import namespace_defaults
    from lps_eval.scoring.namespaces import resolve_options

    rows = table[
        (table["model"] == model.name) & (table["metric"] == "lps") & (table["scope"] == "overall")
    ]
    z = np.asarray(model.z, dtype=np.float64)
    if rows.empty or z.shape[1] < 2:
        return None
    section_options = {k: v for k, v in options.items() if k not in ("n_boot", "confidence")}
    lps_opts = resolve_options(section_options, namespace_defaults())["lps"]
    cap = lps_opts["max_samples"]
    n_cap = z.shape[0] if cap is None else min(z.shape[0], int(cap))
    # the curve holds one held-out set fixed (cross-fitting would refit it per size)
    test_size = lps_opts["test_size"] or SINGLE_SPLIT_TEST_SIZE
    n_train = n_cap - int(round(test_size * n_cap))
    return lps_curve(
        z,
        sizes=default_sizes(n_train, points=curve_points),
        predictor=lps_opts["predictor"],
        predictor_params=lps_opts["predictor_params"],
        seed=seed,
        test_size=test_size,
        max_samples=cap,
        n_boot=options.get("n_boot", 200),
        confidence=options.get("confidence", 0.95),
        null=False,
        target_dims=curve_dims,
    )


def _model_section(
    model: ModelInput,
    rows: pd.DataFrame,
    *,
    prior,
    factors,
    factor_names,
    seed,
    curve_future,
    max_plot_dims,
    figures,
    plots,
) -> tuple[str, pd.DataFrame | None, dict[str, Any]]:
    from lps_eval.predictability.curve import curve_converged

    name = model.name
    z = np.asarray(model.z, dtype=np.float64)
    parts = [
        f'<section class="model" id="model-{_anchor(name)}"><h2>Model: {html.escape(name)}</h2>'
    ]
    source = model.source or ""
    parts.append(
        f"<p class=meta>{z.shape[0]:,} rows x {z.shape[1]} dimensions"
        + (f"; source <code>{html.escape(source)}</code>" if source else "")
        + "</p>"
    )
    tidy = rows.drop(columns=["model", "pairing", "status", "error"], errors="ignore")
    tidy = tidy[tidy["scope"] != "difference"]
    lps_row = tidy[(tidy["metric"] == "lps") & (tidy["scope"] == "overall")]

    def add(fig: Any, title: str) -> None:
        figures.append(f"{name}: {title}")
        parts.append(_figure_html(fig, title, _anchor(f"{name}-{title}")))

    verdict_at = len(parts)  # filled in once the curve (computed meanwhile) is ready
    parts.append(table_html(tidy, per_dim=False))

    try:
        p_values = None
        mmd_dims = tidy[(tidy["metric"] == "mmd") & (tidy["scope"] == "dim")]
        if not mmd_dims.empty:
            p_values = mmd_dims.sort_values("dim")["p_value"].to_numpy(dtype=float)
        model_prior = prior if prior is not None else (model.prior or "gaussian")
        add(
            plots.marginals(z, model_prior, p_values=p_values, max_dims=max_plot_dims, seed=seed),
            "Marginals against the prior",
        )
    except (LpsInputError, ValueError) as exc:
        parts.append(f"<p class=warn>No marginal plot: {html.escape(str(exc))}</p>")
    if not tidy[(tidy["metric"] == "lps") & (tidy["scope"] == "dim")].empty:
        add(plots.r2_bars(tidy), "Per-dimension R2")
    if not tidy[tidy["metric"] == "lps_structure"].empty:
        add(plots.structure(tidy, z), "Predictability structure")
    model_curve, conv, verdict = None, {}, ""
    if curve_future is not None:
        try:
            model_curve = curve_future.result()
        except LpsInputError as exc:
            verdict = f"<p class=warn>No learning curve: {html.escape(str(exc))}</p>"
    if model_curve is not None:
        conv = curve_converged(model_curve)
        word = "converged" if conv["converged"] else "NOT converged"
        verdict = (
            f"<p class=verdict><b>LPS {word} in N</b>: doubling the training rows from "
            f"{conv['n_train_previous']:,} to {conv['n_train']:,} moved LPS by "
            f"{conv['change']:+.4f} (interval half-width {conv['half_width']:.4f}).</p>"
        )
        full = float(lps_row["value"].iloc[0])
        add(plots.learning_curve(model_curve, full_value=full), "LPS learning curve")
    parts.insert(verdict_at, verdict)
    fac = factors if factors is not None else model.factors
    names = factor_names if factors is not None else model.factor_names
    if not tidy[tidy["metric"] == "dci_importance"].empty:
        add(plots.dci_importance(tidy, factor_names=names), "DCI importance")
    if fac is not None:
        from lps_eval.metrics import mig

        try:
            result = mig(z, np.asarray(fac), seed=seed)
            if getattr(result, "mutual_info", None) is not None:
                add(
                    plots.mi_matrix(result.mutual_info, factor_names=names),
                    "MIG mutual information",
                )
        except (LpsInputError, ValueError) as exc:
            parts.append(f"<p class=warn>No MI matrix: {html.escape(str(exc))}</p>")
    history = None if model.run_dir is None else Path(model.run_dir) / "history.csv"
    if history is not None and history.is_file():
        add(plots.training_curves(history), "Training curves")
    parts.append("</section>")
    return "\n".join(parts), model_curve, conv


def _summary_section(table, convergence, figures, plots) -> str:
    summary = summarize(table)
    best = summary.attrs.get("best", {})
    head = "".join(f"<th>{html.escape(c)}</th>" for c in ["model", *summary.columns])
    if convergence:
        head += "<th>LPS converged</th>"
    body = []
    for model in summary.index:
        cells = [f"<td>{html.escape(str(model))}</td>"]
        for metric in summary.columns:
            text = fmt_number(summary.at[model, metric], 4)
            winner = best.get(metric)
            if text and winner is not None and text == fmt_number(summary.at[winner, metric], 4):
                text = f"<b>{text}</b>"
            cells.append(f"<td>{text}</td>")
        if convergence:
            conv = convergence.get(model)
            cells.append(f"<td>{'' if not conv else ('yes' if conv['converged'] else 'no')}</td>")
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
