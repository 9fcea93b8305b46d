r"""Compare several latent spaces: one tidy table, differences with intervals, a summary.

:func:`compare` scores every model with :func:`lps_eval.score` and appends *difference
rows* against a baseline model for the headline metrics (``lps``, ``lps_linear``,
``mmd``): ``scope="difference"``, ``model="B - A"``, the difference of the two values,
a bootstrap percentile interval and a two-sided bootstrap p-value.

Pairing. When every model has the same number of rows (they encode the same inputs row
for row, e.g. the trainer's shared evaluation set), the comparison is **paired**: all
models are fitted on one shared train/test split, and the bootstrap resamples the same
held-out rows for every model, so the between-input variance cancels from the
difference. Otherwise each model keeps its own split and resamples (**unpaired**). The
``pairing`` column says which.

For a difference :math:`\Delta = T_B - T_A` and bootstrap replicates :math:`\Delta_b`:

- interval: percentiles of :math:`\Delta + (\Delta_b - \bar\Delta)` where :math:`\bar\Delta`
  is the difference on the bootstrapped rows themselves (basic percentile on the
  deviations; for LPS :math:`\bar\Delta = \Delta` exactly);
- p-value: :math:`p = (1 + \#\{|\Delta_b - \bar\Delta| \ge |\bar\Delta|\}) / (1 + B)`
  (the replicates centred on the null of no difference; never exactly 0).

LPS replicates resample held-out rows with fixed predictions (as :func:`lps_eval.lps`
does for its own interval). MMD replicates resample the latent rows of the statistic
with the kernel and prior sample fixed: with counts :math:`w` of a resample of ``m``
rows, :math:`\widehat{\mathrm{MMD}}^2_b = (w^\top K w - m k_0) / (m(m-1)) + S_{yy}
- 2 w^\top c / m`, where :math:`K` is the latent kernel matrix and :math:`c_i` the mean
kernel value of row ``i`` against the prior sample (one matrix product for all
resamples).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from lps_eval._validation import LpsInputError
from lps_eval.models import ModelSpec, expand_models, peek_rows, read_model
from lps_eval.predictability import (
    SINGLE_SPLIT_TEST_SIZE,
    LpsResult,
    lps_replicates,
    resolve_max_samples,
)
from lps_eval.prior_matching import MmdResult, mmd_replicates
from lps_eval.results import jsonable, library_versions, tidy_frame
from lps_eval.scoring.namespaces import resolve_options
from lps_eval.scoring.sections import namespace_defaults
from lps_eval.scoring.sweep import (
    ModelTask,
    error_payload,
    model_tasks,
    recorded_settings,
    run_model_tasks,
    score_model,
    shared_factors,
    stack_payloads,
    table_payload,
)

__all__ = [
    "DIFFERENCE_METRICS",
    "HEADLINE_METRICS",
    "MMD_BOOT_ROWS",
    "compare",
    "differences",
    "format_summary",
    "summarize",
]

#: Metrics that get difference rows against the baseline.
DIFFERENCE_METRICS = ("lps", "lps_linear", "mmd")

#: Summary columns and whether lower (-1) or higher (+1) is better (0: no ranking).
HEADLINE_METRICS: dict[str, int] = {
    "lps": -1,
    "lps_linear": -1,
    "lps_null": 0,
    "lps_nonlinear_gap": 0,
    "lps_converged": 0,
    "mmd": -1,
    "udr": 1,
    "mmd_independence": -1,
    "gaussian_tc": -1,
    "mig": 1,
    "sap": 1,
    "dci_disentanglement": 1,
    "dci_completeness": 1,
    "dci_informativeness": 1,
    "beta_vae": 1,
    "factor_vae": 1,
    "modularity": 1,
    "explicitness": 1,
    "irs": 1,
    "mig_sup": 1,
    "dcimig": 1,
    "jemmig": 1,
}

#: Rows of the MMD bootstrap kernel matrix (m x m float64: 72 MB at 3000).
MMD_BOOT_ROWS = 3000

#: Seed-stream tags of the comparison's own random choices (never change: numbers move).
_SPLIT_TAG, _BOOT_TAG, _PRIOR_TAG = 0x636D70, 0x626F6F, 0x707269


def compare(
    models: Mapping[str, Any] | Sequence[Any] | Any,
    *,
    prior: Any = None,
    factors: Any = None,
    factor_names: Sequence[str] | None = None,
    baseline: str | None = None,
    seed: int = 0,
    metrics: Sequence[str] | str | None = None,
    pairing: str = "auto",
    n_boot: int = 200,
    confidence: float = 0.95,
    mmd_boot_rows: int = MMD_BOOT_ROWS,
    scheduler: Any = None,
    cache: str | os.PathLike | None = None,
    key: str | None = None,
    names: Sequence[str] | None = None,
    progress: bool = False,
    **options: Any,
) -> pd.DataFrame:
    """Score several latent spaces and the differences of each against a baseline.

    Parameters
    ----------
    models : dict, list, path, glob pattern or array
        Name -> latents (array-like), an array file, or a trainer run directory
        (``latents.npz`` with ``z`` and ``factors``; its prior from ``config.json``). A list
        (or a pattern) is named by :func:`lps_eval.models.default_names`.
    prior : str or object, optional
        Prior for every model. None: each model's own prior (from its run directory),
        else ``"gaussian"``.
    factors : array-like or path, optional
        Ground-truth factors shared by every model (overrides factors of run directories).
    factor_names : sequence of str, optional
        Names of the shared factors' columns.
    baseline : str, optional
        Model the differences are taken against (default: the first).
    seed : int, default 0
        Seeds every split, bootstrap and permutation (the same for every model).
    metrics : str or sequence, optional
        As in :func:`lps_eval.score`.
    pairing : {"auto", "paired", "unpaired"}, default "auto"
        ``auto``: paired when all models have the same number of rows. ``paired`` refuses
        models of different sizes.
    n_boot : int, default 200
        Bootstrap resamples of every interval (also of each model's own intervals).
    confidence : float, default 0.95
    mmd_boot_rows : int, default 3000
        Rows of the MMD difference bootstrap (an ``m x m`` kernel matrix per model).
    scheduler : str, dask Client or None
        Where the models are scored (see :mod:`lps_eval.schedulers`): ``None`` (serial),
        ``"processes:N"``, ``"local:N"`` (a Dask LocalCluster), ``"tcp://..."``. The
        numbers do not depend on it.
    cache : path, optional
        Folder of per-model results (content hash of the model, the settings and the
        version): a rerun scores only new or changed models.
    key : str, optional
        Array name inside ``.npz`` / ``.pt`` files.
    names : sequence of str, optional
        Names for a list of models.
    progress : bool, default False
    **options
        Passed to :func:`lps_eval.score` (``predictor=``, ``test_size=``, ...).

    Returns
    -------
    pandas.DataFrame
        The tidy table of :func:`lps_eval.score` with a leading ``model`` column for
        every model's rows, then the difference rows (``scope="difference"``,
        ``model="B - A"``), a ``pairing`` column (``paired`` / ``unpaired``; ``none``
        for a single model, whose rows then equal :func:`lps_eval.score`'s exactly) and
        ``status`` / ``error`` (a model that could not be scored is one ``error`` row).
        In paired mode the LPS rows come from the shared split, so they can differ from
        a separate :func:`lps_eval.score` run by split noise (within the intervals).
        ``attrs`` holds each model's settings, the comparison settings and versions.

    Examples
    --------
    >>> import numpy as np, lps_eval
    >>> rng = np.random.default_rng(1)
    >>> a = rng.normal(size=(600, 3))
    >>> b = np.column_stack([a[:, 0], a[:, 0] + 0.3 * a[:, 1], a[:, 2]])
    >>> t = lps_eval.compare({"a": a, "b": b}, metrics=["lps"], predictor="linear", n_boot=50)
    >>> d = t.query("scope == 'difference' and metric == 'lps'")
    >>> bool(d.ci_low.iloc[0] > 0)
    True
    """
    specs = expand_models(models, names=names)
    model_names = [s.name for s in specs]
    metrics, udr_options = _split_udr(metrics, options)
    base = model_names[0] if baseline is None else str(baseline)
    if base not in model_names:
        raise LpsInputError(f"baseline {base!r} is not a model; models: {', '.join(model_names)}")
    resolved = _resolved_options(options, n_boot, confidence)
    paired, n_rows = _pairing(specs, pairing, key)
    plan = {
        "paired": paired,
        "n_rows": n_rows,
        "test_size": resolved["lps"]["test_size"] or SINGLE_SPLIT_TEST_SIZE,
        "cap": resolve_max_samples(resolved["lps"]["max_samples"], resolved["lps"]["predictor"]),
        "n_boot": n_boot if len(specs) > 1 else 0,
        "mmd_rows": int(mmd_boot_rows),
    }
    kwargs = shared_factors(
        {
            "prior": prior,
            "factors": factors,
            "factor_names": factor_names,
            "metrics": metrics,
            "seed": seed,
            **resolved,
        }
    )
    tasks = [
        replace(task, extra={**plan, "index": i})
        for i, task in enumerate(model_tasks(specs, kwargs, scheduler=scheduler, key=key))
    ]
    payloads, n_cached = run_model_tasks(
        _compare_one, tasks, scheduler=scheduler, cache=cache, progress=progress
    )
    diffs = differences(payloads, model_names, base, confidence=confidence)
    label = "none" if len(specs) == 1 else ("paired" if paired else "unpaired")
    out = _assemble(stack_payloads(model_names, payloads), diffs, label)
    if udr_options is not None:
        out = _with_udr(out, specs, payloads, key=key, seed=seed, options=udr_options)
    out.attrs = {
        "models": model_names,
        "baseline": base,
        "pairing": label,
        "seed": seed,
        "n_boot": n_boot,
        "confidence": confidence,
        "difference_interval": "bootstrap percentile of the deviations; p two-sided, centred",
        "mmd_boot_rows": mmd_boot_rows,
        "scheduler": scheduler if scheduler is None or isinstance(scheduler, str) else "client",
        "cache": None if cache is None else os.fspath(cache),
        "n_cached": n_cached,
        "n_failed": sum(p["status"] != "ok" for p in payloads),
        "shared_settings": recorded_settings(
            {k: v for k, v in kwargs.items() if k not in ("factors",)}
        ),
        "settings": jsonable(
            {
                name: {
                    **{k: v for k, v in p["attrs"].items() if k != "versions"},
                    "source": _source(spec),
                }
                for name, spec, p in zip(model_names, specs, payloads, strict=True)
            }
        ),
        "versions": library_versions(),
    }
    return out


def _split_udr(metrics: Any, options: dict[str, Any]) -> tuple[Any, dict[str, Any] | None]:
    """``metrics`` without ``"udr"`` (a metric of the set of models, not of each one) and
    UDR's options (``udr={...}``), or None when UDR was not asked for."""
    chosen = [metrics] if isinstance(metrics, str) else list(metrics or [])
    if "udr" not in chosen:
        if "udr" in options:
            raise LpsInputError("udr options given but 'udr' is not in metrics; add it")
        return metrics, None
    rest = [m for m in chosen if m != "udr"]
    udr_options = dict(options.pop("udr", None) or {})
    return (rest or ["lps"]), udr_options


def _with_udr(
    out: pd.DataFrame, specs: Sequence[ModelSpec], payloads: list[dict[str, Any]], *,
    key: str | None, seed: int, options: dict[str, Any],
) -> pd.DataFrame:  # fmt: skip
    """UDR rows (one per scored model, then the pair rows) from the models' codes and the
    per-dimension KL the trainer saved; computed here, on the client, from every model."""
    from lps_eval.metrics import udr

    ok = [s for s, p in zip(specs, payloads, strict=True) if p["status"] == "ok"]
    if len(ok) < 2:
        failed = [(s.name, p["error"]) for s, p in zip(specs, payloads, strict=True) if p["error"]]
        why = f"; {failed[0][0]} failed: {failed[0][1]}" if failed else ""
        raise LpsInputError(
            f"udr compares models with each other: needs 2+ models that could be scored, "
            f"got {len(ok)}{why}"
        )
    inputs = [read_model(s, key=key) for s in ok]
    sizes = {m.z.shape[0] for m in inputs}
    if len(sizes) > 1:
        raise LpsInputError(
            f"udr needs every model's codes of the same inputs, row for row; the models have "
            f"{sorted(sizes)} rows (encode one evaluation set with every model)"
        )
    result = udr(
        [m.z for m in inputs], kl=[getattr(m, "kl", None) for m in inputs],
        names=[s.name for s in ok], seed=seed, **options,
    )  # fmt: skip
    rows = [{**r, "pairing": out["pairing"].iloc[0], "status": "ok", "error": None}
            for r in result.rows()]  # fmt: skip
    extra = tidy_frame(rows)
    table = pd.concat([out, extra], ignore_index=True)
    return table[[*out.columns, *[c for c in extra.columns if c not in out.columns]]]


def _source(spec: ModelSpec) -> str:
    return os.fspath(spec.source) if spec.is_path else type(spec.source).__name__


def _resolved_options(
    options: dict[str, Any], n_boot: int, confidence: float
) -> dict[str, dict[str, Any]]:
    """The score options by namespace, with the comparison's own bootstrap settings."""
    resolved = resolve_options(options, namespace_defaults())  # flat 0.1 names: a warning
    lps_opts = resolved["lps"]
    if lps_opts["split"] is not None:
        raise LpsInputError("compare chooses the LPS split itself; do not pass lps.split")
    lps_opts["n_boot"], lps_opts["confidence"] = n_boot, confidence
    return resolved


def _pairing(specs: Sequence[ModelSpec], pairing: str, key: str | None) -> tuple[bool, int | None]:
    """(paired, shared row count): paired when every readable model has as many rows."""
    if pairing not in ("auto", "paired", "unpaired"):
        raise LpsInputError(f"pairing must be 'auto', 'paired' or 'unpaired', got {pairing!r}")
    if len(specs) == 1 or pairing == "unpaired":  # one model: score exactly as score does
        return False, None
    sizes = {n for n in (peek_rows(s, key=key) for s in specs) if n is not None}
    if pairing == "paired" and len(sizes) > 1:
        raise LpsInputError(
            f"pairing='paired' needs the same number of rows in every model, got {sorted(sizes)}"
        )
    if len(sizes) != 1:
        return False, None
    return True, sizes.pop()


def _shared_splits(n: int, *, test_size: float, cap: int | None, seed: int) -> dict[str, Any]:
    """One train/test split for the nonlinear fit (capped rows) and one for the linear fit."""
    test_size = float(test_size)
    if not 0.0 < test_size < 1.0:
        raise LpsInputError(f"test_size must lie in (0, 1), got {test_size!r}")
    rng = np.random.default_rng([int(seed), _SPLIT_TAG])

    def split(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_test = int(round(test_size * rows.size))
        return np.sort(rows[n_test:]), np.sort(rows[:n_test])

    perm = rng.permutation(n)
    capped = perm if cap is None else perm[: min(n, int(cap))]
    return {"lps": split(capped), "lps_linear": split(rng.permutation(n))}


def _compare_one(task: ModelTask) -> dict[str, Any]:
    """Worker: score one model and resample its headline statistics (never raises)."""
    try:
        plan = task.extra
        kwargs = task.score_kwargs
        if plan["paired"]:  # every model is fitted on the same rows
            split = _shared_splits(
                plan["n_rows"], test_size=plan["test_size"], cap=plan["cap"], seed=kwargs["seed"]
            )
            kwargs = {**kwargs, "lps": {**kwargs["lps"], "split": split}}
        held: dict[str, Any] = {}

        def keep(result: Any) -> None:
            if isinstance(result, (LpsResult, MmdResult)) and result.metric in DIFFERENCE_METRICS:
                held[result.metric] = result

        table, model = score_model(replace(task, score_kwargs=kwargs), on_result=keep)
        replicates = _replicates(held, model.z, plan, int(kwargs["seed"]))
        return table_payload(table, replicates=replicates)
    except Exception as exc:  # one bad model never stops the comparison: its row says why
        return error_payload(exc)


def _replicates(
    held: dict[str, Any], z: Any, plan: dict[str, Any], seed: int
) -> dict[str, dict[str, Any]]:
    """Each difference metric's value on its resampled rows and its bootstrap replicates.

    The generators depend on the seed alone when paired (every model resamples the same
    rows), and also on the model's position when unpaired (independent resamples).
    """
    if not plan["n_boot"]:
        return {}
    stream = [seed, _BOOT_TAG, 0 if plan["paired"] else plan["index"]]
    out = {}
    for metric, result in held.items():
        if isinstance(result, LpsResult):
            got = lps_replicates(result, n_boot=plan["n_boot"], rng=np.random.default_rng(stream))
        else:
            got = mmd_replicates(
                result,
                z,
                n_boot=plan["n_boot"],
                max_rows=plan["mmd_rows"],
                rows_rng=np.random.default_rng([seed, _BOOT_TAG, 1]),
                prior_rng=np.random.default_rng([seed, _PRIOR_TAG]),
                boot_rng=np.random.default_rng(stream),
            )
        if got is not None:
            out[metric] = {"value": got[0], "replicates": got[1].tolist()}
    return out


def differences(
    payloads: Sequence[Mapping[str, Any]],
    names: Sequence[str],
    baseline: str,
    *,
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """Difference rows ``B - A`` against the baseline, from the models' replicates.

    See the module docstring for the interval and the p-value. A model that failed, or
    that lacks a metric, gets no difference row for it.
    """
    by_name = dict(zip(names, payloads, strict=True))
    base = by_name[baseline]
    if base["status"] != "ok":
        return []
    rows = []
    for metric in DIFFERENCE_METRICS:
        base_value = _overall(base, metric)
        if base_value is None:
            continue
        for name, payload in by_name.items():
            value = _overall(payload, metric) if payload["status"] == "ok" else None
            if name == baseline or value is None:
                continue
            row = {
                "model": f"{name} - {baseline}",
                "metric": metric,
                "scope": "difference",
                "value": value - base_value,
                "ci_low": math.nan,
                "ci_high": math.nan,
                "p_value": math.nan,
            }
            new = payload.get("replicates", {}).get(metric)
            old = base.get("replicates", {}).get(metric)
            if new is not None and old is not None:
                row.update(_difference_interval(row["value"], new, old, confidence))
            rows.append(row)
    return rows


def _difference_interval(
    delta: float, new: Mapping[str, Any], old: Mapping[str, Any], confidence: float
) -> dict[str, float]:
    centre = new["value"] - old["value"]
    dev = (np.asarray(new["replicates"], float) - np.asarray(old["replicates"], float)) - centre
    dev = dev[np.isfinite(dev)]
    if not dev.size:
        return {}
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(dev, [alpha, 1.0 - alpha])
    exceed = np.count_nonzero(np.abs(dev) >= abs(centre))
    return {
        "ci_low": delta + lo,
        "ci_high": delta + hi,
        "p_value": (1.0 + exceed) / (1.0 + dev.size),
    }


def _overall(payload: Mapping[str, Any], metric: str) -> float | None:
    for row in payload["rows"]:
        if row.get("scope") == "overall" and row.get("metric") == metric:
            value = row.get("value")
            return None if value is None else float(value)
    return None


def _assemble(table: pd.DataFrame, diffs: list[dict[str, Any]], pairing: str) -> pd.DataFrame:
    """The models' rows, then the difference rows; ``pairing``, ``status``, ``error`` last."""
    rows = table.to_dict("records") + [{**d, "status": "ok", "error": None} for d in diffs]
    out = tidy_frame(rows)
    out.insert(0, "model", out.pop("model"))
    out["pairing"] = pairing
    return out[[*[c for c in out.columns if c not in ("status", "error")], "status", "error"]]


# --------------------------------------------------------------------------- summary


def summarize(table: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per model, one column per headline metric (the overall values).

    Parameters
    ----------
    table : DataFrame
        Output of :func:`compare` (or one :func:`lps_eval.score` table).
    metrics : sequence of str, optional
        Columns to show (default: the headline metrics present, see
        :data:`HEADLINE_METRICS`).

    Returns
    -------
    DataFrame
        Index ``model``; ``attrs["best"]`` maps each ranked metric to the best model
        (lowest LPS / MMD, highest supervised score).
    """
    frame = table if "model" in table.columns else table.assign(model="model")
    overall = frame[(frame["scope"] == "overall") & frame["model"].notna()]
    wide = overall.pivot_table(index="model", columns="metric", values="value", aggfunc="first")
    order = list(dict.fromkeys(frame.loc[frame["scope"] != "difference", "model"]))
    wide = wide.reindex([m for m in order if m in wide.index])
    if metrics is None:
        metrics = [m for m in HEADLINE_METRICS if m in wide.columns]
    missing = [m for m in metrics if m not in wide.columns]
    if missing:
        raise LpsInputError(f"summary metric(s) {missing} not in the table")
    wide = wide[list(metrics)]
    wide.columns.name = None
    best = {}
    for metric in wide.columns:
        direction = HEADLINE_METRICS.get(metric, 0)
        column = wide[metric]
        if direction and column.notna().any() and len(column) > 1:
            best[metric] = column.idxmin() if direction < 0 else column.idxmax()
    wide.attrs = {"best": best, "direction": {m: HEADLINE_METRICS.get(m, 0) for m in wide}}
    return wide


def format_summary(summary: pd.DataFrame, fmt: str = "markdown", *, digits: int = 3) -> str:
    """The summary as a markdown or LaTeX table, the best value of each column in bold."""
    if fmt not in ("markdown", "latex"):
        raise LpsInputError(f"summary format must be 'markdown' or 'latex', got {fmt!r}")
    best = summary.attrs.get("best", {})
    direction = summary.attrs.get("direction", {})

    def cell(model: str, metric: str) -> str:
        value = summary.at[model, metric]
        text = "" if pd.isna(value) else f"{value:.{digits}f}"
        winner = best.get(metric)
        if text and winner is not None and text == f"{summary.at[winner, metric]:.{digits}f}":
            # ties at the printed precision are all marked
            return f"**{text}**" if fmt == "markdown" else rf"\textbf{{{text}}}"
        return text

    def head(metric: str) -> str:
        arrow = {-1: " ↓", 1: " ↑"}.get(direction.get(metric, 0), "")
        if fmt == "latex":
            arrow = {-1: r" $\downarrow$", 1: r" $\uparrow$"}.get(direction.get(metric, 0), "")
            metric = metric.replace("_", r"\_")
        return metric + arrow

    metrics = list(summary.columns)
    if fmt == "markdown":
        lines = [
            "| model | " + " | ".join(head(m) for m in metrics) + " |",
            "| --- |" + " ---: |" * len(metrics),
        ]
        lines += [
            f"| {model} | " + " | ".join(cell(model, m) for m in metrics) + " |"
            for model in summary.index
        ]
        return "\n".join(lines)
    lines = [
        r"\begin{tabular}{l" + "r" * len(metrics) + "}",
        r"\toprule",
        "model & " + " & ".join(head(m) for m in metrics) + r" \\",
        r"\midrule",
    ]
    for model in summary.index:
        label = str(model).replace("_", r"\_")
        lines.append(label + " & " + " & ".join(cell(model, m) for m in metrics) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines)
